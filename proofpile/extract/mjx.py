"""A formula's MathML rebuilt from MathJax's own rendered output, for pages that kept nothing else.

A page saved after MathJax 3/4 ran holds ``<mjx-container>`` elements. When neither the TeX (MathJax 4's
``data-latex``) nor the assistive MathML was kept, the rendering itself still names every MathML node it drew:
CommonHTML output as elements (``<mjx-mfrac>``, ``<mjx-msub>``, ``<mjx-mi>``...) whose characters are in
``<mjx-c class="mjx-c1D465">`` (the code point, as text in v4, only in the class in v3), SVG output as
``<g data-mml-node="mfrac">`` groups of ``<path data-c="1D465">`` glyphs. Both are turned back into MathML here
and read by :func:`proofpile.extract.mathml.mathml_to_latex`, so the result is linear TeX, never the renderer's
one-glyph-per-box layout. It is the author's formula as drawn, not as typed: callers record it under a source
name of its own so the fallback stays visible in the output's metadata.

The layout wrappers around the parts of a node (``mjx-num``/``mjx-den``, ``mjx-script``, ``mjx-over``...) are
MathJax's documented CHTML structure; there is no library for this, so it is written out here.
"""

from __future__ import annotations

import re
import unicodedata

from lxml import etree

from proofpile.extract.mathml import mathml_to_latex

_NODES = frozenset(
    "math mi mo mn mtext ms mspace mrow mfrac msqrt mroot msub msup msubsup munder mover munderover mtable mtr "
    "mtd mlabeledtr mstyle mpadded mphantom menclose merror mmultiscripts texatom semantics maction mfenced "
    "mglyph".split()
)
_CHAR_CLASS = re.compile(r"\bmjx-c([0-9A-F]{1,6})\b")
_HEX = re.compile(r"[0-9A-Fa-f]{1,5}|10[0-9A-Fa-f]{4}")  # a Unicode code point
# CHTML's font classes on a token, most specific first
_CLASS_VARIANTS = (
    ("mjx-cal", "script"),
    ("mjx-fr", "fraktur"),
    ("mjx-ds", "double-struck"),
    ("mjx-ss", "sans-serif"),
    ("mjx-ty", "monospace"),
    ("mjx-b", "bold"),
    ("mjx-n", "normal"),
)
_VARIANT_WORDS = (
    ("DOUBLE-STRUCK", "double-struck"),
    ("BOLD ITALIC", "bold-italic"),
    ("BOLD", "bold"),
    ("FRAKTUR", "fraktur"),
    ("BLACK-LETTER", "fraktur"),
    ("SCRIPT", "script"),
    ("SANS-SERIF", "sans-serif"),
    ("MONOSPACE", "monospace"),
)


def _node_name(el) -> str | None:
    tag = el.tag
    if not isinstance(tag, str):
        return None
    tag = tag.lower()
    if tag.startswith("mjx-") and tag[4:] in _NODES:
        return tag[4:]
    mml = el.get("data-mml-node")
    if mml and mml.lower() in _NODES:
        return mml.lower()
    return None


def _nodes(el, skip=()):
    """MathML-node descendants of ``el`` reached through layout wrappers only (not inside another node)."""
    for c in el:
        if not isinstance(c.tag, str) or c.tag in skip:
            continue
        if _node_name(c) is not None:
            yield c
        else:
            yield from _nodes(c, skip)


def _part(el, tag: str):
    """The layout wrapper ``tag`` that belongs to node ``el`` (not one inside a nested node)."""
    for c in el:
        if not isinstance(c.tag, str) or _node_name(c) is not None:
            continue
        if c.tag == tag:
            return c
        found = _part(c, tag)
        if found is not None:
            return found
    return None


def _char(cp: int) -> tuple[str, str | None]:
    if 0xD800 <= cp <= 0xDFFF:  # a lone surrogate cannot be written out
        return "", None
    ch = chr(cp)
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return ch, None
    if not name.startswith(("MATHEMATICAL ", "SCRIPT ", "BLACK-LETTER ", "DOUBLE-STRUCK ")):
        return ch, None
    variant = next((v for word, v in _VARIANT_WORDS if word in name), None)
    return unicodedata.normalize("NFKC", ch), variant


def _token_text(el) -> tuple[str, str | None]:
    out, variant = [], None
    for c in el.iter():
        if not isinstance(c.tag, str):
            continue
        if c.tag.startswith("mjx-stretchy"):  # a stretched delimiter: its class names the character
            m = _CHAR_CLASS.search(c.get("class") or "")
            if m and _HEX.fullmatch(m.group(1)):
                ch, variant = _char(int(m.group(1), 16))
                return ch, variant
        if c.tag == "mjx-c" or c.tag == "path" or c.tag == "use":
            cp = c.get("data-c")
            m = _CHAR_CLASS.search(c.get("class") or "") if cp is None else None
            if cp is None and m is None and c.text:  # v4 writes the character itself
                out.append(c.text)
                continue
            code = cp if cp is not None else m.group(1) if m else None
            if code and _HEX.fullmatch(code):  # a page's own markup may say anything here
                ch, v = _char(int(code, 16))
                out.append(ch)
                upright = int(code, 16) < 0x80 and ch.isalpha()  # italic letters are drawn from U+1D434 on
                variant = variant or v or ("normal" if upright else None)
    return "".join(out), variant


def _mml(tag: str, kids=(), text: str | None = None, **attrs):
    el = etree.Element(tag, {k: v for k, v in attrs.items() if v})
    el.text = text
    for k in kids:
        el.append(k)
    return el


def _row(els) -> etree._Element:
    kids = [_build(e) for e in els]
    kids = [k for k in kids if k is not None]
    return kids[0] if len(kids) == 1 else _mml("mrow", kids)


def _build(el):
    name = _node_name(el)
    if name in ("mi", "mo", "mn", "mtext", "ms"):
        text, variant = _token_text(el)
        classes = (el.get("class") or "").split()
        if name == "mi" and variant in (None, "normal") and len(text) == 1 and text.isascii() and text.isalpha():
            variant = next((v for c, v in _CLASS_VARIANTS if c in classes), variant)  # CHTML's font classes
        return _mml(name, text=text, mathvariant=variant)
    if name == "mspace":
        return _mml("mspace")
    if name == "mphantom":
        return None
    if el.get("data-mml-node"):
        return _svg_node(el, name)
    if name == "mfrac":
        num, den = _part(el, "mjx-num"), _part(el, "mjx-den")
        if num is not None and den is not None:
            return _mml("mfrac", [_row(_nodes(num)), _row(_nodes(den))])
    if name in ("msqrt", "mroot"):
        box, root = _part(el, "mjx-box"), _part(el, "mjx-root")
        body = _row(_nodes(box)) if box is not None else _row(_nodes(el, skip=("mjx-surd", "mjx-root")))
        if name == "mroot" and root is not None:
            return _mml("mroot", [body, _row(_nodes(root))])
        return _mml("msqrt", [body])
    if name in ("msub", "msup", "msubsup", "munder", "mover", "munderover"):
        return _scripts(el, name)
    if name == "menclose":  # \boxed: CHTML draws the border as a style on the enclosed box
        box = _part(el, "mjx-box")
        boxed = box is not None and "border" in (box.get("style") or "")
        return _mml("menclose", [_row(_nodes(el))], notation="box" if boxed else None)
    if name in ("mtable", "mtr", "mlabeledtr", "mtd"):
        kids = [_build(k) for k in _nodes(el, skip=("mjx-labels",))]
        return _mml(name, [k for k in kids if k is not None])
    return _row(_nodes(el))  # math, mrow, texatom, mstyle, menclose...: the children in order


_SOMETHING = re.compile(r"[^\s{}^_]")
_BRACE_PIECES = frozenset(map(chr, range(0xE150, 0xE155)))  # MathJax's TeX font: parts of a stretched brace


_TRANSLATE = re.compile(r"translate\(\s*(-?[\d.]+)[,\s]+(-?[\d.]+)")


def _svg_height(g) -> float:
    """How far up ``g`` is drawn (MathJax's SVG flips the y axis, so up is positive)."""
    m = _TRANSLATE.search(g.get("transform") or "")
    return float(m.group(2)) if m else 0.0


def _svg_node(el, name: str):
    """SVG output: the ``data-mml-node`` groups are the node's children, in MathML order except where noted."""
    nodes = list(_nodes(el))
    if name in ("msubsup", "munderover") and len(nodes) == 3:
        # the order of the two scripts varies (limits drawn beside an inline \sum); their heights do not
        lower, upper = sorted(nodes[1:], key=_svg_height)
        nodes = [nodes[0], lower, upper]
    kids = [_build(k) for k in nodes]
    kids = [k for k in kids if k is not None]
    if name in ("msqrt", "mroot"):  # the radical sign is drawn as a child of its own
        kids = [k for k in kids if (k.text or "") != "\u221a"]
    if name in ("munder", "mover") and len(kids) == 2 and kids[1].text and set(kids[1].text) <= _BRACE_PIECES:
        kids[1].text = "\u23df" if name == "munder" else "\u23de"
    if name == "menclose" and any(c.tag == "rect" for c in el):  # \boxed: a frame drawn round the content
        return _mml("menclose", [_mml("mrow", kids)], notation="box")
    if name in ("texatom", "mstyle", "mpadded", "semantics", "maction", "merror", "menclose"):
        name = "mrow"
    return _mml(name, kids)


def _scripts(el, name: str):
    script = _part(el, "mjx-script")
    over, under = _part(el, "mjx-over"), _part(el, "mjx-under")
    if script is not None:  # sub/superscripts; also under/over with limits moved to the side (inline \sum)
        base = _row(_nodes(el, skip=("mjx-script",)))
        upper, lower, seen_spacer = [], [], False
        for c in script.iter():
            if c.tag == "mjx-spacer":
                seen_spacer = True
            elif _node_name(c) is not None and next((a for a in c.iterancestors() if a is script or _node_name(a)), None) is script:
                (lower if seen_spacer else upper).append(c)
        if name in ("msub", "munder"):
            lower, upper = upper, []
        if upper and lower:
            return _mml("msubsup", [base, _row(lower), _row(upper)])
        if lower:
            return _mml("msub", [base, _row(lower)])
        return _mml("msup", [base, _row(upper)])
    if name == "munderover" and (over is None or under is None):
        # CHTML draws munderover as an over (or under) around a layout-only munder (or mover) box
        inner = next((n for n in _nodes(el, skip=("mjx-over", "mjx-under")) if _node_name(n) in ("munder", "mover")), None)
        if inner is not None:
            el = inner
            under = under if under is not None else _part(inner, "mjx-under")
            over = over if over is not None else _part(inner, "mjx-over")
    base_part = _part(el, "mjx-base")
    base = _row(_nodes(base_part)) if base_part is not None else _row(_nodes(el, skip=("mjx-over", "mjx-under")))
    if over is not None and under is not None:
        return _mml("munderover", [base, _row(_nodes(under)), _row(_nodes(over))])
    if over is not None:
        return _mml("mover", [base, _row(_nodes(over))])
    if under is not None:
        return _mml("munder", [base, _row(_nodes(under))])
    return base


def mjx_to_mathml(container):
    """MathML rebuilt from a rendered ``<mjx-container>`` (CHTML or SVG), or None when it holds no formula."""
    root = next((e for e in container.iter() if _node_name(e) == "math"), None)
    if root is None:
        return None
    return _mml("math", [_build(root)])


def mjx_to_latex(container) -> str:
    """Linear TeX read off a rendered ``<mjx-container>``; empty when nothing could be read."""
    math = mjx_to_mathml(container)
    tex = mathml_to_latex(math) if math is not None else ""
    return tex if _SOMETHING.search(tex) else ""  # empty boxes read as "{}^{}" are no formula
