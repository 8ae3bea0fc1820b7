"""Word-unit n-gram matching of documents against benchmark fields, and the datatrove filter around it.

Why not datatrove's `NGramsDecontFilter`: it tokenises with spaCy and hashes every n-gram string in Python
(about 1 MB/s), its normalisation deletes the operators and numbers that tell two formulas apart, its
indexer is broken in 0.10.1, and one shared n-gram removes a document. Here a text becomes word units
(`proofpile.decontam.units`: prose words, formulas as bounded units), each unit a vocabulary id (0 for a
unit no benchmark field has: no window holding one can match), and all n-gram windows of a batch of
documents are hashed at once with numpy (`proofpile.decontam.hashing`). A hash hit is confirmed unit by unit
against the indexed field, so a hash collision never counts. What a document's hits amount to is decided
per field from coverage and longest run (`proofpile.decontam.evidence`).

Excluded from the index, each visible in the report:
- n-grams in more than `max_items_per_ngram` benchmark items (shared instructions and templates);
- n-grams touching a code or formula skeleton: Asymptote `[asy]` bodies, array/matrix environment heads;
- once the corpus has been scanned, per field, n-grams the corpus itself shares widely (`set_frequencies`).
A field shorter than n units is matched whole if it has at least `min_item_tokens` tokens; shorter ones
(`Evaluate $\\log_327$.`) would flag textbooks and are listed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter

from proofpile.decontam.benchmarks import BenchmarkItem, iter_texts, load
from proofpile.decontam.evidence import REMOVED, FieldEvidence, Thresholds, longest_run, rank
from proofpile.decontam.frequency import MIN_DOCUMENTS, RATIO
from proofpile.decontam.hashing import Windows, text_fingerprint, windows
from proofpile.decontam.units import features, placeholder_units, units, units_of_tokens
from proofpile.normalize import token_hashes

_EMPTY = np.zeros(0, dtype=np.int64)


class HashTable:
    """uint64 key -> int64 value (>= 0), open addressing with linear probing, looked up for a whole array at once.

    `np.searchsorted` into a sorted key array was half the scan time (a cache miss per binary-search step);
    here a lookup is one gather at a load factor of at most 1/`slack`, plus a rare second probe. Big tables
    are fronted by a 2 MB bit filter on other hash bits, which rejects most absent keys from cache. A table
    every unit of a text is looked up in (the vocabulary) is better smaller (`slack=2`): between two batches
    the rest of the scan pushes it out of the cache, and half the size is half the misses."""

    def __init__(self, keys: np.ndarray, values: np.ndarray, filtered: bool = True, slack: int = 4):
        size = 1 << max(4, int(len(keys) * slack - 1).bit_length())
        self.mask = np.uint64(size - 1)
        self.keys = np.zeros(size, dtype=np.uint64)
        self.values = np.full(size, -1, dtype=np.int64)  # -1: a free slot
        used = np.zeros(size, dtype=bool)
        keys, values = np.asarray(keys, dtype=np.uint64), np.asarray(values, dtype=np.int64)
        if len(values) and values.min() < 0:
            raise ValueError("HashTable values must be >= 0 (-1 marks a free slot)")
        slot = (keys & self.mask).astype(np.int64)
        while len(keys):  # place what lands on a free slot (first claimant wins), move the rest on by one
            free = ~used[slot]
            first = np.zeros(len(slot), dtype=bool)
            _, idx = np.unique(slot[free], return_index=True)
            first[np.flatnonzero(free)[idx]] = True
            self.keys[slot[first]], self.values[slot[first]], used[slot[first]] = keys[first], values[first], True
            keys, values, slot = keys[~first], values[~first], (slot[~first] + 1) & int(self.mask)
        self.bits = None
        if filtered and size > 1 << 16:  # not for a vocabulary: most units of a text are in it
            self.bits = np.zeros(1 << 21, dtype=np.uint8)
            b = (self.keys[used] >> np.uint64(40)) & np.uint64((1 << 24) - 1)
            np.bitwise_or.at(self.bits, (b >> np.uint64(3)).astype(np.int64), (np.uint8(1) << (b & np.uint64(7)).astype(np.uint8)))

    def get(self, h: np.ndarray) -> np.ndarray:
        """Values of `h`, -1 where absent."""
        if self.bits is None:
            return self._probe(h)
        b = (h >> np.uint64(40)) & np.uint64((1 << 24) - 1)
        todo = np.flatnonzero((self.bits[(b >> np.uint64(3)).astype(np.int64)] >> (b & np.uint64(7)).astype(np.uint8)) & 1)
        out = np.full(len(h), -1, dtype=np.int64)
        out[todo] = self._probe(h[todo])
        return out

    def _probe(self, h: np.ndarray) -> np.ndarray:
        # the first probe for every key with whole-array gathers (most keys end there: a hit, or a free slot),
        # then index arrays only for the few that collided; a third of the time of probing through index arrays
        slot = (h & self.mask).astype(np.intp)
        out = self.values[slot]
        todo = np.flatnonzero(self.keys[slot] != h)
        todo = todo[out[todo] >= 0]  # a slot held by another key: the next one may hold this one
        out[todo] = -1
        while len(todo):
            s = (slot[todo] + 1) & int(self.mask)
            slot[todo] = s
            v = self.values[s]
            hit = self.keys[s] == h[todo]
            out[todo[hit]] = v[hit]
            todo = todo[~hit & (v >= 0)]
        return out


@dataclass(frozen=True)
class Match:
    """One benchmark field found in a document, with its evidence. `start`/`end` index the document text."""

    benchmark: str
    item_id: str
    field: str  # "problem", "solution", "question" or "answer"
    ngrams: int  # distinct field n-grams found (a field matched whole counts 1)
    start: int
    end: int
    cls: str = "incidental"  # copy, partial, template, incidental (proofpile.decontam.evidence)
    coverage: float = 0.0
    run: float = 0.0

    @property
    def removed(self) -> bool:
        return self.cls in REMOVED


@dataclass
class _Entry:
    item: int
    field: str
    text: str
    units: int  # length in units


@dataclass
class IndexInfo:
    ngram: int
    items: dict[str, int] = field(default_factory=dict)
    ngrams: int = 0
    whole_items: int = 0
    too_short: list[tuple[str, str, str]] = field(default_factory=list)  # benchmark, item id, field
    excluded_common: list[tuple[str, int]] = field(default_factory=list)  # n-gram text, items holding it
    excluded_common_total: int = 0
    excluded_skeleton: int = 0
    excluded_corpus: int = 0  # n-grams frequent in the scanned corpus (set once frequencies are known)
    excluded_corpus_examples: list[tuple[str, int]] = field(default_factory=list)  # n-gram text, documents
    max_items_per_ngram: int = 0
    thresholds: Thresholds = field(default_factory=Thresholds)


#: code and formula skeletons: shared by unrelated problems, so never evidence of one
SKELETON = re.compile(r"\[asy\].*?(?:\[/asy\]|\Z)|\\begin\{(?:array|tabular)\}\s*\{[^{}]*\}", re.S | re.I)


class _Side:
    """The n-gram index of one view of the benchmark (exact units, or units with numbers and names masked)."""

    def __init__(self, unit_hashes: list[np.ndarray], skeleton: list[np.ndarray], entry_item: np.ndarray,
                 n: int, m: int, max_items: int, whole: np.ndarray, weak: np.ndarray | None = None):
        self.n, self.m = n, m
        allh = np.concatenate(unit_hashes) if unit_hashes else np.zeros(0, np.uint64)
        self.vocab = np.unique(allh)
        self.vocab_table = HashTable(self.vocab, np.arange(1, len(self.vocab) + 1), filtered=False, slack=2)
        lengths = np.array([len(u) for u in unit_hashes], dtype=np.int64)
        self.lengths = lengths
        self.offsets = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        stream = np.zeros(int(lengths.sum() + len(lengths)), dtype=np.int64)
        bad = np.ones(len(stream), dtype=bool)  # separators and skeleton units
        inside = np.ones(len(stream), dtype=bool)
        inside[self.offsets + lengths] = False  # the separator after each entry
        stream[inside] = self.ids(allh)
        bad[inside] = np.concatenate(skeleton) if skeleton else np.zeros(0, bool)
        self.stream = stream
        owner = np.repeat(np.arange(len(lengths)), lengths + 1)
        win = windows(stream, n)
        cb = np.zeros(len(stream) + 1, dtype=np.int64)
        np.cumsum(bad, out=cb[1:])
        sep = np.zeros(len(stream) + 1, dtype=np.int64)
        np.cumsum(stream == 0, out=sep[1:])
        nw = len(win)
        in_entry = (sep[n:] - sep[:nw]) == 0 if nw else np.zeros(0, bool)
        clean = (cb[n:] - cb[:nw]) == 0 if nw else np.zeros(0, bool)
        if weak is not None:  # masked: a window mostly of placeholders (a list of names) identifies nothing
            cw = np.zeros(len(stream) + 1, dtype=np.int64)
            np.cumsum(np.isin(stream, self.ids(weak)), out=cw[1:])
            clean &= (cw[n:] - cw[:nw]) * 2 <= n
        self.skeleton_excluded = len(np.unique(win[in_entry & ~clean]))
        pos = np.flatnonzero(in_entry & clean)
        keys, ents = win[pos], owner[pos]
        items = entry_item[ents] if len(pos) else _EMPTY
        common = _common(keys, items, max_items)
        self.common, self.common_counts = common
        ok = ~np.isin(keys, common[0])
        self.common_example_pos = {int(k): int(pos[np.flatnonzero(keys == k)[0]]) for k in common[0][
            np.argsort(-common[1], kind="stable")[:50]]} if len(common[0]) else {}
        keys, ents, pos = keys[ok], ents[ok], pos[ok]
        order = np.lexsort((pos, keys))
        keys, ents, pos = keys[order], ents[order], pos[order]
        self.keys, first = np.unique(keys, return_index=True)
        self.ptr = np.append(first, len(keys)).astype(np.int64)
        self.post_entry, self.post_gpos = ents, pos
        self.post_pos = pos - self.offsets[ents]
        self.post_key = np.repeat(np.arange(len(self.keys)), np.diff(self.ptr))
        self.key_table = HashTable(self.keys, np.arange(len(self.keys)))
        self.eligible = np.bincount(ents, minlength=len(lengths)).astype(np.int64)
        self.post_excluded = np.zeros(len(ents), dtype=bool)
        self.eligible_now = self.eligible.copy()
        # fields shorter than n units, matched whole: keyed by their first m units (all of them if fewer),
        # confirmed in full
        short = np.flatnonzero((lengths < n) & (lengths >= 2) & whole)
        fps = np.array([text_fingerprint(stream[self.offsets[e] : self.offsets[e] + lengths[e]]) for e in short],
                       dtype=np.uint64)
        fp_common = _common(fps, entry_item[short] if len(short) else _EMPTY, max_items)[0]
        short = short[~np.isin(fps, fp_common)]
        plen = np.minimum(lengths[short], m)
        sk = np.zeros(len(short), dtype=np.uint64)
        for p in np.unique(plen).tolist():
            sel = plen == p
            sk[sel] = windows(stream, p)[self.offsets[short[sel]]]
        order = np.lexsort((short, sk))
        self.short_keys, self.short_entry, self.short_plen = sk[order], short[order], plen[order]
        self.short_lengths = sorted(set(plen.tolist()))
        # which unit ids can begin an indexed window or a short field: lookups happen only there
        self.key_start = np.zeros(len(self.vocab) + 1, dtype=bool)
        self.key_start[stream[self.post_gpos]] = True
        self.short_start = np.zeros(len(self.vocab) + 1, dtype=bool)
        self.short_start[stream[self.offsets[self.short_entry]]] = True
        uniq, first = np.unique(self.short_keys, return_index=True)
        self.short_table = HashTable(uniq, first)

    def ids(self, h: np.ndarray) -> np.ndarray:
        return np.maximum(self.vocab_table.get(h), 0)

    def hits(self, ids: np.ndarray):
        """Confirmed hits of a document's unit ids: (document positions, postings), and whole short fields
        as (document positions, entries)."""
        n = self.n
        dp_out, post_out = _EMPTY, _EMPTY
        w = Windows(ids)
        if len(self.keys):
            cand = w.starts(self.key_start, ids, n)
            k = self.key_table.get(w.at(cand, n))
            ok = k >= 0
            doc_pos, key = cand[ok], k[ok]
            if len(doc_pos):
                counts = self.ptr[key + 1] - self.ptr[key]
                doc_pos = np.repeat(doc_pos, counts)
                post = np.repeat(self.ptr[key] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
                gpos = self.post_gpos[post]
                same = np.ones(len(post), dtype=bool)
                for j in range(n):
                    same &= ids[doc_pos + j] == self.stream[gpos + j]
                dp_out, post_out = doc_pos[same], post[same]
        sdp, sent = [], []
        if self.short_lengths:
            cand, lens, pw = w.starts_many(self.short_start, ids, self.short_lengths)
            k = self.short_table.get(pw)
            ok = k >= 0
            for doc_pos, p, h, key in zip(cand[ok].tolist(), lens[ok].tolist(), pw[ok].tolist(), k[ok].tolist()):
                while key < len(self.short_keys) and int(self.short_keys[key]) == h:
                    e = int(self.short_entry[key])
                    full = self.stream[self.offsets[e] : self.offsets[e] + self.lengths[e]]
                    if self.short_plen[key] == p and np.array_equal(ids[doc_pos : doc_pos + len(full)], full):
                        sdp.append(doc_pos)
                        sent.append(e)
                    key += 1
        return dp_out, post_out, np.array(sdp, dtype=np.int64), np.array(sent, dtype=np.int64)


def _common(keys: np.ndarray, items: np.ndarray, max_items: int):
    """The keys found in more than `max_items` distinct items, with their item counts."""
    if len(keys) == 0:
        return np.zeros(0, np.uint64), _EMPTY
    order = np.lexsort((items, keys))
    k, it = keys[order], items[order]
    distinct = np.ones(len(k), dtype=bool)
    distinct[1:] = (k[1:] != k[:-1]) | (it[1:] != it[:-1])
    k, c = np.unique(k[distinct], return_counts=True)
    return k[c > max_items], c[c > max_items]


class Decontaminator:
    """A word-unit n-gram index of benchmark fields; `matches(text)` lists the fields a text holds, classified
    by evidence (proofpile.decontam.evidence)."""

    def __init__(self, items: list[BenchmarkItem], ngram: int = 13,
                 max_items_per_ngram: int = 3, min_item_tokens: int = 8, thresholds: Thresholds | None = None):
        if ngram < 2:
            raise ValueError(f"ngram must be at least 2, got {ngram}")
        self.n = ngram
        # a field shorter than n units is matched whole if it has `min_item_tokens` normalised tokens; its
        # first `m` units (all of them if fewer) find it
        self.min_tokens, self.m = max(1, min_item_tokens), min(6, ngram)
        self.thresholds = thresholds or Thresholds()
        self.items = list(items)
        self.info = IndexInfo(ngram=ngram, max_items_per_ngram=max_items_per_ngram,
                              thresholds=self.thresholds)
        if not self.items:
            raise ValueError("empty decontamination index: no benchmark items were given")
        self._build(max_items_per_ngram)
        if len(self.exact.keys) == 0 and len(self.exact.short_keys) == 0:
            raise ValueError("empty decontamination index: no benchmark item has enough tokens to match")

    @classmethod
    def from_benchmarks(cls, benchmarks=("math", "gsm8k"), files: dict[str, str] | None = None,
                        mappings: dict[str, dict[str, str]] | None = None, cache_dir: str | None = None,
                        **options) -> "Decontaminator":
        """Index registered benchmarks, each from `files[name]` when given, else from the Hub."""
        files, mappings = files or {}, mappings or {}
        items: list[BenchmarkItem] = []
        for name in benchmarks:
            items += load(name, files.get(name), mappings.get(name), cache_dir)
        return cls(items, **options)

    # --- index -------------------------------------------------------------------------------------------

    def _build(self, max_items: int) -> None:
        texts = list(iter_texts(self.items))
        item_index = {id(it): i for i, it in enumerate(self.items)}
        joined = "\n".join(t for _, _, t in texts)
        h, starts, ends, ntext = token_hashes(joined)
        if len(starts) and starts[0] < 0:
            raise ValueError("benchmark text needs the slow tokenizer path; not supported for indexing")
        lengths = np.array([len(unicodedata.normalize("NFKC", t)) + 1 for _, _, t in texts], dtype=np.int64)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        tcut = np.searchsorted(starts, bounds[:-1])
        skel_spans = np.array([m.span() for m in SKELETON.finditer(ntext)], dtype=np.int64).reshape(-1, 2)
        views = []
        feats = features(starts, ends, ntext, tcut)
        for mask in (False, True):
            uh, t0, t1 = units_of_tokens(h, starts, ends, ntext, mask, feats=feats)
            cs, ce = starts[t0], ends[t1 - 1]
            ucut = np.searchsorted(cs, bounds[1:-1])
            skel = _in_spans(cs, ce, skel_spans)
            views.append((np.split(uh, ucut), np.split(skel, ucut), cs, ce, ucut))
        self._ntext = ntext
        self._unit_starts, self._unit_ends = views[0][2], views[0][3]
        self._unit_first = np.concatenate([[0], views[0][4]]).astype(np.int64)
        self.entries = [_Entry(item_index[id(it)], fname, text, len(u))
                        for (it, fname, text), u in zip(texts, views[0][0])]
        entry_item = np.array([e.item for e in self.entries], dtype=np.int64)
        self.entry_item = entry_item
        for it in self.items:
            self.info.items[it.benchmark] = self.info.items.get(it.benchmark, 0) + 1
        ntokens = np.diff(np.append(tcut, len(h)))
        whole = ntokens >= self.min_tokens
        for e, ok in zip(self.entries, whole):
            if e.units < self.n and not (ok and e.units >= 2):
                it = self.items[e.item]
                self.info.too_short.append((it.benchmark, it.item_id, e.field))
        self.exact = _Side(views[0][0], views[0][1], entry_item, self.n, self.m, max_items, whole)
        # masked, a short field is mostly placeholders ("<name> has <number> apples"): whole only from m units
        mlen = np.array([len(u) for u in views[1][0]], dtype=np.int64)
        self.masked = _Side(views[1][0], views[1][1], entry_item, self.n, self.m, max_items, whole & (mlen >= self.m),
                            placeholder_units())
        info = self.info
        info.ngrams = len(self.exact.keys)
        info.whole_items = len(self.exact.short_keys)
        info.excluded_common_total = len(self.exact.common)
        info.excluded_skeleton = self.exact.skeleton_excluded
        order = np.argsort(-self.exact.common_counts, kind="stable")[:50]
        for k, c in zip(self.exact.common[order], self.exact.common_counts[order]):
            gpos = self.exact.common_example_pos[int(k)]
            ent = int(np.searchsorted(self.exact.offsets, gpos, side="right") - 1)
            info.excluded_common.append((self.unit_text(ent, int(gpos - self.exact.offsets[ent]), self.n), int(c)))

    def unit_text(self, entry: int, start: int, length: int) -> str:
        """The benchmark text of units `start:start+length` of an entry (for reports)."""
        g = self._unit_first[entry] + start
        last = min(g + length, self._unit_first[entry] + self.entries[entry].units) - 1
        if last < g:
            return ""
        return self._ntext[self._unit_starts[g] : self._unit_ends[last]]

    # --- corpus document frequency ---------------------------------------------------------------------

    def set_frequencies(self, keys: np.ndarray, documents: np.ndarray, min_documents: int = MIN_DOCUMENTS,
                        ratio: float = RATIO) -> None:
        """Exclude from the evidence of each field the n-grams found in at least `min_documents` scanned
        documents and in more than `ratio` times the median document count of that field's n-grams: phrases the
        corpus shares widely, not copies of the field (a copied field's n-grams are all equally frequent)."""
        ex = self.exact
        df = np.zeros(len(ex.keys), dtype=np.int64)
        k = ex.key_table.get(np.asarray(keys, dtype=np.uint64))
        ok = k >= 0
        np.add.at(df, k[ok], np.asarray(documents, dtype=np.int64)[ok])
        post_df = df[ex.post_key]
        excluded = np.zeros(len(post_df), dtype=bool)
        hot = np.flatnonzero(post_df >= min_documents)
        by_entry = np.argsort(ex.post_entry, kind="stable")
        bounds = np.searchsorted(ex.post_entry[by_entry], np.arange(len(ex.eligible) + 1))
        for e in np.unique(ex.post_entry[hot]).tolist():
            mine = by_entry[bounds[e] : bounds[e + 1]]
            med = float(np.median(post_df[mine]))
            excluded[mine] = (post_df[mine] >= min_documents) & (post_df[mine] > ratio * med)
        ex.post_excluded = excluded
        ex.eligible_now = ex.eligible - np.bincount(ex.post_entry[excluded], minlength=len(ex.eligible))
        keys_out = np.unique(ex.post_key[excluded])
        self.info.excluded_corpus = len(keys_out)
        self.info.excluded_corpus_examples = []
        for kk in keys_out[np.argsort(-df[keys_out], kind="stable")][:20].tolist():
            p = int(ex.ptr[kk])
            self.info.excluded_corpus_examples.append(
                (self.unit_text(int(ex.post_entry[p]), int(ex.post_pos[p]), self.n), int(df[kk])))

    # --- scanning ------------------------------------------------------------------------------------------

    def _doc_units(self, texts: list[str]):
        """Exact and masked unit ids of many texts at once, with the text each unit belongs to."""
        # NFKC text by text (a newline joins nothing, so the join of the parts is the NFKC of the join): most
        # texts are normalised already, and the few that are not cost less alone than the whole batch would
        nfkc = [t if unicodedata.is_normalized("NFKC", t) else unicodedata.normalize("NFKC", t) for t in texts]
        found = token_hashes("\n".join(nfkc), nfkc=True, fallback=False)
        if found is None or (len(found[1]) and found[1][0] < 0):
            return None
        h, starts, ends, ntext = found
        lengths = [len(t) for t in nfkc]
        bounds = np.cumsum(np.array(lengths, dtype=np.int64) + 1)
        tcut = np.searchsorted(starts, np.concatenate([[0], bounds[:-1]]))
        out = []
        feats = features(starts, ends, ntext, tcut)
        # the text of each token from where each text's tokens begin (a gather per unit, not a binary search)
        token_doc = np.cumsum(np.bincount(tcut[1:], minlength=len(h) + 1))[: len(h)]
        for side, mask in ((self.exact, False), (self.masked, True)):
            uh, t0, _ = units_of_tokens(h, starts, ends, ntext, mask, feats=feats)
            out.append((side.ids(uh), token_doc[t0]))
        return out

    def scan(self, texts: list[str]) -> tuple[list[int], list[np.ndarray]]:
        """One vectorised pass over many texts (numpy calls cost microseconds each, so one pass per document
        would spend most of its time starting them): the indices of the texts that may hold a field (only
        these need `matches_with_context`), and per text the indices of the distinct indexed n-grams it
        holds (for the corpus document frequency, `proofpile.decontam.frequency`)."""
        if not texts:
            return [], []
        per = self._doc_units(texts)
        if per is None:  # the slow tokenizer path (U+0130 and the like) has no offsets: halve the batch until
            if len(texts) == 1:  # the texts that need it are alone (each one a suspect, matched in full)
                return [0], [_EMPTY]
            half = len(texts) // 2
            (f1, k1), (f2, k2) = self.scan(texts[:half]), self.scan(texts[half:])
            return f1 + [half + i for i in f2], k1 + k2
        suspects: set[int] = set()
        keys_of = [_EMPTY for _ in texts]
        for side, (ids, doc) in zip((self.exact, self.masked), per):
            n = self.n
            w = Windows(ids)
            if len(side.keys):
                cand = w.starts(side.key_start, ids, n)
                cand = cand[doc[cand] == doc[cand + n - 1]]
                k = side.key_table.get(w.at(cand, n))
                ok = k >= 0
                d = doc[cand[ok]]
                suspects.update(np.unique(d).tolist())
                if side is self.exact and ok.any():
                    pairs = np.unique(d * len(side.keys) + k[ok])  # (document, key) pairs, each once
                    pd, pk = pairs // len(side.keys), pairs % len(side.keys)
                    cuts = np.searchsorted(pd, np.arange(len(texts) + 1))
                    for i in np.unique(pd).tolist():
                        keys_of[i] = pk[cuts[i] : cuts[i + 1]]
            if side.short_lengths:
                cand, lens, hs = w.starts_many(side.short_start, ids, side.short_lengths)
                found = side.short_table.get(hs) >= 0
                cand, lens = cand[found], lens[found]
                suspects.update(np.unique(doc[cand[doc[cand] == doc[cand + lens - 1]]]).tolist())
        return sorted(suspects), keys_of

    def suspects(self, texts: list[str]) -> list[int]:
        return self.scan(texts)[0]

    def matches(self, text: str) -> list[Match]:
        return [m for m, _ in self.matches_with_context(text)]

    def matches_many(self, texts: list[str]) -> list[list[Match]]:
        out: list[list[Match]] = [[] for _ in texts]
        for i in self.suspects(texts):
            out[i] = self.matches(texts[i])
        return out

    def matches_with_context(self, text: str) -> list[tuple[Match, tuple[int, int, int]]]:
        """Matches, each with (entry, unit position in the entry, length in units) of its first hit."""
        h, starts, ends, ntext = token_hashes(text)
        if len(starts) and starts[0] < 0:
            uh, cs, ce, ntext = units(text)
            muh = units(text, mask=True)[0]
        else:
            feats = features(starts, ends, ntext) if len(h) else None
            uh, t0, t1 = units_of_tokens(h, starts, ends, ntext, feats=feats)
            cs, ce = (starts[t0], ends[t1 - 1]) if len(uh) else (_EMPTY, _EMPTY)
            muh = units_of_tokens(h, starts, ends, ntext, True, feats=feats)[0]
        if len(uh) < 2:
            return []
        ex, mk = self.exact, self.masked
        dp, post, sdp, sent = ex.hits(ex.ids(uh))
        mdp, mpost, msdp, msent = mk.hits(mk.ids(muh))
        keep = ~ex.post_excluded[post]
        dp, post = dp[keep], post[keep]
        ev: dict[int, FieldEvidence] = {}
        first: dict[int, tuple[int, int, int]] = {}  # entry -> (doc unit pos, length, entry unit pos)
        n = self.n
        pe = ex.post_entry[post]
        for e in np.unique(pe).tolist():
            sel = pe == e
            positions = np.unique(ex.post_pos[post[sel]])
            f = ev.setdefault(e, FieldEvidence())
            f.ngrams = len(positions)
            f.coverage = len(positions) / max(1, int(ex.eligible_now[e]))
            f.streak = longest_run(positions)
            f.run = (f.streak + n - 1) / max(1, self.entries[e].units)
            i = int(np.argmin(dp[sel]))
            first[e] = (int(dp[sel][i]), n, int(ex.post_pos[post[sel]][i]))
        for d, e in zip(sdp.tolist(), sent.tolist()):
            f = ev.setdefault(e, FieldEvidence())
            f.whole, f.ngrams = True, max(f.ngrams, 1)
            if e not in first or first[e][1] != self.entries[e].units or d < first[e][0]:
                first[e] = (d, self.entries[e].units, 0)  # the first place the whole field is
        mpe = mk.post_entry[mpost]
        for e in np.unique(mpe).tolist():
            positions = np.unique(mk.post_pos[mpost[mpe == e]])
            f = ev.setdefault(e, FieldEvidence())
            f.masked_coverage = len(positions) / max(1, int(mk.eligible[e]))
            f.masked_run = (longest_run(positions) + n - 1) / max(1, self.entries[e].units)
        for e in msent.tolist():
            ev.setdefault(e, FieldEvidence()).masked_whole = True
        # per (item, field): the strongest of its variants
        best: dict[tuple[int, str], tuple[int, float, int, str, FieldEvidence]] = {}
        for e, f in ev.items():
            cls = f.classify(self.thresholds)
            if cls is None:
                continue
            ent = self.entries[e]
            key = (ent.item, ent.field)
            cand = (rank(cls), f.coverage, -e, cls, f)
            if key not in best or cand[:3] > best[key][:3]:
                best[key] = cand
        if not best:
            return []
        to_orig = _offset_map(text, ntext)
        out = []
        for (item, fname), (_, _, neg_e, cls, f) in sorted(
                best.items(), key=lambda kv: (kv[0][0], list(self.items[kv[0][0]].fields).index(kv[0][1]))):
            e = -neg_e
            it = self.items[item]
            if e in first:
                d, length, epos = first[e]
                span = (to_orig(int(cs[d])), to_orig(int(ce[min(d + length, len(ce)) - 1])))
            else:  # template evidence only: no exact span
                d, length, epos = 0, 0, 0
                span = (-1, -1)
            m = Match(it.benchmark, it.item_id, fname, f.ngrams, *span, cls=cls, coverage=round(f.coverage, 4),
                      run=round(min(1.0, f.run), 4))
            out.append((m, (e, epos, length)))
        return out


def _in_spans(cs: np.ndarray, ce: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Whether each unit [cs, ce) overlaps one of the sorted, disjoint character spans."""
    if len(spans) == 0 or len(cs) == 0:
        return np.zeros(len(cs), dtype=bool)
    i = np.searchsorted(spans[:, 0], ce - 1, side="right") - 1
    ok = i >= 0
    return ok & (cs < spans[np.maximum(i, 0), 1])


def _offset_map(text: str, ntext: str):
    """Maps an offset in the NFKC text back to the original (identity unless NFKC changed the text). Only the
    non-ASCII characters are normalised one by one: NFKC leaves ASCII as it is."""
    if ntext == text:
        return lambda i: i
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    widths = np.ones(len(text), dtype=np.int64)
    for i in np.flatnonzero(cps >= 128).tolist():
        widths[i] = len(unicodedata.normalize("NFKC", text[i]))
    if int(widths.sum()) != len(ntext):  # composition across characters: proportional estimate
        scale = len(text) / max(1, len(ntext))
        return lambda i: min(len(text), round(i * scale))
    back = np.append(np.repeat(np.arange(len(text)), widths), len(text))
    return lambda i: int(back[i])


class DecontaminationFilter(BaseFilter):
    """Drops documents holding a substantial part of a benchmark field (`copy` or `partial`) and records
    every weaker match (`template`, `incidental`); with `report_only`, keeps every document.

    Every match becomes one record `(doc id, subset, benchmark, item id, field, class, coverage, run, span,
    snippets)`; `records` holds them after a run, and with `report_dir` the report files are written there when
    the run ends. The index is built on the first document, in the worker, since steps are pickled to workers;
    `frequency_files` (the scan's per-task corpus document frequencies) are applied to it then.
    """

    name = "decontaminate"

    def __init__(self, benchmarks=("math", "gsm8k"), files: dict[str, str] | None = None,
                 ngram: int = 13, max_items_per_ngram: int = 3,
                 min_item_tokens: int = 8, report_only: bool = False, report_dir: str | None = None,
                 cache_dir: str | None = None, exclusion_writer=None, batch_size: int = 64):
        super().__init__(exclusion_writer, batch_size=batch_size)
        self.benchmarks, self.files = tuple(benchmarks), dict(files or {})
        self.options = dict(ngram=ngram, max_items_per_ngram=max_items_per_ngram,
                            min_item_tokens=min_item_tokens)
        self.report_only, self.report_dir, self.cache_dir = report_only, report_dir, cache_dir
        self._index: Decontaminator | None = None
        self.records: list[dict] = []
        self.scanned: dict[str, int] = {}
        #: a build's parallel scan results (`proofpile.decontam.scan.ScanResults`): only the documents found
        #: there are matched again (with the corpus frequencies applied)
        self.scan = None
        #: per-task corpus document-frequency files written by the scan (`proofpile.decontam.frequency`)
        self.frequency_files: list[str] = []
        self._frequencies_from: list[str] = []

    @property
    def index(self) -> Decontaminator:
        if self._index is None:
            self._index = Decontaminator.from_benchmarks(self.benchmarks, self.files, cache_dir=self.cache_dir,
                                                         **self.options)
        if self.frequency_files and self._frequencies_from != self.frequency_files:
            from proofpile.decontam.frequency import read_frequencies

            self._index.set_frequencies(*read_frequencies(self.frequency_files))
            self._frequencies_from = list(self.frequency_files)
        return self._index

    def scan_batch(self, batch: list[Document]) -> tuple[list[list[dict]], list[np.ndarray]]:
        """The scan itself, shared by this filter and the build's parallel `DecontaminationScan`: per document,
        its report records (one per benchmark field it shares n-grams with, empty when clean), and the distinct
        benchmark n-grams it holds (for the corpus document frequency)."""
        suspects, keys = self.index.scan([d.text for d in batch])
        found = set(suspects)
        return [self._rows(d) if i in found else [] for i, d in enumerate(batch)], keys

    def match_rows(self, batch: list[Document]) -> list[list[dict]]:
        return self.scan_batch(batch)[0]

    def _rows(self, doc: Document) -> list[dict]:
        subset = str(doc.metadata.get("subset", ""))
        rows = []
        for match, (ent, epos, length) in self.index.matches_with_context(doc.text):
            entry = self.index.entries[ent]
            rows.append({
                "doc_id": doc.id, "subset": subset, "benchmark": match.benchmark, "item_id": match.item_id,
                "field": match.field, "class": match.cls, "removed": match.removed and not self.report_only,
                "coverage": match.coverage, "run": match.run, "ngrams": match.ngrams,
                "start": match.start, "end": match.end,
                "doc_snippet": _snippet(doc.text, match.start, match.end),
                "item_snippet": entry.text[:300], "ngram": self.index.unit_text(ent, epos, length),
            })
        return rows

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        if self.scan is not None:
            found = [self._rows(d) if rows else [] for d, rows in zip(batch, self.scan.rows_for(batch))]
        else:
            found = self.match_rows(batch)
        return [self._decide(d, rows) for d, rows in zip(batch, found)]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def _decide(self, doc: Document, rows: list[dict]) -> bool | tuple[bool, str]:
        subset = str(doc.metadata.get("subset", ""))
        self.scanned[subset] = self.scanned.get(subset, 0) + 1
        if not rows:
            return True
        for row in rows:
            self.stat_update(f"{row['class']}_{row['benchmark']}")
            self.records.append(row)
        if any(r["removed"] for r in rows):
            return False, "contaminated"
        return True

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        _ = self.index  # an empty or unreadable index fails before any document passes
        yield from super().run(data, rank, world_size)
        if self.report_dir:
            from proofpile.decontam.report import write_report

            write_report(Path(self.report_dir), self.records, self.index.info, self.scanned, self.report_only)


def _snippet(text: str, start: int, end: int, context: int = 80, limit: int = 400) -> str:
    if start < 0:
        return text[:limit]
    s = max(0, start - context)
    return text[s : min(len(text), end + context, s + limit)]
