"""The reliability suite's own guard: after its last test, nothing was written outside the build directories
and no process it started is still running.

What is compared, before the package's first test and after its last:
- new paths in the repository working tree, in $HOME (three levels down: where caches and dot-files appear)
  and directly in /tmp, pytest's own areas and caches aside. Only new paths count, not changed ones, so that
  other people editing the checkout while the suite runs do not fail it;
- the temporary directory: TMPDIR points into pytest's area for the package's duration (the builds in
  subprocesses inherit it), and it must be empty at the end: a reader or a git call that leaves a temporary
  file behind fails the run;
- live descendants of the pytest process, from /proc (psutil is not a dependency).

Inside pytest's area each build is checked on its own (`helpers.writes_only_into`): everything beside its
output directory, its inputs included, must be as it was.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

from .helpers import children, listing

# written by pytest itself or by the tool that runs these sessions, never by a build
_IGNORED_TMP_PREFIXES = ("pytest-of-", "bash_jobs", "bash_tool_")
# a name `tempfile` makes (prefix + 8 random characters): this suite's own go to its TMPDIR, checked apart, so one
# directly in /tmp belongs to another process on the machine
_TEMPFILE_NAME = re.compile(r"(?:tmp|.*[-_.])[a-z0-9_]{8}")


def _paths() -> set[str]:
    found = set(listing(REPO_ROOT)) | set(listing(Path.home(), max_depth=3))
    tmp = listing(Path("/tmp"), skip_top=_IGNORED_TMP_PREFIXES, max_depth=1)
    return found | {p for p in tmp if not _TEMPFILE_NAME.fullmatch(os.path.basename(p))}


@pytest.fixture(scope="package", autouse=True)
def nothing_outside_and_no_process_left(tmp_path_factory):
    before = _paths()
    processes_before = children(os.getpid())
    tmpdir = tmp_path_factory.mktemp("TMPDIR")
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmpdir)
    tempfile.tempdir = None  # recomputed from TMPDIR on next use
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
        tempfile.tempdir = None
    # a process killed a moment ago may still be exiting; give it a few seconds before calling it left behind
    deadline = time.monotonic() + 10
    while (left := children(os.getpid()) - processes_before) and time.monotonic() < deadline:
        time.sleep(0.2)
    problems = []
    if new := sorted(_paths() - before):
        problems.append(f"{len(new)} paths created outside the build directories: {new[:20]}")
    if leftovers := sorted(listing(tmpdir)):
        problems.append(f"temporary files left behind in TMPDIR: {leftovers[:20]}")
    if left:
        problems.append(f"processes left behind: {sorted(left)}")
    assert not problems, "; ".join(problems)
