"""How much of one benchmark field a document holds, and what that makes the document.

One shared 13-gram is not evidence of a copy: formula boilerplate (`\\begin{align*} \\sum_{i=1}^`), an
Asymptote preamble or a competition template ("where m and n are relatively prime positive integers") is
shared by thousands of unrelated documents. A copy holds a *substantial part of one field*, so the decision
is made per (document, benchmark field) from two measures:

- coverage: the share of the field's eligible n-grams found in the document;
- run: the longest stretch of consecutive field n-grams found, in units, over the field's length in units.

Classes, strongest first (defaults chosen on bench/decontaminate_quality.py's dev set):

- `copy`: coverage >= 0.8, or a field shorter than n units found whole  -> removed;
- `partial`: coverage >= 0.25 or run >= 0.3 (at least 3 n-grams; for the run, 3 consecutive ones)
                                                                         -> removed;
- `template`: the same with numbers and capitalised words masked
  (masked coverage >= 0.5 or masked run >= 0.3, or a short field whole) -> reported;
- `incidental`: any weaker shared n-gram                                 -> reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES = ("copy", "partial", "template", "incidental")
REMOVED = frozenset({"copy", "partial"})


@dataclass(frozen=True)
class Thresholds:
    copy: float = 0.8
    partial_coverage: float = 0.25
    partial_run: float = 0.3
    #: n-grams a `partial` needs at least, and consecutive ones for the run: one or two shared n-grams can be
    #: a stock phrase ("where m and n are relatively prime positive integers. Find m+n") in a short field
    partial_min_ngrams: int = 3
    template_coverage: float = 0.5
    template_run: float = 0.3


@dataclass
class FieldEvidence:
    coverage: float = 0.0
    run: float = 0.0
    streak: int = 0  # consecutive field n-grams found, at most
    whole: bool = False
    masked_coverage: float = 0.0
    masked_run: float = 0.0
    masked_whole: bool = False
    ngrams: int = 0  # distinct field n-grams found (exact)

    def classify(self, t: Thresholds) -> str | None:
        if self.whole or self.coverage >= t.copy:
            return "copy"
        if self.ngrams >= t.partial_min_ngrams and (
                self.coverage >= t.partial_coverage or (self.run >= t.partial_run and self.streak >= t.partial_min_ngrams)):
            return "partial"
        if self.masked_whole or self.masked_coverage >= t.template_coverage or self.masked_run >= t.template_run:
            return "template"
        if self.ngrams:
            return "incidental"
        return None


def rank(cls: str | None) -> int:
    """Higher is stronger; None (no evidence) lowest."""
    return len(CLASSES) - CLASSES.index(cls) if cls else 0


def longest_run(positions: np.ndarray) -> int:
    """Longest stretch of consecutive integers in sorted, distinct `positions`."""
    if len(positions) == 0:
        return 0
    breaks = np.flatnonzero(np.diff(positions) != 1)
    edges = np.concatenate([[-1], breaks, [len(positions) - 1]])
    return int(np.diff(edges).max())
