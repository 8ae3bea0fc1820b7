"""UTF-8 bytes per Llama 2 token, per subset, on the real text in ../shared/data: what `proofpile plan` uses
to turn a token target into bytes of text.

    python bench/bytes_per_token.py [--small]

The pools are bench/pack.py's (arXiv LaTeX from the shared paper archives; web math from the labelled
classifier data and MATH problems; code from the AlgebraicStack sample repositories and installed Python
packages). Documents are encoded whole with the sentencepiece model, without <s>/</s>.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pack import SHARED, _pools  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="the first 200 documents of each pool (a smoke run)")
    args = ap.parse_args()
    model = SHARED / "tokenizer" / "llama2-tokenizer.model"
    if not model.is_file():
        print(f"skipped: the Llama 2 tokenizer is not at {model} (set PROOFPILE_TEST_DATA)")
        return
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model))
    print(f"{'subset':18s} {'documents':>10s} {'MB':>8s} {'tokens':>12s} {'bytes/token':>12s}")
    for subset, pool in _pools().items():
        texts = [t for _, t in pool][: 200 if args.small else None]
        nbytes = sum(len(t.encode("utf-8")) for t in texts)
        tokens = sum(len(ids) for ids in sp.encode(texts))
        print(f"{subset:18s} {len(texts):>10,} {nbytes / 1e6:>8.2f} {tokens:>12,} {nbytes / tokens:>12.2f}")


if __name__ == "__main__":
    main()
