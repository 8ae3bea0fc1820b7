"""Score histograms per stage with the recipe's threshold, and the what-if of moving that threshold.

A stage's signal is stored on every document it scored (proofpile.decisions): kept documents carry it in their
`meta`, documents the stage dropped carry it in the dropped table's `scores`. Together they are everything the
threshold decided between, so moving the threshold moves exactly the documents whose score lies between the old
and the new value; documents dropped by another stage are left out (they are gone whatever this one decides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from proofpile.inspect.store import BuildStore, parse_meta


@dataclass(frozen=True)
class Axis:
    """One thresholded score: `keep` is ">=" (keep at or above) or "<=" (keep at or below)."""

    name: str
    stage: str
    signal: str
    threshold_key: str
    keep: str
    applies: Callable[[dict, dict], bool] = lambda meta, cfg: True  # (document scores/meta, stage config)
    unit_range: bool = True  # a probability: bins over [0, 1]


AXES = (
    Axis("math_score (math found)", "math_classifier", "math_score", "threshold_math", ">=",
         lambda m, cfg: m.get("math_found") is True),
    Axis("math_score (no math found)", "math_classifier", "math_score", "threshold_nomath", ">=",
         lambda m, cfg: m.get("math_found") is not True),
    Axis("lid_score (languages kept)", "langid", "lid_score", "threshold", ">=",
         lambda m, cfg: m.get("lid_lang") in (cfg.get("keep") or [])),
    Axis("accented_ratio", "quality", "accented_ratio", "max_accented_ratio", "<="),
    Axis("perplexity", "quality", "perplexity", "max_perplexity", "<=", unit_range=False),
)


@dataclass
class Point:
    score: float
    kept: bool  # as built
    id: str
    href: str


def kept_side(score: float, threshold: float, keep: str) -> bool:
    return score >= threshold if keep == ">=" else score <= threshold


def _number(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def points(store: BuildStore, subset: str) -> dict[str, list[Point]]:
    """Per axis name, every document of `subset` the axis's stage decided on. Read once per build."""
    cache = store.__dict__.setdefault("_score_points", {})
    if subset in cache:
        return cache[subset]
    cfgs = store.stage_config(subset)
    out: dict[str, list[Point]] = {a.name: [] for a in AXES}
    for shard in store.shards:
        if shard.subset != subset:
            continue
        pf = store.parquet(shard.path)
        start = 0
        for g in range(pf.num_row_groups):
            t = pf.read_row_group(g, columns=["id", "meta"])
            for r, (doc_id, raw) in enumerate(zip(t.column("id").to_pylist(), t.column("meta").to_pylist())):
                meta = parse_meta(raw)
                for a in AXES:
                    v = _number(meta.get(a.signal))
                    if v is not None and a.applies(meta, cfgs.get(a.stage) or {}):
                        out[a.name].append(Point(v, True, doc_id, f"/doc/{shard.index}/{start + r}"))
            start += len(t)
    dropped = store.dropped(subset)
    if dropped is not None:
        for r, (doc_id, stage, raw) in enumerate(zip(*(dropped.column(c).to_pylist() for c in ("id", "stage", "scores")))):
            scores = parse_meta(raw)
            for a in AXES:
                v = _number(scores.get(a.signal))
                if stage == a.stage and v is not None and a.applies(scores, cfgs.get(a.stage) or {}):
                    out[a.name].append(Point(v, False, doc_id, f"/dropped/{subset}/{r}"))
    cache[subset] = out
    return out


@dataclass
class Histogram:
    axis: Axis
    subset: str
    threshold: float | None
    edges: list[float]
    kept: list[int]
    dropped: list[int]
    n: int


def histogram(store: BuildStore, subset: str, axis: Axis, bins: int = 40) -> Histogram | None:
    pts = points(store, subset)[axis.name]
    if not pts:
        return None
    cfg = store.stage_config(subset).get(axis.stage) or {}
    threshold = _number(cfg.get(axis.threshold_key))
    scores = np.array([p.score for p in pts])
    lo, hi = (0.0, 1.0) if axis.unit_range else (float(scores.min()), float(scores.max()))
    if threshold is not None and not axis.unit_range:
        lo, hi = min(lo, threshold), max(hi, threshold)
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    kept_mask = np.array([p.kept for p in pts])
    k, _ = np.histogram(scores[kept_mask], bins=edges)
    d, _ = np.histogram(scores[~kept_mask], bins=edges)
    return Histogram(axis, subset, threshold, edges.tolist(), k.tolist(), d.tolist(), len(pts))


@dataclass
class WhatIf:
    threshold: float
    new_threshold: float
    to_dropped: int
    to_kept: int
    samples_to_dropped: list[Point]
    samples_to_kept: list[Point]


def what_if(store: BuildStore, subset: str, axis: Axis, new_threshold: float, samples: int = 10) -> WhatIf | None:
    cfg = store.stage_config(subset).get(axis.stage) or {}
    threshold = _number(cfg.get(axis.threshold_key))
    if threshold is None:
        return None
    lost, gained = [], []
    for p in points(store, subset)[axis.name]:
        now = kept_side(p.score, new_threshold, axis.keep)
        if p.kept and not now:
            lost.append(p)
        elif not p.kept and now:
            gained.append(p)
    key = (lambda p: p.score) if axis.keep == ">=" else (lambda p: -p.score)
    lost.sort(key=key)
    gained.sort(key=key, reverse=True)
    return WhatIf(threshold, new_threshold, len(lost), len(gained), lost[:samples], gained[:samples])


def svg(h: Histogram, width: int = 640, height: int = 160) -> str:
    """The histogram as inline SVG (kept stacked on dropped, the threshold as a red line): no script, no CSS."""
    top = max(1, max(k + d for k, d in zip(h.kept, h.dropped)))
    n = len(h.kept)
    bw = width / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="hist" width="{width}" height="{height + 16}" '
             f'viewBox="0 0 {width} {height + 16}" role="img">']
    for i, (k, d) in enumerate(zip(h.kept, h.dropped)):
        x = i * bw
        hk, hd = height * k / top, height * d / top
        if d:
            parts.append(f'<rect class="dropped" x="{x:.1f}" y="{height - hd:.1f}" width="{bw - 1:.1f}" '
                         f'height="{hd:.1f}" fill="#d9822b"><title>dropped {d}</title></rect>')
        if k:
            parts.append(f'<rect class="kept" x="{x:.1f}" y="{height - hd - hk:.1f}" width="{bw - 1:.1f}" '
                         f'height="{hk:.1f}" fill="#3b7dd8"><title>kept {k}</title></rect>')
    lo, hi = h.edges[0], h.edges[-1]
    if h.threshold is not None and hi > lo:
        tx = width * (h.threshold - lo) / (hi - lo)
        parts.append(f'<line class="threshold" x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{height}" stroke="#c00" '
                     f'stroke-width="2"><title>threshold {h.threshold:g}</title></line>')
    parts.append(f'<text x="0" y="{height + 13}" font-size="11">{lo:g}</text>'
                 f'<text x="{width}" y="{height + 13}" font-size="11" text-anchor="end">{hi:g}</text></svg>')
    return "".join(parts)
