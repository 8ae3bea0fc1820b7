"""Reading WARC files: fastwarc against warcio and proofpile's reader, for speed and for what each gets right.

    python bench/warc_read.py [--data ../shared/data] [--mb 100]

Speed: the real WARC files in warc/ (a Common Crawl excerpt, ClueWeb09 with malformed headers, a truncated
file, webrecorder's example), concatenated and repeated to --mb MB of uncompressed WARC, every response's
HTTP body read. MB/s counts uncompressed WARC bytes per CPU second (one core).
- fastwarc: resiliparse's Rust/C++ reader, bodies as stored;
- warcio: records and `content_stream()` (decodes chunked and gzip/deflate/br content encodings);
- proofpile: `CommonCrawlReader.read_file`, warcio plus record recovery, charset decoding and Documents.

Correctness: small WARCs built here with warcio's writer, each with a page whose HTTP body is gzip-encoded
(servers do send that, and crawlers store it) or a record whose WARC Content-Length is wrong, then a good
record. The table says which readers return the three pages' HTML.
This is why proofpile keeps warcio under its reader: fastwarc reads ~3x faster, but hands back gzip bytes for
a Content-Encoding: gzip page and stops the file ("Invalid WARC header") at a record whose Content-Length
lies, losing every record after it; at 100+ MB/s the reader is a small part of a build's CPU next to the
prefilter and the extraction.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import sys
import tempfile
import time
from pathlib import Path

PAGE = "<html><body><p>Page {}: let $x^2 = 4$; then $x = \\pm 2$.</p></body></html>"


def record(url: str, body: bytes, headers: list[tuple[str, str]], length_delta: int = 0) -> bytes:
    """One uncompressed WARC response; `length_delta` makes its WARC Content-Length lie by that much."""
    import re

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), *headers], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    data = buf.getvalue()
    if length_delta:
        head, sep, rest = data.partition(b"\r\n\r\n")
        n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        data = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % (n + length_delta), head, count=1) + sep + rest
    return data


def hostile_cases() -> dict[str, bytes]:
    good = lambda i: record(f"https://example.org/{i}", PAGE.format(i).encode(), [])  # noqa: E731
    odd = PAGE.format(2).encode()
    gz = lambda recs: b"".join(gzip.compress(r, mtime=0) for r in recs)  # noqa: E731
    return {
        "gzip Content-Encoding (.warc.gz)": gz([good(1), record("https://example.org/2", gzip.compress(
            odd, mtime=0), [("Content-Encoding", "gzip")]), good(3)]),
        "Content-Length +100 (.warc.gz)": gz([good(1), record("https://example.org/2", odd, [], 100),
                                              good(3)]),
        "Content-Length -20 (.warc.gz)": gz([good(1), record("https://example.org/2", odd, [], -20),
                                             good(3)]),
        "Content-Length +100 (plain .warc)": b"".join([good(1), record("https://example.org/2", odd, [],
                                                                       100), good(3)]),
    }


# -- the three readers: each returns the response bodies it could read -------------------------------------------
def read_fastwarc(path: Path) -> list[bytes]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    out = []
    with open(path, "rb") as f:
        try:
            for rec in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
                out.append(rec.reader.read())
        except Exception as e:  # noqa: BLE001 - the file stops here; what was read counts
            print(f"  fastwarc, {path.name}: stopped: {e}", file=sys.stderr)
    return out


def read_warcio(path: Path) -> list[bytes]:
    from warcio.archiveiterator import ArchiveIterator

    out = []
    with open(path, "rb") as f:
        try:
            for rec in ArchiveIterator(f):
                if rec.rec_type == "response":
                    out.append(rec.content_stream().read())
        except Exception as e:  # noqa: BLE001
            print(f"  warcio, {path.name}: stopped: {type(e).__name__}: {str(e)[:80]}", file=sys.stderr)
    return out


def read_proofpile(path: Path) -> list[bytes]:
    from proofpile.sources.commoncrawl import CommonCrawlReader

    reader = CommonCrawlReader([str(path)], crawl="bench")
    return [d.text.encode() for d in reader.read_file(str(path))]


READERS = {"fastwarc": read_fastwarc, "warcio": read_warcio, "proofpile (warcio + recovery)": read_proofpile}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--mb", type=float, default=100.0, help="uncompressed WARC read per reader")
    args = ap.parse_args()
    files = sorted((args.data / "warc").glob("*.warc.gz"))
    if not files:
        print(f"skipped: no WARC files in {args.data / 'warc'} (pass --data)")
        return
    from datatrove.utils.logging import logger

    logger.remove()  # the reader logs each recovered record; the table says it

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = [f.read_bytes() for f in files]
        # each file's uncompressed size, as far as it goes (the truncated file ends inside a member)
        plain = 0
        for data in raw:
            d = __import__("zlib").decompressobj(31)
            size, rest = 0, data
            while rest:
                try:
                    size += len(d.decompress(rest))
                except Exception:  # noqa: BLE001
                    break
                rest = d.unused_data
                d = __import__("zlib").decompressobj(31) if rest else d
            plain += size
        reps = max(1, round(args.mb * 1e6 / plain))
        corpus = tmp / "real.warc.gz"
        # the truncated file last: after it, a reader may rightly stop
        whole = b"".join(r for f, r in zip(files, raw) if "truncated" not in f.name)
        tail = b"".join(r for f, r in zip(files, raw) if "truncated" in f.name)
        corpus.write_bytes(whole * reps + tail)
        mb = plain * reps / 1e6
        print(f"speed: {len(files)} real WARC files x {reps} ({mb:.1f} MB uncompressed, "
              f"{corpus.stat().st_size / 1e6:.1f} MB .gz), one core")
        print(f"{'reader':32s} {'MB/s/core':>10s} {'responses':>10s}")
        for name, fn in READERS.items():
            t = time.process_time()
            n = len(fn(corpus))
            dt = time.process_time() - t
            print(f"{name:32s} {mb / dt:10.1f} {n:10d}")

        print("\ncorrectness: which of pages 1, 2, 3 come back as HTML (page 2 is the odd record; - = lost)")
        print(f"{'case':36s} " + " ".join(f"{n.split(' ')[0]:>10s}" for n in READERS))
        for case, data in hostile_cases().items():
            path = tmp / ("case.warc.gz" if ".gz" in case else "case.warc")
            path.write_bytes(data)
            cells = []
            for fn in READERS.values():
                with contextlib.redirect_stderr(io.StringIO()):  # warcio prints a note per wrong length
                    bodies = fn(path)
                html = b" ".join(b for b in bodies if b.lstrip().startswith(b"<html"))
                cells.append(" ".join(str(i) if b"Page %d:" % i in html else "-" for i in (1, 2, 3)))
            print(f"{case:36s} " + " ".join(f"{c:>10s}" for c in cells))
    print("\nproofpile keeps warcio: fastwarc returns gzip bytes for a Content-Encoding: gzip page and stops the "
          "file at a lying Content-Length, losing the records after it.")


if __name__ == "__main__":
    main()
