"""What each page shows, as plain data: the funnel with links to the dropped documents behind each reason, and
a document's originals (the WARC record a page was extracted from, an arXiv paper's flattened source) when the
files recorded in its metadata are readable on this machine."""

from __future__ import annotations

import tarfile
from dataclasses import dataclass, field
from urllib.parse import urlencode

from proofpile.inspect.store import BuildStore, Document

#: an original larger than this is cut (the page stays usable)
MAX_ORIGINAL_CHARS = 2_000_000

#: finalize's drop reasons and the page that explains each
FINALIZE_PAGES = {"near_duplicate": "/dedup", "contaminated": "/decontam"}


@dataclass
class Reason:
    name: str
    count: int
    href: str | None


@dataclass
class StageRow:
    stage: str
    subset: str
    docs_in: int | None
    docs_out: int | None
    reasons: list[Reason] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)


def funnel(store: BuildStore) -> list[StageRow]:
    """Per stage (a source's crawl, its thresholds, finalize), in build order, as `proofpile stats` sums it."""
    from proofpile.publish.stats import stage_summary

    kept_reasons: set[tuple[str, str]] = set()
    for subset in store.dropped_files:
        t = store.dropped(subset)
        if t is not None and len(t):
            kept_reasons |= set(zip(t.column("source").to_pylist(), t.column("reason").to_pylist()))
    rows = []
    for s in stage_summary(store.funnel):
        source = s["stage"].split(": ")[0]
        subset = source.split("/")[0] if s["stage"] != "finalize" else ""
        row = StageRow(s["stage"], subset, s["in"], s["out"],
                       steps=[r for r in store.funnel if r["stage"] == s["stage"]])
        for reason, n in sorted(s["dropped"].items(), key=lambda kv: (-kv[1], kv[0])):
            href = None
            if s["stage"] == "finalize":
                href = FINALIZE_PAGES.get(reason)
            elif (source, reason) in kept_reasons:
                href = "/search?" + urlencode({"collection": "dropped", "subset": subset, "source": source,
                                               "reason": reason})
            row.reasons.append(Reason(reason, n, href))
        rows.append(row)
    return rows


def warc_html(doc: Document) -> str | None:
    """The HTML of the WARC response record the page was extracted from, if its file is on this machine."""
    from warcio.archiveiterator import ArchiveIterator

    path, record_id = doc.meta.get("warc_file"), doc.meta.get("record_id")
    if not isinstance(path, str) or not record_id or "://" in path:
        return None
    try:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_headers.get_header("WARC-Record-ID") == record_id:
                    body = rec.content_stream().read(MAX_ORIGINAL_CHARS * 2)
                    return body.decode(str(doc.meta.get("charset") or "utf-8"), "replace")[:MAX_ORIGINAL_CHARS]
    except (OSError, LookupError, ValueError):
        return None
    return None


def arxiv_source(doc: Document) -> str | None:
    """The paper's LaTeX with its includes inlined (before cleaning), if the tar it came from is on this machine."""
    from proofpile.extract.latex import decode_project
    from proofpile.extract.latex_flatten import Project, flatten
    from proofpile.sources.arxiv import unpack_paper

    origin, main = doc.meta.get("origin"), doc.meta.get("main_file")
    if not isinstance(origin, str) or ":" not in origin or not isinstance(main, str):
        return None
    archive, member = origin.rsplit(":", 1)
    try:
        with tarfile.open(archive) as tar:
            f = tar.extractfile(member)
            data = f.read() if f is not None else None
    except (OSError, tarfile.TarError, KeyError):
        return None
    if data is None:
        return None
    unpacked = unpack_paper(data)
    if unpacked.reason or not unpacked.files:
        return None
    texts, _ = decode_project(unpacked.files)
    try:
        return flatten(Project(texts), main).text[:MAX_ORIGINAL_CHARS]
    except KeyError:
        return None


def renders_math(doc: Document) -> bool:
    """Prose with LaTeX math (web pages, arXiv); code is shown as code."""
    return doc.subset != "algebraic-stack"
