"""OpenWebMath's trick for training a math classifier without labels: call a page math when it contains
LaTeX math, then remove the LaTeX, so the model has to learn the prose that surrounds formulas ("let",
"suppose", "integer", "we obtain") and can score pages whose formulas were lost or never written in TeX.

`$` alone decides nothing: `$5 and $10` is money, `$x^2$` and `$n$` are math.
"""

from __future__ import annotations

import re

# commands that occur in written math far more than anywhere else; `\n`, `\t`, `\d` in code never match
# because a command must end at a non-letter
_MATH_COMMANDS = ["frac", "dfrac", "tfrac", "sqrt", "sum", "prod", "int", "iint", "oint", "lim", "limsup", "liminf", "infty", "partial", "nabla", "binom", "choose", "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega", "cdot", "cdots", "ldots", "dots", "times", "div", "pm", "mp", "leq", "geq", "neq", "le", "ge", "ne", "approx", "equiv", "sim", "simeq", "cong", "propto", "subset", "subseteq", "supset", "supseteq", "cup", "cap", "bigcup", "bigcap", "setminus", "emptyset", "varnothing", "forall", "exists", "mathbb", "mathcal", "mathrm", "mathbf", "mathfrak", "operatorname", "rightarrow", "leftarrow", "Rightarrow", "Leftrightarrow", "iff", "implies", "mapsto", "longrightarrow", "overline", "underline", "hat", "tilde", "vec", "bar", "dot", "ddot", "langle", "rangle", "lfloor", "rfloor", "lceil", "rceil", "mid", "nmid", "circ", "oplus", "otimes", "wedge", "vee", "neg", "det", "log", "ln", "sin", "cos", "tan", "exp", "gcd", "deg", "ker", "dim", "arg", "max", "min", "sup", "inf", "mod", "pmod", "bmod"]
_MATH_ENVS = r"equation|align|alignat|gather|multline|eqnarray|displaymath|math|array|[pbvBV]?matrix|cases|split"
_COMMAND = re.compile(r"\\(?:" + "|".join(_MATH_COMMANDS) + r")(?![a-zA-Z])")
_ENV = re.compile(r"\\begin\{(" + _MATH_ENVS + r")\*?\}.*?\\end\{\1\*?\}", re.DOTALL)
_DISPLAY = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)", re.DOTALL)
# inline `$...$` on one line, not touching a digit after the closing `$` (that is money: `$5 to $10`)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]{1,400}?)(?<![\s\\])\$(?!\d)")
# what makes `$...$` a formula: an operator or bracket, or a lone variable list (`$n$`, `$x, y$`)
_MATHY = re.compile(r"[\\^_=<>+*/|()\[\]{}]|^[A-Za-z](?:\s*,\s*[A-Za-z])*$")
_LEFTOVER = re.compile(r"\\[a-zA-Z@]+\*?|[{}]|\\.")
_SPACES = re.compile(r"[ \t]+")


def _math_inline(m: re.Match) -> bool:
    return bool(_MATHY.search(m.group(1).strip()))


def latex_label(text: str) -> int:
    """1 when ``text`` contains LaTeX math: a math environment or display, a common math command, or inline
    `$...$` holding something formula-like."""
    if _ENV.search(text) or _DISPLAY.search(text) or _COMMAND.search(text):
        return 1
    return int(any(_math_inline(m) for m in _INLINE.finditer(text)))


def strip_latex(text: str) -> str:
    """``text`` without its math and LaTeX markup; money `$` amounts and the prose stay."""
    text = _ENV.sub(" ", text)
    text = _DISPLAY.sub(" ", text)
    text = _INLINE.sub(lambda m: " " if _math_inline(m) else m.group(0), text)
    text = _LEFTOVER.sub(" ", text)
    return _SPACES.sub(" ", text)
