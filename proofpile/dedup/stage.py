"""The `near_dedup` recipe stage. Its config is also the one source of the MinHash defaults
(`proofpile.dedup.minhash`, `proofpile.dedup.near`, `proofpile near-dedup`), so this module imports nothing of
the package it describes."""

from __future__ import annotations

from pydantic import Field

from proofpile.stage_registry import StageConfig, declare_stage


class NearDedupStage(StageConfig):
    """MinHash LSH near-duplicate removal on the finalize input (proofpile.dedup.near); the default 12 bands
    x 10 rows make a pair a candidate with probability 1-(1-s^10)^12: 50% at Jaccard 0.75."""

    ngram: int = Field(5, ge=1, description="words per shingle")
    bands: int = Field(12, ge=1)
    rows: int = Field(10, ge=1)
    seed: int = 1
    priority: list[str] = Field(default_factory=lambda: ["arxiv", "open-web-math", "algebraic-stack"],
                                description="subsets in survivor order; then the lowest id survives")


@declare_stage("near_dedup", config=NearDedupStage, where="finalize", order=80,
               purpose="MinHash LSH near-duplicate removal across the whole corpus")
def _stage(cfg, plan):
    # no step of its own: the build runs its parallel stages first and finalize's reader skips what they found
    # (proofpile.build, proofpile.dedup.near)
    return None
