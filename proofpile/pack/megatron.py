"""Megatron's indexed dataset (`<prefix>.bin` + `<prefix>.idx`, "MMIDIDX"), written and read byte-exact.

GPT-NeoX (`data_impl: mmap`) and Megatron-LM (`IndexedDataset`) memory-map these two files directly, so
there is no conversion step that could paper over a layout mistake: every byte here is the format.

`.bin` is the token ids of all sequences back to back, nothing else. `.idx`, little-endian:

    9 bytes   b"MMIDIDX\\x00\\x00"
    u64       version = 1
    u8        dtype code (8 = uint16, 4 = int32; Megatron's table below)
    u64       sequence count N
    u64       document-index count (N + 1 here: one sequence per document)
    N  int32  sequence lengths in tokens
    N  int64  byte offset of each sequence in `.bin`
    N+1 int64 document index 0..N

Hand-written rather than borrowed from megatron-core, because that needs torch just to write 40 bytes of
header; datatrove's `MegatronTokenizedFile` writes the same layout but opens the final names directly, so a
killed run leaves a `.bin` and `.idx` that look complete.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np

from proofpile.atomic import TMP_SUFFIX, atomic_path, commit
from proofpile.errors import ProofpileError

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
HEADER = struct.Struct("<9sQBQQ")  # magic, version, dtype code, sequence count, document-index count

#: Megatron's dtype codes (megatron/core/datasets/indexed_dataset.py `DType`)
DTYPE_CODES: dict[int, np.dtype] = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.int8),
    3: np.dtype(np.int16),
    4: np.dtype(np.int32),
    5: np.dtype(np.int64),
    6: np.dtype(np.float64),
    7: np.dtype(np.float32),
    8: np.dtype(np.uint16),
}
CODE_OF = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
UINT16_LIMIT = 65_536
TMP = TMP_SUFFIX  # atomic_path's temporary ending: the pack journal claims these names


class IndexFormatError(ProofpileError, ValueError):
    """A `.bin`/`.idx` pair that Megatron would misread; the message names the file and the fault."""


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (largest id < 65,536), else int32 — the two dtypes the trainers expect."""
    return np.dtype(np.uint16) if vocab_size <= UINT16_LIMIT else np.dtype(np.int32)


def paths(prefix: str | Path) -> tuple[Path, Path]:
    prefix = str(prefix)
    return Path(prefix + ".bin"), Path(prefix + ".idx")


_INDEX_CHUNK = 1 << 20


def write_index(f, lengths: np.ndarray, dtype: np.dtype) -> None:
    """The `.idx` bytes into the binary file `f`, a million entries at a time: with many millions of
    documents, the whole index as one bytes object would be several times the lengths array."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    f.write(HEADER.pack(MAGIC, VERSION, CODE_OF[np.dtype(dtype)], n, n + 1))
    for i in range(0, n, _INDEX_CHUNK):
        f.write(lengths[i : i + _INDEX_CHUNK].astype("<i4").tobytes())
    offset = 0
    for i in range(0, n, _INDEX_CHUNK):
        sizes = lengths[i : i + _INDEX_CHUNK] * dtype.itemsize
        ends = np.cumsum(sizes) + offset
        f.write((ends - sizes).astype("<i8").tobytes())
        offset = int(ends[-1])
    for i in range(0, n + 1, _INDEX_CHUNK):
        f.write(np.arange(i, min(i + _INDEX_CHUNK, n + 1), dtype="<i8").tobytes())


def encode_index(lengths: np.ndarray, dtype: np.dtype) -> bytes:
    buf = io.BytesIO()
    write_index(buf, lengths, dtype)
    return buf.getvalue()


class IndexedWriter:
    """Streams sequences into `<prefix>.bin.tmp`; `close()` writes the `.idx` and renames both into place.

    The `.bin` is renamed before the `.idx`, so the pair only looks complete once both are final.
    """

    def __init__(self, prefix: str | Path, dtype: np.dtype | type):
        self.prefix = Path(prefix)
        self.dtype = np.dtype(dtype)
        if self.dtype not in CODE_OF:
            raise ValueError(f"{self.prefix}: token dtype must be uint16 or int32, not {self.dtype}")
        self.bin_path, self.idx_path = paths(self.prefix)
        self.bin_path.parent.mkdir(parents=True, exist_ok=True)
        self._bin = open(str(self.bin_path) + TMP, "wb", buffering=1 << 20)
        self._lengths: list[np.ndarray] = []
        self.tokens = 0

    def add(self, tokens: np.ndarray, lengths: np.ndarray | None = None) -> None:
        """Append sequences: `tokens` back to back, split by `lengths` (one sequence when omitted)."""
        tokens = np.asarray(tokens)
        if lengths is None:
            lengths = np.array([len(tokens)], dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        if int(lengths.sum()) != len(tokens):
            raise ValueError(f"{self.prefix}: lengths sum to {int(lengths.sum())} but {len(tokens)} tokens given")
        if len(tokens) and tokens.dtype != self.dtype:
            lo, hi = int(tokens.min()), int(tokens.max())
            info = np.iinfo(self.dtype)
            # never skipped (not an `assert` statement, which -O removes): a wrapped id silently trains on
            # the wrong token
            if lo < info.min or hi > info.max:
                raise AssertionError(
                    f"{self.prefix}: token id {hi if hi > info.max else lo} does not fit {self.dtype} "
                    f"(ids must be < {UINT16_LIMIT:,} for uint16; use int32)"
                )
            tokens = tokens.astype(self.dtype)
        self._bin.write(tokens.astype(self.dtype.newbyteorder("<"), copy=False).tobytes())
        self._lengths.append(lengths)
        self.tokens += len(tokens)

    @property
    def sequences(self) -> int:
        return sum(len(x) for x in self._lengths)

    def close(self) -> None:
        self._bin.close()
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        if len(lengths) and int(lengths.max()) > np.iinfo(np.int32).max:
            raise ValueError(f"{self.prefix}: a sequence of {int(lengths.max()):,} tokens overflows int32 lengths")
        commit(str(self.bin_path) + TMP, self.bin_path)
        with atomic_path(self.idx_path) as idx_tmp, open(idx_tmp, "wb") as f:  # the .idx last: the pair is final
            write_index(f, lengths, self.dtype)

    def abort(self) -> None:
        self._bin.close()
        for p in (str(self.bin_path) + TMP, str(self.idx_path) + TMP):
            if os.path.exists(p):
                os.unlink(p)


class IndexedReader:
    """Reads a `.bin`/`.idx` pair, checking the structure as it goes; `reader[i]` is sequence i.

    Every structural fault raises `IndexFormatError` naming the file, so `pack verify` and a user's own
    script see the same one-line reason.
    """

    def __init__(self, prefix: str | Path):
        self.prefix = Path(prefix)
        self.bin_path, self.idx_path = paths(self.prefix)
        for p in (self.bin_path, self.idx_path):
            if not p.is_file():
                raise IndexFormatError(f"{p}: missing")
        raw = np.memmap(self.idx_path, dtype=np.uint8, mode="r") if self.idx_path.stat().st_size else b""
        if len(raw) < HEADER.size:
            raise IndexFormatError(f"{self.idx_path}: {len(raw)} bytes, shorter than the {HEADER.size}-byte header")
        magic, version, code, n, n_docs = HEADER.unpack(bytes(raw[: HEADER.size]))
        if magic != MAGIC:
            raise IndexFormatError(f"{self.idx_path}: bad magic {magic!r}, expected {MAGIC!r}")
        if version != VERSION:
            raise IndexFormatError(f"{self.idx_path}: version {version}, expected {VERSION}")
        if code not in DTYPE_CODES:
            raise IndexFormatError(f"{self.idx_path}: unknown dtype code {code}")
        self.dtype_code = code
        self.dtype = DTYPE_CODES[code]
        expected = HEADER.size + n * 4 + n * 8 + n_docs * 8
        if len(raw) != expected:
            raise IndexFormatError(
                f"{self.idx_path}: {len(raw):,} bytes, but a header of {n:,} sequences and {n_docs:,} "
                f"document-index entries needs {expected:,}"
            )
        pos = HEADER.size
        self.lengths = np.frombuffer(raw, dtype="<i4", count=n, offset=pos)
        pos += n * 4
        self.offsets = np.frombuffer(raw, dtype="<i8", count=n, offset=pos)
        pos += n * 8
        self.document_index = np.frombuffer(raw, dtype="<i8", count=n_docs, offset=pos)
        # a ragged tail is reported by check(), after the caller had a chance to compare the dtype itself
        whole = self.bin_path.stat().st_size // self.dtype.itemsize
        self._bin = (
            np.memmap(self.bin_path, dtype=self.dtype.newbyteorder("<"), mode="r", shape=(whole,))
            if whole
            else np.zeros(0, dtype=self.dtype)
        )

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.offsets[i]) // self.dtype.itemsize
        return np.asarray(self._bin[start : start + int(self.lengths[i])])

    @property
    def tokens(self) -> np.ndarray:
        """All tokens of the `.bin`, memory-mapped."""
        return self._bin

    def check(self) -> list[str]:
        """Faults of the pair beyond the header (offsets, lengths, document index, `.bin` size), one line each."""
        errors: list[str] = []
        n, size = len(self.lengths), self.dtype.itemsize
        if n and int(self.lengths.min()) < 0:
            i = int(np.argmin(self.lengths))
            errors.append(f"{self.idx_path}: sequence {i} has negative length {int(self.lengths[i])}")
        expected = np.zeros(n, dtype=np.int64)
        if n:
            np.cumsum(self.lengths[:-1].astype(np.int64) * size, out=expected[1:])
        bad = np.flatnonzero(self.offsets != expected)
        if len(bad):
            i = int(bad[0])
            errors.append(
                f"{self.idx_path}: byte offset of sequence {i} is {int(self.offsets[i]):,}, expected "
                f"{int(expected[i]):,} from the lengths before it ({len(bad):,} offsets wrong)"
            )
        if not np.array_equal(self.document_index, np.arange(len(self.document_index))) or len(
            self.document_index
        ) != n + 1:
            errors.append(f"{self.idx_path}: document index is not 0..{n} (one sequence per document)")
        want = int(self.lengths.astype(np.int64).sum()) * size
        have = self.bin_path.stat().st_size
        if have % size:
            errors.append(f"{self.bin_path}: {have:,} bytes is not a whole number of {self.dtype} tokens")
        elif have != want:
            what = "truncated" if have < want else "longer than indexed"
            errors.append(f"{self.bin_path}: {what}: {have:,} bytes, the index describes {want:,}")
        return errors
