"""End to end: `proofpile build` on real git repositories and Stack-shaped files, through the real CLI."""

from __future__ import annotations

import json
import re
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from proofpile.shards import SCHEMA

from .gitrepo import make_repo

PROOFPILE = [sys.executable, "-m", "proofpile.cli"]


def run_cli(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([*PROOFPILE, *args], capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def sample_args(out: Path, lid_model: Path, *extra: str) -> list[str]:
    return ["build", "algebraic-stack", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}", *extra]


def output_files(out: Path) -> dict[str, bytes]:
    """Every file a build produced for users (shards and manifest), by relative path."""
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.parquet") if "_work" not in p.parts}
    files["manifest.json"] = (out / "manifest.json").read_bytes()
    return files


def all_rows(out: Path, subset: str = "algebraic-stack") -> list[dict]:
    rows = []
    for p in sorted((out / "data" / subset).glob("*.parquet")):
        rows += pq.read_table(p).to_pylist()
    return rows


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory, lid_model) -> Path:
    out = tmp_path_factory.mktemp("sample") / "out"
    run_cli(*sample_args(out, lid_model))
    return out


def test_sample_build_layout_schema_and_manifest(sample_build: Path):
    out = sample_build
    manifest = json.loads((out / "manifest.json").read_text())
    shards = manifest["outputs"]["shards"]
    assert shards, "the sample build wrote no shards"
    for entry in shards:
        path = out / entry["path"]
        # the Hub's naming, language in the name for AlgebraicStack: data/<subset>/<split>-<lang>-NNNNN-of-MMMMM
        data, subset, name = Path(entry["path"]).parts
        m = re.fullmatch(r"(train|validation|test)-(\w+)-(\d{5})-of-(\d{5})\.parquet", name)
        assert data == "data" and subset == "algebraic-stack" and m, entry["path"]
        split, lang = m[1], m[2]
        assert int(m[3]) < int(m[4])
        assert (entry["subset"], entry["split"], entry["lang"]) == (subset, split, lang)
        pf = pq.ParquetFile(path)
        assert pf.schema_arrow.equals(SCHEMA, check_metadata=False)
        assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
        assert pf.metadata.num_rows == entry["rows"]
        table = pf.read()
        assert set(table.column("lang").to_pylist()) == {lang}
        import hashlib

        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    rows = all_rows(out)
    assert manifest["outputs"]["documents"] == len(rows)
    assert len({r["id"] for r in rows}) == len(rows), "duplicate ids in the output"
    for r in rows:
        meta = json.loads(r["meta"])
        assert meta["subset"] == "algebraic-stack" and meta["lang"] == r["lang"]
        assert meta["source"] in ("github", "the-stack")
        assert meta["path"]
        if meta["source"] == "github":
            assert len(meta["commit"]) == 40 and meta["repo"] and meta["url"].startswith("file://")
    # the formal-math languages from git and the Stack languages both made it through
    langs = {r["lang"] for r in rows}
    assert {"lean", "coq", "isabelle", "matlab"} <= langs
    assert {"python", "c", "cpp", "tex"} <= langs
    # versions, resolved recipe and inputs are recorded
    assert manifest["versions"]["datatrove"] == "0.10.1"
    assert manifest["recipe"]["resolved"]["stages"]["exact_dedup"]["chunk_chars"] == 2048
    assert all(len(r["commit"]) == 40 and r["status"] == "ok" for r in manifest["inputs"]["github"])


def test_sample_build_applies_the_rules(sample_build: Path):
    """Traps planted in the samples are rejected for the right reasons, visible in the funnel."""
    manifest = json.loads((sample_build / "manifest.json").read_text())
    drops: dict[str, int] = {}
    for row in manifest["funnel"]:
        for reason, n in row["dropped"].items():
            drops[reason] = drops.get(reason, 0) + n
    for reason in ("verilog", "objective_c", "benchmark_copy", "duplicate_chunk", "symlink", "binary"):
        assert drops.get(reason, 0) >= 1, f"no document dropped for {reason}: {drops}"
    assert any(k in drops for k in ("wrong_language", "not_english")), drops
    rows = all_rows(sample_build)
    paths = {json.loads(r["meta"])["path"] for r in rows}
    assert not any(p.startswith(".lake/") or "/.lake/" in p for p in paths)
    assert not any("after_pin" in p for p in paths), "a file committed after the pinned commit was read"
    texts = [r["text"] for r in rows]
    assert not any("endmodule" in t for t in texts)
    assert not any("@interface" in t for t in texts)


def test_sample_build_prints_funnel(tmp_path: Path, lid_model: Path):
    out = tmp_path / "out"
    proc = run_cli(*sample_args(out, lid_model, "--set", "stages.exact_dedup.enabled=false"))
    assert "code rules" in proc.stdout and "dropped" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert not any(r["step"] == "chunk-exact dedup" for r in manifest["funnel"])


def _build_then_move(out: Path, to: Path, *args: str) -> dict[str, bytes]:
    """Build into `out` and move the result away: the sample repositories' file:// URLs (recorded in every
    document's meta) contain `out`, so builds are only comparable when made at the same path."""
    run_cli(*args)
    files = output_files(out)
    shutil.move(out, to)
    return files


def test_worker_count_does_not_change_outputs(tmp_path: Path, lid_model: Path):
    out = tmp_path / "out"
    args = sample_args(out, lid_model)
    one = _build_then_move(out, tmp_path / "one", *args, "--workers", "1")
    two = _build_then_move(out, tmp_path / "two", *args, "--workers", "2")
    assert sorted(one) == sorted(two)
    for name in one:
        assert one[name] == two[name], f"{name} differs between 1 and 2 workers"


def test_interrupted_build_resumes_to_identical_output(tmp_path: Path, lid_model: Path):
    out = tmp_path / "out"
    args = sample_args(out, lid_model)
    reference = _build_then_move(out, tmp_path / "reference", *args)
    proc = subprocess.Popen([*PROOFPILE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    completions = out / "_work" / "logs" / "github" / "completions"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(list(completions.glob("*"))) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "the build finished before it could be interrupted"
    done = {p.name: p.stat().st_mtime_ns for p in completions.glob("*")}
    run_cli(*args)
    # tasks that had finished were not redone
    assert all((completions / name).stat().st_mtime_ns == t for name, t in done.items())
    resumed = output_files(out)
    assert sorted(reference) == sorted(resumed)
    for name in reference:
        assert reference[name] == resumed[name], f"{name} differs after resume"


def test_resume_after_crash_inside_finalize(tmp_path: Path, lid_model: Path):
    out = tmp_path / "out"
    args = sample_args(out, lid_model)
    run_cli(*args)
    before = output_files(out)
    # simulate a finalize killed after renaming one shard and while writing another
    (out / "_work" / "logs" / "finalize" / "completions" / "00000").unlink()
    victim = sorted((out / "data" / "algebraic-stack").glob("*.parquet"))[0]
    victim.write_bytes(b"half a parquet file")
    (victim.parent / "train-00099.parquet.tmp").write_bytes(b"partial")  # a name ShardSet gives: clean-up takes it
    (out / "manifest.json").unlink()
    proc = run_cli(*args)
    assert output_files(out) == before
    assert not list(out.rglob("*.tmp"))
    assert "finalize" in proc.stdout


def test_bad_repositories_and_manifest_lines(tmp_path: Path, lid_model: Path):
    good, commit = make_repo(tmp_path / "good", {
        "Basic.lean": "theorem two_add_two : 2 + 2 = 4 := by norm_num\n",
        "Notes.lean": "-- nothing to prove here\ndef x : Nat := 3\n",
    })
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "lean.txt").write_text(
        "# test manifest\n"
        f"file://{tmp_path / 'does-not-exist'}@{'0' * 40}\n"
        "this line is not a repository\n"
        f"file://{good}@{commit}\n"
    )
    recipe = tmp_path / "recipes" / "tiny.yaml"
    recipe.parent.mkdir()
    recipe.write_text(
        "name: tiny\nsubset: tiny-stack\n"
        "sources:\n  github:\n    manifests: [manifests/lean.txt]\n"
        f"stages:\n  code_rules: {{enabled: true}}\n  langid:\n    enabled: true\n    model: {lid_model}\n"
        "output:\n  split: {validation: 0.0, test: 0.0}\n"
    )
    out = tmp_path / "out"
    proc = run_cli("build", str(recipe), "--out", str(out))
    assert "lean.txt:3" in proc.stderr  # the malformed line is named
    assert "does-not-exist" in proc.stderr  # the missing repository gets a clear message
    rows = all_rows(out, "tiny-stack")
    assert [json.loads(r["meta"])["path"] for r in rows] == ["Basic.lean"]
    manifest = json.loads((out / "manifest.json").read_text())
    status = {Path(r["url"]).name.split("@")[0]: r["status"] for r in manifest["inputs"]["github"]}
    assert status == {"does-not-exist": "failed", "good": "ok"}
    assert any("lean.txt:3" in e for e in manifest["inputs"]["errors"])
    assert (out / "data" / "tiny-stack" / "train-00000-of-00001.parquet").is_file()


def test_dry_run_prints_plan_and_writes_nothing(tmp_path: Path):
    out = tmp_path / "out"
    proc = run_cli("build", "algebraic-stack", "--out", str(out), "--dry-run", "--set", "split.seed=7")
    assert "seed: 7" in proc.stdout
    assert "github:" in proc.stdout and "repositories" in proc.stdout
    assert "leanprover-community/mathlib" in proc.stdout
    assert "code rules" in proc.stdout
    assert not out.exists()


@pytest.mark.parametrize(
    "override, expected",
    [
        ("stages.langid.treshold=0.3", "stages.langid.treshold: unknown key"),
        ("output.split.validation=1.5", "output.split.validation"),
        ("output.compression=lz9", "output.compression"),
    ],
)
def test_recipe_errors_are_one_line_and_name_the_key(tmp_path: Path, override: str, expected: str):
    proc = run_cli("build", "algebraic-stack", "--out", str(tmp_path / "o"), "--set", override, check=False)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert expected in err and "algebraic-stack.yaml" in err
    assert len(err.splitlines()) == 1


def test_unknown_key_in_recipe_file(tmp_path: Path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("name: x\nsubset: x\nsources: {}\nstages:\n  code_rulez: {}\n")
    proc = run_cli("build", str(recipe), "--out", str(tmp_path / "o"), check=False)
    assert proc.returncode == 2
    assert f"{recipe}: stages.code_rulez: unknown key" in proc.stderr


def test_rebuild_into_directory_of_other_recipe_is_refused(sample_build: Path, lid_model: Path):
    proc = run_cli(*sample_args(sample_build, lid_model, "--set", "split.seed=1"), check=False)
    assert proc.returncode == 2 and "another recipe" in proc.stderr


def test_build_without_inputs_is_an_error(tmp_path: Path):
    recipe = tmp_path / "recipes" / "empty.yaml"
    recipe.parent.mkdir()
    recipe.write_text("name: empty\nsubset: empty\nsources:\n  github:\n    manifests: [manifests/missing.txt]\n")
    proc = run_cli("build", str(recipe), "--out", str(tmp_path / "out"), check=False)
    assert proc.returncode == 2
    assert "no inputs to build from" in proc.stderr and "missing.txt: manifest file not found" in proc.stderr


def test_empty_output_names_the_step_that_dropped_everything(tmp_path: Path, lid_model: Path):
    german = ("\\section{Konvexe Funktionen}\nEine Funktion heißt konvex, wenn der Funktionswert am gewichteten "
              "Mittel höchstens so groß ist wie das gewichtete Mittel der Funktionswerte.\n")
    rows = [{"content": german, "lang": "TeX", "hexsha": f"{i:040x}", "max_stars_repo_name": "t/t",
             "max_stars_repo_path": f"n{i}.tex"} for i in range(3)]
    data = tmp_path / "tex.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = tmp_path / "only-german.yaml"
    recipe.write_text(f"name: g\nsubset: g\nsources:\n  stack:\n    langs: [tex]\n    files: [{data}]\n"
                      f"stages:\n  langid: {{enabled: true, model: {lid_model}}}\n")
    out = tmp_path / "out"
    proc = run_cli("build", str(recipe), "--out", str(out))
    assert json.loads((out / "manifest.json").read_text())["outputs"]["documents"] == 0
    assert "0 documents kept" in proc.stderr and "language id" in proc.stderr and "wrong_language" in proc.stderr
