"""`proofpile stats` / `compute_stats` on a real multi-subset build: counts recomputed independently here."""

import json
import shutil
from collections import Counter

import pyarrow.parquet as pq
import pytest

from proofpile.publish.stats import StatsError, compute_stats
from tests.publish_build import carded_build, proofpile


@pytest.fixture(scope="module")
def build(tmp_path_factory, lid_model, shared_data):
    return carded_build(tmp_path_factory.getbasetemp(), lid_model, shared_data)


def _recount(build):
    """(subset, split, lang) -> [documents, utf-8 bytes], straight from the Parquet files the manifest lists."""
    manifest = json.loads((build / "manifest.json").read_text())
    out = {}
    for s in manifest["outputs"]["shards"]:
        for row in pq.read_table(build / s["path"], columns=["text", "lang"]).to_pylist():
            c = out.setdefault((s["subset"], s["split"], row["lang"]), [0, 0])
            c[0] += 1
            c[1] += len(row["text"].encode("utf-8"))
    return manifest, out


def test_stats_counts_documents_bytes_tokens_and_funnel(build):
    manifest, recount = _recount(build)
    stats = compute_stats(build)
    assert {(r["subset"], r["split"], r["lang"]): [r["documents"], r["text_bytes"]] for r in stats["rows"]} == recount
    assert stats["totals"]["documents"] == manifest["outputs"]["documents"] == sum(v[0] for v in recount.values())
    assert set(stats["subsets"]) == {"arxiv", "open-web-math", "algebraic-stack"}
    assert {s for _, s, _ in recount} == {"train", "validation", "test"}
    # tokens come from the pack's own record, per subset/split/language
    tokens = json.loads((build / "packed" / "tokens.json").read_text())
    assert stats["totals"]["tokens"] == tokens["total"]["tokens"] > 0
    for r in stats["rows"]:
        assert r["tokens"] == tokens["tokens"][r["subset"]][r["split"]]["by_lang"][r["lang"]]["tokens"]
    assert stats["tokenizer"]["name"] == "llama2-tokenizer.model" and stats["tokenizer"]["vocab_size"] == 32000
    # the funnel is the manifest's; dedup and decontamination agree with its per-reason drops
    assert stats["funnel"] == manifest["funnel"]
    drops = Counter()
    for row in manifest["funnel"]:
        drops.update(row["dropped"])
    assert stats["dedup"]["near"]["removed"] == drops["near_duplicate"] > 0
    assert stats["dedup"]["exact"]["removed"] == drops["duplicate_chunk"]
    assert stats["dedup"]["near"]["clusters"] >= 1
    c = stats["decontamination"]
    assert c["documents_removed"] == drops["contaminated"] == 2
    assert {(p["benchmark"], p["subset"]) for p in c["by_benchmark_and_subset"]} == {("gsm8k", "arxiv"),
                                                                                    ("math", "open-web-math")}
    assert sum(sum(h) for h in stats["length_histogram"]["subsets"].values()) == stats["totals"]["documents"]


def test_stats_cli_table_and_json(build):
    r = proofpile("stats", build, "--json")
    assert json.loads(r.stdout) == json.loads(json.dumps(compute_stats(build)))
    table = proofpile("stats", build).stdout
    total = compute_stats(build)["totals"]
    assert f"{total['documents']:,} documents, {total['text_bytes']:,} text bytes, {total['tokens']:,} tokens" in table
    assert "near dedup: 3 documents removed" in table
    assert "gsm8k / arxiv: 1 items hit" in table


def test_stats_refuses_a_damaged_build(build, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(build, copy, ignore=shutil.ignore_patterns("_work", "packed"))
    manifest = json.loads((copy / "manifest.json").read_text())
    victim = manifest["outputs"]["shards"][0]["path"]
    (copy / victim).unlink()
    r = proofpile("stats", copy, check=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert victim in r.stderr and "missing" in r.stderr
    with pytest.raises(StatsError, match="manifest.json"):
        compute_stats(tmp_path)


def test_a_stale_pack_is_left_out_with_a_warning(build, tmp_path):
    pack = tmp_path / "packed"
    shutil.copytree(build / "packed", pack)
    record = json.loads((pack / "tokens.json").read_text())
    node = record["tokens"]["arxiv"]["train"]["by_lang"]
    node[next(iter(node))]["documents"] += 1  # a pack of another build
    (pack / "tokens.json").write_text(json.dumps(record))
    stats = compute_stats(build, pack=pack)
    assert stats["totals"]["tokens"] is None and all(r["tokens"] is None for r in stats["rows"])
    assert any("re-run `proofpile pack`" in w for w in stats["warnings"])
