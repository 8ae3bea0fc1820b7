"""The `decontaminate` recipe stage (its step is `proofpile.decontam.ngrams.DecontaminationFilter`, loaded only
when the stage is built). Its config also gives `proofpile decontaminate` its defaults."""

from __future__ import annotations

from pydantic import Field

from proofpile.stage_registry import StageConfig, declare_stage


class DecontaminateStage(StageConfig):
    benchmarks: list[str] = Field(default_factory=lambda: ["math", "gsm8k"])
    files: dict[str, str] = Field(default_factory=dict, description="benchmark -> local JSONL/Parquet; else the Hub")
    ngram: int = Field(13, ge=2, description="word units per n-gram (proofpile.decontam.units)")
    report_only: bool = False
    max_items_per_ngram: int = Field(3, ge=1)
    min_item_tokens: int = Field(8, ge=1, description="a field shorter than ngram units needs this many tokens")


@declare_stage("decontaminate", config=DecontaminateStage, where="finalize", order=100,
               purpose="benchmark decontamination by n-gram overlap with test items")
def _stage(cfg, plan):
    from proofpile.decontam.ngrams import DecontaminationFilter
    from proofpile.recipes import resolve_relative

    files = {name: str(resolve_relative(plan.recipe_path, path)) for name, path in cfg.files.items()}
    options = cfg.model_dump(exclude={"enabled", "files"})
    return DecontaminationFilter(files=files, report_dir=str(plan.out), **options)
