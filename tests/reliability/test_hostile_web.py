"""Hostile Common Crawl inputs through a real `open-web-math` build (and one `algebraic-stack` build for a huge
Stack file): malformed and truncated WARCs from a real crawl, HTML nested 100,000 deep, a 100 MB single-line
page, invalid UTF-8 in bodies, headers, URLs and file names. Each is counted with a reason; the build finishes."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import time
import uuid
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ..warc_server import warc_record_bytes
from .helpers import build, counts, drops, rows, task_warnings

MATHJAX = b'<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
PROSE = (b"We compute $\\int_0^1 x^2\\,dx = \\frac{1}{3}$ by the power rule, and for a right triangle with legs a and "
         b"b the hypotenuse c satisfies $a^2+b^2=c^2$, as every geometry course proves early on. ")
SQRT2 = (b"Suppose $\\sqrt{2} = p/q$ with $p$ and $q$ coprime integers. Squaring gives $p^2 = 2q^2$, so $p^2$ is "
         b"even and therefore $p$ is even, say $p = 2r$. Then $4r^2 = 2q^2$, that is $q^2 = 2r^2$, and $q$ is even as "
         b"well, which contradicts the assumption that $p$ and $q$ have no common factor. Hence the square root of "
         b"two is irrational, a fact already known to the ancient Greek mathematicians.")
HUGE = 100 * 2**20


def _record(url: bytes, http_head: bytes, body: list[bytes]) -> list[bytes]:
    """A WARC response record as parts, written by hand so that any byte can go into its headers."""
    length = len(http_head) + sum(map(len, body))
    rid = uuid.UUID(hashlib.md5(url).hexdigest())
    head = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: " + url + b"\r\nWARC-Date: 2023-02-01T12:00:00Z\r\n"
            b"WARC-Record-ID: <urn:uuid:%s>\r\nContent-Type: application/http; msgtype=response\r\n"
            b"Content-Length: %d\r\n\r\n" % (str(rid).encode(), length))
    return [head, http_head, *body, b"\r\n\r\n"]


def _gzip_member(parts: list[bytes]) -> bytes:
    c = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join([c.compress(p) for p in parts] + [c.flush()])


def _one_line_page(size: int) -> list[bytes]:
    """A math page of `size` bytes on a single line, as parts of 1 MiB (never held as one bytes object here)."""
    pre, post = b"<html><head>" + MATHJAX + b"</head><body><p>", b"</p></body></html>"
    per_mib = PROSE * (2**20 // len(PROSE))
    fill = size - len(pre) - len(post)
    return [pre, *[per_mib] * (fill // len(per_mib)), PROSE * (fill % len(per_mib) // len(PROSE)),
            b" " * (fill % len(per_mib) % len(PROSE)), post]


def _http(body_len: int | None = None, content_type: bytes = b"text/html; charset=utf-8", extra: bytes = b"") -> bytes:
    length = b"Content-Length: %d\r\n" % body_len if body_len is not None else b""
    return b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\n" + length + extra + b"\r\n"


def _hostile_warc(path: Path) -> Path:
    nested = (b"<html><head>" + MATHJAX + b"</head><body>" + b"<div>" * 100_000 + PROSE * 10 + b"</div>" * 100_000
              + b"</body></html>")
    bad_body = (b"<html><head>" + MATHJAX + b"</head><body><p>Caf\xe9 \xff\xfe \xc3\x28 \xed\xa0\x80 " + PROSE * 5
                + b"</p></body></html>")
    huge = _one_line_page(HUGE)
    records = [
        gzip.compress(warc_record_bytes("https://nested.example/deep", nested), mtime=0),
        # invalid UTF-8 in the URL, in a declared charset, in another header and in the body
        _gzip_member(_record(b"https://bad.example/caf\xe9/\xff\xfe", _http(
            len(bad_body), b"text/html; charset=\xff\xfe", b"X-Junk: \xc3\x28\xa0\xa1\r\n"), [bad_body])),
        # undeclared charset, bytes that are no encoding at all
        _gzip_member(_record(b"https://bad.example/noise", _http(None, b"text/html"),
                             [b"<html><body><p>" + bytes(range(128, 256)) * 40 + PROSE * 3 + b"</p></body></html>"])),
        _gzip_member(_record(b"https://huge.example/one-line", _http(HUGE), huge)),
    ]
    path.write_bytes(b"".join(records))
    return path


@pytest.fixture(scope="module")
def web_inputs(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("web")
    inputs = root / "in"
    inputs.mkdir()
    warc = shared_data / "warc"
    files = [str(shutil.copy(warc / name, inputs / name))
             for name in ("clueweb09-malformed-headers.warc.gz", "truncated-record.warc.gz")]
    files.append(str(_hostile_warc(inputs / "CC-MAIN-20230201-00000.warc.gz")))
    # a WARC whose file name is not UTF-8 (Latin-1 bytes), holding one good math page
    odd = inputs / os.fsdecode(b"CC-MAIN-20230201-caf\xe9-\xff.warc.gz")
    odd.write_bytes(gzip.compress(warc_record_bytes(
        "https://odd.example/name", b"<html><head>" + MATHJAX + b"</head><body><p>An odd file name. " + SQRT2
        + b"</p></body></html>"), mtime=0))
    return root, files, str(odd)


@pytest.fixture(scope="module")
def web_build(web_inputs, lid_model):
    root, files, odd = web_inputs

    def add_odd_file(recipe):  # YAML cannot carry a name that is not UTF-8; the library takes it as Python does
        recipe.sources.commoncrawl.files = [*files, odd]

    out = root / "out"
    start = time.monotonic()
    manifest = build("open-web-math", out, f"commoncrawl.files={json.dumps(files)}", f"langid.model={lid_model}",
                     edit=add_odd_file)
    return out, manifest, time.monotonic() - start


def test_damaged_and_hostile_records_are_counted(web_build):
    out, manifest, seconds = web_build
    dropped, counted = drops(manifest), counts(manifest)
    assert counted["files_read"] == 4 and counted.get("file_failed", 0) == 0
    assert dropped["record_truncated"] == 1  # the real truncated record
    assert dropped["too_large"] == 1  # the 100 MB page, over max_body_bytes (5 MiB): read no further than that
    assert counted["documents"] >= 29 + 3 + 1  # the malformed-header WARC's responses are read
    assert counted["charset_fallback"] >= 2  # the bad declared charset and the undeclared noise
    warnings = task_warnings(out, "commoncrawl")
    assert any("huge.example/one-line: body over 5,242,880 bytes; skipped" in w for w in warnings), warnings
    assert seconds < 120


def test_deep_html_and_bad_bytes_come_out_as_text(web_build):
    out, manifest, _ = web_build
    got = {json.loads(r["meta"])["url"]: r for r in rows(out)}
    # nested 100,000 deep: the extractor either gets the text out or drops the page with a reason, in time
    extract = next(s["counts"] for st in manifest["stages"] for s in st["steps"] if s["name"].endswith("extraction"))
    deep = "https://nested.example/deep"
    assert deep in got or extract.get("dropped_extraction_failed", 0) + extract.get("dropped_empty_extraction", 0) >= 1
    bad = next((r for url, r in got.items() if url.startswith("https://bad.example/caf")), None)
    assert bad is not None, sorted(got)
    meta = json.loads(bad["meta"])
    assert meta["charset_fallback"] and "power rule" in bad["text"]
    odd = next(r for r in got.values() if "An odd file name." in r["text"])
    assert "caf" in json.loads(odd["meta"])["warc_file"]
    for r in got.values():  # every string in the output is valid UTF-8 (Parquet would not hold anything else)
        for field in ("id", "text", "meta"):
            r[field].encode("utf-8")


def test_a_100_mb_page_that_is_let_through_is_bounded(web_inputs, lid_model):
    """With max_body_bytes raised the 100 MB line reaches the text stages: each bounds its own work."""
    root, files, _ = web_inputs
    out = root / "out-huge"
    start = time.monotonic()
    manifest = build("open-web-math", out, f"commoncrawl.files={json.dumps(files[2:3])}",
                     f"commoncrawl.max_body_bytes={2 * HUGE}", f"langid.model={lid_model}")
    seconds = time.monotonic() - start
    counted = counts(manifest)
    assert counted["truncated_input"] >= 1  # the extractor cuts pages over 5 M characters
    huge = [r for r in rows(out) if json.loads(r["meta"])["url"] == "https://huge.example/one-line"]
    assert len(huge) <= 1 and all(len(r["text"]) <= 5_000_000 for r in huge)
    assert seconds < 120, seconds


def test_a_100_mb_single_line_stack_file(tmp_path, lid_model):
    """The same size through The Stack's columns (no size cap on that reader): the code rules drop it by its
    line length without choking, and the build finishes."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    line = ("\\newcommand{\\R}{\\mathbb{R}} $x \\in \\R$ " * (HUGE // 40))[:HUGE]
    table = pa.table({"content": [line, "\\section{Small}\nA short \\LaTeX{} file about $x^2$.\n"],
                      "lang": ["TeX", "TeX"], "hexsha": ["a" * 40, "b" * 40],
                      "max_stars_repo_name": ["t/huge", "t/small"], "max_stars_repo_path": ["huge.tex", "small.tex"]})
    data = inputs / "tex.parquet"
    pq.write_table(table, data)
    del line, table
    out = tmp_path / "out"
    start = time.monotonic()
    manifest = build("algebraic-stack", out, "github=null", f"stack.files=[{data}]", "stack.langs=[tex]",
                     f"langid.model={lid_model}")
    seconds = time.monotonic() - start
    assert sum(drops(manifest).values()) >= 1
    assert all(json.loads(r["meta"])["path"] != "huge.tex" for r in rows(out))
    assert seconds < 60, seconds
