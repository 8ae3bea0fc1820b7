"""Trainer configs from subset weights: a GPT-NeoX data snippet and Megatron-LM data-path blends.

Weights are given per subset as shares of training tokens (Proof-Pile-2: arXiv 2, web 4, AlgebraicStack
1). A subset packed as several prefixes (one per language) splits its share in proportion to their tokens,
so the subset's share stays what the recipe says however it is cut. Without weights every prefix is
weighted by its tokens, i.e. the corpus is seen in its natural proportions.
"""

from __future__ import annotations

import json
from pathlib import Path

from proofpile.atomic import write_text
from proofpile.pack.errors import PackError

_SPLITS = {"train": "train", "validation": "valid", "test": "test"}


class WeightsError(PackError):
    pass


def prefix_weights(prefixes: list[dict], weights: dict[str, float] | None) -> dict[str, float]:
    """Normalised sampling weight of each prefix within its split."""
    if weights:
        bad = {k: v for k, v in weights.items() if not (isinstance(v, int | float) and v >= 0)}
        if bad:
            raise WeightsError(f"weights: must be non-negative numbers, got {bad}")
        missing = sorted({p["subset"] for p in prefixes} - set(weights))
        if missing:
            raise WeightsError(f"weights: no weight for subset {', '.join(missing)} (have {', '.join(sorted(weights))})")
    out: dict[str, float] = {}
    for split in {p["split"] for p in prefixes}:
        group = [p for p in prefixes if p["split"] == split]
        subset_tokens: dict[str, int] = {}
        for p in group:
            subset_tokens[p["subset"]] = subset_tokens.get(p["subset"], 0) + p["tokens"]
        raw = {}
        for p in group:
            share = weights[p["subset"]] if weights else subset_tokens[p["subset"]]
            raw[p["prefix"]] = share * p["tokens"] / max(subset_tokens[p["subset"]], 1)
        total = sum(raw.values()) or 1.0
        out.update({k: v / total for k, v in raw.items()})
    return out


def _blend(prefixes: list[dict], w: dict[str, float], out: Path, split: str) -> list[tuple[float, str]]:
    return [(w[p["prefix"]], str(out / p["prefix"])) for p in prefixes if p["split"] == split and w[p["prefix"]] > 0]


def write_configs(out: Path, prefixes: list[dict], weights: dict[str, float] | None) -> dict:
    """Writes gpt-neox-data.yml, megatron-data-path.txt and megatron-args.txt (absolute prefix paths, as the
    trainers resolve them from wherever they run); returns the weights record for tokens.json."""
    w = prefix_weights(prefixes, weights)
    neox: dict = {}
    for split, key in _SPLITS.items():
        blend = _blend(prefixes, w, out, split)
        neox[f"{key}_data_paths"] = [p for _, p in blend]
        neox[f"{key}_data_weights"] = [round(x, 8) for x, _ in blend]
    neox["data_impl"] = "mmap"
    # GPT-NeoX reads YAML; JSON is YAML and survives being pasted into either kind of config
    write_text(out / "gpt-neox-data.yml", json.dumps(neox, indent=2) + "\n")

    def flat(split: str) -> str:
        return " ".join(f"{x:.8g} {p}" for x, p in _blend(prefixes, w, out, split))

    write_text(out / "megatron-data-path.txt", flat("train") + "\n")
    args = [f"--{flag}-data-path {flat(split)}" for split, flag in _SPLITS.items() if flat(split)]
    write_text(out / "megatron-args.txt", " ".join(args) + "\n")
    return {
        "given": dict(sorted(weights.items())) if weights else None,
        "by": "subset weights" if weights else "tokens",
        "prefixes": {k: round(v, 8) for k, v in sorted(w.items())},
    }
