"""The bundled arXiv and web samples: deterministic archives, and offline `--sample` builds that keep and drop
exactly the papers and pages `proofpile.samples.arxiv.PAPERS` / `proofpile.samples.web.PAGES` say."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zlib
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from proofpile.samples import BENCHMARKS, create_sample_inputs
from proofpile.samples.arxiv import ARXIV_SRC, BULK_NAME, PAPERS, bulk_tar_bytes
from proofpile.samples.web import PAGES, WARC_NAME, WEB_SRC
from proofpile.shards import iter_documents

from .offline import run_offline


def corpus_documents(out: Path) -> list:
    """The corpus shards wherever the layout puts them: Parquet files with the shard schema, outside _work."""
    files = [p for p in sorted(out.rglob("*.parquet")) if "_work" not in p.relative_to(out).parts
             and {"id", "text", "meta"} <= set(pq.read_schema(p).names)]
    assert files, f"no corpus shards under {out}"
    return list(iter_documents(files))


def funnel_drops(manifest: dict) -> dict[str, Counter]:
    """Step name (without its type prefix) -> drops by reason, over all tasks."""
    out: dict[str, Counter] = {}
    for row in manifest["funnel"]:
        out.setdefault(row["step"].split(": ", 1)[-1], Counter()).update(row["dropped"])
    return out


# ---- the archives ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_creations(tmp_path_factory):
    return (create_sample_inputs(tmp_path_factory.mktemp("a") / "s"),
            create_sample_inputs(tmp_path_factory.mktemp("b") / "s"))


def test_archives_are_byte_identical_across_creations(two_creations):
    a, b = two_creations
    assert [p.name for p in a.arxiv_paths] == [BULK_NAME] and [p.name for p in a.warc_files] == [WARC_NAME]
    for pa_, pb in zip(a.arxiv_paths + a.warc_files, b.arxiv_paths + b.warc_files):
        assert pa_ != pb and pa_.read_bytes() == pb.read_bytes(), pa_.name
    assert a.arxiv_paths[0].read_bytes() == bulk_tar_bytes()
    assert a.benchmarks == b.benchmarks == BENCHMARKS and all(p.is_file() for p in BENCHMARKS.values())
    stamp = a.warc_files[0].stat().st_mtime_ns
    assert create_sample_inputs(a.root) == a and a.warc_files[0].stat().st_mtime_ns == stamp  # reused as is


def test_bulk_tar_has_arxivs_shape(two_creations):
    tar_path = two_creations[0].arxiv_paths[0]
    with tarfile.open(tar_path) as tf:
        members = tf.getmembers()
        assert members[0].isdir() and members[0].name == "2401"
        names = [m.name for m in members[1:]]
        assert names == sorted(names) == [f"2401/{p.arxiv_id}{'.pdf' if p.source.endswith('.pdf') else '.gz'}"
                                         for p in PAPERS]
        assert all(m.mtime == members[0].mtime and m.uid == m.gid == 0 and m.uname == "" for m in members)
        for m in members[1:]:
            data = tf.extractfile(m).read()
            if m.name.endswith(".pdf"):
                assert data.startswith(b"%PDF")
                continue
            assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0"  # gzip, mtime 0
            raw = gzip.decompress(data)
            source = ARXIV_SRC / next(p.source for p in PAPERS if m.name.endswith(f"/{p.arxiv_id}.gz"))
            if source.is_dir():  # a project: a tar with the shipped files at its root, sorted
                with tarfile.open(fileobj=io.BytesIO(raw)) as inner:
                    got = [x.name for x in inner.getmembers()]
                want = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
                assert got == want
            else:  # a single .tex, no tar inside
                assert raw == source.read_bytes().replace(b"\r\n", b"\n")


def test_warc_is_common_crawl_shaped(two_creations):
    from warcio.archiveiterator import ArchiveIterator

    path = two_creations[0].warc_files[0]
    data = path.read_bytes()
    members, rest = 0, data  # one gzip member per record, as Common Crawl writes them
    while rest:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        inflate.decompress(rest)
        assert inflate.eof
        rest, members = inflate.unused_data, members + 1
    assert members == 1 + 2 * len(PAGES)
    with open(path, "rb") as f:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers.get_header("WARC-Record-ID"),
                    r.http_headers.get_header("Content-Type") if r.http_headers else None, r.content_stream().read())
                   for r in ArchiveIterator(f)]
    assert records[0][0] == "warcinfo"
    assert [(t, u) for t, u, *_ in records[1:]] == [(t, p.url) for p in PAGES for t in ("request", "response")]
    ids = [r[2] for r in records]
    assert len(set(ids)) == len(ids) and all(i.startswith("<urn:uuid:") for i in ids)
    for (kind, url, _, ctype, body) in records[1:]:
        if kind == "response":
            assert ctype == "text/html; charset=utf-8" and ".example/" in url
            page = next(p for p in PAGES if p.url == url)
            assert body == (WEB_SRC / page.file).read_bytes().replace(b"\r\n", b"\n")


def test_every_shipped_sample_is_described():
    assert {p.source for p in PAPERS} == {p.name for p in ARXIV_SRC.iterdir()}
    assert {p.file for p in PAGES} == {p.name for p in WEB_SRC.iterdir()}
    assert len({p.url for p in PAGES}) == len(PAGES)


def test_benchmark_stand_ins_are_planted():
    math = [json.loads(x) for x in BENCHMARKS["math"].read_text().splitlines()]
    gsm8k = [json.loads(x) for x in BENCHMARKS["gsm8k"].read_text().splitlines()]
    assert len(math) == len(gsm8k) == 10
    assert all(set(r) == {"problem", "solution", "level", "type"} for r in math)
    assert all(set(r) == {"question", "answer"} and "\n#### " in r["answer"] for r in gsm8k)
    forum = (WEB_SRC / "forum-marbles.html").read_text()
    assert math[0]["problem"] in forum
    assert "<span class=\"math-container\">$\\binom{10}{2} = 45$</span>" in forum  # the solution, as a page shows it
    assert " ".join(gsm8k[0]["question"].split()) in " ".join((ARXIV_SRC / "2401.00002.tex").read_text().split())


# ---- the builds -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def arxiv_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("arxiv-sample")
    out = tmp / "out"
    proc = run_offline(tmp, "build", "arxiv", "--sample", "--out", str(out), "--set", "decontaminate.enabled=true")
    return out, proc


def test_arxiv_sample_build_keeps_the_papers(arxiv_build):
    out, proc = arxiv_build
    docs = {d.metadata["arxiv_id"]: d for d in corpus_documents(out)}
    # 2401.00002 is kept by the chain and removed by decontamination; 2401.00006 is PDF only
    assert sorted(docs) == ["2401.00001", "2401.00003", "2401.00004", "2401.00005"]
    assert sorted(p.arxiv_id for p in PAPERS if p.expect == "keep") == sorted([*docs, "2401.00002"])
    p1 = docs["2401.00001"]
    assert p1.metadata["main_file"] == "main.tex" and p1.metadata["files_inlined"] == ["sections/lemmas.tex"]
    assert "\\begin{lemma}" in p1.text and "\\begin{proof}" in p1.text and "\\legendre" not in p1.text
    assert "\\eta\\left(a(c-a)\\right)" in p1.text  # \legendre{a(c-a)} expanded
    assert "\\bibitem" not in p1.text and "\\documentclass" not in p1.text
    p3 = docs["2401.00003"]  # five .tex files, three with \documentclass: the one that includes the others
    assert p3.metadata["main_file"] == "harmonic.tex" and p3.metadata["files_inlined"] == ["intro.tex", "bounds.tex"]
    assert "H_{n}" in p3.text and "\\Hn" not in p3.text and "referee" not in p3.text
    assert "sommes partielles" in docs["2401.00004"].text  # no language filter in the arXiv recipe
    assert "includegraphics" not in docs["2401.00005"].text

    manifest = json.loads((out / "manifest.json").read_text())
    drops = funnel_drops(manifest)
    assert drops["arxiv"] == Counter({"pdf_only": 1})
    assert drops["decontaminate"] == Counter({"contaminated": 1})
    assert sum(sum(c.values()) for c in drops.values()) == 2
    report = json.loads((out / "contamination.json").read_text())
    (match,) = [m for m in report["top_matches"] if m["benchmark"] == "gsm8k"]
    assert match["item_id"] == "gsm8k/test/0000" and match["field"] == "question"
    assert manifest["inputs"]["arxiv"]["units"] == [["bulk", str(out / "_work" / "sample" / "arxiv" / BULK_NAME), []]]
    assert "pdf_only: 1" in proc.stdout


@pytest.fixture(scope="module")
def web_build(tmp_path_factory, lid_model: Path):
    tmp = tmp_path_factory.mktemp("owm-sample")
    out = tmp / "out"
    proc = run_offline(tmp, "build", "open-web-math", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}",
                       "--set", "decontaminate.enabled=true")
    return out, proc


def test_web_sample_build_keeps_math_pages_with_their_formulas(web_build):
    out, _ = web_build
    docs = {d.metadata["url"]: d for d in corpus_documents(out)}
    kept = {p.url for p in PAGES if p.expect == "keep"}
    forum = next(p.url for p in PAGES if p.file == "forum-marbles.html")
    assert set(docs) == kept - {forum}  # the forum page passes every filter; decontamination removes it
    by_file = {p.file: docs.get(p.url) for p in PAGES}
    planted = {
        "am-gm-inequality.html": ["$\\frac{a+b}{2} \\ge \\sqrt{ab}$",  # written \(...\) in the page
                                  "$$\\frac{a_1 + a_2 + \\cdots + a_n}{n} \\ge \\sqrt[n]{a_1 a_2 \\cdots a_n},$$"],
        "eigenvalues-lecture.html": ["$$A v = \\lambda v.$$", "$\\chi_A(t) = (t-2)^2 - 1 = (t-1)(t-3)$"],
        "geometric-series-mathml.html": ["$$\\sum_{k=0}^{\\infty} a r^k = \\frac{a}{1 - r}$$", "$|r| < 1$"],
        "binomial-coefficient-wiki.html": ["$${\\binom {n}{k}}={\\frac {n!}{k!\\,(n-k)!}}.$$"],
    }
    for file, formulas in planted.items():
        doc = by_file[file]
        for formula in formulas:
            assert formula in doc.text, (file, formula)
        assert doc.metadata["math_found"] is True and doc.metadata["lang"] == "en"
        assert "<script" not in doc.text and "MathJax" not in doc.text


def test_web_sample_build_drops_each_page_where_expected(web_build):
    out, proc = web_build
    manifest = json.loads((out / "manifest.json").read_text())
    drops = funnel_drops(manifest)
    expected = Counter(p.expect for p in PAGES if p.expect != "keep")
    assert drops["math prefilter"] == Counter({"no_math_signal": expected["no_math_signal"],
                                               "no_math_in_text": expected["no_math_in_text"]})
    assert expected["no_math_signal"] == 2 and expected["no_math_in_text"] == 1
    assert drops["language id"] == Counter({"wrong_language": expected["wrong_language"]})
    assert drops["math classifier"] == Counter({"low_math_score": expected["low_math_score"]})
    assert drops["near-dedup reader"] == Counter({"near_duplicate": expected["near_duplicate"]})
    assert drops["decontaminate"] == Counter({"contaminated": 1})
    assert not drops["quality"] and not drops["math html extraction"] and not drops["chunk-exact dedup"]
    # which page each count is: the near-duplicate and the contaminated page are named in their reports
    doc_ids = _warc_document_ids(out / "_work" / "sample" / "commoncrawl" / WARC_NAME)
    dups = {r["id"]: r["kept"] for p in out.rglob("duplicates.parquet") for r in pq.read_table(p).to_pylist()}
    original = next(p.url for p in PAGES if p.file == "am-gm-inequality.html")
    mirror = next(p.url for p in PAGES if p.expect == "near_duplicate")
    assert dups == {doc_ids[original]: True, doc_ids[mirror]: False}
    report = json.loads((out / "contamination.json").read_text())
    matches = report["top_matches"]  # one row per benchmark field found
    assert {(m["benchmark"], m["field"], m["class"]) for m in matches} == {("math", "problem", "copy"),
                                                                            ("math", "solution", "copy")}
    assert {m["doc_id"] for m in matches} == {doc_ids[next(p.url for p in PAGES if p.file == "forum-marbles.html")]}
    reader = next(s for s in manifest["stages"][0]["steps"] if s["name"].endswith("common crawl"))["counts"]
    assert reader["documents"] == len(PAGES) and reader["records_other"] == 1 + len(PAGES)  # warcinfo + requests
    assert manifest["inputs"]["commoncrawl"]["files"] == [str(out / "_work" / "sample" / "commoncrawl" / WARC_NAME)]
    assert "near_duplicate: 1" in proc.stdout


def test_prefilter_stages_in_the_funnel_and_plan_mix_from(web_build):
    """The funnel shows each prefilter stage's pass rate and what it read; `plan --mix-from` takes the mix
    from it."""
    from proofpile.capacity import WebCrawlModel, mix_from_manifest

    out, proc = web_build
    manifest = json.loads((out / "manifest.json").read_text())
    (row,) = [r for r in manifest["funnel"] if r["step"].endswith("math prefilter")]
    stages = row["stages"]
    html = [(WEB_SRC / p.file).read_text(encoding="utf-8") for p in PAGES]
    assert row["in"] == len(PAGES) and row["out"] == len(PAGES) - 3
    assert stages["markers_markup"] + stages["markers_hint"] == len(PAGES) - 2  # 2 without any marker
    assert stages["text_passed"] == stages["markers_hint"] - 1
    assert stages["markers_chars"] == sum(len(h) for h in html) > stages["text_chars"] > 0
    assert "stages: markers_chars" in proc.stdout  # the printed funnel
    model = mix_from_manifest(out / "manifest.json")
    assert model.math_share == pytest.approx(7 / 10) and model.hint_share == stages["markers_hint"] / 10
    assert model.kept_per_page == manifest["outputs"]["documents"] / 10
    assert model.pages == WebCrawlModel().pages  # only the mix comes from a build
    from .test_build import run_cli

    printed = run_cli("plan", "open-web-math", "--mix-from", str(out / "manifest.json")).stdout
    assert "70.00%: measured by the build in" in printed


def _warc_document_ids(path: Path) -> dict[str, str]:
    """URL -> the document id the Common Crawl reader gives the page (from its WARC-Record-ID)."""
    from warcio.archiveiterator import ArchiveIterator

    from proofpile.documents import stable_id

    with open(path, "rb") as f:
        return {r.rec_headers.get_header("WARC-Target-URI"): stable_id("common-crawl", r.rec_headers.get_header("WARC-Record-ID"))
                for r in ArchiveIterator(f) if r.rec_type == "response"}


def test_sample_sets_benchmarks_only_when_decontamination_is_on(tmp_path):
    from proofpile.build import plan_build
    from proofpile.recipes import load_recipe

    recipe, path = load_recipe("open-web-math")
    off = plan_build(recipe, path, tmp_path / "off", sample=True).recipe
    assert off.stages.decontaminate.files == {} and off.sources.commoncrawl.crawl is None
    assert off.sources.commoncrawl.files == [str(tmp_path / "off" / "_work" / "sample" / "commoncrawl" / WARC_NAME)]
    recipe, path = load_recipe("open-web-math", ["decontaminate.enabled=true"])
    on = plan_build(recipe, path, tmp_path / "on", sample=True).recipe
    assert on.stages.decontaminate.files == {k: str(v) for k, v in BENCHMARKS.items()}
    recipe, path = load_recipe("open-web-math", ["decontaminate.enabled=true", "decontaminate.files={math: /d/m.jsonl}"])
    assert plan_build(recipe, path, tmp_path / "own", sample=True).recipe.stages.decontaminate.files == {
        "math": "/d/m.jsonl"}  # the user's own files win
