"""proofpile.atomic: a failed write leaves the old file as it was and no temporary file behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from proofpile.atomic import TMP_SUFFIX, atomic_path, commit, write_bytes, write_text


def test_write_replaces_the_whole_file(tmp_path: Path):
    target = tmp_path / "deep" / "er" / "manifest.json"
    write_text(target, "first\n")
    write_text(target, "second ü\n")
    assert target.read_text(encoding="utf-8") == "second ü\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["manifest.json"]


def test_error_in_the_middle_keeps_the_old_file(tmp_path: Path):
    target = tmp_path / "shard.parquet"
    old = pa.table({"text": ["old"]})
    pq.write_table(old, target)
    before = target.read_bytes()

    def rows():
        yield {"text": "new"}
        raise RuntimeError("source failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        with atomic_path(target) as tmp:
            with pq.ParquetWriter(tmp, pa.schema([("text", pa.string())])) as w:
                for row in rows():
                    w.write_table(pa.Table.from_pylist([row]))
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_surrogates_escaped_not_fatal(tmp_path: Path):
    """A non-UTF-8 file name reaches a manifest as lone surrogates; the caller chooses how to encode them."""
    target = tmp_path / "m.json"
    with pytest.raises(UnicodeEncodeError):
        write_text(target, "bad \udcff")
    assert not target.exists() and not list(tmp_path.iterdir())
    write_text(target, "bad \udcff", errors="backslashreplace")
    assert target.read_bytes() == b"bad \\udcff"


def test_unique_temporary_names_do_not_collide(tmp_path: Path):
    target = tmp_path / ".proofpile-out"
    with atomic_path(target, unique=True) as a:
        assert a.name == f".proofpile-out.{os.getpid()}{TMP_SUFFIX}"
        a.write_text("x")
    assert target.read_text() == "x"


def test_commit_names_a_streamed_file(tmp_path: Path):
    tmp = tmp_path / f"train-00000.parquet{TMP_SUFFIX}"
    tmp.write_bytes(b"data")
    commit(tmp, tmp_path / "train-00000-of-00001.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["train-00000-of-00001.parquet"]


def test_killed_writer_leaves_old_file(tmp_path: Path):
    """SIGKILL while the temporary file is half written: the target still holds the old bytes."""
    target = tmp_path / "out.bin"
    write_bytes(target, b"old" * 1000)
    script = textwrap.dedent(f"""
        import os, signal
        from proofpile.atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp, open(tmp, "wb") as f:
            f.write(b"new" * 10)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script])
    assert proc.returncode == -9
    assert target.read_bytes() == b"old" * 1000
    # the temporary file survives a SIGKILL by design, under the name the clean-ups look for
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin", f"out.bin{TMP_SUFFIX}"]
    write_bytes(target, b"next")  # and the next write takes the stale temporary name over
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
