from proofpile.dedup.exact import ChunkDedupFilter, ChunkDeduplicator

__all__ = ["ChunkDedupFilter", "ChunkDeduplicator"]
