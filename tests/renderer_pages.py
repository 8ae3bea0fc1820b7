"""Web pages of real papers' formulas, typeset by the real math renderers, in the layouts sites use.

The TeX is taken from the LaTeX sources in ``../shared/data/arxiv`` (display equations and inline formulas the
extractor was not written against), rendered by KaTeX, Temml and MathJax 3/4 through
``tests/renderers/render.mjs`` (installed from the npm registry by ``npm ci`` in ``tests/renderers``), and
placed into pages of prose paragraphs. Formulas any renderer refuses (a paper's own macros) are left out of
every mode, so all modes carry the same formulas. Rendering needs node and the installed packages; callers
skip with :func:`renderers_missing`'s reason otherwise.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import io
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

RENDERERS = Path(__file__).resolve().parent / "renderers"

#: output modes of render.mjs; the ones that carry the TeX or its MathML are held to full recovery
MODES = (
    "katex",
    "katex_data",
    "katex_html",
    "temml",
    "mj3_chtml_mml",
    "mj3_chtml",
    "mj3_svg",
    "mj3_svg_plain",
    "mj4_chtml",
    "mj4_svg",
    "mathml_tagged",
)
#: modes whose output keeps no TeX and no MathML: a flagged linear reading is what can be recovered
FALLBACK_MODES = ("katex_html", "mj3_chtml", "mj3_svg_plain")
#: where a display equation sits in the page
LAYOUTS = ("p", "div", "figure", "center", "article", "main", "table")

_DISPLAY_ENVS = re.compile(r"\\begin\{(equation|displaymath)\*?\}(.*?)\\end\{\1\*?\}", re.S)
_DISPLAY_BRACKETS = re.compile(r"\\\[(.*?)\\\]|(?<!\\)\$\$(.*?)(?<!\\)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$([^$\n]{3,120}?)(?<![\\])\$(?!\$)")
_DROP = re.compile(r"\\(?:label|ref|eqref|cite|tag)\{[^}]*\}|\\(?:nonumber|notag)\b")
_REFUSE = re.compile(r"\\(?:begin|end|text|mbox|hbox|intertext|input|newcommand|def|color|includegraphics)\b|%|@|\\\\")

_PROSE = (
    "The argument proceeds in the same way as in the previous section, with the constants adjusted accordingly.",
    "We recall the definitions needed below and fix the notation that will be used throughout this part.",
    "This identity follows from a direct computation, which we include for the convenience of the reader.",
    "Combining the two estimates above gives the bound stated in the proposition, as claimed.",
    "In particular the quantity on the left is finite whenever the parameters satisfy the standing assumptions.",
    "The remaining terms are treated similarly, and we omit the routine details of that verification here.",
)


@dataclass(frozen=True)
class Formula:
    tex: str
    display: bool


@dataclass(frozen=True)
class Page:
    mode: str
    layout: str
    html: str
    formulas: tuple[Formula, ...]


def renderers_missing() -> str | None:
    """Why the real renderers cannot run here, or None when they can."""
    if shutil.which("node") is None:
        return "node is not installed: the real math renderers (tests/renderers) cannot run"
    if not (RENDERERS / "node_modules" / "katex").is_dir():
        return "renderers not installed: run `npm ci` in tests/renderers (the npm registry must be reachable)"
    return None


def _tex_files(arxiv: Path):
    for gz in sorted(arxiv.glob("*.gz")):
        raw = gzip.decompress(gz.read_bytes())
        try:
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                for m in sorted(tar.getmembers(), key=lambda m: m.name):
                    if m.isfile() and m.name.endswith(".tex"):
                        yield tar.extractfile(m).read().decode("utf-8", "replace")
        except tarfile.ReadError:
            yield raw.decode("utf-8", "replace")


def _clean(tex: str) -> str | None:
    tex = _DROP.sub("", tex)
    tex = re.sub(r"\s+", " ", tex).strip().rstrip(",.;").strip()
    if not 3 <= len(tex) <= 240 or _REFUSE.search(tex) or tex.count("{") != tex.count("}"):
        return None
    return tex


def paper_formulas(arxiv: Path) -> tuple[list[str], list[str]]:
    """Distinct display and inline formulas of the papers, in a fixed order spread over all papers."""
    display: dict[str, None] = {}
    inline: dict[str, None] = {}
    for text in _tex_files(arxiv):
        text = re.sub(r"(?<!\\)%.*", "", text)
        for m in _DISPLAY_ENVS.finditer(text):
            if (t := _clean(m.group(2))) is not None:
                display.setdefault(t)
        for m in _DISPLAY_BRACKETS.finditer(text):
            if (t := _clean(m.group(1) or m.group(2) or "")) is not None:
                display.setdefault(t)
        for m in _INLINE.finditer(text):
            t = _clean(m.group(1))
            if t is not None and re.search(r"[\\^_=]", t):
                inline.setdefault(t)

    def spread(items: list[str]) -> list[str]:  # a stable shuffle, so no one paper fills the pages
        return sorted(items, key=lambda t: hashlib.sha256(t.encode()).hexdigest())

    return spread(list(display)), spread(list(inline))


def render(items: list[Formula], modes=MODES) -> dict[str, list[str | None]]:
    request = {"items": [{"tex": f.tex, "display": f.display} for f in items], "modes": list(modes)}
    proc = subprocess.run(
        ["node", str(RENDERERS / "render.mjs")], input=json.dumps(request), capture_output=True, text=True,
        timeout=600, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"render.mjs failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)["modes"]


@functools.lru_cache(maxsize=4)
def _rendered_candidates(arxiv: Path, n_inline: int, modes: tuple[str, ...]):
    """Every display formula of the papers and the first ``n_inline`` inline ones, rendered in ``modes``
    (one node run, shared by the callers in a process: a selection of any size is a prefix of it)."""
    display, inline = paper_formulas(arxiv)
    cands = [Formula(t, True) for t in display] + [Formula(t, False) for t in inline[:n_inline]]
    return cands, render(cands, modes)


def rendered_formulas(arxiv: Path, n_display: int, n_inline: int, modes=MODES):
    """``n_display`` + ``n_inline`` formulas every mode renders, and each mode's HTML for them."""
    cands, out = _rendered_candidates(arxiv, max(n_inline * 3, 150), tuple(modes))
    ok = [i for i in range(len(cands)) if all(out[m][i] is not None for m in modes)]
    shown = [i for i in ok if cands[i].display][:n_display]
    inline = [i for i in ok if not cands[i].display][:n_inline]
    keep = []  # display and inline formulas interleaved, so each page has both
    for k in range(max(len(shown), len(inline))):
        keep += shown[k : k + 1] + inline[k : k + 1]
    return [cands[i] for i in keep], {m: [out[m][i] for i in keep] for m in modes}


def _display_block(layout: str, rendered: str, n: int) -> str:
    if layout == "p":
        return f"<p>{rendered}</p>"
    if layout == "div":
        return f'<div class="equation">{rendered}</div>'
    if layout == "figure":
        return f'<figure class="math">{rendered}</figure>'
    if layout == "center":
        return f"<center>{rendered}</center>"
    if layout in ("main", "article"):  # bare, straight in the page's <article> or (no article) its <main>
        return rendered
    if layout == "table":
        return f'<table class="eqn"><tr><td class="eq">{rendered}</td><td class="num">({n})</td></tr></table>'
    raise ValueError(layout)


def build_pages(formulas: list[Formula], rendered: dict[str, list[str]], layouts=LAYOUTS, per_page: int = 14):
    """Pages of every mode and layout: prose paragraphs holding the inline formulas, display equations
    between them in the layout's wrapper, boilerplate navigation around."""
    pages: list[Page] = []
    for mode, htmls in rendered.items():
        for layout in layouts:
            for start in range(0, len(formulas), per_page):
                chunk = list(range(start, min(start + per_page, len(formulas))))
                pages.append(_page(mode, layout, [formulas[i] for i in chunk], [htmls[i] for i in chunk], start))
    return pages


def _page(mode: str, layout: str, formulas: list[Formula], htmls: list[str], seed: int) -> Page:
    body: list[str] = []
    para: list[str] = []
    n_eq = 0

    def prose(k: int) -> str:
        return html.escape(_PROSE[(seed + k) % len(_PROSE)])

    for k, (f, h) in enumerate(zip(formulas, htmls)):
        if f.display:
            body.append("<p>" + " ".join(para + [prose(k)]) + "</p>")
            para = []
            n_eq += 1
            body.append(_display_block(layout, h, n_eq))
        else:
            para.append(f"{prose(k)} Let {h} hold, as stated.")
    body.append("<p>" + " ".join(para + [prose(len(formulas))]) + "</p>")
    content = "\n".join(body)
    if layout != "main":
        content = f"<article>\n<h1>Notes on the estimates</h1>\n{content}\n</article>"
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Notes on the estimates</title></head><body>\n"
        '<header><nav><a href="/">Home</a> | <a href="/notes">Notes</a> | <a href="/about">About</a></nav></header>\n'
        f"<main>\n{content}\n</main>\n"
        '<footer><p>Copyright the authors. <a href="/contact">Contact</a></p></footer>\n</body></html>\n'
    )
    return Page(mode, layout, page, tuple(formulas))


#: MathML structures the papers above use rarely or never, each as display and inline: accents over/under a
#: base (mover/munder), braces with labels, enclosures (menclose), prescripts, matrices and aligned rows
CONSTRUCTS = (
    r"\overline{AB} = \overline{A} + \overline{B}",
    r"\hat{x} + \tilde{y} + \bar{z}",
    r"\dot{x} = \ddot{y}",
    r"\vec{v} \cdot \vec{w} = 0",
    r"\underbrace{a + b + c}_{3}",
    r"\overbrace{x + y}^{n}",
    r"\underline{u} \le \overline{u}",
    r"\widehat{ABC}",
    r"\boxed{E = mc^2}",
    r"{}^{14}_{6}\mathrm{C}",
    r"\sqrt[3]{x + 1}",
    r"\lim_{n \to \infty} a_n = \sup_{k} b_k",
    r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}",
    r"\begin{aligned} a &= b + c \\ d &= e \end{aligned}",
    r"\mathbb{R}^n \times \mathcal{L} \to \mathfrak{g}",
    r"\left\{ x \in X : f(x) \ne 0 \right\}",
)


def construct_formulas() -> list[Formula]:
    return [Formula(t, d) for t in CONSTRUCTS for d in (True, False)]


def glyph_soup(text: str) -> int:
    """Lines of extracted text that are one or two glyphs: a rendering's boxes taken as text (KaTeX HTML,
    MathJax CHTML), the failure the extractor must never let through."""
    return sum(1 for line in text.splitlines() if 0 < len(line.strip()) <= 2 and line.strip() != "$$")


#: a few rendered formulas kept in the repository, so extraction is tested where node is absent; a test
#: re-renders them where node is present and compares, so they cannot drift from the renderers
FIXTURES = RENDERERS / "fixtures.json"
FIXTURE_SIZE = (4, 4)  # display, inline
_SVG_PATH_DATA = re.compile(r' d="[^"]*"')


def fixture_data(arxiv: Path) -> dict:
    """The committed fixture's content, rendered now (SVG glyph outlines dropped: they say nothing about the
    formula and are most of the bytes)."""
    formulas, rendered = rendered_formulas(arxiv, *FIXTURE_SIZE)
    return {
        "formulas": [[f.tex, f.display] for f in formulas],
        "modes": {m: [_SVG_PATH_DATA.sub("", h) for h in v] for m, v in rendered.items()},
    }


def write_fixtures(arxiv: Path) -> None:
    FIXTURES.write_text(json.dumps(fixture_data(arxiv), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load_fixtures() -> tuple[list[Formula], dict[str, list[str]]]:
    data = json.loads(FIXTURES.read_text(encoding="utf-8"))
    return [Formula(t, d) for t, d in data["formulas"]], data["modes"]


if __name__ == "__main__":  # python -m tests.renderer_pages [data dir]: rewrite tests/renderers/fixtures.json
    import sys

    write_fixtures(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data") / "arxiv")
