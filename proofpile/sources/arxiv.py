"""arXiv LaTeX sources: bulk archives, per-paper e-prints over HTTPS, local files and directories.

arXiv ships sources as `arXiv_src_YYMM_NNN.tar` (S3, requester-pays) whose members `YYMM/<id>.gz` are each a
gzipped tar of a project, a gzipped single `.tex`, or a PDF-only submission; `https://arxiv.org/e-print/<id>`
returns the same per-paper bytes. Authors' archives are untrusted input, so every paper is unpacked in memory
by `unpack_paper` under caps (uncompressed size, compression ratio, file count), member names that escape the
project (`..`, absolute), links and devices are ignored, and each skip is counted with its reason. Nothing is
ever written to disk, so there is no path to traverse.

The reader only unpacks: it attaches a paper's text files to its document as `Media` and leaves turning them
into clean text to `proofpile.extract.latex.LatexCleaner`, so the same papers can be cleaned two ways.
"""

from __future__ import annotations

import fnmatch
import http.client
import io
import posixpath
import re
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datatrove.data import Document, DocumentsPipeline, Media, MediaType
from datatrove.pipeline.base import PipelineStep

from proofpile.documents import LANG, LICENSE, SOURCE, SUBSET, URL, loggable, printable, stable_id
from proofpile.failed_inputs import TaskFailures
from proofpile.redact import redact_url
from proofpile.sources.arxiv_versions import superseded_papers

# files a LaTeX build reads as text; everything else in a submission (figures, PDFs, data) is not kept
TEXT_SUFFIXES = frozenset(
    [".tex", ".ltx", ".latex", ".bbl", ".sty", ".cls", ".def", ".cfg", ".clo", ".tikz", ".pgf", ".pstex_t", ".inc", ".bst", ".txt"]
)
LANG_LATEX = "latex"  # not "tex": AlgebraicStack's code rules for The Stack's TeX files must not apply

_NEW_ID = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
_OLD_ID = re.compile(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?)(\d{7})(v\d+)?$")
_STRIP_SUFFIXES = (".tar.gz", ".tgz", ".gz", ".tar", ".tex", ".pdf")


@dataclass(frozen=True)
class Limits:
    max_paper_bytes: int = 256 * 2**20  # uncompressed, all members together
    max_ratio: float = 100.0  # uncompressed / compressed, checked once past ratio_floor_bytes
    ratio_floor_bytes: int = 2**20
    max_files: int = 10_000
    max_file_bytes: int = 32 * 2**20


@dataclass
class Unpacked:
    files: dict[str, bytes] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (member, reason)
    not_text: int = 0  # members kept out because a LaTeX build does not read them as text (figures, PDFs)
    names_escaped: int = 0  # member names that were not UTF-8, kept with \xNN escapes
    reason: str | None = None  # why the whole paper is skipped


@dataclass(frozen=True)
class PaperName:
    arxiv_id: str  # "2301.00001" or "math/0601001"
    version: str | None
    yymm: str


def parse_paper_name(name: str) -> PaperName | None:
    """`2301/2301.00001v2.gz` -> 2301.00001, v2, 2301; `math0601001.gz` or `math/0601001` -> math/0601001, 0601."""
    if m := re.match(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?)/(\d{7})(v\d+)?$", name):  # an old-style id as written
        return PaperName(f"{m.group(1)}/{m.group(2)}", m.group(3), m.group(2)[:4])
    base = posixpath.basename(name.rstrip("/"))
    for suf in _STRIP_SUFFIXES:
        if base.endswith(suf):
            base = base[: -len(suf)]
            break
    if m := _NEW_ID.match(base):
        return PaperName(m.group(1), m.group(2), m.group(1)[:4])
    if m := _OLD_ID.match(base):
        return PaperName(f"{m.group(1)}/{m.group(2)}", m.group(3), m.group(2)[:4])
    return None


# ---------------------------------------------------------------------------------------------------- unpacking
def _bounded_gunzip(data: bytes, limits: Limits) -> tuple[bytes | None, str | None]:
    """Decompress at most max_paper_bytes; a bomb is stopped while inflating, not after."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out, total, view = [], 0, memoryview(data)
    step = 1 << 16
    try:
        for i in range(0, len(data), step):
            chunk = view[i : i + step]
            while chunk:
                piece = d.decompress(chunk, 1 << 20)
                chunk = d.unconsumed_tail
                total += len(piece)
                out.append(piece)
                if total > limits.max_paper_bytes:
                    return None, "too_large"
                if total > limits.ratio_floor_bytes and total > limits.max_ratio * (i + step):
                    return None, "compression_ratio"
                if d.eof:
                    break
            if d.eof:
                break
    except zlib.error:
        return None, "corrupt_gzip"
    if not d.eof:
        return None, "truncated_gzip"
    raw = b"".join(out)
    if len(raw) > limits.ratio_floor_bytes and len(raw) > limits.max_ratio * len(data):
        return None, "compression_ratio"
    return raw, None


def _is_tar(raw: bytes) -> bool:
    if len(raw) >= 512 and raw[257:262] == b"ustar":
        return True
    if len(raw) >= 512 and len(raw) % 512 == 0:
        try:
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
                tf.next()
            return True
        except (tarfile.TarError, EOFError):
            return False
    return False


def _safe_name(name: str) -> str | None:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    if not name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = name.split("/")
    if ".." in parts:
        return None
    return "/".join(p for p in parts if p not in ("", "."))


def _unsafe_member(m: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be read (its reason name), or None for a regular file with a safe name."""
    if _safe_name(m.name) is None:
        return "unsafe_path"
    if m.issym() or m.islnk():
        return "link"
    if m.ischr() or m.isblk() or m.isfifo() or m.isdev():
        return "device"
    return None if m.isfile() else "not_a_file"


def _is_text_name(name: str) -> bool:
    base = posixpath.basename(name)
    suffix = posixpath.splitext(base)[1].lower()
    return suffix in TEXT_SUFFIXES or (suffix == "" and not base.startswith("."))


def unpack_paper(data: bytes, limits: Limits = Limits()) -> Unpacked:
    """One paper's e-print bytes -> its text files, in memory, with every skipped member and its reason."""
    res = Unpacked()
    if not data:
        res.reason = "empty"
        return res
    raw = data
    if data[:2] == b"\x1f\x8b":
        raw, reason = _bounded_gunzip(data, limits)
        if raw is None:
            res.reason = reason
            return res
    elif len(data) > limits.max_paper_bytes:
        res.reason = "too_large"
        return res
    if not raw.strip(b"\x00 \t\r\n"):  # nothing, or a tar of nothing (only its zero end blocks)
        res.reason = "empty_archive" if raw and len(raw) % 512 == 0 else "empty"
        return res
    if raw.startswith(b"%PDF"):
        res.reason = "pdf_only"
        return res
    if raw.startswith(b"%!PS"):
        res.reason = "postscript_only"
        return res
    if _is_tar(raw):
        _unpack_tar(raw, limits, res)
        return res
    if raw[:2] == b"\x1f\x8b":
        res.reason = "nested_gzip"
        return res
    head = raw[:65536]
    if b"\\" not in head or b"\x00" in head:
        res.reason = "not_latex"
        return res
    res.files["main.tex"] = raw  # a gzipped single file carries no name; arXiv compiles it as the main file
    return res


def _unpack_tar(raw: bytes, limits: Limits, res: Unpacked) -> None:
    members = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
            for m in tf:
                if m.isdir():
                    continue
                members += 1
                if members > limits.max_files:
                    res.files.clear()
                    res.reason = "too_many_files"
                    return
                shown = printable(m.name)
                res.names_escaped += shown != m.name
                name = _safe_name(shown)
                if (unsafe := _unsafe_member(m)) is not None:
                    res.skipped.append((shown, unsafe))
                elif not _is_text_name(name):
                    res.not_text += 1
                elif m.size > limits.max_file_bytes:
                    res.skipped.append((shown, "file_too_large"))
                elif name in res.files:
                    res.skipped.append((shown, "duplicate"))
                else:
                    f = tf.extractfile(m)
                    res.files[name] = f.read() if f is not None else b""
    except (tarfile.TarError, EOFError, OSError):
        if not res.files:
            res.reason = "corrupt_tar"
        else:
            res.skipped.append(("<rest of archive>", "corrupt_tar"))
        return
    if not res.files:
        res.reason = "empty_archive" if members == 0 else "no_text_files"


# ---------------------------------------------------------------------------------------------------- metadata
class ArxivMetadata:
    """The OAI snapshot's JSON lines (id, categories, license, versions), indexed by id on first use."""

    def __init__(self, path: str):
        self.path = path
        self._index: dict[str, tuple[list[str], str | None, str | None]] | None = None
        self.bad_lines = 0

    @property
    def index(self) -> dict[str, tuple[list[str], str | None, str | None]]:
        if self._index is None:
            from proofpile.jsonl import read_jsonl

            index = {}

            def bad(reason: str) -> None:
                self.bad_lines += 1

            # line by line through the shared reader: one bad byte or a hostile line costs that line
            for _, rec in read_jsonl(self.path, bad, required={"id": (str, int)}):
                try:
                    cats = str(rec.get("categories") or "").split()
                    versions = rec.get("versions") or []
                    last = versions[-1].get("version") if isinstance(versions, list) and versions and isinstance(
                        versions[-1], dict) else None
                    index[str(rec["id"])] = (cats, rec.get("license"), last)
                except (ValueError, KeyError, TypeError, AttributeError):
                    self.bad_lines += 1
            self._index = index
        return self._index

    def get(self, arxiv_id: str):
        return self.index.get(arxiv_id)


def matches(values: list[str], globs: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(v, g) for v in values for g in globs)


# ---------------------------------------------------------------------------------------------------- HTTP
class PoliteFetcher:
    """GETs with a minimum interval between requests and retries with backoff (arXiv asks for one every 3 s).

    Each request is bounded whatever the server does: at most ``max_bytes`` of body (streamed and stopped past
    it, whatever Content-Length claims) and ``deadline`` seconds from its start to its last byte.
    """

    def __init__(self, interval: float = 3.0, retries: int = 3, timeout: float = 60.0,
                 user_agent: str = "proofpile (https://github.com/proofpile)", deadline: float = 300.0,
                 max_bytes: int = Limits.max_paper_bytes):
        self.interval, self.retries, self.timeout, self.user_agent = interval, retries, timeout, user_agent
        self.deadline, self.max_bytes = deadline, max_bytes
        self._last = 0.0

    def _wait(self, seconds: float) -> None:
        delay = self._last + seconds - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._last = time.monotonic()

    def get(self, url: str) -> tuple[bytes | None, str | None]:
        """(body, None) or (None, reason)."""
        from proofpile.sources import http_limits

        if not http_limits.is_http_url(url):
            return None, "not_http_url"
        reason = "http_error"
        for attempt in range(self.retries + 1):
            self._wait(self.interval if attempt == 0 else self.interval * 2**attempt)
            req = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
            try:
                with http_limits.open_url(req, self.timeout, time.monotonic() + self.deadline) as (resp, watch):
                    return http_limits.read_capped(resp, self.max_bytes, watch, url), None
            except (http_limits.DeadlineExceeded, http_limits.TooLarge) as e:
                return None, e.reason  # retrying would cost as much again
            except urllib.error.HTTPError as e:
                reason = f"http_{e.code}"
                if e.code not in (429, 500, 502, 503, 504):
                    return None, reason
                retry_after = e.headers.get("Retry-After", "") if e.headers else ""
                if retry_after.isdigit():
                    self._wait(min(float(retry_after), 600.0))
            except (urllib.error.URLError, OSError, http.client.HTTPException):
                reason = "http_unreachable"
        return None, reason


def _same_site(url: str, template: str) -> bool:
    """An id cannot move a request to another scheme or host than the e-print URL template names."""
    from urllib.parse import urlsplit

    a, b = urlsplit(url), urlsplit(template.replace("{id}", "0"))
    return not b.netloc or (a.scheme, a.netloc) == (b.scheme, b.netloc)  # a bare `{id}` template takes URLs


# ---------------------------------------------------------------------------------------------------- units
@dataclass(frozen=True)
class Unit:
    """One build task's input: a bulk tar, a paper file, an unpacked paper directory, or e-print ids."""

    kind: str  # "bulk" | "paper" | "dir" | "ids"
    path: str = ""
    ids: tuple[str, ...] = ()


def plan_units(paths: list[str], ids: list[str], ids_per_task: int = 100) -> tuple[list[Unit], list[str]]:
    """Input paths (files, directories, fsspec URLs) and e-print ids -> task units, and unusable inputs."""
    units, errors = [], []
    for p in paths:
        if "://" in p:
            units.append(Unit("bulk" if p.endswith(".tar") else "paper", p))
            continue
        path = Path(p)
        if path.is_file():
            units.append(_file_unit(path))
        elif path.is_dir():
            inner = sorted(c for c in path.iterdir() if c.is_file() and not c.name.startswith(".")
                           and (c.suffix in (".tar", ".gz", ".tgz") or parse_paper_name(c.name)))
            if inner:
                units += [_file_unit(c) for c in inner]
            elif any(c.suffix.lower() in (".tex", ".ltx") for c in path.rglob("*") if c.is_file()):
                units.append(Unit("dir", str(path)))
            else:
                errors.append(f"{path}: no arXiv archives, papers or .tex files in this directory")
        else:
            errors.append(f"{path}: not found")
    for k in range(0, len(ids), ids_per_task):
        units.append(Unit("ids", ids=tuple(ids[k : k + ids_per_task])))
    return units, errors


def _file_unit(path: Path) -> Unit:
    return Unit("bulk" if path.name.endswith(".tar") and not parse_paper_name(path.name) else "paper", str(path))


def _stream_size(f) -> int | None:
    """Bytes in a seekable input (local file, s3, most fsspec files), None for a pure stream."""
    try:
        pos = f.tell()
        end = f.seek(0, 2)
        f.seek(pos)
        return end
    except (OSError, ValueError, AttributeError, NotImplementedError):
        return None


_OCTAL_FIELD = re.compile(rb"[ \0]*[0-7]+[ \0]*")


def next_tar_header(raw, offset: int, size: int) -> int | None:
    """Offset of the first block at or after `offset` (rounded up to a block) that is a valid tar header, or None.

    Tar headers sit on 512-byte boundaries and carry a checksum of themselves, so a damaged header or a member
    cut short can be passed over by looking, block by block, for the next header whose checksum holds; the
    cheap octal test on the checksum field keeps `TarInfo.frombuf` off almost every data block."""
    pos = -(-offset // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    chunk_size = 2048 * tarfile.BLOCKSIZE
    while pos + tarfile.BLOCKSIZE <= size:
        raw.seek(pos)
        chunk = raw.read(chunk_size)
        if len(chunk) < tarfile.BLOCKSIZE:
            return None
        for i in range(0, len(chunk) - tarfile.BLOCKSIZE + 1, tarfile.BLOCKSIZE):
            block = chunk[i : i + tarfile.BLOCKSIZE]
            if not _OCTAL_FIELD.fullmatch(block[148:156]):
                continue
            try:
                tarfile.TarInfo.frombuf(block, tarfile.ENCODING, "surrogateescape")
            except tarfile.HeaderError:
                continue
            return pos + i
        pos += len(chunk) // tarfile.BLOCKSIZE * tarfile.BLOCKSIZE
    return None


def _open(path: str):
    import fsspec

    opts = {"requester_pays": True} if path.startswith("s3://") else {}
    try:
        return fsspec.open(path, "rb", **opts).open()
    except ImportError as e:
        raise RuntimeError(f"{path}: reading this URL needs an optional package ({e}); e.g. pip install s3fs") from e


# ---------------------------------------------------------------------------------------------------- reader
class ArxivReader(PipelineStep):
    """One task per `Unit`; yields one document per paper with its text files attached as `Media`."""

    type = "📖 - READER"
    name = "arxiv"

    def __init__(self, units: list[Unit], subset: str = "arxiv", limits: Limits = Limits(),
                 metadata: str | None = None, categories: list[str] | None = None,
                 licenses: list[str] | None = None, eprint_url: str = "https://arxiv.org/e-print/{id}",
                 request_interval: float = 3.0, retries: int = 3, timeout: float = 60.0, deadline: float = 300.0,
                 failed_dir: str | None = None):
        """`failed_dir`: where each task lists the e-prints the network or server failed through every retry,
        for the next run to fetch again (`proofpile.failed_inputs`)."""
        super().__init__()
        self.units = list(units)
        self.subset, self.limits = subset, limits
        self.metadata = ArxivMetadata(metadata) if metadata else None
        self.categories, self.licenses = list(categories or []), list(licenses or [])
        if (self.categories or self.licenses) and self.metadata is None:
            raise ValueError("filtering arXiv by category or license needs the OAI metadata file (metadata=)")
        self.eprint_url = eprint_url
        self.request_interval, self.retries, self.timeout = request_interval, retries, timeout
        self.deadline = deadline  # seconds per e-print request, first byte to last
        self.failed_dir = failed_dir
        self.superseded = superseded_papers(self.units)  # older versions of papers given as files twice

    # -- where the bytes come from
    def _papers(self, unit: Unit) -> Iterator[tuple[str, str, bytes | None, str | None]]:
        """(name, origin, bytes or None, reason when None) per paper in the unit."""
        if unit.kind == "paper":
            with _open(unit.path) as f:
                yield posixpath.basename(unit.path), unit.path, f.read(self.limits.max_paper_bytes + 1), None
        elif unit.kind == "bulk":
            yield from self._bulk(unit.path)
        elif unit.kind == "ids":
            fetcher = PoliteFetcher(self.request_interval, self.retries, self.timeout, deadline=self.deadline,
                                    max_bytes=self.limits.max_paper_bytes)
            for aid in unit.ids:
                url = self.eprint_url.format(id=aid)
                body, reason = fetcher.get(url) if _same_site(url, self.eprint_url) else (None, "bad_id")
                yield aid, url, body, reason
        else:  # an unpacked paper directory: read as if it were a tar of it
            yield from self._directory(Path(unit.path))

    def _bulk(self, path: str) -> Iterator[tuple[str, str, bytes | None, str | None]]:
        """Members of a bulk tar. tarfile ends a stream at the first bad header after the first one without a
        word, so where it stopped is checked: at the end-of-archive zero blocks all is well; otherwise, in a
        seekable archive, reading goes on at the next valid header (`next_tar_header`) and the damage costs
        the members it hit, counted as `archive_damaged` (`archive_corrupt` when nothing follows)."""
        from datatrove.utils.logging import logger

        members, start = 0, 0
        with _open(path) as raw:
            size = _stream_size(raw)
            while start is not None:
                stopped, error = start, None  # where the next header was due; what tarfile raised, if anything
                try:
                    if start:
                        raw.seek(start)
                    with tarfile.open(fileobj=raw, mode="r|") as tf:
                        for m in tf:
                            stopped = start + m.offset
                            if size is not None and start + m.offset_data + m.size > size:
                                # tarfile skips a member in a stream by reading one block at a time, also past
                                # the end: a header claiming a terabyte would keep the task busy for hours
                                raise tarfile.ReadError(f"member {m.name} claims {m.size:,} bytes, past the "
                                                        f"archive's end")
                            if m.isdir():
                                continue
                            members += 1
                            origin = f"{path}:{m.name}"
                            if (unsafe := _unsafe_member(m)) is not None:  # a paper behind it is lost: counted
                                yield m.name, origin, None, unsafe
                                continue
                            if m.size > self.limits.max_paper_bytes:
                                yield m.name, origin, None, "too_large"
                                continue
                            f = tf.extractfile(m)
                            yield m.name, origin, f.read() if f else b"", None
                        stopped = start + tf.offset
                except (tarfile.TarError, EOFError) as e:
                    error = e
                start = None
                if size is None:  # a pure stream cannot be searched: what tarfile said is all there is
                    if error is not None and (members or not isinstance(error, tarfile.ReadError)
                                              or "empty" not in str(error)):
                        logger.warning(f"{loggable(redact_url(path))}: bulk archive unreadable after {members} members: {loggable(str(error))}")
                        self.stat_update("archive_corrupt")
                    break
                raw.seek(stopped)
                block = raw.read(tarfile.BLOCKSIZE)
                if members == 0 and stopped == 0 and not block.strip(b"\0"):
                    break  # an empty file or an empty archive
                if error is None and block and block.count(0) == len(block):
                    break  # the end-of-archive zero blocks: done
                if error is None and not block:  # cut at a member boundary: whatever came after is missing
                    logger.warning(f"{loggable(redact_url(path))}: bulk archive ends after {members} members without its end-of-archive "
                                   f"blocks (truncated?)")
                    self.stat_update("archive_truncated")
                    break
                problem = error or "invalid member header"
                start = next_tar_header(raw, stopped + tarfile.BLOCKSIZE, size)
                if start is None:
                    logger.warning(f"{loggable(redact_url(path))}: bulk archive unreadable after {members} members: {problem}")
                    self.stat_update("archive_corrupt")
                else:
                    logger.warning(f"{loggable(redact_url(path))}: bulk archive damaged at byte {stopped:,} after {members} members "
                                   f"({problem}); reading on at the next member header, byte {start:,}")
                    self.stat_update("archive_damaged")
        if members == 0:
            self.stat_update("archive_empty")

    def _directory(self, root: Path) -> Iterator[tuple[str, str, bytes | None, str | None]]:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for p in sorted(root.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    tf.add(p, arcname=p.relative_to(root).as_posix(), recursive=False)
        yield root.name, str(root), buf.getvalue(), None

    # -- one paper
    def _document(self, name: str, origin: str, data: bytes) -> Document | None:
        pn = parse_paper_name(name)
        if pn is None:
            pn = PaperName(posixpath.basename(name).split(".")[0] or name, None, "")
            self.stat_update("unrecognised_id")
        meta: dict[str, Any] = {SOURCE: "arxiv", SUBSET: self.subset, LANG: LANG_LATEX, "arxiv_id": pn.arxiv_id,
                                "yymm": pn.yymm, "version": pn.version, URL: f"https://arxiv.org/abs/{pn.arxiv_id}",
                                "origin": origin}
        if self.metadata is not None:
            rec = self.metadata.get(pn.arxiv_id)
            if rec is None and (self.categories or self.licenses):
                self.stat_update("skipped_no_metadata")
                return None
            if rec is not None:
                cats, lic, last = rec
                if self.categories and not matches(cats, self.categories):
                    self.stat_update("skipped_category")
                    return None
                if self.licenses and not matches([lic or "none"], self.licenses):
                    self.stat_update("skipped_license")
                    return None
                meta["categories"], meta[LICENSE] = cats, lic
                meta["version"] = meta["version"] or last
        if name.lower().endswith(".pdf"):
            return self._skip(origin, "pdf_only")
        up = unpack_paper(data, self.limits)
        for member, reason in up.skipped:
            self.stat_update(f"member_skipped_{reason}")
        if up.not_text:
            self.stat_update("members_not_text", value=up.not_text)
        if up.names_escaped:
            self.stat_update("member_names_not_utf8", value=up.names_escaped)
        if up.reason:
            return self._skip(origin, up.reason)
        if up.skipped:
            from datatrove.utils.logging import logger

            meta["members_skipped"] = [[m, r] for m, r in up.skipped[:200]]  # the reasons are all counted
            if len(up.skipped) > 200:
                meta["members_skipped_total"] = len(up.skipped)
            reasons = ", ".join(sorted({r for _, r in up.skipped}))
            logger.warning(f"{loggable(origin)}: {len(up.skipped)} members not read ({reasons}); the rest of the paper kept")
        media = [Media(id=p, type=MediaType.DOCUMENT, url=f"{origin}#{p}", media_bytes=b)
                 for p, b in sorted(up.files.items())]
        return Document(text="", id=stable_id("arxiv", pn.arxiv_id), media=media, metadata=meta)

    def _skip(self, origin: str, reason: str) -> None:
        self.stat_update(f"skipped_{reason}")
        if reason not in ("pdf_only", "postscript_only"):
            from datatrove.utils.logging import logger

            logger.warning(f"{loggable(origin)}: skipped: {reason}")

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        if rank >= len(self.units):
            return
        unit = self.units[rank]
        failures = TaskFailures(self, self.failed_dir, rank)
        if rank in self.superseded:  # one document per paper: arxiv_versions states which copy is kept
            from datatrove.utils.logging import logger

            self.stat_update("skipped_duplicate_paper_id")
            logger.warning(f"{loggable(redact_url(unit.path))}: skipped: a newer version of this paper is read from "
                           f"{loggable(redact_url(self.superseded[rank]))}")
            failures.close()
            return
        seen: set[str] = set()
        try:
            for name, origin, body, reason in self._papers(unit):
                # a Latin-1 member or file name is recorded; a credential in an e-print or archive URL is not
                name, origin = printable(name), printable(redact_url(origin))
                self.stat_update("papers_seen")
                if body is None and _transient(reason):
                    from datatrove.utils.logging import logger

                    logger.warning(f"{loggable(origin)}: {reason}; retried by the next run into this --out")
                    failures.add(origin)
                    continue
                if body is None:
                    self._skip(origin, reason or "unreadable")
                    continue
                try:
                    with self.track_time():
                        doc = self._document(name, origin, body)
                except Exception as e:  # noqa: BLE001 - one bad paper costs that paper, never the archive
                    from datatrove.utils.logging import logger

                    logger.warning(f"{loggable(origin)}: skipped: {type(e).__name__}: {loggable(str(e))}")
                    self.stat_update("skipped_error")
                    continue
                if doc is not None and doc.id in seen:  # the first readable copy in this task is kept
                    from datatrove.utils.logging import logger

                    self.stat_update("skipped_duplicate_paper_id")
                    logger.warning(f"{loggable(origin)}: skipped: arXiv {doc.metadata['arxiv_id']} was already read "
                                   f"from this input")
                    continue
                if doc is not None:
                    seen.add(doc.id)
                    self.stat_update("documents")
                    yield doc
        except (OSError, RuntimeError) as e:
            from datatrove.utils.logging import logger

            logger.warning(f"{loggable(redact_url(unit.path)) or unit.ids[:1]}: input unreadable: {loggable(str(e))}")
            self.stat_update("input_unreadable")
        finally:
            failures.close()


def _transient(reason: str | None) -> bool:
    """A fetch that the network or the server failed (5xx, 429, timeout, no connection), not the paper."""
    return bool(reason) and (reason.startswith("http_5") or reason in ("http_429", "http_408", "http_unreachable"))


def read_paper_file(path: str | Path, limits: Limits = Limits()) -> Unpacked:
    """Convenience for scripts and benchmarks: one `<id>.gz` file unpacked."""
    return unpack_paper(Path(path).read_bytes(), limits)


__all__ = [
    "ArxivMetadata",
    "ArxivReader",
    "Limits",
    "PaperName",
    "PoliteFetcher",
    "Unit",
    "Unpacked",
    "matches",
    "parse_paper_name",
    "plan_units",
    "read_paper_file",
    "unpack_paper",
]
