"""Benchmark decontamination: registered benchmark loaders, an n-gram index and filter, and the report."""

from proofpile.decontam.benchmarks import BenchmarkError, BenchmarkItem, load
from proofpile.decontam.ngrams import Decontaminator, DecontaminationFilter, Match

__all__ = ["BenchmarkError", "BenchmarkItem", "Decontaminator", "DecontaminationFilter", "Match", "load"]
