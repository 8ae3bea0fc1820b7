"""The built-in recipe stages: each one's config model and its declaration (`proofpile.stage_registry`).

A stage's `order` is its run position, so each recipe enables the ones it needs and gets them in a sensible
order (web pages: prefilter -> extract -> language ID -> classifier; code: notebook -> code rules -> language
ID); `recipes.Stages` lists them in the same order.

- `per_document` stages run inside every crawl task, on one document at a time.
- `finalize` stages need the whole corpus in a fixed order (dedup, decontamination) and run in the single
  finalize task, before the split.
- `after` stages read the finished shards (pack, card); changing them redoes only themselves.

A builder takes (stage config, build plan) and returns a step or a list of steps; it must stay cheap, since
`--dry-run` calls it too: heavy objects load lazily inside the steps. Imports of proofpile modules stay inside
the functions: `proofpile.recipes` reads these declarations while it is being imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from proofpile.stage_registry import StageConfig, declare_stage, declared

#: where the default fastText language-ID model is fetched from when the recipe names no local file
LID_176_URL = "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin"


def recipe_path(plan, ref: str | None) -> str | None:
    """A recipe's file reference as a usable path: URLs as they are, relative paths from the project root."""
    from proofpile.recipes import resolve_relative

    if ref is None or "://" in ref or Path(ref).is_absolute():
        return ref
    return str(resolve_relative(plan.recipe_path, ref))


class NotebookStage(StageConfig):
    pass


@declare_stage("notebook", config=NotebookStage, where="per_document", order=10,
               purpose="Jupyter notebooks converted to Markdown")
def _notebook(cfg, plan):
    from proofpile.extract.notebook import NotebookToMarkdown

    return NotebookToMarkdown()


class CodeRulesStage(StageConfig):
    languages: list[str] | None = None


@declare_stage("code_rules", config=CodeRulesStage, where="per_document", order=20,
               purpose="per-language rules of the original AlgebraicStack build (math imports, theorem keywords, "
                       "vendored or generated files)",
               signals=("numerical_density", "test_ratio", "math_imports", "math_includes", "lexer",
                        "benchmark_names"))
def _code_rules(cfg, plan):
    from proofpile.filters.code_rules import CodeRulesFilter

    return CodeRulesFilter(languages=cfg.languages)


class PrefilterStage(StageConfig):
    """OpenWebMath stage 1, on raw HTML (proofpile.filters.math_prefilter): markers, then a plain-text look."""

    threshold: float = Field(0.5, ge=0.0, le=1.0,
                             description="MathScore of the plain-text rendering that lets a page with only a "
                                         "hint marker and no TeX formula go on")
    min_formulas: int = Field(1, ge=0, description="TeX formulas in the plain-text rendering that let a page with "
                                                   "only a hint marker go on (0: the classifier alone decides)")
    model: str | None = Field(None, description="fastText MathScore model; none = the one shipped in the package")

    @model_validator(mode="before")
    @classmethod
    def _no_min_chars(cls, data):
        # recipes written for the one-stage prefilter: say what replaced the key rather than only refusing it
        if isinstance(data, dict) and "min_chars" in data:
            raise ValueError("min_chars is gone: pages without math markup are now judged on their plain text "
                             "(prefilter.threshold, prefilter.min_formulas)")
        return data


@declare_stage("prefilter", config=PrefilterStage, where="per_document", order=30,
               purpose="raw-HTML math prefilter: MathJax/KaTeX/MathML markup markers go on; pages with only a "
                       "hint (a renderer's name, LaTeX commands) go on if their plain text shows TeX or MathScore",
               signals=("prefilter",))
def _prefilter(cfg, plan):
    from proofpile.filters.math_prefilter import MathPrefilter

    return MathPrefilter(threshold=cfg.threshold, min_formulas=cfg.min_formulas, model=recipe_path(plan, cfg.model))


class ExtractStage(StageConfig):
    """Math-preserving HTML extraction (proofpile.extract.html_math)."""

    min_chars: int = Field(0, ge=0)
    timeout: float = Field(30.0, gt=0, description="seconds per page before it is dropped")


@declare_stage("extract", config=ExtractStage, where="per_document", order=40,
               purpose="math-preserving HTML text extraction (inline `$...$`, display `$$...$$`)",
               signals=("math_found", "n_inline", "n_display"))
def _extract(cfg, plan):
    from proofpile.extract.html_math import MathHtmlExtractor

    return MathHtmlExtractor(min_chars=cfg.min_chars, timeout=cfg.timeout)


class LangIdStage(StageConfig):
    model: str = LID_176_URL
    languages: list[str] | None = Field(default_factory=lambda: ["tex"], description="empty/null = every document")
    keep: list[str] = Field(default_factory=lambda: ["en"])
    threshold: float = Field(0.5, ge=0.0, le=1.0)


def _langid_decision(cfg, plan):
    from proofpile.filters.langid import LanguageIdDecision

    return LanguageIdDecision(keep=cfg.keep, threshold=cfg.threshold)


@declare_stage("langid", config=LangIdStage, where="per_document", order=50,
               purpose="fastText language identification", decisions=("keep", "threshold"),
               decide=_langid_decision, signals=("lid_lang", "lid_score"))
def _langid(cfg, plan):
    from proofpile.filters.langid import LanguageIdFilter
    from proofpile.recipes import resolve_relative

    model = cfg.model
    if model == LID_176_URL and os.environ.get("PROOFPILE_LID_MODEL"):  # a site-wide local copy, for offline nodes
        model = os.environ["PROOFPILE_LID_MODEL"]
    if "://" not in model and not Path(model).is_absolute():
        model = str(resolve_relative(plan.recipe_path, model))
    # the code-language restriction is always passed: the recipe, not the library default, decides it
    # scores only: `keep` and `threshold` are applied by the decide stage (_langid_decision)
    return LanguageIdFilter(model=model, languages=cfg.languages, keep=cfg.keep, threshold=cfg.threshold,
                            decide=False)


class MathClassifierStage(StageConfig):
    model: str | None = Field(None, description="fastText MathScore model; none = the one shipped in the package")
    threshold_math: float = Field(0.17, ge=0.0, le=1.0, description="when the extractor found math")
    threshold_nomath: float = Field(0.8, ge=0.0, le=1.0, description="when it found none")


def _math_decision(cfg, plan):
    from proofpile.filters.math_classifier import MathScoreDecision

    return MathScoreDecision(threshold_math=cfg.threshold_math, threshold_nomath=cfg.threshold_nomath)


@declare_stage("math_classifier", config=MathClassifierStage, where="per_document", order=60,
               purpose="MathScore fastText classifier", decisions=("threshold_math", "threshold_nomath"),
               decide=_math_decision, signals=("math_score", "math_found"))
def _math_classifier(cfg, plan):
    from proofpile.filters.math_classifier import MathScoreFilter

    return MathScoreFilter(model=recipe_path(plan, cfg.model), threshold_math=cfg.threshold_math,
                           threshold_nomath=cfg.threshold_nomath, decide=False)


class QualityStage(StageConfig):
    min_chars: int = Field(100, ge=0)
    max_accented_ratio: float = Field(0.015, ge=0.0, le=1.0)
    url_blocklist: list[str] = Field(default_factory=list, description="domains (with subdomains) or URL substrings")
    url_blocklist_files: list[str] = Field(default_factory=list, description="files of such entries, # comments")
    kenlm_model: str | None = Field(None, description="KenLM model for the perplexity cut; none = no cut")
    max_perplexity: float = Field(15_000, gt=0)


def _perplexity_decision(cfg, plan):
    from proofpile.filters.quality import PerplexityDecision

    # no KenLM model, no perplexity stored: nothing to decide (and no thresholds step to show)
    return PerplexityDecision(max_perplexity=cfg.max_perplexity) if cfg.kenlm_model else None


# the length, accented-letter and blocklist rules stay in the crawl: cheap, and pages they drop would only
# swell the task files; the model-scored perplexity cut is a decision
@declare_stage("quality", config=QualityStage, where="per_document", order=70,
               purpose="quality rules (length, accented-letter ratio, URL blocklist, optional KenLM perplexity)",
               signals=("accented_ratio", "perplexity"), decisions=("max_perplexity",), decide=_perplexity_decision)
def _quality(cfg, plan):
    from proofpile.filters.quality import PerplexityFilter, QualityFilter
    from proofpile.recipes import RecipeError

    try:
        steps = [QualityFilter(min_chars=cfg.min_chars, max_accented_ratio=cfg.max_accented_ratio,
                               url_blocklist=cfg.url_blocklist,
                               url_blocklist_files=[recipe_path(plan, f) for f in cfg.url_blocklist_files])]
    except (OSError, UnicodeDecodeError) as e:
        raise RecipeError(f"{plan.recipe_path}: stages.quality.url_blocklist_files: {e}") from None
    if cfg.kenlm_model:
        steps.append(PerplexityFilter(model=recipe_path(plan, cfg.kenlm_model), max_perplexity=cfg.max_perplexity,
                                      decide=False))
    return steps


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
def _near_dedup(cfg, plan):
    # no step of its own: the build runs its parallel stages first and finalize's reader skips what they found
    # (proofpile.build, proofpile.dedup.near)
    return None


class ExactDedupStage(StageConfig):
    chunk_chars: int = Field(2048, gt=0)


@declare_stage("exact_dedup", config=ExactDedupStage, where="finalize", order=90,
               purpose="chunk-exact dedup: a document sharing any chunk with an earlier one is dropped")
def _exact_dedup(cfg, plan):
    from proofpile.dedup.exact import ChunkDedupFilter

    return ChunkDedupFilter(chunk_chars=cfg.chunk_chars)


class DecontaminateStage(StageConfig):
    benchmarks: list[str] = Field(default_factory=lambda: ["math", "gsm8k"])
    files: dict[str, str] = Field(default_factory=dict, description="benchmark -> local JSONL/Parquet; else the Hub")
    ngram: int = Field(13, ge=2, description="word units per n-gram (proofpile.decontam.units)")
    report_only: bool = False
    max_items_per_ngram: int = Field(3, ge=1)
    min_item_tokens: int = Field(8, ge=1, description="a field shorter than ngram units needs this many tokens")


@declare_stage("decontaminate", config=DecontaminateStage, where="finalize", order=100,
               purpose="benchmark decontamination by n-gram overlap with test items")
def _decontaminate(cfg, plan):
    from proofpile.decontam.ngrams import DecontaminationFilter
    from proofpile.recipes import resolve_relative

    files = {name: str(resolve_relative(plan.recipe_path, path)) for name, path in cfg.files.items()}
    options = cfg.model_dump(exclude={"enabled", "files"})
    return DecontaminationFilter(files=files, report_dir=str(plan.out), **options)


class PackStage(StageConfig):
    """Token files after finalize (proofpile.pack); packing never changes the shards, so it is not part of
    what makes a re-run a resume."""

    tokenizer: str = Field("codellama/CodeLlama-7b-hf", description="tokenizer.model/.json, a folder or a Hub id")
    format: Literal["megatron", "npy"] = "megatron"
    out: str = Field("packed", description="relative to the build's --out")
    weights: dict[str, float] = Field(default_factory=dict, description="subset -> share of training tokens")
    by_lang: bool = False
    seq_len: int | None = Field(None, gt=0)
    shuffle_seed: int = 0
    bos: bool = True
    eos: bool = True


@declare_stage("pack", config=PackStage, where="after", order=110,
               purpose="tokenization into Megatron/GPT-NeoX token files (not part of this upload unless published)")
def _pack(cfg, plan, manifest: dict, workers: int, progress: bool) -> None:
    from proofpile import manifest as mf
    from proofpile.pack.stage import run_pack_stage

    manifest["pack"] = run_pack_stage(plan, workers=workers, progress=progress)
    mf.write_manifest(plan.out / "manifest.json", manifest)


class CardStage(StageConfig):
    """After the build (and pack): the Hub dataset card `README.md` with plots in `assets/`
    (proofpile.publish), so a finished build can go to the Hub as it is."""


@declare_stage("card", config=CardStage, where="after", order=120, in_card=False,
               purpose="the Hub dataset card `README.md` with plots in `assets/`")
def _card(cfg, plan, manifest: dict, workers: int, progress: bool) -> None:
    from proofpile.publish.card import write_card

    write_card(plan.out)  # last: it describes the shards, the funnel and the token counts


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
