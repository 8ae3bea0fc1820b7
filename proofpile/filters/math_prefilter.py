"""Stage 1 of OpenWebMath: a cheap look at the raw HTML that decides which pages are worth parsing at all.

Parsing and extraction cost ~100x a substring scan, and fewer than 1 page in 100 of a crawl has math, so the
decision is made on the bytes as fetched: a math renderer or math markup in the page (`MathJax`, `<math`,
`katex.min.css`, ...) is the strongest signal; failing that, backslash LaTeX commands in the source (pages
that show TeX without a renderer, forums with `[tex]`); failing that, a page long enough to hold prose is
still handed on, and the math classifier judges it with its stricter no-math threshold (the extractor finds
no math in it, so `math_found` is false). Only short pages with no signal at all are dropped here.

The branch taken is stored in ``metadata["prefilter"]`` ("keyword", "latex" or "classifier"), so the funnel
shows where the kept pages came from.
"""

from __future__ import annotations

import re

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

#: substrings that mean a page renders or carries math markup (OpenWebMath's list)
MATH_KEYWORDS = (
    "MathJax",
    "mathjax",
    "<math",
    "math-container",
    "katex.min.css",
    "latex.php",
    "codecogs",
    "tex.cgi",
    'class="tex"',
    "class='tex'",
)

# Common LaTeX math commands. Left out on purpose: names that are also JavaScript/JSON string escapes followed
# by a word (\nu, \to, \tan, \theta, \ne, \neq, \bar, \b..., \r..., \u..., \x...) would match minified scripts
# ("\nu" is a newline before "u..."); their pages nearly always use other commands too.
LATEX_COMMANDS = (
    # structure
    "frac", "dfrac", "tfrac", "sqrt", "sum", "prod", "int", "iint", "oint", "lim", "limsup", "liminf",
    "infty", "partial", "nabla", "mathbb", "mathcal", "mathrm", "mathbf", "mathfrak", "operatorname",
    "left", "right", "cdot", "cdots", "ldots", "dots", "vdots", "ddots", "times", "div", "pm", "mp",
    "leq", "geq", "le", "ge", "approx", "equiv", "sim", "simeq", "cong", "propto", "ll", "gg",
    "subset", "subseteq", "supset", "supseteq", "in", "notin", "cup", "cap", "setminus", "emptyset",
    "forall", "exists", "neg", "land", "lor", "implies", "iff", "Rightarrow", "Leftarrow",
    "Leftrightarrow", "rightarrow", "leftarrow", "mapsto", "circ", "oplus", "otimes", "perp", "angle",
    "overline", "underline", "hat", "tilde", "vec", "dot", "ddot", "binom", "choose", "pmod", "bmod",
    "log", "ln", "exp", "sin", "cos", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "det", "dim", "ker", "gcd", "max", "min", "sup", "inf", "deg",
    # Greek letters that are no string escape
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "iota", "kappa",
    "lambda", "mu", "xi", "pi", "sigma", "phi", "varphi", "chi", "psi", "omega",
    "Gamma", "Delta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega",
)  # fmt: skip
MATH_ENVIRONMENTS = ("equation", "align", "gather", "multline", "eqnarray", "displaymath", "pmatrix",
                     "bmatrix", "vmatrix", "matrix", "cases", "array")

_LATEX = re.compile(
    r"\\(?:"
    + "|".join(sorted(LATEX_COMMANDS, key=len, reverse=True))
    + r")(?![A-Za-z])"
    + r"|\\begin\{(?:" + "|".join(MATH_ENVIRONMENTS) + r")\*?\}"
)


def prefilter_branch(html: str, min_chars: int = 500) -> str | None:
    """'keyword', 'latex' or 'classifier' when the page goes on, None when it has no chance of holding math."""
    if any(k in html for k in MATH_KEYWORDS):
        return "keyword"
    if "\\" in html and _LATEX.search(html):
        return "latex"
    if len(html) > min_chars:
        return "classifier"
    return None


class MathPrefilter(BaseFilter):
    """Keeps pages that may hold math (see the module docstring); ``min_chars`` is measured on the raw HTML."""

    name = "math prefilter"

    def __init__(self, min_chars: int = 500, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.min_chars = min_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        branch = prefilter_branch(doc.text, self.min_chars)
        if branch is None:
            return False, "no_math_signal"
        doc.metadata["prefilter"] = branch
        self.stat_update(f"branch_{branch}")
        return True
