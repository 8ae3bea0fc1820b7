"""Other variants of each hardening class of issue #13, tried after its fixes landed: the examples of the issue
have their own tests (test_out_dir, test_secrets, test_fuzz_readers, ...); these are the shapes that still broke.

Each test names the class it belongs to; every one failed before the fix it covers."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from proofpile.outdir import OutDirError
from proofpile.shards import clear_subsets

from .helpers import run_cli

SHARD = "train-00000-of-00001.parquet"


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory, lid_model) -> Path:
    """The bundled algebraic-stack sample, built and carded once for the module."""
    out = tmp_path_factory.mktemp("variants") / "built"
    run_cli("build", "algebraic-stack", "--sample", "--out", out, "--set", f"langid.model={lid_model}",
            "--no-progress")
    run_cli("card", out)
    return out


# --- 1. --out never deletes what proofpile did not write ------------------------------------------------------

@pytest.mark.parametrize("link", ["data", "data/arxiv"])
def test_a_symlinked_data_folder_is_refused_not_swept(tmp_path, link):
    """A re-run's clean-up of an interrupted finalize followed a `data/` (or `data/<subset>/`) link into a user's
    folder and deleted a file there named like a shard; the shards written next would land there too."""
    out, user = tmp_path / "out", tmp_path / "user"
    user.mkdir()
    (user / SHARD).write_bytes(b"the user's own file")
    (user / "arxiv").mkdir()
    (user / "arxiv" / SHARD).write_bytes(b"the user's own file")
    (out / link).parent.mkdir(parents=True, exist_ok=True)
    (out / link).symlink_to(user, target_is_directory=True)
    target = user / "arxiv" / SHARD if link == "data" else user / SHARD
    with pytest.raises(OutDirError, match="symbolic link"):
        clear_subsets(out, ["arxiv"])
    assert target.read_bytes() == b"the user's own file"


def test_a_symlinked_subset_folder_is_refused_by_the_cli(tmp_path, lid_model):
    out = tmp_path / "b"
    build = ("build", "algebraic-stack", "--sample", "--out", out, "--set", f"langid.model={lid_model}", "--no-progress")
    run_cli(*build)
    user = tmp_path / "user"
    user.mkdir()
    (user / "train-agda-00000-of-00001.parquet").write_bytes(b"precious")
    shutil.rmtree(out / "data" / "algebraic-stack")
    (out / "data" / "algebraic-stack").symlink_to(user)
    (out / "_work" / "logs" / "finalize" / "completions" / "00000").unlink()  # as if killed during finalize
    assert "symbolic link" in _one_error_line(run_cli(*build, check=False))
    assert [p.name for p in user.iterdir()] == ["train-agda-00000-of-00001.parquet"]
    assert (user / "train-agda-00000-of-00001.parquet").read_bytes() == b"precious"


def test_decontaminate_into_its_input_folder_does_not_read_its_own_output(sample_build, tmp_path, shared_data):
    """`decontaminate shards/ --out shards/clean` read `shards/clean/` back on the next run: documents counted
    twice and a `clean/clean/` copy."""
    shards = tmp_path / "shards"
    shards.mkdir()
    for p in sorted((sample_build / "data" / "algebraic-stack").glob("*.parquet"))[:2]:
        shutil.copy(p, shards / p.name)
    bench = f"math={shared_data / 'benchmarks' / 'math_test.jsonl'}"
    first = run_cli("decontaminate", shards, "--out", shards / "clean", "--bench-file", bench)
    second = run_cli("decontaminate", shards, "--out", shards / "clean", "--bench-file", bench)
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]
    assert not (shards / "clean" / "clean").exists()
    same = run_cli("decontaminate", shards, "--out", shards / "clean" / "..", "--bench-file", bench, check=False)
    assert "an input lies inside --out" in _one_error_line(same)


# --- 2. no secret in outputs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, secret", [
    ("https://h.example/x.warc.gz?hf_token=CANARY1", "CANARY1"),
    ("https://h.example/x?access_key=AK&secret_key=CANARY2", "CANARY2"),
    ("https://h.example/x?accessToken=CANARY3&page=2", "CANARY3"),
    ("https://h.example/x?client-secret=CANARY4", "CANARY4"),
    ("https://h.example/x?aws_secret_access_key=CANARY5", "CANARY5"),
    ("https://h.example/repo/hf_CANARY6abcdefghijklmnopqrstuvwxyz0123/x", "CANARY6"),
    ("https://h.example/x?q=ghp_CANARY7abcdefghijklmnopqrstuvwxyz0123", "CANARY7"),
])
def test_credential_shapes_beyond_the_known_names_are_redacted(url, secret):
    from proofpile.redact import redact_text, redact_url

    assert secret not in redact_url(url)
    assert secret not in redact_text(f"could not read {url}: 403")
    assert redact_url("https://h.example/x?page=2&author=me") == "https://h.example/x?page=2&author=me"


def test_publish_uploads_no_file_outside_data_nor_behind_a_link(sample_build, tmp_path):
    """A manifest entry `../elsewhere.parquet` (or a shard replaced by a link) made publish upload a file the
    build did not write."""
    from proofpile.publish.card import write_card
    from proofpile.publish.hub import PublishError, local_files

    copy = tmp_path / "b"
    shutil.copytree(sample_build, copy, ignore=shutil.ignore_patterns("_work"))
    assert local_files(copy)  # publishable as built
    manifest = json.loads((copy / "manifest.json").read_text())
    shard = copy / manifest["outputs"]["shards"][0]["path"]
    outside = tmp_path / "elsewhere.parquet"
    shutil.copy(shard, outside)
    entry = dict(manifest["outputs"]["shards"][0], path="../elsewhere.parquet")
    edited = dict(manifest, outputs=dict(manifest["outputs"], shards=[entry, *manifest["outputs"]["shards"][1:]]))
    (copy / "manifest.json").write_text(json.dumps(edited))
    write_card(copy)
    with pytest.raises(PublishError, match="not a file below data/"):
        local_files(copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    write_card(copy)
    shard.unlink()
    shard.symlink_to(outside)
    with pytest.raises(PublishError, match="symbolic link"):
        local_files(copy)


def test_slurm_job_files_that_must_hold_a_credential_are_private(tmp_path):
    """`--executor slurm --dry-run` writes the raw --set values into the job scripts and pickles (the nodes
    must fetch with them): they are the owner's alone, and stay under _work/, which nothing publishes."""
    out = tmp_path / "o"
    run_cli("build", "algebraic-stack", "--sample", "--out", out, "--executor", "slurm", "--dry-run",
            "--set", "langid.model=https://user:CANARYPW@models.example/lid.176.ftz")
    holding = [p for p in out.rglob("*") if p.is_file() and b"CANARYPW" in p.read_bytes()]
    assert holding and all(p.relative_to(out).parts[0] == "_work" for p in holding)
    assert all(p.stat().st_mode & 0o077 == 0 for p in holding), [oct(p.stat().st_mode) for p in holding]


# --- 3. per-record (per-repository) fault isolation ---------------------------------------------------------------

def test_classifier_data_loses_a_line_not_the_file(tmp_path):
    """Training data read as text: a line nested 200,000 deep raised RecursionError and lost the file."""
    from proofpile.classifier import read_examples

    f = tmp_path / "d.jsonl"
    f.write_bytes(b'{"text": "a", "label": "math"}\n{"text": "x\xff", "label": 1}\n' + b"[" * 200_000 + b"]" * 200_000
                  + b'\n{"text": "c", "label": 0}\n')
    problems, warnings = Counter(), []
    assert list(read_examples(f, problems=problems, warn=warnings.append)) == [("a", 1), ("c", 0)]
    assert problems == {"bad_utf8": 1, "too_deep": 1}
    assert [w.split(":")[1] for w in warnings] == ["2", "3"]
    data = gzip.compress(b"".join(b'{"text": "t%d", "label": 1}\n' % i for i in range(2000)))
    (tmp_path / "t.jsonl.gz").write_bytes(data[: len(data) // 2])
    problems = Counter()
    kept = list(read_examples(tmp_path / "t.jsonl.gz", problems=problems, warn=warnings.append))
    assert 0 < len(kept) < 2000 and problems == {"file_damaged": 1}


def test_one_repository_failing_with_an_os_error_costs_that_repository(tmp_path, warnings_logged):
    """Only RepoError was caught: an OSError (here: a file where the repository's clone folder goes) ended the
    task and every repository after it."""
    from proofpile.sources.github import GitHubReader, _clone_dir
    from tests.gitrepo import make_repo
    from tests.test_github_source import EXTS, spec_for

    a, commit_a = make_repo(tmp_path / "a", {"A.lean": "-- a\n"})
    b, commit_b = make_repo(tmp_path / "b", {"B.lean": "-- b\n"})
    spec_a, spec_b = spec_for(a, commit_a), spec_for(b, commit_b)
    (tmp_path / "w").mkdir()
    _clone_dir(spec_a, tmp_path / "w").write_text("not a clone")
    reader = GitHubReader([spec_a, spec_b], EXTS, workdir=str(tmp_path / "w"))
    assert [d.metadata["path"] for d in reader.run()] == ["B.lean"]
    assert reader.stats["repo_failed"].total == 1
    assert any(m.startswith("test/a") and "NotADirectoryError" in m for m in warnings_logged)


# --- 4. bounded cost -------------------------------------------------------------------------------------------

_PAPER = "\\documentclass{article}\n\\begin{document}\n%s\n\\end{document}\n"


@pytest.mark.parametrize("name, body", [
    # a macro with an argument used 20,000 times on a `{` that never closes: 77 s before (quadratic), 0.05 s now
    ("unclosed macro arguments", "\\newcommand{\\f}[1]{#1}\n" + "\\f{" * 20_000),
    # the same through the include scanner: 20 s for 10,000 before
    ("unclosed includes", "\\input{" * 20_000),
    # optional arguments that never close: 21 s for 10,000 before; each scan now stops at _MAX_OPTIONAL_CHARS
    ("unclosed optional arguments", "\\newcommand{\\g}[2][d]{#1#2}\n" + "\\g[" * 10_000),
])
def test_unclosed_groups_in_latex_cost_linear_time(name, body):
    """Every `\\macro{` without a closer scanned to the end of the file. Caps are generous (measured 10-50x
    lower); the text around the hostile part still comes out."""
    import time

    from proofpile.extract.latex import clean_project

    start = time.perf_counter()
    cleaned = clean_project({"main.tex": _PAPER % ("Fermat's little theorem. " + body)})
    assert time.perf_counter() - start < 10.0, name
    assert "Fermat's little theorem" in cleaned.text


def test_brace_pairs_answer_as_the_scan_does(monkeypatch):
    """The one-pass brace pairing gives what scanning from each `{` gives: escapes, `\\\\{`, unclosed ones."""
    from proofpile.extract import latex_macros as lm

    text = ("\\{ a {b \\} {c} d} \\\\{e} [x {y] z}] {f {g} " * 60) + "{h {"
    opens = [i for i, c in enumerate(text) if c in "{["]
    paired = [lm.read_group(text, i, c, "}" if c == "{" else "]") for i, c in ((i, text[i]) for i in opens)]
    monkeypatch.setattr(lm, "_PAIRED_FROM", len(text) + 1)  # every question answered by scanning
    scanned = [lm.read_group(text, i, c, "}" if c == "{" else "]") for i, c in ((i, text[i]) for i in opens)]
    assert paired == scanned and any(p is None for p in paired) and sum(p is not None for p in paired) > 100


# --- 5. operations ---------------------------------------------------------------------------------------------

def test_readers_refuse_a_build_that_is_being_written(sample_build, tmp_path, shared_data):
    """pack, dedup, decontaminate, card, stats and publish read a build while a resume rewrote its shards (and
    card wrote into it): each is now one line naming the process that holds the directory."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from proofpile.outdir import locked\n"
         "with locked(Path(sys.argv[1]).resolve()):\n print('held', flush=True); sys.stdin.read()", str(sample_build)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        card_before = (sample_build / "README.md").read_bytes()
        bench = f"math={shared_data / 'benchmarks' / 'math_test.jsonl'}"
        tokenizer = shared_data / "tokenizer" / "llama2-tokenizer.model"
        for args in (["pack", sample_build, "--out", tmp_path / "p", "--tokenizer", tokenizer, "--no-progress"],
                     ["dedup", sample_build, "--out", tmp_path / "d", "--no-progress"],
                     ["decontaminate", sample_build, "--out", tmp_path / "c", "--bench-file", bench],
                     ["card", sample_build], ["stats", sample_build],
                     ["publish", sample_build, "--repo", "a/b", "--dry-run", "--endpoint", "http://127.0.0.1:9"]):
            line = _one_error_line(run_cli(*args, check=False))
            assert f"being built by another proofpile process (pid {holder.pid})" in line, (args[0], line)
        assert not (tmp_path / "p").exists() and not (tmp_path / "c" / "contamination.json").exists()
        assert (sample_build / "README.md").read_bytes() == card_before
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    run_cli("stats", sample_build)  # free again once the holder is gone


# --- 6. one `error:` line ---------------------------------------------------------------------------------------

def _one_error_line(r) -> str:
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and not any(line.startswith(("│", "╭", "╰")) for line in r.stderr.splitlines())
    return errors[0]


def test_a_stack_file_of_another_kind_is_one_redacted_line(tmp_path):
    r = run_cli("build", "algebraic-stack", "--out", tmp_path / "o", "--no-progress",
                "--set", 'stack.files=["https://u:CANARY@h.example/x.csv"]', check=False)
    line = _one_error_line(r)
    assert "x.csv" in line and "stack.files" in line and "CANARY" not in r.stderr


def test_a_benchmark_that_cannot_be_had_is_one_line_in_a_build(tmp_path, lid_model):
    r = run_cli("build", "algebraic-stack", "--sample", "--out", tmp_path / "o", "--no-progress",
                "--set", f"langid.model={lid_model}", "--set", "decontaminate.enabled=true",
                "--set", "decontaminate.benchmarks=[gsm8k, no-such-benchmark]", check=False)
    assert "no-such-benchmark: unknown benchmark" in _one_error_line(r)


@pytest.mark.parametrize("command, workers", [("build", "0"), ("dedup", "-1"), ("pack", "0")])
def test_workers_below_one_is_one_line(tmp_path, command, workers):
    """`--workers 0` silently meant the default and `-1` every task at once."""
    args = {"build": ["build", "algebraic-stack", "--sample"], "dedup": ["dedup", tmp_path],
            "pack": ["pack", tmp_path]}[command]
    r = run_cli(*args, "--out", tmp_path / "o", "--workers", workers, check=False)
    assert f"--workers {workers}: must be at least 1" in _one_error_line(r)
    assert not (tmp_path / "o").exists()
