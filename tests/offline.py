"""Run the CLI with the network cut off, so "offline" is checked rather than assumed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROOFPILE = [sys.executable, "-m", "proofpile.cli"]

# Loaded into every build process through PYTHONPATH: a connection to anything but the loopback interface
# raises and is written to a log, so "offline" is checked, not assumed.
_NO_NETWORK = '''
import os, socket
_connect = socket.socket.connect
def _guard(self, address, *a, **kw):
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
        with open(os.environ["PROOFPILE_TEST_NET_LOG"], "a") as f:
            f.write(f"{host}\\n")
        raise OSError(f"network disabled in this test: {address}")
    return _connect(self, address, *a, **kw)
socket.socket.connect = _guard
'''


def run_offline(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    guard = tmp / "no-network"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(_NO_NETWORK)
    log = tmp / "network-attempts.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(guard), os.environ.get("PYTHONPATH")])),
           "PROOFPILE_TEST_NET_LOG": str(log), "HF_HUB_OFFLINE": "1"}
    env.pop("PROOFPILE_LID_MODEL", None)
    proc = subprocess.run([*PROOFPILE, *args], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    assert not log.exists(), f"the build tried the network: {log.read_text()}"
    return proc
