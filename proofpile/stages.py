"""Recipe stages -> datatrove steps.

A stage is one entry in `recipes.Stages` plus one builder here. Builders run in the order the stages are
declared in `recipes.Stages`, so each recipe enables the ones it needs and gets them in a sensible order
(web pages: prefilter -> extract -> language ID -> classifier; code: notebook -> code rules -> language ID).

- `TASK_STAGES` run inside every crawl task, on one document at a time.
- `FINAL_STAGES` need the whole corpus in a fixed order (dedup, decontamination) and run in the single
  finalize task, before the split.

A builder takes (stage config, build plan) and returns a step or a list of steps; it must stay cheap, since
`--dry-run` calls it too: heavy objects load lazily inside the steps.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from proofpile.recipes import Stages, resolve_relative


def _notebook(cfg, plan):
    from proofpile.extract.notebook import NotebookToMarkdown

    return NotebookToMarkdown()


def _code_rules(cfg, plan):
    from proofpile.filters.code_rules import CodeRulesFilter

    return CodeRulesFilter(languages=cfg.languages)


def _recipe_path(plan, ref: str | None) -> str | None:
    """A recipe's file reference as a usable path: URLs as they are, relative paths from the project root."""
    if ref is None or "://" in ref or Path(ref).is_absolute():
        return ref
    return str(resolve_relative(plan.recipe_path, ref))


def _prefilter(cfg, plan):
    from proofpile.filters.math_prefilter import MathPrefilter

    return MathPrefilter(min_chars=cfg.min_chars)


def _extract(cfg, plan):
    from proofpile.extract.html_math import MathHtmlExtractor

    return MathHtmlExtractor(min_chars=cfg.min_chars, timeout=cfg.timeout)


def _langid(cfg, plan):
    from proofpile.filters.langid import LanguageIdFilter
    from proofpile.recipes import LID_176_URL

    model = cfg.model
    if model == LID_176_URL and os.environ.get("PROOFPILE_LID_MODEL"):  # a site-wide local copy, for offline nodes
        model = os.environ["PROOFPILE_LID_MODEL"]
    if "://" not in model and not Path(model).is_absolute():
        model = str(resolve_relative(plan.recipe_path, model))
    return LanguageIdFilter(model=model, languages=cfg.languages, keep=cfg.keep, threshold=cfg.threshold)


def _math_classifier(cfg, plan):
    from proofpile.filters.math_classifier import MathScoreFilter

    return MathScoreFilter(model=_recipe_path(plan, cfg.model), threshold_math=cfg.threshold_math,
                           threshold_nomath=cfg.threshold_nomath)


def _quality(cfg, plan):
    from proofpile.filters.quality import PerplexityFilter, QualityFilter
    from proofpile.recipes import RecipeError

    try:
        steps = [QualityFilter(min_chars=cfg.min_chars, max_accented_ratio=cfg.max_accented_ratio,
                               url_blocklist=cfg.url_blocklist,
                               url_blocklist_files=[_recipe_path(plan, f) for f in cfg.url_blocklist_files])]
    except (OSError, UnicodeDecodeError) as e:
        raise RecipeError(f"{plan.recipe_path}: stages.quality.url_blocklist_files: {e}") from None
    if cfg.kenlm_model:
        steps.append(PerplexityFilter(model=_recipe_path(plan, cfg.kenlm_model), max_perplexity=cfg.max_perplexity))
    return steps


def _exact_dedup(cfg, plan):
    from proofpile.dedup.exact import ChunkDedupFilter

    return ChunkDedupFilter(chunk_chars=cfg.chunk_chars)


def _decontaminate(cfg, plan):
    from proofpile.decontam.ngrams import DecontaminationFilter

    files = {name: str(resolve_relative(plan.recipe_path, path)) for name, path in cfg.files.items()}
    options = cfg.model_dump(exclude={"enabled", "files"})
    return DecontaminationFilter(files=files, report_dir=str(plan.out), **options)


TASK_STAGES: dict[str, Callable[[Any, Any], Any]] = {
    "notebook": _notebook,
    "code_rules": _code_rules,
    "prefilter": _prefilter,
    "extract": _extract,
    "langid": _langid,
    "math_classifier": _math_classifier,
    "quality": _quality,
}

FINAL_STAGES: dict[str, Callable[[Any, Any], Any]] = {
    "exact_dedup": _exact_dedup,
    "decontaminate": _decontaminate,
}


def _build(registry: dict, plan) -> list:
    steps: list = []
    for name in Stages.model_fields:
        cfg = getattr(plan.recipe.stages, name)
        if name in registry and getattr(cfg, "enabled", False):
            made = registry[name](cfg, plan)
            steps.extend(made if isinstance(made, list) else [made])
    return steps


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
    return steps + _build(TASK_STAGES, part)


def final_steps(plan) -> list:
    steps = _build(FINAL_STAGES, plan)
    if any("arxiv" in (s.kind, s.name) for s in plan.sources):
        # arXiv ids must be unique in the output and copies of one paper can sit in different tasks: the first
        # copy in finalize's input order is kept (proofpile.sources.arxiv_versions), before dedup sees any
        from proofpile.sources.arxiv_versions import OnePerPaper

        steps.insert(0, OnePerPaper())
    return steps
