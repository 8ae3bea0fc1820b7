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


def _langid(cfg, plan):
    from proofpile.filters.langid import LanguageIdFilter

    model = cfg.model
    if "://" not in model and not Path(model).is_absolute():
        model = str(resolve_relative(plan.recipe_path, model))
    return LanguageIdFilter(model=model, languages=cfg.languages, keep=cfg.keep, threshold=cfg.threshold)


def _exact_dedup(cfg, plan):
    from proofpile.dedup.exact import ChunkDedupFilter

    return ChunkDedupFilter(chunk_chars=cfg.chunk_chars)


TASK_STAGES: dict[str, Callable[[Any, Any], Any]] = {
    "notebook": _notebook,
    "code_rules": _code_rules,
    "langid": _langid,
}

FINAL_STAGES: dict[str, Callable[[Any, Any], Any]] = {
    "exact_dedup": _exact_dedup,
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
    steps: list = []
    stack = plan.recipe.sources.stack
    if source == "stack" and stack is not None:
        from proofpile.filters.select import LanguageSelect

        steps.append(LanguageSelect(stack.langs))
    return steps + _build(TASK_STAGES, plan)


def final_steps(plan) -> list:
    return _build(FINAL_STAGES, plan)
