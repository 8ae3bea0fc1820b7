import re
import time

import pytest
from datatrove.data import Document

from proofpile.extract.html_math import Extraction, ExtractionError, MathHtmlExtractor, extract_math_text
from proofpile.extract.mathml import mathml_to_latex, parse_mathml

# Formulas per page, (inline, display), counted by reading each source:
# - MathJax demo pages: every delimited span in the body text ($..$ only where the page's config declares it,
#   \(..\), $$..$$, \[..\]), every bare \begin{equation|align}[*] environment, every <script type="text/tex">,
#   and every <math> element (display="block" = display); config and explanatory <code> are not math.
# - Wikipedia: each <span class="mwe-math-element"> is one formula (its MathML and its fallback <img> are two
#   renderings of it); display when its class says mwe-math-mathml-display (Hermitian: 2 of 66, t-SNE: 0 of 34).
#   Hermitian matrix also has 52 {{math}} formulas typed as HTML (<span class="texhtml">), all inline.
EXPECTED = {
    "page_equation-refs.html": (1, 10),  # \(\ref{ref2}+1\); 5 $$..$$, equation, equation*, align x2, align*
    "page_mml-chtml.html": (5, 8),  # 13 <math>, 8 with display="block" (2 inline ones sit in an <h2>)
    "page_tex-chtml.html": (5, 8),  # $a \ne 0$, \(ax^2..\), \(k\), \(n\), $\sqrt{3x-1}..$; $$..$$, 5 \[..\], 2 align
    "page_tex-mml.html": (2, 1),  # $a \ne 0$, \(ax^2 + bx + c = 0\); $$x = ..$$
    "v2-support_v2-compatibility.html": (3, 0),  # three \(..\) (color, AMScd, HTML)
    "v2-support_v2-script-tags.html": (1, 1),  # text/tex and text/tex; mode=display
    "wikipedia-hermitian-matrix.html": (116, 2),  # 64 + 52 texhtml inline, 2 display
    "wikipedia-tsne.html": (34, 0),
}

# formulas that must come out verbatim, with their delimiters
VERBATIM = {
    "page_equation-refs.html": [
        r"$\ref{ref2}+1$",
        "$$\\begin{align*}\n   a &= b \\\\",
        r"$$x+1\over\sqrt{1-x^2}\nonumber$$",
    ],
    "page_mml-chtml.html": [r"$ax^{2}+bx+c=0$", r"$$x=\frac{-b\pm\sqrt{b^{2}-4ac}}{2a}.$$", "$k$", "$n$"],
    "page_tex-chtml.html": [
        r"$a \ne 0$",
        r"$ax^2 + bx + c = 0$",
        r"$$x = {-b \pm \sqrt{b^2-4ac} \over 2a}.$$",
        "$k$",
        r"\text{for $|q| < 1$}.$$",
        r"$$P(E) = {n \choose k} p^k (1-p)^{ n-k}$$",
    ],
    "page_tex-mml.html": [r"$a \ne 0$", r"$$x = {-b \pm \sqrt{b^2-4ac} \over 2a}.$$"],
    "v2-support_v2-compatibility.html": [r"$\color{red}{x} + y$", r"$\require{AMScd} \begin{CD} A @>f>> B\end{CD}$"],
    "v2-support_v2-script-tags.html": ["$x + 1$", r"$$x+1\over x-1$$"],
    "wikipedia-hermitian-matrix.html": [
        r"$$\langle w,Av\rangle =\langle Aw,v\rangle ,$$",
        "$H_{ij} = H_{ji}$",
        r"$A{\text{ Hermitian}}\quad \iff \quad a_{ij}={\overline {a_{ji}}}$",
    ],
    "wikipedia-tsne.html": ["$p_{ij}$", r"$\mathbf {x} _{1},\dots ,\mathbf {x} _{N}$"],
}


def page(body: str, head: str = "") -> str:
    filler = "<p>" + "This paragraph is ordinary prose that makes the page look like an article. " * 3 + "</p>"
    return f"<html><head><title>t</title>{head}</head><body><article>{filler}{body}{filler}</article></body></html>"


@pytest.fixture(scope="module")
def math_pages(shared_data):
    return {p.name: extract_math_text(p.read_text("utf-8")) for p in sorted((shared_data / "html/math").glob("*.html"))}


def test_every_math_page_has_a_stated_count(math_pages):
    assert sorted(math_pages) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_math_page_recall_and_delimiters(math_pages, name):
    result = math_pages[name]
    want_inline, want_display = EXPECTED[name]
    # at least 95% of each kind, and never more than the page holds (no duplicates, no swapped kinds)
    assert want_inline * 0.95 <= result.n_inline <= want_inline, result.math_sources
    assert want_display * 0.95 <= result.n_display <= want_display, result.math_sources
    for formula in VERBATIM[name]:
        assert formula in result.text, formula
    assert "PPMATH" not in result.text
    assert "\\_" not in result.text  # nothing escaped the LaTeX


def test_wikipedia_formula_comes_out_once(math_pages):
    text = math_pages["wikipedia-tsne.html"].text
    # each formula is in the page twice (MathML and the fallback image's alt text): once in the output
    assert text.count(r"$\mathbf {x} _{1},\dots ,\mathbf {x} _{N}$") == 1
    assert "{\\displaystyle" not in text


def test_nonmath_pages_invent_no_formula(shared_data):
    pages = sorted((shared_data / "html/nonmath").glob("*.html"))
    assert len(pages) >= 50
    escaped_dollars = 0
    for p in pages:
        try:
            result = extract_math_text(p.read_bytes().decode("utf-8", errors="replace"))
        except ExtractionError:
            continue
        # none of these pages holds a formula (the Quanta page loads MathJax but writes none)
        assert not result.math_found, (p.name, result.math_sources)
        escaped_dollars += result.text.count("\\$")
        if p.name == "vancouversun.com.microsoft.html":
            assert "invest US\\$1 billion over the next four years" in result.text
    assert escaped_dollars >= 2


def test_dollar_amounts_stay_text():
    r = extract_math_text(
        page(
            "<p>Tickets cost $5 and $10, or $5-$10 with a discount; $x^2$ is math.</p>",
            head="<script>MathJax = {tex: {inlineMath: [['$', '$']]}};</script>",
        )
    )
    assert r"cost \$5 and \$10, or \$5-\$10 with" in r.text
    assert "$x^2$ is math" in r.text
    assert (r.n_inline, r.n_display) == (1, 0)


def test_dollars_without_config_need_tex_content():
    r = extract_math_text(page("<p>Prices: $20 to $30, tiers $$ and $$$, while $\\alpha_1$ is a formula.</p>"))
    assert r.n_inline == 1 and r.n_display == 0
    assert r"$\alpha_1$" in r.text


def test_inline_and_display_delimiters_are_not_swapped():
    r = extract_math_text(page(r"<p>Inline \(a_1+b_1\) then display \[c_1 = d_1\] and $$e_1$$ done.</p>"))
    assert "$a_1+b_1$" in r.text
    assert "$$c_1 = d_1$$" in r.text and "$$e_1$$" in r.text
    assert (r.n_inline, r.n_display) == (1, 2)
    assert r.math_sources == {"mathjax_display": 2, "mathjax_inline": 1}


def test_custom_delimiters_from_mathjax_v2_config():
    head = (
        '<script type="text/x-mathjax-config">MathJax.Hub.Config({tex2jax: {inlineMath: [["@@","@@"]], '
        'displayMath: [["[disp]","[/disp]"]], processEscapes: true}});</script>'
    )
    r = extract_math_text(page("<p>We have @@x_1@@ and [disp]y_2 = 3[/disp] here.</p>", head=head))
    assert "$x_1$" in r.text and "$$y_2 = 3$$" in r.text


def test_custom_delimiters_from_mathjax_v3_config_and_katex():
    head = "<script>window.MathJax = {tex: {inlineMath: [['%%', '%%'], ['\\\\(', '\\\\)']]}};</script>"
    r = extract_math_text(page("<p>Value %%k_n%% here.</p>", head=head))
    assert "$k_n$" in r.text
    katex = (
        '<script>renderMathInElement(document.body, {delimiters: [{left: "!!", right: "!!", display: true}]})'
        "</script><link rel='stylesheet' href='katex.min.css'>"
    )
    r = extract_math_text(page("<p>Show !!\\sum_i i!! now.</p>", head=katex))
    assert "$$\\sum_i i$$" in r.text


def test_mathjax_v2_script_with_rendered_copies_comes_out_once():
    body = (
        '<p>Let <span class="MathJax_Preview">x_1</span><span class="MathJax" id="MathJax-Element-1-Frame">'
        '<nobr><span class="math">x1</span></nobr><span class="MJX_Assistive_MathML"><math><msub><mi>x</mi>'
        '<mn>1</mn></msub></math></span></span><script type="math/tex" id="MathJax-Element-1">x_1</script>'
        ' be given, and</p><div class="MathJax_Display"><span class="MathJax">y</span></div>'
        '<script type="math/tex; mode=display">\\int_0^1 f</script><p>is finite.</p>'
    )
    r = extract_math_text(page(body))
    assert r.math_sources == {"script_math_tex": 2}
    assert "Let $x_1$ be given" in r.text and "$$\\int_0^1 f$$" in r.text
    assert "x1" not in r.text


def test_katex_rendered_html_comes_out_once():
    def katex(tex):
        return (
            f'<span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>q</mi></mrow>'
            f'<annotation encoding="application/x-tex">{tex}</annotation></semantics></math></span>'
            f'<span class="katex-html" aria-hidden="true"><span class="mord">q glyphs</span></span></span>'
        )

    body = f'<p>Inline {katex("q_i^2")} and</p><p><span class="katex-display">{katex("Q_j")}</span></p>'
    r = extract_math_text(page(body))
    assert "Inline $q_i^2$ and" in r.text and "$$Q_j$$" in r.text
    assert "glyphs" not in r.text
    assert r.math_sources == {"katex": 2}


def test_mjx_container_with_assistive_mathml():
    body = (
        '<p>Root <mjx-container class="MathJax" jax="CHTML"><mjx-math>glyph</mjx-math><mjx-assistive-mml>'
        "<math><msqrt><mi>y</mi></msqrt></math></mjx-assistive-mml></mjx-container> ok.</p>"
        '<mjx-container display="true"><mjx-assistive-mml><math display="block"><mfrac><mn>1</mn><mi>n</mi>'
        "</mfrac></math></mjx-assistive-mml></mjx-container>"
    )
    r = extract_math_text(page(body))
    assert r"Root $\sqrt{y}$ ok." in r.text and r"$$\frac{1}{n}$$" in r.text
    assert "glyph" not in r.text


def test_mathml_alttext_and_annotation_preferred_over_conversion():
    body = (
        '<p>A <math alttext="\\alpha_1"><mi>a</mi></math>, B <math><semantics><mi>b</mi>'
        '<annotation encoding="application/x-tex">\\beta_2</annotation></semantics></math>.</p>'
    )
    r = extract_math_text(page(body))
    assert r"A $\alpha_1$, B $\beta_2$." in r.text
    assert r.math_sources == {"mathml_alttext": 1, "mathml_annotation": 1}


@pytest.mark.parametrize(
    "mathml, tex",
    [
        ("<mfrac><mi>a</mi><mi>b</mi></mfrac>", r"\frac{a}{b}"),
        ("<msqrt><mi>x</mi></msqrt>", r"\sqrt{x}"),
        ("<mroot><mi>x</mi><mn>3</mn></mroot>", r"\sqrt[3]{x}"),
        ("<msup><mi>e</mi><mrow><mo>-</mo><mi>x</mi></mrow></msup>", "e^{-x}"),
        ("<msub><mi>a</mi><mi>n</mi></msub>", "a_{n}"),
        ("<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>", "x_{i}^{2}"),
        (
            "<munderover><mo>&#x2211;</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi></munderover>",
            r"\sum_{k=1}^{n}",
        ),
        ("<munder><mi>lim</mi><mrow><mi>x</mi><mo>&#x2192;</mo><mn>0</mn></mrow></munder>", r"\lim_{x\to0}"),
        ("<mover><mi>x</mi><mo>&#x2D9;</mo></mover>", r"\dot{x}"),
        (
            (
                "<mtable><mtr><mtd><mi>a</mi></mtd><mtd><mi>b</mi></mtd></mtr><mtr><mtd><mi>c</mi></mtd>"
                "<mtd><mi>d</mi></mtd></mtr></mtable>"
            ),
            r"\begin{matrix}a & b \\ c & d\end{matrix}",
        ),
        ("<mi>&#x3B1;</mi><mo>&#xB1;</mo><mi>b</mi>", r"\alpha\pm b"),
        (
            "<mtext>if </mtext><mi>x</mi><mspace width='1em'/><mi mathvariant='double-struck'>R</mi>",
            r"\text{if}x\quad \mathbb{R}",
        ),
        ("<mi>sin</mi><mi>x</mi>", r"\sin x"),
    ],
)
def test_mathml_to_latex(mathml, tex):
    math = parse_mathml(f'<math xmlns="http://www.w3.org/1998/Math/MathML">{mathml}</math>')
    assert mathml_to_latex(math) == tex


def test_latex_images_alt_text_and_urls():
    body = (
        '<p>WordPress <img class="latex" src="https://s0.wp.com/latex.php?latex=a%5E2&bg=fff" alt="a^2"> '
        'and codecogs <img src="https://latex.codecogs.com/gif.latex?%5Cinline%20%5Cfrac%7B1%7D%7B2%7D"> and '
        'mimetex <img src="/cgi-bin/mimetex.cgi?x_0" alt=""> and a photo <img src="cat.jpg" alt="a cat">.</p>'
        '<p><img src="https://latex.codecogs.com/png.latex?%5Cdpi%7B120%7D%20E%3Dmc%5E2" alt="E=mc^2"></p>'
        '<p>Alt only: <img src="eq1.png" alt="\\sqrt{2}"> is irrational.</p>'
    )
    r = extract_math_text(page(body))
    assert "WordPress $a^2$ and codecogs $\\frac{1}{2}$ and mimetex $x_0$ and a photo" in r.text
    assert "$$E=mc^2$$" in r.text
    assert r"Alt only: $\sqrt{2}$ is irrational." in r.text
    assert r.math_sources == {"img_alt": 3, "img_url": 2}


def test_math_container_and_bbcode_and_environments():
    body = (
        '<p>SE: <span class="math-container">$\\mu_0$</span> and <span class="math-container">$$\\nu_1$$</span>'
        " then.</p><p>Forum [itex]a_b[/itex] and [tex]c_d[/tex] go.</p>"
        "<p>Env \\begin{equation*} f(x) = x_1 \\end{equation*} done.</p>"
    )
    r = extract_math_text(page(body))
    assert "SE: $\\mu_0$ and" in r.text and "$$\\nu_1$$" in r.text
    assert "Forum $a_b$ and" in r.text and "$$c_d$$" in r.text
    assert "$$\\begin{equation*} f(x) = x_1 \\end{equation*}$$" in r.text
    assert r.math_sources == {"bbcode": 2, "math_container": 2, "tex_environment": 1}


def test_display_math_split_by_br_is_joined():
    r = extract_math_text(page("<p>Then<br/>\\[ a_1 = b<br />\n c_2 = d \\]<br/>holds.</p>"))
    assert r.n_display == 1
    assert "Then\n$$a_1 = b\n c_2 = d$$\nholds." in r.text


def test_code_keeps_indentation_and_dollars():
    code = "def f(x):\n    if x:\n        return '$HOME $x$'\n"
    r = extract_math_text(page(f"<pre><code>{code}</code></pre><p>Cost is $3 and $\\beta_1$ here.</p>"))
    assert "    if x:\n        return '$HOME $x$'" in r.text
    assert (r.n_inline, r.n_display) == (1, 0)


def test_escaped_dollar_is_not_a_delimiter():
    head = "<script>MathJax = {tex: {inlineMath: [['$', '$']]}};</script>"
    r = extract_math_text(page(r"<p>It costs \$4 and \$5 but $y_1$ is math.</p>", head=head))
    assert r.n_inline == 1 and r"\$4 and \$5" in r.text


def test_bad_input():
    with pytest.raises(ExtractionError, match="empty"):
        extract_math_text("   \n ")
    with pytest.raises(ExtractionError, match="str"):
        extract_math_text(b"<html></html>")  # type: ignore[arg-type]
    empty_body = extract_math_text("<html><head><title>x</title></head><body></body></html>")
    assert empty_body.text == "" and not empty_body.math_found
    # a lone surrogate (undecodable byte passed through) must not cut the page off at that point
    r = extract_math_text(page("<p>before \udce9 after $x_9$ and the rest of the sentence.</p>"))
    assert "after $x_9$ and the rest" in r.text
    # a fragment, not a document
    assert "$x_1$" in extract_math_text("<p>Just a fragment with $x_1$ in it.</p>").text


def test_deep_nesting_does_not_crash():
    deep = page("<p>Shallow $\\gamma_1$ formula.</p>" + "<div>" * 100_000 + "deep" + "</div>" * 100_000)
    r = extract_math_text(deep)
    assert isinstance(r, Extraction) and "$\\gamma_1$" in r.text


def test_huge_page_is_truncated_in_bounded_time():
    para = "<p>Row %d: the value $x_{%d}^2$ and some words around it to make a paragraph.</p>\n"
    body = "".join(para % (i, i) for i in range(300_000))  # ~25 MB
    start = time.monotonic()
    r = extract_math_text(page(body), max_chars=2_000_000)
    assert r.truncated and r.math_found
    assert time.monotonic() - start < 60  # a guard against hanging, not a speed target
    assert not extract_math_text(page("<p>$x_1$ short</p>")).truncated


def test_step_counts_reasons_and_sets_metadata(warnings_logged):
    good = page("<p>Here $\\delta_1$ and \\[E_2\\] appear.</p>")
    slow = page("".join(f"<p>Row {i}: $y_{{{i}}}$ with words.</p>" for i in range(200_000)))
    docs = [
        Document(text=good, id="good", metadata={"url": "https://example.org/good"}),
        Document(text="", id="empty", metadata={}),
        Document(text="<html><body><script>x</script></body></html>", id="nothing", metadata={}),
        Document(text=slow, id="slow", metadata={}),
        Document(text=good.replace("appear", "appear\udce9"), id="surrogate", metadata={}),
    ]
    step = MathHtmlExtractor(timeout=1.0, max_chars=50_000_000)
    out = list(step.run(iter(docs)))
    assert [d.id for d in out] == ["good", "surrogate"]
    meta = out[0].metadata
    assert meta["math_found"] is True and meta["n_inline"] == 1 and meta["n_display"] == 1
    assert meta["math_sources"] == {"mathjax_display": 1, "mathjax_inline": 1}
    assert "$\\delta_1$" in out[0].text and "$$E_2$$" in out[0].text
    stats = step.stats
    assert stats["total"].total == 5 and stats["forwarded"].total == 2
    assert stats["dropped_extraction_failed"].total == 2  # the empty page and the timed-out one
    assert stats["extraction_timeout"].total == 1
    assert stats["dropped_empty_extraction"].total == 1
    assert any("empty" in m and "empty page" in m for m in warnings_logged)
    assert all("\n" not in m for m in warnings_logged)


def test_min_chars_drops_short_extractions():
    step = MathHtmlExtractor(min_chars=10_000)
    out = list(step.run(iter([Document(text=page("<p>$a_1$</p>"), id="x", metadata={})])))
    assert out == [] and step.stats["dropped_empty_extraction"].total == 1


def test_placeholder_prefix_in_page_text_is_left_alone():
    r = extract_math_text(page("<p>The token PPMATH0X appears literally next to $a_1$ here.</p>"))
    assert "PPMATH0X appears" in r.text and "$a_1$" in r.text
    assert re.search(r"PPMATHQ+\d", r.text) is None
