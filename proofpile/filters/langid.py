"""fastText language identification for text-like code (LaTeX above all), from a model file we choose.

datatrove's own LanguageFilter cannot be pointed at a model path: it downloads its model on first use, which
breaks offline clusters and makes the model version an accident of the run date. Here the model is an explicit
input (a local lid.176.bin/.ftz, or a URL fetched once into ~/.cache/proofpile/) so a recipe pins it.
"""

from __future__ import annotations

import os
import re
import tempfile
import urllib.request
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

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
        target.parent.mkdir(parents=True, exist_ok=True)
        # write beside the target and rename, so concurrent workers never load a half-written file
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(model) as response:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target


# What LaTeX source is made of besides prose: comments, math, command names, braces. Left in, they pull
# fastText towards "en" for any language (command names are English) and cost time on long sources.
_LATEX_NOISE = re.compile(
    r"(?<!\\)%[^\n]*"  # comments
    r"|\$\$.*?\$\$|\$[^$]*\$|\\\[.*?\\\]|\\\(.*?\\\)"  # inline and display math
    r"|\\begin\{(equation|align|gather|multline|eqnarray)\*?\}.*?\\end\{\1\*?\}"  # math environments
    r"|\\[a-zA-Z@]+\*?"  # command names
    r"|[{}\[\]&_^~\\]",
    re.S,
)
_SPACES = re.compile(r"\s+")
#: language is settled long before this many characters; fastText's cost is linear in the text
LID_PREFIX_CHARS = 20_000


def prose_for_lid(text: str, lang: str | None = None, max_chars: int = LID_PREFIX_CHARS) -> str:
    """The part of a document worth showing a language identifier: for LaTeX, the prose without markup,
    from a bounded prefix (a 10 MB source costs the same as a 100 KB one)."""
    if lang == "tex":
        text = _LATEX_NOISE.sub(" ", text[: max_chars * 4])
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


class LanguageIdFilter(BaseFilter):
    """Drop documents of the selected code languages (all documents when ``languages`` is empty) whose prose is
    not in ``keep``; a kept document without a language (a web page) gets the detected one as ``lang``.

    The prediction is stored as ``lid_lang``/``lid_score`` whether or not the document is kept, so a recipe can
    re-threshold later without running the model again.
    """

    name = "language id"

    def __init__(
        self,
        model: str,
        languages: list[str] | None = ["tex"],  # noqa: B006 - the contract's signature; never mutated
        keep: list[str] = ["en"],  # noqa: B006
        threshold: float = 0.5,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        # The model is not touched here: `--dry-run` builds steps with the recipe's unresolved path, and a
        # cluster path may exist only on workers. Call resolve_model(model) as a preflight check instead.
        self.model = model
        # empty/None = every document (web pages carry no code language)
        self.languages = frozenset(languages or ())
        self.keep = frozenset(keep)
        self.threshold = threshold
        self.identifier = LanguageIdentifier(model)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        doc_lang = doc.metadata.get("lang")
        if self.languages and doc_lang not in self.languages:
            return True
        lang, score = self.identifier.predict(prose_for_lid(doc.text, doc_lang))
        doc.metadata["lid_lang"] = lang
        doc.metadata["lid_score"] = score
        if lang in self.keep and score >= self.threshold:
            if not doc_lang:  # a web page's language is its prose's: it names the output shard
                doc.metadata["lang"] = lang
            return True
        return False, "wrong_language"
