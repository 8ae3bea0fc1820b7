"""The shared JSONL record reader and the readers built on it (The Stack, `decontaminate`, arXiv metadata, benchmark
files), with the Parquet side of the same readers: one bad record or row group costs only itself."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from proofpile.jsonl import JsonlError, parse_line, read_jsonl
from proofpile.sources.stack import StackReader

from . import hypothesis_home  # noqa: F401 - hypothesis's caches out of the checkout
from .test_build import run_cli

GOOD = [{"text": f"Document {i} on the sum of the first n odd numbers.", "id": f"d{i}"} for i in range(3)]


def lines_of(*values: bytes) -> bytes:
    return b"".join(v + b"\n" for v in values)


@pytest.mark.parametrize("line, reason", [
    (b"\xff{}", "bad_utf8"),
    (b"{not json", "bad_json"),
    (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
    (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "too_deep"),
    (b'{"n": ' + b"7" * 5000 + b"}", "bad_json"),
    (b"[1, 2]", "not_an_object"),
    (b"42", "not_an_object"),
    (b'"text"', "not_an_object"),
    (b"null", "not_an_object"),
    (b'{"text": "\\ud800"}', "lone_surrogate"),
    (b'{"id": 1}', "missing_field"),
    (b'{"text": ["a"]}', "bad_field"),
    (b'{"text": null}', "bad_field"),
])
def test_every_bad_line_has_a_named_reason(line, reason):
    assert parse_line(line, {"text": str}) == (None, reason, parse_line(line, {"text": str})[2])


def test_good_lines_parse_including_surrogate_pairs():
    value, reason, _ = parse_line('{"text": "\\ud835\\udc65 = \u00e9"}'.encode(), {"text": str})
    assert value == {"text": "\U0001d465 = \u00e9"} and reason == ""


@pytest.mark.parametrize("suffix, compress", [
    (".jsonl", lambda b: b),
    (".jsonl.gz", lambda b: gzip.compress(b, mtime=0)),
    (".jsonl.bz2", bz2.compress),
    (".jsonl.zst", lambda b: __import__("zstandard").ZstdCompressor().compress(b)),
])
def test_compressed_files_line_numbers_bom_and_blank_lines(tmp_path: Path, suffix, compress, warnings_logged):
    raw = b"\xef\xbb\xbf" + lines_of(json.dumps(GOOD[0]).encode(), b"", b"[1]", json.dumps(GOOD[1]).encode(),
                                      b"caf\xe9", json.dumps(GOOD[2]).encode())
    path = tmp_path / f"f{suffix}"
    path.write_bytes(compress(raw))
    counted: list[str] = []
    got = list(read_jsonl(str(path), counted.append, required={"text": str}))
    assert got == [(1, GOOD[0]), (4, GOOD[1]), (6, GOOD[2])]
    assert counted == ["skipped_not_an_object", "skipped_bad_utf8"]
    assert f"{path}:3: JSON array, not an object; line skipped" in warnings_logged
    assert f"{path}:5: invalid UTF-8 at byte 4; line skipped" in warnings_logged


def test_many_bad_lines_log_a_few_then_one_summary(tmp_path: Path, warnings_logged):
    path = tmp_path / "f.jsonl"
    path.write_bytes(lines_of(*([b"[1]"] * 30 + [b"{x"] * 20), json.dumps(GOOD[0]).encode()))
    counted: list[str] = []
    assert [row for _, row in read_jsonl(str(path), counted.append)] == [GOOD[0]]
    assert len(counted) == 50 and len(warnings_logged) == 11
    assert warnings_logged[-1] == f"{path}: 50 lines skipped (20 bad_json, 30 not_an_object)"


def test_missing_and_truncated_files_are_one_line_errors_after_the_good_lines(tmp_path: Path):
    with pytest.raises(JsonlError, match=r"nope\.jsonl: no such file"):
        list(read_jsonl(str(tmp_path / "nope.jsonl")))
    data = gzip.compress(lines_of(*[json.dumps({"text": "x" * 50, "i": i}).encode() for i in range(500)]), mtime=0)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    got = []
    with pytest.raises(JsonlError, match=r"cut\.jsonl\.gz: unreadable after line \d+ \(EOFError"):
        for _, row in read_jsonl(str(cut)):
            got.append(row["i"])
    assert got == list(range(len(got))) and got


# ---- The Stack -------------------------------------------------------------------------------------------------
def stack_row(i: int, **over) -> dict:
    return {"hexsha": f"{i:040x}", "lang": "Python", "content": f"print({i})\n", "max_stars_repo_name": f"o/r{i}",
            "max_stars_repo_path": f"f{i}.py", **over}


def test_stack_jsonl_keeps_the_good_row_before_an_invalid_byte_and_after_deep_nesting(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(lines_of(json.dumps(stack_row(1)).encode(), b'{"content": "\xff"}',
                              b"[" * 200_000 + b"]" * 200_000, json.dumps(stack_row(2)).encode()))
    reader = StackReader(files=[str(path)])
    assert [d.text for d in reader.run()] == ["print(1)\n", "print(2)\n"]
    assert reader.stats["skipped_bad_utf8"].total == 1 and reader.stats["skipped_too_deep"].total == 1


def test_stack_parquet_with_unexpected_column_types(tmp_path: Path):
    path = tmp_path / "s.parquet"
    rows = [stack_row(1, hexsha=7, max_stars_repo_name=3, max_stars_repo_licenses=5, size="big", ext=1),
            stack_row(2, hexsha=None, max_stars_repo_name=None, max_stars_repo_path=None)]
    rows.append({**rows[1], "content": "print(3)\n"})
    pq.write_table(pa.Table.from_pylist(rows), path)
    reader = StackReader(files=[str(path)])
    docs = list(reader.run())
    assert [d.text for d in docs] == ["print(1)\n", "print(2)\n", "print(3)\n"]
    assert docs[0].metadata["repo"] == "" and docs[0].metadata["license"] == ""
    assert len({d.id for d in docs}) == 3  # rows without hash and path are named by their text


# ---- decontaminate ---------------------------------------------------------------------------------------------
def test_decontaminate_skips_lines_that_are_not_documents_and_says_why(tmp_path: Path):
    bench = tmp_path / "math.jsonl"
    problem = "Find the number of positive divisors of two thousand and twenty four, then add seventeen to it."
    bench.write_text(json.dumps({"problem": problem, "solution": "The answer is 28, since 2024 = 2^3 11 23."}) + "\n")
    docs = tmp_path / "docs.jsonl"
    docs.write_bytes(lines_of(
        json.dumps(GOOD[0]).encode(), b"[1, 2, 3]", b"42", b'{"id": "no-text"}', b'{"text": 5}',
        b'{"text": "ok", "meta": [1]}', b'{"text": "caf\xe9"}', b"[" * 200_000 + b"]" * 200_000,
        json.dumps({"text": "Unrelated words first. " * 5 + problem, "id": "dirty"}).encode(),
        json.dumps(GOOD[1]).encode()))
    out = tmp_path / "out"
    proc = run_cli("decontaminate", str(docs), "--out", str(out), "--bench-file", f"math={bench}", "--ngram", "8")
    assert "Traceback" not in proc.stderr
    assert "3 documents scanned, 1 removed" in proc.stdout
    kept = pq.read_table(out / "docs.parquet").to_pylist()
    assert [r["id"] for r in kept] == ["d0", "d1"]
    summary = json.loads((out / "contamination.json").read_text())
    assert summary["input_skipped"] == {"skipped_bad_field": 1, "skipped_bad_record": 1, "skipped_bad_utf8": 1,
                                        "skipped_missing_field": 1, "skipped_not_an_object": 2,
                                        "skipped_too_deep": 1}
    assert f"{docs}:2: JSON array, not an object; line skipped" in proc.stderr


def test_lines_split_across_reads_like_bytes_split():
    import io

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from proofpile.jsonl import _lines

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(data=st.binary(max_size=200).map(lambda b: b.replace(b"\x00", b"\n")), limit=st.integers(0, 30),
           block=st.integers(1, 17))
    def check(data, limit, block):
        expected = [line if len(line.rstrip(b"\n")) <= limit else None
                    for line in (part + b"\n" for part in data.split(b"\n"))]
        if expected and (data.endswith(b"\n") or not data):
            expected.pop()  # nothing after the last newline
        elif expected and expected[-1] is not None:
            expected[-1] = expected[-1][:-1]  # the last line has no newline of its own
        assert list(_lines(io.BytesIO(data), limit, block)) == expected

    check()


# ---- arXiv's OAI metadata snapshot ----------------------------------------------------------------------------
def test_arxiv_metadata_survives_a_bad_byte_and_deep_nesting(tmp_path: Path, shared_data: Path):
    from proofpile.sources.arxiv import ArxivMetadata, ArxivReader, plan_units

    meta = tmp_path / "oai.jsonl"
    meta.write_bytes(lines_of(
        json.dumps({"id": "2301.00001", "categories": "math.RA", "versions": [{"version": "v2"}]}).encode(),
        b'{"id": "2301.00002", "categories": "caf\xe9"}', b"[" * 200_000 + b"]" * 200_000,
        b'{"id": "2301.00004", "versions": 5, "categories": "math.NT"}',
        json.dumps({"id": "2301.00003", "categories": "math.AG"}).encode()))
    index = ArxivMetadata(str(meta))
    assert sorted(index.index) == ["2301.00001", "2301.00003", "2301.00004"] and index.bad_lines == 2
    units, _ = plan_units([str(shared_data / "arxiv" / "arXiv_src_2301_001.tar")], [])
    reader = ArxivReader(units, metadata=str(meta), categories=["math.*"])
    assert [d.metadata["arxiv_id"] for d in reader.run(None, 0, 1)] == ["2301.00001", "2301.00003", "2301.00004"]


def test_decontaminate_and_the_stack_take_zstd_and_bzip2_jsonl(tmp_path: Path):
    import zstandard

    from proofpile.decontam.run import input_files, read_documents

    raw = lines_of(*(json.dumps({**g, "content": g["text"], "lang": "Python"}).encode() for g in GOOD))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    (tmp_path / "in" / "b.jsonl.bz2").write_bytes(bz2.compress(raw))
    files = input_files([tmp_path / "in"])
    assert [rel.name for _, rel in files] == ["a.jsonl.zst", "b.jsonl.bz2"]
    for path, _ in files:
        assert [d.text for d in read_documents(path)] == [g["text"] for g in GOOD]
        assert [d.text for d in StackReader(files=[str(path)]).run()] == [g["text"] for g in GOOD]


@pytest.mark.parametrize("line, problem", [
    (b"[" * 200_000 + b"]" * 200_000, "JSON nested too deeply to parse"),
    (b'{"problem": "caf\xe9", "solution": "x"}', "invalid UTF-8 at byte 17"),
])
def test_a_bad_benchmark_line_is_a_one_line_error_naming_it(tmp_path: Path, line, problem):
    from typer.testing import CliRunner

    from proofpile.cli import app

    bench = tmp_path / "m.jsonl"
    bench.write_bytes(lines_of(json.dumps({"problem": "p q r", "solution": "s"}).encode(), line))
    doc = tmp_path / "d.jsonl"
    doc.write_text(json.dumps({"id": "a", "text": "hello"}) + "\n")
    res = CliRunner().invoke(app, ["decontaminate", str(doc), "--out", str(tmp_path / "o"), "--bench-file",
                                   f"math={bench}"])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.exception  # not a traceback
    assert f"m.jsonl:2: not a benchmark record: {problem}" in res.output


def test_decontaminate_reads_on_past_a_damaged_parquet_row_group(tmp_path: Path, warnings_logged):
    from proofpile.decontam.run import read_documents

    rows = [{"id": f"d{i}", "text": "y" * 2000 + str(i)} for i in range(40)]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=10)
    damaged = bytearray(path.read_bytes())
    chunk = pq.ParquetFile(path).metadata.row_group(2).column(1)  # the third group's text
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    damaged[start : start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
    path.write_bytes(bytes(damaged))
    counted: list[str] = []
    docs = list(read_documents(path, counted.append))
    assert [d.id for d in docs] == [r["id"] for r in rows[:20] + rows[30:]]
    assert counted == ["skipped_row_group_damaged"]
    assert any("t.parquet: row group 2 unreadable after row 20" in m for m in warnings_logged)
