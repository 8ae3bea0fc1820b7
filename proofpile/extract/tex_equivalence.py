"""Whether two TeX strings are the same formula written differently.

A formula recovered from a page is rarely byte-equal to what its author typed: MathML converted back to TeX
spells ``\\dfrac`` as ``\\frac`` and ``x^2`` as ``x^{2}``, drops ``\\left``/``\\right`` and ``\\,`` spacing,
and a renderer may store ``\\le`` for ``\\leq``. Scoring recovery (tests/test_renderers.py,
bench/renderers.py) needs equality up to such spellings, so both sides are brought to one canonical form:
no spacing or sizing commands, one name per symbol, braces only around groups of two or more items,
subscript before superscript. Grouping is kept, so ``x^{ab}`` and ``x^ab`` stay different.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from proofpile.extract.mathml import FUNCTIONS, SYMBOLS, join_tex

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\S")
_DROP_ARG = re.compile(r"\\(?:label|tag\*?|hspace\*?|vspace\*?|mspace|kern|mkern)\s*\{[^{}]*\}")
# commands that change only spacing, size or numbering, never the formula
_DROP = frozenset(
    r"\, \; \: \! \> \  ~ \quad \qquad \displaystyle \textstyle \scriptstyle \scriptscriptstyle \nonumber "
    r"\notag \left \right \middle \big \Big \bigg \Bigg \bigl \bigr \Bigl \Bigr \biggl \biggr \Biggl \Biggr "
    r"\bigm \Bigm \biggm \Biggm \limits \nolimits \allowbreak \strut \mathstrut \relax \hfill \medspace "
    r"\thinspace \thickspace \negthinspace \enspace".split()
) | {"\\ "}
_SAME = {
    r"\le": r"\leq",
    r"\ge": r"\geq",
    r"\ne": r"\neq",
    r"\to": r"\rightarrow",
    r"\gets": r"\leftarrow",
    r"\lbrace": r"\{",
    r"\rbrace": r"\}",
    r"\land": r"\wedge",
    r"\lor": r"\vee",
    r"\lnot": r"\neg",
    r"\dfrac": r"\frac",
    r"\tfrac": r"\frac",
    r"\cfrac": r"\frac",
    r"\dots": r"\ldots",
    r"\cdots": r"\ldots",
    r"\dotsc": r"\ldots",
    r"\dotsb": r"\ldots",
    r"\dotsm": r"\ldots",
    r"\dotso": r"\ldots",
    r"\lVert": r"\|",
    r"\rVert": r"\|",
    r"\Vert": r"\|",
    r"\lvert": "|",
    r"\rvert": "|",
    r"\vert": "|",
    r"\mid": "|",
    r"\backslash": r"\setminus",
    r"\colon": ":",
    r"\prime": "'",
    r"\operatorname": r"\mathrm",
    r"\textrm": r"\text",
    r"\textnormal": r"\text",
    r"\mbox": r"\text",
    r"\textit": r"\text",
    r"\boldsymbol": r"\mathbf",
    r"\bm": r"\mathbf",
    r"\pmb": r"\mathbf",
    r"\bold": r"\mathbf",
    r"\Bbb": r"\mathbb",
    r"\varnothing": r"\emptyset",
    r"\implies": r"\Longrightarrow",
    r"\iff": r"\Longleftrightarrow",
    r"\neq": r"\neq",
    r"\lt": "<",
    r"\gt": ">",
    r"\ast": "*",
    r"\centerdot": r"\cdot",
    r"\doteqdot": r"\doteq",
    r"\geqq": r"\geq",
    r"\leqq": r"\leq",
    r"\hbox": r"\text",
    r"\over": r"\over",
    r"\intop": r"\int",
    r"\smallint": r"\int",
    r"\lparen": "(",
    r"\rparen": ")",
    r"\lbrack": "[",
    r"\rbrack": "]",
    r"\bar": r"\overline",
    r"\widehat": r"\hat",
    r"\widetilde": r"\tilde",
    r"\vec": r"\overrightarrow",
}
# environments that are the same layout under another name once rendered
_ENV_SAME = {
    "align": "aligned",
    "align*": "aligned",
    "eqnarray": "aligned",
    "eqnarray*": "aligned",
    "split": "aligned",
    "gather": "aligned",
    "gather*": "aligned",
    "gathered": "aligned",
    "alignat": "aligned",
    "alignat*": "aligned",
    "alignedat": "aligned",
    "multline": "aligned",
    "multline*": "aligned",
    "flalign": "aligned",
    "flalign*": "aligned",
    "equation": "",
    "equation*": "",
}
_FUNCTIONS = FUNCTIONS | {"hom"}
_FENCED = {"(": "pmatrix", "[": "bmatrix", "|": "vmatrix", r"\|": "Vmatrix", r"\{": "Bmatrix"}
_CLOSING = {"(": ")", "[": "]", "|": "|", r"\|": r"\|", r"\{": r"\}"}
_STYLES = frozenset(r"\mathbf \mathrm \mathit \mathsf \mathtt \mathcal \mathbb \mathfrak \mathscr".split())
_UNICODE = {k: v for k, v in SYMBOLS.items() if len(k) == 1 and v and not v.startswith("\\mathbb")}
_UNICODE.update({"\u2192": r"\rightarrow", "\u2264": r"\leq", "\u2265": r"\geq", "\u2260": r"\neq", "\u2026": r"\ldots"})


def _tokens(tex: str) -> list[str]:
    tex = _DROP_ARG.sub("", tex)
    out: list[str] = []
    prev = ""
    for t in _TOKEN.findall(tex):
        if prev in (r"\left", r"\right") and t in "<>":  # \left< is an angle bracket
            t = r"\langle" if t == "<" else r"\rangle"
        prev = t
        if len(t) == 1 and not t.isascii():
            t = _UNICODE.get(t, unicodedata.normalize("NFKC", t))
            if len(t) > 1 and not t.startswith("\\"):
                out.extend(t)
                continue
        t = _SAME.get(t, t)
        if t in _DROP:
            continue
        out.append(t)
    return out


def _parse(tokens: list[str], i: int = 0, close: str | None = None) -> tuple[list, int]:
    """Nested lists for ``{...}`` groups; environments become ``("env", name)`` markers."""
    items: list = []
    while i < len(tokens):
        t = tokens[i]
        if t == close:
            return items, i + 1
        if t == "{":
            group, i = _parse(tokens, i + 1, "}")
            items.append(group)
            continue
        if t in (r"\begin", r"\end") and i + 1 < len(tokens) and tokens[i + 1] == "{":
            name, j = _parse(tokens, i + 2, "}")
            flat = "".join(x if isinstance(x, str) else "" for x in name)
            flat = _ENV_SAME.get(flat, flat)
            if flat:
                items.append(f"{t}{{{flat}}}")
            i = j
            continue
        items.append(t)
        i += 1
    return items, i


def _canon(items: list) -> list:
    out: list = []
    for it in items:
        if isinstance(it, list):
            it = _canon(it)
            if len(it) == 1:  # {x} is x
                it = it[0]
            elif not it:
                it = []
        out.append(it)
    # \mathrm{sin} is \sin
    merged: list = []
    k = 0
    while k < len(out):
        it = out[k]
        if it == r"\mathrm" and k + 1 < len(out) and isinstance(out[k + 1], list):
            word = "".join(x for x in out[k + 1] if isinstance(x, str))
            if word in _FUNCTIONS and len(word) == len(out[k + 1]):
                merged.append("\\" + word)
                k += 2
                continue
        if it == r"\mathrm" and k + 1 < len(out) and isinstance(out[k + 1], str) and out[k + 1] in _FUNCTIONS:
            merged.append("\\" + out[k + 1])
            k += 2
            continue
        if isinstance(it, str) and it in _STYLES and k + 1 < len(out) and isinstance(out[k + 1], list) and out[k + 1][-1:] == ["'"]:
            body = list(out[k + 1])  # \mathbf{c'} is drawn as \mathbf{c}'
            primes = []
            while body and body[-1] == "'":
                primes.append(body.pop())
            merged += [it, body[0] if len(body) == 1 else body, *primes]
            k += 2
            continue
        if it == "^" and k + 1 < len(out) and out[k + 1] == "'":  # x^' and x^{\prime} are x'
            merged.append("'")
            k += 2
            continue
        if it == "^" and k + 1 < len(out) and isinstance(out[k + 1], list) and out[k + 1] and all(x == "'" for x in out[k + 1]):
            merged.extend(out[k + 1])
            k += 2
            continue
        merged.append(it)
        k += 1
    # (\begin{matrix}...\end{matrix}) is a pmatrix: MathML keeps the parentheses outside the table
    k = -1
    while k + 2 < len(merged):
        k += 1
        if isinstance(merged[k], str) and merged[k] in _FENCED and merged[k + 1] == r"\begin{matrix}":
            env = _FENCED[merged[k]]
            depth, j = 0, k + 1
            while j < len(merged):
                depth += merged[j] == r"\begin{matrix}"
                depth -= merged[j] == r"\end{matrix}"
                if depth == 0:
                    break
                j += 1
            if j + 1 < len(merged) and merged[j + 1] == _CLOSING[merged[k]]:
                merged[k : j + 2] = [f"\\begin{{{env}}}", *merged[k + 2 : j], f"\\end{{{env}}}"]
    # a group carrying a script is drawn as its items in a row: {[n]}_l looks like [n]_l
    k = 0
    flat: list = []
    for k, it in enumerate(merged):
        nxt = merged[k + 1] if k + 1 < len(merged) else None
        if isinstance(it, list) and nxt in ("_", "^", "'") and (k == 0 or merged[k - 1] not in ("_", "^")):
            flat.extend(it)
        else:
            flat.append(it)
    merged = flat
    # x'_1 is x_1'
    k = 0
    while k + 2 < len(merged):
        if merged[k] == "'" and merged[k + 1] == "_":
            merged[k : k + 3] = ["_", merged[k + 2], "'"]
            k += 3
        else:
            k += 1
    # x^a_b is x_b^a
    k = 0
    while k + 3 < len(merged):
        if merged[k] == "^" and merged[k + 2] == "_":
            merged[k : k + 4] = ["_", merged[k + 3], "^", merged[k + 1]]
            k += 4
        else:
            k += 1
    return merged


def _render(items: list) -> str:
    return join_tex("{" + _render(it) + "}" if isinstance(it, list) else it for it in items)


def normalize_tex(tex: str) -> str:
    """The canonical spelling of ``tex`` (see the module docstring)."""
    tex = (tex or "").strip()
    items, _ = _parse(_tokens(tex))
    items = _canon(items)
    while items and items[-1] in (",", ".", ";", r"\\"):  # sentence punctuation after a display equation
        items.pop()
    while len(items) == 1 and isinstance(items[0], list):
        items = items[0]
    return _render(items)


def equivalent(a: str, b: str) -> bool:
    return normalize_tex(a) == normalize_tex(b)


_FORMULA = re.compile(r"(?<!\\)\$\$(?P<d>.+?)(?<!\\)\$\$|(?<![\\$])\$(?P<i>[^$]+?)(?<!\\)\$", re.S)


def formulas_in(text: str) -> list[tuple[str, bool]]:
    """(tex, display) of each ``$$...$$`` / ``$...$`` formula in extracted text (literal dollars are ``\\$``)."""
    return [(m.group("d") if m.group("d") is not None else m.group("i"), m.group("d") is not None) for m in _FORMULA.finditer(text or "")]


def recovered(expected: list[tuple[str, bool]], text: str) -> tuple[int, int]:
    """How many of the ``expected`` (tex, display) formulas appear in ``text``, (display, inline), each
    found formula matched at most once and only to a formula of its own kind."""
    found = Counter((normalize_tex(t), d) for t, d in formulas_in(text))
    got = [0, 0]
    for tex, display in expected:
        key = (normalize_tex(tex), display)
        if found[key] > 0:
            found[key] -= 1
            got[0 if display else 1] += 1
    return got[0], got[1]
