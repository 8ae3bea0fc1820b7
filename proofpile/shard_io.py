"""Datatrove steps that read and write proofpile's Parquet layout.

datatrove's own ParquetWriter names rotated files `000_<name>` and infers the schema from the first
document; the corpus layout needs the Hub's `<split>-NNNNN-of-MMMMM.parquet` names and a fixed schema, so
these small steps sit on `proofpile.shards.ShardSet` instead.
"""

from __future__ import annotations

from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from proofpile.shards import ShardSet, iter_documents, shard_key, to_row

#: a per-task intermediate file is only rotated when it gets very large
_RANK_SHARD_BYTES = 2**30


def rank_files(folder: Path, rank: int) -> list[Path]:
    return sorted(folder.glob(f"r{rank:05d}-*.parquet"))


def _not_utf8(row: dict) -> str | None:
    """The first string field of a row that cannot be stored as UTF-8, if any."""
    for key in ("id", "text", "meta", "subset", "lang"):
        value = row[key]
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return key
    return None


class RankWriter(PipelineStep):
    """Writes one task's surviving documents, in order, to `<folder>/rNNNNN-MMMMM.parquet`."""

    type = "💽 - WRITER"
    name = "task shards"

    def __init__(self, folder: str, compression: str = "zstd"):
        super().__init__()
        self.folder = folder
        self.compression = compression

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        folder = Path(self.folder)
        for stale in rank_files(folder, rank):  # a killed earlier attempt of this task
            stale.unlink()
        shards = ShardSet(_RANK_SHARD_BYTES, compression=self.compression)
        try:
            for doc in data:
                row = to_row(doc)
                if (field := _not_utf8(row)) is not None:
                    # Parquet strings are UTF-8: one such row would fail its whole row group, and the task with it
                    from datatrove.utils.logging import logger

                    logger.warning(f"document {doc.id}: its {field} holds a lone surrogate (not UTF-8); dropped")
                    self.stat_update("dropped_not_utf8")
                    continue
                shards.write(folder, f"r{rank:05d}", row)
                self.stat_update("written")
                yield doc
        except BaseException:
            shards.abort()
            raise
        shards.close()


class ShardWriter(PipelineStep):
    """Writes `<out>/data/<subset>/<split>-NNNNN-of-MMMMM.parquet`, routing on metadata subset and split; the
    subsets in `lang_subsets` get the language in the name too (`train-lean-00000-of-00003.parquet`), so one
    language of AlgebraicStack can be loaded on its own."""

    type = "💽 - WRITER"
    name = "corpus shards"

    def __init__(
        self,
        out: str,
        max_shard_bytes: int = 256 * 2**20,
        row_group_rows: int = 1000,
        compression: str = "zstd",
        compression_level: int | None = 3,
        row_group_bytes: int = 32 * 2**20,
        lang_subsets: list[str] | tuple[str, ...] = (),
    ):
        super().__init__()
        self.out = out
        self.lang_subsets = set(lang_subsets)
        self.options = dict(
            max_shard_bytes=max_shard_bytes,
            row_group_rows=row_group_rows,
            row_group_bytes=row_group_bytes,
            compression=compression,
            compression_level=compression_level,
            of_total=True,
        )
        self.finished: list[tuple[Path, int]] = []

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        out = Path(self.out)
        shards = ShardSet(**self.options)
        try:
            for doc in data:
                row = to_row(doc)
                split = doc.metadata.get("split", "train")
                subset = row["subset"] or "unknown"
                lang = (row["lang"] or "unknown") if subset in self.lang_subsets else None
                shards.write(out / "data" / subset, shard_key(split, lang), row)
                self.stat_update("written", f"written_{split}")
                yield doc
        except BaseException:
            shards.abort()
            raise
        shards.close()
        self.finished = shards.finished


class ShardReader(PipelineStep):
    """Reads proofpile Parquet shards back as Documents, in exactly the order of `files`."""

    type = "📖 - READER"
    name = "task shards"

    def __init__(self, files: list[str]):
        super().__init__()
        self.files = files

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        for doc in iter_documents([Path(f) for f in self.files[rank::world_size]]):
            self.stat_update("read")
            yield doc
