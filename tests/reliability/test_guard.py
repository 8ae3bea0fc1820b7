"""The suite's guard itself: a child that writes into /tmp, $HOME or the repository is caught, whether it is a
command (as `run_cli` starts the CLI) or a library call (as `helpers.build` runs one), and what other processes
on the machine do at the same time is never blamed on it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from . import guard
from .helpers import guarded


@pytest.fixture
def records(tmp_path, monkeypatch) -> Path:
    """A record directory of the test's own, so the deliberate stray writes do not fail the suite's check."""
    root = tmp_path / "records"
    monkeypatch.setenv(guard.ENV_DIR, str(root))
    return root


def _only_record(root: Path) -> guard.Record:
    [record] = guard.records(root)
    return record


def test_a_command_writing_into_tmp_home_and_the_repository_is_caught(records: Path, tmp_path: Path):
    name = f"stray-{uuid.uuid4().hex}"
    home = Path(os.path.expanduser("~"))
    repo = Path(__file__).resolve().parents[2]
    snippet = textwrap.dedent(f"""
        from pathlib import Path
        for d in ("/tmp", {str(home)!r}, {str(repo)!r}):
            Path(d, {name!r}).write_text("x")
        Path({str(tmp_path)!r}, "output").write_text("fine")
    """)
    subprocess.run(guarded(sys.executable, "-c", snippet), check=True)
    record = _only_record(records)
    assert (tmp_path / "output").read_text() == "fine"  # pytest's area is real: builds write their outputs there
    if record.mode == "env":  # no mount namespace here: only HOME (and TMPDIR) are private
        assert f"{home}/{name}" in record.stray_writes()
        for d in ("/tmp", repo):
            Path(d, name).unlink()
        pytest.skip("no mount namespace: writes to hard-coded /tmp or repository paths are not seen")
    assert record.stray_writes() == sorted(f"{d}/{name}" for d in ("/tmp", home, repo))
    assert not any(Path(d, name).exists() for d in ("/tmp", home, repo))  # and the real directories never saw them


def test_a_library_call_writing_into_tmp_is_caught(records: Path):
    name = f"/tmp/stray-{uuid.uuid4().hex}"

    def misbehave() -> int:
        Path(name).write_text("x")
        return 42

    assert guard.run_in_guard(misbehave) == 42
    record = _only_record(records)
    if record.mode == "env":
        Path(name).unlink()
        pytest.skip("no mount namespace: writes to hard-coded /tmp paths are not seen")
    assert record.stray_writes() == [name]
    assert not Path(name).exists()


def test_a_deleted_file_is_caught_and_survives(records: Path):
    victim = Path(f"/tmp/victim-{uuid.uuid4().hex}")
    victim.write_text("keep me")
    try:
        subprocess.run(guarded(sys.executable, "-c", f"import os; os.remove({str(victim)!r})"), check=True)
        record = _only_record(records)
        if record.mode == "env":
            pytest.skip("no mount namespace: deletions in /tmp are not seen")
        assert record.stray_writes() == [f"{victim} (deleted)"]
        assert victim.read_text() == "keep me"
    finally:
        victim.unlink(missing_ok=True)


def test_other_processes_writing_meanwhile_are_not_blamed(records: Path):
    """This test's own process plays the other program: it writes into /tmp and $HOME while the child runs."""
    child = subprocess.Popen(guarded(sys.executable, "-c", "import sys; sys.stdin.read()"), stdin=subprocess.PIPE)
    others = [Path("/tmp", f"other-{uuid.uuid4().hex}"), Path(os.path.expanduser("~"), f".other-{uuid.uuid4().hex}")]
    try:
        for p in others:
            p.write_text("not the build's")
        child.communicate(b"", timeout=30)
    finally:
        for p in others:
            p.unlink(missing_ok=True)
    assert child.returncode == 0
    assert _only_record(records).stray_writes() == []


def test_without_a_mount_namespace_home_is_private_and_checked(records: Path, monkeypatch):
    """The fallback where no namespace can be made: HOME is an empty directory of the child's own."""
    monkeypatch.setenv(guard.ENV_MODE, "env")
    name = f".stray-{uuid.uuid4().hex}"
    home = os.path.expanduser("~")
    subprocess.run(guarded(sys.executable, "-c", f"import os; open(os.path.expanduser('~/{name}'), 'w').close()"),
                   check=True)
    record = _only_record(records)
    assert record.mode == "env"
    assert record.stray_writes() == [f"{home}/{name}"]
    assert not Path(home, name).exists()


def test_an_exception_in_the_library_call_reaches_the_caller(records: Path):
    def fail():
        raise ValueError("bad recipe")

    with pytest.raises(ValueError, match="bad recipe"):
        guard.run_in_guard(fail)
