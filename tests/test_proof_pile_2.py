"""`proofpile build proof-pile-2 --sample`: the three subsets in one offline build, deduplicated across
sources, decontaminated, split, packed with the 2:4:1 blend and carded."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from proofpile.shards import iter_documents

from .offline import run_offline

SUBSETS = ["arxiv", "open-web-math", "algebraic-stack"]


@pytest.fixture(scope="module")
def whole(tmp_path_factory, shared_data: Path, lid_model: Path) -> Path:
    tmp = tmp_path_factory.mktemp("pp2")
    out = tmp / "out"
    run_offline(tmp, "build", "proof-pile-2", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}",
                "--set", f"pack.tokenizer={shared_data / 'tokenizer' / 'llama2-tokenizer.model'}", "--workers", "2")
    return out


def test_every_subset_is_built_by_its_own_chain(whole: Path):
    manifest = json.loads((whole / "manifest.json").read_text())
    assert manifest["outputs"]["subsets"] == SUBSETS
    by_subset = Counter(s["subset"] for s in manifest["outputs"]["shards"])
    assert set(by_subset) == set(SUBSETS)
    stages = {row["stage"] for row in manifest["funnel"]}
    assert {"arxiv/arxiv", "open-web-math/commoncrawl", "algebraic-stack/github", "algebraic-stack/stack",
            "finalize"} <= stages
    steps = {(row["stage"], row["step"].split(": ", 1)[-1]) for row in manifest["funnel"]}
    assert ("open-web-math/commoncrawl", "math html extraction") in steps
    assert ("algebraic-stack/github", "code rules") in steps
    assert not any(stage.startswith("arxiv") and step == "code rules" for stage, step in steps)
    docs = list(iter_documents([whole / s["path"] for s in manifest["outputs"]["shards"]]))
    assert len(docs) == manifest["outputs"]["documents"] == len({d.id for d in docs})
    assert {d.metadata["subset"] for d in docs} == set(SUBSETS)


def test_whole_corpus_stages_see_all_subsets(whole: Path):
    manifest = json.loads((whole / "manifest.json").read_text())
    final = {row["step"].split(": ", 1)[-1]: row for row in manifest["funnel"] if row["stage"] == "finalize"}
    assert final["near-dedup reader"]["dropped"].get("near_duplicate", 0) >= 1
    # the sample plants one stand-in MATH problem in a web page and one GSM8K question in a paper
    assert final["decontaminate"]["dropped"] == {"contaminated": 2}
    report = pq.read_table(whole / "contamination.parquet").to_pylist()
    assert {r["subset"] for r in report} == {"arxiv", "open-web-math"}


def test_pack_blends_arxiv_web_code_2_4_1(whole: Path):
    parts = (whole / "packed" / "megatron-data-path.txt").read_text().split()
    weights = {Path(p).name.removesuffix("_text_document"): float(w) for w, p in zip(parts[::2], parts[1::2])}
    assert set(weights) == set(SUBSETS)
    assert np.allclose([weights["arxiv"], weights["open-web-math"], weights["algebraic-stack"]],
                       np.array([2, 4, 1]) / 7, atol=1e-6)
    tokens = json.loads((whole / "packed" / "tokens.json").read_text())
    assert tokens["total"]["documents"] == json.loads((whole / "manifest.json").read_text())["outputs"]["documents"]


def test_card_describes_the_whole_corpus(whole: Path):
    text = (whole / "README.md").read_text()
    header = yaml.safe_load(text.split("---")[1])
    names = {c["config_name"] for c in header["configs"]}
    assert {"default", *SUBSETS, "algebraic-stack-lean"} <= names
    for png in ("funnel.png", "tokens.png", "lengths.png"):
        assert (whole / "assets" / png).stat().st_size > 5_000
