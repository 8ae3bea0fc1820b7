"""Document text -> safe HTML, with the math rendered as MathML on the server.

Chromium, Firefox and Safari render MathML Core natively, so the page needs no JavaScript math bundle (nothing to
vendor, works offline). `latex2mathml` does the conversion; its output is not trusted: `\\text{<b>}` comes out
with the markup unescaped, so every formula's MathML is parsed and rebuilt from an element and attribute
allowlist (anything else keeps its text only, escaped). All text outside formulas is HTML-escaped.

Cost is bounded for hostile input: at most `MAX_FORMULAS` formulas per document are converted and a formula
longer than `MAX_FORMULA_CHARS` is shown as source, so a 1 MB line of dollars costs one regex pass.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

MAX_FORMULAS = 2000
MAX_FORMULA_CHARS = 4000

_MATH_ENVS = ("equation", "align", "gather", "multline", "eqnarray", "displaymath", "math", "alignat", "flalign")
_ENV = "|".join(_MATH_ENVS)
# order matters: $$ before $, environments and \[ \( before the single dollar
_FORMULA = re.compile(
    r"\$\$(?P<dd>.+?)\$\$"
    r"|\\\[(?P<bracket>.+?)\\\]"
    r"|\\\((?P<paren>.+?)\\\)"
    rf"|(?P<env>\\begin\{{(?P<name>(?:{_ENV})\*?)\}}.+?\\end\{{(?P=name)\}})"
    r"|(?<![\\$])\$(?P<d>[^$\n]{1,2000}?)(?<!\\)\$",
    re.S,
)

_NS = "{http://www.w3.org/1998/Math/MathML}"
#: MathML Core presentation elements
ELEMENTS = frozenset(
    "math mrow mi mn mo ms mtext mspace msub msup msubsup munder mover munderover mfrac msqrt mroot mtable mtr mtd "
    "mstyle merror mpadded mphantom menclose semantics annotation mmultiscripts mprescripts none".split()
)
ATTRIBUTES = frozenset(
    "display displaystyle mathvariant stretchy fence separator lspace rspace accent accentunder largeop movablelimits "
    "symmetric minsize maxsize linethickness columnalign rowalign columnspacing rowspacing columnlines rowlines frame "
    "scriptlevel width height depth notation encoding form mathsize columnspan rowspan".split()
)


def _clean(el: ET.Element) -> str:
    """The element rebuilt from the allowlist, as escaped markup."""
    tag = el.tag[len(_NS):] if el.tag.startswith(_NS) else el.tag
    inner = html.escape(el.text or "", quote=False)
    for child in el:
        inner += _clean(child) + html.escape(child.tail or "", quote=False)
    if tag not in ELEMENTS:
        return inner
    attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in sorted(el.attrib.items()) if k in ATTRIBUTES)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def latex_to_mathml(latex: str, display: bool) -> str | None:
    """Sanitised MathML for one formula, or None when the converter fails or its output does not parse."""
    from latex2mathml.converter import convert

    try:
        out = convert(latex, display="block" if display else "inline")
        root = ET.fromstring(out)
    except Exception:  # noqa: BLE001 -- latex2mathml raises many types on malformed LaTeX; any is "show source"
        return None
    return _clean(root)


def _formula_html(m: re.Match) -> str:
    source = m.group(0)
    if m.group("env"):
        latex, display = m.group("env"), True
        name = m.group("name").rstrip("*")
        if name in ("math",):
            display = False
    elif m.group("dd") is not None or m.group("bracket") is not None:
        latex, display = (m.group("dd") if m.group("dd") is not None else m.group("bracket")), True
    else:
        latex, display = (m.group("paren") if m.group("paren") is not None else m.group("d")), False
    mathml = latex_to_mathml(latex, display) if len(latex) <= MAX_FORMULA_CHARS else None
    if mathml is None and m.group("env"):  # an environment latex2mathml does not know: its body as display math
        body = re.sub(r"^\\begin\{[^}]*\}|\\end\{[^}]*\}$", "", latex)
        mathml = latex_to_mathml(body, True) if len(body) <= MAX_FORMULA_CHARS else None
    if mathml is None:
        return f'<code class="math-source">{html.escape(source)}</code>'
    return mathml


def render(text: str) -> tuple[str, int]:
    """(HTML of the text with its formulas as MathML, number of formulas rendered)."""
    out: list[str] = []
    pos = rendered = 0
    for m in _FORMULA.finditer(text):
        if rendered >= MAX_FORMULAS:
            break
        out.append(html.escape(text[pos:m.start()], quote=False))
        piece = _formula_html(m)
        rendered += piece.startswith("<math")
        out.append(piece)
        pos = m.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out), rendered
