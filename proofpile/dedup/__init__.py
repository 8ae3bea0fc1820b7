from proofpile.dedup.exact import ChunkDedupFilter, ChunkDeduplicator
from proofpile.dedup.minhash import MinHasher, MinHashParams, MinhashSignatures, s_curve
from proofpile.dedup.near import NearDedupConfig, near_dedup

__all__ = [
           "ChunkDedupFilter",
           "ChunkDeduplicator",
           "MinHashParams",
           "MinHasher",
           "MinhashSignatures",
           "NearDedupConfig",
           "near_dedup",
           "s_curve",
]
