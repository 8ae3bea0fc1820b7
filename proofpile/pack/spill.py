"""Per-prefix spill files: documents land unshuffled on disk, and come back in a seeded permutation.

Shuffling a corpus that does not fit in memory needs random access to tokens: the packer keeps only each
document's length in memory (8 bytes a document) and reads the permuted documents back with positioned reads
into a buffer of bounded size. Not a memory map: pages of a mapped file that a random permutation touches
stay resident and count against the process, so a map's footprint grows with the prefix.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from proofpile.pack.megatron import TMP

#: tokens gathered per chunk of the shuffled read-back (8 MiB of uint16)
CHUNK_TOKENS = 1 << 22
#: documents whose permuted positions are worked out at once (bounds the cumulative-length array)
_BLOCK_DOCS = 1 << 16


def read_runs(fd: int, starts: np.ndarray, lengths: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Runs `[start, start + length)` (in tokens) of the file `fd`, back to back, in the order given."""
    size = dtype.itemsize
    out = np.empty(int(lengths.sum()), dtype=dtype)
    view = memoryview(out).cast("B")
    pos = 0
    for start, n in zip(starts.tolist(), lengths.tolist()):
        nb = n * size
        got = os.preadv(fd, [view[pos : pos + nb]], start * size) if nb else 0
        if got != nb:
            raise OSError(f"short read: {got} of {nb} bytes at token {start}")
        pos += nb
    return out


@dataclass
class Prefix:
    name: str
    subset: str
    split: str
    lang: str | None
    tmp: Path
    file: object
    lengths: list[np.ndarray] = field(default_factory=list)
    text_bytes: int = 0
    by_lang: Counter = field(default_factory=Counter)  # lang -> tokens
    docs_by_lang: Counter = field(default_factory=Counter)


class PrefixSet:
    """Collects each prefix's documents unshuffled in a temporary file, then yields them shuffled."""

    def __init__(self, out: Path, dtype: np.dtype, claim: Callable[..., None]):
        self.out, self.dtype, self.claim = out, np.dtype(dtype), claim
        self.prefixes: dict[str, Prefix] = {}

    def add(self, name: str, subset: str, split: str, lang: str | None, key_lang: str,
            tokens: np.ndarray, lengths: np.ndarray, text_bytes: int) -> None:
        p = self.prefixes.get(name)
        if p is None:
            tmp = self.out / f"{name}.unshuffled{TMP}"
            self.claim(tmp)
            p = self.prefixes[name] = Prefix(name, subset, split, lang, tmp, open(tmp, "wb", buffering=1 << 20))
        p.file.write(tokens.astype(self.dtype, copy=False).tobytes())
        p.lengths.append(lengths)
        p.text_bytes += text_bytes
        p.by_lang[key_lang] += len(tokens)
        p.docs_by_lang[key_lang] += len(lengths)

    def shuffled(self, p: Prefix, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The prefix's documents in `default_rng(seed).permutation(n)` order, in chunks of whole documents
        of about CHUNK_TOKENS tokens (one document alone when it is longer)."""
        p.file.close()
        lengths = np.concatenate(p.lengths) if p.lengths else np.zeros(0, dtype=np.int64)
        p.lengths = []
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        perm = np.random.default_rng(seed).permutation(len(lengths))
        fd = os.open(p.tmp, os.O_RDONLY)
        try:
            for b in range(0, len(perm), _BLOCK_DOCS):
                block = perm[b : b + _BLOCK_DOCS]
                cum = np.cumsum(lengths[block])
                i = 0
                while i < len(block):
                    j = int(np.searchsorted(cum, (cum[i - 1] if i else 0) + CHUNK_TOKENS, side="right"))
                    docs = block[i : max(j, i + 1)]
                    lens = lengths[docs]
                    yield read_runs(fd, starts[docs], lens, self.dtype), lens
                    i = max(j, i + 1)
        finally:
            os.close(fd)
        p.tmp.unlink()

    def abort(self) -> None:
        for p in self.prefixes.values():
            p.file.close()
            p.tmp.unlink(missing_ok=True)
