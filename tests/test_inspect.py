"""`proofpile inspect` against a real multi-subset sample build: the funnel is `proofpile stats`' funnel, every
reason leads to the documents it dropped, search finds what is there and nothing else, documents show their
math as MathML and their originals, the reports pages show both sides, and nothing is written to the build."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import lxml.html
import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from hypothesis import given, settings
from hypothesis import strategies as st

from proofpile.inspect import mathhtml, search, serve
from proofpile.inspect.app import create_app
from proofpile.publish.stats import compute_stats
from tests import hypothesis_home  # noqa: F401 - hypothesis's caches out of the checkout
from tests.inspect_build import HOSTILE_ID, MATH_ID, SCRIPT, tree_hash, with_hostile_shard
from tests.publish_build import carded_build


@pytest.fixture(scope="module")
def build(tmp_path_factory, lid_model, shared_data):
    return carded_build(tmp_path_factory.getbasetemp(), lid_model, shared_data)


@pytest.fixture(scope="module")
def before(build):
    return tree_hash(build)


@pytest.fixture(scope="module")
def client(build, before):
    return TestClient(create_app(str(build)))


def get(client, url: str, status: int = 200):
    r = client.get(url, follow_redirects=True)
    assert r.status_code == status, f"{url}: {r.status_code}\n{r.text[:2000]}"
    return lxml.html.fromstring(r.text) if r.text.strip() else None, r


def test_every_page_forbids_scripts(client):
    for url in ("/", "/search", "/scores", "/decontam", "/dedup"):
        _, r = get(client, url)
        csp = r.headers["content-security-policy"]
        assert "script-src 'none'" in csp and "default-src 'none'" in csp, url


def test_funnel_numbers_are_proofpile_stats(client, build):
    stats = compute_stats(build)
    page, _ = get(client, "/")
    rows = page.xpath('//table[@id="funnel"]//tr[@class="stage"]')
    shown = [{"stage": r.get("data-stage"), "in": int(r.get("data-in")) if r.get("data-in") else None,
              "out": int(r.get("data-out")),
              "dropped": {s.get("data-reason"): int(s.get("data-count")) for s in r.xpath('.//span[@class="reason"]')}}
             for r in rows]
    assert shown == stats["funnel_by_stage"]
    assert len(shown) > 5 and any(s["dropped"] for s in shown)


def test_every_reason_link_lists_exactly_its_dropped_documents(client, build):
    page, _ = get(client, "/")
    links = page.xpath('//span[@class="reason"]/a')
    dropped = {s: pq.read_table(build / "dropped" / f"{s}.parquet").to_pylist()
               for s in ("algebraic-stack", "open-web-math", "arxiv")}
    followed = 0
    for a in links:
        href = a.get("href")
        if not href.startswith("/search"):
            assert href in ("/dedup", "/decontam")
            continue
        q = {k: v[0] for k, v in parse_qs(urlparse(href).query).items()}
        want = sorted(r["id"] for r in dropped[q["subset"]] if r["source"] == q["source"] and r["reason"] == q["reason"])
        results, _ = get(client, href)
        hits = results.xpath('//table[@id="hits"]//a[@class="doc"]')
        got = sorted(h.getparent().xpath("./small")[0].text for h in hits)
        assert got == want and want, href
        doc, _ = get(client, hits[0].get("href"))  # the dropped document itself, with its stage and reason
        meta = {tr.xpath("./th")[0].text: tr.xpath("./td")[0].text_content() for tr in doc.xpath('//table[@id="meta"]//tr')}
        assert meta["reason"] == q["reason"] and meta["source"] == q["source"]
        followed += 1
    assert followed >= 10


def _ids(client, url):
    page, _ = get(client, url)
    return [s.text for s in page.xpath('//table[@id="hits"]//small')]


def test_search(client, build):
    rows = []
    for path in sorted((build / "data").rglob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    am_gm = next(r for r in rows if "AM-GM" in r["text"])
    assert _ids(client, "/search?q=AM-GM") == [r["id"] for r in rows if "AM-GM" in r["text"]]
    assert set(_ids(client, "/search?q=am-gm&ignore_case=1")) >= {am_gm["id"]}
    assert _ids(client, "/search?q=am-gm") == []  # case-sensitive by default
    assert _ids(client, f"/search?id={am_gm['id']}") == [am_gm["id"]]
    arxiv = next(r for r in rows if r["subset"] == "arxiv")
    arxiv_id = json.loads(arxiv["meta"])["arxiv_id"]
    assert _ids(client, f"/search?arxiv_id={arxiv_id}") == [arxiv["id"]]
    code = next(r for r in rows if r["subset"] == "algebraic-stack")
    m = json.loads(code["meta"])
    assert _ids(client, f"/search?repo={m['repo']}&path={m['path']}") == [code["id"]]
    stack = sorted(r["id"] for r in rows if json.loads(r["meta"]).get("source") == "the-stack")
    assert sorted(_ids(client, "/search?source=the-stack&limit=500")) == stack and stack
    assert sorted(_ids(client, "/search?source=algebraic-stack/stack&limit=500")) == stack  # the recipe's name
    lean = [r["id"] for r in rows if r["lang"] == "lean"]
    assert sorted(_ids(client, "/search?subset=algebraic-stack&lang=lean")) == sorted(lean)
    nonexistent = "no document contains this \u2603 string"
    page, _ = get(client, f"/search?q={nonexistent}")
    assert page.xpath('//table[@id="hits"]//small') == []
    assert f"{len(rows)} documents scanned" in page.xpath('//p[@id="summary"]')[0].text_content()


def test_search_pages_through_results(client):
    everything = _ids(client, "/search?limit=500")
    seen, url = [], "/search?limit=7"
    while url:
        page, _ = get(client, url)
        seen += [s.text for s in page.xpath('//table[@id="hits"]//small')]
        nxt = page.xpath('//a[@id="next"]')
        url = nxt[0].get("href") if nxt else None
    assert seen == everything and len(everything) > 30


def test_document_view_renders_math_and_shows_originals(client, build):
    rows = pq.read_table(build / "data" / "open-web-math").to_pylist()
    web = next(r for r in rows if "$" in r["text"])
    page, r = get(client, f"/search?id={web['id']}")
    href = page.xpath('//a[@class="doc"]')[0].get("href")
    doc, r = get(client, href)
    assert len(doc.xpath("//math")) >= 3 and doc.xpath('//div[@id="text"]')
    original = doc.xpath('//pre[@id="original"]')  # the page's HTML from the sample WARC file, beside the text
    assert original and "<html" in original[0].text_content().lower()
    meta = {tr.xpath("./th")[0].text for tr in doc.xpath('//table[@id="meta"]//tr')}
    assert {"math_score", "lid_score", "url"} <= meta
    raw, _ = get(client, href + "?raw=1")
    assert raw.xpath("//math") == [] and raw.xpath('//pre[@id="text"]')[0].text_content() == web["text"]

    arxiv = pq.read_table(build / "data" / "arxiv").to_pylist()[0]
    page, _ = get(client, f"/search?id={arxiv['id']}")
    doc, _ = get(client, page.xpath('//a[@class="doc"]')[0].get("href"))
    assert doc.xpath("//math")
    assert "\\documentclass" in doc.xpath('//pre[@id="original"]')[0].text_content()


def test_scores_histograms_and_what_if(client, build):
    page, _ = get(client, "/scores")
    sections = page.xpath('//section[@class="histogram"]')
    names = {(s.get("data-subset"), s.get("data-axis")) for s in sections}
    assert ("open-web-math", "math_score (math found)") in names
    assert ("open-web-math", "lid_score (languages kept)") in names
    assert all(s.xpath(".//svg") for s in sections)
    assert page.xpath('//*[local-name()="line" and @class="threshold"]')
    # independent count of what a higher language-ID threshold changes: English pages kept below it, and
    # English pages the langid stage dropped at or above it (the sample's prefilter now stops the pages
    # without math, so the classifier axes have nothing dropped to move)
    kept = [json.loads(r["meta"]) for r in pq.read_table(build / "data" / "open-web-math").to_pylist()]
    dropped = [json.loads(r["scores"]) for r in pq.read_table(build / "dropped" / "open-web-math.parquet").to_pylist()
               if r["stage"] == "langid"]
    new = 0.9
    to_kept = sum(1 for s in dropped if s.get("lid_lang") == "en" and s["lid_score"] >= new)
    to_dropped = sum(1 for m in kept if m.get("lid_lang") == "en" and m["lid_score"] < new)
    page, _ = get(client, f"/scores?subset=open-web-math&axis=lid_score+%28languages+kept%29&threshold={new}")
    w = page.xpath('//div[@id="whatif"]')[0]
    assert int(w.xpath('.//strong[@class="to-kept"]')[0].text) == to_kept
    assert int(w.xpath('.//strong[@class="to-dropped"]')[0].text) == to_dropped > 0
    sample = w.xpath(".//li/a")[0].get("href")
    get(client, sample)


def test_decontamination_hits_highlighted_on_both_sides(client, build):
    hits = pq.read_table(build / "contamination.parquet").to_pylist()
    page, _ = get(client, "/decontam")
    sections = page.xpath('//section[@class="hit"]')
    assert [s.get("data-doc") for s in sections] == [h["doc_id"] for h in hits] and hits
    for s, h in zip(sections, hits):
        doc_side, item_side = s.xpath('.//pre')
        assert doc_side.xpath(".//mark") and item_side.xpath(".//mark")
        marked = " ".join(m.text for m in item_side.xpath(".//mark")).lower()
        assert " ".join(h["ngram"].lower().split()[:4]) in re.sub(r"\s+", " ", marked)
        assert s.xpath('.//strong[@class="class"]')[0].text == h["class"]
        doc, _ = get(client, s.xpath(".//h2/a")[0].get("href"))  # the removed document, from the finalize inputs
        assert h["doc_id"] in doc.xpath("//h1/code")[0].text


def test_near_dedup_clusters_side_by_side(client, build):
    dups = pq.read_table(build / "duplicates.parquet").to_pylist()
    page, _ = get(client, "/dedup")
    clusters = page.xpath('//section[@class="cluster"]')
    assert len(clusters) == len({d["cluster_id"] for d in dups}) > 0
    for c in clusters:
        members = c.xpath('.//div[contains(@class, "member")]')
        assert "kept" in members[0].get("class") and all("removed" in m.get("class") for m in members[1:])
        for m in members[1:]:
            est = float(re.search(r"estimated Jaccard ([\d.]+)", m.text_content())[1])
            assert 0.5 <= est <= 1.0
            assert m.xpath(".//pre")[0].text_content().strip()


def test_math_html_is_sanitised():
    out, n = mathhtml.render("a $\\text{<script>x</script>}$ <b>b</b> $$\\frac12$$ \\(y\\)")
    assert n == 3 and "<script" not in out and "&lt;b&gt;" in out and out.count("<math") == 3
    bad, n = mathhtml.render("$\\frac{$ and $$\\begin{$$")
    assert "<script" not in bad


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab.$^\\{}()[]*+?|\n é☃", max_size=12), min_size=1, max_size=4),
       st.text(alphabet="ab.$^\\{}()[]*+?|\n é☃", min_size=1, max_size=4))
def test_text_search_is_a_literal_substring(texts, q):
    """The RE2 pattern the search runs finds exactly the documents holding `q` as plain text."""
    import pyarrow as pa

    got = search._text_mask(pa.chunked_array([pa.array(texts, pa.large_string())]), q, False).to_pylist()
    assert got == [q in t for t in texts]


def test_hostile_document_is_escaped(tmp_path, build):
    hostile = with_hostile_shard(build, tmp_path / "hostile")
    c = TestClient(create_app(str(hostile)))
    page, r = get(c, f"/search?id={HOSTILE_ID}")
    href = page.xpath('//a[@class="doc"]')[0].get("href")
    doc, r = get(c, href)
    assert SCRIPT not in r.text and "<img src=x" not in r.text and doc.xpath("//script") == []
    assert len(r.text) < 400_000  # the megabyte comes in parts
    last, r = get(c, doc.xpath('//a[@id="last-part"]')[0].get("href").replace("?", href + "?"))
    assert "END-OF-HOSTILE" in last.xpath('//div[@id="text"]')[0].text_content() and SCRIPT not in r.text
    page, r = get(c, f"/search?id={MATH_ID}")
    doc, r = get(c, page.xpath('//a[@class="doc"]')[0].get("href"))
    assert len(doc.xpath("//math")) == 5


def test_invalid_utf8_from_a_foreign_writer(tmp_path):
    """A shard whose text column is bytes, not UTF-8: searched and shown with replacement characters."""
    import pyarrow as pa

    (tmp_path / "data").mkdir()
    text = b"ok \xff\xfe <script>x</script> $a\xc3$ end"
    pq.write_table(pa.table({"id": ["b1"], "text": pa.array([text], pa.binary()), "meta": ["{}"], "subset": ["s"],
                             "lang": ["en"]}), tmp_path / "data" / "s.parquet")
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"outputs": {"shards": [{"path": "data/s.parquet", "subset": "s", "split": "train", "rows": 1}]}}))
    c = TestClient(create_app(str(tmp_path)))
    assert _ids(c, "/search?q=%3Cscript") == ["b1"]
    for url in ("/doc/0/0", "/doc/0/0?raw=1"):
        doc, r = get(c, url)
        assert "<script>x" not in r.text and "\ufffd" in doc.xpath('//*[@id="text"]')[0].text_content()


def test_remote_build_through_fsspec(build):
    """Any fsspec URL: here the in-memory filesystem, holding the build's files but nothing of its _work."""
    import fsspec

    fs = fsspec.filesystem("memory")
    for p in build.rglob("*"):
        if p.is_file() and "_work" not in p.parts and "packed" not in p.parts:
            fs.pipe(f"/pp2/{p.relative_to(build)}", p.read_bytes())
    c = TestClient(create_app("memory://pp2"))
    page, _ = get(c, "/search?q=AM-GM")
    assert page.xpath('//table[@id="hits"]//small')
    get(c, page.xpath('//a[@class="doc"]')[0].get("href"))
    get(c, "/dedup")  # finalize inputs absent: the clusters show without their texts
    get(c, "/")


def test_binds_loopback_unless_host_given(build):
    assert serve.check_host(None) == "127.0.0.1"
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("::1") and serve.is_loopback("localhost")
    assert not serve.is_loopback("0.0.0.0") and not serve.is_loopback("192.168.1.1")
    assert serve.check_host("0.0.0.0") == "0.0.0.0"  # only because it was given explicitly
    r = subprocess.run([sys.executable, "-m", "proofpile", "inspect", str(build / "data")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "manifest.json" in r.stderr


def test_nothing_written_to_the_build(client, build, before):
    for url in ("/", "/search?q=the", "/search?collection=dropped&q=a", "/scores", "/decontam", "/dedup",
                "/doc/0/0", "/doc/0/0?raw=1", "/dropped/open-web-math/0"):
        get(client, url)
    assert tree_hash(build) == before
