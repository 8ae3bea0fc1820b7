"""A generated corpus with planted near-duplicate pairs whose *shingle-set* Jaccard similarity is exact.

Documents are runs of random letter words (each one token, so 5-gram shingles are all distinct). The copy of
a document replaces one run of `L` consecutive words by fresh words: that destroys exactly `L + n - 1`
shingles and creates as many new ones, so Jaccard = (m - d) / (m + d) with m shingles and d = L + n - 1.
Choosing m = d (1 + J) / (1 - J) gives the target exactly; the tests still measure it on the real shingles.
"""

from __future__ import annotations

import random
from fractions import Fraction

LETTERS = "abcdefghijklmnopqrstuvwxyz"


class WordSource:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def word(self) -> str:
        return "".join(self.rng.choice(LETTERS) for _ in range(self.rng.randint(4, 9)))

    def words(self, k: int) -> list[str]:
        return [self.word() for _ in range(k)]


def planted_pair(src: WordSource, target: float, ngram: int = 5, base_d: int = 0) -> tuple[str, str]:
    """Two texts whose `ngram`-shingle sets have Jaccard similarity exactly `target` (a fraction like 0.95)."""
    j = Fraction(target).limit_denominator(100)
    # smallest d >= ngram (>= base_d) making m = d (1 + j) / (1 - j) an integer of a useful size
    d = max(ngram, base_d)
    while (d * (1 + j) / (1 - j)).denominator != 1 or d * (1 + j) / (1 - j) < 150:
        d += 1
    m = int(d * (1 + j) / (1 - j))
    tokens = m + ngram - 1
    run = d - (ngram - 1)
    a = src.words(tokens)
    p = src.rng.randint(ngram - 1, tokens - run - (ngram - 1))
    b = a[:p] + src.words(run) + a[p + run :]
    return " ".join(a), " ".join(b)
