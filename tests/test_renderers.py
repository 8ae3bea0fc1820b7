"""Formulas of real papers, typeset by the real KaTeX, Temml and MathJax 3/4, come back out of web pages.

The pages are built by tests/renderer_pages.py from the LaTeX in ../shared/data/arxiv with the renderers
installed by ``npm ci`` in tests/renderers (skipped, with the reason, where node or the packages are absent).
A formula counts as recovered when the extracted TeX is the source up to equivalent spellings
(proofpile.extract.tex_equivalence), display and inline counted apart, per output mode and page layout.
"""

from __future__ import annotations

from collections import Counter

import pytest

from proofpile.extract.html_math import extract_math_text
from proofpile.extract.tex_equivalence import equivalent, normalize_tex, recovered
from tests.renderer_pages import (
    FALLBACK_MODES,
    LAYOUTS,
    MODES,
    build_pages,
    construct_formulas,
    FIXTURES,
    fixture_data,
    glyph_soup,
    load_fixtures,
    render,
    rendered_formulas,
    renderers_missing,
)

N_DISPLAY = N_INLINE = 42
#: what a mode without any source on the page is recorded as: a fallback, visible in the metadata
FALLBACK_SOURCE = {"katex_html": "katex_rendered", "mj3_chtml": "mjx_rendered", "mj3_svg_plain": "mjx_rendered"}


@pytest.fixture(scope="module")
def renderers():
    why = renderers_missing()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="module")
def results(shared_data, renderers):
    formulas, rendered = rendered_formulas(shared_data / "arxiv", N_DISPLAY, N_INLINE)
    assert sum(f.display for f in formulas) == N_DISPLAY and len(formulas) == N_DISPLAY + N_INLINE
    out: dict[tuple[str, str], dict] = {}
    for page in build_pages(formulas, rendered):
        got = extract_math_text(page.html)
        d, i = recovered([(f.tex, f.display) for f in page.formulas], got.text)
        r = out.setdefault((page.mode, page.layout), {"display": 0, "inline": 0, "soup": 0, "sources": Counter()})
        r["display"] += d
        r["inline"] += i
        r["soup"] += glyph_soup(got.text)
        r["sources"].update(got.math_sources)
    return out


@pytest.mark.parametrize("mode", [m for m in MODES if m not in FALLBACK_MODES])
def test_modes_carrying_tex_or_mathml_recover_every_formula_in_every_layout(results, mode):
    for layout in LAYOUTS:
        r = results[(mode, layout)]
        assert r["display"] >= 0.98 * N_DISPLAY, (mode, layout, r)
        assert r["inline"] >= 0.98 * N_INLINE, (mode, layout, r)


@pytest.mark.parametrize("mode", FALLBACK_MODES)
def test_modes_without_source_give_a_flagged_linear_reading(results, mode):
    for layout in LAYOUTS:
        r = results[(mode, layout)]
        assert set(r["sources"]) == {FALLBACK_SOURCE[mode]}, (layout, r["sources"])
        assert r["display"] >= 0.9 * N_DISPLAY and r["inline"] >= 0.9 * N_INLINE, (mode, layout, r)


def test_no_rendering_comes_out_as_glyph_soup(results):
    assert {k: r["soup"] for k, r in results.items() if r["soup"]} == {}


def test_tex_sources_are_the_renderers_own(results):
    # where the page carries the TeX, that TeX is what comes out, not a reading of the drawing
    assert set(results[("katex", "div")]["sources"]) == {"katex"}
    assert set(results[("katex_data", "div")]["sources"]) == {"katex_data_attr"}
    assert set(results[("mj4_chtml", "div")]["sources"]) == {"mathjax_data_latex"}
    assert set(results[("mj4_svg", "div")]["sources"]) == {"mathjax_data_latex"}
    assert set(results[("temml", "div")]["sources"]) == {"mathml_converted"}


# what a drawing alone cannot tell: MathJax's SVG glyphs carry code points but not the calligraphic font
_UNREADABLE = {
    "mj3_svg_plain": (r"\mathbb{R}^n \times \mathcal{L} \to \mathfrak{g}",),
}


def test_accents_braces_enclosures_and_tables(renderers):
    formulas = construct_formulas()
    rendered = render(formulas)
    missed = []
    for mode, htmls in rendered.items():
        for f, html in zip(formulas, htmls):
            if html is None or f.tex in _UNREADABLE.get(mode, ()):
                continue  # the renderer refused it (MathJax 4 without its dynamic fonts) or cannot show it
            got = extract_math_text(f"<p>Consider {html} here.</p>").text
            d, i = recovered([(f.tex, f.display)], got)
            if d + i != 1:
                missed.append((mode, f.tex, f.display, got))
    assert missed == []


def test_committed_fixture_pages_recover_every_formula():
    # runs without node: the rendered formulas kept in tests/renderers/fixtures.json
    formulas, rendered = load_fixtures()
    for page in build_pages(formulas, rendered):
        got = extract_math_text(page.html)
        d, i = recovered([(f.tex, f.display) for f in page.formulas], got.text)
        n_display = sum(f.display for f in page.formulas)
        assert (d, i) == (n_display, len(page.formulas) - n_display), (page.mode, page.layout, got.text)
        assert glyph_soup(got.text) == 0, (page.mode, page.layout, got.text)


def test_committed_fixtures_are_what_the_renderers_produce(shared_data, renderers):
    # python -m tests.renderer_pages rewrites them after a renderer upgrade
    import json

    assert fixture_data(shared_data / "arxiv") == json.loads(FIXTURES.read_text(encoding="utf-8"))


def test_equivalent_spellings():
    assert equivalent(r"\left\lfloor \dfrac{a^2}{512} \right\rfloor", r"\lfloor\frac{a^{2}}{512}\rfloor")
    assert equivalent(r"x^a_b \le y'_1", r"x_{b}^{a}\leq y_{1}^{\prime}")
    assert equivalent(r"\begin{pmatrix}1&0\\0&1\end{pmatrix}", r"(\begin{matrix}1 & 0 \\ 0 & 1\end{matrix})")
    assert equivalent(r"\mathrm{sin}\,x", r"\sin x")
    assert not equivalent(r"x^{ab}", r"x^ab")
    assert not equivalent(r"\frac{a}{b}", r"\frac{b}{a}")
    assert normalize_tex(r"a = b, \label{eq:1}") == "a=b"


def test_display_equations_alone_in_blocks_survive_main_content_selection():
    prose = "<p>The argument proceeds as in the previous section, with the constants adjusted accordingly.</p>"
    blocks = "".join(f'{prose}<div class="eq">$$x_{k} = {k}$$</div><figure><script type="math/tex; mode=display">'
                     f"y_{k} = {k}</script></figure>" for k in range(8))
    got = extract_math_text(f"<html><body><nav><a href='/'>Home</a></nav><main><article>{blocks}"
                            f"{prose}</article></main></body></html>")
    assert got.n_display == 16, got.text


def test_tex_in_an_image_service_path():
    got = extract_math_text('<p>We have <img src="https://i.upmath.me/svg/%5Cfrac%7Ba%7D%7Bb%7D"> here.</p>')
    assert "$\\frac{a}{b}$" in got.text and got.math_sources == {"img_url": 1}


@pytest.mark.parametrize(
    "markup",
    [
        '<mjx-container display="true"><mjx-math><mjx-mfrac></mjx-mfrac><mjx-msubsup><mjx-script></mjx-script>'
        "</mjx-msubsup></mjx-math></mjx-container>",
        '<mjx-container><svg><g data-mml-node="math"><g data-mml-node="mi"><path data-c="zz"/></g></g></svg>'
        "</mjx-container>",
        '<mjx-container><mjx-math><mjx-mi><mjx-c class="mjx-cFFFFFFF"></mjx-c><mjx-c class="mjx-cD800"></mjx-c>'
        "</mjx-mi></mjx-math></mjx-container>",
        '<span class="katex"><span class="katex-html"><span class="mfrac"><span class="vlist-t"></span></span>'
        "</span></span>",
    ],
    ids=["empty-structure", "svg-bad-code", "chtml-bad-codes", "katex-empty-fraction"],
)
def test_broken_renderer_markup_yields_no_formula_and_keeps_the_text(markup):
    got = extract_math_text(f"<p>Text before the formula. {markup} And after it.</p>")
    assert got.text == "Text before the formula. And after it." and got.math_sources == {}


@pytest.mark.parametrize(
    "mathml,tex",
    [
        # a numbered equation: the label cell is dropped, the one-cell table is just its formula
        ('<mtable><mlabeledtr><mtd><mtext>(1)</mtext></mtd><mtd><mi>x</mi><mo>=</mo><mn>1</mn></mtd></mlabeledtr>'
         "</mtable>", "x=1"),
        ('<mtable columnalign="right left"><mlabeledtr><mtd><mtext>(1)</mtext></mtd><mtd><mi>a</mi></mtd><mtd><mo>=</mo>'
         "<mi>b</mi></mtd></mlabeledtr><mtr><mtd><mi>c</mi></mtd><mtd><mo>=</mo><mi>d</mi></mtd></mtr></mtable>",
         r"\begin{aligned}a & =b \\ c & =d\end{aligned}"),
        ("<mover><mrow><mi>A</mi><mi>B</mi></mrow><mo>&#x2015;</mo></mover>", r"\overline{AB}"),
        ("<munder><mi>u</mi><mo>&#x2015;</mo></munder>", r"\underline{u}"),
        ("<mover><mi>x</mi><mo>^</mo></mover>", r"\hat{x}"),
        ("<munder><munder><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow><mo>&#x23DF;</mo></munder><mn>2</mn></munder>",
         r"\underbrace{a+b}_{2}"),
        ("<munder><mo>lim</mo><mrow><mi>n</mi><mo>&#x2192;</mo><mi>&#x221E;</mi></mrow></munder>", r"\lim_{n\to\infty}"),
        ('<menclose notation="box"><mi>E</mi></menclose>', r"\boxed{E}"),
        ("<mmultiscripts><mi>C</mi><mprescripts/><mn>6</mn><mn>14</mn></mmultiscripts>", "{}_{6}^{14}C"),
        ("<mi>&#x1D431;</mi><mo>+</mo><mi>&#x2112;</mi>", r"\mathbf{x}+\mathcal{L}"),
    ],
    ids=["mlabeledtr", "aligned-rows", "overline", "underline", "hat", "underbrace", "lim", "box", "prescripts", "styled"],
)
def test_mathml_structures(mathml, tex):
    from proofpile.extract.mathml import mathml_to_latex, parse_mathml

    got = mathml_to_latex(parse_mathml(f'<math xmlns="http://www.w3.org/1998/Math/MathML">{mathml}</math>'))
    assert got == tex
