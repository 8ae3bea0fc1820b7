"""The `decontaminate` recipe stage inside a real sample build: finalize runs it after chunk dedup, before the
split, writes the report into the build directory and the summary into the manifest."""

import json
from pathlib import Path

import pyarrow.parquet as pq

from proofpile.recipes import REPO_ROOT

from .test_build import all_rows, run_cli, sample_args

SAMPLE = REPO_ROOT / "proofpile" / "samples" / "algebraic_stack" / "repos" / "coq" / "list-lemmas" / "theories" / "ListFacts.v"


def test_stage_removes_a_document_holding_a_benchmark_item(tmp_path: Path, lid_model: Path):
    # a "benchmark" whose one problem is a passage of a bundled sample file that the build keeps
    passage = SAMPLE.read_text()[:400]
    bench = tmp_path / "mini_math.jsonl"
    bench.write_text(json.dumps({"id": "test/sample/1.json", "problem": passage, "solution": "No solution here."}) + "\n")
    out = tmp_path / "out"
    run_cli(*sample_args(out, lid_model, "--set", "decontaminate.enabled=true", "--set", "decontaminate.benchmarks=[math]",
                         "--set", f"decontaminate.files={{math: {bench}}}"))
    rows = pq.read_table(out / "contamination.parquet").to_pylist()
    assert rows and {(r["benchmark"], r["item_id"], r["field"]) for r in rows} == {("math", "test/sample/1.json", "problem")}
    assert all(passage not in r["text"] for r in all_rows(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["decontamination"]["documents_removed"] == len({r["doc_id"] for r in rows})
    names = [s["name"].split(": ")[-1] for s in next(st for st in manifest["stages"] if st["stage"] == "finalize")["steps"]]
    assert names.index("chunk-exact dedup") < names.index("decontaminate") < names.index("split")
    assert (out / "contamination.md").read_text().startswith("# Contamination report")
