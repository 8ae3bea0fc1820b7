"""arXiv source: safe unpacking of hostile archives, e-prints over real HTTP, metadata filters, and
`proofpile build arxiv` through the real CLI on the archives in ../shared/data/arxiv."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import json
import tarfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from proofpile.documents import stable_id
from proofpile.extract.latex import LatexCleaner
from proofpile.sources.arxiv import (
    ArxivReader,
    Limits,
    Unit,
    parse_paper_name,
    plan_units,
    unpack_paper,
)

from .test_build import output_files, run_cli

PAPER = (b"\\documentclass{article}\\newcommand{\\sq}[1]{#1^2}\\begin{document}\\begin{abstract}Short.\\end{abstract}"
         b"\\section{One}We square: $\\sq{x}$. \\input{part}\\end{document}\n")


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(buf.getvalue(), mtime=0)


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@functools.cache
def hostile_papers() -> dict[str, bytes]:
    """Self-made e-prints, each exercising one hostile or broken case."""
    bomb = gzip.compress(b"\0" * (16 * 2**20), mtime=0)  # 16 MiB of zeros in 16 KB: a ratio of 1000
    empty_tar = io.BytesIO()
    tarfile.open(fileobj=empty_tar, mode="w").close()
    return {
        "2302.00001.gz": tar_gz([regular("main.tex", PAPER), regular("part.tex", b"Included part."),
                                 regular("../../etc/evil.tex", b"escaped"), regular("/abs/evil.tex", b"abs"),
                                 special("link.tex", tarfile.SYMTYPE, "/etc/passwd"),
                                 special("hard.tex", tarfile.LNKTYPE, "main.tex"),
                                 special("dev.tex", tarfile.CHRTYPE), regular("fig.png", b"\x89PNG")]),
        "2302.00002.gz": bomb,
        "2302.00003.gz": gzip.compress(empty_tar.getvalue(), mtime=0),
        "2302.00004.gz": gzip.compress(b"%PDF-1.4\n...", mtime=0),
        "2302.00005.gz": gzip.compress(b"\\documentclass{article}\\def\\x{\\x\\x}\\begin{document}\\section{R}"
                                       b"Recursing \\x forever.\\end{document}", mtime=0),
        "2302.00006.gz": gzip.compress(b"\\documentclass{article}\\begin{document}\\section{Na\xefve}"
                                       b"Th\xe9or\xe8me de Fermat.\\end{document}", mtime=0),
        "2302.00007.gz": b"\x1f\x8b\x08\x00garbage-not-deflate",
    }


def test_unpack_hostile_members_are_skipped_with_reasons():
    up = unpack_paper(hostile_papers()["2302.00001.gz"])
    assert up.reason is None
    assert sorted(up.files) == ["main.tex", "part.tex"]
    assert dict(up.skipped) == {"../../etc/evil.tex": "unsafe_path", "/abs/evil.tex": "unsafe_path",
                                "link.tex": "link", "hard.tex": "link", "dev.tex": "device"}
    assert up.not_text == 1


@pytest.mark.parametrize("name,reason", [("2302.00002.gz", "compression_ratio"), ("2302.00003.gz", "empty_archive"),
                                         ("2302.00004.gz", "pdf_only"), ("2302.00007.gz", "corrupt_gzip")])
def test_unpack_paper_level_skips(name, reason):
    assert unpack_paper(hostile_papers()[name]).reason == reason


def test_unpack_caps_size_and_file_count():
    data = tar_gz([regular(f"f{i}.tex", b"x" * 1000) for i in range(20)])
    assert unpack_paper(data, Limits(max_files=10)).reason == "too_many_files"
    assert unpack_paper(data, Limits(max_paper_bytes=5000)).reason == "too_large"
    assert unpack_paper(data, Limits(max_file_bytes=10)).reason == "no_text_files"


def test_paper_names():
    assert parse_paper_name("2301/2301.00001.gz").arxiv_id == "2301.00001"
    n = parse_paper_name("0601/math0601001v2.gz")
    assert (n.arxiv_id, n.version, n.yymm) == ("math/0601001", "v2", "0601")


def run_reader(units, **kw) -> tuple[list, dict]:
    reader, cleaner = ArxivReader(units, **kw), LatexCleaner()
    docs = list(cleaner.run(reader.run(None, 0, 1)))
    counts = {**{k: v.total for k, v in reader.stats.stats.items()}, **{k: v.total for k, v in cleaner.stats.stats.items()}}
    return docs, counts


def test_reader_on_hostile_archive_directory(tmp_path: Path):
    bulk = tmp_path / "arXiv_src_2302_001.tar"
    with tarfile.open(bulk, "w") as tf:
        for name, data in hostile_papers().items():
            info = tarfile.TarInfo(f"2302/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        tf.addfile(tarfile.TarInfo("2302/2302.00008.pdf"), io.BytesIO(b""))
    units, errors = plan_units([str(bulk)], [])
    docs, counts = run_reader(units)
    assert not errors
    by_id = {d.metadata["arxiv_id"]: d for d in docs}
    assert sorted(by_id) == ["2302.00001", "2302.00005", "2302.00006"]
    assert "Included part." in by_id["2302.00001"].text and "$x^2$" in by_id["2302.00001"].text
    assert by_id["2302.00001"].metadata["members_skipped"][0] == ["../../etc/evil.tex", "unsafe_path"]
    assert by_id["2302.00005"].metadata.get("macro_budget_exhausted") or by_id["2302.00005"].metadata["macro_depth_exceeded"]
    assert "Théorème de Fermat." in by_id["2302.00006"].text
    assert by_id["2302.00006"].metadata["decode_fallback"] == {"main.tex": "cp1252"}
    for reason in ("compression_ratio", "empty_archive", "corrupt_gzip"):
        assert counts[f"skipped_{reason}"] == 1, reason
    assert counts["skipped_pdf_only"] == 2  # a gzipped PDF and a bare `.pdf` member
    assert counts["member_skipped_unsafe_path"] == 2 and counts["member_skipped_link"] == 2
    assert counts["member_skipped_device"] == 1 and counts["flag_decode_fallback"] == 1
    assert by_id["2302.00001"].id == stable_id("arxiv", "2302.00001")


def test_empty_bulk_archive(tmp_path: Path):
    empty = tmp_path / "arXiv_src_2303_001.tar"
    tarfile.open(empty, "w").close()
    zero = tmp_path / "arXiv_src_2303_002.tar"
    zero.write_bytes(b"")
    docs, counts = run_reader(plan_units([str(empty), str(zero)], [])[0])
    assert docs == [] and counts["archive_empty"] == 1
    docs, counts = run_reader([Unit("bulk", str(zero))])
    assert docs == [] and counts["archive_empty"] == 1


class _EprintServer(http.server.ThreadingHTTPServer):
    def __init__(self, papers: dict[str, bytes]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.papers, self.hits, self.times = papers, {}, []


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        srv.times.append(time.monotonic())
        aid = self.path.rsplit("/e-print/", 1)[-1]
        srv.hits[aid] = srv.hits.get(aid, 0) + 1
        if aid == "2304.00002" and srv.hits[aid] == 1:  # a transient failure, then the paper
            self.send_response(503)
            self.end_headers()
            return
        data = srv.papers.get(aid)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-eprint-tar")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def eprint_server():
    papers = {"2304.00001": tar_gz([regular("main.tex", PAPER), regular("part.tex", b"Fetched part.")]),
              "2304.00002": gzip.compress(PAPER.replace(b"\\input{part}", b"Single file."), mtime=0)}
    srv = _EprintServer(papers)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_eprints_over_http_with_rate_limit_and_retries(eprint_server):
    url = f"http://127.0.0.1:{eprint_server.server_address[1]}/e-print/{{id}}"
    units, _ = plan_units([], ["2304.00001", "2304.00002", "2304.99999"])
    docs, counts = run_reader(units, eprint_url=url, request_interval=0.2, retries=2)
    assert [d.metadata["arxiv_id"] for d in docs] == ["2304.00001", "2304.00002"]
    assert "Fetched part." in docs[0].text and "Single file." in docs[1].text
    assert eprint_server.hits == {"2304.00001": 1, "2304.00002": 2, "2304.99999": 1}
    assert counts["skipped_http_404"] == 1
    gaps = [b - a for a, b in zip(eprint_server.times, eprint_server.times[1:])]
    assert min(gaps) >= 0.19, gaps


def test_metadata_attaches_and_filters(tmp_path: Path, shared_data: Path):
    meta = tmp_path / "oai.jsonl"
    recs = [{"id": "2301.00001", "categories": "math.RA cs.LO", "license": "http://creativecommons.org/licenses/by/4.0/",
             "versions": [{"version": "v1"}, {"version": "v2"}]},
            {"id": "2301.00002", "categories": "cs.CR", "license": None, "versions": [{"version": "v1"}]},
            {"id": "2301.00003", "categories": "math.AG", "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"}]
    meta.write_text("\n".join(json.dumps(r) for r in recs) + "\nnot json\n")
    units, _ = plan_units([str(shared_data / "arxiv" / "arXiv_src_2301_001.tar")], [])
    docs, counts = run_reader(units, metadata=str(meta), categories=["math.*", "cs.LO"])
    assert [d.metadata["arxiv_id"] for d in docs] == ["2301.00001", "2301.00003"]
    assert docs[0].metadata["categories"] == ["math.RA", "cs.LO"] and docs[0].metadata["version"] == "v2"
    assert docs[0].metadata["license"].endswith("/by/4.0/")
    assert counts["skipped_category"] == 1 and counts["skipped_no_metadata"] == 3
    docs, _ = run_reader(units, metadata=str(meta), licenses=["*creativecommons.org/licenses/by/*"])
    assert [d.metadata["arxiv_id"] for d in docs] == ["2301.00001"]


# ------------------------------------------------------------------------------------------------ the real CLI
def rows(out: Path) -> list[dict]:
    got = []
    for p in sorted((out / "data" / "arxiv").glob("*.parquet")):
        got += pq.read_table(p).to_pylist()
    return got


def arxiv_build(out: Path, shared_data: Path, *extra: str, paths=None) -> list[dict]:
    paths = paths or [shared_data / "arxiv" / "arXiv_src_2301_001.tar", shared_data / "arxiv" / "math0601001.gz"]
    run_cli("build", "arxiv", "--out", str(out), "--no-progress",
            "--set", "arxiv.paths=[" + ",".join(str(p) for p in paths) + "]", *extra)
    return rows(out)


def test_cli_build_real_archives(tmp_path: Path, shared_data: Path):
    got = arxiv_build(tmp_path / "pp", shared_data)
    metas = {json.loads(r["meta"])["arxiv_id"]: json.loads(r["meta"]) for r in got}
    assert sorted(metas) == ["2301.00001", "2301.00002", "2301.00003", "2301.00004", "2301.00005", "2301.00006",
                             "math/0601001"]
    for r in got:
        m = json.loads(r["meta"])
        assert r["id"] == stable_id("arxiv", m["arxiv_id"])
        assert (r["subset"], r["lang"], m["source"]) == ("arxiv", "latex", "arxiv")
        assert m["main_file"] and "files_inlined" in m and "macros_expanded" in m and m["cleaner"] == "proofpile"
    assert metas["math/0601001"]["yymm"] == "0601" and metas["2301.00004"]["yymm"] == "2301"
    assert len(metas["2301.00001"]["files_inlined"]) == 15
    text = {json.loads(r["meta"])["arxiv_id"]: r["text"] for r in got}
    assert "We report on the \\emph{Equational Theories Project}" in text["2301.00001"]

    rp = arxiv_build(tmp_path / "rp", shared_data, "--set", "arxiv.clean.mode=redpajama")
    assert len(rp) == 6
    manifest = json.loads((tmp_path / "rp" / "manifest.json").read_text())
    cleaner = next(row for row in manifest["funnel"] if "latex cleaner" in row["step"])
    assert (cleaner["in"], cleaner["out"], cleaner["dropped"]) == (7, 6, {"no_section": 1})


def test_cli_build_is_worker_independent_and_takes_directories(tmp_path: Path, shared_data: Path):
    papers = tmp_path / "papers"
    papers.mkdir()
    for name, data in hostile_papers().items():
        (papers / name).write_bytes(data)
    one = arxiv_build(tmp_path / "w1", shared_data, paths=[papers, shared_data / "arxiv" / "math0601001.gz"])
    arxiv_build(tmp_path / "w2", shared_data, "--workers", "2", paths=[papers, shared_data / "arxiv" / "math0601001.gz"])
    assert output_files(tmp_path / "w1") == output_files(tmp_path / "w2")
    assert len(one) == 4
    manifest = json.loads((tmp_path / "w1" / "manifest.json").read_text())
    reader = next(row for row in manifest["funnel"] if "READER: arxiv" in row["step"])
    assert reader["dropped"] == {"compression_ratio": 1, "empty_archive": 1, "pdf_only": 1, "corrupt_gzip": 1}


def test_member_names_are_escaped_in_log_lines(tmp_path: Path, warnings_logged):
    """A member name is chosen by whoever made the archive: in a log line it must not move the cursor, clear
    the terminal or start a forged line of its own."""
    bulk = tmp_path / "arXiv_src_2302_001.tar"
    with tarfile.open(bulk, "w") as tf:
        info = tarfile.TarInfo("2302/2302.00001\x1b[2J\nWARNING: all fine.gz")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    run_reader([Unit("bulk", str(bulk))])
    line = next(m for m in warnings_logged if "skipped: link" in m)
    assert "2302.00001\\x1b[2J\\nWARNING: all fine.gz" in line and line.isprintable()


def test_eprint_url_credentials_stay_out_of_meta(tmp_path: Path, shared_data):
    from .warc_server import serve

    (tmp_path / "e-print").mkdir()
    (tmp_path / "e-print" / "2301.00002").write_bytes((shared_data / "arxiv" / "2301.00002.gz").read_bytes())
    with serve(tmp_path) as (base, _):
        docs, _ = run_reader([Unit("ids", ids=("2301.00002",))], eprint_url=base + "e-print/{id}?token=CANARY",
                             request_interval=0, retries=0)
    assert docs and all("CANARY" not in json.dumps(d.metadata) + "".join(m.url for m in d.media) for d in docs)
    assert docs[0].metadata["origin"] == f"{base}e-print/2301.00002?token=REDACTED"
