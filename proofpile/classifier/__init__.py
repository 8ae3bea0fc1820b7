"""Training and evaluation of the math classifier that `proofpile.filters.math_classifier` applies."""

from proofpile.classifier.data import DataError, is_held_out, read_examples
from proofpile.classifier.evaluate import evaluate, format_report
from proofpile.classifier.raw import latex_label, strip_latex
from proofpile.classifier.train import train_classifier

__all__ = ["DataError", "evaluate", "format_report", "is_held_out", "latex_label", "read_examples", "strip_latex", "train_classifier"]
