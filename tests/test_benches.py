"""Every bench runs at its smallest size: a bench that cannot run is a check that cannot fail.

Each runs in its own interpreter, as a user would run it, and must exit 0 and print its table's header line.
The numbers are not checked here (speed targets live in the benches, not in timed tests).
bench/pack.py is covered by its own test.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# bench script, its smallest-size arguments, a word of its table's header line
BENCHES = [
    ("algebraic_stack.py", ["--mb", "0.2"], "files/s/core"),
    ("arxiv.py", ["--mb", "0.2"], "papers/s"),
    ("bytes_per_token.py", ["--small"], "bytes/token"),
    ("decontaminate.py", ["--mb", "0.2", "--peer-mb", "0.1", "--plants", "5"], "index build s"),
    ("decontaminate_quality.py", ["--small"], "scan MB/s/core"),
    ("dedup.py", ["--mb", "1", "--workers", "1", "--sample-mb", "0.2", "--spacy-sample-mb", "0.1"], "signature MB/s/core"),
    ("finalize.py", ["--mb", "1"], "MB/s/CPU s"),
    ("hostile_cost.py", ["--quick"], "peak RSS MB"),
    ("inspect_search.py", ["--docs", "2000", "--repeat", "1"], "pandas contains s"),
    ("open_web_math.py", ["--mb", "0.2"], "pages/s"),
    ("open_web_math_chain.py", ["--mb", "0.2"], "pages/s"),
    ("renderers.py", ["--display", "2", "--inline", "2"], "glyph soup"),
    ("warc_read.py", ["--mb", "1"], "MB/s/core"),
    ("web_prefilter.py", ["--mb", "0.2", "--math-items", "50"], "new: to extraction"),
]


@pytest.mark.parametrize("script,args,header", BENCHES, ids=[b[0] for b in BENCHES])
def test_bench_runs_at_its_smallest_size(shared_data, script, args, header):
    if script == "renderers.py":
        from tests.renderer_pages import renderers_missing

        if why := renderers_missing():
            pytest.skip(why)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert any(header in line for line in proc.stdout.splitlines()), f"{script} printed no table:\n{proc.stdout[-2000:]}"
