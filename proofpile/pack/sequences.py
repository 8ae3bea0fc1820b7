"""Fixed-length packed sequences: each split's token stream cut into rows of `seq_len`, rows shuffled.

For trainers that take a plain `(rows, seq_len)` array rather than Megatron's index: a standard `.npy`
(numpy's header carries dtype and shape), memory-mappable with `np.load(..., mmap_mode="r")`. The stream is
the split's prefixes in name order, each in its shuffled document order, so a row can span two documents
(their `</s><s>` shows where); the tail shorter than one row is dropped and counted.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from proofpile.pack.megatron import TMP
from proofpile.shards import sha256_file

_ROWS_PER_CHUNK = 1 << 14


def sequence_file(split: str, seq_len: int) -> str:
    return f"{split}_seq{seq_len}.npy"


class SequenceStreams:
    def __init__(self, out: Path, dtype: np.dtype, seq_len: int):
        self.out, self.dtype, self.seq_len = out, np.dtype(dtype), seq_len
        self._files: dict[str, object] = {}
        self._tokens: dict[str, int] = {}

    def _stream(self, split: str) -> Path:
        return self.out / f"_{split}_stream{TMP}"

    def add(self, split: str, tokens: np.ndarray) -> None:
        f = self._files.get(split)
        if f is None:
            f = self._files[split] = open(self._stream(split), "wb", buffering=1 << 20)
            self._tokens[split] = 0
        f.write(tokens.astype(self.dtype, copy=False).tobytes())
        self._tokens[split] += len(tokens)

    def finish(self, seed: int) -> dict:
        """Write `<split>_seq<L>.npy` for every split; rows in `default_rng(seed).permutation(rows)` order."""
        L = self.seq_len
        files = []
        for split, f in self._files.items():
            f.close()
            total = self._tokens[split]
            rows = total // L
            entry = {"split": split, "file": None, "rows": rows, "tokens": rows * L, "dropped_tail_tokens": total - rows * L}
            stream_path = self._stream(split)
            if rows:
                stream = np.memmap(stream_path, dtype=self.dtype, mode="r")
                perm = np.random.default_rng(seed).permutation(rows)
                name = sequence_file(split, L)
                tmp = self.out / (name + TMP)
                arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=self.dtype, shape=(rows, L))
                cols = np.arange(L, dtype=np.int64)
                for i in range(0, rows, _ROWS_PER_CHUNK):
                    src = perm[i : i + _ROWS_PER_CHUNK, None] * L + cols
                    arr[i : i + len(src)] = stream[src]
                arr.flush()
                del arr, stream
                os.replace(tmp, self.out / name)
                entry.update(file=name, sha256=sha256_file(self.out / name))
            stream_path.unlink()
            files.append(entry)
        order = {"train": 0, "validation": 1, "test": 2}
        files.sort(key=lambda e: (order.get(e["split"], 3), e["split"]))
        return {"seq_len": L, "seed": seed, "dtype": self.dtype.name,
                "shuffle": "numpy.random.default_rng(seed).permutation(rows), per split", "files": files}

    def abort(self) -> None:
        for split, f in self._files.items():
            f.close()
            self._stream(split).unlink(missing_ok=True)
