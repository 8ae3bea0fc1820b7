"""SIGTERM (or SIGHUP) to the main process only, as `docker stop`, systemd and `subprocess.terminate()` send it:
every process of the build ends within seconds, its stdout pipe reaches EOF (so `proofpile build | tee` returns),
and a re-run finishes a build byte-identical to one never interrupted.

The build runs with 2 workers, so datatrove's pool, its forkserver and multiprocessing's manager all exist when
the signal comes; stop points are found by polling for the files a stage writes, as in `test_crash_resume`."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import PROOFPILE, WORK, run_cli
from .test_crash_resume import _files, _same_build


def _session(sid: int) -> list[int]:
    """Live processes of session `sid` (the build was started as its leader, so all it started are in it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if fields[0] != "Z" and int(fields[3]) == sid:
                found.append(int(entry))
    return found


def _stop_when(args: list[str], ready: Callable[[], bool], tmp: Path, signum: int) -> tuple[int, str]:
    """Start the build with stdout on a pipe; send `signum` to its main process alone once `ready()` holds.
    Returns (exit status, stderr) after requiring that the pipe reached EOF and no process of the build is left."""
    tmpdir = tmp / "stopped-build-tmp"
    tmpdir.mkdir(exist_ok=True)
    proc = subprocess.Popen([*PROOFPILE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env={**os.environ, "TMPDIR": str(tmpdir)})
    try:
        deadline = time.monotonic() + 180
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"the build ended (exit {proc.returncode}) before the stop point\n"
                            f"{proc.stderr.read().decode(errors='replace')[-2000:]}")
            assert time.monotonic() < deadline, "the stop point was never reached"
            time.sleep(0.005)
        assert len(_session(proc.pid)) > 1, "no worker process to leave behind: the case is not exercised"
        os.kill(proc.pid, signum)
        deadline = time.monotonic() + 10
        while select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            if not os.read(proc.stdout.fileno(), 65536):
                break  # EOF: nobody holds the pipe any more
        else:
            pytest.fail("stdout never reached EOF: a process of the build still holds it")
        while (left := _session(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"processes of the build still alive after the signal: {left}"
        status = proc.wait(timeout=5)
        return status, proc.stderr.read().decode(errors="replace")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # only if the test failed: never leave a build running
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory, lid_model: Path):
    """The algebraic-stack sample with 2 workers, built once uninterrupted at `root/out` and moved aside."""
    root = tmp_path_factory.mktemp("sigterm")
    args = ["build", "algebraic-stack", "--sample", "--out", str(root / "out"), "--set", f"langid.model={lid_model}",
            "--workers", "2", "--no-progress"]
    run_cli(*args)
    shutil.move(root / "out", root / "reference")
    return root, args


def _crawl_started(out: Path) -> Callable[[], bool]:
    return lambda: bool(_files(out / WORK / "github", "r*.parquet*"))


def _crawl_half_done(out: Path) -> Callable[[], bool]:
    return lambda: bool(_files(out / WORK / "logs" / "github" / "completions"))


def _stack_started(out: Path) -> Callable[[], bool]:
    return lambda: bool(_files(out / WORK / "logs" / "stack"))


@pytest.mark.parametrize(("point", "signum", "workers"), [
    (_crawl_started, signal.SIGTERM, "2"), (_stack_started, signal.SIGTERM, "2"), (_crawl_half_done, signal.SIGHUP, "2"),
    (_crawl_started, signal.SIGTERM, "1"),  # tasks in the main process itself, beside the manager and git
])
def test_signal_to_the_main_process_stops_the_whole_build(sample, point, signum, workers):
    root, args = sample
    out = root / "out"
    shutil.rmtree(out, ignore_errors=True)
    stopped = [*args[:-3], "--workers", workers, "--no-progress"]
    assert args[-3:] == ["--workers", "2", "--no-progress"]
    status, stderr = _stop_when(stopped, point(out), root, signum)
    assert status == 128 + signum, stderr[-2000:]
    assert "Traceback" not in stderr and f"stopped by {signal.Signals(signum).name}" in stderr
    assert not (out / "manifest.json").exists()
    assert not os.listdir(root / "stopped-build-tmp"), "the stopped build left temporary files behind"
    run_cli(*args)
    _same_build(root / "reference", out)
