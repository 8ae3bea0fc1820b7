"""The on-disk record format: Parquet with an explicit Arrow schema, `meta` as a JSON string.

`meta` is a JSON string (as in Proof-Pile-2) rather than a struct, because every source and filter adds its
own keys and a struct column would need one schema for all of them; `subset` and `lang` are promoted to
columns so readers can filter without parsing JSON. JSON is dumped with sorted keys so a record has exactly
one byte representation, which is what makes outputs byte-identical across runs and worker counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
        pa.field("subset", pa.string(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),
    ],
    metadata={b"proofpile.schema": b"1"},
)

TMP_SUFFIX = ".tmp"


def to_row(doc: Document) -> dict:
    meta = doc.metadata
    return {
        "id": doc.id,
        "text": doc.text,
        "meta": json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str),
        "subset": str(meta.get("subset", "")),
        "lang": str(meta.get("lang", "")),
    }


def from_row(row: dict) -> Document:
    return Document(text=row["text"], id=row["id"], metadata=json.loads(row["meta"]))


def iter_documents(paths: Iterable[Path], columns: list[str] | None = None) -> Iterator[Document]:
    """Documents of shard files in the order given, streamed by row group so memory stays flat."""
    for path in paths:
        pf = pq.ParquetFile(path)
        for i in range(pf.num_row_groups):
            for row in pf.read_row_group(i, columns=columns).to_pylist():
                yield from_row(row)


def parquet_rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class _OpenShard:
    path: Path
    writer: pq.ParquetWriter
    rows: list[dict] = field(default_factory=list)
    text_bytes: int = 0
    n_rows: int = 0


class ShardSet:
    """Writes rows into `<dir>/<key>-NNNNN.parquet`, a new shard whenever one holds `max_shard_bytes` of text.

    Files are written under a temporary name and renamed into place on close, so an interrupted run never
    leaves a file that looks complete; `finished` lists the final files in creation order.
    """

    def __init__(
        self,
        max_shard_bytes: int,
        row_group_rows: int = 1000,
        compression: str = "zstd",
        compression_level: int | None = 3,
    ):
        self.max_shard_bytes = max_shard_bytes
        self.row_group_rows = row_group_rows
        self.compression = None if compression == "none" else compression
        self.compression_level = compression_level if self.compression in ("zstd", "gzip") else None
        self._open: dict[tuple[Path, str], _OpenShard] = {}
        self._counters: dict[tuple[Path, str], int] = {}
        self.finished: list[tuple[Path, int]] = []

    def _start(self, directory: Path, key: str) -> _OpenShard:
        n = self._counters.get((directory, key), 0)
        self._counters[(directory, key)] = n + 1
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{key}-{n:05d}.parquet"
        writer = pq.ParquetWriter(
            str(path) + TMP_SUFFIX,
            SCHEMA,
            compression=self.compression,
            compression_level=self.compression_level,
            # the page index and statistics are deterministic; CDC is left off to keep files simple for any reader
            write_statistics=True,
        )
        shard = _OpenShard(path=path, writer=writer)
        self._open[(directory, key)] = shard
        return shard

    def write(self, directory: Path, key: str, row: dict) -> None:
        shard = self._open.get((directory, key)) or self._start(directory, key)
        shard.rows.append(row)
        shard.n_rows += 1
        shard.text_bytes += len(row["text"].encode("utf-8", "surrogatepass"))
        if len(shard.rows) >= self.row_group_rows:
            self._flush(shard)
        if shard.text_bytes >= self.max_shard_bytes:
            self._close(directory, key)

    def _flush(self, shard: _OpenShard) -> None:
        if shard.rows:
            shard.writer.write_table(pa.Table.from_pylist(shard.rows, schema=SCHEMA))
            shard.rows = []

    def _close(self, directory: Path, key: str) -> None:
        shard = self._open.pop((directory, key))
        self._flush(shard)
        shard.writer.close()
        os.replace(str(shard.path) + TMP_SUFFIX, shard.path)
        self.finished.append((shard.path, shard.n_rows))

    def abort(self) -> None:
        """Stop without renaming: half-written shards stay temporary and are cleared by the next run."""
        for shard in self._open.values():
            shard.writer.close()
        self._open.clear()

    def close(self) -> None:
        for directory, key in sorted(self._open, key=lambda k: (str(k[0]), k[1])):
            self._close(directory, key)


def remove_stale(directory: Path) -> None:
    """Delete half-written shards an interrupted run left behind."""
    if directory.is_dir():
        for p in directory.rglob(f"*{TMP_SUFFIX}"):
            p.unlink()
