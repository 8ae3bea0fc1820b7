"""One real multi-subset build for the publishing tests, made once per test process.

`proofpile build proof-pile-2 --sample` builds arXiv, OpenWebMath and AlgebraicStack from the bundled sample
inputs in ~10 s, with near-dedup, decontamination (against the shipped stand-in benchmarks, with planted hits)
and a pack; the split fractions are raised so that every split has documents.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

_BUILT: dict[str, Path] = {}


def proofpile(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "proofpile", *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=300, check=False)
    if check and r.returncode != 0:
        raise AssertionError(f"proofpile {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def carded_build(root: Path, lid_model: Path, shared_data: Path) -> Path:
    """The build directory (carded: README.md and assets/ written by `proofpile card`)."""
    if "dir" not in _BUILT:
        out = root / "pp2"
        if out.exists():
            shutil.rmtree(out)
        tokenizer = shared_data / "tokenizer" / "llama2-tokenizer.model"
        proofpile("build", "proof-pile-2", "--sample", "--out", out, "--no-progress",
                  "--set", f"langid.model={lid_model}", "--set", f"pack.tokenizer={tokenizer}",
                  "--set", "split.validation=0.2", "--set", "split.test=0.2")
        proofpile("card", out, "--repo", "proofpile-test/pp2")
        _BUILT["dir"] = out
    return _BUILT["dir"]
