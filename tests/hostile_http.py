"""A real HTTP server on 127.0.0.1 that answers the way a hostile or broken server does, by path:

- `/huge/<n>`: claims and streams <n> bytes, generated lazily (nothing of that size is ever held);
- `/huge-nolength/<n>`: the same without Content-Length, the end marked by closing the connection;
- `/drip/<n>`: announces <n> bytes, then sends one every `drip_interval` seconds;
- `/drip-head`: the status line, then one byte of a header every `drip_interval` seconds, never the end;
- `/file/<name>`: `files[name]`, served whole; anything else is a 404.

Used by the bounded-cost tests and by bench/hostile_cost.py. A client that hangs up makes the handler stop.
"""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_BLOCK = b"\0" * (1 << 16)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - the http.server interface
        srv = self.server
        path = self.path.split("?", 1)[0]
        srv.requests.append(path)
        try:
            if m := re.fullmatch(r"/(huge|huge-nolength)/(\d+)(?:/.*)?", path):
                self._stream(int(m.group(2)), with_length=m.group(1) == "huge")
            elif m := re.fullmatch(r"/drip/(\d+)(?:/.*)?", path):
                self._drip(int(m.group(1)))
            elif path.startswith("/drip-head"):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not srv.stopping.is_set():
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(srv.drip_interval)
            elif (name := path.removeprefix("/file/")) in srv.files:
                body = srv.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what a bounded client does

    def _stream(self, n: int, with_length: bool) -> None:
        self.send_response(200)
        if with_length:
            self.send_header("Content-Length", str(n))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        while sent < n and not self.server.stopping.is_set():
            chunk = _BLOCK[: min(len(_BLOCK), n - sent)]
            self.wfile.write(chunk)
            sent += len(chunk)

    def _drip(self, n: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        for _ in range(n):
            if self.server.stopping.is_set():
                return
            self.wfile.write(b"\0")
            self.wfile.flush()
            time.sleep(self.server.drip_interval)


@contextmanager
def serve(files: dict[str, bytes] | None = None, drip_interval: float = 0.5):
    """Yields (base URL ending in '/', server); `server.requests` lists the paths asked for."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.files, server.drip_interval, server.requests = dict(files or {}), drip_interval, []
    server.stopping = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
