"""Writing a file so that a reader (or a resumed run) sees the old contents or the new, never half of them.

Every output proofpile writes goes through here: a temporary file in the same directory (so the rename never
crosses a file system), flushed to disk, then `os.replace`d over the target; on any error the temporary file
is removed and the target is left as it was. A crash (SIGKILL, power loss) can leave a temporary file behind:
its name starts with the target's and ends in `.tmp`, which is how the clean-ups of a resumed run find it.

A remote target (an fsspec URL such as `s3://bucket/key`) has no rename; `put_file` uploads it with one
PUT, which object stores make visible all at once.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: the end of every temporary name; clean-ups match it
TMP_SUFFIX = ".tmp"


@contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = True, unique: bool = False) -> Iterator[Path]:
    """A temporary path beside `path` for the block to write (with any library that takes a path); it becomes
    `path` when the block ends without an error, and is removed otherwise. Streamed writers use this too.

    The temporary name is `<name>.tmp`, which the clean-ups of resumed runs know; `unique=True` adds the pid
    (`<name>.<pid>.tmp`) where two processes may write the same target at once (two first runs of one --out)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}{TMP_SUFFIX}" if unique else path.name + TMP_SUFFIX)
    try:
        yield tmp
        commit(tmp, path, fsync=fsync)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def commit(tmp: str | os.PathLike, path: str | os.PathLike, fsync: bool = True) -> None:
    """Give a finished temporary file its final name. For streamed writers whose final name is only known at
    the end (a shard's `-of-NNNNN`), or whose temporary file outlives one block (a pack's `.bin`)."""
    if fsync:
        _fsync(Path(tmp))
    os.replace(tmp, path)


def write_bytes(path: str | os.PathLike, data: bytes, fsync: bool = True) -> None:
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", errors: str = "strict",
               fsync: bool = True) -> None:
    write_bytes(path, text.encode(encoding, errors), fsync=fsync)


def put_file(local: str | os.PathLike, url: str, fs=None) -> None:
    """Upload `local` to the remote `url` in one request: an object store shows the new object whole or not at
    all, so no temporary key is needed (a copy-then-rename would double the bytes sent)."""
    if fs is None:
        from fsspec.core import url_to_fs

        fs, url = url_to_fs(url)
    fs.put_file(str(local), url)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
