"""Benchmark `proofpile pack`: peak memory against GPT-NeoX's preprocessing loop at several input sizes, and
(with --speed) throughput against bare sentencepiece encode (the limit) and datatrove's tokenizer steps.

    python bench/pack.py [--mb 20 50 150] [--workers 1] [--speed] [--workdir /tmp/proofpile-bench-pack]

Memory: `proofpile pack` runs as a subprocess per size and its peak RSS is the kernel's (ru_maxrss: the
largest of the process and the workers it reaped). It must stay flat as the input grows. The peer is
GPT-NeoX's `tools/preprocess_data.py` loop as its documentation describes it (read JSONL one document at a
time, encode, append the EOD id, append the ids to the `.bin`, keep only the sizes for the `.idx`), written
here in a few lines because GPT-NeoX itself is not installable; it runs in its own subprocess too.

The corpus is a build directory (arxiv / open-web-math / algebraic-stack subsets) assembled from real text:
the LaTeX projects, MATH problems and labelled web pages in ../shared/data, and Python sources of installed
packages (sympy, numpy, datatrove) as code. Per-core figures divide by CPU seconds of the process and its
children, so they hold on a loaded machine and count the Rust thread pool datatrove's tokenizer uses; wall
figures are shown too. The tokenizer is the Llama 2 sentencepiece model (Code Llama's pieces minus its 16
infilling tokens) from shared data; without it the bench says so and exits.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import resource
import shutil
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(__import__("os").environ.get("PROOFPILE_TEST_DATA", REPO.parent / "shared" / "data"))


def cpu_seconds() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _arxiv_tex() -> list[str]:
    out = []
    for p in sorted((SHARED / "arxiv").glob("*.gz")):
        raw = gzip.open(p).read()
        try:
            with tarfile.open(fileobj=io.BytesIO(raw)) as t:
                for m in t.getmembers():
                    if m.isfile() and m.name.endswith(".tex"):
                        out.append(t.extractfile(m).read().decode("utf-8", "replace"))
        except tarfile.ReadError:
            out.append(raw.decode("utf-8", "replace"))
    return out


def _pools() -> dict[str, list[tuple[str, str]]]:
    """(lang, text) pools per subset, all real text nobody here wrote."""
    tex = [("tex", t) for t in _arxiv_tex()]
    web = []
    for p in sorted((SHARED / "html").rglob("*.html")):
        web.append(("en", p.read_text(encoding="utf-8", errors="replace")))
    with gzip.open(SHARED / "classifier" / "train.jsonl.gz", "rt") as f:
        web += [("en", json.loads(line)["text"]) for line in f]
    for line in open(SHARED / "benchmarks" / "math_test.jsonl"):
        r = json.loads(line)
        web.append(("en", r["problem"] + "\n\n" + r["solution"]))
    import datatrove

    pkgs = Path(datatrove.__file__).parents[1]
    code = []
    for pkg in ("sympy", "numpy", "datatrove"):
        for p in sorted((pkgs / pkg).rglob("*.py")):
            text = p.read_text(encoding="utf-8", errors="replace")
            if 200 < len(text) < 200_000:
                code.append(("python", text))
    samples = REPO / "proofpile" / "samples" / "algebraic_stack" / "repos"
    for ext, lang in ((".lean", "lean"), (".v", "coq"), (".thy", "isabelle"), (".m", "matlab")):
        code += [(lang, p.read_text(encoding="utf-8", errors="replace")) for p in samples.rglob(f"*{ext}")]
    return {"arxiv": tex, "open-web-math": web, "algebraic-stack": code}


def make_corpus(root: Path, mb: int) -> Path:
    from datatrove.data import Document

    from proofpile.shards import ShardSet, shard_key, to_row

    marker = root / "corpus.json"
    if marker.is_file() and json.loads(marker.read_text()).get("mb") == mb:
        return root
    if root.exists():
        shutil.rmtree(root)
    pools = _pools()
    rng = random.Random(0)
    shares = [("arxiv", 0.3), ("open-web-math", 0.35), ("algebraic-stack", 0.35)]
    shards = ShardSet(max_shard_bytes=64 * 2**20, row_group_rows=1000, of_total=True)
    root.mkdir(parents=True)
    jsonl = open(root / "corpus.jsonl", "w", encoding="utf-8")  # the peer reads JSONL, one line per document
    total, i = 0, 0
    while total < mb * 1_000_000:
        subset = rng.choices([s for s, _ in shares], [w for _, w in shares])[0]
        lang, text = rng.choice(pools[subset])
        if subset == "arxiv" and len(text) > 4000:  # windows of the few long papers, so they do not repeat whole
            a = rng.randrange(0, len(text) - 2000)
            text = text[a : a + rng.randint(2000, 40_000)]
        doc = Document(text=text, id=f"b{i}", metadata={"subset": subset, "lang": lang})
        split = "validation" if i % 200 == 7 else "train"
        shards.write(root / "data" / subset, shard_key(split, lang), to_row(doc))
        jsonl.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        total += len(text.encode("utf-8"))
        i += 1
    shards.close()
    jsonl.close()
    (root / "manifest.json").write_text("{}")
    marker.write_text(json.dumps({"mb": mb, "documents": i, "bytes": total}))
    return root


def texts_of(root: Path) -> list[str]:
    import pyarrow.parquet as pq

    out = []
    for p in sorted(root.glob("data/*/*.parquet")):
        out += pq.read_table(p, columns=["text"]).column(0).to_pylist()
    return out


def timed(fn) -> tuple[float, float, object]:
    c0, t0 = cpu_seconds(), time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, cpu_seconds() - c0, result


#: runs a command and prints its peak RSS; a launcher this small forks the command, because Linux keeps a
#: forked child's high-water mark across exec (measured from the bench itself, every run would show its size)
LAUNCH = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
          "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peak_rss(cmd: list[str]) -> tuple[float, float]:
    """(peak RSS in MB of the largest process among `cmd` and the workers it reaped, wall seconds)."""
    import subprocess

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", LAUNCH, *cmd], capture_output=True, text=True)
    code, kb = map(int, proc.stdout.split())
    if code:
        raise SystemExit(f"{' '.join(cmd)}: exit {code}\n{proc.stderr[-3000:]}")
    return kb / 1024, time.perf_counter() - t0


def neox_loop(jsonl: Path, model: Path, prefix: Path) -> None:
    """GPT-NeoX's preprocess loop: one document at a time -> encode -> + EOD -> .bin; sizes kept for the .idx."""
    import numpy as np
    import sentencepiece as spm

    from proofpile.pack.megatron import encode_index

    sp = spm.SentencePieceProcessor(model_file=str(model))
    sizes = []
    with open(jsonl, encoding="utf-8") as f, open(str(prefix) + ".bin", "wb") as out:
        for line in f:
            ids = sp.encode(json.loads(line)["text"]) + [sp.eos_id()]
            out.write(np.array(ids, dtype=np.uint16).tobytes())
            sizes.append(len(ids))
    Path(str(prefix) + ".idx").write_bytes(encode_index(np.array(sizes), np.dtype(np.uint16)))


def memory_table(sizes: list[int], workdir: Path, model: Path, workers: int) -> list[tuple]:
    rows = []
    for mb in sizes:
        corpus = make_corpus(workdir / f"corpus-{mb}", mb)
        info = json.loads((corpus / "corpus.json").read_text())
        out = workdir / f"pack-{mb}"
        shutil.rmtree(out, ignore_errors=True)
        pack_rss, pack_s = peak_rss([sys.executable, "-m", "proofpile", "pack", str(corpus), "--tokenizer", str(model),
                                     "--out", str(out), "--workers", str(workers), "--no-progress"])
        peer_rss, peer_s = peak_rss([sys.executable, __file__, "--neox-loop", str(corpus / "corpus.jsonl"), str(model),
                                     str(workdir / f"neox-{mb}")])
        rows.append((info["bytes"] / 1e6, info["documents"], pack_rss, pack_s, peer_rss, peer_s))
    print(f"\n{'text MB':>8s} {'docs':>8s} {'pack peak MB':>13s} {'pack s':>7s} "
          f"{'neox-loop peak MB':>18s} {'neox s':>7s}")
    for mb, docs, a, at, b, bt in rows:
        print(f"{mb:8.1f} {docs:8,d} {a:13.0f} {at:7.1f} {b:18.0f} {bt:7.1f}")
    growth = rows[-1][2] - rows[0][2]
    print(f"pack peak RSS grows {growth:+.0f} MB from {rows[0][0]:.0f} to {rows[-1][0]:.0f} MB of text "
          f"(--workers {workers}; peak of the largest process)")
    return rows


def speed_table(mb: int, workdir: Path, model: Path, hf_json: Path, skip_datatrove: bool) -> None:
    corpus = make_corpus(workdir / f"corpus-{mb}", mb)
    texts = texts_of(corpus)
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    print(f"corpus: {len(texts):,} documents, {nbytes / 1e6:.1f} MB under {corpus}")

    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model))

    def bare():
        n = 0
        for i in range(0, len(texts), 1000):
            n += sum(map(len, sp.encode(texts[i : i + 1000], num_threads=1)))
        return n

    rows = []
    wall, cpu, tokens = timed(bare)
    rows.append(("sentencepiece encode (bare, 1 thread)", wall, cpu, tokens))
    texts.clear()  # free the corpus copy before the packs run

    from proofpile.pack import pack

    for workers in (1, 2):
        out = workdir / f"pack-w{workers}"
        shutil.rmtree(out, ignore_errors=True)
        wall, cpu, rec = timed(lambda: pack(corpus, model, out, workers=workers))
        body = rec["total"]["tokens"] - 2 * rec["total"]["documents"]  # without <s>/</s>, as the others count
        rows.append((f"proofpile pack --workers {workers}", wall, cpu, body))
    same = all((workdir / "pack-w1" / p["prefix"]).with_suffix(".bin").read_bytes()
               == (workdir / "pack-w2" / p["prefix"]).with_suffix(".bin").read_bytes() for p in rec["prefixes"])

    if not skip_datatrove:
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.tokens.megatron_tokenizer import MegatronDocumentTokenizer
        from datatrove.pipeline.tokens.tokenizer import DocumentTokenizer

        from proofpile.logs import quiet_datatrove
        from proofpile.shard_io import ShardReader

        quiet_datatrove()
        files = [str(p) for p in sorted(corpus.glob("data/*/*.parquet"))]
        for name, step in (
            ("datatrove MegatronDocumentTokenizer", lambda o: MegatronDocumentTokenizer(
                o, tokenizer_name_or_path=str(hf_json), eos_token="</s>")),
            ("datatrove DocumentTokenizer", lambda o: DocumentTokenizer(
                o, tokenizer_name_or_path=str(hf_json), eos_token="</s>", seed=0)),
        ):
            out = workdir / name.split()[-1]
            shutil.rmtree(out, ignore_errors=True)
            ex = LocalPipelineExecutor([ShardReader(files), step(str(out / "data"))], tasks=1, workers=1,
                                       logging_dir=str(out / "logs"))
            wall, cpu, _ = timed(ex.run)
            size = sum(p.stat().st_size for p in (out / "data").rglob("*") if p.suffix in (".bin", ".ds"))
            rows.append((name, wall, cpu, size // 2))

    base = nbytes / rows[0][2]
    print()
    print(f"{'run':40s} {'wall s':>7s} {'cpu s':>7s} {'MB/s':>6s} {'MB/s/core':>9s} {'Mtok/s/core':>11s} {'vs bare/core':>12s}")
    for name, wall, cpu, tokens in rows:
        per_core = nbytes / cpu
        print(f"{name:40s} {wall:7.1f} {cpu:7.1f} {nbytes / 1e6 / wall:6.2f} {per_core / 1e6:9.2f} "
              f"{tokens / cpu / 1e6:11.3f} {per_core / base:12.0%}")
    w1, w2 = rows[1][1], rows[2][1]
    print(f"\nscaling: --workers 2 is {w1 / w2:.2f}x --workers 1 (wall); outputs byte-identical: {same}")
    print("token counts: bare/pack count the text's ids; datatrove's include its one </s> per document")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, nargs="+", default=[20, 50, 150], help="corpus sizes in MB of UTF-8 text")
    ap.add_argument("--workers", type=int, default=1, help="--workers of the measured packs")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/proofpile-bench-pack"))
    ap.add_argument("--speed", action="store_true", help="also the throughput table, on the largest size")
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument("--neox-loop", nargs=3, metavar=("JSONL", "MODEL", "PREFIX"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.neox_loop:
        neox_loop(*map(Path, args.neox_loop))
        return
    model = SHARED / "tokenizer" / "llama2-tokenizer.model"
    hf_json = SHARED / "tokenizer" / "llama2-tokenizer.json"
    if not model.is_file():
        print(f"skipped: the Llama 2 tokenizer is not at {model} (set PROOFPILE_TEST_DATA)")
        return
    memory_table(sorted(args.mb), args.workdir, model, args.workers)
    if args.speed:
        speed_table(max(args.mb), args.workdir, model, hf_json, args.skip_datatrove)


if __name__ == "__main__":
    main()
