"""Throughput of AlgebraicStack's filter chain, per core, on a generated corpus (>= 200 MB by default).

    python bench/algebraic_stack.py [--mb 200] [--lid PATH]

Prints one table: per language the files, MB, share kept, files/s and MB/s of the plain rules core
(`code_rules.check`), then the whole datatrove chain in one process (notebook -> code rules -> language ID
-> chunk-exact dedup), and as a yardstick the cost of just hashing the same bytes with sha256 (the floor
any per-file pass pays). Single process on purpose: the numbers are per core.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

from datatrove.data import Document

from proofpile.dedup.exact import ChunkDedupFilter
from proofpile.extract.notebook import NotebookToMarkdown, notebook_to_markdown
from proofpile.filters.code_rules import CodeRulesFilter, check
from proofpile.filters.langid import LanguageIdFilter

WORDS = "alpha beta gamma delta sum prod norm eigen matrix vector field ring group ideal prime lemma".split()


def _ident(rng: random.Random) -> str:
    return "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))) + str(rng.randint(0, 99))


def _body(rng: random.Random, line: str, n: int) -> str:
    return "\n".join(line.format(a=_ident(rng), b=_ident(rng), n=rng.randint(0, 10**6)) for _ in range(n))


# per language: a header that makes most files pass, a line template, and a header that makes them fail
TEMPLATES = {
    "python": ("import numpy as np\nfrom scipy import linalg\n", "    {a} = np.dot({b}, {b}.T) + {n}", "import os\n"),
    "c": ("#include <fftw3.h>\n#include <gsl/gsl_matrix.h>\n", "  double {a} = {b}[{n} % 7] * 0.5;", "#include <stdio.h>\n"),
    "cpp": ("#include <Eigen/Dense>\n", "  Eigen::MatrixXd {a} = {b}.transpose() * {b};", "#include <vector>\n"),
    "haskell": ("import Numeric.LinearAlgebra\n", "{a} x = x <> tr x + scalar {n}", "import Data.List\n"),
    "julia": ("using LinearAlgebra\n", "{a} = eigvals({b}) .+ {n}", "[1,2]\n"),
    "r": ("library(stats)\n", "{a} <- solve({b}) %*% rnorm({n})", "{\n"),
    "tex": ("\\documentclass{article}\n\\begin{document}\n\\section{Results}\n",
            "We show that the {a} of every {b} is bounded, see Theorem {n}.", "\\documentclass{article}\n"),
    "coq": ("Require Import Arith.\n", "Theorem {a} : forall n : nat, n + 0 = n. Proof. auto. Qed.", "module m;\n"),
    "lean": ("import data.real.basic\n", "theorem {a} (x : ℝ) : x + 0 = x := by simp", "-- config\n"),
    "isabelle": ("theory T imports Main begin\n", "lemma {a}: \"(x::nat) + 0 = x\" by simp", "(* data *)\n"),
    "matlab": ("function y = f(x)\n", "  {a} = inv({b}) * x + {n};", "@interface Foo : NSObject\n"),
    "fortran": ("program main\n", "  {a} = sqrt(real({n}))", "program main\n"),
}


def _notebook(rng: random.Random, n: int) -> str:
    cells = [{"cell_type": "code", "source": ["import sympy as sp\n", _body(rng, "{a} = sp.Symbol('{b}')", n)],
              "outputs": [{"output_type": "stream", "name": "stdout", "text": [str(rng.random())]}],
              "metadata": {}, "execution_count": 1},
             {"cell_type": "markdown", "source": ["$$\\begin{equation} x^2 \\end{equation}$$"], "metadata": {}}]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def generate(total_mb: float, seed: int = 0) -> list[Document]:
    rng = random.Random(seed)
    docs, size, target = [], 0, int(total_mb * 2**20)
    langs = [*TEMPLATES, "jupyter"]
    i = 0
    while size < target:
        lang = langs[i % len(langs)]
        n = rng.choice((20, 60, 200, 800))  # lines: files from ~1 KB to ~50 KB
        if lang == "jupyter":
            text = _notebook(rng, n)
        else:
            good, line, bad = TEMPLATES[lang]
            text = (good if rng.random() < 0.8 else bad) + _body(rng, line, n) + "\n"
        ext = {"jupyter": "ipynb", "isabelle": "thy", "matlab": "m", "coq": "v", "lean": "lean"}.get(lang, "txt")
        docs.append(Document(text=text, id=f"{i:08d}", metadata={"lang": lang, "path": f"f{i}.{ext}", "repo": "bench/gen"}))
        size += len(text.encode())
        i += 1
    return docs


def _rate(n_files: int, n_bytes: int, seconds: float) -> tuple[str, str]:
    return f"{n_files / seconds:,.0f}", f"{n_bytes / 2**20 / seconds:,.1f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=200.0)
    default_lid = Path(__file__).resolve().parents[2] / "shared" / "data" / "models" / "lid.176.ftz"
    ap.add_argument("--lid", type=Path, default=default_lid)
    args = ap.parse_args()

    t0 = time.perf_counter()
    docs = generate(args.mb)
    total_bytes = sum(len(d.text.encode()) for d in docs)
    print(f"generated {len(docs):,} files, {total_bytes / 2**20:,.1f} MB in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    rows = []
    by_lang: dict[str, list[Document]] = {}
    for d in docs:
        by_lang.setdefault(d.metadata["lang"], []).append(d)
    for lang, group in sorted(by_lang.items()):
        nbytes = sum(len(d.text.encode()) for d in group)
        texts = [notebook_to_markdown(d.text) for d in group] if lang == "jupyter" else [d.text for d in group]
        t = time.perf_counter()
        kept = sum(check(lang, text, d.metadata["path"], "bench/gen").keep for text, d in zip(texts, group))
        dt = time.perf_counter() - t
        rows.append((f"rules: {lang}", len(group), nbytes, f"{kept / len(group):.0%}", *_rate(len(group), nbytes, dt)))

    steps = [NotebookToMarkdown(), CodeRulesFilter()]
    if args.lid.is_file():
        steps.append(LanguageIdFilter(model=str(args.lid), languages=["tex"], keep=["en"]))
    else:
        print(f"note: {args.lid} not found, language ID left out of the chain", file=sys.stderr)
    steps.append(ChunkDedupFilter())
    fresh = [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs]
    t = time.perf_counter()
    data = iter(fresh)
    for step in steps:
        data = step.run(data)
    kept = sum(1 for _ in data)
    dt = time.perf_counter() - t
    rows.append(("whole chain (datatrove steps)", len(docs), total_bytes, f"{kept / len(docs):.0%}", *_rate(len(docs), total_bytes, dt)))

    t = time.perf_counter()
    for d in docs:
        hashlib.sha256(d.text.encode()).digest()
    dt = time.perf_counter() - t
    rows.append(("yardstick: utf-8 encode + sha256", len(docs), total_bytes, "-", *_rate(len(docs), total_bytes, dt)))

    header = ("what", "files", "MB", "kept", "files/s/core", "MB/s/core")
    table = [header] + [(r[0], f"{r[1]:,}", f"{r[2] / 2**20:,.1f}", r[3], r[4], r[5]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for j, row in enumerate(table):
        print("  ".join(c.ljust(widths[0]) if k == 0 else c.rjust(widths[k]) for k, c in enumerate(row)))
        if j == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
