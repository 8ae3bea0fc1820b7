"""Stage 1 of OpenWebMath on raw HTML, on real pages: ordinary pages stop here, math pages go on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datatrove.data import Document

from proofpile.filters.math_prefilter import (
    HINT_MARKERS,
    LATEX_COMMANDS,
    MARKUP_MARKERS,
    MarkerScan,
    MathPrefilter,
    count_tex_formulas,
    plain_text,
    prefilter_branch,
)


def pages(shared_data: Path, kind: str) -> list[Path]:
    found = sorted((shared_data / "html" / kind).glob("*.html"))
    if not found:
        pytest.skip(f"no pages in {shared_data / 'html' / kind}")
    return found


def test_every_real_math_page_goes_on(shared_data: Path):
    branches = {p.name: prefilter_branch(p.read_text(encoding="utf-8")) for p in pages(shared_data, "math")}
    assert None not in branches.values(), branches
    # MathML (Wikipedia) and MathJax 2 source scripts are markup; MathJax demo pages with `$...$` in the text go on
    # because their plain text shows TeX
    assert branches["wikipedia-tsne.html"] == branches["v2-support_v2-script-tags.html"] == "markup"
    assert "tex_in_text" in branches.values()


def test_real_ordinary_pages_stop_here(shared_data: Path):
    """122 real pages full of scripts, styles and backslashes, one of them loading MathJax: none goes on."""
    found = pages(shared_data, "nonmath") + pages(shared_data, "nonmath-readability")
    assert len(found) > 100
    branches = {p.name: prefilter_branch(p.read_text(encoding="utf-8", errors="replace")) for p in found}
    assert [name for name, b in branches.items() if b] == []
    scan = MarkerScan()
    # the MathJax page and the list of $$-separated links reach stage B and are dropped there
    for name in ("quanta-mathjax-no-math.html", "scam.html"):
        assert scan((shared_data / "html" / "nonmath" / name).read_text(encoding="utf-8", errors="replace")) == "hint"


def test_real_crawl_pages_stop_here(shared_data: Path):
    """The pages of the real WARC files (a Common Crawl excerpt, ClueWeb09), as the reader hands them on."""
    from proofpile.sources.commoncrawl import CommonCrawlReader

    files = sorted(str(p) for p in (shared_data / "warc").glob("*.warc.gz"))
    if not files:
        pytest.skip(f"no WARC files in {shared_data / 'warc'}")
    docs = list(CommonCrawlReader(files, crawl="CC-MAIN-2020-34").run())
    assert len(docs) >= 40
    step = MathPrefilter()
    assert list(step.run(iter(docs))) == []
    assert step.stats["dropped_no_math_signal"].total + step.stats["dropped_no_math_in_text"].total == len(docs)


def test_real_math_problems_as_bare_tex_pages_go_on(shared_data: Path):
    """MATH problems and solutions in a plain page, no renderer: the TeX in the text alone carries them."""
    path = shared_data / "benchmarks" / "math_test.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:300]]
    kept = sum(prefilter_branch(f"<html><body><p>{r['problem']}</p><p>{r['solution']}</p></body></html>") is not None
               for r in items)
    assert kept >= 0.99 * len(items)


@pytest.mark.parametrize("marker", MARKUP_MARKERS)
def test_each_markup_marker_alone_is_enough(marker: str):
    assert prefilter_branch(f"<p>x</p>{marker}<p>y</p>") == "markup"


@pytest.mark.parametrize(
    "text, n",
    [
        (r"so $\frac{a}{b}$ holds and $x$ too", 2),
        (r"display $$a^2 + b^2 = c^2$$ and \(x_1\) and \[y\]", 3),
        (r"\begin{align*} x &= 1 \end{align*}", 1),
        ("[tex]x^2[/tex] in a forum", 1),
        ("it costs $5 and $10, or $5-$10", 0),  # money
        ("run $HOME/bin and echo $PATH$", 0),  # shell
        ("$$ links \n http://a.onion/ \n more $$", 0),  # dollar signs around prose
        ("price: $ 3 $", 0),
    ],
)
def test_tex_formulas_in_plain_text(text: str, n: int):
    assert count_tex_formulas(text) == n


@pytest.mark.parametrize(
    "html, branch",
    [
        (r"<p>so \(\frac{a}{b}\) holds</p>", "tex_in_text"),
        (r"<p>\begin{align*} x &= 1 \end{align*}</p>", "tex_in_text"),
        ('<script src="/MathJax.js"></script><p>Let $x^2 = 4$.</p>', "tex_in_text"),
        ('<script src="/MathJax.js"></script><p>our picnic is on Sunday</p>', None),
        (r"<script>var re = /\sum|\int/; var s = '\frac';</script><p>a recipe</p>", None),  # scripts are no text
        (r"<p>\fraction of it, \alphabet</p>", None),  # hint found, but the text shows no formula
        ('<script>var s = "a\\nu b\\to c\\theta\\u00e9";</script>', None),  # string escapes, not LaTeX
        ("<p>" + "plain prose about cooking. " * 30 + "</p>", None),
        ('<img src="https://latex.codecogs.com/png.latex?x^2" alt="x^2">', "markup"),
    ],
)
def test_branches(html: str, branch: str | None):
    assert prefilter_branch(html) == branch


def test_plain_text_keeps_alt_texts_and_drops_scripts():
    text = plain_text('<script>var a = "$x^2$";</script><p>see <img alt="$y_1$" src="y.png"></p>')
    assert "$y_1$" in text and "$x^2$" not in text


def test_marker_lists():
    assert 90 <= len(LATEX_COMMANDS) == len(set(LATEX_COMMANDS)) <= 150
    assert not set(MARKUP_MARKERS) & set(HINT_MARKERS)


PICNIC = "Our picnic is on Sunday; bring bread, cheese and a blanket. " * 20


def test_filter_records_the_branch_each_stage_and_counts_reasons():
    docs = [
        Document(text='<script type="math/tex">x^2</script><p>x</p>', id="m", metadata={}),
        Document(text=r"<p>so \(\sqrt{2}\) is irrational</p>", id="t", metadata={}),
        Document(text='<script src="/mathjax/tex-chtml.js"></script><p>' + PICNIC + "</p>", id="h", metadata={}),
        Document(text="<p>" + "words " * 200 + "</p>", id="n", metadata={}),
    ]
    step = MathPrefilter(threshold=0.5, min_formulas=1)
    kept = list(step.run(iter(docs)))
    assert [(d.id, d.metadata["prefilter"]) for d in kept] == [("m", "markup"), ("t", "tex_in_text")]
    counts = {k: step.stats[k].total for k in step.stats.stats}
    assert counts["dropped_no_math_signal"] == counts["dropped_no_math_in_text"] == 1
    assert counts["stage_markers_markup"] == 1 and counts["stage_markers_hint"] == 2
    assert counts["stage_text_passed"] == 1
    assert counts["stage_markers_chars"] == sum(len(d.text) for d in docs)
    assert counts["stage_text_chars"] == sum(len(d.text) for d in docs if d.id in "th")


def test_min_formulas_and_threshold():
    html = r"<p>%s and \(x_1\)</p>" % PICNIC
    assert MathPrefilter(min_formulas=1).branch(html) == ("tex_in_text", "text")
    assert MathPrefilter(min_formulas=2).branch(html) == (None, "text")  # one formula, prose about a picnic
    assert MathPrefilter(min_formulas=0, threshold=0.0).branch(html) == ("math_score", "text")


def test_the_step_travels_to_workers_after_use():
    """Steps are pickled to worker processes: the automaton and the model stay behind and load again there."""
    import pickle

    step = MathPrefilter()
    html = r"<p>so \(\sqrt{2}\) is irrational</p>"
    assert step.branch(html)[0] == "tex_in_text" and step.scan._automaton is not None
    copy = pickle.loads(pickle.dumps(step))
    assert copy.scan._automaton is None and copy.branch(html)[0] == "tex_in_text"


def test_recipe_keys():
    from pydantic import ValidationError

    from proofpile.stages import PrefilterStage

    cfg = PrefilterStage.model_validate({"enabled": True, "threshold": 0.7, "min_formulas": 2})
    assert (cfg.threshold, cfg.min_formulas, cfg.model) == (0.7, 2, None)
    with pytest.raises(ValidationError, match="min_chars is gone.*prefilter.threshold, prefilter.min_formulas"):
        PrefilterStage.model_validate({"enabled": True, "min_chars": 500})
    with pytest.raises(ValidationError):
        PrefilterStage.model_validate({"threshold": 1.5})
