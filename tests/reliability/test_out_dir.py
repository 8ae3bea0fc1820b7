"""`--out` never costs a user a file: proofpile writes only into a directory it made (or an empty one), clean-up
there touches only names proofpile gives its own files, a dry run writes nothing, and one build at a time holds a
directory (two at once lost a document for good).

Every case runs the real CLI in a subprocess on real inputs (arXiv sources from the shared data, the bundled
sample) and compares the user's files byte for byte before and after."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from proofpile.outdir import MARKER
from proofpile.shards import clear_subsets

from .helpers import PROOFPILE, WORK, doc_ids, listing, output_digest, run_cli

PAPER = "2301.00001.gz"


def _arxiv(out: Path, shared_data: Path, *extra: str) -> list[str]:
    return ["build", "arxiv", "--out", str(out), "--set", f"arxiv.paths=[{shared_data / 'arxiv' / PAPER}]", *extra]


def _sample(out: Path, lid_model: Path, *extra: str) -> list[str]:
    return ["build", "algebraic-stack", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}",
            "--no-progress", *extra]


def _user_dir(root: Path) -> Path:
    """A folder of someone's own work that happens to have a `data/arxiv/` and `.tmp` files."""
    user = root / "thesis"
    (user / "data" / "arxiv").mkdir(parents=True)
    (user / "data" / "arxiv" / "chapter1.tex").write_text("\\chapter{One}\n")
    (user / "data" / "arxiv" / "train-00000.parquet.tmp").write_text("the user's, despite the name\n")
    (user / "draft.tmp").write_text("unsaved\n")
    (user / "figs" / "old.tmp").parent.mkdir()
    (user / "figs" / "old.tmp").write_text("cache\n")
    return user


def _error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    return lines[0]


def _contents(root: Path) -> dict[str, bytes | None]:
    return {p: (Path(p).read_bytes() if size >= 0 and not Path(p).is_symlink() else None)
            for p, (size, _) in listing(root).items()}


@pytest.mark.parametrize("sample", [False, True])
@pytest.mark.parametrize("through_link", [False, True])
def test_unrelated_non_empty_out_is_refused_untouched(tmp_path, shared_data, lid_model, sample, through_link):
    user = _user_dir(tmp_path)
    before = _contents(user)
    out = user
    if through_link:  # a symlink is followed to its target, which is just as much the user's
        out = tmp_path / "link"
        out.symlink_to(user)
    args = _sample(out, lid_model) if sample else _arxiv(out, shared_data)
    line = _error_line(run_cli(*args, check=False))
    assert f"{user}: not empty and not made by proofpile" in line
    assert _contents(user) == before


@pytest.mark.parametrize("sample", [False, True])
@pytest.mark.parametrize("dry_run", [False, True])
def test_out_that_is_a_file(tmp_path, shared_data, lid_model, sample, dry_run):
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    args = _sample(target, lid_model) if sample else _arxiv(target, shared_data)
    line = _error_line(run_cli(*args, *(["--dry-run"] if dry_run else []), check=False))
    assert line == f"error: {target}: exists and is not a directory; --out must be a directory"
    assert target.read_text() == "mine\n" and sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_dry_run_with_sample_writes_nothing(tmp_path, lid_model):
    out, tmpdir = tmp_path / "out", tmp_path / "tmp"
    tmpdir.mkdir()
    proc = run_cli(*_sample(out, lid_model, "--dry-run"), env={**os.environ, "TMPDIR": str(tmpdir)})
    assert not out.exists() and not os.listdir(tmpdir) and os.listdir(tmp_path) == ["tmp"]
    # the plan names the inputs where the real build will make them, not where the dry run looked at them
    assert f"{out}/{WORK}/sample/manifests/lean.txt" in proc.stdout
    assert str(tmpdir) not in proc.stdout + proc.stderr


def test_cleanup_in_a_build_dir_spares_what_the_user_added(tmp_path, shared_data):
    out = tmp_path / "out"
    run_cli(*_arxiv(out, shared_data))
    assert (out / MARKER).is_file()
    shards = sorted((out / "data" / "arxiv").iterdir())
    # the user adds files inside proofpile's directory; then a finalize is interrupted and redone
    (out / "data" / "arxiv" / "chapter1.tex").write_text("\\chapter{One}\n")
    (out / "data" / "arxiv" / "train.parquet.tmp").write_text("not a name proofpile gives\n")
    (out / "draft.tmp").write_text("unsaved\n")
    (out / "data" / "arxiv" / "validation-00000.parquet.tmp").write_text("a half-written shard\n")
    (out / WORK / "logs" / "finalize" / "completions" / "00000").unlink()
    run_cli(*_arxiv(out, shared_data))
    left = sorted(p.name for p in (out / "data" / "arxiv").iterdir())
    assert left == sorted([*(p.name for p in shards), "chapter1.tex", "train.parquet.tmp"])
    assert (out / "draft.tmp").read_text() == "unsaved\n"


def test_clear_subsets_removes_only_shard_names(tmp_path):
    out = tmp_path / "out"
    own = ["train-00000-of-00002.parquet", "train-lean-00001.parquet.tmp", "test-00000-of-00001.parquet"]
    theirs = ["chapter1.tex", "notes.parquet", "train-00000.parquet.bak", "x.tmp", "train-0000-of-00001.parquet"]
    folder = out / "data" / "algebraic-stack"
    folder.mkdir(parents=True)
    for name in own + theirs:
        (folder / name).write_text(name)
    (out / "data" / "empty").mkdir()
    (out / WORK / "github").mkdir(parents=True)
    (out / WORK / "github" / "r00000-00000.parquet.tmp").write_text("half")
    (out / "user.tmp").write_text("mine")
    clear_subsets(out, ["algebraic-stack", "empty", "absent"])
    assert sorted(os.listdir(folder)) == sorted(theirs)
    assert not (out / "data" / "empty").exists()  # proofpile's, and nothing else was in it
    assert not (out / WORK / "github" / "r00000-00000.parquet.tmp").exists()
    assert (out / "user.tmp").read_text() == "mine"


def test_empty_dir_is_used_and_a_previous_version_build_is_resumed(tmp_path, shared_data):
    out = tmp_path / "out"
    out.mkdir()  # made empty by the user: fine
    run_cli(*_arxiv(out, shared_data))
    reference = output_digest(out)
    (out / MARKER).unlink()  # as a build by the version before the marker left it: `_work/build.json` says whose
    (out / WORK / "logs" / "finalize" / "completions" / "00000").unlink()
    run_cli(*_arxiv(out, shared_data))
    assert output_digest(out) == reference


def test_two_builds_into_one_dir(tmp_path, lid_model):
    """The second is refused while the first runs; the first's output is complete; a re-run afterwards works."""
    reference = tmp_path / "reference"
    run_cli(*_sample(reference, lid_model))
    out = tmp_path / "out"
    first = subprocess.Popen([*PROOFPILE, *_sample(out, lid_model)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / WORK / "lock").is_file() or not (out / WORK / "lock").read_text().strip():
            assert first.poll() is None and time.monotonic() < deadline, "the first build ended before the second"
            time.sleep(0.01)
        second = run_cli(*_sample(out, lid_model), check=False)
        still_running = first.poll() is None
    finally:
        stdout, stderr = first.communicate(timeout=300)
    assert still_running, "the first build was over before the second started: the case was not exercised"
    assert _error_line(second) == f"error: {out} is being built by another proofpile process (pid {first.pid})"
    assert first.returncode == 0, stderr[-3000:]
    assert doc_ids(out) == doc_ids(reference) and len(doc_ids(out)) > 0
    rerun = run_cli(*_sample(out, lid_model))
    assert "documents in" in rerun.stdout and doc_ids(out) == doc_ids(reference)


# -- the other commands that write into a directory ------------------------------------------------------------


@pytest.fixture(scope="module")
def arxiv_build(tmp_path_factory, shared_data) -> Path:
    out = tmp_path_factory.mktemp("arxiv") / "out"
    run_cli(*_arxiv(out, shared_data))
    return out


def _foreign_dataset(root: Path, build: Path) -> Path:
    """Someone's copy of a dataset in the Hub's layout (the same file names proofpile writes) plus notes."""
    user = root / "downloaded"
    for shard in (build / "data").rglob("*.parquet"):
        target = user / shard.relative_to(build)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shard, target)
        # and where `decontaminate` would write its clean copy of the same shard
        (user / shard.relative_to(build / "data")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shard, user / shard.relative_to(build / "data"))
    (user / "contamination.md").write_text("my notes\n")
    (user / "manifest.json").write_text("{}\n")
    return user


def test_dedup_refuses_a_folder_it_did_not_make(tmp_path, arxiv_build):
    user = _foreign_dataset(tmp_path, arxiv_build)
    before = _contents(user)
    line = _error_line(run_cli("dedup", arxiv_build, "--out", user, "--no-progress", check=False))
    assert f"{user}: not empty and not made by proofpile" in line
    assert _contents(user) == before
    # nor into a build directory: a dedup there would replace the build's own shards
    line = _error_line(run_cli("dedup", user / "data", "--out", arxiv_build, "--no-progress", check=False))
    assert "holds the output of `proofpile build`, not of `proofpile dedup`" in line


def test_decontaminate_refuses_a_folder_it_did_not_make(tmp_path, arxiv_build):
    from proofpile.samples import BENCHMARKS

    user = _foreign_dataset(tmp_path, arxiv_build)
    before = _contents(user)
    args = ["decontaminate", arxiv_build / "data", "--bench-file", f"math={BENCHMARKS['math']}"]
    line = _error_line(run_cli(*args, "--out", user, check=False))
    assert f"{user}: not empty and not made by proofpile" in line
    assert _contents(user) == before
    clean = tmp_path / "clean"
    run_cli(*args, "--out", clean)
    run_cli(*args, "--out", clean)  # its own output: re-running into it is fine
    assert (clean / "contamination.json").is_file() and (clean / MARKER).is_file()


def test_card_never_replaces_a_readme_it_did_not_write(tmp_path, arxiv_build):
    copy = tmp_path / "copy"  # a build copied without `_work/` and the marker, with the user's own README
    shutil.copytree(arxiv_build, copy, ignore=shutil.ignore_patterns(WORK, MARKER))
    (copy / "README.md").write_text("# my notes\n")
    line = _error_line(run_cli("card", copy, check=False))
    assert line == f"error: {copy / 'README.md'}: not a card proofpile wrote, in a directory proofpile did not make; " \
                   "refusing to overwrite it"
    assert (copy / "README.md").read_text() == "# my notes\n"
    run_cli("card", arxiv_build)  # proofpile's own build directory: the card is written ...
    shutil.copyfile(arxiv_build / "README.md", copy / "README.md")
    run_cli("card", copy)  # ... and rewritten wherever a card of proofpile's is there


def _try_lock(out: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from pathlib import Path; from proofpile.outdir import BusyError, locked\n"
            "try:\n    with locked(Path(sys.argv[1])):\n        print('locked')\n"
            "except BusyError as e:\n    print(e)\n")
    return subprocess.run([*PROOFPILE[:1], "-c", code, str(out)], capture_output=True, text=True, check=True)


def test_the_lock_is_the_holders_alone(tmp_path):
    """Held: another process is told who holds it. Released when the holder leaves, even while a child it forked
    (multiprocessing's manager, a pool worker) is still alive: an orphan must not keep the directory locked."""
    from proofpile.outdir import claim, locked

    out = tmp_path / "out"
    claim(out, "build")
    with locked(out):
        assert _try_lock(out).stdout == f"{out} is being built by another proofpile process (pid {os.getpid()})\n"
        child = os.fork()
        if child == 0:  # pragma: no cover - the child only waits to be killed
            time.sleep(60)
            os._exit(0)
    try:
        assert _try_lock(out).stdout == "locked\n"
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
