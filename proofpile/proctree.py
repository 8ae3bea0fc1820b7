"""Stopping a build's whole process tree when only its main process is told to stop.

`docker stop`, systemd and `subprocess.terminate()` send SIGTERM to the main process alone. With the default
action it dies at once, and what it started lives on: multiprocessing's manager process, datatrove's forkserver
and pool workers, git. They hold the build's stdout, so `proofpile build ... | tee log` never returns, and
they keep writing into a directory the next run may already be resuming.

The handler stops the tree the way a SIGKILL of the process group does (which the crash/resume tests show
leaves a resumable directory), without assuming the build leads its own process group: in a shell pipeline the
group also holds `tee`. Every descendant is first frozen with SIGSTOP, so none can exit and have its own
children re-parented out of reach, or start new ones; then all of them get SIGKILL. Killed one by one, the
pool's thread in this process saw workers die and started replacements that outlived it and kept writing into
the directory (a resumed build came out two documents short). Nothing is unwound in
the main process: a pool's terminate can block forever on a queue lock a killed worker held. The exit status is
128 + the signal (143 for SIGTERM), as a shell reports for a process the signal ended.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def descendants(pid: int) -> list[int]:
    """Live (non-zombie) descendants of `pid`, parents before children, read from /proc (none without it)."""
    parents: dict[int, list[int]] = {}
    if not os.path.isdir("/proc"):
        return []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(0), []):
            found.append(child)
            todo.append(child)
    return found


def freeze_tree(pid: int | None = None) -> list[int]:
    """SIGSTOP every descendant of `pid` (this process by default) until no new one appears; returns them.
    Frozen, none can exit (so the pool's and the resource tracker's threads here see no death to replace) and
    none can start another process."""
    pid = os.getpid() if pid is None else pid
    frozen: list[int] = []
    while new := [p for p in descendants(pid) if p not in frozen]:
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        frozen += new
    return frozen


def kill(pids: list[int]) -> None:
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _remove_multiprocessing_tempdirs() -> None:
    """The `pymp-*` directories multiprocessing (and its `multiprocess` fork, which datatrove uses) made in
    TMPDIR for this process: they are removed by an exit hook that `os._exit` skips."""
    import shutil

    for name in ("multiprocessing", "multiprocess"):
        util = sys.modules.get(f"{name}.util")
        process = sys.modules.get(f"{name}.process")
        if util is None or process is None:
            continue
        tempdir = process.current_process()._config.get("tempdir")
        if tempdir:
            shutil.rmtree(tempdir, ignore_errors=True)


def _share_multiprocessing_tempdirs() -> None:
    """Make this process's `pymp-*` directory now, so that processes forked from it (multiprocessing's manager
    server) use it instead of making their own, which a killed child could never remove."""
    import importlib

    for name in ("multiprocessing", "multiprocess"):
        try:
            importlib.import_module(f"{name}.util").get_temp_dir()
        except ImportError:
            pass


@contextmanager
def stop_tree_on_signals():
    """Within the block, SIGTERM or SIGHUP to this process kills every process it started, then exits with
    128 + the signal (143 for SIGTERM). Forked children inherit the handler; in them it acts as the default
    action would."""
    owner = os.getpid()

    def stop(signum, frame):
        if os.getpid() != owner:  # a forked child: die as if no handler were installed
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        for s in _STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        frozen = freeze_tree(owner)
        _remove_multiprocessing_tempdirs()
        try:
            sys.stderr.write(f"error: stopped by {signal.Signals(signum).name}; re-run the same command to resume\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        kill(frozen)  # last, right before exiting: nothing here gets the time to notice and replace them
        os._exit(128 + signum)

    _share_multiprocessing_tempdirs()
    previous = {s: signal.signal(s, stop) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
