"""The `extract` recipe stage: math-preserving HTML extraction (its step is
`proofpile.extract.html_math.MathHtmlExtractor`, loaded only when the stage is built)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from proofpile.stage_registry import StageConfig, declare_stage


class ExtractStage(StageConfig):
    """Math-preserving HTML extraction (proofpile.extract.html_math)."""

    min_chars: int = Field(0, ge=0)
    timeout: float = Field(30.0, gt=0, description="seconds per page before it is dropped")
    engine: Literal["trafilatura", "resiliparse"] = Field(
        "trafilatura",
        description="main-content selection: trafilatura's, or resiliparse's (about twice as fast, keeps more "
        "navigation; see proofpile.extract.html_math)",
    )


@declare_stage("extract", config=ExtractStage, where="per_document", order=40,
               purpose="math-preserving HTML text extraction (inline `$...$`, display `$$...$$`)",
               signals=("math_found", "n_inline", "n_display"))
def _stage(cfg, plan):
    from proofpile.extract.html_math import MathHtmlExtractor

    return MathHtmlExtractor(min_chars=cfg.min_chars, timeout=cfg.timeout, engine=cfg.engine)
