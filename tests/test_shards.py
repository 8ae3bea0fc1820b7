"""The record format, split assignment and chunk-exact dedup, on their own."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from proofpile.dedup.exact import ChunkDedupFilter, ChunkDeduplicator
from proofpile.shard_io import ShardReader, ShardWriter
from proofpile.shards import SCHEMA, ShardSet, iter_documents, parse_shard_name, to_row
from proofpile.split import SplitTagger, assign_split


def _doc(i: int, lang: str = "lean", text: str | None = None) -> Document:
    return Document(text=text or f"theorem t{i} : {i} = {i} := rfl\n", id=f"doc-{i:05d}",
                    metadata={"subset": "s", "lang": lang, "path": f"f{i}.lean", "z": 1, "a": [i]})


def test_split_fractions_and_stability():
    ids = [f"id-{i}" for i in range(200_000)]
    splits = [assign_split(i, seed=0) for i in ids]
    assert abs(splits.count("validation") / len(ids) - 0.005) < 0.001
    assert abs(splits.count("test") / len(ids) - 0.005) < 0.001
    assert splits == [assign_split(i, seed=0) for i in ids]
    other = [assign_split(i, seed=1) for i in ids]
    assert other != splits, "the seed must change the assignment"
    assert {assign_split(i, validation=0.0, test=0.0) for i in ids[:1000]} == {"train"}


def test_meta_is_canonical_json():
    row = to_row(_doc(3))
    assert row["meta"] == json.dumps(json.loads(row["meta"]), sort_keys=True, ensure_ascii=False)
    assert row["lang"] == "lean" and row["subset"] == "s"


def test_chunk_dedup_drops_later_documents_sharing_any_chunk():
    d = ChunkDeduplicator(chunk_chars=4)
    assert not d.is_duplicate("aaaabbbbcc")
    assert d.is_duplicate("zzzzbbbb")  # shares the chunk "bbbb" at the same offset
    assert not d.is_duplicate("zbbbb")  # same letters, other chunk boundaries
    assert d.is_duplicate("aaaabbbbcc")
    step = ChunkDedupFilter(chunk_chars=4)
    kept = list(step.run(iter([_doc(1, text="aaaabbbb"), _doc(2, text="ccccbbbb"), _doc(3, text="cccc")])))
    assert [d.id for d in kept] == ["doc-00001", "doc-00003"]
    assert step.stats["dropped_duplicate_chunk"].total == 1


def test_shard_set_rotates_by_text_bytes_and_renames_on_close(tmp_path: Path):
    shards = ShardSet(max_shard_bytes=100, row_group_rows=2)
    for i in range(10):
        shards.write(tmp_path, "lean", to_row(_doc(i)))
    assert list(tmp_path.glob("*.tmp")), "an open shard is only a temporary file"
    shards.close()
    files = sorted(tmp_path.glob("*.parquet"))
    assert [f.name for f in files] == [f"lean-{n:05d}.parquet" for n in range(len(files))]
    assert len(files) > 1 and not list(tmp_path.glob("*.tmp"))
    for f in files:
        assert pq.ParquetFile(f).schema_arrow.equals(SCHEMA, check_metadata=False)
    assert [d.id for d in iter_documents(files)] == [f"doc-{i:05d}" for i in range(10)]


def test_aborted_shards_never_look_complete(tmp_path: Path):
    writer = ShardWriter(str(tmp_path))

    def failing():
        yield _doc(1)
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        list(writer.run(failing()))
    assert not list(tmp_path.rglob("*.parquet"))


def test_writer_reader_round_trip_with_splits(tmp_path: Path):
    docs = [_doc(i, lang=("lean", "coq")[i % 2]) for i in range(300)]
    pipeline = SplitTagger(validation=0.1, test=0.1).run(iter(docs))
    list(ShardWriter(str(tmp_path), lang_subsets=["s"]).run(pipeline))
    files = sorted(tmp_path.rglob("*.parquet"))
    layout = {f.relative_to(tmp_path).as_posix() for f in files}
    assert layout == {f"data/s/{split}-{lang}-00000-of-00001.parquet"
                      for split in ("train", "validation", "test") for lang in ("lean", "coq")}
    assert {parse_shard_name(p) for p in layout} == {("s", split, lang) for split in ("train", "validation", "test")
                                                     for lang in ("lean", "coq")}
    back = list(ShardReader([str(f) for f in files]).run(None))
    assert sorted(d.id for d in back) == sorted(d.id for d in docs)
    assert all(d.metadata["split"] == assign_split(d.id, 0, 0.1, 0.1) for d in back)


def test_hub_names_count_shards_and_appear_only_when_all_are_complete(tmp_path: Path):
    """`-of-MMMMM` needs the total, so no shard gets its final name before the set is closed; row groups
    end at a byte cap as well as a row count."""
    shards = ShardSet(max_shard_bytes=3_000, row_group_rows=1000, row_group_bytes=1_000, of_total=True)
    for i in range(10):
        shards.write(tmp_path, "train", to_row(Document(text="x" * 600, id=f"d{i}", metadata={})))
    assert not list(tmp_path.glob("*.parquet")), "a shard got its final name before the total was known"
    shards.close()
    files = sorted(tmp_path.glob("*.parquet"))
    assert [f.name for f in files] == [f"train-{n:05d}-of-00002.parquet" for n in range(2)]
    assert [pq.ParquetFile(f).metadata.num_row_groups for f in files] == [3, 3]
    assert [d.id for d in iter_documents(files)] == [f"d{i}" for i in range(10)]


def test_parse_shard_name_rejects_other_layouts():
    assert parse_shard_name("data/algebraic-stack/test-common-lisp-00003-of-00004.parquet") == (
        "algebraic-stack", "test", "common-lisp")
    assert parse_shard_name("data/arxiv/train-00000-of-00001.parquet") == ("arxiv", "train", None)
    for bad in ("arxiv/train/tex-00000.parquet", "data/arxiv/train-0-of-1.parquet", "x/arxiv/train-00000-of-00001.parquet"):
        with pytest.raises(ValueError, match="not a corpus shard path"):
            parse_shard_name(bad)
