"""Throughput of arXiv unpack + flatten + clean, per core, proofpile mode beside RedPajama's rules.

    python bench/arxiv.py [--mb 200] [--data ../shared/data/arxiv]

Runs over the real papers in `<data>/*.gz`, repeated until at least `--mb` MB of unpacked LaTeX have been
processed, once per mode, in one process (so the numbers are per core). Prints papers/s and MB/s (MB of
unpacked text files, and of the compressed e-prints), and what each mode keeps of the same papers: papers
with any text, characters, and abstracts (a paper's abstract counts as kept when its first 80 characters, read
from the source, appear in the output).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from proofpile.extract.latex import CleanOptions, clean_project, find_abstract
from proofpile.extract.latex_flatten import strip_comments
from proofpile.sources.arxiv import unpack_paper

REPO_ROOT = Path(__file__).resolve().parents[1]


def _squash(text: str) -> str:
    return " ".join(text.split())


def reference_abstract(files: dict[str, bytes]) -> str | None:
    for data in files.values():
        found = find_abstract(strip_comments(data.decode("utf-8", "replace")))
        if found:
            return _squash(found)[:80]
    return None


def run_mode(papers: list[tuple[str, bytes]], mode: str, target_bytes: int) -> dict:
    opts = CleanOptions(mode=mode)
    done = text_bytes = gz_bytes = 0
    kept_chars: dict[str, int] = {}
    kept_abstract: dict[str, bool] = {}
    kept_paper: dict[str, bool] = {}
    t0 = time.perf_counter()
    while text_bytes < target_bytes:
        for name, data in papers:
            up = unpack_paper(data)
            res = clean_project(up.files, opts)
            done += 1
            gz_bytes += len(data)
            text_bytes += sum(len(b) for b in up.files.values())
            if name not in kept_chars:
                ref = reference_abstract(up.files)
                kept_chars[name] = len(res.text)
                kept_paper[name] = bool(res.text.strip())
                kept_abstract[name] = bool(ref) and ref in _squash(res.text)
    secs = time.perf_counter() - t0
    return {"mode": mode, "papers": done, "secs": secs, "papers_s": done / secs, "mb_s": text_bytes / 1e6 / secs,
            "gz_mb_s": gz_bytes / 1e6 / secs, "mb": text_bytes / 1e6, "kept_papers": sum(kept_paper.values()),
            "chars": sum(kept_chars.values()), "abstracts": sum(kept_abstract.values())}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=200.0, help="MB of unpacked LaTeX per mode (default 200)")
    ap.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "arxiv")
    args = ap.parse_args(argv)
    papers = [(p.name, p.read_bytes()) for p in sorted(args.data.glob("*.gz"))]
    if not papers:
        sys.exit(f"{args.data}: no <id>.gz papers found")
    with_abstract = sum(1 for _, d in papers if reference_abstract(unpack_paper(d).files))
    rows = [run_mode(papers, mode, int(args.mb * 1e6)) for mode in ("proofpile", "redpajama")]
    print(f"{len(papers)} real papers from {args.data}, repeated to >= {args.mb:g} MB of unpacked LaTeX per mode; "
          f"1 process; {with_abstract} papers have an abstract")
    head = f"{'mode':10s} {'papers':>7s} {'secs':>7s} {'papers/s':>9s} {'MB/s':>7s} {'gz MB/s':>8s} " \
           f"{'kept':>6s} {'chars kept':>11s} {'abstracts':>10s}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['mode']:10s} {r['papers']:7d} {r['secs']:7.1f} {r['papers_s']:9.1f} {r['mb_s']:7.2f} "
              f"{r['gz_mb_s']:8.2f} {r['kept_papers']:4d}/{len(papers)} {r['chars']:11,d} "
              f"{r['abstracts']:6d}/{with_abstract}")


if __name__ == "__main__":
    main()
