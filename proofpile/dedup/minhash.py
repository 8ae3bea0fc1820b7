"""MinHash signatures over math-aware word n-gram shingles, and the LSH band keys made from them.

Two documents whose shingle sets have Jaccard similarity `s` agree on one MinHash value with probability
`s`, on a band of `rows` values with probability `s**rows`, and become LSH candidates (agree on at least one
of `bands` bands) with probability

    P(candidate | s) = 1 - (1 - s**rows) ** bands

The default 12 bands x 10 rows (120 hashes) puts the 50% point of that S-curve at s = 0.750 (P = 0.21 at
0.65, 0.50 at 0.75, 0.92 at 0.85, 0.9999 at 0.95; 0.02 at 0.5). `s_curve` prints it.

Why not datatrove's `MinhashDedupSignature`: its English word tokenizer needs spaCy and signs ~0.3 MB/s per
core, and its `simplify_text` maps every number to 0 and deletes `+ - = ^ { } \\ $`, so `x^2+3x=5` and
`x^3-7x=2` give the same shingles. Here shingles come from `proofpile.normalize.token_hashes` (numbers and
operators kept, LaTeX delimiters and spacing unified) — used for hashing only, never for stored text — and
everything after tokenisation is vectorised over a batch of documents:

1. token hashes (uint64, computed by `normalize` without a Python string per token);
2. shingle hash = the `ngram` consecutive token hashes folded with multiply-add, then a 64-bit finalizer
   (murmur3 fmix64) for avalanche — one hash per shingle, never a joined string;
3. the `bands*rows` permutations are `a_i * x + b_i mod 2**32` with odd random `a_i` on the top 32 bits of
   the (already well-mixed) shingle hashes, the minimum taken per document with `np.minimum.reduceat`.
   Mod 2**32 is what numpy's uint32 arithmetic does natively, so each permutation costs one SIMD multiply and
   add on half the memory of datatrove's uint64 `% (2**61 - 1)`. The price: two distinct shingles of one
   document share a 32-bit value with probability ~n^2/2^33 (n shingles), which moves an estimate by about
   1/n — negligible; tests/test_minhash_curve.py measures the S-curve it gives.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from proofpile.dedup.stage import NearDedupStage

_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_FOLD = np.uint64(0x100000001B3)  # FNV prime: odd, spreads each token over the whole word
_BAND_SALT = np.uint64(0x9E3779B97F4A7C15)
_U32 = np.uint64(32)
#: shingles per block of the (shingles x hashes) matrix: 8192 x 120 x 8 bytes = 7.5 MB, cache-friendly
_BLOCK = 8192
#: characters of text tokenised in one `token_hashes` call (amortises its per-call numpy overhead)
_BATCH_CHARS = 1 << 20


def fmix64(x: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finalizer, in place on a uint64 array (every input bit reaches every output bit)."""
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(33)
        x *= _FMIX1
        x ^= x >> np.uint64(33)
        x *= _FMIX2
        x ^= x >> np.uint64(33)
    return x


#: the defaults are the recipe's `near_dedup` section's (proofpile.dedup.stage), written once there
_DEFAULTS = NearDedupStage()


@dataclass(frozen=True)
class MinHashParams:
    ngram: int = _DEFAULTS.ngram
    bands: int = _DEFAULTS.bands
    rows: int = _DEFAULTS.rows
    seed: int = _DEFAULTS.seed

    def __post_init__(self):
        for name in ("ngram", "bands", "rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def num_hashes(self) -> int:
        return self.bands * self.rows

    def p_candidate(self, s: float) -> float:
        return 1.0 - (1.0 - s**self.rows) ** self.bands

    @property
    def threshold(self) -> float:
        """The similarity at which a pair becomes a candidate with probability 1/2."""
        return (1.0 - 0.5 ** (1.0 / self.bands)) ** (1.0 / self.rows)

    def identity(self) -> dict:
        """What an index must match to be compared against (signature scheme version included)."""
        return {"scheme": "proofpile-minhash-1", "ngram": self.ngram, "bands": self.bands, "rows": self.rows,
                "seed": self.seed}


def s_curve(params: MinHashParams, points: Sequence[float] = (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)) -> str:
    head = f"{params.bands} bands x {params.rows} rows: P(candidate) = 1 - (1 - s^{params.rows})^{params.bands}"
    head += f", 50% at s = {params.threshold:.3f}"
    return head + "\n" + "  ".join(f"s={s:.2f}: {params.p_candidate(s):.3f}" for s in points)


class MinHasher:
    """Signatures and band keys for batches of texts. Cheap to build; holds only the permutation parameters."""

    def __init__(self, params: MinHashParams = MinHashParams()):
        self.params = params
        rng = np.random.Generator(np.random.PCG64(params.seed))
        self._a = rng.integers(0, 2**31, params.num_hashes, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = rng.integers(0, 2**32, params.num_hashes, dtype=np.uint32)

    # -- shingles -------------------------------------------------------------------------------------------
    def shingles_from_tokens(self, th: np.ndarray) -> np.ndarray:
        """Hash of every `ngram` consecutive tokens; a text shorter than that is one shingle of all its tokens
        (so very short documents still match their exact copies); no tokens, no shingles."""
        n = self.params.ngram
        k = len(th) - n + 1 if len(th) >= n else (1 if len(th) else 0)
        if k == 0:
            return np.zeros(0, np.uint64)
        width = min(n, len(th))
        with np.errstate(over="ignore"):
            acc = th[:k].copy()
            for j in range(1, width):
                acc *= _FOLD
                acc += th[j : j + k]
            acc += np.uint64(width)
        return fmix64(acc)

    def shingles(self, text: str) -> np.ndarray:
        return self._batch_shingles([text])[0]

    def _batch_shingles(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token hashes for many texts from one `token_hashes` call on their NFKC forms joined by newlines: a
        newline never joins or splits tokens, so each text's tokens are exactly the ones it gets alone."""
        from proofpile.normalize import token_hashes

        nfkc = [unicodedata.normalize("NFKC", t) for t in texts]
        joined = "\n".join(nfkc)
        h, starts, _, ntext = token_hashes(joined)
        if len(h) and (starts[0] < 0 or len(ntext) != len(joined)):  # the rare slow path: one by one
            return [self.shingles_from_tokens(token_hashes(t)[0]) for t in nfkc]
        bounds = np.cumsum([len(t) + 1 for t in nfkc])
        cuts = np.searchsorted(starts, bounds[:-1])
        return [self.shingles_from_tokens(part) for part in np.split(h, cuts)]

    # -- signatures -----------------------------------------------------------------------------------------
    def signatures(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures uint32 [len(texts), bands*rows], has_tokens bool [len(texts)]). Rows of texts without a
        token are all 0xFFFFFFFF and must not be bucketed."""
        out = np.full((len(texts), self.params.num_hashes), np.iinfo(np.uint32).max, dtype=np.uint32)
        ok = np.zeros(len(texts), dtype=bool)
        i = 0
        while i < len(texts):
            j, chars = i, 0
            while j < len(texts) and (j == i or chars + len(texts[j]) <= _BATCH_CHARS):
                chars += len(texts[j])
                j += 1
            shingles = self._batch_shingles(texts[i:j])
            sizes = np.array([len(s) for s in shingles], dtype=np.int64)
            docs = np.flatnonzero(sizes) + i
            if len(docs):
                out[docs] = self._min_hashes(np.concatenate(shingles), sizes[sizes > 0])
                ok[docs] = True
            i = j
        return out, ok

    def _min_hashes(self, x: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Per-document minima of the permuted shingle hashes, in blocks of `_BLOCK` shingles laid out
        (hashes x shingles) so `reduceat` runs along contiguous memory (3x faster than the transpose); a
        document spread over several blocks gets the minimum of its partial minima."""
        a, b = self._a, self._b[:, None]
        x = (x >> _U32).astype(np.uint32)
        doc_start = np.zeros(len(sizes), dtype=np.int64)
        doc_start[1:] = np.cumsum(sizes)[:-1]
        result = np.full((len(a), len(sizes)), np.iinfo(np.uint32).max, dtype=np.uint32)
        total = int(sizes.sum())
        with np.errstate(over="ignore"):
            for lo in range(0, total, _BLOCK):
                hi = min(lo + _BLOCK, total)
                first = int(np.searchsorted(doc_start, lo, side="right")) - 1
                last = int(np.searchsorted(doc_start, hi, side="left"))  # docs first..last-1 touch the block
                local = np.maximum(doc_start[first:last] - lo, 0)
                m = np.multiply.outer(a, x[lo:hi])
                m += b
                mins = np.minimum.reduceat(m, local, axis=1)
                np.minimum(result[:, first:last], mins, out=result[:, first:last])
        return np.ascontiguousarray(result.T)

    def signature(self, text: str) -> np.ndarray | None:
        sig, ok = self.signatures([text])
        return sig[0] if ok[0] else None

    # -- LSH ------------------------------------------------------------------------------------------------
    def band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """uint64 [n, bands]: one key per band, equal exactly when the band's `rows` values are equal (up to a
        2**-64 chance per pair of documents)."""
        r = self.params.rows
        n = len(sigs)
        keys = np.empty((n, self.params.bands), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for band in range(self.params.bands):
                acc = np.full(n, np.uint64(band) * _BAND_SALT, dtype=np.uint64)
                for v in sigs[:, band * r : (band + 1) * r].T:
                    acc *= _FOLD
                    acc += v.astype(np.uint64)
                keys[:, band] = fmix64(acc)
        return keys

    @staticmethod
    def jaccard(a: np.ndarray, b: np.ndarray) -> float:
        """Exact Jaccard similarity of two shingle-hash arrays (for tests and reports)."""
        sa, sb = np.unique(a), np.unique(b)
        union = len(np.union1d(sa, sb))
        return len(np.intersect1d(sa, sb, assume_unique=True)) / union if union else 1.0


class MinhashSignatures(PipelineStep):
    """Signs one input file per task and writes, per band, a run of `(band key, node)` records sorted by key
    to `<folder>/band_BBB/NNNNN.bin` (node = task << 32 | row, see `proofpile.dedup.lsh`). Documents pass on
    unchanged. Records stay in memory until the task ends: 16 bytes x bands per document of one shard."""

    type = "🫂 - DEDUP"
    name = "minhash signatures"

    def __init__(self, folder: str, params: MinHashParams = MinHashParams(), batch_chars: int = 4 << 20):
        super().__init__()
        self.folder = folder
        self.params = params
        self.batch_chars = batch_chars

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from proofpile.dedup.lsh import ROW_BITS, write_run

        hasher = MinHasher(self.params)
        keys: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        batch: list[str] = []
        n = 0

        def flush():
            nonlocal batch
            if not batch:
                return
            with self.track_time(unit="batch"):
                sig, ok = hasher.signatures(batch)
                idx = np.flatnonzero(ok)
                keys.append(hasher.band_keys(sig[idx]))
                rows.append((n - len(batch) + idx).astype(np.uint64))
            self.stat_update("signed", value=int(ok.sum()))
            self.stat_update("no_tokens", value=int(len(batch) - ok.sum()))
            batch = []

        chars = 0
        for doc in data:
            batch.append(doc.text)
            chars += len(doc.text)
            n += 1
            self.stat_update("documents")
            if chars >= self.batch_chars:
                flush()
                chars = 0
            yield doc
        flush()
        all_keys = np.concatenate(keys) if keys else np.zeros((0, self.params.bands), np.uint64)
        nodes = (np.uint64(rank) << np.uint64(ROW_BITS)) | (np.concatenate(rows) if rows else np.zeros(0, np.uint64))
        for band in range(self.params.bands):
            write_run(Path(self.folder) / f"band_{band:03d}" / f"{rank:05d}.bin", all_keys[:, band], nodes)
