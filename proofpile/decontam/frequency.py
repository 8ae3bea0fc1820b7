"""Corpus document frequency of the benchmark's n-grams, counted in the parallel scan.

An n-gram that hundreds of scanned documents share (`\\begin{align*} \\sum_{i=1}^`, a competition template, a
textbook's stock sentence) is the corpus's boilerplate, not a copy of the field it comes from; a field copied
into many documents has *all* its n-grams about equally frequent. So, per field, an n-gram counts as
boilerplate when it is in at least `MIN_DOCUMENTS` documents and in more than `RATIO` times the median of
its field's n-grams (`Decontaminator.set_frequencies`), and is left out of that field's evidence.

Memory is bounded by the index, not the corpus: each scan task counts into one array over the index's
n-grams and writes the non-zero counts to `frequencies/NNNNN.parquet`; the sums over the task files are the
same whatever the worker count, since the tasks are fixed by the inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from proofpile.atomic import atomic_path

MIN_DOCUMENTS = 20
RATIO = 4.0
SCHEMA = pa.schema([("ngram", pa.uint64()), ("documents", pa.int64())])


class FrequencyCounter:
    """Documents per indexed n-gram, for the documents passed to `add` (each with its distinct key indices)."""

    def __init__(self, keys: np.ndarray):
        self.keys = keys
        self.counts = np.zeros(len(keys), dtype=np.int64)

    def add(self, key_indices: list[np.ndarray]) -> None:
        found = [k for k in key_indices if len(k)]
        if found:
            np.add.at(self.counts, np.concatenate(found), 1)

    def table(self) -> pa.Table:
        nz = np.flatnonzero(self.counts)
        return pa.table({"ngram": pa.array(self.keys[nz], pa.uint64()), "documents": pa.array(self.counts[nz])},
                        schema=SCHEMA)

    def write(self, path: Path) -> None:
        with atomic_path(path) as tmp:  # a killed task leaves no file that looks finished
            pq.write_table(self.table(), tmp, compression="zstd")


def read_frequencies(files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n-gram keys, documents) over all task files; a key may repeat (the caller sums)."""
    keys, docs = [], []
    for f in files:
        if not Path(f).is_file():
            raise FileNotFoundError(f"{f}: decontamination frequency file missing; the scan stage did not finish")
        t = pq.read_table(f, schema=SCHEMA)
        keys.append(t["ngram"].to_numpy())
        docs.append(t["documents"].to_numpy())
    if not keys:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return np.concatenate(keys).astype(np.uint64), np.concatenate(docs).astype(np.int64)
