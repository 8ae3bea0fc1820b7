"""HTML pages out of Common Crawl WARC files, streamed over plain HTTPS (no AWS account) or read locally.

A crawl is ~90,000 gzipped WARC files of ~1 GB each; a build task reads one of them start to end. Three things
make that robust enough to run for days:

- the HTTP stream resumes a dropped connection with a byte-range request from the last byte received, so a
  reset 900 MB into a file costs one request, not the file (and never a silently short read: the bytes
  received are checked against Content-Length);
- damage inside a WARC (a truncated gzip member, malformed headers, a negative, hexadecimal or missing
  Content-Length, a record shorter or longer than it says) costs only what is damaged: records before it are
  yielded, reading goes on at the next record start after it, the damage is counted and named in one log line;
- bodies are decoded by BOM, then the declared charset (HTTP header, then `<meta>`; text charsets only, so a
  page declaring `base64` cannot make the decoder fail), then UTF-8, and only then by a flagged fallback, so a
  mislabelled page still becomes text and the output says it was guessed.

warcio parses the records; this module only adds the transport, the record selection and the decoding.
Not fastwarc, though it parses ~3x faster: it hands back the compressed bytes of a `Content-Encoding: gzip` body
and stops the whole file at a record whose Content-Length lies (bench/warc_read.py shows both on real files).
"""

from __future__ import annotations

import codecs
import contextlib
import http.client
import io
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from proofpile.documents import SOURCE, SUBSET, URL, loggable, printable, stable_id
from proofpile.errors import ProofpileError
from proofpile.failed_inputs import TaskFailures
from proofpile.redact import redact_text, redact_url
from proofpile.sources import http_limits

DEFAULT_BASE_URL = "https://data.commoncrawl.org/"
CRAWL_ID = re.compile(r"CC-MAIN-\d{4}-\d{2}")
HTML_TYPES = ("text/html", "application/xhtml+xml")
#: Common Crawl itself truncates payloads at 1 MiB; anything far above is not a page worth parsing
DEFAULT_MAX_BODY_BYTES = 5 * 2**20
_USER_AGENT = "proofpile (+https://github.com/proofpile; Common Crawl WARC reader)"
_READ_BLOCK = 1 << 20
#: a whole WARC file over HTTP: Common Crawl's are ~1 GB, so hours and 8 GiB are far from a real one
DEFAULT_DEADLINE = 3 * 3600.0
DEFAULT_MAX_FILE_BYTES = 8 * 2**30
#: a crawl's warc.paths.gz is ~2 MB (~13 MB unpacked)
MAX_PATHS_LIST_BYTES = 256 * 2**20


class WarcListError(ProofpileError, RuntimeError):
    """The list of WARC files could not be read; one line naming where it was looked for."""


# ---- transport ---------------------------------------------------------------------------------------------


def _is_http(location: str) -> bool:
    return location.startswith(("http://", "https://"))


class ResumableHTTPStream(io.RawIOBase):
    """A read-only file over an HTTP(S) URL that survives dropped connections.

    urllib's response returns 0 bytes (not an error) when the peer closes early on a response with a
    Content-Length, so a naive reader would take a reset for the end of the file. Here the position is tracked
    and compared with the announced size; a short read, a reset or a timeout reopens the URL with
    `Range: bytes=<pos>-` after an exponential backoff, up to `retries` times in a row. A server that ignores
    Range (200 instead of 206) is handled by discarding the bytes already delivered.
    """

    def __init__(self, url: str, retries: int = 5, timeout: float = 60.0, backoff: float = 1.0,
                 deadline: float = DEFAULT_DEADLINE, max_bytes: int = DEFAULT_MAX_FILE_BYTES):
        super().__init__()
        self.url = url
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.pos = 0
        self.size: int | None = None
        self.resumes = 0  # reconnections after the first byte had arrived
        self.retried = 0  # failed attempts of any kind
        self.gave_up = False  # the network or the server failed through every retry: worth a later run
        self._response: http.client.HTTPResponse | None = None
        # the whole file, resumes included, within `deadline` seconds and `max_bytes` bytes: a server that
        # drips a byte at a time or never stops sending cannot hold a task forever
        self.deadline, self.max_bytes = deadline, max_bytes
        self._deadline_at: float | None = None
        self._watch = None
        self.limit_hit: str | None = None  # "deadline" or "too_large" once a limit stopped the read

    def readable(self) -> bool:
        return True

    def _connect(self) -> None:
        headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        if self.pos:
            headers["Range"] = f"bytes={self.pos}-"
        if self._deadline_at is None:
            self._deadline_at = time.monotonic() + self.deadline
        response, self._watch = http_limits.urlopen_bounded(urllib.request.Request(self.url, headers=headers),
                                                            self.timeout, self._deadline_at)
        if self.pos and response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != self.pos:
                response.close()
                raise http.client.HTTPException(f"asked for bytes from {self.pos}, got them from {start}")
            self.size = total if total is not None else self.size
        else:
            length = response.headers.get("Content-Length")
            self.size = int(length) if length and length.isdigit() else None
            if self.size is not None and self.size > self.max_bytes:
                response.close()
                raise self._limit("too_large", f"Content-Length {self.size:,} is over {self.max_bytes:,} bytes")
            skip = self.pos  # the server ignored Range: drop what was already delivered
            while skip:
                got = response.read(min(skip, _READ_BLOCK))
                if not got:
                    raise http.client.IncompleteRead(b"", skip)
                skip -= len(got)
        self._response = response

    def _limit(self, which: str, what: str) -> OSError:
        self.limit_hit = which
        return (http_limits.DeadlineExceeded if which == "deadline" else http_limits.TooLarge)(f"{self.url}: {what}")

    def _drop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self._response is not None:
            try:
                self._response.close()
            except Exception:  # noqa: BLE001 - a broken socket may fail to close; it is discarded either way
                pass
            self._response = None

    def readinto(self, buffer) -> int:
        failures = 0
        while True:
            try:
                if self._response is None:
                    self._connect()
                n = self._response.readinto(buffer)
                if self._watch is not None and self._watch.expired():
                    raise self._limit("deadline", f"not read within {self.deadline:g} s (stopped at byte {self.pos})")
                if n == 0 and len(buffer) and self.size is not None and self.pos < self.size:
                    raise http.client.IncompleteRead(b"", self.size - self.pos)
                self.pos += n
                if self.pos > self.max_bytes:
                    raise self._limit("too_large", f"more than {self.max_bytes:,} bytes")
                return n
            except (http_limits.DeadlineExceeded, http_limits.TooLarge) as err:
                self._drop()
                self.limit_hit = self.limit_hit or ("deadline" if isinstance(err, http_limits.DeadlineExceeded)
                                                    else "too_large")
                raise
            except urllib.error.HTTPError as err:
                self._drop()
                if err.code < 500 and err.code not in (408, 429):
                    raise OSError(f"{redact_url(self.url)}: HTTP {err.code} {err.reason}") from None
                failure = err
            except (OSError, http.client.HTTPException) as err:
                expired = self._watch is not None and self._watch.expired()
                self._drop()
                if expired:  # the watchdog shut the socket: not a network failure worth a retry
                    raise self._limit("deadline", f"not read within {self.deadline:g} s (stopped at byte {self.pos})")
                failure = err
            failures += 1
            self.retried += 1
            if failures > self.retries:
                self.gave_up = True
                raise OSError(f"{redact_url(self.url)}: gave up at byte {self.pos} after {failures} attempts: "
                              f"{redact_text(str(failure))}") from None
            if self.pos:
                self.resumes += 1
            time.sleep(self.backoff * 2 ** (failures - 1))

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Moves by reconnecting with a Range request (only when the position changes: `tell` is a seek)."""
        target = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        if target is None:
            raise OSError(f"{self.url}: size unknown, cannot seek from the end")
        target += offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target != self.pos:
            self._drop()
            self.pos = target
        return self.pos

    def close(self) -> None:
        self._drop()
        super().close()


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    match = re.match(r"bytes\s+(\d+)-\d+/(\d+|\*)", value or "")
    if not match:
        return None, None
    return int(match.group(1)), (int(match.group(2)) if match.group(2) != "*" else None)


def open_location(location: str, retries: int = 5, timeout: float = 60.0, backoff: float = 1.0,
                  deadline: float = DEFAULT_DEADLINE, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> BinaryIO:
    """A binary stream over a local path, an HTTP(S) URL (resumable, with a deadline and a size cap) or any
    other fsspec URL."""
    if _is_http(location):
        return io.BufferedReader(ResumableHTTPStream(location, retries, timeout, backoff, deadline, max_bytes),
                                 buffer_size=_READ_BLOCK)
    if "://" in location:
        import fsspec

        return fsspec.open(location, "rb").open()
    return open(location, "rb")


# ---- which files ---------------------------------------------------------------------------------------------


def paths_list_url(crawl: str, base_url: str = DEFAULT_BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/crawl-data/{crawl}/warc.paths.gz"


def _resolve(line: str, base_url: str, remote: bool = False) -> str:
    if "://" in line or (line.startswith("/") and not remote):
        return line  # a remote list's `/path` is a path on its base URL, never a local file
    return f"{base_url.rstrip('/')}/{line.lstrip('/')}"


def allowed_schemes(list_location: str | None) -> tuple[str, ...] | None:
    """The schemes a WARC list at ``list_location`` may name: http(s) only for a list a server sent.

    A local list is the user's own and may name anything; a remote one must not make a task read a local file
    (`/dev/zero`, `file:///...`) or another scheme.
    """
    return ("http", "https") if list_location and _is_http(list_location) else None


def read_paths_list(location: str, base_url: str = DEFAULT_BASE_URL, retries: int = 5, timeout: float = 60.0,
                    backoff: float = 1.0) -> list[str]:
    """WARC locations listed in a `warc.paths(.gz)` file: one per line, relative to `base_url` unless absolute.

    The list itself is read up to `MAX_PATHS_LIST_BYTES` (a crawl's is a few MB); a remote list's entries are
    resolved on `base_url`, and those of another scheme are refused where they are read (`allowed_schemes`).
    """
    try:
        with open_location(location, retries, timeout, backoff, max_bytes=MAX_PATHS_LIST_BYTES) as f:
            raw = f.read(MAX_PATHS_LIST_BYTES + 1)
    except (OSError, ValueError) as err:
        raise WarcListError(f"{location}: cannot read the WARC paths list: {err}") from None
    if len(raw) > MAX_PATHS_LIST_BYTES:
        raise WarcListError(f"{location}: WARC paths list over {MAX_PATHS_LIST_BYTES:,} bytes; refused")
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip_capped(raw, location)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WarcListError(f"{location}: not a text list of WARC paths") from None
    lines = [ln.strip() for ln in text.splitlines()]
    remote = allowed_schemes(location) is not None
    return [_resolve(ln, base_url, remote) for ln in lines if ln and not ln.startswith("#")]


def _gunzip_capped(data: bytes, location: str) -> bytes:
    """gzip.decompress (every member), refusing more than MAX_PATHS_LIST_BYTES of output."""
    out, size = [], 0
    try:
        while data:
            d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            piece = d.decompress(data, MAX_PATHS_LIST_BYTES + 1 - size)
            size += len(piece)
            out.append(piece)
            if size > MAX_PATHS_LIST_BYTES:
                raise WarcListError(f"{location}: WARC paths list over {MAX_PATHS_LIST_BYTES:,} bytes unpacked; refused")
            if not d.eof:
                raise EOFError("compressed data ended before the end-of-stream marker")
            data = d.unused_data
    except (zlib.error, EOFError) as err:
        raise WarcListError(f"{location}: damaged gzip: {err}") from None
    return b"".join(out)


def list_warc_files(files: list[str] = (), paths_file: str | None = None, crawl: str | None = None,
                    base_url: str = DEFAULT_BASE_URL, max_files: int | None = None, **http) -> list[str]:
    """The WARC files of a build, in order: explicit `files`, else those in `paths_file`, else the crawl's list."""
    if files:
        found = list(files)
    elif paths_file:
        found = read_paths_list(paths_file, base_url, **http)
    elif crawl:
        found = read_paths_list(paths_list_url(crawl, base_url), base_url, **http)
    else:
        raise WarcListError("commoncrawl: set a crawl id (--crawl CC-MAIN-2023-06), a paths_file or files")
    if not found:
        raise WarcListError(f"commoncrawl: the WARC list {paths_file or crawl or ''} is empty")
    return found[:max_files] if max_files else found


def crawl_of(location: str, default: str | None = None) -> str:
    match = CRAWL_ID.search(location)
    return match.group(0) if match else (default or "")


# ---- decoding ------------------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
#: labels browsers read as a superset (WHATWG Encoding Standard); decoding by the narrow one fails on real pages
_SUPERSETS = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252",
              "us-ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
              "shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "euc-kr": "cp949", "big5": "big5hkscs",
              "iso-8859-9": "cp1254", "tis-620": "cp874", "windows-874": "cp874"}


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str
    fallback: bool  # no declaration decoded it cleanly: the charset was guessed


#: Python codecs that decode bytes to str but are no web charset: escape processors and IDNA, which a page
#: author could name to have the body rewritten (or the decoder fail) instead of read
_NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})


def _codec(label: str | None) -> str | None:
    """The Python codec for a declared charset label, or None when it is unknown or not a text charset.

    `codecs.lookup` also knows bytes-to-bytes and str-to-str codecs (`base64`, `zlib`, `hex`, `rot13`, `uu`):
    `bytes.decode` refuses them with a LookupError, so a page declaring one must be read as undeclared.
    """
    if not label:
        return None
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):  # ValueError: a label with a NUL byte
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("_", "-") in _NOT_CHARSETS:
        return None
    return info.name


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The charset the server (Content-Type) or the page (`<meta>`, first 4 KB) declares, if Python knows it."""
    match = _HEADER_CHARSET.search(content_type or "")
    codec = _codec(match.group(1)) if match else None
    if codec is None:
        meta = _META_CHARSET.search(body[:4096])
        codec = _codec(meta.group(1).decode("ascii", "replace")) if meta else None
    return codec


def decode_body(body: bytes, content_type: str | None = None) -> Decoded:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = body[len(bom):].decode(codec, "replace")
            return Decoded(text, codec, "\ufffd" in text)
    declared = declared_charset(body, content_type)
    for codec in dict.fromkeys(c for c in (declared, "utf-8") if c):
        try:
            return Decoded(body.decode(codec), codec, False)
        except UnicodeError:  # UnicodeDecodeError, or a codec's own refusal
            continue
    if declared:  # a few bad bytes in a declared page: trust the declaration, replace the bad bytes
        try:
            return Decoded(body.decode(declared, "replace"), declared, True)
        except UnicodeError:  # a codec without "replace" support: read the page as undeclared
            pass
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    if bad <= len(_NON_ASCII.findall(text)) - bad:  # mostly valid UTF-8 with a few stray bytes
        return Decoded(text, "utf-8", True)
    # undeclared and not UTF-8: the legacy Western default browsers use; it maps every byte
    return Decoded(body.decode("cp1252", "replace"), "cp1252", True)


# ---- records -------------------------------------------------------------------------------------------------


def _one_line(err: BaseException) -> str:
    text = (str(err).splitlines() or [""])[0]
    return f"{type(err).__name__}: " + "".join(c if c.isprintable() else "?" for c in text)[:200]


def _read_bounded(stream, limit: int) -> bytes:
    """At most `limit` + 1 bytes: enough to know a body is too big without holding all of it."""
    parts, size = [], 0
    while size <= limit:
        chunk = stream.read(min(_READ_BLOCK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


_GZIP_MEMBER = b"\x1f\x8b\x08"  # a gzip member using deflate: how every record of a .warc.gz begins
_PLAIN_RECORD = b"\nWARC/1."  # the version line of a record in an uncompressed WARC, after the blank lines
_DECIMAL = re.compile(r"\s*[0-9]{1,18}\s*")
_VERSION_LINE = re.compile(rb"WARC/1\.\d{1,3}\r?\n")


@dataclass(frozen=True)
class _Lost:
    """Where warcio could not go on: the error, the byte offset of the record to look past, and the counter
    to add for that record (None when it was counted already)."""

    error: Exception
    offset: int
    reason: str | None


def _starts_with_gzip(stream) -> bool | None:
    """Whether the file is gzipped (records are then gzip members), None when that cannot be told unread."""
    try:
        if hasattr(stream, "peek"):
            return stream.peek(2)[:2] == b"\x1f\x8b"
        if _seekable(stream):
            head = stream.read(2)
            stream.seek(0)
            return head == b"\x1f\x8b"
    except (io.UnsupportedOperation, ValueError):
        pass  # a transport failure (OSError) is the file's failure: it propagates to be counted and retried
    return None


def _seekable(stream) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _record_begins(stream, at: int, gzipped: bool) -> bool:
    """Whether a WARC record (in its own gzip member when `gzipped`) really starts at byte `at`."""
    stream.seek(at)
    if not gzipped:
        return _VERSION_LINE.match(stream.read(16)) is not None
    try:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(stream.read(4096), 16)
    except zlib.error:
        return False
    return head.startswith(b"WARC/1.") or (len(head) < 7 and b"WARC/1.".startswith(head) and head != b"")


def next_record_start(stream, after: int, gzipped: bool) -> int | None:
    """The byte offset of the first record start past `after` (where an unreadable record began), or None.

    warcio has no way to go on after a record it cannot parse, so this looks for the next one the way a
    reader of damaged archives must: a gzip member header that inflates to a WARC version line (Common
    Crawl writes one member per record), or a `WARC/1.x` line after a newline in an uncompressed file. An
    uncompressed file is ambiguous here (a page may quote a WARC record), which is one more reason crawls
    are gzipped per record. Linear in the bytes skipped; a candidate that does not check out is passed by.
    """
    marker, lead = (_GZIP_MEMBER, 0) if gzipped else (_PLAIN_RECORD, 1)
    pos = after + 1 - lead  # first byte a marker may start at
    while True:
        stream.seek(pos)
        block = stream.read(_READ_BLOCK)
        i = block.find(marker)
        while i >= 0:
            if _record_begins(stream, pos + i + lead, gzipped):
                return pos + i + lead
            i = block.find(marker, i + 1)
        if len(block) < _READ_BLOCK:
            return None
        pos += len(block) - len(marker) + 1


class CommonCrawlReader(PipelineStep):
    """One Document per HTML `response` record of the WARC files, raw HTML as text.

    Files are split over tasks as `files[rank::world_size]` (a build runs one task per file). Metadata:
    url, crawl, warc_date, record_id, warc_file, charset (+ charset_fallback when guessed, warc_truncated when
    the crawler cut the payload).
    """

    type = "📖 - READER"
    name = "common crawl"

    def __init__(
        self,
        files: list[str],
        crawl: str | None = None,
        subset: str = "open-web-math",
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        retries: int = 5,
        timeout: float = 60.0,
        backoff: float = 1.0,
        limit: int = -1,
        deadline: float = DEFAULT_DEADLINE,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        only_schemes: tuple[str, ...] | None = None,
        failed_dir: str | None = None,
    ):
        """`failed_dir`: where each task lists the WARC files the network or server failed through every
        retry, for the next run to read again (`proofpile.failed_inputs`)."""
        super().__init__()
        self.files = [str(f) for f in files]
        self.crawl = crawl
        self.subset = subset
        self.max_body_bytes = max_body_bytes
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.limit = limit
        self.deadline, self.max_file_bytes = deadline, max_file_bytes  # per WARC file read over HTTP
        # set when the files came from a remote list (`allowed_schemes`): anything else in it is refused
        self.only_schemes = tuple(only_schemes) if only_schemes else None
        self.failed_dir = failed_dir
        self._failures: TaskFailures | None = None

    def _document(self, record, location: str, crawl: str) -> Document | None:
        """The page in `record`, or None with the reason counted; reads the record's body."""
        from datatrove.utils.logging import logger

        headers = record.rec_headers
        url = headers.get_header("WARC-Target-URI") or ""
        http = record.http_headers
        if http is None:
            self.stat_update("skipped_bad_record")
            logger.warning(f"{loggable(location)}: {loggable(url) or 'record'}: response without HTTP headers; skipped")
            return None
        content_type = http.get_header("Content-Type") or headers.get_header("WARC-Identified-Payload-Type") or ""
        if content_type.split(";", 1)[0].strip().lower() not in HTML_TYPES:
            self.stat_update("skipped_not_html")
            return None
        status = http.get_statuscode() or ""
        if not status.startswith("2"):
            self.stat_update("skipped_http_status")
            return None
        body = _read_bounded(record.content_stream(), self.max_body_bytes)
        if len(body) > self.max_body_bytes:
            self.stat_update("skipped_too_large")
            logger.warning(f"{loggable(location)}: {loggable(url)}: body over {self.max_body_bytes:,} bytes; skipped")
            return None
        if record.raw_stream.limit > 0:  # the file ended (or the next record began) before Content-Length
            self.stat_update("skipped_record_truncated")
            logger.warning(f"{loggable(location)}: {loggable(url)}: record {record.raw_stream.limit:,} bytes shorter than its "
                           f"Content-Length (truncated file or wrong length); skipped")
            return None
        if not body.strip():
            self.stat_update("skipped_empty_body")
            return None
        decoded = decode_body(body, content_type)
        record_id = headers.get_header("WARC-Record-ID") or ""
        meta = {
            SOURCE: "common-crawl",
            SUBSET: self.subset,
            URL: redact_url(url),  # the page's public address; a signed or credentialed one loses the secret
            "crawl": crawl,
            "warc_date": headers.get_header("WARC-Date") or "",
            "record_id": record_id,
            "warc_file": location,
            "charset": decoded.charset,
        }
        if decoded.fallback:
            meta["charset_fallback"] = True
            self.stat_update("charset_fallback")
        if headers.get_header("WARC-Truncated"):
            meta["warc_truncated"] = headers.get_header("WARC-Truncated")
        return Document(text=decoded.text, id=stable_id("common-crawl", record_id or f"{location}#{url}"),
                        metadata=meta)

    def read_file(self, location: str) -> Iterator[Document]:
        """Pages of one WARC file; a bad record costs that record, damage the file cannot recover from ends
        the file (counted, logged), never the task.

        warcio's iterator ends at the first record it cannot parse (a negative or non-decimal Content-Length
        leaves it reading the body as the next header). The stream is then moved to the next record start
        (`next_record_start`) and a new iterator reads on from there.
        """
        from datatrove.utils.logging import logger

        if self.only_schemes and urllib.parse.urlsplit(location).scheme.lower() not in self.only_schemes:
            logger.warning(f"{printable(location)[:300]}: named by a remote WARC list but not an "
                           f"{'/'.join(self.only_schemes)} URL; refused")
            self.stat_update("file_refused_scheme")
            return
        crawl = crawl_of(location, self.crawl)
        stream, n = None, 0
        # opened by its real name, recorded by a printable one without credentials
        source, location = location, printable(redact_url(location))
        if location != source:
            logger.warning(f"{loggable(location)}: file name is not UTF-8; recorded with \\x escapes")
            self.stat_update("file_name_not_utf8")
        try:
            stream = open_location(source, self.retries, self.timeout, self.backoff, self.deadline,
                                   self.max_file_bytes)
            gzipped = _starts_with_gzip(stream)
            while True:
                lost = None
                for item in self._records(stream, location, crawl, plain=gzipped is False):
                    if isinstance(item, Document):
                        yield item
                    elif isinstance(item, _Lost):
                        lost = item
                    else:
                        n += item
                if lost is None:
                    break
                if isinstance(lost.error, OSError) or gzipped is None or not _seekable(stream):
                    raise lost.error  # the transport gave up, or there is no way to look further on
                resume = next_record_start(stream, lost.offset, gzipped)
                if resume is None:
                    raise lost.error  # nothing readable after the damage
                if lost.reason:
                    self.stat_update(lost.reason)
                logger.warning(f"{loggable(location)}: record at byte {lost.offset:,} unreadable ({_one_line(lost.error)}); "
                               f"reading on at the next record, byte {resume:,}")
                stream.seek(resume)
            self.stat_update("files_read")
        except Exception as err:  # damaged or unreachable: keep what was read, go on with the next file
            logger.warning(f"{loggable(location)}: {'damaged' if n else 'unreadable'} after {n} records "
                           f"({_one_line(err)}); rest of file skipped")
            self.stat_update("file_damaged" if n else "file_failed")
        finally:
            raw = getattr(stream, "raw", None)
            if isinstance(raw, ResumableHTTPStream):
                self.stat_update("http_resumes", value=raw.resumes)
                self.stat_update("http_retries", value=raw.retried)
                if raw.limit_hit:  # "file_deadline" or "file_too_large": the file stopped there, counted
                    self.stat_update(f"file_{raw.limit_hit}")
                if raw.gave_up and self._failures is not None:  # the task is run again on resume
                    self._failures.add(location)
            if stream is not None:
                stream.close()

    def _records(self, stream, location: str, crawl: str, plain: bool) -> Iterator[Document | int | _Lost]:
        """From the stream's position: pages, 1 per record read, and last, when warcio cannot go on, a `_Lost`
        naming the record to look past.

        Each page is held back until the next record has been found: only then does warcio know whether the
        page's record ended where its Content-Length said (it counts a mismatch in `err_count`), and a page cut
        short or padded with the next record's bytes is dropped rather than passed on. In an uncompressed file
        such a record may have swallowed the start of the next one, so reading goes on from just past where
        the bad record began rather than from where warcio stopped (in a `.warc.gz` the gzip member bounds
        the damage and warcio goes on by itself).
        """
        from datatrove.utils.logging import logger
        from warcio.archiveiterator import ArchiveIterator

        archive = ArchiveIterator(stream, check_digests=False)
        records = iter(archive)
        pending, previous = None, None  # the held page; (record, offset) of the last record read
        while True:
            errors, failure, record, start = archive.err_count, None, None, archive.offset
            try:
                # warcio prints a multi-line note on stderr for a wrong length; we count and log it instead
                with contextlib.redirect_stderr(io.StringIO()):
                    record = next(records)
            except StopIteration:
                pass
            except Exception as err:  # noqa: BLE001 - handled below, after the held page is settled
                failure = err
            wrong_end = previous is not None and (archive.err_count > errors
                                                  or getattr(previous[0].raw_stream, "limit", 0) > 0)
            if pending is not None:
                if wrong_end:
                    self.stat_update("skipped_bad_content_length")
                    logger.warning(f"{loggable(location)}: {loggable(pending.metadata[URL])}: record does not end at its "
                                   f"Content-Length; skipped")
                else:
                    yield pending
            if wrong_end and plain:
                yield _Lost(ValueError("a record does not end at its Content-Length"), previous[1],
                            None if pending is not None else "skipped_bad_content_length")
                return
            pending = None
            if failure is not None:
                # warcio fails either parsing the next record (which starts at archive.offset) or finishing the
                # previous one (then archive.offset was not moved on from where that one began)
                yield _Lost(failure, max(archive.offset, start), "skipped_unparseable_record")
                return
            if record is None:
                return
            yield 1
            previous = (record, archive.offset)  # warcio has just set offset to where this record begins
            length = record.rec_headers.get_header("Content-Length")
            if record.format == "warc" and not _DECIMAL.fullmatch(length or ""):
                # warcio reads a record with a negative or non-decimal length as empty and its block as the next
                # header, and one without a length as running to the end of the file: look for the next record
                yield _Lost(ValueError(f"Content-Length {printable(str(length))[:40]!r} is not a byte count"),
                            archive.offset, "skipped_bad_content_length")
                return
            if record.rec_type != "response":
                self.stat_update("records_other")
                continue
            try:
                with self.track_time():
                    pending = self._document(record, location, crawl)
            except Exception as err:  # noqa: BLE001 - anything one hostile record can raise costs that record
                url = printable(record.rec_headers.get_header("WARC-Target-URI") or "record")
                logger.warning(f"{loggable(location)}: {loggable(url)}: unreadable ({_one_line(err)}); skipped")
                self.stat_update("skipped_record_error")

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        produced = 0
        self._failures = TaskFailures(self, self.failed_dir, rank)
        try:
            for location in self.files[rank::world_size]:
                for doc in self.read_file(location):
                    if 0 <= self.limit <= produced:
                        return
                    self.stat_update("documents")
                    self.update_doc_stats(doc)
                    produced += 1
                    yield doc
        finally:
            self._failures.close()
