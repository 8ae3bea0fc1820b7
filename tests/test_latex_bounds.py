"""Bounded cost of LaTeX inputs: an `\\input` fan-out bomb and unclosed math openers before language ID.

Before the budget, 735 bytes of `\\input` fan-out (14 levels, each file including the next three times) took
19 s and wrote 20 MB of metadata; before the linear scanner, 80 KB of unclosed `\\[` took 13 s to strip.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from proofpile.extract.latex import LatexCleaner, clean_project
from proofpile.extract.latex_flatten import META_LIST_CAP
from proofpile.filters.langid import prose_for_lid, strip_latex_noise
from proofpile.recipes import load_recipe
from proofpile.sources.arxiv import read_paper_file, unpack_paper



def fan_out_bomb(levels: int, width: int = 3) -> dict[str, str]:
    files = {"main.tex": "\\documentclass{article}\\begin{document}\nStart of the paper.\n\\input{l1}\n\\end{document}\n"}
    for i in range(1, levels + 1):
        files[f"l{i}.tex"] = (f"Level {i} words.\n" + f"\\input{{l{i + 1}}}\n" * width) if i < levels else "Leaf.\n"
    return files


def test_fan_out_bomb_is_cut_by_the_inline_budget_and_its_meta_is_small():
    cleaned = clean_project(fan_out_bomb(14))
    assert cleaned.reason is None and cleaned.text.startswith("Start of the paper.")
    meta = cleaned.meta
    assert meta["inline_budget_exhausted"] is True
    assert meta["files_inlined"][:3] == ["l1.tex", "l2.tex", "l3.tex"] and len(meta["files_inlined"]) == 14
    assert meta["files_inlined_total"] == 5_000  # max_inlines, repeats counted
    assert len(json.dumps(meta)) < 10_000
    assert len(cleaned.text) < 200_000


@pytest.mark.parametrize("option,value", [("max_inlines", 10), ("max_inline_bytes", 400)])
def test_inline_budget_is_a_recipe_setting_counted_by_the_step(option, value, tmp_path: Path):
    recipe, _ = load_recipe("arxiv", [f"arxiv.clean.{option}={value}"])
    cleaner = LatexCleaner(**recipe.sources.arxiv.clean.model_dump())
    from datatrove.data import Document, Media, MediaType

    media = [Media(id=p, type=MediaType.DOCUMENT, url=p, media_bytes=t.encode()) for p, t in fan_out_bomb(5).items()]
    docs = list(cleaner.run([Document(text="", id="bomb", media=media)]))
    assert docs and docs[0].metadata["inline_budget_exhausted"] is True
    assert docs[0].metadata["files_inlined_total"] <= 20  # of the 121 inlines the 5 levels ask for
    assert cleaner.stats.stats["flag_inline_budget_exhausted"].total == 1


def test_thousands_of_main_file_candidates_cost_linear_time():
    """1,500 files that could each be the main file, all including one hub of 1,500 files: comparing what each
    reaches was quadratic (21 s for 1,000); now at most MAX_MAIN_CANDIDATES are compared (cap: 15 s)."""
    n = 1500
    files = {f"c{i:04d}.tex": "\\documentclass{article}\\begin{document}\\input{hub}\\end{document}" for i in range(n)}
    files["hub.tex"] = "".join(f"\\input{{l{i}}}\n" for i in range(n))
    files.update({f"l{i}.tex": f"w{i} " for i in range(n)})
    start = time.perf_counter()
    cleaned = clean_project(files)
    assert time.perf_counter() - start < 15.0
    assert cleaned.meta["main_file"] == "c1499.tex" and "w1499" in cleaned.text
    assert len(cleaned.meta["main_ambiguous"]) == META_LIST_CAP and cleaned.meta["main_ambiguous_total"] == n


def test_good_text_before_the_budget_is_kept_and_a_small_paper_is_untouched():
    files = {"main.tex": "\\documentclass{article}\\begin{document}\n\\input{a}\n\\input{b}\n\\end{document}\n",
             "a.tex": "Alpha part.\n", "b.tex": "Beta part.\n" + "x" * 1000 + "\n"}
    whole = clean_project(files)
    assert "Alpha part." in whole.text and "Beta part." in whole.text and "inline_budget_exhausted" not in whole.meta
    from proofpile.extract.latex import CleanOptions

    cut = clean_project(files, CleanOptions(max_inline_bytes=100))
    assert "Alpha part." in cut.text and "Beta part." not in cut.text and cut.meta["inline_budget_exhausted"]


def test_meta_lists_keep_the_first_distinct_names_and_a_total():
    n = META_LIST_CAP + 50
    main = "\\documentclass{article}\\begin{document}\n" + "".join(f"\\input{{gone{i}}}\n\\input{{gone0}}\n" for i in range(n))
    cleaned = clean_project({"main.tex": main + "Text.\n\\end{document}\n"})
    assert cleaned.meta["files_missing"] == [f"gone{i}" for i in range(META_LIST_CAP)]
    assert cleaned.meta["files_missing_total"] == 2 * n


def test_real_papers_inline_as_before(shared_data: Path):
    """The budget is far above real papers: none of the shared ones reaches it."""
    for path in sorted((shared_data / "arxiv").glob("*.gz")):
        up = read_paper_file(path)
        if up.files:
            assert "inline_budget_exhausted" not in clean_project(up.files).meta, path.name


# ------------------------------------------------------------------------------------------ language-ID noise
# the regex the linear scanner replaces: the reference for "same output"
_LAZY = re.compile(
    r"(?<!\\)%[^\n]*"
    r"|\$\$.*?\$\$|\$[^$]*\$|\\\[.*?\\\]|\\\(.*?\\\)"
    r"|\\begin\{(equation|align|gather|multline|eqnarray)\*?\}.*?\\end\{\1\*?\}"
    r"|\\[a-zA-Z@]+\*?"
    r"|[{}\[\]&_^~\\]",
    re.S,
)


def _real_tex(shared_data: Path) -> list[str]:
    texts = []
    for path in sorted((shared_data / "arxiv").glob("*.gz")):
        texts += [b.decode("utf-8", "replace") for b in read_paper_file(path).files.values()]
    bulk = shared_data / "arxiv" / "arXiv_src_2301_001.tar"
    if bulk.exists():
        import tarfile

        with tarfile.open(bulk) as tf:
            for m in tf:
                f = tf.extractfile(m) if m.isfile() else None
                if f is not None:
                    texts += [b.decode("utf-8", "replace") for b in unpack_paper(f.read()).files.values()]
    return texts


def test_noise_stripping_matches_the_lazy_regex_on_real_sources(shared_data: Path):
    texts = _real_tex(shared_data)
    assert len(texts) > 50
    for text in texts:
        assert strip_latex_noise(text) == _LAZY.sub(" ", text)


def test_noise_stripping_matches_the_lazy_regex_on_generated_markup():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from(["\\", "[", "]", "(", ")", "$", "%", "\n", "a", " ", "{", "}", "*", "&", "begin",
                              "\\begin{equation}", "\\end{equation}", "\\end{equation*}", "\\begin{align*}",
                              "\\end{align}", "\\begin{alignat}", "\\end{gather}", "\\(", "\\)", "\\[", "\\]", "$$"])

    @settings(max_examples=1000, deadline=None, database=None)
    @given(st.lists(pieces, max_size=40).map("".join))
    def same(text):
        assert strip_latex_noise(text) == _LAZY.sub(" ", text)

    same()


@pytest.mark.parametrize("opener", ["\\[", "\\(", "\\begin{align}", "$$ a $ b"])
def test_unclosed_math_openers_cost_linear_time(opener):
    """80 KB of openers that are never closed: 13 s with the lazy regex, milliseconds now (cap: 5 s)."""
    text = (opener * (80_000 // len(opener) + 1))[:80_000]
    start = time.perf_counter()
    prose_for_lid(text, "tex")
    assert time.perf_counter() - start < 5.0
