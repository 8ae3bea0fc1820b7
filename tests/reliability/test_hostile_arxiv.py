"""Hostile arXiv inputs through a real `arxiv` build: every one is a counted, named skip and the build finishes."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import random
import tarfile
import zlib
from pathlib import Path

import pytest

from .helpers import build, counts, drops, rows, task_warnings


def good(n: int) -> bytes:
    """A small real paper; each differs, so chunk-exact dedup keeps them all."""
    return (b"\\documentclass{article}\\title{A Good Paper}\\begin{document}\\maketitle\\section{Result %d}"
            b"For every prime $p$ we have $a^p \\equiv a \\pmod p$, which is Fermat's little theorem.\\end{document}"
            % n)
CAP = 16 * 2**20  # --set arxiv.max_paper_bytes: low enough that the size bomb below stays a few MB


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname, info.mtime = size, kind, link, 0
    return info


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buf.getvalue()


def _unterminated(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """Tar members without the end-of-archive blocks, so that bytes appended after them are read as members."""
    return b"".join(info.tobuf(tarfile.GNU_FORMAT) + data + bytes(-len(data) % 512) for info, data in members)


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return _info(name, len(data)), data


def _gz(data: bytes, level: int = 6) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


def _zeros_gz(n: int) -> bytes:
    """n zero bytes gzipped, without ever holding n bytes."""
    c = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 24)
    return b"".join([c.compress(block) for _ in range(n >> 24)] + [c.flush()])


def _latex(body: bytes, preamble: bytes = b"") -> bytes:
    return (b"\\documentclass{article}" + preamble + b"\\begin{document}\\section{Bomb}" + body
            + b" Some ordinary words follow the macro.\\end{document}")


def _hostile_papers() -> dict[str, bytes]:
    rng = random.Random(0)
    exp_names = [f"m{chr(97 + i)}" for i in range(26)]  # \ma -> \mb\mb -> ... : 2^25 copies of \mz
    exponential = b"".join(f"\\def\\{a}{{\\{b}\\{b}}}".encode() for a, b in itertools.pairwise(exp_names))
    exponential += b"\\def\\mz{x}"
    nested_args = b"\\newcommand{\\twice}[1]{#1#1}"
    return {
        # a good project whose archive also tries to escape and to link out: the paper stays, those members go
        "2303.00001.gz": _gz(_tar([
            _file("main.tex", good(1)),
            _file("../../../etc/evil.tex", b"escaped"),
            _file("/etc/cron.d/evil.tex", b"absolute"),
            (_info("passwd.tex", kind=tarfile.SYMTYPE, link="/etc/passwd"), b""),
            (_info("hard.tex", kind=tarfile.LNKTYPE, link="/etc/shadow"), b""),
        ])),
        "2303.00002.gz": _zeros_gz(512 * 2**20),  # gzip bomb: 512 MiB of zeros in 0.5 MB
        "2303.00003.gz": _gz(rng.randbytes(CAP // 2 + 2**20).hex().encode(), level=1),  # inflates past the cap
        # tar bomb: more members than max_files (10,000); random names keep its compression ratio ordinary
        "2303.00004.gz": _gz(_tar([_file(f"d/{rng.randbytes(16).hex()}.tex", b"") for _ in range(12_000)])),
        # a member declaring 64 GiB that is not there: the archive ends inside it
        "2303.00005.gz": _gz(_info("main.tex", 64 * 2**30).tobuf(tarfile.GNU_FORMAT) + b"\\section{x}" * 50),
        # the same after a good main file: the paper is kept, the rest of the archive is counted as damaged
        "2303.00006.gz": _gz(_unterminated([_file("main.tex", good(6))])
                             + _info("figure.eps", 64 * 2**30).tobuf(tarfile.GNU_FORMAT) + bytes(4096)),
        # LaTeX macro bombs: exponential, self-recursive, and nested arguments doubling 40 times
        "2303.00007.gz": _gz(_latex(b"Expand \\ma now.", exponential)),
        "2303.00008.gz": _gz(_latex(b"Recurse \\loopy forever.", b"\\newcommand{\\loopy}{a\\loopy}")),
        "2303.00009.gz": _gz(_latex(b"\\twice{" * 40 + b"ab" + b"}" * 40, nested_args)),
    }


def _bulk(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], truncated_tail: bytes = b"") -> Path:
    path.write_bytes(_unterminated(members) + truncated_tail if truncated_tail else _tar(members))
    return path


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("arxiv")
    inputs = root / "in"
    inputs.mkdir()
    papers = _hostile_papers()
    bulk = _bulk(inputs / "arXiv_src_2303_001.tar", [
        *[_file(f"2303/{name}", data) for name, data in papers.items()],
        # members of the bulk archive itself that escape or link: the paper behind them is skipped
        _file("../2303.00010.gz", _gz(good(10))),
        _file("/tmp/2303.00011.gz", _gz(good(11))),
        (_info("2303/2303.00012.gz", kind=tarfile.SYMTYPE, link="/etc/passwd"), b""),
        (_info("2303/2303.00013.gz", kind=tarfile.LNKTYPE, link="2303/2303.00001.gz"), b""),
    ])
    # a bulk archive whose last member declares 1 TiB and stops: the papers before it are kept
    cut = _bulk(inputs / "arXiv_src_2303_002.tar", [_file("2303/2303.00020.gz", _gz(good(20)))],
                truncated_tail=_info("2303/2303.00021.gz", 2**40).tobuf(tarfile.GNU_FORMAT) + bytes(8192))
    single = inputs / "2303.00030.gz"  # a paper file on its own that is a decompression bomb
    single.write_bytes(_zeros_gz(64 * 2**20))
    out = root / "out"
    manifest = build("arxiv", out, f"arxiv.paths=[{bulk}, {cut}, {single}]", f"arxiv.max_paper_bytes={CAP}")
    return out, manifest


def test_each_hostile_paper_is_a_named_skip(hostile_build):
    out, manifest = hostile_build
    dropped, counted = drops(manifest), counts(manifest)
    assert counted["papers_seen"] == 13 + 1 + 1  # bulk members that are papers, the cut archive's first, the file
    expected = {
        "compression_ratio": 2,  # the gzip bombs, in the bulk archive and on their own
        "too_large": 1,
        "too_many_files": 1,
        "corrupt_tar": 1,
        "unsafe_path": 2,  # `..` and absolute names of bulk members
        "link": 2,  # symlink and hard link bulk members
    }
    for reason, n in expected.items():
        assert dropped[reason] == n, (reason, dict(dropped))
    # the hostile members of a kept paper are counted by reason; the paper goes on
    assert counted["member_skipped_unsafe_path"] == 2 and counted["member_skipped_link"] == 2
    assert counted["member_skipped_corrupt_tar"] == 1
    assert counted["archive_corrupt"] == 1  # the bulk archive cut inside its 1 TiB member
    warnings = task_warnings(out, "arxiv")
    assert any("2303.00002.gz: skipped: compression_ratio" in w for w in warnings), warnings
    assert any("arXiv_src_2303_002.tar: bulk archive unreadable after 1 members" in w and "past the archive's end" in w
               for w in warnings), warnings
    assert all("\n" not in w for w in warnings)


def test_kept_papers_and_bounded_macro_bombs(hostile_build):
    out, manifest = hostile_build
    kept = {json.loads(r["meta"])["arxiv_id"]: r for r in rows(out)}
    assert sorted(kept) == ["2303.00001", "2303.00006", "2303.00007", "2303.00008", "2303.00009", "2303.00020"]
    assert "Fermat's little theorem" in kept["2303.00001"]["text"]
    assert "escaped" not in kept["2303.00001"]["text"] and "root:" not in kept["2303.00001"]["text"]
    meta = json.loads(kept["2303.00001"]["meta"])
    assert sorted(r for _, r in meta["members_skipped"]) == ["link", "link", "unsafe_path", "unsafe_path"]
    counted = counts(manifest)
    assert counted["flag_macro_budget_exhausted"] + counted["flag_macro_depth_exceeded"] >= 3
    for paper in ("2303.00007", "2303.00008", "2303.00009"):
        # the expansion budget (2x the input + 64 KiB) holds: no paper grows into a bomb
        assert len(kept[paper]["text"]) < 200_000, (paper, len(kept[paper]["text"]))
        assert "Some ordinary words follow the macro." in kept[paper]["text"]
