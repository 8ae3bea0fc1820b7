"""The card's figures, drawn from `compute_stats` output only (so they show exactly the card's numbers).

Matplotlib's object API with the Agg canvas is used instead of pyplot: no display, no backend selection from
the environment (MPLBACKEND, DISPLAY), no global figure state. Sizes and dpi are fixed and the PNG's
"Software" text chunk is dropped, so the same stats give the same bytes.
"""

from __future__ import annotations

import re
from pathlib import Path
from proofpile.atomic import atomic_path

#: file names under `<dir>/assets/`, in the order the card shows them
FIGURES = ("funnel.png", "tokens.png", "lengths.png")
_DPI = 100
_KEPT, _DROPPED = "#3b75af", "#e0a458"


def write_plots(stats: dict, out_dir: str | Path) -> list[Path]:
    """Write the funnel, size and length figures; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in zip(FIGURES, (_funnel, _sizes, _lengths)):
        fig = draw(stats)
        path = out_dir / name
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=_DPI, metadata={"Software": None})
        paths.append(path)
    return paths


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def step_label(step: str) -> str:
    """datatrove names steps like "🔻 - FILTER: code rules"; fonts lack the emoji, and the kind is noise here."""
    return re.sub(r"^.*?-\s*[A-Z ]+:\s*", "", step).strip() or step


def _funnel(stats: dict):
    rows = [r for r in stats["funnel"] if r["out"] is not None]
    labels = [f"{r['stage']}: {step_label(r['step'])}" for r in rows]
    kept = [r["out"] for r in rows]
    dropped = [sum(r["dropped"].values()) for r in rows]
    fig = _figure(10, max(2.5, 0.32 * len(rows) + 1.2))
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    ax.barh(y, kept, color=_KEPT, label="kept")
    ax.barh(y, dropped, left=kept, color=_DROPPED, label="dropped")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("documents")
    ax.set_title("Filter funnel: documents out of each step, and dropped by it")
    fig.legend(loc="outside upper right", ncols=2, fontsize=8)
    for yi, k in zip(y, kept):
        ax.annotate(f"{k:,}", (k, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
    return fig


def _sizes(stats: dict):
    """Tokens per subset and language when the build is packed, else text bytes (documents beside each bar)."""
    key = "tokens" if stats["totals"]["tokens"] is not None else "text_bytes"
    bars = []
    for subset, s in stats["subsets"].items():
        langs = s["langs"]
        if len(langs) > 1:
            bars += [(f"{subset} / {lang}", v[key], v["documents"]) for lang, v in langs.items()]
        else:
            bars.append((subset, s[key], s["documents"]))
    fig = _figure(10, max(2.5, 0.3 * len(bars) + 1.2))
    ax = fig.add_subplot()
    y = list(range(len(bars)))[::-1]
    ax.barh(y, [b[1] for b in bars], color=_KEPT)
    ax.set_yticks(y, [b[0] for b in bars], fontsize=8)
    what = f"tokens ({stats['tokenizer']['name']})" if key == "tokens" else "text bytes (UTF-8)"
    ax.set_xlabel(what)
    ax.set_title(f"{what.capitalize()} per subset and language, all splits")
    for yi, b in zip(y, bars):
        ax.annotate(f"{b[1]:,} ({b[2]:,} doc{'s' if b[2] != 1 else ''})", (b[1], yi), xytext=(3, 0), textcoords="offset points", va="center",
                    fontsize=7)
    ax.margins(x=0.25)
    return fig


def _lengths(stats: dict):
    hist = stats["length_histogram"]["subsets"]
    used = [k for k in range(len(next(iter(hist.values()), []))) if any(h[k] for h in hist.values())]
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    if used:
        lo, hi = used[0], used[-1] + 1
        edges = [2 ** k for k in range(lo, hi + 1)]
        for subset, h in hist.items():
            ax.stairs(h[lo:hi], edges, label=subset, linewidth=1.5)
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=8)
    ax.set_xlabel("document length, UTF-8 bytes (power-of-two buckets)")
    ax.set_ylabel("documents")
    ax.set_title("Document length distribution")
    return fig
