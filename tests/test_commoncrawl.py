"""The Common Crawl source: real WARCs (local and over a real HTTP server), resumed transfers, damage, decoding."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pytest

from proofpile.sources.commoncrawl import (
    CommonCrawlReader,
    ResumableHTTPStream,
    WarcListError,
    decode_body,
    list_warc_files,
    paths_list_url,
)

from .warc_server import lie_about_length, serve, warc_record_bytes, write_warc

EXCERPT = "cc-main-2020-34-excerpt.warc.gz"
CLUEWEB = "clueweb09-malformed-headers.warc.gz"
TRUNCATED = "truncated-record.warc.gz"
EXAMPLE = "example-com.warc.gz"


def read(files, **kw) -> tuple[list, dict]:
    reader = CommonCrawlReader([str(f) for f in files], **kw)
    docs = list(reader.run())
    return docs, {k: reader.stats[k].total for k in reader.stats.stats}


def comparable(docs) -> list[tuple]:
    return [(d.id, d.text, {k: v for k, v in d.metadata.items() if k != "warc_file"}) for d in docs]


@pytest.fixture(scope="module")
def warc_dir(shared_data: Path) -> Path:
    d = shared_data / "warc"
    if not (d / EXCERPT).is_file():
        pytest.skip(f"shared WARCs missing: {d}")
    return d


def test_real_crawl_excerpt_pages_and_metadata(warc_dir: Path):
    docs, stats = read([warc_dir / EXCERPT], crawl="CC-MAIN-2020-34")
    assert len(docs) == 16 and stats["documents"] == 16  # 16 HTML responses; request/metadata/warcinfo skipped
    assert stats["records_other"] == 34 and stats["files_read"] == 1
    first = docs[0]
    assert first.metadata["url"] == "http://003338.cn/l41/481397.html"
    assert first.metadata["crawl"] == "CC-MAIN-2020-34"
    assert first.metadata["warc_date"] == "2020-08-08T17:27:41Z"
    assert first.metadata["record_id"] == "<urn:uuid:c4c112a5-3503-4483-abf8-51a0dd86dd53>"
    assert first.metadata["source"] == "common-crawl" and first.metadata["subset"] == "open-web-math"
    assert len({d.id for d in docs}) == 16
    # a windows-1251 page is Russian text once decoded, and no page needed a guessed charset
    russian = next(d for d in docs if d.metadata["url"] == "http://01spb.ru/company/")
    assert russian.metadata["charset"] == "cp1251" and "О компании" in russian.text
    assert not any(d.metadata.get("charset_fallback") for d in docs)


def test_malformed_clueweb_headers_are_read(warc_dir: Path):
    docs, stats = read([warc_dir / CLUEWEB])
    assert len(docs) == 29 and "file_damaged" not in stats
    assert all(d.metadata["charset"] == "euc_jp" for d in docs)
    assert all("\ufffd" not in d.text[:2000] for d in docs)
    assert docs[0].metadata["warc_date"] == "2008-10-294T05:21:46-0700"  # kept as found, not "fixed"


def test_truncated_record_is_counted_and_the_run_goes_on(warc_dir: Path, warnings_logged):
    docs, stats = read([warc_dir / TRUNCATED, warc_dir / EXAMPLE])
    assert [d.metadata["url"] for d in docs] == ["http://example.com/"]
    assert stats["skipped_record_truncated"] == 1
    assert any(TRUNCATED in m and "shorter than its Content-Length" in m for m in warnings_logged)


def test_served_over_http_equals_local(warc_dir: Path, tmp_path: Path):
    local, _ = read(sorted(warc_dir.glob("*.warc.gz")))
    with serve(warc_dir) as (base, server):
        remote, stats = read([base + p.name for p in sorted(warc_dir.glob("*.warc.gz"))])
    assert comparable(remote) == comparable(local) and len(local) == 46
    assert stats["http_resumes"] == 0


def test_dropped_connection_resumes_by_byte_range(warc_dir: Path):
    local, _ = read([warc_dir / EXCERPT])
    with serve(warc_dir, drop_once={EXCERPT}) as (base, server):
        remote, stats = read([base + EXCERPT], backoff=0.01)
    assert comparable(remote) == comparable(local)
    assert stats["http_resumes"] == 1
    ranges = [r for path, r in server.requests if path == EXCERPT]
    size = (warc_dir / EXCERPT).stat().st_size
    assert ranges == [None, f"bytes={size // 2}-"]  # the second request starts exactly where the first stopped


def test_resume_when_the_server_ignores_range(warc_dir: Path):
    local, _ = read([warc_dir / EXCERPT])
    with serve(warc_dir, drop_once={EXCERPT}, ignore_range=True) as (base, server):
        remote, stats = read([base + EXCERPT], backoff=0.01)
    assert comparable(remote) == comparable(local) and stats["http_resumes"] == 1


def test_server_errors_are_retried_and_missing_files_counted(warc_dir: Path, warnings_logged):
    with serve(warc_dir, fail_once={EXAMPLE}) as (base, server):
        docs, stats = read([base + "no-such.warc.gz", base + EXAMPLE], backoff=0.01)
    assert [d.metadata["url"] for d in docs] == ["http://example.com/"]
    assert stats["file_failed"] == 1 and stats["http_retries"] == 1  # the 503 once; the 404 is not retried
    assert any("no-such.warc.gz" in m and "404" in m for m in warnings_logged)


def test_stream_gives_up_after_retries_with_a_clear_error():
    stream = ResumableHTTPStream("http://127.0.0.1:9/none.warc.gz", retries=2, timeout=2, backoff=0.01)
    with pytest.raises(OSError, match=r"127\.0\.0\.1:9/none\.warc\.gz: gave up at byte 0 after 3 attempts"):
        stream.read(10)


def test_crawl_id_reads_warc_paths_from_the_base_url(warc_dir: Path, tmp_path: Path):
    crawl = "CC-MAIN-2023-06"
    seg = tmp_path / "crawl-data" / crawl / "segments" / "1674764494826.88" / "warc"
    seg.mkdir(parents=True)
    names = [EXCERPT, EXAMPLE, CLUEWEB]
    for name in names:
        shutil.copy(warc_dir / name, seg / name)
    rel = [f"crawl-data/{crawl}/segments/1674764494826.88/warc/{n}" for n in names]
    (tmp_path / "crawl-data" / crawl / "warc.paths.gz").write_bytes(gzip.compress("\n".join(rel).encode() + b"\n"))
    with serve(tmp_path) as (base, server):
        assert paths_list_url(crawl, base) == f"{base}crawl-data/{crawl}/warc.paths.gz"
        files = list_warc_files(crawl=crawl, base_url=base, max_files=2)
        assert files == [base + r for r in rel[:2]]
        docs, stats = read(files)
        with pytest.raises(WarcListError, match="CC-MAIN-2099-01/warc.paths.gz: cannot read"):
            list_warc_files(crawl="CC-MAIN-2099-01", base_url=base, retries=0)
    assert len(docs) == 17 and {d.metadata["crawl"] for d in docs} == {crawl}  # crawl id read from the path
    # fsspec URLs and plain paths list too
    plain = tmp_path / "paths.txt"
    plain.write_text(f"# local copies\n{seg / EXAMPLE}\n")
    assert list_warc_files(paths_file=str(plain)) == [str(seg / EXAMPLE)]
    docs, _ = read([f"file://{seg / EXAMPLE}"])
    assert [d.metadata["url"] for d in docs] == ["http://example.com/"]


def test_bad_records_are_each_counted_with_a_reason(tmp_path: Path, warnings_logged):
    page = b"<html><body><p>" + b"An ordinary page about the weather. " * 20 + b"</p></body></html>"
    latin1 = "<html><body><p>Caf\u00e9 cr\u00e8me: \u00bd price, na\u00efve r\u00e9sum\u00e9.</p></body></html>"
    records = [
        warc_record_bytes("http://ok/1", page),
        warc_record_bytes("http://latin1/", latin1.encode("cp1252"), content_type="text/html"),
        warc_record_bytes("http://empty/", b"  \n"),
        warc_record_bytes("http://huge/", b"<html>" + b"x" * (20 * 2**20) + b"</html>"),
        warc_record_bytes("http://image/", b"\x89PNG...", content_type="image/png"),
        warc_record_bytes("http://gone/", page, status="404 Not Found"),
        lie_about_length(warc_record_bytes("http://long/", page), +200),
        lie_about_length(warc_record_bytes("http://short/", page), -200),
        warc_record_bytes("http://ok/2", page),
    ]
    path = write_warc(tmp_path / "bad.warc.gz", records)
    docs, stats = read([path])
    assert [d.metadata["url"] for d in docs] == ["http://ok/1", "http://latin1/", "http://ok/2"]
    latin = docs[1]
    assert latin.text == latin1 and latin.metadata["charset"] == "cp1252" and latin.metadata["charset_fallback"]
    assert stats["charset_fallback"] == 1
    assert stats["skipped_empty_body"] == 1
    assert stats["skipped_too_large"] == 1
    assert stats["skipped_not_html"] == 1
    assert stats["skipped_http_status"] == 1
    assert stats["skipped_record_truncated"] == 1  # Content-Length past the end of its gzip member
    assert stats["skipped_bad_content_length"] == 1  # Content-Length short of the record
    assert any("http://huge/" in m and "over 5,242,880 bytes" in m for m in warnings_logged)
    assert all("\n" not in m for m in warnings_logged)


def test_uncompressed_warc_with_a_lying_length_keeps_what_came_before_and_after(tmp_path: Path, warnings_logged):
    page = b"<html><body>" + b"text " * 100 + b"</body></html>"
    records = [warc_record_bytes(f"http://p/{i}", page) for i in range(4)]
    records[2] = lie_about_length(records[2], +150)  # swallows the start of record 3, whose header is then garbage
    docs, stats = read([write_warc(tmp_path / "plain.warc", records, gzip_members=False)])
    # reading goes on from just past where the bad record began, so the record it swallowed is found again
    assert [d.metadata["url"] for d in docs] == ["http://p/0", "http://p/1", "http://p/3"]
    assert stats["skipped_bad_content_length"] == 1 and "file_damaged" not in stats and stats["files_read"] == 1
    assert any("plain.warc: record at byte 1,876 unreadable" in m and "reading on at the next record" in m
               for m in warnings_logged)


@pytest.mark.parametrize(
    "body, content_type, text, charset, fallback",
    [
        ("\ufeffhé".encode("utf-8"), None, "hé", "utf-8", False),
        ("hé".encode("utf-16-le"), None, None, None, None),  # no BOM, no declaration: cannot be UTF-16
        (b"\xff\xfe" + "hé".encode("utf-16-le"), "text/html; charset=iso-8859-1", "hé", "utf-16-le", False),
        ("привет".encode("koi8-r"), "text/html; charset=KOI8-R", "привет", "koi8-r", False),
        ('<meta charset="windows-1251">привет'.encode("cp1251"), "text/html", '<meta charset="windows-1251">привет',
         "cp1251", False),
        ("数学".encode("gbk"), "text/html; charset=gb2312", "数学", "gb18030", False),
        ("naïve".encode("cp1252"), "text/html", "naïve", "cp1252", True),
        ("déclaré".encode("utf-8") + b"\xff", "text/html; charset=utf-8", "déclaré\ufffd", "utf-8", True),
        (("x" * 3000 + "é").encode("utf-8") + b"\xe9", None, "x" * 3000 + "é\ufffd", "utf-8", True),
    ],
)
def test_decode_body(body, content_type, text, charset, fallback):
    decoded = decode_body(body, content_type)
    if text is None:
        assert decoded.fallback
        return
    assert (decoded.text, decoded.charset, decoded.fallback) == (text, charset, fallback)


def test_names_from_the_input_are_escaped_in_log_lines(tmp_path: Path, warnings_logged):
    """A WARC file name and a page address come from whoever made the input: in a log line they must not
    drive the terminal or forge a line of their own."""
    path = tmp_path / "CC-MAIN-x\nWARNING: fine.warc.gz"
    path.write_bytes(gzip.compress(warc_record_bytes("https://ex.example/\x1b[2Jpage", b"<html>" + b"x" * 100
                                                     + b"</html>"), mtime=0))
    docs = list(CommonCrawlReader([str(path)], max_body_bytes=10).run())
    assert docs == []
    line = next(m for m in warnings_logged if "body over" in m)
    assert "CC-MAIN-x\\nWARNING: fine.warc.gz: https://ex.example/\\x1b[2Jpage: body over" in line
    assert line.isprintable()


def test_signed_warc_urls_lose_the_signature_in_meta(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.warc.gz").write_bytes(gzip.compress(warc_record_bytes(
        "https://user:CANARY@ex.example/p?X-Amz-Signature=CANARY", b"<html><p>text</p></html>"), mtime=0))
    with serve(site) as (base, _):
        url = f"{base}a.warc.gz?X-Amz-Credential=CANARY&X-Amz-Signature=CANARY"
        docs = list(CommonCrawlReader([url]).run())
    assert len(docs) == 1
    assert docs[0].metadata["warc_file"] == f"{base}a.warc.gz?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED"
    assert docs[0].metadata["url"] == "https://***@ex.example/p?X-Amz-Signature=REDACTED"


# ---- one hostile record costs that record ------------------------------------------------------------------


def _with_content_length(record: bytes, value: bytes | None) -> bytes:
    head, sep, rest = record.partition(b"\r\n\r\n")
    new = b"" if value is None else b"\r\nContent-Length: " + value
    return re.sub(rb"\r\nContent-Length: \d+", new, head, count=1) + sep + rest


@pytest.mark.parametrize("gzip_members", [True, False])
def test_records_with_an_unusable_content_length_cost_only_themselves(tmp_path: Path, gzip_members, warnings_logged):
    page = b"<html><body><p>" + b"An ordinary page about the weather. " * 20 + b"</p></body></html>"
    records = [warc_record_bytes("http://ok/1", page)]
    for i, value in enumerate([b"-5", b"0x10", b"12abc", None]):  # negative, hex, junk, missing
        records += [_with_content_length(warc_record_bytes(f"http://bad/{i}", page), value),
                    warc_record_bytes(f"http://ok/{i + 2}", page)]
    path = write_warc(tmp_path / ("f.warc.gz" if gzip_members else "f.warc"), records, gzip_members=gzip_members)
    docs, stats = read([path])
    assert [d.metadata["url"] for d in docs] == [f"http://ok/{i}" for i in range(1, 6)]
    assert stats["skipped_bad_content_length"] == 4 and stats["files_read"] == 1 and "file_damaged" not in stats
    assert any("Content-Length '-5' is not a byte count" in m and "reading on at the next record" in m
               for m in warnings_logged)
    assert all("\n" not in m for m in warnings_logged)


@pytest.mark.parametrize("declared", [
    {"content_type": "text/html; charset=base64"},
    {"content_type": "text/html; charset=rot13"},
    {"content_type": "text/html; charset=zlib"},
    {"content_type": "text/html", "meta": b'<meta charset="base64">'},
    {"content_type": "text/html", "meta": b'<meta charset="hex_codec">'},
    {"content_type": "text/html; charset=idna"},
])
def test_a_page_declaring_a_non_text_codec_is_read_as_undeclared(tmp_path: Path, declared):
    page = declared.get("meta", b"") + "<html><body><p>Caf\u00e9 au lait, \u00bd price.</p></body></html>".encode()
    records = [warc_record_bytes("http://ok/1", b"<html><body>first</body></html>"),
               warc_record_bytes("http://hostile/", page, content_type=declared["content_type"]),
               warc_record_bytes("http://ok/2", b"<html><body>last</body></html>")]
    docs, stats = read([write_warc(tmp_path / "f.warc.gz", records)])
    assert [d.metadata["url"] for d in docs] == ["http://ok/1", "http://hostile/", "http://ok/2"]
    assert docs[1].text == page.decode() and docs[1].metadata["charset"] == "utf-8"


def _splice_into_real_warc(source: Path, dest: Path, bad: bytes) -> tuple[Path, int]:
    """The real WARC with `bad` inserted as a gzip member between two of its records (at a member boundary)."""
    from warcio.archiveiterator import ArchiveIterator

    with open(source, "rb") as f:
        archive = ArchiveIterator(f)
        offsets = [archive.get_record_offset() for _ in archive]
    data = source.read_bytes()
    at = offsets[len(offsets) // 2]
    dest.write_bytes(data[:at] + gzip.compress(bad, mtime=0) + data[at:])
    return dest, at


def test_a_bad_record_inside_a_real_crawl_file_local_and_over_http(warc_dir: Path, tmp_path: Path, warnings_logged):
    expected, _ = read([warc_dir / EXCERPT])
    bad = _with_content_length(warc_record_bytes("http://bad/", b"<html>" + b"x" * 500 + b"</html>"), b"-1")
    spliced, at = _splice_into_real_warc(warc_dir / EXCERPT, tmp_path / EXCERPT, bad)
    local, stats = read([spliced])
    assert comparable(local) == comparable(expected) and stats["skipped_bad_content_length"] == 1
    with serve(tmp_path) as (base, server):
        remote, stats = read([base + EXCERPT])
    assert comparable(remote) == comparable(expected) and stats["skipped_bad_content_length"] == 1
    # over HTTP, reading on after the bad record is a byte-range request
    assert any(r and r.startswith("bytes=") for path, r in server.requests if path == EXCERPT)


def _gzip_encoded_record(url: str, html: str) -> bytes:
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
                               protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(gzip.compress(html.encode(),
                                                                                                   mtime=0)),
                                                  http_headers=headers))
    return buf.getvalue()


def test_why_warcio_and_not_fastwarc(tmp_path: Path):
    """The decision in the module docstring, kept honest: the reader decodes a gzip-encoded body and reads on past a
    record whose Content-Length lies; fastwarc (installed with resiliparse) does neither. If this test fails on the
    fastwarc side, fastwarc has been fixed and the reader could use it (bench/warc_read.py: ~3x warcio's speed)."""
    fastwarc = pytest.importorskip("fastwarc.warc")
    page = "<html><body><p>Page {}: $x^2$</p></body></html>"
    records = [warc_record_bytes("https://a.example/1", page.format(1).encode()),
               _gzip_encoded_record("https://a.example/2", page.format(2)),
               lie_about_length(warc_record_bytes("https://a.example/3", page.format(3).encode()), 100),
               warc_record_bytes("https://a.example/4", page.format(4).encode())]
    path = write_warc(tmp_path / "odd.warc.gz", records)
    docs, counts = read([path])
    assert [d.metadata["url"] for d in docs] == ["https://a.example/1", "https://a.example/2", "https://a.example/4"]
    assert docs[1].text == page.format(2)

    bodies, stopped = [], None
    with open(path, "rb") as f:
        try:
            for rec in fastwarc.ArchiveIterator(f, record_types=fastwarc.WarcRecordType.response, parse_http=True):
                bodies.append(rec.reader.read())
        except Exception as err:  # noqa: BLE001
            stopped = err
    assert bodies[1].startswith(b"\x1f\x8b")  # still gzip
    assert stopped is not None and not any(b"Page 4" in b for b in bodies)  # the file stops at the lying record
