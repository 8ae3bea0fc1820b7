"""Train a fastText math classifier, reproducibly: one thread and a fixed seed make fastText's SGD a pure
function of the training file, and the file is written in a seeded order, so the same examples and
parameters give a byte-identical model."""

from __future__ import annotations

import multiprocessing
import os
import random
import tempfile
from collections.abc import Iterable
from pathlib import Path

from proofpile.atomic import atomic_path
from proofpile.classifier.data import read_examples
from proofpile.classifier.raw import strip_latex
from proofpile.filters.math_classifier import MATH_LABEL, OTHER_LABEL, fasttext_line

#: what the shipped model was trained with (scripts/train_math_classifier.py)
DEFAULTS = {"epochs": 5, "lr": 0.2, "wordNgrams": 2, "dim": 32, "cutoff": 50_000, "piece_chars": 1_000, "seed": 0}
MIN_PIECE_CHARS = 150


def _pieces(text: str, max_chars: int) -> list[str]:
    """``text`` cut at paragraph breaks into pieces of at most ``max_chars`` (a longer paragraph is cut
    hard)."""
    pieces, current = [], ""
    for para in text.split("\n\n"):
        while len(para) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(para[:max_chars])
            para = para[max_chars:]
        if current and len(current) + 2 + len(para) > max_chars:
            pieces.append(current)
            current = para
        else:
            current = f"{current}\n\n{para}" if current else para
    if current:
        pieces.append(current)
    return pieces


def _training_lines(
    examples: Iterable[tuple[str, int]], *, balance: bool, piece_chars: int | None, strip_copies: bool, seed: int
) -> list[str]:
    by_label: dict[int, list[str]] = {0: [], 1: []}
    rng = random.Random(seed)
    for text, label in examples:
        texts = [text]
        if label and strip_copies and (stripped := strip_latex(text)).split() != text.split():
            texts.append(stripped)
        for t in texts:
            # pieces of a random size up to piece_chars, so both labels span the same lengths: otherwise
            # fastText learns "short = math" (problems are short, articles long) through the end-of-line
            # token, whose weight in the average grows as the text shrinks
            size = rng.randint(MIN_PIECE_CHARS, piece_chars) if piece_chars else 0
            for piece in _pieces(t, size) if piece_chars else [t]:
                if line := fasttext_line(piece):
                    by_label[1 if label else 0].append(f"{MATH_LABEL if label else OTHER_LABEL} {line}")
    if not by_label[0] or not by_label[1]:
        raise ValueError(f"need examples of both labels, got {len(by_label[1])} math and {len(by_label[0])} other")
    if balance:
        # oversample the smaller class to the larger one's count: fastText has no class weights, and an
        # imbalanced file shifts every score towards the majority label, which would move the 0.17/0.8 rule
        small, large = sorted(by_label.values(), key=len)
        extra = len(large) - len(small)
        small.extend(small * (extra // len(small)) + rng.sample(small, extra % len(small)))
    lines = by_label[0] + by_label[1]
    rng.shuffle(lines)
    return lines


def train_classifier(
    examples: Iterable[tuple[str, int]] | str | os.PathLike,
    out: Path,
    *,
    epochs: int = DEFAULTS["epochs"],
    lr: float = DEFAULTS["lr"],
    wordNgrams: int = DEFAULTS["wordNgrams"],
    dim: int = DEFAULTS["dim"],
    quantize: bool = True,
    cutoff: int = DEFAULTS["cutoff"],
    piece_chars: int | None = DEFAULTS["piece_chars"],
    strip_copies: bool = True,
    balance: bool = True,
    seed: int = DEFAULTS["seed"],
) -> Path:
    """Train on (text, label 1=math) pairs, or on every record of a labelled JSONL(.gz) file, and write the
    model to ``out`` (quantized, .ftz-sized, keeping the ``cutoff`` most useful words and n-grams, unless
    ``quantize=False``). The file appears only when complete.

    Texts are cut into pieces of random size up to ``piece_chars`` (see `_training_lines`); with
    ``strip_copies`` every math text with LaTeX is also trained on without it, so formulas lost by an
    extractor (or never written in TeX) do not make a mathematical page look like prose; ``balance``
    oversamples the smaller label."""
    if isinstance(examples, (str, os.PathLike)):
        examples = read_examples(examples)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = _training_lines(examples, balance=balance, piece_chars=piece_chars, strip_copies=strip_copies, seed=seed)
    # written beside the target and renamed, so a reader never loads a half-written model
    with atomic_path(out) as partial, tempfile.TemporaryDirectory(prefix="proofpile-classifier-") as tmp:
        data = Path(tmp) / "train.txt"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        params = dict(input=str(data), epoch=epochs, lr=lr, wordNgrams=wordNgrams, dim=dim, loss="softmax",
                      minCount=2, bucket=1_000_000, thread=1, seed=seed, verbose=0)
        # fastText is trained in a fresh process: inside a long-lived one (a test session that had loaded
        # other native libraries and models) it sometimes stopped with "Encountered NaN" on inputs that
        # train cleanly, and every retry in that process failed the same way, which points at state the
        # process carries rather than at the data. A fresh interpreter trains the same bytes every time.
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            pool.apply(_train_to_file, (params, quantize, cutoff, str(partial)))
    return out


def _train_to_file(params: dict, quantize: bool, cutoff: int, path: str) -> None:
    import fasttext

    model = fasttext.train_supervised(**params)
    if quantize:
        model.quantize(input=params["input"], qnorm=True, retrain=True, cutoff=cutoff, thread=1, verbose=0)
    model.save_model(path)
