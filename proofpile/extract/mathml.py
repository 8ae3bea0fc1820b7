"""Presentation MathML to LaTeX, for formulas that carry no TeX source of their own.

Most MathML on the web is produced from TeX and keeps it (an ``application/x-tex`` annotation or an
``alttext``); this converter is the fallback for hand-written or MathJax-serialised MathML. It is written here
rather than taken from a library because the Python options either run XSLT (mmltex, what OpenWebMath ships:
~100x slower per formula) or pull in a browser; the common elements of presentation MathML are a small,
closed set, and an unknown element degrades to its children's text, never to an error.
"""

from __future__ import annotations

import re

from lxml import etree

# characters whose LaTeX name a language model would have seen in papers; anything else passes through
SYMBOLS = {
    "\u2260": r"\ne",
    "\u00b1": r"\pm",
    "\u2213": r"\mp",
    "\u2212": "-",
    "\u00d7": r"\times",
    "\u00f7": r"\div",
    "\u2264": r"\le",
    "\u2265": r"\ge",
    "\u226a": r"\ll",
    "\u226b": r"\gg",
    "\u2248": r"\approx",
    "\u2261": r"\equiv",
    "\u223c": r"\sim",
    "\u2243": r"\simeq",
    "\u221d": r"\propto",
    "\u2211": r"\sum",
    "\u220f": r"\prod",
    "\u222b": r"\int",
    "\u222e": r"\oint",
    "\u221e": r"\infty",
    "\u2192": r"\to",
    "\u2190": r"\leftarrow",
    "\u2194": r"\leftrightarrow",
    "\u21d2": r"\Rightarrow",
    "\u21d0": r"\Leftarrow",
    "\u21d4": r"\Leftrightarrow",
    "\u21a6": r"\mapsto",
    "\u22c5": r"\cdot",
    "\u00b7": r"\cdot",
    "\u2218": r"\circ",
    "\u2202": r"\partial",
    "\u2207": r"\nabla",
    "\u2208": r"\in",
    "\u2209": r"\notin",
    "\u220b": r"\ni",
    "\u2282": r"\subset",
    "\u2283": r"\supset",
    "\u2286": r"\subseteq",
    "\u2287": r"\supseteq",
    "\u222a": r"\cup",
    "\u2229": r"\cap",
    "\u2205": r"\emptyset",
    "\u2200": r"\forall",
    "\u2203": r"\exists",
    "\u00ac": r"\neg",
    "\u2227": r"\wedge",
    "\u2228": r"\vee",
    "\u2297": r"\otimes",
    "\u2295": r"\oplus",
    "\u2020": r"\dagger",
    "\u2217": "*",
    "\u2026": r"\ldots",
    "\u22ef": r"\cdots",
    "\u22ee": r"\vdots",
    "\u22f1": r"\ddots",
    "\u27e8": r"\langle",
    "\u27e9": r"\rangle",
    "\u2032": "'",
    "\u2033": "''",
    "\u2061": "",
    "\u2062": "",
    "\u2063": "",
    "\u2064": "",
    "\u00a0": " ",
    "\u2225": r"\|",
    "\u230a": r"\lfloor",
    "\u230b": r"\rfloor",
    "\u2308": r"\lceil",
    "\u2309": r"\rceil",
    "\u210f": r"\hbar",
    "\u2113": r"\ell",
    "\u211c": r"\Re",
    "\u2111": r"\Im",
    "\u2135": r"\aleph",
    "\u22a5": r"\perp",
    "\u2225\u0338": r"\nparallel",
    "\u2245": r"\cong",
    "\u2272": r"\lesssim",
    "\u2273": r"\gtrsim",
    "\u2a7d": r"\leqslant",
    "\u2a7e": r"\geqslant",
    "\u227a": r"\prec",
    "\u227b": r"\succ",
    "\u2aaf": r"\preceq",
    "\u2ab0": r"\succeq",
    "\u22a8": r"\models",
    "\u2223": r"\mid",
    "\u2216": r"\setminus",
    "\u2192\u0338": r"\nrightarrow",
    "\u22c6": r"\star",
    "\u2605": r"\bigstar",
    "\u2032\u2032": "''",
    "\u27f6": r"\longrightarrow",
    "\u27f9": r"\Longrightarrow",
    "\u21aa": r"\hookrightarrow",
    "\u2194\ufe0e": r"\leftrightarrow",
    "\u22c3": r"\bigcup",
    "\u22c2": r"\bigcap",
    "\u2a01": r"\bigoplus",
    "\u2a02": r"\bigotimes",
    "\u2210": r"\coprod",
    "\u2250": r"\doteq",
    "\u2254": r"\coloneqq",
    "\u225c": r"\triangleq",
    "\u2322": r"\frown",
    "\u2323": r"\smile",
    "\u22a4": r"\top",
    "\u25b3": r"\triangle",
    "\u00b0": r"^\circ",
    "\\": r"\backslash",
    "{": r"\{",
    "}": r"\}",
    "#": r"\#",
    "%": r"\%",
    "&": r"\&",
    "\u22a2": r"\vdash",
    "\u2016": r"\|",
    "\u211d": r"\mathbb{R}",
    "\u2124": r"\mathbb{Z}",
    "\u2115": r"\mathbb{N}",
    "\u211a": r"\mathbb{Q}",
    "\u2102": r"\mathbb{C}",
}
_GREEK_LOWER = (
    "alpha beta gamma delta varepsilon zeta eta theta iota kappa lambda mu nu xi o pi rho varsigma sigma "
    "tau upsilon varphi chi psi omega"
).split()
_GREEK_UPPER = "A B Gamma Delta E Z H Theta I K Lambda M N Xi O Pi P - Sigma T Upsilon Phi X Psi Omega".split()
for _i, (_lo, _up) in enumerate(zip(_GREEK_LOWER, _GREEK_UPPER)):
    SYMBOLS[chr(0x3B1 + _i)] = _lo if len(_lo) == 1 else "\\" + _lo
    if _up != "-":
        SYMBOLS[chr(0x391 + _i)] = _up if len(_up) == 1 else "\\" + _up
SYMBOLS["\u03d5"] = r"\phi"
SYMBOLS["\u03f5"] = r"\epsilon"
SYMBOLS["\u03d1"] = r"\vartheta"

# accents put over (mover) or under (munder) a base
OVER_ACCENTS = {
    "\u02d9": r"\dot",
    ".": r"\dot",
    "\u00a8": r"\ddot",
    "^": r"\hat",
    "\u02c6": r"\hat",
    "~": r"\tilde",
    "\u02dc": r"\tilde",
    "\u00af": r"\bar",
    "\u02c9": r"\bar",
    "\u2015": r"\overline",
    "\u2013": r"\overline",
    "\u203e": r"\overline",
    "_": r"\overline",
    "\u2192": r"\vec",
    "\u20d7": r"\vec",
    "\u02c7": r"\check",
    "\u02d8": r"\breve",
    "\u23de": r"\overbrace",
    "\u2194": r"\overleftrightarrow",
}
_UNDER_ACCENTS = {"\u2015": r"\underline", "\u2013": r"\underline", "_": r"\underline", "\u00af": r"\underline", "\u23df": r"\underbrace", "\u203e": r"\underline"}
_BIG_OPERATORS = {
    r"\sum",
    r"\prod",
    r"\int",
    r"\oint",
    r"\lim",
    r"\max",
    r"\min",
    r"\sup",
    r"\inf",
    r"\bigcup",
    r"\bigcap",
    r"\liminf",
    r"\limsup",
}
#: operator names written as `\name` (MathML gives them as text; KaTeX and the equivalence check read them too)
FUNCTIONS = frozenset(
    "sin cos tan cot sec csc sinh cosh tanh log ln exp lim max min sup inf det dim ker deg gcd "
    "arg arcsin arccos arctan Pr liminf limsup".split()
)
_VARIANTS = {
    "normal": r"\mathrm",
    "bold": r"\mathbf",
    "double-struck": r"\mathbb",
    "script": r"\mathcal",
    "fraktur": r"\mathfrak",
    "bold-italic": r"\boldsymbol",
    "sans-serif": r"\mathsf",
    "monospace": r"\mathtt",
}
# Unicode's names for the alphabets of U+1D400..U+1D7FF, most specific first
_STYLE_WORDS = (
    ("BOLD ITALIC", r"\boldsymbol"),
    ("BOLD FRAKTUR", r"\mathfrak"),
    ("BOLD SCRIPT", r"\mathcal"),
    ("SANS-SERIF", r"\mathsf"),
    ("DOUBLE-STRUCK", r"\mathbb"),
    ("FRAKTUR", r"\mathfrak"),
    ("BLACK-LETTER", r"\mathfrak"),
    ("SCRIPT", r"\mathcal"),
    ("MONOSPACE", r"\mathtt"),
    ("BOLD", r"\mathbf"),
)
# <menclose notation="..."> words and the command drawing each, most telling first
_ENCLOSE = (
    ("box", r"\boxed"),
    ("roundedbox", r"\boxed"),
    ("updiagonalstrike", r"\cancel"),
    ("downdiagonalstrike", r"\bcancel"),
    ("horizontalstrike", r"\hcancel"),
    ("top", r"\overline"),
    ("bottom", r"\underline"),
    ("radical", r"\sqrt"),
)
_CONTAINERS = {"math", "mrow", "mstyle", "mpadded", "menclose", "merror", "maction", "mtd", "semantics"}
_SKIPPED = {"annotation", "annotation-xml", "mphantom", "mprescripts", "none"}
_LETTER_END = re.compile(r"\\[A-Za-z]+$")


def local_name(el) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def mathml_to_latex(math) -> str:
    """LaTeX for a ``<math>`` element (lxml, HTML or XML tree)."""
    return join_tex(_convert(child) for child in _children(math)).strip()


def _children(el):
    return [c for c in el if isinstance(c.tag, str)]


def join_tex(parts) -> str:
    # a space only where gluing would change meaning: "\pm" + "b" must not become "\pmb"
    out = ""
    for p in parts:
        if not p:
            continue
        if out and p[0].isalpha() and _LETTER_END.search(out):
            out += " "
        out += p
    return out


def _group(tex: str) -> str:
    """Braces when a sub/superscript base or argument is more than one symbol."""
    tex = tex.strip()
    if len(tex) == 1 or re.fullmatch(r"\\[A-Za-z]+|\d+(?:\.\d+)?", tex):
        return tex
    return "{" + tex + "}"


def _token(text: str) -> str:
    text = (text or "").strip().replace("\ufe0e", "").replace("\ufe0f", "")  # emoji/text presentation selectors
    if text in SYMBOLS:
        return SYMBOLS[text]
    if len(text) == 1 and ("\U0001d400" <= text <= "\U0001d7ff" or "\u2100" <= text <= "\u214f"):
        return _styled(text)
    return "".join(SYMBOLS.get(ch, ch) for ch in text) if len(text) < 4 else text


def _styled(ch: str) -> str:
    """A Mathematical Alphanumeric Symbol (Temml writes \\mathbf{x} as U+1D431) as the command that makes it."""
    import unicodedata

    try:
        name = unicodedata.name(ch)
    except ValueError:
        return ch
    plain = unicodedata.normalize("NFKC", ch)
    inner = SYMBOLS.get(plain, plain)
    if plain == ch:
        return ch
    for word, command in _STYLE_WORDS:
        if word in name:
            return command + "{" + inner + "}"
    return inner  # MATHEMATICAL ITALIC: the default look of a letter


def _convert(el) -> str:
    name = local_name(el)
    kids = _children(el)
    if name in _SKIPPED:
        return ""
    if name == "semantics":
        return _convert(kids[0]) if kids else ""
    if name == "mi":
        text = (el.text or "").strip()
        variant = el.get("mathvariant")
        if len(text) > 1 and text in FUNCTIONS:
            return "\\" + text
        if len(text) > 1:
            return r"\mathrm{" + text + "}"
        tex = _token(text)
        if variant in _VARIANTS and text.isalnum() and (text.isascii() or variant != "normal"):
            return _VARIANTS[variant] + "{" + tex + "}"
        return tex
    if name == "mn":
        variant = el.get("mathvariant")
        tex = (el.text or "").strip()
        return _VARIANTS[variant] + "{" + tex + "}" if variant in _VARIANTS and variant != "normal" and tex else tex
    if name == "mo":
        text = (el.text or "").strip()
        if len(text) > 1 and text in FUNCTIONS:  # MathJax writes \lim as <mo>lim</mo>
            return "\\" + text
        return _token(el.text)
    if name in ("mtext", "ms"):
        text = "".join(el.itertext())
        if not text.strip():
            return " " if text else ""
        return r"\text{" + text.strip() + "}"
    if name == "mspace":
        width = el.get("width", "")
        if width.startswith("-"):
            return r"\!"
        m = re.match(r"([\d.]+)em", width)
        if m and float(m.group(1)) >= 1:
            return r"\quad "
        return r"\," if width else " "
    if name == "mfrac":
        if len(kids) < 2:
            return join_tex(_convert(k) for k in kids)
        num, den = _convert(kids[0]), _convert(kids[1])
        if el.get("linethickness") in ("0", "0px", "0em"):
            return "{" + num + r" \atop " + den + "}"
        return r"\frac{" + num + "}{" + den + "}"
    if name == "msqrt":
        return r"\sqrt{" + join_tex(_convert(k) for k in kids) + "}"
    if name == "mroot":
        if len(kids) < 2:
            return r"\sqrt{" + join_tex(_convert(k) for k in kids) + "}"
        return r"\sqrt[" + _convert(kids[1]) + "]{" + _convert(kids[0]) + "}"
    if name in ("msup", "msub", "msubsup"):
        if len(kids) < 2:
            return join_tex(_convert(k) for k in kids)
        base = _group(_convert(kids[0]) or "{}")
        if name == "msup":
            return base + "^{" + _convert(kids[1]) + "}"
        if name == "msub" or len(kids) < 3:
            return base + "_{" + _convert(kids[1]) + "}"
        return base + "_{" + _convert(kids[1]) + "}^{" + _convert(kids[2]) + "}"
    if name in ("munder", "mover", "munderover"):
        return _under_over(name, kids)
    if name == "mmultiscripts":
        return _multiscripts(kids)
    if name == "menclose":
        inner = join_tex(_convert(k) for k in kids)
        notation = (el.get("notation") or "").split()
        for key, command in _ENCLOSE:
            if key in notation:
                return command + "{" + inner + "}"
        return inner
    if name == "mfenced":
        seps = el.get("separators", ",").strip() or ","
        inner = (seps[0] + " ").join(_convert(k) for k in kids)
        return el.get("open", "(") + inner + el.get("close", ")")
    if name == "mtable":
        return _table(el)
    if name in ("mtr", "mlabeledtr"):
        cells = _children(el)[1:] if name == "mlabeledtr" else _children(el)
        return " & ".join(_convert(c) for c in cells)
    # containers and anything unknown: keep the children, so nothing is silently lost
    if name in ("mrow", "mstyle", "mpadded") and "border" in (el.get("style") or ""):  # Temml's \boxed
        return r"\boxed{" + join_tex(_convert(k) for k in kids) + "}"
    if kids:
        return join_tex(_convert(k) for k in kids)
    return _token(el.text)


def _under_over(name: str, kids) -> str:
    if not kids:
        return ""
    base = _convert(kids[0])
    under = _convert(kids[1]) if name in ("munder", "munderover") and len(kids) > 1 else ""
    over = ""
    if name == "mover" and len(kids) > 1:
        over = _convert(kids[1])
    elif name == "munderover" and len(kids) > 2:
        over = _convert(kids[2])
    if base.strip() in _BIG_OPERATORS:
        out = base.strip()
        if under:
            out += "_{" + under + "}"
        if over:
            out += "^{" + over + "}"
        return out
    raw_over = "".join(kids[1].itertext()).strip() if name == "mover" and len(kids) > 1 else ""
    raw_under = "".join(kids[1].itertext()).strip() if name == "munder" and len(kids) > 1 else ""
    if base.startswith((r"\underbrace", r"\overbrace")):  # the brace's label: \underbrace{x+y}_{n}
        return base + ("_{" + under + "}" if under else "") + ("^{" + over + "}" if over else "")
    if raw_over in OVER_ACCENTS:
        return OVER_ACCENTS[raw_over] + "{" + base + "}"
    if raw_under in _UNDER_ACCENTS:
        return _UNDER_ACCENTS[raw_under] + "{" + base + "}"
    out = base
    if under:
        out = r"\underset{" + under + "}{" + out + "}"
    if over:
        out = r"\overset{" + over + "}{" + out + "}"
    return out


def _multiscripts(kids) -> str:
    """``<mmultiscripts>``: base, (sub, sup) pairs after it, ``<mprescripts/>``, (sub, sup) pairs before it."""
    if not kids:
        return ""
    names = [local_name(k) for k in kids]
    split = names.index("mprescripts") if "mprescripts" in names else len(kids)

    def scripts(pairs) -> str:
        subs = [_convert(k) for k in pairs[0::2]]
        sups = [_convert(k) for k in pairs[1::2]]
        sub, sup = "".join(subs), "".join(sups)
        return ("_{" + sub + "}" if sub else "") + ("^{" + sup + "}" if sup else "")

    pre = scripts(kids[split + 1 :])
    base = _group(_convert(kids[0]) or "{}")
    return ("{}" + pre if pre else "") + base + scripts(kids[1:split])


def _table(el) -> str:
    rows = [_convert(r) for r in _children(el) if local_name(r) in ("mtr", "mlabeledtr")]
    kids = [r for r in _children(el) if local_name(r) in ("mtr", "mlabeledtr")]
    if len(kids) == 1 and len(_children(kids[0])) - (local_name(kids[0]) == "mlabeledtr") == 1:
        return rows[0]  # one numbered equation (MathJax, LaTeXML): the table only carries its label
    env = table_environment(rows, el.get("columnalign", ""))
    return "\\begin{" + env + "}" + r" \\ ".join(rows) + "\\end{" + env + "}"


_RELATION_CELL = re.compile(r"^\s*(?:[=<>]|\\(?:le|ge|leq|geq|ne|neq|approx|equiv|sim|simeq|cong|to|subset|subseteq|in)\b)")


def table_environment(rows: list[str], columnalign: str) -> str:
    """``aligned`` for rows of equations (cells after the first start with a relation, or the MathML says
    right/left), else ``matrix``."""
    if "right left" in columnalign:
        return "aligned"
    cells = [c for r in rows for c in r.split(" & ")[1:]]
    return "aligned" if cells and all(_RELATION_CELL.match(c) for c in cells) else "matrix"


def html_to_latex(el) -> str:
    """LaTeX for math typed as HTML (Wikipedia's ``texhtml``): ``<sub>``/``<sup>`` become scripts."""
    parts = [_unicode(el.text or "")]
    for child in el:
        if not isinstance(child.tag, str):
            parts.append(_unicode(child.tail or ""))
            continue
        inner = html_to_latex(child)
        if child.tag == "sub":
            parts.append("_{" + inner + "}")
        elif child.tag == "sup":
            parts.append("^{" + inner + "}")
        else:
            parts.append(inner)
        parts.append(_unicode(child.tail or ""))
    return join_tex(parts)


def _unicode(text: str) -> str:
    return join_tex(SYMBOLS.get(ch, ch) for ch in text)


def parse_mathml(text: str):
    """An lxml element for a MathML string (used by tests and by callers holding serialised MathML)."""
    return etree.fromstring(text.encode("utf-8"), etree.XMLParser(recover=True, resolve_entities=False))
