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
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document

from proofpile.atomic import TMP_SUFFIX, commit
from proofpile.errors import ProofpileError

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


#: the split names the Hub's `datasets` loader recognises from file names
SPLITS = ("train", "validation", "test")

# `data/<subset>/<split>[-<lang>]-NNNNN-of-MMMMM.parquet`: the Hub's own naming, so `datasets` finds the splits
# from the file names alone and a missing shard is visible from the "-of-" count.
_SHARD_NAME = re.compile(r"^(?P<split>[a-z]+)(?:-(?P<lang>.+))?-(?P<n>\d{5})-of-(?P<total>\d{5})\.parquet$")


def shard_key(split: str, lang: str | None) -> str:
    """The file-name stem before the shard number; the language is only there when the subset is split by it."""
    return f"{split}-{lang}" if lang else split


def parse_shard_name(relpath: str | Path) -> tuple[str, str, str | None]:
    """(subset, split, lang or None) of a corpus shard path like `data/algebraic-stack/train-lean-00000-of-00002.parquet`."""
    p = Path(relpath)
    m = _SHARD_NAME.match(p.name)
    if not m or p.parent.parent.name != "data":
        raise ValueError(f"{relpath}: not a corpus shard path (data/<subset>/<split>[-<lang>]-NNNNN-of-MMMMM.parquet)")
    return p.parent.name, m["split"], m["lang"]


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


class ShardWriteError(ProofpileError, OSError):
    """A shard could not be written (disk full, file too large, read-only): one line naming the file."""

    def __str__(self) -> str:
        return f"{self.filename}: cannot write: {self.strerror}"


@contextmanager
def _writing(path: str | Path):
    """Turns any OSError while writing `path` (pyarrow's name no file) into a ShardWriteError naming it."""
    try:
        yield
    except ShardWriteError:
        raise
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else (str(e).splitlines() or ["I/O error"])[0]
        raise ShardWriteError(e.errno or 0, reason, str(path)) from None


@dataclass
class _OpenShard:
    path: Path
    writer: pq.ParquetWriter
    rows: list[dict] = field(default_factory=list)
    text_bytes: int = 0
    group_bytes: int = 0
    n_rows: int = 0


class ShardSet:
    """Writes rows into `<dir>/<key>-NNNNN.parquet`, a new shard whenever one holds `max_shard_bytes` of text.

    Files are written under a temporary name and renamed into place on close, so an interrupted run never
    leaves a file that looks complete; `finished` lists the final files in creation order. With
    `of_total=True` the names are `<key>-NNNNN-of-MMMMM.parquet` and every shard keeps its temporary name until
    `close()`, since the total is only known then.

    A row group ends at `row_group_rows` rows or `row_group_bytes` of text, whichever comes first: the Hub's
    viewer and `datasets` streaming read one row group at a time, and a thousand arXiv papers would make one of
    tens of megabytes.
    """

    def __init__(
        self,
        max_shard_bytes: int,
        row_group_rows: int = 1000,
        compression: str = "zstd",
        compression_level: int | None = 3,
        row_group_bytes: int = 32 * 2**20,
        of_total: bool = False,
    ):
        self.max_shard_bytes = max_shard_bytes
        self.row_group_rows = row_group_rows
        self.row_group_bytes = row_group_bytes
        self.of_total = of_total
        self._pending: list[tuple[_OpenShard, tuple[Path, str]]] = []
        self.compression = None if compression == "none" else compression
        self.compression_level = compression_level if self.compression in ("zstd", "gzip") else None
        self._open: dict[tuple[Path, str], _OpenShard] = {}
        self._counters: dict[tuple[Path, str], int] = {}
        self.finished: list[tuple[Path, int]] = []

    def _start(self, directory: Path, key: str) -> _OpenShard:
        n = self._counters.get((directory, key), 0)
        self._counters[(directory, key)] = n + 1
        path = directory / f"{key}-{n:05d}.parquet"
        with _writing(str(path) + TMP_SUFFIX):
            directory.mkdir(parents=True, exist_ok=True)
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
        size = len(row["text"].encode("utf-8", "surrogatepass"))
        shard.rows.append(row)
        shard.n_rows += 1
        shard.text_bytes += size
        shard.group_bytes += size
        if len(shard.rows) >= self.row_group_rows or shard.group_bytes >= self.row_group_bytes:
            self._flush(shard)
        if shard.text_bytes >= self.max_shard_bytes:
            self._close(directory, key)

    def _flush(self, shard: _OpenShard) -> None:
        if shard.rows:
            with _writing(str(shard.path) + TMP_SUFFIX):
                shard.writer.write_table(pa.Table.from_pylist(shard.rows, schema=SCHEMA))
            shard.rows = []
            shard.group_bytes = 0

    def _close(self, directory: Path, key: str) -> None:
        shard = self._open.pop((directory, key))
        self._flush(shard)
        with _writing(str(shard.path) + TMP_SUFFIX):
            shard.writer.close()
        if self.of_total:
            self._pending.append((shard, (directory, key)))
            return
        with _writing(shard.path):
            commit(str(shard.path) + TMP_SUFFIX, shard.path)
        self.finished.append((shard.path, shard.n_rows))

    def abort(self) -> None:
        """Stop without renaming: half-written shards stay temporary and are cleared by the next run."""
        for shard in self._open.values():
            try:
                shard.writer.close()
            except OSError:  # the failure being handled (a full disk) may fail the close too; the file stays .tmp
                pass
        self._open.clear()
        self._pending.clear()

    def close(self) -> None:
        for directory, key in sorted(self._open, key=lambda k: (str(k[0]), k[1])):
            self._close(directory, key)
        for shard, started in self._pending:  # every file is complete before any gets its final name
            total = self._counters[started]  # shards started under this key, now all closed
            final = shard.path.with_name(f"{shard.path.name[: -len('.parquet')]}-of-{total:05d}.parquet")
            with _writing(final):
                commit(str(shard.path) + TMP_SUFFIX, final)
            self.finished.append((final, shard.n_rows))
        self._pending.clear()


# what ShardSet names a corpus shard before and after its `-of-` rename: the only files clean-up deletes there
_OWN_SHARD = re.compile(r"^(?:train|validation|test)(?:-.+)?-\d{5}(?:-of-\d{5}\.parquet|\.parquet\.tmp)$")


def is_own_shard_name(name: str) -> bool:
    """A name ShardSet gives a corpus shard (final or temporary), so clean-up can leave every other file alone."""
    return bool(_OWN_SHARD.match(name))


def remove_stale(work: Path) -> None:
    """Delete half-written files an interrupted run left in its work directory (`_work/`, proofpile's alone)."""
    if work.is_dir() and not work.is_symlink():
        for p in work.rglob(f"*{TMP_SUFFIX}"):
            if p.is_file():
                p.unlink()


def clear_subsets(out: Path, subsets: list[str], work: str = "_work") -> None:
    """Before an interrupted final write is redone: its shards are rewritten from scratch, so those of these
    subsets that it did finish go too (their `-of-` totals and contents may differ), and the temporary files of
    `<out>/<work>/`. Only files named as proofpile names shards are removed: anything else a user put under
    `data/<subset>/` stays, and so does the folder then. A `data/` or `data/<subset>/` that is a symbolic link
    is refused: the clean-up and the shards written after it would land in the link's target, a folder
    proofpile did not make."""
    from proofpile.outdir import OutDirError

    for subset in subsets:
        folder = out / "data" / subset
        for link in (folder.parent, folder):
            if link.is_symlink():
                raise OutDirError(f"{link}: is a symbolic link, and proofpile writes shards only into folders it "
                                  "made; remove the link (its target is left alone)")
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if is_own_shard_name(p.name) and not p.is_dir():
                p.unlink()
        try:
            folder.rmdir()
        except OSError:  # not empty: what is left is not ours
            pass
    remove_stale(out / work)
