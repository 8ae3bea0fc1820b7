"""Finalize without the decontamination scan: what is left in the build's one ordered task.

    python bench/finalize.py [--mb 200]

Runs the finalize steps a build uses (`ShardReader` -> `ChunkDedupFilter` -> `SplitTagger` -> `ShardWriter`,
default recipe settings: 2,048-character chunks, zstd level 3 Parquet) in this process over the generated
~4 KB math-flavoured documents of `bench/dedup.py`, and prints MB of text read per CPU second (`time.process_time`,
so other load on a shared machine does not lower it) and per wall second. Finalize is Parquet read +
chunk hashing + Parquet write; the capacity plan (`proofpile/capacity.py`) uses the CPU figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup import make_corpus  # noqa: E402

from proofpile.dedup.exact import ChunkDedupFilter  # noqa: E402
from proofpile.shard_io import ShardReader, ShardWriter  # noqa: E402
from proofpile.split import SplitTagger  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files, _ = make_corpus(Path(tmp), args.mb)
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        read_mb = sum(pc.sum(pc.binary_length(pq.read_table(f, columns=["text"]).column("text"))).as_py()
                      for f in files) / 1e6
        kept = 0
        steps = [ShardReader([str(f) for f in files]), ChunkDedupFilter(), SplitTagger(), ShardWriter(str(Path(tmp) / "out"))]
        cpu, wall = time.process_time(), time.perf_counter()
        pipe = None
        for step in steps:
            pipe = step.run(pipe, 0, 1)
        for _ in pipe:
            kept += 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        written = sum(p.stat().st_size for p in (Path(tmp) / "out").rglob("*.parquet")) / 1e6
    print("finalize (no decontamination): read, exact dedup, split, write Parquet")
    print(f"{'MB read':>8s} {'documents':>10s} {'MB written':>10s} {'CPU s':>7s} {'wall s':>7s} "
          f"{'MB/s/CPU s':>10s} {'MB/s wall':>9s}")
    print(f"{read_mb:>8.1f} {kept:>10,} {written:>10.1f} {cpu:>7.1f} {wall:>7.1f} "
          f"{read_mb / max(cpu, 1e-9):>10.1f} {read_mb / max(wall, 1e-9):>9.1f}")


if __name__ == "__main__":
    main()
