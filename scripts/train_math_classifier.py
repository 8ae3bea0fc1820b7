"""Train the math classifier shipped in the package (proofpile/models/math_classifier.ftz).

    python scripts/train_math_classifier.py [--data ../shared/data/classifier/train.jsonl.gz] [--out ...]

Trains on the train split of the labelled corpus (everything but the held-out 10%, chosen by a hash of the
text), evaluates on the held-out split and prints what proofpile/models/README.md records: the data's sha256,
the parameters, the model's sha256 and size, the time taken and the held-out table. One thread and a fixed
seed, so running it again gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from proofpile.classifier import (
    evaluate,
    format_report,
    read_examples,
    train_classifier,
)
from proofpile.classifier.train import DEFAULTS
from proofpile.filters.math_classifier import default_model_path
from proofpile.shards import sha256_file

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "classifier" / "train.jsonl.gz")
    ap.add_argument("--out", type=Path, default=default_model_path())
    args = ap.parse_args()
    if not args.data.is_file():
        print(f"error: training data not found: {args.data}", file=sys.stderr)
        return 2

    def warn(msg: str) -> None:
        print(f"warning: {msg}", file=sys.stderr)

    start = time.perf_counter()
    train = list(read_examples(args.data, split="train", warn=warn))
    train_classifier(train, args.out, **DEFAULTS)
    elapsed = time.perf_counter() - start
    held_out = list(read_examples(args.data, split="held-out", warn=warn))
    result = evaluate(str(args.out), held_out)

    print(f"data     {args.data.name} sha256 {sha256_file(args.data)}")
    print(f"train    {len(train):,} documents ({sum(y for _, y in train):,} math); parameters {DEFAULTS}, thread=1")
    print(f"model    {args.out} sha256 {sha256_file(args.out)} ({args.out.stat().st_size:,} bytes)")
    print(f"time     {elapsed:.0f} s to read and train")
    print(f"held-out {format_report(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
