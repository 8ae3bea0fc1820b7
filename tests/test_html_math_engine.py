"""The resiliparse main-content engine (``extract.engine: resiliparse``): same formulas, real pages."""

import pytest
from datatrove.data import Document

from proofpile.extract.html_math import ExtractionError, MathHtmlExtractor, extract_math_text
from tests.test_html_math import EXPECTED, VERBATIM, page


@pytest.fixture(scope="module")
def both(shared_data):
    out = {}
    for p in sorted((shared_data / "html/math").glob("*.html")):
        html = p.read_text("utf-8")
        out[p.name] = (extract_math_text(html), extract_math_text(html, engine="resiliparse"))
    return out


def test_same_formulas_as_the_default_on_real_math_pages(both):
    assert sorted(both) == sorted(EXPECTED)
    for name, (default, rp) in both.items():
        assert rp.engine == "resiliparse" and default.engine == "trafilatura"
        assert (rp.n_inline, rp.n_display) == (default.n_inline, default.n_display), name
        assert rp.math_sources == default.math_sources, name
        for formula in VERBATIM[name]:
            assert formula in rp.text, (name, formula)
        assert "PPMATH" not in rp.text


def test_prose_kept_and_navigation_mostly_dropped():
    html = page(
        "<p>The identity $e^{i\\pi} + 1 = 0$ links five constants.</p><div>\\[\\int_0^1 x\\,dx = 1/2\\]</div>",
        head="",
    ).replace("<body>", "<body><nav><ul><li><a href='/'>Home</a></li><li><a href='/x'>Archive</a></li></ul></nav>")
    r = extract_math_text(html, engine="resiliparse")
    assert "The identity $e^{i\\pi} + 1 = 0$ links five constants." in r.text
    assert "\n$$\\int_0^1 x\\,dx = 1/2$$\n" in r.text
    assert "Archive" not in r.text  # <nav> is boilerplate to resiliparse's main-content heuristics too
    assert (r.n_inline, r.n_display) == (1, 1)


def test_nonmath_pages_invent_no_formula(shared_data):
    for p in sorted((shared_data / "html/nonmath").glob("*.html")):
        try:
            r = extract_math_text(p.read_bytes().decode("utf-8", errors="replace"), engine="resiliparse")
        except ExtractionError:
            continue
        assert not r.math_found, (p.name, r.math_sources)


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine 'readability'"):
        extract_math_text(page("<p>x</p>"), engine="readability")
    with pytest.raises(ValueError, match="engine"):
        MathHtmlExtractor(engine="readability")


def test_step_records_the_engine_only_when_not_the_default():
    doc = page("<p>Here $\\delta_1$ appears in a sentence of prose.</p>")
    rp = list(MathHtmlExtractor(engine="resiliparse").run(iter([Document(text=doc, id="a", metadata={})])))
    default = list(MathHtmlExtractor().run(iter([Document(text=doc, id="a", metadata={})])))
    assert rp[0].metadata["engine"] == "resiliparse" and rp[0].metadata["n_inline"] == 1
    assert "engine" not in default[0].metadata


def test_page_resiliparse_throws_away_goes_to_trafilatura(shared_data):
    # a real news page whose article resiliparse's main-content heuristics drop whole (it keeps one line)
    html = (shared_data / "html/nonmath/meedia.de.freenet.html").read_bytes().decode("utf-8", errors="replace")
    rp, default = extract_math_text(html, engine="resiliparse"), extract_math_text(html)
    assert rp.engine == "trafilatura" and rp.text == default.text and len(rp.text) > 1000


def test_recipe_stage_passes_the_engine_on():
    from pydantic import ValidationError

    from proofpile.extract.stage import ExtractStage, _stage

    assert _stage(ExtractStage(engine="resiliparse"), None).engine == "resiliparse"
    assert _stage(ExtractStage(), None).engine == "trafilatura"
    with pytest.raises(ValidationError):
        ExtractStage(engine="readability")
