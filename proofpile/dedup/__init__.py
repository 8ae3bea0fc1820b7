from __future__ import annotations

from typing import TYPE_CHECKING

from proofpile.lazy import lazy_getattr

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

__getattr__ = lazy_getattr(__name__, _EXPORTS)
