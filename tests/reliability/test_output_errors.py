"""A full disk or a read-only output directory: `proofpile build` stops with one `error:` line naming the file,
leaves no shard under its final name that is not complete, and a re-run with room finishes the build.

A full disk is simulated with RLIMIT_FSIZE (writes past the limit fail with EFBIG, as ENOSPC would fail them),
set in the build's own process with SIGXFSZ ignored so the failure is an OSError, not a kill. A read-only
directory is `chmod 0o555` for a normal user; root writes through that, so as root the directory is bind-mounted
read-only in a private mount namespace (`unshare`) that ends with the build process.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from proofpile.outdir import claim

from .helpers import PROOFPILE, doc_ids, run_cli

PAPERS = [*(f"2301.0000{i}.gz" for i in range(1, 7)), "math0601001.gz"]


def _paths(shared_data: Path) -> str:
    return "arxiv.paths=[" + ", ".join(str(shared_data / "arxiv" / p) for p in PAPERS) + "]"


def _assert_no_complete_looking_shard(out: Path) -> None:
    """Every `.parquet` (not `.tmp`) is a whole file: its footer reads and its rows decode."""
    for p in out.rglob("*.parquet"):
        table = pq.read_table(p)
        assert table.num_rows == pq.ParquetFile(p).metadata.num_rows
    assert not list((out / "data").rglob("*.parquet")) if (out / "data").exists() else True


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


def test_disk_full_while_writing_the_corpus_shards(tmp_path: Path, shared_data: Path):
    out = tmp_path / "out"
    limit = 160 * 1024  # every per-task file fits (<= 90 KB), the corpus shard (~320 KB) does not

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([*PROOFPILE, "build", "arxiv", "--out", str(out), "--set", _paths(shared_data)],
                          preexec_fn=small_disk, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    line = _one_error_line(proc.stderr)
    assert f"{out}/data/arxiv/" in line and ".parquet.tmp: cannot write: File too large" in line, line
    _assert_no_complete_looking_shard(out)
    assert not (out / "manifest.json").exists()
    assert [p.stat().st_size for p in out.rglob("*.tmp")] == [limit]  # the cut file kept its temporary name

    run_cli("build", "arxiv", "--out", out, "--set", _paths(shared_data))  # with room: resumes and finishes
    assert len(doc_ids(out)) == len(PAPERS) and not list(out.rglob("*.tmp"))


def _read_only_runner(directory: Path) -> list[str]:
    """argv prefix under which `directory` is read-only for the command that follows."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        return []
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare(1): no way to make a directory read-only")
    runner = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount --bind -o ro "$0" "$0" && exec "$@"', str(directory)]
    probe = subprocess.run([*runner, "touch", str(directory / "probe")], capture_output=True, text=True, check=False)
    if probe.returncode == 0 or "Read-only file system" not in probe.stderr:
        pytest.skip(f"cannot make a read-only bind mount here: {probe.stderr.strip()[:200]}")
    return runner


@pytest.mark.parametrize("read_only", ["out", "out/data"])
def test_read_only_output(tmp_path: Path, shared_data: Path, read_only: str):
    out = tmp_path / "out"
    directory = tmp_path / read_only
    if directory != out:  # a build directory proofpile made, whose data/ cannot be written
        claim(out, "build")
    directory.mkdir(parents=True)
    runner = _read_only_runner(directory)
    try:
        proc = subprocess.run([*runner, *PROOFPILE, "build", "arxiv", "--out", str(out), "--set", _paths(shared_data)],
                              capture_output=True, text=True, check=False)
    finally:
        directory.chmod(0o755)
    assert proc.returncode == 1, proc.stderr[-3000:]
    line = _one_error_line(proc.stderr)
    assert f"{directory}/" in line and ("Read-only file system" in line or "Permission denied" in line), line
    _assert_no_complete_looking_shard(out)
    assert not (out / "manifest.json").exists()
    run_cli("build", "arxiv", "--out", out, "--set", _paths(shared_data))
    assert len(doc_ids(out)) == len(PAPERS)
