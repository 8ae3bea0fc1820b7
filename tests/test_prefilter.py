"""Stage 1 of OpenWebMath on raw HTML: real math pages pass on keywords, scripts are no LaTeX, short pages go."""

from __future__ import annotations

from pathlib import Path

import pytest
from datatrove.data import Document

from proofpile.filters.math_prefilter import LATEX_COMMANDS, MATH_KEYWORDS, MathPrefilter, prefilter_branch


def pages(shared_data: Path, kind: str) -> list[Path]:
    found = sorted((shared_data / "html" / kind).glob("*.html"))
    if not found:
        pytest.skip(f"no pages in {shared_data / 'html' / kind}")
    return found


def test_every_real_math_page_passes_on_a_keyword(shared_data: Path):
    for page in pages(shared_data, "math"):
        assert prefilter_branch(page.read_text(encoding="utf-8")) == "keyword", page.name


def test_real_nonmath_pages_show_no_latex(shared_data: Path):
    """Scripts and styles in 59 real pages are full of backslashes; none may look like LaTeX to the scan."""
    branches = {p.name: prefilter_branch(p.read_text(encoding="utf-8", errors="replace"))
                for p in pages(shared_data, "nonmath")}
    assert "latex" not in branches.values()
    assert branches["quanta-mathjax-no-math.html"] == "keyword"  # loads MathJax: the classifier must judge it
    assert branches["exotic_tags_tei.html"] is None  # 444 bytes, no signal
    assert sum(b == "classifier" for b in branches.values()) == len(branches) - 2


@pytest.mark.parametrize("keyword", MATH_KEYWORDS)
def test_each_keyword_alone_is_enough(keyword: str):
    assert prefilter_branch(f"<p>x</p>{keyword}<p>y</p>") == "keyword"


@pytest.mark.parametrize(
    "html, branch",
    [
        (r"<p>so \frac{a}{b} holds</p>", "latex"),
        (r"<p>\begin{align*} x &= 1 \end{align*}</p>", "latex"),
        (r"<p>let \alpha_1 be</p>", "latex"),
        (r"<p>$x \in A$</p>", "latex"),
        (r"<p>\fraction of it, \alphabet</p>", None),  # a command name must end at a non-letter
        ('<script>var s = "a\\nu b\\to c\\theta\\u00e9";</script>', None),  # string escapes, not LaTeX
        ("<p>" + "plain prose about cooking. " * 30 + "</p>", "classifier"),
        ("<p>plain prose about cooking.</p>", None),
    ],
)
def test_branches(html: str, branch: str | None):
    assert prefilter_branch(html) == branch


def test_about_a_hundred_common_commands():
    assert 90 <= len(LATEX_COMMANDS) == len(set(LATEX_COMMANDS)) <= 150


def test_filter_records_the_branch_and_counts_reasons():
    docs = [
        Document(text='<script src="/MathJax.js"></script><p>x</p>', id="k", metadata={}),
        Document(text=r"<p>\sqrt{2} is irrational</p>", id="l", metadata={}),
        Document(text="<p>" + "words " * 200 + "</p>", id="c", metadata={}),
        Document(text="<p>short</p>", id="d", metadata={}),
    ]
    step = MathPrefilter(min_chars=500)
    kept = list(step.run(iter(docs)))
    assert [(d.id, d.metadata["prefilter"]) for d in kept] == [("k", "keyword"), ("l", "latex"), ("c", "classifier")]
    counts = {k: step.stats[k].total for k in step.stats.stats}
    assert counts["dropped_no_math_signal"] == 1
    assert counts["branch_keyword"] == counts["branch_latex"] == counts["branch_classifier"] == 1
