"""Labelled examples for the math classifier: JSONL(.gz) records -> (text, label) pairs, and the held-out
split that `classifier train` leaves out and `classifier eval` measures on.

The split is a hash of the text, not a position or a random draw, so it is the same for any file order and
on every run, and `train` and `eval` agree on it without sharing any state.
"""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import xxhash

from proofpile.classifier.raw import latex_label, strip_latex
from proofpile.errors import ProofpileError

SPLITS = ("train", "held-out", "all")
HOLDOUT = 0.1
_SPLIT_SEED = 20240611
_POSITIVE = {"math", "1", "true", "yes", "positive", "pos", "__label__math"}
_NEGATIVE = {"other", "nonmath", "non-math", "no_math", "0", "false", "no", "negative", "neg", "__label__other"}


class DataError(ProofpileError, ValueError):
    """An unusable data file (missing, unreadable, or with no usable record)."""


def parse_label(value) -> int | None:
    """1 for math, 0 for anything else named as such; None when the value is not a label we know."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _POSITIVE:
            return 1
        if v in _NEGATIVE:
            return 0
    return None


def is_held_out(text: str, holdout: float = HOLDOUT) -> bool:
    return xxhash.xxh64_intdigest(text.encode("utf-8", "surrogatepass"), seed=_SPLIT_SEED) % 1_000_000 < holdout * 1_000_000


def read_examples(
    path: str | Path,
    *,
    text_field: str = "text",
    label_field: str = "label",
    from_raw: bool = False,
    split: str = "all",
    holdout: float = HOLDOUT,
    problems: Counter | None = None,
    warn=None,
) -> Iterator[tuple[str, int]]:
    """(text, label) pairs of one split of a JSONL(.gz) file, label 1 = math.

    With ``from_raw`` the label field is not read: a record is math when its text has LaTeX math in it, and
    the LaTeX is stripped from the text (OpenWebMath's trick, so the model learns the prose around formulas).
    Bad records are skipped, counted in ``problems`` by reason and reported through ``warn`` in one line
    naming the file and line; the split is taken on the text as stored.
    """
    path = Path(path)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    if not path.is_file():
        raise DataError(f"classifier data not found: {path}")
    problems = Counter() if problems is None else problems

    def bad(lineno: int, reason: str, what: str) -> None:
        problems[reason] += 1
        if warn is not None:
            warn(f"{path}:{lineno}: {what}; record skipped")

    from proofpile.jsonl import parse_line

    # bytes in, each line decoded and parsed on its own (proofpile.jsonl.parse_line never raises): a bad byte or
    # a line nested too deep costs that line, not the file
    lineno = 0
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                record, reason, detail = parse_line(line.removeprefix(b"\xef\xbb\xbf") if lineno == 1 else line)
                if record is None and reason != "not_an_object":
                    bad(lineno, reason, detail)
                    continue
                text = record.get(text_field) if isinstance(record, dict) else None
                if not isinstance(text, str):
                    bad(lineno, "no_text", f"no string field {text_field!r}")
                    continue
                if split != "all" and is_held_out(text, holdout) != (split == "held-out"):
                    continue
                if from_raw:
                    yield strip_latex(text), latex_label(text)
                    continue
                label = parse_label(record.get(label_field))
                if label is None:
                    bad(lineno, "bad_label", f"label {record.get(label_field)!r} in {label_field!r} is not math/other")
                    continue
                yield text, label
    except (OSError, EOFError, zlib.error) as e:  # a truncated or corrupt .gz: the examples before it are kept
        problems["file_damaged"] += 1
        if warn is not None:
            warn(f"{path}: unreadable after line {lineno} ({type(e).__name__}); rest of file skipped")
