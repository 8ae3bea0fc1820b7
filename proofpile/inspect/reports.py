"""The decontamination hits and the near-dedup clusters, shaped for the pages.

Hits: the report keeps a snippet of each side; the overlap is found again by aligning their word sequences
(difflib's longest matching blocks, case-folded, ignoring punctuation), so both sides can be highlighted even
when spacing, case or line breaks differ. Clusters: every member's text comes from the finalize input file and
row `duplicates.parquet` records; the similarity shown is the MinHash estimate with the build's own parameters
(the fraction of equal signature values, which is what LSH bucketed on) beside the exact shingle Jaccard.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field

from proofpile.inspect.store import BuildStore, Document, InspectError, as_text

_WORD = re.compile(r"\w+")
#: matching runs shorter than this many words are not highlighted (common words align by chance)
MIN_RUN = 3


def highlight_overlap(a: str, b: str) -> tuple[str, str, int]:
    """(HTML of `a`, HTML of `b`, words in common runs), the shared runs of words wrapped in <mark>."""
    wa, wb = list(_WORD.finditer(a)), list(_WORD.finditer(b))
    sm = difflib.SequenceMatcher(None, [m.group().casefold() for m in wa], [m.group().casefold() for m in wb],
                                 autojunk=False)
    spans_a, spans_b, words = [], [], 0
    for blk in sm.get_matching_blocks():
        if blk.size >= MIN_RUN:
            spans_a.append((wa[blk.a].start(), wa[blk.a + blk.size - 1].end()))
            spans_b.append((wb[blk.b].start(), wb[blk.b + blk.size - 1].end()))
            words += blk.size
    return _marked(a, spans_a), _marked(b, spans_b), words


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for s, e in spans:
        out += [html.escape(text[pos:s]), "<mark>", html.escape(text[s:e]), "</mark>"]
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


@dataclass
class Hit:
    row: dict
    doc_html: str
    item_html: str
    words: int


def contamination_hits(store: BuildStore) -> list[Hit]:
    t = store.contamination
    if t is None:
        return []
    out = []
    for row in t.to_pylist():
        d, i, n = highlight_overlap(as_text(row.get("doc_snippet")), as_text(row.get("item_snippet")))
        out.append(Hit(row, d, i, n))
    return out


@dataclass
class Member:
    doc: Document | None
    kept: bool
    row: dict
    estimated: float | None = None
    exact: float | None = None


@dataclass
class Cluster:
    cluster_id: int
    members: list[Member] = field(default_factory=list)


def _params(store: BuildStore):
    from proofpile.dedup.minhash import MinHashParams

    cfg = store.manifest.get("recipe", {}).get("resolved", {}).get("stages", {}).get("near_dedup") or {}
    try:
        return MinHashParams(**{k: int(cfg[k]) for k in ("ngram", "bands", "rows", "seed") if k in cfg})
    except (TypeError, ValueError):
        return MinHashParams()


def cluster_ids(store: BuildStore) -> list[int]:
    t = store.duplicates
    return sorted(set(t.column("cluster_id").to_pylist())) if t is not None else []


def clusters(store: BuildStore, ids: list[int]) -> list[Cluster]:
    """The given clusters, survivor first, each removed member with its similarity to the survivor."""
    from proofpile.dedup.minhash import MinHasher

    t = store.duplicates
    if t is None:
        return []
    wanted = set(ids)
    by_id: dict[int, Cluster] = {}
    for row in t.to_pylist():
        if row["cluster_id"] in wanted:
            try:
                doc = store.work_doc(row["file"], int(row["row"]))
            except (IndexError, OSError, ValueError, InspectError):
                doc = None  # the finalize inputs were cleaned away or not copied with the build
            by_id.setdefault(row["cluster_id"], Cluster(row["cluster_id"])).members.append(Member(doc, bool(row["kept"]), row))
    hasher = MinHasher(_params(store))
    out = []
    for cid in ids:
        c = by_id.get(cid)
        if c is None:
            continue
        c.members.sort(key=lambda m: not m.kept)
        survivor = c.members[0]
        if survivor.doc is not None:
            texts = [m.doc.text if m.doc else "" for m in c.members]
            sigs, ok = hasher.signatures(texts)
            base = hasher.shingles(survivor.doc.text)
            for j, m in enumerate(c.members[1:], start=1):
                if m.doc is not None and ok[0] and ok[j]:
                    m.estimated = float((sigs[0] == sigs[j]).mean())
                    m.exact = hasher.jaccard(base, hasher.shingles(m.doc.text))
        out.append(c)
    return out
