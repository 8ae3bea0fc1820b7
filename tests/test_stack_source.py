import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from proofpile.documents import stable_id
from proofpile.sources.stack import STACK_DATA_DIRS, StackReader, canonical_lang


def row(i: int, lang: str = "Python", **over) -> dict:
    r = {
        "hexsha": f"{i:040x}",
        "size": 10 + i,
        "ext": "py",
        "lang": lang,
        "max_stars_repo_path": f"src/f{i}.py",
        "max_stars_repo_name": f"owner/repo{i}",
        "max_stars_repo_licenses": ["MIT", "Apache-2.0"],
        "content": f"print({i})\n",
        "avg_line_length": 9.0,
    }
    r.update(over)
    return r


def write_parquet(path, rows, row_group_size=None):
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return str(path)


def write_jsonl(path, lines: list[str]):
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return str(path)


def counts(reader) -> dict:
    return {k: reader.stats[k].total for k in reader.stats.stats if not k.startswith("doc_len")}


def test_parquet_rows_become_documents(tmp_path):
    f = write_parquet(tmp_path / "a.parquet", [row(1), row(2, lang="C++", ext="cpp"), row(3, lang="Jupyter Notebook")])
    reader = StackReader(files=[f])
    docs = list(reader.run())
    assert [d.text for d in docs] == ["print(1)\n", "print(2)\n", "print(3)\n"]
    assert [d.metadata["lang"] for d in docs] == ["python", "cpp", "jupyter"]
    assert docs[0].id == stable_id("the-stack", f"{1:040x}")
    assert docs[1].metadata == {
        "source": "the-stack",
        "subset": "algebraic-stack",
        "lang": "cpp",
        "repo": "owner/repo2",
        "path": "src/f2.py",
        "license": "MIT, Apache-2.0",
        "ext": "cpp",
        "size_bytes": 12,
    }
    assert counts(reader) == {"documents": 3, "files_read": 1}


def test_jsonl_and_gzip_and_fallback_id(tmp_path):
    plain = write_jsonl(tmp_path / "a.jsonl", [json.dumps(row(1, lang="TeX"))])
    no_sha = row(2, lang="FORTRAN", hexsha=None, size=None)
    gz = write_jsonl(tmp_path / "b.jsonl.gz", [json.dumps(no_sha), json.dumps(row(3, lang="Haskell"))])
    jgz = write_jsonl(tmp_path / "c.json.gz", [json.dumps(row(4, lang="gap"))])
    docs = list(StackReader(files=[plain, gz, jgz]).run())
    assert [d.metadata["lang"] for d in docs] == ["tex", "fortran", "haskell", "gap"]
    assert docs[1].id == stable_id("the-stack", "owner/repo2", "src/f2.py")
    assert docs[1].metadata["size_bytes"] == len("print(2)\n")


def test_bad_records_and_corrupt_files_are_counted_good_rows_survive(tmp_path, warnings_logged):
    good = write_parquet(tmp_path / "good.parquet", [row(1), row(2, content=None), row(3, lang="Brainfuck")])
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not parquet at all" * 10)
    lines = [json.dumps(row(4)), "{not json", json.dumps([1, 2]), ""]
    lines += [json.dumps(row(5, content=42)), json.dumps(row(6))]
    jsonl = write_jsonl(tmp_path / "mixed.jsonl", lines)
    reader = StackReader(files=[good, str(corrupt), jsonl])
    docs = list(reader.run())
    assert [d.text for d in docs] == ["print(1)\n", "print(4)\n", "print(6)\n"]
    assert counts(reader) == {
        "documents": 3,
        "files_read": 2,
        "file_failed": 1,
        "skipped_bad_record": 2,  # null content, non-string content
        "skipped_bad_json": 1,
        "skipped_not_an_object": 1,  # a JSON array
        "skipped_unknown_lang": 1,
    }
    assert all("\n" not in m for m in warnings_logged)
    assert any(m.startswith(f"{corrupt}: cannot read") for m in warnings_logged)
    assert any(m.startswith(f"{jsonl}:2: bad JSON") for m in warnings_logged)
    assert any(m.startswith(f"{jsonl}:5: content is int") for m in warnings_logged)
    assert any(m.startswith(f"{good} row 1: content is NoneType") for m in warnings_logged)


def test_truncated_parquet_keeps_rows_read_before_the_damage(tmp_path, warnings_logged):
    rows = [row(i, content="x" * 2000 + str(i)) for i in range(40)]
    path = tmp_path / "t.parquet"
    write_parquet(path, rows, row_group_size=10)
    # footer intact, but the third row group's text pages overwritten: batches before it still decode
    damaged = bytearray(path.read_bytes())
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    chunk = meta.row_group(2).column(names.index("content"))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    damaged[start : start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
    path.write_bytes(bytes(damaged))
    reader = StackReader(files=[str(path)])
    docs = list(reader.run())
    # the damaged group costs its own rows only: those before and after it are read
    assert [d.text for d in docs] == [r["content"] for r in rows[:20] + rows[30:]]
    assert reader.stats["skipped_row_group_damaged"].total == 1 and reader.stats["files_read"].total == 1
    assert any("t.parquet: row group 2 unreadable after row 20" in m for m in warnings_logged)


def test_ranks_split_files_and_limit(tmp_path):
    files = [write_parquet(tmp_path / f"{i}.parquet", [row(10 * i + j) for j in range(3)]) for i in range(4)]
    by_rank = [[d.metadata["repo"] for d in StackReader(files=files).run(rank=r, world_size=2)] for r in range(2)]
    assert by_rank[0] == [f"owner/repo{n}" for n in (0, 1, 2, 20, 21, 22)]
    assert by_rank[1] == [f"owner/repo{n}" for n in (10, 11, 12, 30, 31, 32)]
    assert len(list(StackReader(files=files, limit=4).run())) == 4


def test_configuration_errors_are_loud():
    with pytest.raises(ValueError, match="exactly one"):
        StackReader()
    with pytest.raises(ValueError, match="exactly one"):
        StackReader(files=["a.parquet"], hub_langs=["python"])
    with pytest.raises(ValueError, match="data.csv"):
        StackReader(files=["data.csv"])
    with pytest.raises(ValueError, match="lean"):
        StackReader(hub_langs=["lean"])


def test_language_names():
    assert STACK_DATA_DIRS["cpp"] == "c++" and STACK_DATA_DIRS["jupyter"] == "jupyter-notebook"
    for shown, ours in [("C++", "cpp"), ("Jupyter Notebook", "jupyter"), ("FORTRAN", "fortran"), ("TeX", "tex"),
                        ("GAP", "gap"), ("Idris", "idris"), ("Agda", "agda"), ("Maple", "maple"), ("R", "r"),
                        ("Julia", "julia"), ("C", "c"), ("Fortran Free Form", "fortran")]:  # fmt: skip
        assert canonical_lang(shown) == ours
    assert canonical_lang("Java") is None and canonical_lang(None) is None
