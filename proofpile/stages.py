"""From the recipe's stage declarations to the datatrove steps of a build: the crawl (per-document), decide,
finalize and after step lists.

Each built-in stage is declared next to its step (its config model, `@declare_stage(...)` and builder: see
`proofpile.stage_registry.DECLARING_MODULES` for where); what is left here is what all of them share.

- `per_document` stages run inside every crawl task, on one document at a time.
- `finalize` stages need the whole corpus in a fixed order (dedup, decontamination) and run in the single
  finalize task, before the split.
- `after` stages read the finished shards (pack, card); changing them redoes only themselves.

The config models are re-exported here: `from proofpile.stages import PackStage` worked before they moved.
"""

from __future__ import annotations

from proofpile.decontam.stage import DecontaminateStage
from proofpile.dedup.exact import ExactDedupStage
from proofpile.dedup.stage import NearDedupStage
from proofpile.extract.notebook import NotebookStage
from proofpile.extract.stage import ExtractStage
from proofpile.filters.code_rules import CodeRulesStage
from proofpile.filters.langid import LID_176_URL, LangIdStage
from proofpile.filters.math_classifier import MathClassifierStage
from proofpile.filters.math_prefilter import PrefilterStage
from proofpile.filters.quality import QualityStage
from proofpile.pack.stage import PackStage
from proofpile.publish.card import CardStage
from proofpile.stage_registry import declared, recipe_path

__all__ = [
    "CardStage", "CodeRulesStage", "DecontaminateStage", "ExactDedupStage", "ExtractStage", "LID_176_URL",
    "LangIdStage", "MathClassifierStage", "NearDedupStage", "NotebookStage", "PackStage", "PrefilterStage",
    "QualityStage", "decide_steps", "final_steps", "recipe_path", "run_after", "task_steps",
]


def _named(stage: str, steps: list) -> list:
    """Tag each step with the stage that made it (the dropped-documents table names the recipe's stage)."""
    for step in steps:
        if step is not None:
            step.stage_name = stage
    return steps


def _build(where: str, plan) -> list:
    from proofpile.custom_steps import build_custom

    steps: list = []
    for spec in declared():
        cfg = getattr(plan.recipe.stages, spec.name)
        if spec.where == where and cfg.enabled:
            made = spec.func(cfg, plan)
            steps.extend(_named(spec.name, made if isinstance(made, list) else [] if made is None else [made]))
    return steps + build_custom(plan.recipe.stages.custom, where, plan)  # the recipe's own steps come last


def decide_steps(plan, source: str) -> list:
    """The decision steps of one source's per-document stages, in run order: each applies its stage's
    threshold fields to the score the crawl stored (see `declare_stage(decisions=...)`)."""
    found = next((s for s in plan.sources if s.name == source), None)
    part = found.part if found is not None and found.part is not None else plan
    steps = [_named(spec.name, [spec.decide(getattr(part.recipe.stages, spec.name), part)])[0] for spec in declared()
             if spec.decide is not None and getattr(part.recipe.stages, spec.name).enabled]
    return [s for s in steps if s is not None]


def task_steps(plan, source: str) -> list:
    """The per-document steps of one source, configured by the recipe that names the source (in a
    whole-corpus build, the included subset recipe)."""
    found = next((s for s in plan.sources if s.name == source), None)
    part = found.part if found is not None and found.part is not None else plan
    kind = found.kind if found is not None and found.kind else source
    steps: list = []
    stack = part.recipe.sources.stack
    if kind == "stack" and stack is not None:
        from proofpile.filters.select import LanguageSelect

        steps.append(LanguageSelect(stack.langs))
    arxiv = part.recipe.sources.arxiv
    if kind == "arxiv" and arxiv is not None:  # the reader only unpacks: text exists once this has run
        from proofpile.extract.latex import LatexCleaner

        steps.append(LatexCleaner(**arxiv.clean.model_dump()))
    return steps + _build("per_document", part)


def final_steps(plan) -> list:
    steps = _build("finalize", plan)
    if any("arxiv" in (s.kind, s.name) for s in plan.sources):
        # arXiv ids must be unique in the output and copies of one paper can sit in different tasks: the first
        # copy in finalize's input order is kept (proofpile.sources.arxiv_versions), before dedup sees any
        from proofpile.sources.arxiv_versions import OnePerPaper

        steps.insert(0, OnePerPaper())
    return steps


def run_after(plan, manifest: dict, workers: int, progress: bool) -> None:
    """The `after` stages the recipe enables, in order, once the shards and the manifest are written."""
    for spec in declared():
        cfg = getattr(plan.recipe.stages, spec.name)
        if spec.where == "after" and cfg.enabled:
            spec.func(cfg, plan, manifest, workers, progress)
