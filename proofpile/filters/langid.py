"""fastText language identification for text-like code (LaTeX above all), from a model file we choose.

datatrove's own LanguageFilter cannot be pointed at a model path: it downloads its model on first use, which
breaks offline clusters and makes the model version an accident of the run date. Here the model is an explicit
input (a local lid.176.bin/.ftz, or a URL fetched once into ~/.cache/proofpile/) so a recipe pins it.
"""

from __future__ import annotations

import os
import re
import urllib.request
from pathlib import Path

from datatrove.data import Document
from datatrove.utils.logging import logger
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field

from proofpile.atomic import atomic_path
from proofpile.stage_registry import StageConfig, declare_stage, recipe_path

#: where the default fastText language-ID model is fetched from when the recipe names no local file
LID_176_URL = "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin"

_LABEL_PREFIX = "__label__"
CACHE_DIR = Path("~/.cache/proofpile").expanduser()


def _is_url(model: str) -> bool:
    return model.startswith(("http://", "https://"))


def resolve_model(model: str) -> Path:
    """Local path of ``model``, downloading a URL into the cache the first time it is seen."""
    if not _is_url(model):
        path = Path(model).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"fastText language-ID model not found: {path}")
        return path
    target = CACHE_DIR / os.path.basename(model.split("?", 1)[0])
    if not target.is_file():
        # concurrent workers may download it at once: each into its own temporary name
        with atomic_path(target, unique=True) as tmp, open(tmp, "wb") as out, urllib.request.urlopen(model) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    return target


# What LaTeX source is made of besides prose: comments, math, command names, braces. Left in, they pull
# fastText towards "en" for any language (command names are English) and cost time on long sources.
#
# Math is `$$...$$`, `$...$`, `\\[...\\]`, `\\(...\\)` and the display environments, each matched to the FIRST
# closer after its opener. One regex with lazy `.*?` spans says exactly that, but re-scans to the end of the
# text from every opener that is never closed: quadratic (13 s for 80 KB of `\\[`). `strip_latex_noise` gives
# the same matches in one pass: a regex finds the next token, and each math opener's closer is looked up with
# `str.find`, remembered per closer kind, so no stretch of text is searched twice.
_ENVS = r"(?:equation|align|gather|multline|eqnarray)"
_MATH_ENV_OPEN = r"begin\{" + _ENVS + r"\*?\}"
# what is not math, in the order the alternatives are tried; a backslash that opens math is left to _TOKEN
_OTHER = (
    r"(?<!\\)%[^\n]*"  # comments
    r"|\\(?!" + _MATH_ENV_OPEN + r")[a-zA-Z@]+\*?"  # command names
    r"|[{}\[\]&_^~]|\\(?![\[(]|" + _MATH_ENV_OPEN + r")"  # markup characters
)
_OTHER_ONE = re.compile(_OTHER)
_TOKEN = re.compile(
    r"(?P<other>(?:" + _OTHER + r")+)"  # a run of non-math tokens, replaced one by one below
    r"|(?P<dd>\$\$)|(?P<d>\$[^$]*\$)|(?P<brack>\\\[)|(?P<paren>\\\()"
    r"|(?P<env>\\begin\{(?P<name>" + _ENVS + r")\*?\})"
)
_CLOSERS = {"dd": "$$", "brack": "\\]", "paren": "\\)"}
# an opener with no closer after it is read as what it is without the math: `$$` as an empty `$$`, `\\[` and
# `\\(` as a lone backslash, `\\begin{equation}` as the command `\\begin`
_UNCLOSED_LEN = {"dd": 2, "brack": 1, "paren": 1, "env": len("\\begin")}


class _FirstCloser:
    """First index >= a start at which a closer occurs; starts only grow, so each answer is reused until passed."""

    def __init__(self, text: str):
        self.text = text
        self.memo: dict[str, tuple[int, int, int]] = {}  # key -> (searched from, closer start or -1, closer end)

    def find(self, key: str, start: int) -> int:
        """End of the first closer at or after ``start``, or -1."""
        hit = self.memo.get(key)
        if hit is not None and hit[0] <= start and (hit[1] < 0 or hit[1] >= start):
            return hit[2]
        if key.startswith("\\end"):
            m = re.compile(re.escape(key) + r"\*?\}").search(self.text, start)
            found = (start, m.start(), m.end()) if m else (start, -1, -1)
        else:
            i = self.text.find(key, start)
            found = (start, i, i + len(key) if i >= 0 else -1)
        self.memo[key] = found
        return found[2]


def strip_latex_noise(text: str) -> str:
    """Every comment, math span, command name and markup character of ``text`` replaced by one space."""
    out: list[str] = []
    closers = _FirstCloser(text)
    pos = 0
    while (m := _TOKEN.search(text, pos)) is not None:
        start, kind = m.start(), m.lastgroup
        if kind == "name":
            kind = "env"
        out.append(text[pos:start])
        if kind == "other":
            out.append(_OTHER_ONE.sub(" ", m.group()))
            pos = m.end()
            continue
        if kind == "d":
            end = m.end()
        else:
            key = "\\end{" + m.group("name") if kind == "env" else _CLOSERS[kind]
            end = closers.find(key, m.end())
            if end < 0:
                end = start + _UNCLOSED_LEN[kind]
        out.append(" ")
        pos = end
    out.append(text[pos:])
    return "".join(out)


_SPACES = re.compile(r"\s+")
#: language is settled long before this many characters; fastText's cost is linear in the text
LID_PREFIX_CHARS = 20_000


def prose_for_lid(text: str, lang: str | None = None, max_chars: int = LID_PREFIX_CHARS) -> str:
    """The part of a document worth showing a language identifier: for LaTeX, the prose without markup,
    from a bounded prefix (a 10 MB source costs the same as a 100 KB one)."""
    if lang == "tex":
        text = strip_latex_noise(text[: max_chars * 4])
    return _SPACES.sub(" ", text[:max_chars]).strip()


class LanguageIdentifier:
    """Top-1 language and probability for a text; the model loads on the first prediction."""

    def __init__(self, model_path: str | os.PathLike):
        self.model_path = str(model_path)
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from proofpile.fasttext_models import load_fasttext

            self._model = load_fasttext(resolve_model(self.model_path))
        return self._model

    def predict(self, text: str) -> tuple[str, float]:
        # fastText reads exactly one line
        labels, probs = self.model.predict(text.replace("\n", " "), k=1)
        if not labels:
            return "", 0.0
        return labels[0].removeprefix(_LABEL_PREFIX), float(probs[0])

    def __getstate__(self):
        # steps are pickled to worker processes; each worker loads its own copy
        return {**self.__dict__, "_model": None}


def language_verdict(doc: Document, keep: frozenset[str], threshold: float) -> bool | tuple[bool, str]:
    """The keep/drop rule on a stored ``lid_lang``/``lid_score``; one function for the filter that scores and
    decides in one go and for the decide step that re-applies a new threshold to a stored score."""
    if doc.metadata.get("lid_lang") in keep and doc.metadata.get("lid_score", 0.0) >= threshold:
        if not doc.metadata.get("lang"):  # a web page's language is its prose's: it names the output shard
            doc.metadata["lang"] = doc.metadata["lid_lang"]
        return True
    return False, "wrong_language"


class LanguageIdFilter(BaseFilter):
    """Drop documents whose prose is not in ``keep``; a kept document without a language (a web page) gets the
    detected one as ``lang``.

    By default every document is identified. ``languages`` restricts identification to documents of those code
    languages (AlgebraicStack passes ``[tex]``: only TeX files are prose) and lets all others through unscored;
    that restriction used to be the default, so a library user's web pages all passed silently.

    The prediction is stored as ``lid_lang``/``lid_score`` whether or not the document is kept, so a recipe can
    re-threshold later without running the model again. With ``decide=False`` the step only scores and passes
    every document on; ``LanguageIdDecision`` applies ``keep``/``threshold`` later (a build's decide stage).
    """

    name = "language id"

    def __init__(
        self,
        model: str,
        languages: list[str] | None = None,
        keep: list[str] = ["en"],  # noqa: B006
        threshold: float = 0.5,
        exclusion_writer=None,
        decide: bool = True,
    ):
        super().__init__(exclusion_writer)
        # The model is not touched here: `--dry-run` builds steps with the recipe's unresolved path, and a
        # cluster path may exist only on workers. Call resolve_model(model) as a preflight check instead.
        self.model = model
        # empty/None = every document (web pages carry no code language)
        self.languages = frozenset(languages or ())
        self.keep = frozenset(keep)
        self.threshold = threshold
        self.decide = decide
        self.identifier = LanguageIdentifier(model)
        self._seen = 0
        self._scored = 0

    def run(self, data, rank: int = 0, world_size: int = 1):
        yield from super().run(data, rank, world_size)
        # Dolma's "end every stage with a check": a language filter that scored nothing did nothing
        if self._seen and not self._scored:
            logger.warning(
                f"language id: 0 of {self._seen} documents scored; is `languages` "
                f"({sorted(self.languages)}) restricting to a code language these documents do not have?"
            )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        doc_lang = doc.metadata.get("lang")
        self._seen += 1
        if self.languages and doc_lang not in self.languages:
            return True
        self._scored += 1
        lang, score = self.identifier.predict(prose_for_lid(doc.text, doc_lang))
        doc.metadata["lid_lang"] = lang
        doc.metadata["lid_score"] = score
        if not self.decide:
            self.stat_update("scored")
            return True
        return language_verdict(doc, self.keep, self.threshold)


class LanguageIdDecision(BaseFilter):
    """``keep``/``threshold`` applied to the stored ``lid_lang``/``lid_score``; documents the scoring step left
    alone (not of its ``languages``) carry no score and pass."""

    name = "language id"

    def __init__(self, keep: list[str] = ["en"], threshold: float = 0.5, exclusion_writer=None):  # noqa: B006
        super().__init__(exclusion_writer)
        self.keep = frozenset(keep)
        self.threshold = threshold

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if "lid_lang" not in doc.metadata:
            return True
        return language_verdict(doc, self.keep, self.threshold)


class LangIdStage(StageConfig):
    model: str = LID_176_URL
    languages: list[str] | None = Field(default_factory=lambda: ["tex"], description="empty/null = every document")
    keep: list[str] = Field(default_factory=lambda: ["en"])
    threshold: float = Field(0.5, ge=0.0, le=1.0)


def _decision(cfg, plan):
    return LanguageIdDecision(keep=cfg.keep, threshold=cfg.threshold)


@declare_stage("langid", config=LangIdStage, where="per_document", order=50,
               purpose="fastText language identification", decisions=("keep", "threshold"),
               decide=_decision, signals=("lid_lang", "lid_score"))
def _stage(cfg, plan):
    model = cfg.model
    if model == LID_176_URL and os.environ.get("PROOFPILE_LID_MODEL"):  # a site-wide local copy, for offline nodes
        model = os.environ["PROOFPILE_LID_MODEL"]
    model = recipe_path(plan, model)
    # the code-language restriction is always passed: the recipe, not the library default, decides it
    # scores only: `keep` and `threshold` are applied by the decide stage (_decision)
    return LanguageIdFilter(model=model, languages=cfg.languages, keep=cfg.keep, threshold=cfg.threshold,
                            decide=False)
