"""The LaTeX core on strings, and on the real papers in ../shared/data/arxiv (facts checked by reading them)."""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import time
from pathlib import Path

import pytest

from proofpile.extract.latex import (
    CleanOptions,
    clean_project,
    clean_redpajama,
    find_abstract,
)
from proofpile.extract.latex_flatten import strip_comments
from proofpile.extract.latex_macros import expand, find_definitions


def test_comments_keep_escaped_percent_and_verbatim():
    src = ("% a whole-line comment\n"
           "We lose 51\\% of it. % trailing remark\n"
           "A line break \\\\% then a comment\n"
           "\\title{%\n  Joined}\n"
           "\\begin{verbatim}\n100% kept % here\n\\end{verbatim}\n"
           "\\begin{comment}\nhidden text\n\\end{comment}\n"
           "\\verb|50%| stays\n")
    out = strip_comments(src)
    assert "whole-line" not in out and "trailing remark" not in out and "then a comment" not in out
    assert "We lose 51\\% of it." in out
    assert "\\title{Joined}" in out  # `%` at end of line joins the next, as TeX reads it
    assert "100% kept % here" in out
    assert "hidden text" not in out
    assert "\\verb|50%| stays" in out


def test_lstnewenvironment_content_is_verbatim():
    src = "\\lstnewenvironment{lean}{}{}\n\\begin{lean}\ntheorem x : 1 = 1 := rfl -- 100% sure\n\\end{lean}\n"
    assert "100% sure" in strip_comments(src)


def test_macros_with_arguments_default_star_def_and_operators():
    pre = (r"\newcommand{\norm}[1]{\lVert #1 \rVert}" "\n"
           r"\newcommand*{\pair}[2][a]{(#1,#2)}" "\n"
           r"\def\ip#1#2{\langle #1, #2\rangle}" "\n"
           r"\DeclareMathOperator{\rank}{rank}" "\n"
           r"\DeclareMathOperator*{\argmax}{arg\,max}" "\n"
           r"\providecommand{\norm}{IGNORED}" "\n"
           r"\def\loopy#1\endloopy{delimited}" "\n")
    macros, rest, skipped = find_definitions(pre)
    assert set(macros) == {"norm", "pair", "ip", "rank", "argmax"}
    assert skipped == 1 and "\\newcommand" not in rest
    out, stats = expand(r"$\norm{x} + \pair{b} + \pair[c]{d} + \ip{u}{\norm v} = \rank A$, $\argmax_x f$", macros)
    assert out == (r"$\lVert x \rVert + (a,b) + (c,d) + \langle u, \lVert v \rVert\rangle = \operatorname{rank} A$, "
                   r"$\operatorname*{arg\,max}_x f$")
    assert stats.expanded["norm"] == 2


def test_recursive_macro_is_bounded_and_flagged():
    macros, _, _ = find_definitions(r"\def\a{\a\a}\newcommand{\b}{x\b}")
    t0 = time.monotonic()
    out, stats = expand("start \\a and \\b end", macros)
    assert time.monotonic() - t0 < 30  # a guard against hanging, not a speed target
    assert stats.budget_exhausted or stats.depth_exceeded
    assert len(out) < 1_000_000 and out.startswith("start ")
    cleaned = clean_project({"main.tex": b"\\documentclass{article}\\def\\a{\\a\\a}\\begin{document}"
                                         b"\\section{S}Text \\a.\\end{document}"})
    assert cleaned.reason is None and "Text" in cleaned.text
    assert cleaned.meta.get("macro_budget_exhausted") or cleaned.meta.get("macro_depth_exceeded")


def test_non_utf8_file_is_decoded_and_flagged():
    files = {"main.tex": b"\\documentclass{article}\\begin{document}\\section{Caf\xe9}Na\xefve text.\\end{document}"}
    cleaned = clean_project(files)
    assert cleaned.reason is None
    assert "Café" in cleaned.text and "Naïve" in cleaned.text
    assert cleaned.meta["decode_fallback"] == {"main.tex": "cp1252"}


def test_include_cycle_and_missing_file_are_recorded():
    files = {"main.tex": b"\\documentclass{article}\\begin{document}\\input{a}\\input{gone}\\end{document}",
             "a.tex": b"In A. \\input{b}", "b.tex": b"In B. \\input{a}"}
    cleaned = clean_project(files)
    assert "In A." in cleaned.text and "In B." in cleaned.text
    assert cleaned.meta["files_missing"] == ["gone"]
    assert cleaned.meta["include_cycles"] == ["a.tex"]


def test_redpajama_rules_as_published():
    tex = ("\\documentclass{article}\\newcommand{\\R}{\\mathbb{R}}\n\\begin{document}\\begin{abstract}Lost.\\end{abstract}\n"
           "\\section{Intro}\nx in \\R here. 5% remark\n% gone\n\\appendix\nappendix text\n\\end{document}\n")
    out = clean_redpajama({"p.tex": tex})
    assert out.startswith("\\section{Intro}") and "Lost." not in out
    assert "\\mathbb{R} here." in out
    assert "x in \\mathbb{R} here. \n" in out  # the character before `%` ("5") is eaten with the comment
    assert "appendix text" not in out and "% gone" not in out


# ------------------------------------------------------------------------------------------------ real papers
def _project(path: Path) -> dict[str, bytes]:
    raw = gzip.decompress(path.read_bytes())
    try:
        with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
            return {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}
    except tarfile.ReadError:
        return {"main.tex": raw}


@pytest.fixture(scope="module")
def papers(shared_data: Path) -> dict[str, dict]:
    out = {}
    for p in sorted((shared_data / "arxiv").glob("*.gz")):
        files = _project(p)
        out[p.name[:-3]] = {"pp": clean_project(files), "rp": clean_project(files, CleanOptions(mode="redpajama")),
                            "files": files}
    return out


# (paper, abstract sentence, text that only an included file holds, a macro use -> its expansion)
FACTS = [
    ("2301.00001", "We report on the \\emph{Equational Theories Project} (ETP), an online collaborative pilot project",
     "The purpose of this paper is to report on the \\emph{Equational Theories Project}",
     ("\\Eq{43}", "\\mathrm{E}43")),
    ("2301.00002", "The blockchain paradigm when coupled with cryptographically-secured transactions", None,
     ("\\eg", "e.g.\\@\\xspace")),
    ("2301.00003", "We show that every flag variety contains a natural choice of homogeneous cominuscule subvariety.",
     None, ("\\pr{X_i, G_i}", "\\ensuremath{\\left(X_i, G_i\\right)}")),
    ("2301.00004", "The growing field of large-scale time domain astronomy requires methods for",
     "The parameters and priors for Example 4.",
     ("\\exampleineff~effective", "1737~effective")),
    ("2301.00005", None, "Sequent calculi are !!{proof} systems that were introduced in the", None),
    ("2301.00006", None, None, ("$\\marg$", "$\\operatorname*{marg}$")),
    ("math0601001", "We explore ``discouragement attacks\" on economic consensus mechanisms.", None, None),
]


@pytest.mark.parametrize("paper,abstract,included,macro", FACTS, ids=[f[0] for f in FACTS])
def test_real_paper_facts(papers, paper, abstract, included, macro):
    res = papers[paper]["pp"]
    assert res.reason is None, res.reason
    text = res.text
    flat_source = "\n".join(b.decode("utf-8", "replace") for b in papers[paper]["files"].values())
    if abstract:
        assert abstract in " ".join(text.split())
        assert abstract in find_abstract(text) or abstract.split("\\")[0] in find_abstract(text)
    if included:
        main = papers[paper]["files"][res.meta["main_file"]].decode("utf-8", "replace")
        assert included not in main  # really from another file
        assert included in text
    if macro:
        use, body = macro
        assert use in flat_source  # the source uses it
        assert use not in text and body in text
    # nothing any paper should keep
    assert not re.search(r"(?m)^\s*%", text)
    for noise in ("\\bibitem", "\\includegraphics", "\\documentclass", "\\maketitle", "\\begin{thebibliography}",
                  "\\bibliography{", "\\usepackage"):
        assert noise not in text, noise


def test_real_escaped_percent_survives(papers):
    text = papers["math0601001"]["pp"].text
    assert "a traditional $51\\%$ attack" in text
    assert "51\\% attacks are possible" in text


def test_real_main_file_and_includes(papers):
    assert papers["2301.00005"]["pp"].meta["main_file"] == "content/proof-theory/proof-theory.tex"
    assert len(papers["2301.00005"]["pp"].meta["files_inlined"]) >= 40
    assert papers["2301.00001"]["pp"].meta["main_file"] == "main.tex"
    assert "Version.tex" in papers["2301.00002"]["pp"].meta["files_missing"]
    assert "vc" in papers["2301.00004"]["pp"].meta["files_missing"]
    assert papers["2301.00001"]["pp"].meta["macros_expanded"] > 100


def test_real_bbl_only_when_asked(papers):
    files = papers["2301.00003"]["files"]
    with_bbl = clean_project(files, CleanOptions(inline_bbl=True))
    assert "\\bibitem" not in papers["2301.00003"]["pp"].text
    assert with_bbl.text.count("\\bibitem") == 56


def test_real_appendix_option(papers):
    files = papers["2301.00001"]["files"]
    dropped = clean_project(files, CleanOptions(keep_appendix=False))
    assert dropped.meta["appendix_dropped"] and len(dropped.text) < len(papers["2301.00001"]["pp"].text)


def test_redpajama_loses_what_proofpile_keeps(papers):
    assert papers["2301.00005"]["rp"].reason == "no_section"  # every file opens with \documentclass, none kept
    with_abstract = {"2301.00001", "2301.00002", "2301.00003", "2301.00004", "math0601001"}
    assert {n for n, r in papers.items() if find_abstract(r["pp"].text)} == with_abstract
    # cut before the first \section: only celerite keeps one, because its preamble's `\renewcommand\section{...}`
    # counts as the first section, so RedPajama keeps that paper's preamble too
    assert {n for n, r in papers.items() if find_abstract(r["rp"].text)} == {"2301.00004"}
    assert papers["2301.00004"]["rp"].text.startswith("\\section{\\@ifstar")
    # `\%` survives RedPajama's comment regex too; the sentence in the abstract does not survive the section cut
    assert "51\\% attacks are possible" in papers["math0601001"]["rp"].text
    assert "a traditional $51\\%$ attack" not in papers["math0601001"]["rp"].text
