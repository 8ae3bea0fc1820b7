"""A small ARPA bigram model written by the tests themselves, so the KenLM tests need no downloaded model.

KenLM's own estimator (`lmplz`) is not part of the `kenlm` Python package, so the tests estimate the model here:
interpolated absolute discounting (D = 0.75) over add-one unigrams, stored in ARPA's backoff form so that
KenLM computes exactly the interpolated probability — p(w|u) for a seen pair, else bo(u) * p(w). It is a
stand-in for a real web-text model, good enough to tell prose from shuffled words or another language.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

DISCOUNT = 0.75


def _log10(p: float) -> str:
    return f"{math.log10(p):.6f}"


def write_bigram_arpa(lines: Iterable[str], path: Path) -> Path:
    """Estimate a bigram model from whitespace-tokenised `lines` (each line a sentence, as KenLM scores them)."""
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for line in lines:
        words = line.split()
        if not words:
            continue
        unigrams.update(words)
        unigrams["</s>"] += 1
        seq = ["<s>", *words, "</s>"]
        bigrams.update(zip(seq, seq[1:]))
    vocab = sorted(unigrams) + ["<unk>"]
    total = sum(unigrams.values())
    p1 = {w: (unigrams[w] + 1) / (total + len(vocab)) for w in vocab}

    followers: dict[str, list[tuple[str, int]]] = {}
    for (u, w), c in bigrams.items():
        followers.setdefault(u, []).append((w, c))
    p2: dict[tuple[str, str], float] = {}
    backoff: dict[str, float] = {}
    for u, seen in followers.items():
        cu = sum(c for _, c in seen)
        lam = DISCOUNT * len(seen) / cu
        for w, c in seen:
            p2[(u, w)] = (c - DISCOUNT) / cu + lam * p1[w]
        left = 1 - sum(p2[(u, w)] for w, _ in seen)
        base = 1 - sum(p1[w] for w, _ in seen if w in p1)
        backoff[u] = left / base

    out = ["", "\\data\\", f"ngram 1={len(vocab) + 1}", f"ngram 2={len(p2)}", "", "\\1-grams:"]
    out.append(f"-99\t<s>\t{_log10(backoff.get('<s>', 1.0))}")
    for w in vocab:
        bo = f"\t{_log10(backoff[w])}" if w in backoff else ""
        out.append(f"{_log10(p1[w])}\t{w}{bo}")
    out += ["", "\\2-grams:"]
    out += [f"{_log10(p)}\t{u} {w}" for (u, w), p in sorted(p2.items())]
    out += ["", "\\end\\", ""]
    path.write_text("\n".join(out), encoding="utf-8")
    return path
