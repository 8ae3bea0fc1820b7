import json

import pytest
from datatrove.data import Document

from proofpile.filters.code_rules import (
    EXTENSIONS,
    LANGUAGES,
    CodeRulesFilter,
    Verdict,
    check,
    numerical_density,
    python_math_imports,
    standard_filter,
)


def keep(lang, text, path="", repo=""):
    v = check(lang, text, path, repo)
    assert v.keep, f"expected keep, got {v.reason}"
    return v


def drop(lang, text, reason, path="", repo=""):
    v = check(lang, text, path, repo)
    assert not v.keep and v.reason == reason, f"expected drop {reason}, got keep={v.keep} reason={v.reason}"
    return v


# ---------------------------------------------------------------------------------------------------- shared


def test_languages_and_extensions_agree():
    assert set(EXTENSIONS) == set(LANGUAGES)
    assert EXTENSIONS["coq"] == (".v",) and EXTENSIONS["matlab"] == (".m",)
    assert ".R" in EXTENSIONS["r"] and ".F90" in EXTENSIONS["fortran"]
    assert ".mw" not in EXTENSIONS["maple"]


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="cobol"):
        check("cobol", "IDENTIFICATION DIVISION.")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", 0.0),
        ("   \n\t  ", 0.0),
        ("abcd", 0.0),
        ("1234", 1.0),
        ("12 ab", 0.5),
        ("1\n2\n3\nx", 0.75),
        ("x = 3.14  # π", 3 / 8),  # non-ASCII path
        ("١٢٣ ab", 0.0),  # Arabic-Indic digits are not counted: only ASCII 0-9
        ("7\u00a0\u3000x", 0.5),  # Unicode spaces are whitespace in the non-ASCII path
    ],
)
def test_numerical_density(text, expected):
    assert numerical_density(text) == pytest.approx(expected)


def _reference_density(text):
    visible = [c for c in text if not c.isspace()]
    return sum(c in "0123456789" for c in visible) / len(visible) if visible else 0.0


@pytest.mark.parametrize(
    "text",
    [
        "for i in range(10):\n\tx[i] = 2 * i + 1\x0c\x1c\n",
        "for i in range(10):\n\tx[i] = 2 * i + 1\x0c\x1c\n é",
        "θ = 2π · 10⁻³\u2003rad",
        "1\r\n2\x0b3",
    ],
)
def test_numerical_density_matches_reference_on_both_paths(text):
    assert numerical_density(text) == pytest.approx(_reference_density(text))


def test_standard_filter_edges():
    assert standard_filter("").reason == "empty"
    assert standard_filter(" \n ").reason == "empty"
    assert standard_filter("x" * 1_048_575).keep
    assert standard_filter("x" * 1_048_576).reason == "too_large"
    # size is in UTF-8 bytes, not characters
    assert standard_filter("é" * 524_288).reason == "too_large"
    assert standard_filter("é" * 524_287).keep
    half = standard_filter("ab12")
    assert half.keep and half.signals["numerical_density"] == 0.5
    assert standard_filter("a123").reason == "numerical_density"
    assert standard_filter("a123", max_density=0.8).keep


def test_verdict_is_frozen():
    v = Verdict(True)
    with pytest.raises(Exception):
        v.keep = False  # type: ignore[misc]
    assert v.signals == {}


# ---------------------------------------------------------------------------------------------------- python

NUMPY_SCRIPT = '''"""Power iteration for the dominant eigenpair."""
import os
import numpy as np


def power_iteration(a, steps=100):
    v = np.ones(a.shape[0])
    for _ in range(steps):
        v = a @ v
        v /= np.linalg.norm(v)
    return v @ a @ v, v
'''


def test_python_keeps_real_math_imports():
    v = keep("python", NUMPY_SCRIPT)
    assert v.signals["math_imports"] == ["numpy"]
    assert "numerical_density" in v.signals


@pytest.mark.parametrize(
    "line,expected",
    [
        ("import numpy as np", ["numpy"]),
        ("import os, numpy", ["numpy"]),
        ("import numpy.linalg", ["numpy"]),
        ("from scipy.linalg import solve", ["scipy"]),
        ("from sage.all import *", ["sage"]),
        ("import jax.numpy as jnp", ["jax"]),
        ("from jax import grad, jit", ["jax"]),
        ("import sympy as sp, mpmath", ["mpmath", "sympy"]),
        ("    import networkx as nx", ["networkx"]),
        ("\timport cvxpy", ["cvxpy"]),
        ("import os; import numba", ["numba"]),
        ("import os, \\\n    statsmodels.api as sm", ["statsmodels"]),
        ("import numpyro", []),
        ("import jaxlib", []),
        ("import sympyish", []),
        ("from numpy_financial import npv", []),
        ("from .numpy import helpers", []),
        ("# import numpy", []),
        ("#import scipy", []),
        ("x = 1  # import numpy", []),
        ('print("import numpy")', []),
        ("msg = 'from scipy import stats'", []),
        ("mynumpy = 1", []),
        ("reimport numpy", []),
    ],
)
def test_python_import_matching(line, expected):
    assert python_math_imports(line + "\n") == expected


def test_python_import_inside_docstring_is_not_an_import():
    text = 'def f():\n    """Example:\n\n    import numpy as np\n    from scipy import linalg\n    """\n    return 1\n'
    assert python_math_imports(text) == []
    drop("python", text, "no_math_import")
    # ...but a real import after the docstring still counts
    assert python_math_imports(text + "import numpy\n") == ["numpy"]


def test_python_string_with_quote_characters_does_not_confuse_the_scan():
    text = "s = \"it's\"  # don't\nt = '\"\"\"'\nimport scipy\n"
    assert python_math_imports(text) == ["scipy"]


def test_python_rejects_json_and_plain_scripts():
    drop("python", '  {"cells": [], "metadata": {"import numpy": 1}}', "json")
    drop("python", "import os\nprint(os.getcwd())\n", "no_math_import")
    drop("python", "", "empty")
    drop("python", "import numpy\n" + "1234567890," * 200, "numerical_density")


# ---------------------------------------------------------------------------------------------------- C / C++

C_FFT = """#include <stdio.h>
#include <fftw3.h>

int main(void) {
    fftw_complex *in = fftw_malloc(sizeof(fftw_complex) * 64);
    fftw_plan p = fftw_plan_dft_1d(64, in, in, FFTW_FORWARD, FFTW_ESTIMATE);
    fftw_execute(p);
    return 0;
}
"""


def test_c_fftw3_and_rfftw_are_kept():
    assert keep("c", C_FFT).signals["math_includes"] == ["fftw3.h"]
    assert keep("c", '#include "rfftw.h"\nvoid f(void) {}\n').signals["math_includes"] == ["rfftw.h"]


@pytest.mark.parametrize(
    "include",
    [
        "#include <gsl/gsl_linalg.h>",
        '#include "gsl_matrix.h"',
        "#include <cblas.h>",
        "#  include <lapacke.h>",
        "#include<nlopt.h>",
        '#include "petsc.h"',
        "#include <fftw.h>",
        "#include <blas.h>",
    ],
)
def test_c_math_headers(include):
    keep("c", include + "\nint solve(double *a, int n);\n")


def test_c_without_math_headers_is_dropped():
    drop("c", "#include <stdio.h>\n#include <stdlib.h>\nint main(void) { puts(\"hi\"); }\n", "no_math_include")
    drop("c", "// #include <fftw3.h> is optional\nint main(void) { return 0; }\n", "no_math_include")
    drop("c", "#include <fftw3_wrapper.h>\nint f(void);\n", "no_math_include")


@pytest.mark.parametrize(
    "include",
    [
        "#include <boost/math/special_functions/gamma.hpp>",
        "#include <Eigen/Dense>",
        "#include <eigen3/Eigen/Sparse>",
        "#include <armadillo>",
        "#include <deal.II/base/function.h>",
        "#include <NTL/ZZ.h>",
        "#include <dlib/optimization.h>",
        "#include <blitz/array.h>",
        "#include <mtl/matrix.h>",
        "#include <adept.h>",
        "#include <adept_arrays.h>",
        '#include "linalg.h"',
        '#include "specialfunctions.h"',
        "#include <alglib/ap.h>",
    ],
)
def test_cpp_math_headers(include):
    keep("cpp", include + "\nint main() { return 0; }\n")


def test_cpp_rejects_and_density_cap():
    drop("cpp", "#include <vector>\n#include <iostream>\nint main() { std::vector<int> v; }\n", "no_math_include")
    drop("cpp", '#include "mylinalg.h"\n#include <boostish/x.h>\nint main() {}\n', "no_math_include")
    # 0.1 is the C++ cap: a table of constants that C would accept is too dense for C++
    table = "#include <Eigen/Dense>\nconst double weights[] = {" + ", ".join(["w0.5"] * 40) + "};\n"
    assert 0.1 < numerical_density(table) <= 0.5
    drop("cpp", table, "numerical_density")
    keep("c", table.replace("Eigen/Dense", "cblas.h"))


# ---------------------------------------------------------------------------------------------------- Haskell

HS = """module Main where

import qualified Numeric.LinearAlgebra.Data as D
import Data.List (foldl')

main :: IO ()
main = print (D.ident 3 :: D.Matrix Double)
"""


@pytest.mark.parametrize(
    "imp",
    [
        "import Numeric.LinearAlgebra",
        "import qualified Numeric.LinearAlgebra.Data as D",
        "import Statistics.Distribution (cumulative)",
        "import Data.Complex",
        "import Numeric.SpecFunctions (logGamma)",
        "import Numeric.Vector",
        "import Numeric.LinearAlgebra qualified as L",
    ],
)
def test_haskell_math_imports(imp):
    keep("haskell", f"module M where\n{imp}\nf x = x\n")


def test_haskell_rejects():
    assert keep("haskell", HS).signals["math_imports"] == ["Numeric.LinearAlgebra"]
    drop("haskell", "module M where\nimport Data.List\nimport StatisticsHelpers\nf = id\n", "no_math_import")
    drop("haskell", "module M where\n-- import Data.Complex\nf = id\n", "no_math_import")


# ---------------------------------------------------------------------------------------------------- Julia


def test_julia_small_files_kept_and_bad_first_char():
    keep("julia", "using LinearAlgebra\nA = rand(3, 3)\n@show det(A)\n")
    drop("julia", "", "empty")
    for first in "%{[":
        drop("julia", first + "\n x = 1\n", "not_julia")


def test_julia_large_files_only_as_test_suites():
    tests = "using Test\n" + "".join(f"@test f({i}) == g({i})\n" for i in range(8000))
    assert len(tests.encode()) >= 100_000
    v = keep("julia", tests)
    assert v.signals["test_ratio"] >= 0.1
    code = "".join(f"function f{i}(x)\n    return x * x + y\nend\n" for i in range(4000))
    assert len(code.encode()) >= 100_000
    drop("julia", code, "too_large")
    numeric_tests = "".join(f"@test v[{i}] == {i * 997}\n" for i in range(8000))
    drop("julia", numeric_tests, "numerical_density")
    # just under the threshold: kept without looking at test density
    assert check("julia", "x = 1\n" * 16_666).keep


# ---------------------------------------------------------------------------------------------------- R, Maple


def test_r_rules():
    keep("r", "library(MASS)\nfit <- lm(y ~ x, data = df)\nsummary(fit)\n")
    drop("r", "/* Resource fork data */\ndata 'icns' (128) {};\n", "resource_fork")
    drop("r", 'designated => Requirement {  Identifier "com.example.app" }\n', "requirement_file")
    drop("r", '<?xml version="1.0"?>\n<plist></plist>\n', "xml")
    drop("r", '{"name": "pkg"}\n', "json")


def test_maple_rules():
    keep("maple", "f := proc(n) option remember; if n < 2 then n else f(n-1) + f(n-2) end if end proc;\n")
    drop("maple", '<?xml version="1.0" encoding="UTF-8"?>\n<Worksheet/>\n', "xml")
    drop("maple", "f := x -> x^2;\n" * 8000, "too_large")


# ---------------------------------------------------------------------------------------------------- TeX, Jupyter

TEX = r"""\documentclass{amsart}
\begin{document}
\section{Preliminaries}
Let $G$ be a finite group and $H \le G$ a subgroup.
\subsection*{Notation}
We write $[G:H]$ for the index.
\end{document}
"""


def test_tex_rules():
    keep("tex", TEX, path="paper/main.tex")
    keep("tex", r"\chapter[short]{Long title} text", path="book.tex")
    keep("tex", r"\subsubsection*{x} text")
    keep("tex", r"\paragraph{Remark.} text")
    drop("tex", TEX, "latex_path", path="docs/latex/refman.tex")
    drop("tex", TEX.replace("finite group", "finite group (plotted with gnuplot)"), "gnuplot")
    drop("tex", "% GNUPLOT: LaTeX picture\n\\begin{picture}(0,0)\\end{picture}\n\\section{x}", "gnuplot")
    drop("tex", r"\begin{tabular}{cc} a & b \end{tabular}", "no_sectioning")
    drop("tex", r"\sectionmark text \newsection", "no_sectioning")
    # the TeX cap is 10 MB, far above the default
    assert check("tex", TEX + "%" * 2_000_000).keep


def test_jupyter_rules():
    keep("jupyter", "# Heat equation\n\n$$\\begin{equation} u_t = u_{xx} \\end{equation}$$\n")
    keep("jupyter", "```python\nfrom sympy import symbols\n```\n")
    keep("jupyter", "```python\nimport sympy as sp\n```\n")
    keep("jupyter", "\\begin{align} a &= b \\end{align}")
    drop("jupyter", "```python\nimport pandas as pd\n```\n", "no_math_markers")
    drop("jupyter", "", "empty")


@pytest.mark.parametrize("lang", ["gap", "idris", "agda", "fortran"])
def test_standard_only_languages(lang):
    keep(lang, "-- some source\nx := 1;\n")
    drop(lang, "   ", "empty")
    drop(lang, "1 2 3 4 5 6 7 8 9 0 x", "numerical_density")


# ---------------------------------------------------------------------------------------------------- Coq (.v)

COQ = """Require Import Arith.

Fixpoint sum_to (n : nat) : nat :=
  match n with 0 => 0 | S k => n + sum_to k end.

Theorem sum_to_closed : forall n, 2 * sum_to n = n * (n + 1).
Proof.
  induction n as [|k IH]; simpl; lia.
Qed.
"""

VERILOG = """// 4-bit counter
module counter (
    input  wire       clk,
    input  wire       rst_n,
    output reg  [3:0] q
);
  always @(posedge clk or negedge rst_n) begin
    if (!rst_n) q <= 4'd0;
    else        q <= q + 4'd1;
  end
endmodule
"""


def test_coq_kept_and_lexer_recorded():
    v = keep("coq", COQ, path="theories/Sum.v")
    assert v.signals["lexer"] in ("Coq", "Rocq Prover")


def test_verilog_trap_is_dropped():
    v = drop("coq", VERILOG, "verilog", path="rtl/counter.v")
    assert v.signals["lexer"].lower() == "verilog"
    # even a Verilog file quoting a Coq keyword in a comment stays Verilog
    drop("coq", "// Definition: a counter\n" + VERILOG, "verilog")


def test_coq_markers_outrank_pygments():
    # pygments only calls a file Coq when it has both Proof and Qed; otherwise substrings like "reg" and
    # "assign" tip it to Verilog. The markers know better: this is Coq.
    text = "Definition register_assignment (r : nat) := r + 1.\nInductive color := Red | Green.\n"
    v = keep("coq", text)
    assert v.signals["lexer"].lower() == "verilog"


def test_coq_other_rejects():
    drop("coq", "Require Import List.\nCheck nil.\n", "no_coq_keyword")
    drop("coq", "(* This file was automatically generated by coq_makefile *)\n" + COQ, "auto_generated")
    drop("coq", COQ.replace("simpl", "simpl (* wire *)"), "verilog")
    drop("coq", "", "empty")


# ---------------------------------------------------------------------------------------------------- MATLAB (.m)

MATLAB = """function [q, r] = gram_schmidt(A)
% GRAM_SCHMIDT  Thin QR factorisation by classical Gram-Schmidt.
[m, n] = size(A);
q = zeros(m, n); r = zeros(n);
for j = 1:n
    v = A(:, j);
    for i = 1:j-1
        r(i, j) = q(:, i)' * A(:, j);
        v = v - r(i, j) * q(:, i);
    end
    r(j, j) = norm(v);
    q(:, j) = v / r(j, j);
end
end
"""

SCRIPT = """% plot a damped oscillation
t = linspace(0, 10, 500);
y = exp(-t/3) .* cos(2*pi*t);
M = [t y];
plot(t, y); grid on
"""

OBJC = """#import <Foundation/Foundation.h>

@interface Vector : NSObject
@property (nonatomic) double x;
@end

@implementation Vector
- (double)norm { return fabs(self.x); }
@end
"""


def test_matlab_kept():
    assert keep("matlab", MATLAB).signals["lexer"] == "Matlab"
    # "[t y]" looks like an Objective-C message send to pygments (0.8); the file is still MATLAB
    keep("matlab", SCRIPT)


def test_objective_c_trap():
    assert drop("matlab", OBJC, "objective_c").signals["lexer"] == "Objective-C"
    drop("matlab", "@interface Foo : NSObject\n@end\n", "objective_c")
    # no marker from the list, but pygments is certain (@protocol ... @end)
    drop("matlab", "@protocol Drawable\n- (void)draw;\n@end\n", "objective_c")


def test_c_in_m_file():
    drop("matlab", "#include <stdio.h>\nint main(void) { return 0; }\n", "c_source")
    drop("matlab", "int main(int argc, char **argv) { return 0; }\n", "c_source")


def test_mathematica_m_files():
    drop("matlab", '(* ::Package:: *)\n\nBeginPackage["Collatz`"]\nstep::usage = "";\n', "mathematica")
    drop("matlab", 'BeginPackage["Foo`"]\nEndPackage[]\n', "mathematica")
    drop("matlab", "fib[n_] := fib[n - 1] + fib[n - 2]\nfib[0] = 0;\n", "mathematica")
    # MATLAB indexing with a trailing underscore-free argument is not a Mathematica pattern
    keep("matlab", "x = a(1);\nb = c(2) + x;\n")


def test_mason_m_file():
    drop("matlab", "<%init>\nmy $x = 1;\n</%init>\n<p><% $x %></p>\n", "mason")


# ---------------------------------------------------------------------------------------------------- Lean

LEAN = """import Mathlib.Data.Nat.Prime

open Nat

theorem two_le_of_prime {p : ℕ} (hp : p.Prime) : 2 ≤ p := hp.two_le

lemma sq_nonneg' (a : ℤ) : 0 ≤ a ^ 2 := by positivity

example : 2 + 2 = 4 := rfl
"""

MINIF2F = """import Mathlib

theorem mathd_algebra_478 (b h v : ℝ) (h₀ : 0 < b ∧ 0 < h ∧ 0 < v) (h₁ : v = 1 / 3 * (b * h))
    (h₂ : b = 30) (h₃ : h = 13 / 2) : v = 65 := by
  sorry

theorem amc12a_2019_p21 (z : ℂ) (h₀ : z = (1 + Complex.I) / Real.sqrt 2) : True := by
  trivial
"""

PROOFNET = """import Mathlib
open Real

-- Rudin, Principles of Mathematical Analysis
theorem exercise_1_13a {x y : ℂ} : |(abs x) - (abs y)| ≤ abs (x - y) := by sorry

theorem exercise_2_1_18 {G : Type*} [Group G] [Fintype G] (hG2 : Even (Fintype.card G)) :
    ∃ a : G, a ≠ 1 ∧ a = a⁻¹ := by sorry
"""


def test_lean_keeps_ordinary_files():
    assert keep("lean", LEAN, path="Src/Prime.lean").signals["benchmark_names"] == 0
    keep("lean", "example (a b : Nat) : a + b = b + a := Nat.add_comm a b\n")


def test_lean_rejects_without_theorems_and_vendored_paths():
    drop("lean", "def double (n : Nat) : Nat := 2 * n\n", "no_theorem")
    for path in (
        "build/_target/deps/mathlib/src/algebra/group.lean",
        ".lake/packages/mathlib/Mathlib/Order/Basic.lean",
        "lake-packages/std/Std/Data/List.lean",
    ):
        drop("lean", LEAN, "vendored_path", path=path)


@pytest.mark.parametrize("text", [MINIF2F, PROOFNET])
def test_lean_benchmark_copies(text):
    v = drop("lean", text, "benchmark_copy", path="Bench.lean")
    assert v.signals["benchmark_names"] == 2


def test_lean_benchmark_name_shapes():
    names = [
        "mathd_numbertheory_12",
        "amc12b_2002_p4",
        "aime_1983_p1",
        "aimeI_2000_p7",
        "imo_1959_p1",
        "induction_12dvd4expnp1p20",
        "algebra_2rootsintpoly_am10tap11eqasqpam110",
        "numbertheory_4x3m7y3neq2003",
    ]
    for name in names:
        # a single benchmark theorem that is the whole file is a copy
        drop("lean", f"theorem {name} : True := trivial\n", "benchmark_copy")
    # one such name among many ordinary lemmas is not
    ordinary = "".join(f"lemma helper_{c} : True := trivial\n" for c in "abcdef")
    keep("lean", ordinary + "theorem imo_1959_p1 : True := trivial\n")
    # mathlib-style names sharing a prefix are not benchmark names
    keep("lean", "theorem algebra_map_injective : True := trivial\ntheorem induction_on' : True := trivial\n")


def test_lean_benchmark_repo():
    drop("lean", LEAN, "benchmark_copy", repo="someone/miniF2F-lean4")
    drop("lean", LEAN, "benchmark_copy", repo="zhangir-azerbayev/ProofNet")
    keep("lean", LEAN, repo="leanprover-community/mathlib4")


# ---------------------------------------------------------------------------------------------------- Isabelle

THY = """theory Fib
  imports Main
begin

fun fib :: "nat \\<Rightarrow> nat" where
  "fib 0 = 0" | "fib (Suc 0) = 1" | "fib (Suc (Suc n)) = fib n + fib (Suc n)"

lemma fib_pos: "n > 0 \\<Longrightarrow> fib n > 0"
  by (induction n rule: fib.induct) auto

end
"""


def test_isabelle_rules():
    keep("isabelle", THY, path="thys/Fib/Fib.thy")
    keep("isabelle", THY, path="afp-devel/thys/Fib.thy")
    drop("isabelle", "theory T imports Main begin\ndefinition x :: nat where \"x = 1\"\nend\n", "no_theorem")
    drop("isabelle", THY, "afp_mirror_copy", path="afp-2019-06-11/thys/Fib/Fib.thy")
    drop("isabelle", THY, "afp_mirror_copy", path="mirror/AFP-2021-1/thys/Fib.thy")
    drop("isabelle", THY, "afp_mirror_copy", path="thys/Fib.thy", repo="someone/afp-2020-04-27")
    drop("isabelle", "", "empty")


# ---------------------------------------------------------------------------------------------------- datatrove


def _doc(i, lang, text, **meta):
    return Document(text=text, id=str(i), metadata={"lang": lang, **meta})


def test_filter_over_documents_with_stats():
    docs = [
        _doc(0, "python", NUMPY_SCRIPT, path="a.py"),
        _doc(1, "python", "import os\n", path="b.py"),
        _doc(2, "coq", VERILOG, path="c.v"),
        _doc(3, "lean", LEAN, path=".lake/packages/x/A.lean"),
        _doc(4, "lean", MINIF2F, path="Bench.lean", repo="me/lean-play"),
        _doc(5, "markdown", "", path="README.md"),  # not a code-rules language: untouched
        _doc(6, "matlab", MATLAB, path="gs.m"),
        _doc(7, "c", "", path="empty.c"),
    ]
    step = CodeRulesFilter()
    out = list(step.run(iter(docs)))
    assert [d.id for d in out] == ["0", "5", "6"]
    assert out[0].metadata["math_imports"] == ["numpy"]
    assert out[2].metadata["lexer"] == "Matlab"
    assert "numerical_density" not in out[1].metadata
    stats = step.stats
    for key, count in [
        ("total", 8),
        ("forwarded", 3),
        ("dropped", 5),
        ("dropped_no_math_import", 1),
        ("dropped_verilog", 1),
        ("dropped_vendored_path", 1),
        ("dropped_benchmark_copy", 1),
        ("dropped_empty", 1),
    ]:
        assert stats[key].total == count, key
    # the dropped document still had its signals written before the decision
    assert docs[2].metadata["lexer"].lower() == "verilog"


def test_filter_language_subset_and_validation():
    step = CodeRulesFilter(languages=["lean"])
    docs = [_doc(0, "python", "import os\n"), _doc(1, "lean", "def x := 1\n")]
    out = list(step.run(iter(docs)))
    assert [d.id for d in out] == ["0"]
    assert step.stats["dropped_no_theorem"].total == 1
    with pytest.raises(ValueError, match="cobol"):
        CodeRulesFilter(languages=["lean", "cobol"])


def test_signals_are_json_serialisable():
    for lang, text in [("python", NUMPY_SCRIPT), ("coq", COQ), ("matlab", OBJC), ("lean", MINIF2F), ("c", C_FFT)]:
        json.dumps(check(lang, text).signals)


def test_filter_pickles_for_workers():
    import pickle

    step = pickle.loads(pickle.dumps(CodeRulesFilter(languages=["coq", "matlab"])))
    out = list(step.run(iter([_doc(0, "coq", COQ), _doc(1, "matlab", OBJC)])))
    assert [d.id for d in out] == ["0"]
    assert step.stats["dropped_objective_c"].total == 1
