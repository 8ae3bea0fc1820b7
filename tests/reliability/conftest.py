"""The reliability suite's own guard: nothing a build writes lands outside the build directories, and no
process the suite started is still running after its last test.

- Every build runs under `guard.py` (the CLI through `helpers.PROOFPILE`, the library through `helpers.build`
  in a forked child): /tmp, $HOME and the repository are overlays in a mount namespace of the build's own, so
  what it wrote there is known exactly and what other programs on the machine write never counts. After each
  test, every build started since the last check must have written nothing there.
- TMPDIR points into pytest's area for the package's duration (the builds inherit it), and it must be empty at
  the end: a reader or a git call that leaves a temporary file behind fails the run.
- MPLCONFIGDIR too: the card's figures make matplotlib write its font cache into ~/.cache and ~/.config, a
  user-level cache like pip's. Given a place of its own in pytest's area, it is built once for the package and
  the guard stays exact for everything else in $HOME.
- Live descendants of the pytest process, from /proc (psutil is not a dependency), must be gone at the end.

Inside pytest's area each build is checked on its own (`helpers.writes_only_into`): everything beside its
output directory, its inputs included, must be as it was.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from . import guard
from .helpers import children, listing

_checked: set[Path] = set()


def _stray_writes(root: Path) -> list[str]:
    """'command: path' for every write outside the allowed places by a guarded process not yet checked."""
    problems = []
    for record in guard.records(root):
        if record.path in _checked:
            continue
        _checked.add(record.path)
        problems += [f"{' '.join(record.info['argv'])[:200]}: {p}" for p in record.stray_writes()]
    return problems


@pytest.fixture(scope="package", autouse=True)
def nothing_outside_and_no_process_left(tmp_path_factory):
    processes_before = children(os.getpid())
    tmpdir = tmp_path_factory.mktemp("TMPDIR")
    records = tmp_path_factory.mktemp("guard")
    saved = {k: os.environ.get(k) for k in ("TMPDIR", "MPLCONFIGDIR", guard.ENV_DIR, guard.ENV_ALLOWED)}
    os.environ.update({"TMPDIR": str(tmpdir), "MPLCONFIGDIR": str(tmp_path_factory.mktemp("matplotlib")),
                       guard.ENV_DIR: str(records), guard.ENV_ALLOWED: str(tmp_path_factory.getbasetemp())})
    tempfile.tempdir = None  # recomputed from TMPDIR on next use
    try:
        yield records
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        tempfile.tempdir = None
    # a process killed a moment ago may still be exiting; give it a few seconds before calling it left behind
    deadline = time.monotonic() + 10
    while (left := children(os.getpid()) - processes_before) and time.monotonic() < deadline:
        time.sleep(0.2)
    problems = []
    if stray := _stray_writes(records):
        problems.append(f"{len(stray)} paths written outside the build directories: {stray[:20]}")
    if leftovers := sorted(listing(tmpdir)):
        problems.append(f"temporary files left behind in TMPDIR: {leftovers[:20]}")
    if left:
        problems.append(f"processes left behind: {sorted(left)}")
    assert not problems, "; ".join(problems)


@pytest.fixture(autouse=True)
def no_stray_writes(nothing_outside_and_no_process_left):
    """Fails the test during which a build (its own or a fixture's) wrote into /tmp, $HOME or the repository."""
    yield
    stray = _stray_writes(nothing_outside_and_no_process_left)
    assert not stray, f"{len(stray)} paths written outside the build directories: {stray[:20]}"
