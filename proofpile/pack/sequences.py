"""Fixed-length packed sequences: each split's token stream cut into rows of `seq_len`, rows shuffled.

For trainers that take a plain `(rows, seq_len)` array rather than Megatron's index: a standard `.npy`
(numpy's header carries dtype and shape), memory-mappable with `np.load(..., mmap_mode="r")`. The stream is
the split's prefixes in name order, each in its shuffled document order, so a row can span two documents
(their `</s><s>` shows where); the tail shorter than one row is dropped and counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from proofpile.atomic import atomic_path
from proofpile.pack.megatron import TMP
from proofpile.pack.spill import CHUNK_TOKENS, read_runs
from proofpile.shards import sha256_file

SHORT_SPLIT = "fewer tokens than seq_len"


def sequence_file(split: str, seq_len: int) -> str:
    return f"{split}_seq{seq_len}.npy"


class SequenceStreams:
    def __init__(self, out: Path, dtype: np.dtype, seq_len: int, claim: Callable[..., None]):
        self.out, self.dtype, self.seq_len, self.claim = out, np.dtype(dtype), seq_len, claim
        self._files: dict[str, object] = {}
        self._tokens: dict[str, int] = {}

    def _stream(self, split: str) -> Path:
        return self.out / f"_{split}_stream{TMP}"

    def add(self, split: str, tokens: np.ndarray) -> None:
        f = self._files.get(split)
        if f is None:
            self.claim(self._stream(split))
            f = self._files[split] = open(self._stream(split), "wb", buffering=1 << 20)
            self._tokens[split] = 0
        f.write(tokens.astype(self.dtype, copy=False).tobytes())
        self._tokens[split] += len(tokens)

    def _write(self, split: str, rows: int, seed: int) -> str:
        """`<split>_seq<L>.npy`, rows in permuted order, written front to back through a bounded buffer."""
        L = self.seq_len
        name = sequence_file(split, L)
        self.claim(self.out / (name + TMP), self.out / name)  # atomic_path's temporary name
        with atomic_path(self.out / name) as tmp:
            self._write_rows(tmp, split, rows, L, seed)
        return name

    def _write_rows(self, tmp: Path, split: str, rows: int, L: int, seed: int) -> None:
        # numpy writes the header (and sizes the file); the rows go in with plain writes, not through the map
        header = np.lib.format.open_memmap(tmp, mode="w+", dtype=self.dtype, shape=(rows, L))
        offset = header.offset
        del header
        perm = np.random.default_rng(seed).permutation(rows)
        per_chunk = max(1, CHUNK_TOKENS // L)
        fd = os.open(self._stream(split), os.O_RDONLY)
        try:
            with open(tmp, "r+b") as f:
                f.seek(offset)
                for i in range(0, rows, per_chunk):
                    block = perm[i : i + per_chunk]
                    f.write(read_runs(fd, block * L, np.full(len(block), L), self.dtype).tobytes())
        finally:
            os.close(fd)

    def finish(self, seed: int) -> dict:
        """Write `<split>_seq<L>.npy` for every split that has at least one row; rows in
        `default_rng(seed).permutation(rows)` order. A split shorter than one row gets no file: it is listed
        under `short_splits` (and counted) instead, so every `files` entry names a real file."""
        L = self.seq_len
        files, short = [], []
        for split, f in self._files.items():
            f.close()
            total = self._tokens[split]
            rows = total // L
            if rows:
                name = self._write(split, rows, seed)
                files.append({"split": split, "file": name, "rows": rows, "tokens": rows * L,
                              "dropped_tail_tokens": total - rows * L, "sha256": sha256_file(self.out / name)})
            else:
                short.append({"split": split, "tokens": total, "reason": SHORT_SPLIT})
            self._stream(split).unlink()
        order = {"train": 0, "validation": 1, "test": 2}
        files.sort(key=lambda e: (order.get(e["split"], 3), e["split"]))
        short.sort(key=lambda e: (order.get(e["split"], 3), e["split"]))
        return {"seq_len": L, "seed": seed, "dtype": self.dtype.name,
                "shuffle": "numpy.random.default_rng(seed).permutation(rows), per split", "files": files,
                "short_splits": short, "skipped": {"split_shorter_than_seq_len": len(short)} if short else {}}

    def abort(self) -> None:
        for split, f in self._files.items():
            f.close()
            self._stream(split).unlink(missing_ok=True)
