"""Stage 5 of OpenWebMath: the cheap quality rules applied to extracted text, and the optional perplexity cut.

- Too short (< 100 characters): navigation stubs and empty extractions.
- Too many accented Latin letters (> 1.5% of characters): the language identifier passes English-looking
  pages with long runs of French/Vietnamese/... text; accents are a sharper signal for them than a second model.
  The ratio is stored as ``metadata["accented_ratio"]`` so a recipe can re-threshold.
- URL blocklist: domains (a domain blocks its subdomains) and URL substrings, from the recipe or files, for the
  sites OpenWebMath removed by hand (spam mirrors, answer-key dumps, adult sites).
- Perplexity (`PerplexityFilter`): a KenLM model scores the text, pages above 15,000 are dropped. KenLM is not a
  dependency (it needs a compiler and Boost); without it, or without a model path, the stage is skipped with
  one note per task and the pages pass.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field

from proofpile.stage_registry import StageConfig, declare_stage, recipe_path


def _accented_letters() -> str:
    """Letters that decompose into an ASCII letter plus combining marks (é, ñ, ů, ...): Latin with diacritics."""
    chars = []
    for cp in range(0xC0, 0x2000):
        ch = chr(cp)
        base = unicodedata.normalize("NFD", ch)
        if len(base) > 1 and base[0].isascii() and base[0].isalpha() and unicodedata.category(ch).startswith("L"):
            chars.append(ch)
    return "".join(chars)


_ACCENTED = re.compile("[" + re.escape(_accented_letters()) + "]")


def accented_ratio(text: str) -> float:
    """Share of the characters of `text` that are accented Latin letters."""
    if not text:
        return 0.0
    return len(_ACCENTED.findall(text)) / len(text)


_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


class UrlBlocklist:
    """Entries that look like a bare domain (`example.com`) block that host and its subdomains; any other
    entry (`/answers/`, `example.com/spam`) blocks URLs containing it. Matching is case-insensitive."""

    def __init__(self, entries: list[str] = (), files: list[str | Path] = ()):
        items = [e for e in entries]
        for f in files:
            for line in Path(f).read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    items.append(line)
        items = [e.strip().lower() for e in items if e.strip()]
        self.domains = frozenset(e.removeprefix("www.") for e in items if _DOMAIN.match(e))
        self.substrings = tuple(sorted({e for e in items if not _DOMAIN.match(e)}))

    def __len__(self) -> int:
        return len(self.domains) + len(self.substrings)

    def blocks(self, url: str) -> str | None:
        """The entry that blocks `url`, or None."""
        url = url.lower()
        try:
            host = (urlsplit(url).hostname or "").rstrip(".")
        except ValueError:
            host = ""
        parts = host.split(".")
        for i in range(len(parts) - 1):
            if (suffix := ".".join(parts[i:])) in self.domains:
                return suffix
        return next((s for s in self.substrings if s in url), None)


class QualityFilter(BaseFilter):
    """Minimum length, accented-letter ratio and URL blocklist, each a named drop reason."""

    name = "quality"

    def __init__(
        self,
        min_chars: int = 100,
        max_accented_ratio: float = 0.015,
        url_blocklist: list[str] = (),
        url_blocklist_files: list[str] = (),
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        self.min_chars = min_chars
        self.max_accented_ratio = max_accented_ratio
        # read now: a missing blocklist file must fail the build before any task starts, not in every task
        self.blocklist = UrlBlocklist(list(url_blocklist), list(url_blocklist_files))

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if len(doc.text.strip()) < self.min_chars:
            return False, "too_short"
        if len(self.blocklist) and self.blocklist.blocks(doc.metadata.get("url", "")):
            return False, "blocked_url"
        ratio = accented_ratio(doc.text)
        doc.metadata["accented_ratio"] = round(ratio, 6)
        if ratio > self.max_accented_ratio:
            return False, "too_many_accents"
        return True


class PerplexityFilter(BaseFilter):
    """Drops pages a KenLM model finds too unlikely (OpenWebMath: perplexity > 15,000).

    Perplexity is over whitespace tokens, line by line with sentence boundaries, as KenLM's own `perplexity`
    does, so the model should be trained on whitespace-tokenized text. The score is kept as
    ``metadata["perplexity"]``.
    """

    name = "perplexity"

    def __init__(self, model: str, max_perplexity: float = 15_000, exclusion_writer=None, decide: bool = True):
        super().__init__(exclusion_writer)
        self.model_path = model
        self.max_perplexity = max_perplexity
        self.decide = decide  # False: score only; PerplexityDecision applies max_perplexity later
        self._model = None
        self._unavailable = False

    def _load(self):
        if self._model is None and not self._unavailable:
            from datatrove.utils.logging import logger

            try:
                import kenlm
            except ImportError:
                self._unavailable = True
                logger.warning(f"kenlm is not installed (pip install kenlm); perplexity filter skipped, "
                               f"model {self.model_path} unused")
                self.stat_update("perplexity_skipped")
                return None
            if not Path(self.model_path).is_file():
                raise FileNotFoundError(f"KenLM model not found: {self.model_path}")
            self._model = kenlm.Model(self.model_path)
        return self._model

    def perplexity(self, text: str) -> float:
        model = self._load()
        if model is None:
            return float("nan")
        log10_total, tokens = 0.0, 0
        for line in text.splitlines():
            words = line.split()
            if words:
                log10_total += model.score(" ".join(words), bos=True, eos=True)
                tokens += len(words) + 1  # + the end-of-sentence token
        return 10 ** (-log10_total / tokens) if tokens else float("inf")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        ppl = self.perplexity(doc.text)
        if ppl != ppl:  # NaN: no model available
            return True
        doc.metadata["perplexity"] = round(ppl, 2)
        if not self.decide:
            return True
        return perplexity_verdict(doc, self.max_perplexity)

    def __getstate__(self):
        return {**self.__dict__, "_model": None}


def perplexity_verdict(doc: Document, max_perplexity: float) -> bool | tuple[bool, str]:
    if doc.metadata["perplexity"] > max_perplexity:
        return False, "high_perplexity"
    return True


class PerplexityDecision(BaseFilter):
    """``max_perplexity`` applied to a stored ``perplexity``; a document without one (no model) passes."""

    name = "perplexity"

    def __init__(self, max_perplexity: float = 15_000, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.max_perplexity = max_perplexity

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if "perplexity" not in doc.metadata:
            return True
        return perplexity_verdict(doc, self.max_perplexity)


class QualityStage(StageConfig):
    min_chars: int = Field(100, ge=0)
    max_accented_ratio: float = Field(0.015, ge=0.0, le=1.0)
    url_blocklist: list[str] = Field(default_factory=list, description="domains (with subdomains) or URL substrings")
    url_blocklist_files: list[str] = Field(default_factory=list, description="files of such entries, # comments")
    kenlm_model: str | None = Field(None, description="KenLM model for the perplexity cut; none = no cut")
    max_perplexity: float = Field(15_000, gt=0)


def _decision(cfg, plan):
    # no KenLM model, no perplexity stored: nothing to decide (and no thresholds step to show)
    return PerplexityDecision(max_perplexity=cfg.max_perplexity) if cfg.kenlm_model else None


# the length, accented-letter and blocklist rules stay in the crawl: cheap, and pages they drop would only
# swell the task files; the model-scored perplexity cut is a decision
@declare_stage("quality", config=QualityStage, where="per_document", order=70,
               purpose="quality rules (length, accented-letter ratio, URL blocklist, optional KenLM perplexity)",
               signals=("accented_ratio", "perplexity"), decisions=("max_perplexity",), decide=_decision)
def _stage(cfg, plan):
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
