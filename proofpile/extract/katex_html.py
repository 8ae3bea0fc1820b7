"""Linear TeX read off KaTeX's HTML output, for pages that kept neither its MathML nor the source.

KaTeX draws a formula as nested ``<span>``s: each glyph in its own box, fractions, scripts and limits as
"vlists" of rows shifted vertically (``style="top:..."`` against a ``pstrut`` of known height). Taken as text,
as trafilatura would, that is one glyph per line. The rows' vertical shifts say which part is which (the
numerator is above the denominator, a superscript above a subscript), and the classes name the rest
(``mfrac``, ``msupsub``, ``sqrt``, ``op-limits``, ``mathbf``...), so the formula can be written back as linear
TeX. It is what the page showed, not what its author typed: callers record it under a source name of its own
("katex_rendered"). KaTeX's HTML classes are its own undocumented-but-stable output; no library reads them.
"""

from __future__ import annotations

import re

from proofpile.extract.mathml import FUNCTIONS, OVER_ACCENTS, SYMBOLS, join_tex, table_environment

_SKIP = re.compile(
    r"\b(katex-mathml|strut|katex-strut|pstrut|vlist-s|frac-line|nulldelimiter|mspace|overline-line|"
    r"underline-line|hide-tail|sizing-spacer)\b"
)
_TOP = re.compile(r"top:\s*(-?[\d.]+)em")
_HEIGHT = re.compile(r"height:\s*(-?[\d.]+)em")
_FONTS = {
    "mathbf": r"\mathbf",
    "boldsymbol": r"\boldsymbol",
    "mathbb": r"\mathbb",
    "mathcal": r"\mathcal",
    "mathscr": r"\mathscr",
    "mathfrak": r"\mathfrak",
    "mathrm": r"\mathrm",
    "mathsf": r"\mathsf",
    "mathtt": r"\mathtt",
}
_FUNCTIONS = FUNCTIONS | {"hom", "lg"}  # KaTeX also has \hom and \lg as named operators


def katex_html_to_latex(el) -> str:
    """Linear TeX for a rendered ``<span class="katex">`` (or its ``katex-html`` part)."""
    tex = _read(el).strip()
    if not re.search(r"[^\s{}^_]", tex):  # empty boxes read as "{}^{}" are no formula
        return ""
    return tex.replace("\ue020=", r"\neq ").replace("\ue020", r"\not ")  # KaTeX draws \neq as a slash over =


def _classes(el) -> set[str]:
    return set((el.get("class") or "").split())


def _rows(vlist_t) -> list[tuple[float, object]]:
    """(shift, row) for each row of a KaTeX vlist, shift < 0 meaning raised; rows in document order."""
    rows = []
    for vlist in vlist_t.iter("span"):
        if "vlist" not in _classes(vlist):
            continue
        for row in vlist:
            if not isinstance(row.tag, str):
                continue
            m = _TOP.search(row.get("style") or "")
            if m is None:
                continue
            strut = next((s for s in row if "pstrut" in _classes(s)), None)
            h = _HEIGHT.search(strut.get("style") or "") if strut is not None else None
            rows.append((float(m.group(1)) + (float(h.group(1)) if h else 3.0), row))
        break  # the first vlist holds the rows; a later one is depth padding
    return rows


def _content(rows) -> list[tuple[float, str]]:
    out = []
    for shift, row in rows:
        tex = _kids(row).strip()
        if tex:
            out.append((shift, tex))
    return out


def _kids(el) -> str:
    parts = [_leaf(el.text)]
    for c in el:
        if isinstance(c.tag, str):
            parts.append(_read(c))
        parts.append(_leaf(c.tail))
    return join_tex(parts)


def _leaf(text: str | None) -> str:
    text = (text or "").replace("\u200b", "")
    if not text.strip():
        return ""
    if text.strip() in SYMBOLS:
        return SYMBOLS[text.strip()]
    return join_tex(SYMBOLS.get(ch, ch) for ch in text if not ch.isspace())


def _arg(tex: str) -> str:
    tex = tex.strip()
    return tex if len(tex) == 1 or re.fullmatch(r"\\[A-Za-z]+", tex) else "{" + tex + "}"


def _read(el) -> str:
    if not isinstance(el.tag, str) or el.tag in ("svg", "script", "style", "math"):
        return ""
    cls = _classes(el)
    if _SKIP.search(el.get("class") or ""):
        return ""
    if "mfrac" in cls:
        parts = _content(_rows(el))
        if len(parts) >= 2:
            parts.sort(key=lambda p: p[0])
            return r"\frac{" + parts[0][1] + "}{" + parts[-1][1] + "}"
    if "msupsub" in cls:
        sup = sub = ""
        for shift, tex in _content(_rows(el)):
            if shift < 0:
                sup = tex
            else:
                sub = tex
        return ("_" + _arg(sub) if sub else "") + ("^" + _arg(sup) if sup else "")
    if "op-limits" in cls:
        parts = _content(_rows(el))
        if parts:
            parts.sort(key=lambda p: p[0])
            base = min(parts, key=lambda p: abs(p[0]))
            over = [t for s, t in parts if s < base[0]]
            under = [t for s, t in parts if s > base[0]]
            return base[1] + ("_" + _arg(under[0]) if under else "") + ("^" + _arg(over[0]) if over else "")
    if cls & {"munder", "mover"}:
        return _under_over(el)
    if "sqrt" in cls:
        root = next((c for c in el.iter("span") if _classes(c) & {"root", "katex-root"}), None)
        body = next((c for c in el.iter("span") if "svg-align" in _classes(c)), None)
        inner = _kids(body) if body is not None else ""
        index = _kids(root).strip() if root is not None else ""
        return r"\sqrt" + ("[" + index + "]" if index else "") + "{" + inner.strip() + "}"
    if "katex-accent" in cls or "accent" in cls:
        body = next((c for c in el.iter("span") if "accent-body" in _classes(c)), None)
        mark = "".join(body.itertext()).strip() if body is not None else ""
        base = [t for _, t in _content(_rows(el)) if t != _leaf(mark)]
        command = OVER_ACCENTS.get(mark, r"\hat" if mark == "^" else "") or _svg_accent(el)
        inner = base[0] if base else ""
        return command + "{" + inner + "}" if command else inner
    if "boxpad" in cls:  # \boxed: the content, and a bordered empty box drawn over it
        return r"\boxed{" + _kids(el).strip() + "}"
    for name, command in (
        ("katex-overline", r"\overline"),
        ("overline", r"\overline"),
        ("katex-underline", r"\underline"),
        ("underline", r"\underline"),
    ):
        if name in cls:
            return command + "{" + join_tex(t for _, t in _content(_rows(el))) + "}"
    if "mtable" in cls:
        return _table(el)
    if "text" in cls and "mord" in cls:
        return r"\text{" + "".join(el.itertext()).replace("\u200b", "").strip() + "}"
    if "mop" in cls and not (cls & {"op-symbol", "op-limits"}):
        word = "".join(el.itertext()).strip()
        if word.isalpha() and len(word) > 1 and not any("msupsub" in _classes(c) for c in el.iter("span")):
            return "\\" + word if word in _FUNCTIONS else r"\operatorname{" + word + "}"
    font = next((_FONTS[c] for c in cls if c in _FONTS), None)
    inner = _kids(el)
    if font and inner.strip() and inner.strip("'") and not any(_classes(c) & set(_FONTS) for c in el.iterdescendants("span")):
        return font + "{" + inner.strip() + "}"
    return inner


# accents KaTeX draws as an SVG path, known by how the path starts (KaTeX's fixed glyph outlines)
_SVG_ACCENTS = (
    ("M377 20c0-5.333", r"\vec"),
    ("M1181 0h2l1171", r"\widehat"),
    ("M344 55.266c-142", r"\widetilde"),
    ("M0 241v40h399891", r"\overrightarrow"),
)


def _svg_accent(el) -> str:
    for path in el.iter("path"):
        d = (path.get("d") or "").lstrip()
        for prefix, command in _SVG_ACCENTS:
            if d.startswith(prefix):
                return command
    return ""


def _under_over(el) -> str:
    rows = _rows(el)
    if not rows:
        return _kids(el)
    base_shift = min((abs(s), s) for s, _ in rows)[1]
    base = _kids(next(r for s, r in rows if s == base_shift)).strip()
    out = base
    for shift, row in rows:
        if shift == base_shift:
            continue
        brace = next((c for c in row.iter("span") if "brace-left" in _classes(c)), None)
        if brace is not None:
            out = (r"\underbrace{" if shift > 0 else r"\overbrace{") + out + "}"
            continue
        tex = _kids(row).strip()
        if not tex:
            continue
        if out.startswith((r"\underbrace", r"\overbrace")):
            out += ("_" if shift > 0 else "^") + _arg(tex)
        else:
            out = (r"\underset{" if shift > 0 else r"\overset{") + tex + "}{" + out + "}"
    return out


def _table(el) -> str:
    columns = [c for c in el.iter("span") if any(k.startswith("col-align") for k in _classes(c))]
    cells: dict[float, list[str]] = {}
    for col in columns:
        for shift, tex in _content(_rows(col)):
            cells.setdefault(round(shift, 2), []).append(tex)
    rows = [" & ".join(cells[k]) for k in sorted(cells)]
    env = table_environment(rows, "")
    return "\\begin{" + env + "}" + r" \\ ".join(rows) + "\\end{" + env + "}"
