"""Benchmark decontamination: registered benchmark loaders, an n-gram index and filter, and the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proofpile.lazy import lazy_getattr

if TYPE_CHECKING:
    from proofpile.decontam.benchmarks import BenchmarkError, BenchmarkItem, load
    from proofpile.decontam.ngrams import Decontaminator, DecontaminationFilter, Match

#: public name -> the module defining it, imported on first use: the CLI reads the stage's config
#: (`proofpile.decontam.stage`) at start-up, and that must not import datatrove
_EXPORTS = {
    "BenchmarkError": "proofpile.decontam.benchmarks",
    "BenchmarkItem": "proofpile.decontam.benchmarks",
    "load": "proofpile.decontam.benchmarks",
    "Decontaminator": "proofpile.decontam.ngrams",
    "DecontaminationFilter": "proofpile.decontam.ngrams",
    "Match": "proofpile.decontam.ngrams",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
