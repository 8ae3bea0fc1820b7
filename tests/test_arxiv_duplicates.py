"""One row per arXiv paper: versions side by side, a member repeated in a bulk tar, one paper in two inputs."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

from proofpile.documents import stable_id
from proofpile.sources.arxiv import plan_units
from proofpile.sources.arxiv_versions import superseded_papers, version_number

from .test_arxiv import arxiv_build, run_reader
from .test_build import output_files


def paper(words: str) -> bytes:
    return gzip.compress(b"\\documentclass{article}\\begin{document}\\section{Intro}" + words.encode()
                         + b" We square $x^2$ and sum the series.\\end{document}\n", mtime=0)


def bulk_tar(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_version_numbers_order_unversioned_first():
    assert [version_number(v) for v in (None, "", "v1", "v12", "vx", "v" + "9" * 20)] == [0, 0, 1, 12, 0, 0]


def test_a_member_repeated_in_a_bulk_tar_is_read_once(tmp_path: Path, warnings_logged):
    tar = bulk_tar(tmp_path / "arXiv_src_2303_001.tar", [
        ("2303/2303.00001.gz", paper("First copy.")),
        ("2303/2303.00002.gz", paper("Another paper.")),
        ("2303/2303.00001.gz", paper("Second copy, other bytes.")),
    ])
    units, _ = plan_units([str(tar)], [])
    docs, counts = run_reader(units)
    assert [d.metadata["arxiv_id"] for d in docs] == ["2303.00001", "2303.00002"]
    assert "First copy." in docs[0].text
    assert counts["skipped_duplicate_paper_id"] == 1 and counts["documents"] == 2
    assert any("2303.00001.gz: skipped: arXiv 2303.00001 was already read" in m for m in warnings_logged)


def test_the_highest_version_of_paper_files_is_read(tmp_path: Path, warnings_logged):
    d = tmp_path / "papers"
    d.mkdir()
    (d / "2303.00007v1.gz").write_bytes(paper("Version one."))
    (d / "2303.00007v2.gz").write_bytes(paper("Version two."))
    (d / "2303.00007.gz").write_bytes(paper("No version."))
    units, _ = plan_units([str(d)], [])
    assert superseded_papers(units) == {0: str(d / "2303.00007v2.gz"), 1: str(d / "2303.00007v2.gz")}
    docs, counts = [], {}
    from proofpile.extract.latex import LatexCleaner
    from proofpile.sources.arxiv import ArxivReader

    reader = ArxivReader(units)
    for rank in range(len(units)):
        docs += list(LatexCleaner().run(reader.run(None, rank, len(units))))
    assert len(docs) == 1 and "Version two." in docs[0].text and docs[0].metadata["version"] == "v2"
    assert reader.stats["skipped_duplicate_paper_id"].total == 2
    assert any("a newer version of this paper is read from" in m for m in warnings_logged)


def test_ids_are_unique_in_a_build_whatever_the_inputs_repeat(tmp_path: Path, shared_data: Path):
    arxiv = shared_data / "arxiv"
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "2303.00007v1.gz").write_bytes(paper("Version one of the paper."))
    (papers / "2303.00007v2.gz").write_bytes(paper("Version two of the paper."))
    # the same paper in the bulk tar and as a file: two tasks, so only finalize sees both
    paths = [arxiv / "arXiv_src_2301_001.tar", arxiv / "2301.00002.gz", papers]
    got = arxiv_build(tmp_path / "w1", shared_data, paths=paths)
    ids = [r["id"] for r in got]
    assert len(ids) == len(set(ids))
    metas = {json.loads(r["meta"])["arxiv_id"]: (r, json.loads(r["meta"])) for r in got}
    assert sorted(metas) == ["2301.00001", "2301.00002", "2301.00003", "2301.00004", "2301.00005", "2301.00006",
                             "2303.00007"]
    assert metas["2301.00002"][1]["origin"].endswith("arXiv_src_2301_001.tar:2301/2301.00002.gz")  # first input
    assert "Version two" in metas["2303.00007"][0]["text"]
    assert metas["2303.00007"][0]["id"] == stable_id("arxiv", "2303.00007")
    manifest = json.loads((tmp_path / "w1" / "manifest.json").read_text())
    steps = {row["step"]: row for row in manifest["funnel"]}
    final = next(row for name, row in steps.items() if "one document per arXiv paper" in name)
    assert final["dropped"] == {"duplicate_paper_id": 1}
    reader = next(row for name, row in steps.items() if "READER: arxiv" in name)
    assert reader["dropped"].get("duplicate_paper_id") == 1  # the v1 file
    arxiv_build(tmp_path / "w2", shared_data, "--workers", "2", paths=paths)
    assert output_files(tmp_path / "w1") == output_files(tmp_path / "w2")
