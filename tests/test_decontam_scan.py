"""The build's decontamination scan: one parallel task per crawl-task file, looked up by finalize's
`decontaminate` step. Worker count and resume change nothing, and a document that exact dedup removes is
scanned but neither counted nor reported, as when finalize scanned on its own."""

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from proofpile.recipes import REPO_ROOT

from .test_build import output_files, run_cli, sample_args

REPOS = REPO_ROOT / "proofpile" / "samples" / "algebraic_stack" / "repos"
# the same file in two sample repositories: exact dedup keeps the first copy and drops the second
VECNORM = REPOS / "matlab" / "signal-tools" / "lib" / "vecnorm2.m"


def _user_files(out: Path) -> dict[str, bytes]:
    files = output_files(out)
    files.update({p.name: p.read_bytes() for p in out.glob("contamination.*")})
    return files


@pytest.fixture(scope="module")
def builds(tmp_path_factory, lid_model: Path):
    root = tmp_path_factory.mktemp("decontam-scan")
    bench = root / "mini_math.jsonl"
    bench.write_text(json.dumps({"id": "test/scan/0.json", "problem": VECNORM.read_text()[:400], "solution": "None."}) + "\n")
    out = root / "out"
    args = sample_args(out, lid_model, "--set", "decontaminate.enabled=true", "--set", "decontaminate.benchmarks=[math]",
                       "--set", f"decontaminate.files={{math: {bench}}}")
    made = []
    for workers in ("2", "1"):
        run_cli(*args, "--workers", workers)
        made.append(root / f"workers-{workers}")
        shutil.move(out, made[-1])
    return root, args, *made


def test_workers_do_not_change_the_report_or_the_shards(builds):
    _, _, two, one = builds
    a, b = _user_files(two), _user_files(one)
    assert {"contamination.parquet", "contamination.json", "contamination.md"} <= set(a)
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name] == b[name], f"{name} differs between 1 and 2 workers"
    scans = sorted((one / "_work" / "decontaminate" / "scan").glob("*.parquet"))
    task_files = list((one / "_work").glob("github/*.parquet")) + list((one / "_work").glob("stack/*.parquet"))
    assert len(scans) == len(task_files) > 1


def test_only_documents_reaching_the_step_are_counted_and_reported(builds):
    _, _, _, one = builds
    manifest = json.loads((one / "manifest.json").read_text())
    scan = next(s for s in manifest["stages"] if s["stage"] == "decontamination scan")["steps"][-1]["counts"]
    assert scan["contaminated_documents"] == 2  # both copies of vecnorm2.m
    final = {r["step"].split(": ")[-1]: r for r in manifest["funnel"] if r["stage"] == "finalize"}
    assert final["chunk-exact dedup"]["dropped"] == {"duplicate_chunk": 2}
    assert final["decontaminate"]["dropped"] == {"contaminated": 1}
    rows = pq.read_table(one / "contamination.parquet").to_pylist()
    assert [(r["item_id"], r["field"]) for r in rows] == [("test/scan/0.json", "problem")]
    assert manifest["decontamination"]["documents_removed"] == 1
    kept_ids = {r["id"] for p in (one / "data").rglob("*.parquet") for r in pq.read_table(p, columns=["id"]).to_pylist()}
    assert rows[0]["doc_id"] not in kept_ids
    assert all(VECNORM.read_text()[:400] not in r["text"]
               for p in (one / "data").rglob("*.parquet") for r in pq.read_table(p, columns=["text"]).to_pylist())


def test_resume_redoes_only_unfinished_scan_tasks(builds):
    root, args, _, one = builds
    out = root / "out"
    shutil.copytree(one, out, symlinks=True)
    work = out / "_work"
    # a build killed inside the scan: one task unfinished, finalize not started
    (work / "decontaminate" / "logs" / "completions" / "00003").unlink()
    (work / "decontaminate" / "scan" / "00003.parquet").unlink()
    (work / "logs" / "finalize" / "completions" / "00000").unlink()
    (out / "manifest.json").unlink()
    done = {p.name: p.stat().st_mtime_ns for p in (work / "decontaminate" / "scan").glob("*.parquet")}
    run_cli(*args, "--workers", "1")
    scans = work / "decontaminate" / "scan"
    assert (scans / "00003.parquet").is_file()
    assert all((scans / name).stat().st_mtime_ns == t for name, t in done.items()), "finished scan tasks were redone"
    resumed, reference = _user_files(out), _user_files(one)
    assert sorted(resumed) == sorted(reference)
    for name in reference:
        assert resumed[name] == reference[name], f"{name} differs after resume"
    shutil.rmtree(out)
