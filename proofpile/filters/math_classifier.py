"""MathScore: a fastText "is this page mathematical?" score, and the OpenWebMath keep/drop rule on it.

OpenWebMath keeps a page when its MathScore is >= 0.17 if the extractor found formulas, and >= 0.8 if it
found none: prose that merely talks about numbers must be far more convincing than a page with LaTeX in it.
The score is stored as ``metadata["math_score"]`` on every document, kept or not, so a recipe can
re-threshold without running the model again.

The package ships a small quantized model trained by ``scripts/train_math_classifier.py`` (see
``proofpile/models/README.md`` for its data, licenses and held-out metrics); any fastText supervised model
with a ``__label__math`` label works in its place.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field

from proofpile.stage_registry import StageConfig, declare_stage, recipe_path

MATH_LABEL = "__label__math"
OTHER_LABEL = "__label__other"
#: whether a page is about mathematics is settled by its first pages of text; fastText's cost is linear
MAX_CHARS = 10_000

# LaTeX command names, words, numbers, and every other visible character on its own, so `$x^2$,` gives
# `x ^ 2 ,` rather than one opaque token. This function defines the model's features: the shipped model is
# only valid for exactly this tokenisation, which is why it is not shared with proofpile.normalize (whose
# comparison form may evolve for dedup without retraining anything). Changing it means retraining.
_TOKEN = re.compile(r"\\[a-z]+|[^\W\d_]+|\d+|[^\w\s]|_")


def fasttext_line(text: str, max_chars: int = MAX_CHARS) -> str:
    """The one-line, lowercased, tokenised form of a bounded prefix of ``text`` that the model reads (for
    training and scoring alike)."""
    return " ".join(_TOKEN.findall(text[:max_chars].lower()))


def default_model_path() -> Path:
    """The model shipped in the package."""
    return Path(str(resources.files("proofpile") / "models" / "math_classifier.ftz"))


def resolve_model(model: str | os.PathLike | None) -> Path:
    """Local path of ``model`` (None: the shipped model), or a one-line FileNotFoundError."""
    path = default_model_path() if model is None else Path(model).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"math classifier model not found: {path}")
    return path


class MathClassifier:
    """P(math) for a text. The model loads on the first score and is left out of pickles, because steps are
    pickled to worker processes and each worker loads its own copy."""

    def __init__(self, model: str | os.PathLike | None = None):
        self.model_path = None if model is None else str(model)
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from proofpile.fasttext_models import load_fasttext

            path = resolve_model(self.model_path)
            model = load_fasttext(path)
            if MATH_LABEL not in model.get_labels():
                raise ValueError(f"{path}: not a math classifier (labels {model.get_labels()}, need {MATH_LABEL})")
            self._model = model
        return self._model

    def score(self, text: str) -> float:
        line = fasttext_line(text)
        if not line:
            return 0.0
        labels, probs = self.model.predict(line, k=-1)
        for label, prob in zip(labels, probs):
            if label == MATH_LABEL:
                return min(1.0, max(0.0, float(prob)))
        return 0.0

    def __getstate__(self):
        return {**self.__dict__, "_model": None}


def math_verdict(step: BaseFilter, doc: Document, threshold_math: float,
                 threshold_nomath: float) -> bool | tuple[bool, str]:
    """OpenWebMath's rule on the stored ``math_score``, shared by the scoring filter and the decide step."""
    if doc.metadata.get("math_found") is True:
        step.stat_update("with_math")
        threshold = threshold_math
    else:
        step.stat_update("without_math")
        threshold = threshold_nomath
    if doc.metadata["math_score"] >= threshold:
        return True
    return False, "low_math_score"


class MathScoreFilter(BaseFilter):
    """Keep documents whose MathScore clears the threshold for their kind: ``threshold_math`` when the
    extractor recorded ``metadata["math_found"] = True``, else the stricter ``threshold_nomath``. With
    ``decide=False`` it only scores; ``MathScoreDecision`` applies the thresholds later."""

    name = "math classifier"

    def __init__(
        self,
        model: str | None = None,
        threshold_math: float = 0.17,
        threshold_nomath: float = 0.8,
        exclusion_writer=None,
        decide: bool = True,
    ):
        super().__init__(exclusion_writer)
        # The model is not touched here (`--dry-run` builds steps too); resolve_model(model) is the preflight.
        self.model = model
        self.threshold_math = threshold_math
        self.threshold_nomath = threshold_nomath
        self.decide = decide
        self.classifier = MathClassifier(model)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        doc.metadata["math_score"] = self.classifier.score(doc.text)
        if not self.decide:
            self.stat_update("scored")
            return True
        return math_verdict(self, doc, self.threshold_math, self.threshold_nomath)


class MathScoreDecision(BaseFilter):
    """The thresholds applied to a stored ``math_score``; a document without one (never scored) passes."""

    name = "math classifier"

    def __init__(self, threshold_math: float = 0.17, threshold_nomath: float = 0.8, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.threshold_math = threshold_math
        self.threshold_nomath = threshold_nomath

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if "math_score" not in doc.metadata:
            return True
        return math_verdict(self, doc, self.threshold_math, self.threshold_nomath)


class MathClassifierStage(StageConfig):
    model: str | None = Field(None, description="fastText MathScore model; none = the one shipped in the package")
    threshold_math: float = Field(0.17, ge=0.0, le=1.0, description="when the extractor found math")
    threshold_nomath: float = Field(0.8, ge=0.0, le=1.0, description="when it found none")


def _decision(cfg, plan):
    return MathScoreDecision(threshold_math=cfg.threshold_math, threshold_nomath=cfg.threshold_nomath)


@declare_stage("math_classifier", config=MathClassifierStage, where="per_document", order=60,
               purpose="MathScore fastText classifier", decisions=("threshold_math", "threshold_nomath"),
               decide=_decision, signals=("math_score", "math_found"))
def _stage(cfg, plan):
    return MathScoreFilter(model=recipe_path(plan, cfg.model), threshold_math=cfg.threshold_math,
                           threshold_nomath=cfg.threshold_nomath, decide=False)
