"""Output directories proofpile owns: a marker file, a refusal for anyone else's directory, and a run lock.

A build (or dedup) re-run into the same `--out` clears what an interrupted run left there, so the directory must
be proofpile's own: pointed at a user's folder by mistake, clean-up would delete the user's files. A directory
is proofpile's when it holds the marker written when proofpile created (or first wrote into an empty) directory;
one written by an earlier version is recognised by the file it always wrote (`_work/build.json`, `_work/dedup.json`,
`contamination.json`).
Anything else that is not empty is refused before a single byte is written there.

The lock is an `flock` on a file under the directory, held for the whole run: the kernel drops it when the
process ends however it ends, so there is no stale lock to clean up after a crash or a SIGKILL.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from proofpile.atomic import atomic_path
from proofpile.recipes import RecipeError

MARKER = ".proofpile-out"
LOCK = "_work/lock"

#: identity files of directories written before the marker existed; each one names the command that wrote it
_LEGACY = {"build": "_work/build.json", "dedup": "_work/dedup.json", "decontaminate": "contamination.json"}


class OutDirError(RecipeError):
    """One line: the directory and why proofpile will not write into it."""


def _marker_text(kind: str) -> str:
    # deterministic: the marker is part of every build's output and builds must be byte-identical
    return json.dumps({"written_by": f"proofpile {kind}", "format": 1}) + "\n"


def owner(directory: Path) -> str | None:
    """The proofpile command that made `directory` ("build", "dedup", ...), or None when it is not proofpile's."""
    marker = directory / MARKER
    if marker.is_file():
        try:
            written_by = json.loads(marker.read_text(encoding="utf-8"))["written_by"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return written_by.removeprefix("proofpile ") if isinstance(written_by, str) else None
    for kind, identity in _LEGACY.items():
        if (directory / identity).is_file():
            return kind
    return None


def check(directory: Path, kind: str) -> None:
    """Raise unless `kind` may write into `directory`: it does not exist yet, is empty, or was made by `kind`.
    Writes nothing, so a refused directory is left exactly as it was."""
    if directory.exists() and not directory.is_dir():
        raise OutDirError(f"{directory}: exists and is not a directory; --out must be a directory")
    if not directory.is_dir():
        return
    made_by = owner(directory)
    if made_by == kind:
        return
    if made_by is not None:
        raise OutDirError(f"{directory}: holds the output of `proofpile {made_by}`, not of `proofpile {kind}`; "
                          "use a new --out")
    try:
        empty = next(os.scandir(directory), None) is None
    except OSError as e:
        raise OutDirError(f"{directory}: cannot list it: {os.strerror(e.errno or errno.EIO)}") from None
    if not empty:
        raise OutDirError(f"{directory}: not empty and not made by proofpile (no {MARKER}); refusing to write "
                          "into it, since a re-run clears what proofpile wrote there: use a new or empty --out")


def claim(directory: Path, kind: str) -> None:
    """`check`, then create the directory if needed and mark it as `kind`'s (an old-version one gets its
    marker now)."""
    check(directory, kind)
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / MARKER
    if not marker.is_file():
        # two first runs at once must not share a temporary name
        with atomic_path(marker, unique=True) as tmp:
            tmp.write_text(_marker_text(kind), encoding="utf-8")


class BusyError(OutDirError):
    """Another live process holds the directory's lock."""


_held: dict[str, int] = {}  # directories this process holds the lock of -> nesting depth
_fds: set[int] = set()


def _drop_inherited_locks() -> None:
    """In a forked child: close the lock descriptors. An flock belongs to the open file, so a worker (or
    multiprocessing's manager) orphaned by a killed build would otherwise keep the directory locked."""
    for fd in _fds:
        try:
            os.close(fd)
        except OSError:
            pass
    _fds.clear()
    _held.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


@contextmanager
def locked(directory: Path, kind: str = "build", lock: str = LOCK):
    """Hold an exclusive lock on `directory` (already claimed) for the block; BusyError if another process holds
    it. The lock file records the holder's pid for that message. Nested use in one process is a no-op (a second
    flock on a new descriptor would conflict with our own)."""
    key = str(directory)
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path = directory / lock  # `lock=MARKER` for outputs without a _work/ (decontaminate's)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    _fds.add(fd)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(f"{directory} is being {_past(kind)} by another proofpile process "
                            f"(pid {_holder(path)})") from None
        if lock == LOCK:  # the marker's contents are its identity: the holder's pid is not written there
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        _fds.discard(fd)
        os.close(fd)  # releases the lock; the file stays (removing it would race with a process opening it)


@contextmanager
def reading(*paths: Path):
    """For the block, keep out any proofpile process that writes one of `paths` (a build, dedup or decontaminate
    output being read by pack, dedup, card, stats, publish...): a shared lock on each one's lock file, so a
    reader never sees shards half-rewritten by a resume, and a writer started meanwhile is refused. Paths that
    are not such directories (a shard file, a folder of Parquet) are passed over."""
    fds: list[int] = []
    try:
        for directory in paths:
            directory = Path(directory).resolve()
            for path in (directory / LOCK, directory / MARKER):
                if str(directory) in _held or not path.is_file():
                    continue
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                fds.append(fd)
                _fds.add(fd)
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    kind = owner(directory) or "build"
                    pid = f" (pid {_holder(path)})" if path.name != MARKER else ""
                    raise BusyError(f"{directory} is being {_past(kind)} by another proofpile process{pid}; "
                                    "wait for it to finish") from None
        yield
    finally:
        for fd in fds:
            _fds.discard(fd)
            os.close(fd)


@contextmanager
def owned(directory: Path, kind: str = "build"):
    """`claim` the directory for `kind`, then hold its lock for the block."""
    claim(directory, kind)
    with locked(directory, kind):
        yield


def _past(kind: str) -> str:
    return {"build": "built", "dedup": "deduplicated", "decontaminate": "decontaminated"}.get(
        kind, f"written by `proofpile {kind}`")


def _holder(path: Path) -> str:
    """The pid the holder wrote; it writes it just after locking, so wait a moment for it."""
    for _ in range(20):
        try:
            text = path.read_text().strip()
        except OSError:
            text = ""
        if text.isdigit():
            return text
        time.sleep(0.05)
    return "unknown"
