"""HTTP GETs whose cost a server cannot choose: an overall deadline, a byte cap, and http(s) only.

A socket timeout bounds one `recv`, not a request: a server that sends a byte every few seconds keeps a read
alive forever, and `Content-Length` is only a claim (it may lie, or be absent). So:

- a watchdog shuts the connection's socket down when the request's deadline passes, which unblocks whatever
  read is waiting (the status line, a header, the body), and the caller names the reason `http_deadline`;
- bodies are read with `read1` (returns what one `recv` brought) and counted, so the cap holds whatever the
  headers say, and a deadline check runs between reads;
- redirects may only lead to http(s): urllib would also follow one to `ftp://`.

Nothing here retries; callers keep their own retry and politeness rules.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

READ_CHUNK = 1 << 16


class DeadlineExceeded(OSError):
    """The request's overall deadline passed (the socket was shut down under the reader)."""

    reason = "http_deadline"


class TooLarge(OSError):
    """The body is larger than the cap (announced by Content-Length or found while reading)."""

    reason = "too_large"


def is_http_url(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme.lower() in ("http", "https")


class _Watch:
    """Shuts down the sockets of the connections it was given once `deadline` (a monotonic time) has passed."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.fired = False
        self._conns: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, conn) -> None:
        """A connection (its socket is looked up when the deadline passes) or a response being read."""
        with self._lock:
            self._conns.append(conn)
            fired = self.fired
        if fired:
            self._shut(conn)

    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self.deadline

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            conns = list(self._conns)
        for conn in conns:
            self._shut(conn)

    @staticmethod
    def _shut(conn) -> None:
        if isinstance(conn, http.client.HTTPConnection):
            sock = conn.sock
        else:  # urllib drops the connection's socket once the headers are in; the response reads through this
            sock = getattr(getattr(getattr(conn, "fp", None), "raw", None), "_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: nothing left to unblock

    def cancel(self) -> None:
        self._timer.cancel()


class _Handler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """urllib's own HTTP(S) handling, with each connection handed to the watchdog as it is made."""

    def __init__(self, watch: _Watch):
        urllib.request.HTTPHandler.__init__(self)
        urllib.request.HTTPSHandler.__init__(self)
        self.watch = watch

    def _tracked(self, cls):
        def make(*args, **kwargs):
            conn = cls(*args, **kwargs)
            self.watch.add(conn)
            return conn
        return make

    def http_open(self, req):
        return self.do_open(self._tracked(http.client.HTTPConnection), req)

    def https_open(self, req):
        return self.do_open(self._tracked(http.client.HTTPSConnection), req, context=self._context)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not is_http_url(urllib.parse.urljoin(req.full_url, newurl)):
            raise urllib.error.HTTPError(req.full_url, code, f"redirect to a non-HTTP URL refused: {newurl}",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def urlopen_bounded(req: urllib.request.Request | str, timeout: float, deadline: float):
    """`urlopen` for an http(s) URL under an overall deadline (monotonic time) -> (response, watch).

    The caller closes the response and cancels the watch. Raises `DeadlineExceeded` when the deadline cuts the
    request short, urllib's errors otherwise.
    """
    url = req.full_url if isinstance(req, urllib.request.Request) else req
    if not is_http_url(url):
        raise ValueError(f"{url}: only http(s) URLs are fetched")
    watch = _Watch(deadline)
    opener = urllib.request.build_opener(_Handler(watch), _HttpOnlyRedirects())
    try:
        response = opener.open(req, timeout=max(0.001, min(timeout, deadline - time.monotonic())))
        watch.add(response)
        return response, watch
    except (OSError, http.client.HTTPException) as err:
        watch.cancel()
        if watch.expired() and not isinstance(err, urllib.error.HTTPError):
            raise DeadlineExceeded(f"{url}: no answer before the deadline") from None
        raise


@contextmanager
def open_url(req: urllib.request.Request | str, timeout: float, deadline: float):
    """`urlopen_bounded` as a context: yields (response, watch), closes and cancels on the way out."""
    response, watch = urlopen_bounded(req, timeout, deadline)
    try:
        with response:
            yield response, watch
    finally:
        watch.cancel()


def read_capped(response, cap: int, watch: _Watch, url: str = "") -> bytes:
    """The whole body, refusing more than ``cap`` bytes and stopping at the deadline."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > cap:
        raise TooLarge(f"{url}: Content-Length {int(length):,} is over the cap of {cap:,} bytes")
    body = io.BytesIO()  # its getvalue() hands over the buffer: no second copy of a body near the cap
    size = 0
    while True:
        try:
            chunk = response.read1(READ_CHUNK)
        except (OSError, http.client.HTTPException):
            if watch.expired():
                raise DeadlineExceeded(f"{url}: body not complete before the deadline") from None
            raise
        if watch.expired():
            raise DeadlineExceeded(f"{url}: body not complete before the deadline")
        if not chunk:
            if getattr(response, "length", None):  # http.client reads a short body as a normal end
                raise http.client.IncompleteRead(b"", response.length)
            break
        size += len(chunk)
        if size > cap:
            raise TooLarge(f"{url}: body over the cap of {cap:,} bytes")
        body.write(chunk)
    return body.getvalue()
