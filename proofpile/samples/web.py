"""The bundled web sample: HTML pages written for proofpile, packed as one Common Crawl-shaped WARC file.

The pages under `web_pages/` were written for these samples (none was crawled or copied). They cover the
formula markups the extractor handles and the ways the OpenWebMath chain drops a page, so that
`proofpile build open-web-math --sample` exercises every stage offline. `PAGES` lists each page with its
made-up URL and what the chain should do with it; the tests check the build against it.

`write_web_sample(dest)` writes `CC-MAIN-SAMPLE-00000.warc.gz` the way Common Crawl writes its files: one
warcinfo record, then a request and a response record per page (HTTP/1.1 200, `text/html; charset=utf-8`),
each record its own gzip member. Dates and record ids are fixed (the ids are UUIDs derived from the URL), so
the bytes are the same on every run for a given zlib.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["PAGES", "WARC_NAME", "WEB_SRC", "Page", "warc_bytes", "write_web_sample"]

WEB_SRC = Path(__file__).resolve().parent / "web_pages"
WARC_NAME = "CC-MAIN-SAMPLE-00000.warc.gz"

KEEP = "keep"


@dataclass(frozen=True)
class Page:
    file: str  # under web_pages/
    url: str
    expect: str  # "keep", or the funnel reason that drops it
    why: str


#: WARC order. A near-duplicate pair keeps the document near-dedup ranks first (lowest id), so the mirror's
#: verdict is "near_duplicate" only through that rule; the test reads it from the output, not from here.
PAGES: tuple[Page, ...] = (
    Page("am-gm-inequality.html", "https://mathnotes.example/posts/am-gm-inequality", KEEP,
         "MathJax v2 blog post: $...$, \\(...\\) and $$...$$"),
    Page("eigenvalues-lecture.html", "https://lecture-notes.example/linear-algebra/lecture-14", KEEP,
         "course notes in <script type=\"math/tex\"> (inline and mode=display)"),
    Page("geometric-series-mathml.html", "https://calculus-pages.example/series/geometric", KEEP,
         "MathML with application/x-tex annotations"),
    Page("binomial-coefficient-wiki.html", "https://openwiki.example/wiki/Binomial_coefficient", KEEP,
         "Wikipedia-style mwe-math-element MathML with alttext, texhtml spans"),
    Page("forum-marbles.html", "https://qa.example/questions/48213/two-marbles-same-color", KEEP,
         "Q&A page with math-container spans; holds the sample MATH item (decontamination drops it)"),
    Page("quadratische-gleichungen-de.html", "https://mathe-ecke.example/algebra/quadratische-gleichungen",
         "wrong_language", "German math page (MathJax v3)"),
    Page("lemon-cake-recipe.html", "https://weekend-kitchen.example/recipes/lemon-drizzle-loaf", "no_math_signal",
         "recipe blog, no math marker in the HTML"),
    Page("harbour-news.html", "https://harbour-times.example/news/ferry-resumes", "no_math_signal",
         "short news item, no math signal"),
    Page("hiking-club-mathjax.html", "https://hiking-club.example/events/autumn-ridge-walk", "no_math_in_text",
         "site template loads MathJax, page has no math: its plain text shows no TeX and scores low"),
    Page("am-gm-mirror.html", "https://olympiad-mirror.example/am-gm", "near_duplicate",
         "the AM-GM post reposted with a few words changed"),
)

_CRAWL_START = 1675252800  # 2023-02-01T12:00:00Z; page i is fetched i seconds later
_USER_AGENT = "proofpile-sample-generator (pages written for proofpile; nothing was crawled)"


def _record_id(kind: str, key: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'proofpile-sample:{kind}:{key}')}>"


def _date(offset: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_CRAWL_START + offset))


def _http_date(offset: int) -> str:
    from email.utils import formatdate

    return formatdate(_CRAWL_START + offset, usegmt=True)


def _page_bytes(page: Page) -> bytes:
    return (WEB_SRC / page.file).read_bytes().replace(b"\r\n", b"\n")


def warc_bytes() -> bytes:
    """The sample WARC file's bytes."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="1.0")
    info_id = _record_id("warcinfo", WARC_NAME)
    fields = (
        b"software: proofpile.samples.web\r\n"
        b"isPartOf: CC-MAIN-SAMPLE\r\n"
        b"description: Pages written for proofpile's --sample builds, on made-up example domains; not crawled.\r\n"
        b"format: WARC File Format 1.0\r\n"
    )
    writer.write_record(writer.create_warc_record(
        "", "warcinfo", payload=io.BytesIO(fields), length=len(fields), warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Record-ID": info_id, "WARC-Date": _date(0), "WARC-Filename": WARC_NAME}))
    for i, page in enumerate(PAGES):
        parts = urlsplit(page.url)
        body = _page_bytes(page)
        request_id, response_id = _record_id("request", page.url), _record_id("response", page.url)
        common = {"WARC-Date": _date(i), "WARC-Warcinfo-ID": info_id}
        request = StatusAndHeaders(f"GET {parts.path or '/'} HTTP/1.1", [
            ("Host", parts.netloc), ("User-Agent", _USER_AGENT),
            ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"), ("Accept-Encoding", "identity"),
        ], is_http_request=True)
        writer.write_record(writer.create_warc_record(
            page.url, "request", http_headers=request,
            warc_headers_dict={**common, "WARC-Record-ID": request_id}))
        response = StatusAndHeaders("200 OK", [
            ("Date", _http_date(i)), ("Server", "nginx"), ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))), ("Connection", "close"),
        ], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            page.url, "response", payload=io.BytesIO(body), length=len(body), http_headers=response,
            warc_headers_dict={**common, "WARC-Record-ID": response_id, "WARC-Concurrent-To": request_id,
                               "WARC-Identified-Payload-Type": "text/html"}))
    return buf.getvalue()


def write_web_sample(dest: Path) -> list[Path]:
    """Write the sample WARC under `dest` (rewritten only when its bytes changed); returns [its path]."""
    path = Path(dest) / WARC_NAME
    write_if_changed(path, warc_bytes())
    return [path]


def write_if_changed(path: Path, data: bytes) -> None:
    """Atomic, and leaves an identical file alone so a resumed build sees the same file."""
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
