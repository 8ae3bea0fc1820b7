"""The dataset card of a real multi-subset build: its YAML configs load with plain `datasets.load_dataset`, its
numbers are `compute_stats`' (read back from the rendered Markdown), and its figures are real PNGs drawn
without a display."""

import json
import os
import re
import struct
import subprocess
import sys
from collections import Counter

import pytest
import yaml

from proofpile.publish.card import matching
from proofpile.publish.stats import compute_stats
from tests.publish_build import carded_build


@pytest.fixture(scope="module")
def build(tmp_path_factory, lid_model, shared_data):
    return carded_build(tmp_path_factory.getbasetemp(), lid_model, shared_data)


def _card(build):
    text = (build / "README.md").read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.DOTALL)
    assert m, "the card starts with a YAML header"
    return yaml.safe_load(m[1]), m[2]


def _section_table(body: str, heading: str) -> list[list[str]]:
    section = body.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in r.strip("|").split(" | ")] for r in rows[2:]]


def _int(cell: str):
    return None if cell == "-" else int(cell.replace(",", ""))


def expected_rows(build) -> Counter:
    """(config, split) -> rows, from the manifest's shard list alone."""
    manifest = json.loads((build / "manifest.json").read_text())
    rows: Counter = Counter()
    for s in manifest["outputs"]["shards"]:
        configs = ["default", s["subset"]] + ([f"{s['subset']}-{s['lang']}"] if s.get("lang") else [])
        for c in configs:
            rows[(c, s["split"])] += s["rows"]
    return rows


def check_loads(directory, build, configs, cache):
    """Each config loads with datasets.load_dataset(directory, config) with the manifest's rows per split."""
    from datasets import load_dataset

    want = expected_rows(build)
    for config in configs:
        ds = load_dataset(str(directory), config, cache_dir=str(cache))
        got = {split: d.num_rows for split, d in ds.items()}
        assert got == {sp: n for (c, sp), n in want.items() if c == config}, config
        assert ds[next(iter(ds))].column_names == ["id", "text", "meta", "subset", "lang"]


def language_configs_to_check(build) -> list[str]:
    """`c` and `cpp` (a name that begins another), and the language present in the most splits."""
    want = expected_rows(build)
    langs = Counter(c for c, _ in want if c.startswith("algebraic-stack-"))
    picks = [c for c in ("algebraic-stack-c", "algebraic-stack-cpp") if c in langs]
    return picks + [langs.most_common(1)[0][0]]


def test_card_yaml_header(build):
    meta, _ = _card(build)
    manifest = json.loads((build / "manifest.json").read_text())
    names = [c["config_name"] for c in meta["configs"]]
    langs = sorted({s["lang"] for s in manifest["outputs"]["shards"] if s["subset"] == "algebraic-stack"})
    assert names == ["default", "algebraic-stack", "arxiv", "open-web-math", *(f"algebraic-stack-{x}" for x in langs)]
    assert len(langs) >= 5
    # every file is selected exactly once by `default`, under its own split; a language's pattern takes only
    # that language (`c` must not take `cpp`)
    paths = [s["path"] for s in manifest["outputs"]["shards"]]
    default = {df["split"]: matching(df["path"], paths) for df in meta["configs"][0]["data_files"]}
    listed = sorted(p for chosen in default.values() for p in chosen)
    assert listed == sorted(paths)
    assert all(p.split("/")[-1].startswith(split + "-") for split, chosen in default.items() for p in chosen)
    for config in meta["configs"][4:]:
        lang = config["config_name"].removeprefix("algebraic-stack-")
        for df in config["data_files"]:
            assert matching(df["path"], paths) == sorted(
                s["path"] for s in manifest["outputs"]["shards"] if s["lang"] == lang and s["split"] == df["split"])
    assert meta["size_categories"] == ["n<1K"]
    assert meta["license"] == "other" and meta["language"] == ["en"]
    assert meta["task_categories"] == ["text-generation"] and "math" in meta["tags"]
    assert meta["pretty_name"].startswith("Proof-Pile-2")


def test_card_numbers_are_compute_stats(build):
    _, body = _card(build)
    stats = compute_stats(build)
    size = _section_table(body, "Size")
    assert [[r[0], r[1], r[2], _int(r[3]), _int(r[4]), _int(r[5])] for r in size[:-1]] == [
        [r["subset"], r["split"], r["lang"] or "-", r["documents"], r["text_bytes"], r["tokens"]] for r in stats["rows"]]
    t = stats["totals"]
    assert [_int(c) for c in size[-1][3:]] == [t["documents"], t["text_bytes"], t["tokens"]]
    funnel = _section_table(body, "Filter funnel")
    assert [(_int(r[2]), _int(r[3])) for r in funnel] == [(r["in"], r["out"]) for r in stats["funnel"]]
    c = stats["decontamination"]
    assert f"{c['documents_scanned']:,} documents scanned, {c['documents_removed']:,} removed" in body
    decontam = _section_table(body, "Decontamination")
    assert [[r[0], r[1], _int(r[2]), _int(r[5]), _int(r[10])] for r in decontam] == [
        [p["benchmark"], p["subset"], p["items_hit"], p["items_by_class"]["copy"], p["documents_removed"]]
        for p in c["by_benchmark_and_subset"]]
    assert f"**{stats['dedup']['near']['removed']:,} documents removed**" in body
    tokens = _section_table(body, "Tokens")
    assert {r[0]: _int(r[1]) for r in tokens} == {s: v["tokens"] for s, v in stats["subsets"].items()}
    assert "llama2-tokenizer.model" in body.split("## Tokens", 1)[1]
    # sources with their pins, the chain with its parameters, licenses and citations
    assert "`a60adde9a1fea013e5dbf767fe5db3f2635a5842`" in body and "arXiv_src_sample_001.tar" in body
    assert "**near_dedup**" in body and "`bands=12`" in body and "**code_rules**" in body
    for arxiv_id in ("2310.10631", "2310.06786", "2211.15533", "2103.03874", "2110.14168"):
        assert f"arXiv:{arxiv_id}" in body
    assert "RedPajama" in body and "ODC-By" in body
    for figure in ("funnel.png", "tokens.png", "lengths.png"):
        assert f"(assets/{figure})" in body


def test_card_configs_load_with_datasets(build, tmp_path):
    check_loads(build, build, ["default", "arxiv", "open-web-math", "algebraic-stack",
                               *language_configs_to_check(build)], tmp_path / "cache")


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_figures_are_drawn_without_a_display(build, tmp_path):
    # a fresh process with no DISPLAY and no MPLBACKEND: Agg must be chosen by the code, not the environment
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")}
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")
    code = ("import sys; from proofpile.publish import compute_stats; from proofpile.publish.plots import write_plots;"
            "write_plots(compute_stats(sys.argv[1]), sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(build), str(tmp_path / "assets")], env=env, check=True,
                   timeout=120)
    for name in ("funnel.png", "tokens.png", "lengths.png"):
        png = tmp_path / "assets" / name
        width, height = _png_size(png)
        assert width >= 600 and height >= 250, (name, width, height)
        assert png.stat().st_size > 10_000, name
        # same stats, same bytes: the card's copy was drawn in another process
        assert png.read_bytes() == (build / "assets" / name).read_bytes(), name
