"""Word n-gram matching of documents against benchmark items, and the datatrove filter around it.

Why not datatrove's `NGramsDecontFilter`: it tokenises with spaCy and hashes every n-gram string in Python
(about 1 MB/s), its normalisation deletes the operators and numbers that tell two formulas apart, and its
indexer needs lighteval. Here tokens come from `proofpile.normalize.token_hashes` (the tokens of
`normalize.tokens`, vectorised), each token becomes a vocabulary id (0 for a token no benchmark item has: no
window holding one can match), and all n-gram windows of a document are hashed at once with numpy. A hash hit
is confirmed by comparing the token ids of the window with the item's, so a hash collision never removes a
document.

Index rules, each visible in the report:
- problem and solution (question and answer) are indexed separately, so a match says which was copied;
- an item field shorter than n tokens is matched whole (all of its tokens, in order), if it has at least
  `min_item_tokens` tokens; shorter ones (`Evaluate $\\log_327$.`) would flag textbooks and are listed;
- an n-gram without a word of three letters or more (`min_words`; pure formula such as the quadratic formula)
  is common math, not evidence of an item;
- an n-gram found in more than `max_items_per_ngram` items (also when only its numbers differ, as in
  templated MATH solutions) is benchmark boilerplate, not an item, and an
  n-gram mostly made of a boilerplate phrase ("express your answer as a common fraction") cannot identify
  an item either; both are excluded.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter

from proofpile.decontam.benchmarks import BenchmarkItem, iter_texts, load
from proofpile.normalize import token_hashes

#: instructions that recur across benchmark items; an n-gram that is mostly one of these is not evidence
BOILERPLATE = (
    "express your answer as a common fraction",
    "express your answer in simplest radical form",
    "express your answer as a decimal to the nearest tenth",
    "express your answer as a decimal to the nearest hundredth",
    "express your answer in simplest form",
    "express your answer as a mixed number",
    "express your answer in terms of pi",
    "express your answer in interval notation",
    "round your answer to the nearest whole number",
    "enter all the solutions, separated by commas",
    "how much money, in dollars",
)

_WINDOW_BASE = np.uint64(0x100000001B3)
_EMPTY = np.zeros(0, dtype=np.int64)


class HashTable:
    """uint64 key -> int64 value, open addressing with linear probing, looked up for a whole array at once.

    `np.searchsorted` into a sorted key array was half the scan time (a cache miss per binary-search step);
    here a lookup is one gather at a load factor of at most 1/4, plus a rare second probe. Big tables are
    fronted by a 2 MB bit filter on other hash bits, which rejects most absent keys from cache."""

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        size = 1 << max(4, int(len(keys) * 4 - 1).bit_length())
        self.mask = np.uint64(size - 1)
        self.keys = np.zeros(size, dtype=np.uint64)
        self.values = np.full(size, -1, dtype=np.int64)
        self.used = np.zeros(size, dtype=bool)
        keys, values = np.asarray(keys, dtype=np.uint64), np.asarray(values, dtype=np.int64)
        slot = (keys & self.mask).astype(np.int64)
        while len(keys):  # place what lands on a free slot (first claimant wins), move the rest on by one
            free = ~self.used[slot]
            first = np.zeros(len(slot), dtype=bool)
            _, idx = np.unique(slot[free], return_index=True)
            first[np.flatnonzero(free)[idx]] = True
            self.keys[slot[first]], self.values[slot[first]], self.used[slot[first]] = keys[first], values[first], True
            keys, values, slot = keys[~first], values[~first], (slot[~first] + 1) & int(self.mask)
        self.bits = None
        if size > 1 << 16:
            self.bits = np.zeros(1 << 21, dtype=np.uint8)
            b = (self.keys[self.used] >> np.uint64(40)) & np.uint64((1 << 24) - 1)
            np.bitwise_or.at(self.bits, (b >> np.uint64(3)).astype(np.int64), (np.uint8(1) << (b & np.uint64(7)).astype(np.uint8)))

    def get(self, h: np.ndarray) -> np.ndarray:
        """Values of `h`, -1 where absent."""
        out = np.full(len(h), -1, dtype=np.int64)
        if self.bits is not None:
            b = (h >> np.uint64(40)) & np.uint64((1 << 24) - 1)
            todo = np.flatnonzero((self.bits[(b >> np.uint64(3)).astype(np.int64)] >> (b & np.uint64(7)).astype(np.uint8)) & 1)
        else:
            todo = np.arange(len(h))
        slot = (h & self.mask).astype(np.int64)
        while len(todo):
            s = slot[todo]
            hit = self.used[s] & (self.keys[s] == h[todo])
            out[todo[hit]] = self.values[s[hit]]
            todo = todo[~hit & self.used[s]]
            slot[todo] = (slot[todo] + 1) & int(self.mask)
        return out


@dataclass(frozen=True)
class Match:
    """One benchmark item found in a document. `start`/`end` index the original document text."""

    benchmark: str
    item_id: str
    field: str  # "problem", "solution", or both joined by "+" (in the benchmark's field order)
    ngrams: int  # matched windows (an item matched whole counts 1)
    start: int
    end: int


@dataclass
class _Entry:
    item: int
    field: str
    text: str
    ids: np.ndarray


@dataclass
class IndexInfo:
    ngram: int
    mask_numbers: bool
    items: dict[str, int] = field(default_factory=dict)
    ngrams: int = 0
    whole_items: int = 0
    too_short: list[tuple[str, str, str]] = field(default_factory=list)  # benchmark, item id, field
    excluded_common: list[tuple[str, int]] = field(default_factory=list)  # n-gram text, items holding it
    excluded_common_total: int = 0
    excluded_boilerplate: int = 0
    excluded_formula: int = 0
    boilerplate: tuple[str, ...] = BOILERPLATE
    max_items_per_ngram: int = 0


def window_hashes(ids: np.ndarray, n: int, m: int | None = None):
    """Polynomial hashes of all windows of `n` ids (and, if `m` < n, of `m` ids, for free on the way), plus
    whether each window is free of id 0. Written with numpy because a Python loop per window is 50x slower."""
    size = len(ids)
    small = m if m is not None else n
    if size < small:
        return (_EMPTY.astype(np.uint64), np.zeros(0, bool)), (_EMPTY.astype(np.uint64), np.zeros(0, bool))
    u = ids.astype(np.uint64)
    oov = np.zeros(size + 1, dtype=np.int32)
    np.cumsum(ids == 0, out=oov[1:])
    with np.errstate(over="ignore"):
        acc = u[: size - small + 1].copy()
        for j in range(1, small):
            acc *= _WINDOW_BASE
            acc += u[j : j + size - small + 1]
        first = (acc, (oov[small:] - oov[: size - small + 1]) == 0)
        if m is None:
            return first, first
        if size < n:
            return first, (_EMPTY.astype(np.uint64), np.zeros(0, bool))
        acc = acc[: size - n + 1].copy()
        for j in range(small, n):
            acc *= _WINDOW_BASE
            acc += u[j : j + size - n + 1]
    return first, (acc, (oov[n:] - oov[: size - n + 1]) == 0)


class Decontaminator:
    """An n-gram index of benchmark items; `matches(text)` lists the items a text contains."""

    def __init__(self, items: list[BenchmarkItem], ngram: int = 13, mask_numbers: bool = False,
                 max_items_per_ngram: int = 3, min_item_tokens: int = 8, min_words: int = 1,
                 boilerplate: tuple[str, ...] = BOILERPLATE):
        if ngram < 2:
            raise ValueError(f"ngram must be at least 2, got {ngram}")
        self.n, self.mask_numbers = ngram, mask_numbers
        self.m = min(max(1, min_item_tokens), ngram)
        self.min_words = min_words
        self.items = list(items)
        self.info = IndexInfo(ngram=ngram, mask_numbers=mask_numbers, boilerplate=tuple(boilerplate),
                              max_items_per_ngram=max_items_per_ngram)
        if not self.items:
            raise ValueError("empty decontamination index: no benchmark items were given")
        self._build(max_items_per_ngram, boilerplate)
        if len(self._keys) == 0 and len(self._short_keys) == 0:
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

    def _tokenize_all(self, texts: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """Token hashes of many texts in one vectorised call (tokens never cross the separating newline), and
        the hashes of the tokens that are numbers and of those that are words (three letters or more)."""
        joined = "\n".join(texts)
        h, starts, ends, ntext = token_hashes(joined, self.mask_numbers)
        if len(starts) and starts[0] < 0:  # slow path without offsets: one text at a time
            per = [token_hashes(t, self.mask_numbers) for t in texts]
            from proofpile.normalize import token_hash, tokens

            toks = {t for text in texts for t in tokens(text, self.mask_numbers)}
            numbers = sorted(token_hash(t) for t in toks if t.isdecimal())
            words = sorted(token_hash(t) for t in toks if len(t) > 2 and t.isalpha())
            return [p[0] for p in per], np.array(numbers, dtype=np.uint64), np.array(words, dtype=np.uint64)
        lengths = np.array([len(unicodedata.normalize("NFKC", t)) + 1 for t in texts], dtype=np.int64)
        bounds = np.cumsum(lengths)
        cuts = np.searchsorted(starts, bounds[:-1])
        first = np.frombuffer(ntext.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)[starts]
        numbers = np.unique(h[(first >= 48) & (first <= 57)])
        letter = ((first | 32) >= 97) & ((first | 32) <= 122) | (first >= 0xC0)
        words = np.unique(h[letter & (ends - starts > 2)])
        return np.split(h, cuts), numbers, words

    def _build(self, max_items: int, boilerplate: tuple[str, ...]) -> None:
        n, m, info = self.n, self.m, self.info
        texts = list(iter_texts(self.items))
        item_index = {id(it): i for i, it in enumerate(self.items)}
        hashes, number_hashes, word_hashes = self._tokenize_all([t for _, _, t in texts])
        self._vocab = np.unique(np.concatenate(hashes)) if hashes else np.zeros(0, np.uint64)
        self._vocab_table = HashTable(self._vocab, np.arange(1, len(self._vocab) + 1))
        self.entries: list[_Entry] = []
        for (item, fname, text), h in zip(texts, hashes):
            self.entries.append(_Entry(item_index[id(item)], fname, text, self._ids(h)))
        for it in self.items:
            info.items[it.benchmark] = info.items.get(it.benchmark, 0) + 1
        # all entries in one id stream, separated by an id-0 token so no window crosses two entries
        lengths = np.array([len(e.ids) for e in self.entries], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        stream = np.zeros(int(lengths.sum() + len(lengths)), dtype=np.int64)
        for off, e in zip(offsets, self.entries):
            stream[off : off + len(e.ids)] = e.ids
        (hm, _), (hn, valid) = window_hashes(stream, n, m)
        owner = np.repeat(np.arange(len(self.entries)), lengths + 1)
        # the same windows with every number replaced by one id: a template shared by many items with other
        # numbers in it ("the point on the unit circle that is 150 degrees counterclockwise") is boilerplate
        number_ids = self._ids(number_hashes)
        templated = np.where(np.isin(stream, number_ids[number_ids > 0]), len(self._vocab) + 1, stream)
        _, (hn_masked, _) = window_hashes(templated, n, m)
        # boilerplate: a window with fewer than half its tokens outside a boilerplate phrase is excluded
        covered = self._boilerplate_cover(stream, boilerplate)
        cov = np.zeros(len(stream) + 1, dtype=np.int64)
        np.cumsum(covered, out=cov[1:])
        own = n - (cov[n:] - cov[: len(stream) - n + 1]) if len(hn) else _EMPTY
        boiler = valid & (own < (n + 1) // 2)
        info.excluded_boilerplate = len(np.unique(hn[boiler]))
        # a window of pure formula (`\circ = - \frac { \sqrt { 3 } } { 2 }`, 13 tokens in 25 characters) is
        # common math, not an item: a window needs `min_words` words of three letters or more (one, by default:
        # formula-heavy MATH problems have few words, and two would leave some with no window at all)
        word_ids = self._ids(word_hashes)
        wc = np.zeros(len(stream) + 1, dtype=np.int64)
        np.cumsum(np.isin(stream, word_ids[word_ids > 0]), out=wc[1:])
        wordy = (wc[n:] - wc[: len(stream) - n + 1]) >= self.min_words if len(hn) else np.zeros(0, bool)
        info.excluded_formula = len(np.unique(hn[valid & ~boiler & ~wordy]))
        keep = valid & ~boiler
        pos = np.flatnonzero(keep)
        win_hash, win_entry = hn[pos], owner[pos]
        win_item = np.array([e.item for e in self.entries], dtype=np.int64)[win_entry] if len(pos) else _EMPTY
        # whole-item matches for fields shorter than n
        short = [(i, e) for i, e in enumerate(self.entries) if len(e.ids) < n]
        short_entries, short_keys, short_full = [], [], []
        for i, e in short:
            if len(e.ids) < m:
                it = self.items[e.item]
                info.too_short.append((it.benchmark, it.item_id, e.field))
                continue
            short_entries.append(i)
            short_keys.append(hm[offsets[i]])
            short_full.append(xxhash.xxh3_64_intdigest(e.ids.tobytes()))
        # how many items hold each n-gram (a whole short field counts as its own key)
        all_keys = np.concatenate([win_hash, np.array(short_full, dtype=np.uint64)])
        all_items = np.concatenate([win_item, np.array([self.entries[i].item for i in short_entries], np.int64)])
        pairs = np.unique(np.stack([all_keys, all_items.astype(np.uint64)]), axis=1) if len(all_keys) else \
            np.zeros((2, 0), np.uint64)
        keys, counts = np.unique(pairs[0], return_counts=True)
        common = keys[counts > max_items]
        masked_pairs = np.unique(np.stack([hn_masked[pos], win_item.astype(np.uint64)]), axis=1) if len(pos) else \
            np.zeros((2, 0), np.uint64)
        mkeys, mcounts = np.unique(masked_pairs[0], return_counts=True)
        common_masked = mkeys[mcounts > max_items]
        exact_ok = ~np.isin(win_hash, common)
        ok = exact_ok & ~np.isin(hn_masked[pos], common_masked) & wordy[pos]
        # an item made only of a template (`Compute $\cos 45^\circ$.` and its stock solution) or of formulas
        # keeps its exact n-grams, so it can still be found
        lost = np.setdiff1d(np.unique(win_item[exact_ok]), np.unique(win_item[ok]))
        ok |= exact_ok & np.isin(win_item, lost)
        info.excluded_common_total = len(np.unique(win_hash[~exact_ok | np.isin(hn_masked[pos], common_masked)]))
        self._describe_common(common, counts[counts > max_items], win_hash, win_entry, pos, offsets)
        win_hash, win_entry, pos = win_hash[ok], win_entry[ok], pos[ok]
        order = np.lexsort((pos, win_hash))
        win_hash, win_entry, pos = win_hash[order], win_entry[order], pos[order]
        self._keys, first = np.unique(win_hash, return_index=True)
        self._ptr = np.append(first, len(win_hash))
        self._post_entry, self._post_pos, self._post_gpos = win_entry, pos - offsets[win_entry], pos
        self._stream = stream
        info.ngrams = len(self._keys)
        self._key_table = HashTable(self._keys, np.arange(len(self._keys)))
        sk = [(k, i) for k, i, f in zip(short_keys, short_entries, short_full)
              if not np.isin(np.array([f], np.uint64), common)[0]]
        sk.sort(key=lambda t: (int(t[0]), t[1]))
        self._short_keys = np.array([k for k, _ in sk], dtype=np.uint64)
        self._short_entry = np.array([i for _, i in sk], dtype=np.int64)
        first_short = np.unique(self._short_keys, return_index=True)
        self._short_table = HashTable(first_short[0], first_short[1])
        info.whole_items = len(sk)

    def _ids(self, h: np.ndarray) -> np.ndarray:
        return np.maximum(self._vocab_table.get(h), 0)

    def _boilerplate_cover(self, stream: np.ndarray, phrases: tuple[str, ...]) -> np.ndarray:
        covered = np.zeros(len(stream), dtype=np.int64)
        for phrase in phrases:
            pid = self._ids(token_hashes(phrase, self.mask_numbers)[0])
            k = len(pid)
            if k == 0 or (pid == 0).any() or k > len(stream):
                continue
            (hk, valid), _ = window_hashes(stream, k)
            (target, _), _ = window_hashes(pid, k)
            for s in np.flatnonzero(valid & (hk == target[0])):
                if np.array_equal(stream[s : s + k], pid):
                    covered[s : s + k] = 1
        return covered

    def _describe_common(self, common, counts, win_hash, win_entry, pos, offsets) -> None:
        """The 50 most widespread excluded n-grams as text, for the report."""
        top = np.argsort(-counts, kind="stable")[:50]
        for k, c in zip(common[top], counts[top]):
            hit = np.flatnonzero(win_hash == k)
            if len(hit) == 0:
                continue
            e = self.entries[win_entry[hit[0]]]
            p = int(pos[hit[0]] - offsets[win_entry[hit[0]]])
            self.info.excluded_common.append((self.entry_tokens(e, p, self.n), int(c)))

    def entry_tokens(self, e: _Entry, start: int, length: int) -> str:
        """The normalised tokens `start:start+length` of an indexed text, joined by spaces (for reports)."""
        from proofpile.normalize import tokens

        return " ".join(tokens(e.text, self.mask_numbers)[start : start + length])

    # --- matching ----------------------------------------------------------------------------------------

    def _hit(self, found: dict, ent: int, doc_pos: int, length: int, entry_pos: int) -> None:
        e = self.entries[ent]
        rec = found.get(e.item)
        if rec is None:
            rec = found[e.item] = {"fields": set(), "windows": set(), "first": (doc_pos, length, ent, entry_pos)}
        rec["fields"].add(e.field)
        rec["windows"].add(doc_pos)
        if doc_pos < rec["first"][0]:
            rec["first"] = (doc_pos, length, ent, entry_pos)

    def matches(self, text: str) -> list[Match]:
        return [m for m, _ in self.matches_with_context(text)]

    def suspects(self, texts: list[str]) -> list[int]:
        """Indices of the texts that may hold an item: one vectorised pass over all of them together (numpy
        calls cost microseconds each, so one pass per document would spend most of its time starting them).
        Only these need `matches_with_context`."""
        if not texts:
            return []
        h, starts, _, ntext = token_hashes("\n".join(texts), self.mask_numbers)
        if len(starts) and starts[0] < 0:  # the slow tokenizer path has no offsets: ask about each text
            return list(range(len(texts)))
        lengths = [len(t) if unicodedata.is_normalized("NFKC", t) else len(unicodedata.normalize("NFKC", t))
                   for t in texts]
        bounds = np.cumsum(np.array(lengths, dtype=np.int64) + 1)
        doc = np.searchsorted(bounds, starts, side="right")
        ids = self._ids(h)
        (hm, valid_m), (hn, valid_n) = window_hashes(ids, self.n, self.m)
        out = set()
        if len(hn) and len(self._keys):
            cand = np.flatnonzero(valid_n & (doc[: len(hn)] == doc[self.n - 1 :]))
            out.update(doc[cand[self._key_table.get(hn[cand]) >= 0]].tolist())
        if len(hm) and len(self._short_keys):
            cand = np.flatnonzero(valid_m & (doc[: len(hm)] == doc[self.m - 1 :]))
            out.update(doc[cand[self._short_table.get(hm[cand]) >= 0]].tolist())
        return sorted(out)

    def matches_many(self, texts: list[str]) -> list[list[Match]]:
        out: list[list[Match]] = [[] for _ in texts]
        for i in self.suspects(texts):
            out[i] = self.matches(texts[i])
        return out

    def matches_with_context(self, text: str) -> list[tuple[Match, tuple[int, int, int]]]:
        """Matches, each with (entry, token position in the entry, window length) of its first hit."""
        h, starts, ends, ntext = token_hashes(text, self.mask_numbers)
        if len(h) < self.m:
            return []
        ids = self._ids(h)
        (hm, valid_m), (hn, valid_n) = window_hashes(ids, self.n, self.m)
        found: dict[int, dict] = {}  # item -> {fields, windows, first (doc pos, len, entry, entry pos)}
        if len(hn) and len(self._keys):
            cand = np.flatnonzero(valid_n)
            k = self._key_table.get(hn[cand])
            ok = k >= 0
            doc_pos, key = cand[ok], k[ok]
            if len(doc_pos):
                # every posting of every hit window, confirmed token by token against the indexed stream
                counts = self._ptr[key + 1] - self._ptr[key]
                doc_pos = np.repeat(doc_pos, counts)
                post = np.repeat(self._ptr[key] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
                gpos = self._post_gpos[post]
                same = np.ones(len(post), dtype=bool)
                for j in range(self.n):
                    same &= ids[doc_pos + j] == self._stream[gpos + j]
                for dp, p in zip(doc_pos[same].tolist(), post[same].tolist()):
                    ent = int(self._post_entry[p])
                    self._hit(found, ent, dp, self.n, int(self._post_pos[p]))
        if len(self._short_keys) and len(hm):
            cand = np.flatnonzero(valid_m)
            k = self._short_table.get(hm[cand])  # the first of equal keys
            ok = k >= 0
            for doc_pos, key in zip(cand[ok].tolist(), k[ok].tolist()):
                while key < len(self._short_keys) and self._short_keys[key] == hm[doc_pos]:
                    ent = int(self._short_entry[key])
                    full = self.entries[ent].ids
                    if np.array_equal(ids[doc_pos : doc_pos + len(full)], full):
                        self._hit(found, ent, doc_pos, len(full), 0)
                    key += 1
        if not found:
            return []
        to_orig = _offset_map(text, ntext)
        out = []
        for item, rec in sorted(found.items()):
            it = self.items[item]
            doc_pos, length, ent, epos = rec["first"]
            s, e = int(starts[doc_pos]), int(ends[doc_pos + length - 1])
            span = (to_orig(s), to_orig(e)) if s >= 0 else (-1, -1)
            fields = "+".join(f for f in it.fields if f in rec["fields"])
            out.append((Match(it.benchmark, it.item_id, fields, len(rec["windows"]), *span), (ent, epos, length)))
        return out


def _offset_map(text: str, ntext: str):
    """Maps an offset in the NFKC text back to the original (identity unless NFKC changed the text)."""
    if ntext == text:
        return lambda i: i
    back = []
    for i, ch in enumerate(text):
        back += [i] * len(unicodedata.normalize("NFKC", ch))
    back.append(len(text))
    if len(back) != len(ntext) + 1:  # composition across characters: proportional estimate
        scale = len(text) / max(1, len(ntext))
        return lambda i: min(len(text), round(i * scale))
    return lambda i: back[i]


class DecontaminationFilter(BaseFilter):
    """Drops documents holding a benchmark item (or, with `report_only`, keeps and records them).

    Every match becomes one record `(doc id, subset, benchmark, item id, field, n-grams, span, snippets)`;
    `records` holds them after a run, and with `report_dir` the report files are written there when the run
    ends. The index is built on the first document, in the worker, since steps are pickled to workers.
    """

    name = "decontaminate"

    def __init__(self, benchmarks=("math", "gsm8k"), files: dict[str, str] | None = None,
                 ngram: int = 13, mask_numbers: bool = False, max_items_per_ngram: int = 3,
                 min_item_tokens: int = 8, report_only: bool = False, report_dir: str | None = None,
                 cache_dir: str | None = None, exclusion_writer=None, batch_size: int = 64):
        super().__init__(exclusion_writer, batch_size=batch_size)
        self.benchmarks, self.files = tuple(benchmarks), dict(files or {})
        self.options = dict(ngram=ngram, mask_numbers=mask_numbers, max_items_per_ngram=max_items_per_ngram,
                            min_item_tokens=min_item_tokens)
        self.report_only, self.report_dir, self.cache_dir = report_only, report_dir, cache_dir
        self._index: Decontaminator | None = None
        self.records: list[dict] = []
        self.scanned: dict[str, int] = {}
        #: a build's parallel scan results (`proofpile.decontam.scan.ScanResults`): look documents up there
        #: instead of scanning them here
        self.scan = None

    @property
    def index(self) -> Decontaminator:
        if self._index is None:
            self._index = Decontaminator.from_benchmarks(self.benchmarks, self.files, cache_dir=self.cache_dir,
                                                         **self.options)
        return self._index

    def match_rows(self, batch: list[Document]) -> list[list[dict]]:
        """The scan itself, shared by this filter and the build's parallel `DecontaminationScan`: per document,
        its report records (one per benchmark item it holds, empty when clean)."""
        suspects = set(self.index.suspects([d.text for d in batch]))
        return [self._rows(d) if i in suspects else [] for i, d in enumerate(batch)]

    def _rows(self, doc: Document) -> list[dict]:
        subset = str(doc.metadata.get("subset", ""))
        rows = []
        for match, (ent, epos, length) in self.index.matches_with_context(doc.text):
            entry = self.index.entries[ent]
            rows.append({
                "doc_id": doc.id, "subset": subset, "benchmark": match.benchmark, "item_id": match.item_id,
                "field": match.field, "ngrams": match.ngrams, "start": match.start, "end": match.end,
                "doc_snippet": _snippet(doc.text, match.start, match.end),
                "item_snippet": entry.text[:300], "ngram": self.index.entry_tokens(entry, epos, length),
            })
        return rows

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        found = self.scan.rows_for(batch) if self.scan is not None else self.match_rows(batch)
        return [self._decide(d, rows) for d, rows in zip(batch, found)]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self._decide(doc, self.scan.rows_for([doc])[0] if self.scan is not None else self._rows(doc))

    def _decide(self, doc: Document, rows: list[dict]) -> bool | tuple[bool, str]:
        subset = str(doc.metadata.get("subset", ""))
        self.scanned[subset] = self.scanned.get(subset, 0) + 1
        if not rows:
            return True
        for row in rows:
            self.stat_update(f"contaminated_{row['benchmark']}")
            self.records.append(row)
        if self.report_only:
            return True
        return False, "contaminated"

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
