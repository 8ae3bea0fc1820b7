from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proofpile.dedup.exact import ChunkDedupFilter, ChunkDeduplicator
    from proofpile.dedup.minhash import MinHasher, MinHashParams, MinhashSignatures, s_curve
    from proofpile.dedup.near import NearDedupConfig, near_dedup

#: public name -> the module defining it, imported on first use: the CLI reads the stage's config
#: (`proofpile.dedup.stage`) at start-up, and that must not import datatrove
_EXPORTS = {
    "ChunkDedupFilter": "proofpile.dedup.exact",
    "ChunkDeduplicator": "proofpile.dedup.exact",
    "MinHasher": "proofpile.dedup.minhash",
    "MinHashParams": "proofpile.dedup.minhash",
    "MinhashSignatures": "proofpile.dedup.minhash",
    "s_curve": "proofpile.dedup.minhash",
    "NearDedupConfig": "proofpile.dedup.near",
    "near_dedup": "proofpile.dedup.near",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(_EXPORTS[name]), name)
    return value
