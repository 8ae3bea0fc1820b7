"""Near-dedup speed against datatrove's MinHash, in one run, on a generated math-flavoured corpus.

    python bench/dedup.py [--mb 500] [--workers 2] [--sample-mb 40] [--spacy-sample-mb 4]

Columns, all with the same 12 bands x 10 rows (so the same S-curve):
- proofpile: `MinHasher` signatures, then the whole `near_dedup` (signatures, buckets, clusters, write, index);
- datatrove whitespace: `MinhashDedupSignature` with a tokenizer that splits on whitespace (datatrove's own
  `WhitespaceTokenizer` calls spaCy's multilingual model, so the bench passes a `str.split` WordTokenizer),
  then its Buckets -> Cluster -> Filter pipeline on the same shards;
- datatrove default: `MinhashDedupSignature` with its default English (spaCy) tokenizer. It signs ~0.3 MB/s
  per core, so only a sample is signed and its whole-dedup time is *estimated* from the whitespace run plus
  the extra signing time (marked `~`). Without spaCy installed the column says so.

Signature MB/s per core is measured in this process on the first `--sample-mb` of the corpus, as MB per CPU
second (`time.process_time`), so other load on a shared machine does not lower it; wall times use
`--workers` processes and do suffer from such load. Detection of the planted pairs (a run of words replaced so that the
word 5-gram Jaccard is 0.9 / 0.8 / 0.7 / 0.5; each original is copied once) is printed per tool beside the
S-curve; formulas tokenise differently in each tool, so their rates differ slightly. Peak RAM is `ru_maxrss` of this process and of its children.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proofpile.dedup.minhash import MinHasher, MinHashParams
from proofpile.dedup.near import NearDedupConfig, near_dedup

PARAMS = MinHashParams()
LEVELS = (0.9, 0.8, 0.7, 0.5)


def make_corpus(dest: Path, mb: int, seed: int = 0) -> tuple[list[Path], dict[float, list[tuple[str, str]]]]:
    """Prose words with inline formulas, ~4 KB documents; 2% of documents are planted near-copies."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(30000)]
    ops = ["+", "-", "=", "^2", "\\cdot", "\\frac{a}{b}", "\\leq", "\\sum_{i=1}^n"]
    formulas = [f"${'x' if i % 2 else 'y'}{ops[i % 8]}{i % 97}{ops[(i // 8) % 8]}z$" for i in range(5000)]
    vocab = words + formulas
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 0.9
    p /= p.sum()
    from datatrove.data import Document

    from proofpile.shards import ShardSet, to_row

    shards = ShardSet(max_shard_bytes=64 << 20)
    out_dir = dest / "in" / "open-web-math" / "train"
    pairs: dict[float, list[tuple[str, str]]] = {lv: [] for lv in LEVELS}
    total, i = 0, 0
    recent: list[list[str]] = []
    while total < mb * 1_000_000:
        n = int(rng.integers(300, 1100))
        idx = rng.choice(len(vocab), n, p=p)
        toks = [vocab[j] for j in idx]
        doc_id = f"doc-{i:08d}"
        if recent and rng.random() < 0.02:  # a planted copy of a recent original, each original copied once
            level = LEVELS[int(rng.integers(len(LEVELS)))]
            src_id, src = recent.pop(int(rng.integers(len(recent))))
            m = len(src) - 4
            d = int(round(m * (1 - level) / (1 + level)))  # shingles to destroy: a run of d-4 words
            run = max(1, d - 4)
            at = int(rng.integers(4, max(5, len(src) - run - 4)))
            toks = src[:at] + [words[j] for j in rng.integers(0, len(words), run)] + src[at + run :]
            pairs[level].append((src_id, doc_id))
        else:
            recent = (recent + [(doc_id, toks)])[-50:]
        text = " ".join(toks)
        shards.write(out_dir, "en", to_row(Document(text=text, id=doc_id,
                                                    metadata={"subset": "open-web-math", "lang": "en", "split": "train"})))
        total += len(text.encode())
        i += 1
    shards.close()
    return [p for p, _ in shards.finished], pairs


def texts_of(files: list[Path], mb: float) -> list[str]:
    out, size = [], 0
    for f in files:
        for t in pq.read_table(f, columns=["text"]).column("text").to_pylist():
            out.append(t)
            size += len(t.encode())
            if size >= mb * 1_000_000:
                return out
    return out


def mbytes(texts: list[str]) -> float:
    return sum(len(t.encode()) for t in texts) / 1e6


def ours_signature_rate(texts: list[str]) -> float:
    hasher = MinHasher(PARAMS)
    t = time.process_time()
    for i in range(0, len(texts), 256):
        sig, _ = hasher.signatures(texts[i : i + 256])
        hasher.band_keys(sig)
    return mbytes(texts) / (time.process_time() - t)


class SplitTokenizer:
    """`str.split` as a datatrove WordTokenizer (subclassed lazily so the import stays optional)."""

    @staticmethod
    def make():
        from datatrove.utils.word_tokenizers import WordTokenizer

        class _Split(WordTokenizer):
            def word_tokenize(self, text: str) -> list[str]:
                return text.split()

            def sent_tokenize(self, text: str) -> list[str]:
                return [text]

            def span_tokenize(self, text: str) -> list[tuple[int, int]]:
                return [(0, len(text))]

        return _Split()


def datatrove_config():
    from datatrove.pipeline.dedup.minhash import MinhashConfig

    return MinhashConfig(n_grams=PARAMS.ngram, num_buckets=PARAMS.bands, hashes_per_bucket=PARAMS.rows)


def _xxh64_str(text: str) -> int:
    import xxhash

    return xxhash.xxh64_intdigest(text.encode("utf-8", "surrogatepass"))


def datatrove_signer(folder: str, language):
    """datatrove's step as configured by default, except its hash function: datatrove 0.10.1 passes str to
    `xxhash.xxh64_intdigest`, which xxhash 4 rejects ("Strings must be encoded before hashing"), so the
    default config crashes here; we give it the same xxh64 on the UTF-8 bytes."""
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

    step = MinhashDedupSignature(output_folder=folder, config=datatrove_config(), language=language)
    step._hash_func = _xxh64_str
    return step


def datatrove_signature_rate(texts: list[str], language) -> float:
    step = datatrove_signer(tempfile.mkdtemp(), language)
    step.get_signature(step.get_shingles(texts[0]))  # load the tokenizer outside the timing
    t = time.process_time()
    for text in texts:
        sh = step.get_shingles(text)
        if sh.size:
            step.get_signature(sh)
    return mbytes(texts) / (time.process_time() - t)


def datatrove_dedup(files: list[Path], work: Path, workers: int, language) -> tuple[float, dict[str, set[str]]]:
    """datatrove's four MinHash stages on the same shards; returns wall time and the removed ids."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
    )
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import JsonlWriter

    from proofpile.logs import quiet_datatrove

    quiet_datatrove()
    cfg = datatrove_config()
    folder = str(files[0].parent)
    reader = lambda: ParquetReader(folder, glob_pattern="*.parquet", text_key="text", id_key="id")
    t = time.perf_counter()
    LocalPipelineExecutor([reader(), datatrove_signer(str(work / "sigs"), language)],
                          tasks=len(files), workers=workers, logging_dir=str(work / "l1")).run()
    LocalPipelineExecutor([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=cfg)],
                          tasks=cfg.num_buckets, workers=workers, logging_dir=str(work / "l2")).run()
    LocalPipelineExecutor([MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=cfg)],
                          tasks=1, workers=1, logging_dir=str(work / "l3")).run()
    LocalPipelineExecutor([reader(), MinhashDedupFilter(str(work / "remove"),
                                                        exclusion_writer=JsonlWriter(str(work / "removed")))],
                          tasks=len(files), workers=workers, logging_dir=str(work / "l4")).run()
    wall = time.perf_counter() - t
    removed = set()
    import gzip

    for f in (work / "removed").glob("*.jsonl.gz"):
        with gzip.open(f, "rt") as fh:
            removed |= {json.loads(line)["id"] for line in fh}
    return wall, removed


def detection(pairs: dict[float, list[tuple[str, str]]], removed: set[str]) -> str:
    """Share of planted pairs with one copy removed, per level, beside the S-curve."""
    cells = []
    for lv in LEVELS:
        got = np.mean([(a in removed) or (b in removed) for a, b in pairs[lv]]) if pairs[lv] else float("nan")
        cells.append(f"{lv}:{got:.2f}")
    return " ".join(cells)


def peak_rss_mb() -> tuple[float, float]:
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample-mb", type=float, default=40)
    ap.add_argument("--spacy-sample-mb", type=float, default=4)
    ap.add_argument("--skip-datatrove-dedup", action="store_true", help="signature rates only for datatrove")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-dedup-"))
    try:
        t = time.perf_counter()
        files, pairs = make_corpus(root, args.mb)
        sample = texts_of(files, args.sample_mb)
        total_mb = sum(mbytes(pq.read_table(f, columns=["text"]).column("text").to_pylist()) for f in files)
        print(f"corpus: {total_mb:,.0f} MB in {len(files)} shards, {sum(len(v) for v in pairs.values())} planted pairs "
              f"(generated in {time.perf_counter() - t:.0f} s); {args.workers} workers; machine shared, numbers noisy")
        print("S-curve 12x10: " + " ".join(f"{lv}:{PARAMS.p_candidate(lv):.2f}" for lv in LEVELS))

        rows = []
        ours_rate = ours_signature_rate(sample)
        t = time.perf_counter()
        near_dedup([root / "in"], root / "ours", NearDedupConfig(PARAMS), workers=args.workers)
        ours_wall = time.perf_counter() - t
        dup = pq.read_table(root / "ours" / "duplicates.parquet", columns=["id", "kept"]).to_pydict()
        ours_removed = {i for i, k in zip(dup["id"], dup["kept"]) if not k}
        ours_ram = peak_rss_mb()
        rows.append(("proofpile (math-aware shingles)", f"{ours_rate:.1f}", f"{ours_wall:.0f}", detection(pairs, ours_removed)))

        ws = SplitTokenizer.make()
        ws_rate = datatrove_signature_rate(sample, ws)
        ws_wall, ws_removed = (None, set())
        if not args.skip_datatrove_dedup:
            ws_wall, ws_removed = datatrove_dedup(files, root / "dt-ws", args.workers, ws)
        rows.append(("datatrove, whitespace tokenizer", f"{ws_rate:.1f}", "-" if ws_wall is None else f"{ws_wall:.0f}",
                     detection(pairs, ws_removed) if ws_wall is not None else "-"))

        try:
            import spacy  # noqa: F401

            spacy_rate = datatrove_signature_rate(texts_of(files, args.spacy_sample_mb), "eng")
            est = "-" if ws_wall is None else f"~{ws_wall + total_mb / args.workers * (1 / spacy_rate - 1 / ws_rate):.0f}"
            rows.append(("datatrove, default (spaCy en)", f"{spacy_rate:.2f}", est, "(sample only)"))
        except ImportError:
            rows.append(("datatrove, default (spaCy en)", "spaCy not installed", "-", "-"))

        head = ("", "signature MB/s/core", "whole dedup wall s", "planted pairs caught")
        widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(4)]
        for r in [head, *rows]:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
        print(f"speed-up over datatrove whitespace: {ours_rate / ws_rate:.1f}x (target >= 3x and >= 9 MB/s per core)")
        print(f"peak RAM after proofpile (ru_maxrss): this process {ours_ram[0]:,.0f} MB (includes the corpus "
              f"generator and the in-memory sample), largest worker {ours_ram[1]:,.0f} MB")
        self_mb, child_mb = peak_rss_mb()
        print(f"peak RAM at the end (after datatrove too): this process {self_mb:,.0f} MB, largest worker {child_mb:,.0f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
