"""What a process this suite starts writes outside the places it may write: exactly, whatever else runs on the
machine.

Diffing /tmp or $HOME before and after cannot tell a build's files from those of any other program running at
the same time (a pip cache, another tool's temporary directory). So each build runs in a mount namespace of its
own in which /tmp, $HOME and the repository are overlays: the real directory below, a fresh upper directory on
top. Everything the build's process tree creates, changes or deletes there lands in the upper directory and
nowhere else, and nothing another process does ever appears in it. pytest's base temporary directory (where the
builds' inputs and outputs live) is bound back through, so writes there are real. After the build, a non-empty
upper directory is the exact list of what it wrote where it must not.

Where a mount namespace cannot be made (not root, no CAP_SYS_ADMIN), the process gets an empty private HOME and
TMPDIR instead, checked the same way; a write to a hard-coded /tmp path goes unseen in that mode, and
`Record.mode` says which one ran.

Run as a script, `guard.py COMMAND...` enters the namespace and execs COMMAND (same pid, so signals sent to the
process group still reach it); `run_in_guard` does the same in a forked child for a Python function.
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import stat
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

# where the records go; unset means "run unguarded" (the script then only execs its command)
ENV_DIR = "PROOFPILE_GUARD_DIR"
# pytest's base temporary directory: writes there are the builds' outputs and stay real
ENV_ALLOWED = "PROOFPILE_GUARD_ALLOWED"
# "env" forces the fallback without a mount namespace (to test it where the namespace is available)
ENV_MODE = "PROOFPILE_GUARD_MODE"

# written by Python's import system or the tools that run these sessions, never by a build
IGNORED_NAMES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}

_CLONE_NEWNS = 0x00020000
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
_REPO = Path(__file__).resolve().parents[2]


def targets() -> dict[str, str]:
    """name -> directory a build must not write into."""
    found = {"tmp": "/tmp", "home": os.path.expanduser("~"), "repo": str(_REPO)}
    return {k: os.path.realpath(v) for k, v in found.items() if os.path.realpath(v) != "/"}


@dataclass
class Record:
    """One guarded process: where its stray writes were caught."""

    path: Path

    @property
    def info(self) -> dict:
        return json.loads((self.path / "record.json").read_text())

    @property
    def mode(self) -> str:
        return self.info["mode"]

    def stray_writes(self) -> list[str]:
        """Every path (as the process saw it) that it created, changed or deleted outside the allowed places."""
        info = self.info
        found = []
        for name, real in info["targets"].items():
            top = self.path / name / ("upper" if info["mode"] == "overlay" else "dir")
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES)
                rel = os.path.relpath(dirpath, top)
                for entry in [*dirnames, *filenames]:
                    seen = os.path.normpath(os.path.join(real, rel, entry))
                    # in an upper directory, a directory that also exists below only holds what changed inside it
                    if entry in dirnames and info["mode"] == "overlay" and os.path.isdir(seen):
                        continue
                    st = os.lstat(os.path.join(dirpath, entry))
                    deleted = stat.S_ISCHR(st.st_mode) and st.st_rdev == 0  # an overlay whiteout
                    found.append(f"{seen} (deleted)" if deleted else seen)
        return sorted(found)


def new_record(root: Path) -> Record:
    root.mkdir(parents=True, exist_ok=True)
    return Record(Path(tempfile.mkdtemp(prefix="run-", dir=root)))


def records(root: Path) -> list[Record]:
    return sorted((Record(p) for p in root.glob("run-*") if (p / "record.json").is_file()), key=lambda r: r.path.name)


def _libc_call(fn, *args) -> None:
    if fn(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _overlay(record: Record, allowed: str, argv: list[str]) -> None:
    """Enter a private mount namespace with /tmp, $HOME and the repository overlaid (see the module docstring)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    _libc_call(libc.unshare, _CLONE_NEWNS)
    _libc_call(libc.mount, b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
    found = targets()
    # every directory is opened before the first mount, so later mounts cannot change what a path names
    keep = {"allowed": os.open(allowed, os.O_PATH | os.O_DIRECTORY)}
    for name, real in found.items():
        for part in ("upper", "work"):
            (record.path / name / part).mkdir(parents=True)
            keep[f"{name}/{part}"] = os.open(record.path / name / part, os.O_PATH | os.O_DIRECTORY)
        keep[name] = os.open(real, os.O_PATH | os.O_DIRECTORY)
    fd = {k: f"/proc/self/fd/{v}".encode() for k, v in keep.items()}
    for name, real in sorted(found.items(), key=lambda kv: len(kv[1])):  # outer directories first
        options = b"lowerdir=%s,upperdir=%s,workdir=%s" % (fd[name], fd[f"{name}/upper"], fd[f"{name}/work"])
        _libc_call(libc.mount, b"overlay", real.encode(), b"overlay", 0, options)
    _libc_call(libc.mount, fd["allowed"], allowed.encode(), None, _MS_BIND | _MS_REC, None)
    for v in keep.values():
        os.close(v)
    (record.path / "record.json").write_text(json.dumps({"mode": "overlay", "targets": found, "argv": argv}))


def _private_env(record: Record, allowed: str, argv: list[str]) -> None:
    """No mount namespace here: an empty HOME of the process's own, checked afterwards, and TMPDIR too unless
    it already points into pytest's area (the suite's own TMPDIR, checked apart)."""
    found = {}
    for name, var in (("home", "HOME"), ("tmp", "TMPDIR")):
        current = os.environ.get(var, "/tmp")
        if var == "TMPDIR" and os.path.realpath(current).startswith(os.path.realpath(allowed) + os.sep):
            continue
        d = record.path / name / "dir"
        d.mkdir(parents=True)
        found[name] = current
        os.environ[var] = str(d)
    (record.path / "record.json").write_text(json.dumps({"mode": "env", "targets": found, "argv": argv}))


def enter(argv: list[str]) -> Record | None:
    """Put this process (and everything it starts later) under the guard; None when no guard is configured."""
    root = os.environ.get(ENV_DIR)
    if not root:
        return None
    record = new_record(Path(root))
    allowed = os.environ[ENV_ALLOWED]
    try:
        if os.environ.get(ENV_MODE) == "env":
            raise PermissionError("the environment-only guard was asked for")
        _overlay(record, allowed, argv)
    except OSError:
        for leftover in sorted(record.path.rglob("*"), reverse=True):
            leftover.rmdir()
        _private_env(record, allowed, argv)
    return record


def run_in_guard(fn, *args, **kwargs):
    """fn(*args, **kwargs) in a forked child under the guard; returns its result or raises its exception."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 0
        try:
            os.close(r)
            enter([f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"])
            payload = ("ok", fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the parent whatever it is
            code = 1
            try:
                pickle.dumps(e)
                payload = ("raise", e)
            except Exception:  # noqa: BLE001
                payload = ("raise", RuntimeError(traceback.format_exc()))
        try:
            with os.fdopen(w, "wb") as f:
                pickle.dump(payload, f)
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    if not data:
        raise RuntimeError("the guarded child died without a result")
    kind, value = pickle.loads(data)
    if kind == "raise":
        raise value
    return value


if __name__ == "__main__":
    enter(sys.argv[1:])
    os.execvp(sys.argv[1], sys.argv[1:])
