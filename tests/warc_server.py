"""A real HTTP server on 127.0.0.1 for the Common Crawl tests: serves a directory with byte ranges, and can
misbehave on purpose (drop a connection mid-file, answer 503, ignore Range) once per path."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 - the http.server interface
        srv = self.server
        rel = self.path.split("?", 1)[0].lstrip("/")
        path = (srv.root / rel).resolve()
        range_header = self.headers.get("Range")
        srv.requests.append((rel, range_header))
        if srv.root not in path.parents or not path.is_file():
            self.send_error(404)
            return
        if rel in srv.fail_once:
            srv.fail_once.discard(rel)
            self.send_error(503, "try again")
            return
        data = path.read_bytes()
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header or "")
        if match and not srv.ignore_range:
            start = int(match.group(1))
            end = int(match.group(2)) + 1 if match.group(2) else len(data)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
            body = data[start:end]
        else:
            self.send_response(200)
            body = data
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if rel in srv.drop_once:  # announce the whole body, send part of it, hang up
            srv.drop_once.discard(rel)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@contextmanager
def serve(root: Path, drop_once=(), fail_once=(), ignore_range: bool = False):
    """Yields (base URL ending in '/', server); `server.requests` lists (path, Range header) as received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.root = Path(root).resolve()
    server.requests = []
    server.drop_once = set(drop_once)
    server.fail_once = set(fail_once)
    server.ignore_range = ignore_range
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---- WARCs written by the tests ----------------------------------------------------------------------------


def warc_record_bytes(url: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK",
                      rec_type: str = "response", date: str = "2023-02-01T12:00:00Z") -> bytes:
    """One uncompressed WARC record, with a record id derived from the URL so files are reproducible."""
    import hashlib
    import io
    import uuid

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    http_headers = None
    if rec_type in ("response", "request"):
        http_headers = StatusAndHeaders(status, [("Content-Type", content_type)] if content_type else [],
                                        protocol="HTTP/1.1")
    record_id = f"<urn:uuid:{uuid.UUID(hashlib.md5((rec_type + url).encode()).hexdigest())}>"
    record = writer.create_warc_record(url, rec_type, payload=io.BytesIO(body), http_headers=http_headers,
                                       warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": record_id})
    writer.write_record(record)
    return buf.getvalue()


def write_warc(path: Path, records: list[bytes], gzip_members: bool = True) -> Path:
    """Records as written by `warc_record_bytes`, each its own gzip member (as Common Crawl does) or plain."""
    import gzip

    with open(path, "wb") as f:
        for rec in records:
            f.write(gzip.compress(rec, mtime=0) if gzip_members else rec)
    return path


def lie_about_length(record: bytes, delta: int) -> bytes:
    """The record with its WARC Content-Length off by `delta` (the block itself unchanged)."""
    head, sep, rest = record.partition(b"\r\n\r\n")
    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    return re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % (n + delta), head, count=1) + sep + rest
