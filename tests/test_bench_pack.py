"""bench/pack.py at its smallest size: a bench that cannot run is a check that cannot fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_pack_runs_and_prints_peak_memory(shared_data, tmp_path):
    if not (shared_data / "tokenizer" / "llama2-tokenizer.model").is_file():
        import pytest

        pytest.skip("Llama 2 tokenizer missing from shared data")
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "pack.py"), "--mb", "2", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**__import__("os").environ, "PROOFPILE_TEST_DATA": str(shared_data)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "pack peak MB" in line)
    row = lines[header + 1].split()
    assert float(row[0]) >= 2.0 and float(row[2]) > 0 and float(row[4]) > 0, lines  # text MB, pack MB, peer MB
    assert (tmp_path / "pack-2" / "tokens.json").is_file() and (tmp_path / "neox-2.idx").is_file()
