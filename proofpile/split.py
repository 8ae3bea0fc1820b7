"""Deterministic train/validation/test assignment from a seeded hash of the document id.

Hashing the id (not the position) keeps a document in the same split when the corpus grows or is rebuilt
with other worker counts, which is what makes held-out sets stay held out.
"""

from __future__ import annotations

import xxhash
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

SPLITS = ("train", "validation", "test")
_SCALE = float(2**64)


def assign_split(doc_id: str, seed: int = 0, validation: float = 0.005, test: float = 0.005) -> str:
    u = xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed=seed) / _SCALE
    if u < validation:
        return "validation"
    if u < validation + test:
        return "test"
    return "train"


class SplitTagger(PipelineStep):
    """Writes `metadata["split"]`; the shard writer routes on it."""

    type = "🏷 - TAGGER"
    name = "split"

    def __init__(self, seed: int = 0, validation: float = 0.005, test: float = 0.005):
        super().__init__()
        self.seed, self.validation, self.test = seed, validation, test

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            split = assign_split(doc.id, self.seed, self.validation, self.test)
            doc.metadata["split"] = split
            self.stat_update(split)
            yield doc
