"""The pack's output directory: claimed by a marker at creation, and a journal of every path the pack makes.

A pack killed half-way leaves temporary files and half-written prefixes; the next run must be able to take
the directory back, and it must never delete a file it did not write. So the marker `.proofpile-pack` is
written first (into a new or empty directory only), and every file or directory the pack creates is appended
to it *before* it is created. A re-run deletes exactly the journalled paths, whatever state the kill left
them in, and nothing else. An exclusive lock on the marker keeps two packs out of one directory.

A directory packed by a proofpile that predates the marker is recognised by its `tokens.json`; only the files
that record names are removed.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from proofpile.errors import ProofpileError

MARKER = ".proofpile-pack"
_HEADER = {"proofpile_pack_dir": 1}


class OutDirError(ProofpileError, ValueError):
    """The directory cannot be used for a pack; one line naming it."""


def inside(out: Path, rel: object) -> Path | None:
    """`out / rel` when `rel` is a plain relative path inside `out`, else None (a journal is never trusted
    to point outside the directory it sits in)."""
    if not isinstance(rel, str) or not rel or os.path.isabs(rel) or ".." in Path(rel).parts:
        return None
    return out / rel


class PackDir:
    """Owns `out` for the duration of one pack: `claim(path)` before creating anything below it."""

    def __init__(self, out: Path, legacy_files=None):
        """`legacy_files(out)` lists the files of a pre-marker pack (from its tokens.json), or raises
        OutDirError when the directory is not one."""
        self.out = out
        if out.exists() and not out.is_dir():
            raise OutDirError(f"{out}: exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        marker = out / MARKER
        if not marker.is_file():
            others = [p for p in out.iterdir() if p.name != MARKER]
            legacy = legacy_files(out) if others and legacy_files is not None else None
            if others and legacy is None:
                raise OutDirError(f"{out}: not empty and not a previous pack (no {MARKER}); use a new --out")
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, (json.dumps(_HEADER) + "\n").encode())
            os.close(fd)
            for p in legacy or []:
                p.unlink(missing_ok=True)
        self._fd = os.open(marker, os.O_RDWR | os.O_APPEND)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise OutDirError(f"{out}: another pack is writing to this directory") from None
        self._remove_journalled()
        self._claimed: set[Path] = set()

    def _remove_journalled(self) -> None:
        with open(self.out / MARKER, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        dirs = []
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except ValueError:  # the line being written when the run was killed: its path was never created
                continue
            if not isinstance(entry, dict):
                continue
            if (p := inside(self.out, entry.get("file"))) is not None and not p.is_dir():
                p.unlink(missing_ok=True)
            elif (p := inside(self.out, entry.get("dir"))) is not None:
                dirs.append(p)
        for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            try:
                d.rmdir()  # only when empty: whatever else is there is not the pack's
            except OSError:
                pass
        os.ftruncate(self._fd, 0)
        os.write(self._fd, (json.dumps(_HEADER) + "\n").encode())

    def _journal(self, kind: str, path: Path) -> None:
        os.write(self._fd, (json.dumps({kind: path.relative_to(self.out).as_posix()}) + "\n").encode())

    def claim(self, *paths: Path) -> None:
        """Journal `paths` (files below `out`) and create their missing parent directories, journalled too."""
        for path in paths:
            if path in self._claimed:
                continue
            missing = []
            parent = path.parent
            while parent != self.out and not parent.exists():
                missing.append(parent)
                parent = parent.parent
            for d in reversed(missing):
                self._journal("dir", d)
                d.mkdir()
            self._journal("file", path)
            self._claimed.add(path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None
