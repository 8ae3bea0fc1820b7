"""Precision, recall and F1 of a math classifier per threshold, ROC-AUC, and a picture of the scores.

The table is what a recipe author needs to choose `threshold_math`/`threshold_nomath`: it shows what each
cut keeps and loses, and the histogram shows whether the two labels are separated or merely shifted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from proofpile.filters.math_classifier import MathClassifier

#: 0.05 .. 0.95, plus OpenWebMath's 0.17 (the threshold for pages with formulas)
THRESHOLDS = tuple(sorted({round(0.05 * i, 2) for i in range(1, 20)} | {0.17}))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Probability that a random math example outscores a random other one (ties count half), from ranks."""
    pos = int(labels.sum())
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # tied scores share their average rank
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    return float((ranks[labels == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def evaluate(
    model: MathClassifier | str | os.PathLike | None,
    examples: Iterable[tuple[str, int]],
    *,
    thresholds: Iterable[float] = THRESHOLDS,
    plot: str | os.PathLike | None = None,
) -> dict:
    """Score (text, label 1=math) pairs with ``model`` (None: the shipped one) and measure, per threshold,
    precision/recall/F1 of "math" (score >= threshold); with ``plot``, also write the score histogram PNG."""
    clf = model if isinstance(model, MathClassifier) else MathClassifier(model)
    scores, labels = [], []
    for text, label in examples:
        scores.append(clf.score(text))
        labels.append(1 if label else 0)
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    rows = []
    for t in thresholds:
        pred = s >= t
        tp, fp = int((pred & (y == 1)).sum()), int((pred & (y == 0)).sum())
        fn, tn = int((~pred & (y == 1)).sum()), int((~pred & (y == 0)).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"threshold": t, "precision": precision, "recall": recall, "f1": f1,
                     "accuracy": (tp + tn) / len(y) if len(y) else 0.0, "tp": tp, "fp": fp, "fn": fn, "tn": tn})  # fmt: skip
    result = {"documents": len(y), "math": int(y.sum()), "other": int(len(y) - y.sum()),
              "roc_auc": roc_auc(s, y), "thresholds": rows}  # fmt: skip
    if plot is not None:
        plot_scores(s, y, Path(plot))
    return result


def plot_scores(scores: np.ndarray, labels: np.ndarray, out: Path) -> None:
    """Histogram of scores per label (log counts, so the few errors stay visible), headless."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, 1, 41)
    ax.hist(scores[labels == 1], bins=bins, alpha=0.6, label=f"math ({int((labels == 1).sum()):,})", color="tab:blue")
    ax.hist(scores[labels == 0], bins=bins, alpha=0.6, label=f"other ({int((labels == 0).sum()):,})", color="tab:orange")
    for t, name in ((0.17, "0.17 (formulas found)"), (0.8, "0.8 (none found)")):
        ax.axvline(t, color="grey", linestyle="--", linewidth=1)
        ax.text(t, 1.02, name, transform=ax.get_xaxis_transform(), ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("math score P(math)")
    ax.set_ylabel("documents")
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def format_report(result: dict) -> str:
    auc = result["roc_auc"]
    counts = f"{result['documents']:,} documents ({result['math']:,} math, {result['other']:,} other)"
    lines = [f"{counts}; ROC-AUC {'n/a' if auc is None else f'{auc:.4f}'}",
             f"{'threshold':>9} {'precision':>9} {'recall':>7} {'f1':>7} {'accuracy':>8}"]  # fmt: skip
    for r in result["thresholds"]:
        lines.append(f"{r['threshold']:>9.2f} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>7.4f} {r['accuracy']:>8.4f}")
    return "\n".join(lines)
