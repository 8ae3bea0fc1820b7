"""The bundled arXiv sample: short LaTeX papers written for proofpile, packed as an arXiv bulk archive.

The papers under `arxiv_papers/` were written for these samples (none is a real submission; the ids are made
up). A directory is a multi-file project and becomes a gzipped tar, a `.tex` file a single-file paper and
becomes a gzipped `.tex` (no tar, no file name in the gzip header), a `.pdf` a PDF-only submission stored as
is: the three shapes of the members of arXiv's `arXiv_src_YYMM_NNN.tar` bulk files. `PAPERS` says what each
one exercises and what the arXiv chain should do with it.

`write_arxiv_sample(dest)` writes `arXiv_src_sample_001.tar` with a `2401/` directory entry and members
`2401/<id>.gz` (or `.pdf`), sorted. Every tar entry has a fixed mtime, uid/gid 0, mode 0644, and every gzip
member mtime 0, so the bytes are the same on every run for a given zlib.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from .web import write_if_changed

__all__ = ["ARXIV_SRC", "BULK_NAME", "PAPERS", "Paper", "bulk_tar_bytes", "paper_members", "write_arxiv_sample"]

ARXIV_SRC = Path(__file__).resolve().parent / "arxiv_papers"
BULK_NAME = "arXiv_src_sample_001.tar"
_MTIME = 1704110400  # 2024-01-01T12:00:00Z

KEEP = "keep"


@dataclass(frozen=True)
class Paper:
    arxiv_id: str
    source: str  # under arxiv_papers/
    expect: str  # "keep", or the funnel reason that drops it
    why: str


PAPERS: tuple[Paper, ...] = (
    Paper("2401.00001", "2401.00001", KEEP,
          "amsart project: \\input{sections/lemmas}, a .bbl, \\newcommand with an argument, lemma with proof"),
    Paper("2401.00002", "2401.00002.tex", KEEP,
          "single gzipped .tex; holds the sample GSM8K question (decontamination drops it)"),
    Paper("2401.00003", "2401.00003", KEEP,
          "main file found among five .tex files (a referee letter and an old draft also have \\documentclass); "
          "a macro from a local .sty"),
    Paper("2401.00004", "2401.00004.tex", KEEP,
          "French paper: the arXiv recipe has no language filter (like the original), so it is kept"),
    Paper("2401.00005", "2401.00005", KEEP,
          "project with a figure in EPS (not text: counted, not kept) and \\includegraphics"),
    Paper("2401.00006", "2401.00006.pdf", "pdf_only", "PDF-only submission"),
)


def _text_bytes(path: Path) -> bytes:
    """A shipped file's bytes with CRLF normalised, so a Windows checkout packs the same archive."""
    return path.read_bytes().replace(b"\r\n", b"\n")


def _tarinfo(name: str, size: int, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 0 if directory else size
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.mtime = _MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _tar(entries: list[tuple[str, bytes | None]]) -> bytes:
    """GNU tar (the format arXiv uses) of (name, bytes) entries in the given order; None bytes = directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in entries:
            if data is None:
                tf.addfile(_tarinfo(name, 0, directory=True))
            else:
                tf.addfile(_tarinfo(name, len(data)), io.BytesIO(data))
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def paper_members() -> list[tuple[str, bytes]]:
    """(member name in the bulk tar, bytes) per shipped paper, in `PAPERS` order (sorted by id)."""
    out = []
    for paper in PAPERS:
        src = ARXIV_SRC / paper.source
        yymm = paper.arxiv_id[:4]
        if src.is_dir():
            files = sorted((p for p in src.rglob("*") if p.is_file()), key=lambda p: p.relative_to(src).as_posix())
            project = _tar([(p.relative_to(src).as_posix(), _text_bytes(p)) for p in files])
            out.append((f"{yymm}/{paper.arxiv_id}.gz", _gzip(project)))
        elif src.suffix == ".tex":
            out.append((f"{yymm}/{paper.arxiv_id}.gz", _gzip(_text_bytes(src))))
        else:
            out.append((f"{yymm}/{paper.arxiv_id}{src.suffix}", _text_bytes(src)))
    return sorted(out)


def bulk_tar_bytes() -> bytes:
    members = paper_members()
    dirs = sorted({name.split("/", 1)[0] + "/" for name, _ in members})
    return _tar([(d, None) for d in dirs] + list(members))


def write_arxiv_sample(dest: Path) -> list[Path]:
    """Write the sample bulk archive under `dest` (rewritten only when its bytes changed); returns [its path]."""
    path = Path(dest) / BULK_NAME
    write_if_changed(path, bulk_tar_bytes())
    return [path]
