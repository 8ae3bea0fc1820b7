"""End to end: `proofpile build open-web-math --crawl ... --max-files N` through the real CLI, reading WARCs (real
pages wrapped by warcio, the real damaged WARCs) from a real HTTP server on 127.0.0.1 that serves the crawl's
warc.paths.gz, as data.commoncrawl.org does."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from datatrove.data import Document

from proofpile.filters.langid import LanguageIdFilter

from .test_build import all_rows, output_files, run_cli
from .warc_server import lie_about_length, serve, warc_record_bytes, write_warc

CRAWL = "CC-MAIN-2023-06"
SEGMENT = f"crawl-data/{CRAWL}/segments/1674764494826.88/warc"


def test_langid_on_every_document_names_web_pages_language(lid_model: Path):
    """Web pages have no code language: with `languages` empty every document is checked, and a kept page
    without a language gets the detected one (it names the output shard); a set language is left alone."""
    docs = [
        Document(text="The integral of a continuous function over a closed interval is finite.", id="en", metadata={}),
        Document(text="Das Integral einer stetigen Funktion über ein abgeschlossenes Intervall ist endlich.",
                 id="de", metadata={}),
        Document(text="The proof is left to the reader as an exercise.", id="tex", metadata={"lang": "tex"}),
    ]
    step = LanguageIdFilter(model=str(lid_model), languages=[], keep=["en"])
    kept = list(step.run(iter(docs)))
    assert [(d.id, d.metadata["lang"]) for d in kept] == [("en", "en"), ("tex", "tex")]
    assert step.stats["dropped_wrong_language"].total == 1
    # the old behaviour: only the listed code languages are checked, and nothing is renamed
    tex_only = LanguageIdFilter(model=str(lid_model), languages=["tex"], keep=["en"])
    kept = list(tex_only.run(iter([Document(text="Nur deutscher Text hier, ohne Ende.", id="x", metadata={})])))
    assert [d.id for d in kept] == ["x"] and "lang" not in kept[0].metadata


def test_dry_run_lists_the_crawl_files_and_stages(tmp_path: Path):
    site = tmp_path / "site"
    (site / SEGMENT).mkdir(parents=True)
    names = [f"CC-MAIN-20230201-{i:05d}.warc.gz" for i in range(4)]
    (site / f"crawl-data/{CRAWL}/warc.paths.gz").write_bytes(
        gzip.compress("".join(f"{SEGMENT}/{n}\n" for n in names).encode()))
    with serve(site) as (base, _):
        proc = run_cli("build", "open-web-math", "--out", str(tmp_path / "out"), "--dry-run", "--crawl", CRAWL,
                       "--max-files", "3", "--set", f"commoncrawl.base_url={base}", "--set", "extract.enabled=false")
    assert f"commoncrawl: 3 WARC files from {CRAWL} ({base})" in proc.stdout
    assert f"{base}{SEGMENT}/{names[2]}" in proc.stdout and names[3] not in proc.stdout
    assert "1. commoncrawl: 3 tasks: read -> math prefilter -> language id -> math classifier -> quality" in proc.stdout
    assert not (tmp_path / "out").exists()
    bad = run_cli("build", "open-web-math", "--out", str(tmp_path / "o"), "--dry-run", "--crawl", "2023-06", check=False)
    assert bad.returncode == 2 and "sources.commoncrawl.crawl" in bad.stderr and "Traceback" not in bad.stderr
    other = run_cli("build", "algebraic-stack", "--out", str(tmp_path / "o"), "--dry-run", "--crawl", CRAWL,
                    check=False)
    assert other.returncode == 2 and "no commoncrawl source" in other.stderr


# ---- the full chain (needs the extractor and the classifier) ----------------------------------------------------


def _page_records(folder: Path, host: str) -> list[bytes]:
    return [warc_record_bytes(f"https://{host}/{p.stem}", p.read_bytes(), content_type="text/html")
            for p in sorted(folder.glob("*.html"))]


def _bad_records() -> list[bytes]:
    prose = "<p>We compute $\\int_0^1 x^2\\,dx = \\frac{1}{3}$ by the power rule, as every calculus text shows.</p>"
    mathjax = '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
    latin1 = f"<html><head>{mathjax}</head><body>{prose}<p>Na\u00efve caf\u00e9 r\u00e9sum\u00e9.</p></body></html>"
    nested = f"<html><head>{mathjax}</head><body>" + "<div>" * 5000 + prose + "</div>" * 5000 + "</body></html>"
    return [
        warc_record_bytes("https://bad.example/latin1", latin1.encode("cp1252"), content_type="text/html"),
        warc_record_bytes("https://bad.example/empty", b""),
        warc_record_bytes("https://bad.example/huge", (mathjax + prose * 200_000).encode()[: 20 * 2**20]),
        warc_record_bytes("https://bad.example/nested", nested.encode()),
        lie_about_length(warc_record_bytes("https://bad.example/lying", f"<html>{mathjax}{prose}</html>".encode()),
                         +100),
    ]


@pytest.fixture(scope="module")
def owm_builds(tmp_path_factory, shared_data: Path, lid_model: Path):
    pytest.importorskip("proofpile.extract.html_math", reason="the math-preserving extractor is not there yet")
    pytest.importorskip("proofpile.filters.math_classifier", reason="the math classifier is not there yet")
    root = tmp_path_factory.mktemp("owm")
    site = root / "site"
    seg = site / SEGMENT
    seg.mkdir(parents=True)
    html = shared_data / "html"
    files = [
        write_warc(seg / "CC-MAIN-20230201-00000.warc.gz", _page_records(html / "math", "math.example")),
        write_warc(seg / "CC-MAIN-20230201-00001.warc.gz", _page_records(html / "nonmath", "nonmath.example")),
        write_warc(seg / "CC-MAIN-20230201-00002.warc.gz", _bad_records()),
        shutil.copy(shared_data / "warc" / "truncated-record.warc.gz", seg / "CC-MAIN-20230201-00003.warc.gz"),
        shutil.copy(shared_data / "warc" / "clueweb09-malformed-headers.warc.gz",
                    seg / "CC-MAIN-20230201-00004.warc.gz"),
        shutil.copy(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz", seg / "CC-MAIN-20230201-00005.warc.gz"),
    ]
    listing = "".join(f"{SEGMENT}/{Path(f).name}\n" for f in files)
    (site / f"crawl-data/{CRAWL}/warc.paths.gz").write_bytes(gzip.compress(listing.encode()))
    out = root / "out"
    runs = {}
    with serve(site) as (base, server):
        for workers in ("1", "2"):
            proc = run_cli("build", "open-web-math", "--out", str(out), "--crawl", CRAWL, "--max-files", "5",
                           "--set", f"commoncrawl.base_url={base}", "--set", f"langid.model={lid_model}",
                           "--workers", workers)
            runs[workers] = (output_files(out), proc)
            shutil.move(out, root / f"out-{workers}")
        requested = [path for path, _ in server.requests]
    assert not any(p.endswith("00005.warc.gz") for p in requested), "--max-files 5 read a sixth file"
    return root / "out-1", runs


def _urls(rows, host: str) -> set[str]:
    return {json.loads(r["meta"])["url"].rsplit("/", 1)[1] for r in rows
            if json.loads(r["meta"])["url"].startswith(f"https://{host}/")}


def test_math_pages_kept_nonmath_rejected(owm_builds, shared_data: Path):
    out, _ = owm_builds
    rows = all_rows(out, "open-web-math")
    math_pages = {p.stem for p in (shared_data / "html" / "math").glob("*.html")}
    nonmath_pages = {p.stem for p in (shared_data / "html" / "nonmath").glob("*.html")}
    # Three MathJax demos are JavaScript API documentation around one to three formulas; the shipped MathScore
    # model rates their text at 0.003-0.4 (v2-compatibility is mostly "MathJax.Hub.Queue()"-style prose), as a
    # classifier of mathematical prose may. The five pages whose subject is mathematics must stay.
    code_docs = {"page_tex-mml", "v2-support_v2-script-tags", "v2-support_v2-compatibility"}
    kept = _urls(rows, "math.example")
    assert kept >= math_pages - code_docs, f"math pages lost: {sorted(math_pages - code_docs - kept)}"
    assert len(kept) >= 6
    leaked = _urls(rows, "nonmath.example")
    assert len(leaked) <= 0.1 * len(nonmath_pages), f"nonmath pages kept: {sorted(leaked)}"
    for r in rows:
        meta = json.loads(r["meta"])
        assert r["subset"] == "open-web-math" and r["lang"] == "en" == meta["lang"]
        assert meta["crawl"] == CRAWL and meta["record_id"].startswith("<urn:uuid:") and meta["warc_date"]
        assert meta["prefilter"] in ("markup", "tex_in_text", "math_score") and "math_score" in meta
        assert len(r["text"]) >= 100 and "<html" not in r["text"].lower()


def test_funnel_names_every_drop_and_loses_nothing(owm_builds, shared_data: Path):
    out, runs = owm_builds
    manifest = json.loads((out / "manifest.json").read_text())
    drops: dict[str, int] = {}
    for row in manifest["funnel"]:
        for reason, n in row["dropped"].items():
            drops[reason] = drops.get(reason, 0) + n
    # no wrong_language: the non-English ordinary pages stop at the prefilter (the sample build has one)
    for reason in ("no_math_signal", "no_math_in_text", "empty_body", "too_large", "record_truncated"):
        assert drops.get(reason, 0) >= 1, f"no drop for {reason}: {drops}"
    steps = [row["step"].split(": ", 1)[-1] for row in manifest["funnel"]]  # "🔻 - FILTER: quality" -> "quality"
    for name in ("common crawl", "math prefilter", "math html extraction", "language id", "math classifier",
                 "quality", "chunk-exact dedup"):
        assert name in steps, steps
    assert (steps.index("math prefilter") < steps.index("math html extraction") < steps.index("language id")
            < steps.index("math classifier") < steps.index("quality"))
    for row in manifest["funnel"]:  # every document a filter saw is either passed on or dropped with a reason
        if row["in"] is not None and not row["step"].endswith("common crawl"):
            assert row["in"] == row["out"] + sum(row["dropped"].values()), row
    reader = next(s for s in manifest["stages"][0]["steps"] if s["name"].endswith("common crawl"))["counts"]
    assert reader["files_read"] == 5 and reader["charset_fallback"] >= 1  # the undeclared cp1252 page
    # only the two folders the WARCs are made of (shared/data may hold more, e.g. html/nonmath-readability)
    pages = sum(1 for folder in ("math", "nonmath") for _ in (shared_data / "html" / folder).glob("*.html"))
    assert reader["documents"] == pages + 2 + 29 and reader.get("file_damaged", 0) == 0  # 2 readable bad pages
    assert [f.rsplit("/", 1)[1] for f in manifest["inputs"]["commoncrawl"]["files"]] == [
        f"CC-MAIN-20230201-{i:05d}.warc.gz" for i in range(5)]
    printed = runs["1"][1].stdout  # the funnel, as the user sees it
    assert "math prefilter" in printed and "no_math_signal" in printed and "under " in printed


def test_worker_count_does_not_change_outputs(owm_builds):
    _, runs = owm_builds
    one, two = runs["1"][0], runs["2"][0]
    assert sorted(one) == sorted(two) and len(one) > 1
    for name in one:
        assert one[name] == two[name], f"{name} differs between 1 and 2 workers"
