"""Decontamination throughput: proofpile's n-gram index vs datatrove's NGramsDecontFilter vs plain Python sets.

    python bench/decontaminate.py [--mb 500] [--peer-mb 20] [--bench-dir ../shared/data/benchmarks]

Generates math-like documents (prose sentences and LaTeX formulas with random numbers; deterministic), plants
verbatim MATH and GSM8K items in some of them, and reports per method: index build time and scan MB/s per
core (one process). proofpile scans the whole corpus; the two peers are much slower, so they scan the first
`--peer-mb` MB, which holds every plant. The hit sets on the planted documents must agree.

datatrove's filter tokenises English with spaCy; without spaCy installed its column is skipped with a note.
Its `NGramsDecontIndexer` needs lighteval (and breaks with current releases), so its index files are written
here in the format the filter reads: one `<task>.index.hashes` array of its n-gram hashes per benchmark.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("the of and a to in is that for it as with be by on are this which we let find prove show then "
         "function equation integer prime number value sum product matrix vector triangle circle angle "
         "probability area volume root polynomial sequence series limit derivative integral set group "
         "real complex positive negative even odd greater less equal therefore since because thus hence "
         "consider suppose given where such each every some all there exists unique solution answer").split()
FORMULAS = [r"$x^{%d} + %d x = %d$", r"$\frac{%d}{%d}$", r"$$\sum_{k=1}^{%d} k^2 = %d$$", r"\(a_{%d} = %d\)",
            r"$\sqrt{%d} \approx %d$", r"$f(x) = %dx^2 - %dx$", r"$\int_0^{%d} t\,dt = %d$", r"$%d \cdot %d$"]


def generate(rng: random.Random, target_bytes: int, plants: list[str], plant_every: int):
    """Yields (doc id, text, planted) until `target_bytes`; plants go into the first documents."""
    sentences = []
    for _ in range(4000):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18)))
        f = rng.choice(FORMULAS)
        sentences.append(f"{words.capitalize()} {f % tuple(rng.randint(1, 99) for _ in range(f.count('%d')))}.")
    size, n = 0, 0
    while size < target_bytes:
        text = " ".join(rng.choices(sentences, k=rng.randint(20, 120)))
        planted = None
        if n % plant_every == 0 and n // plant_every < len(plants):
            planted = n // plant_every
            cut = rng.randint(0, len(text))
            text = text[:cut] + " " + plants[planted] + " " + text[cut:]
        size += len(text.encode())
        yield f"doc{n:07d}", text, planted
        n += 1


def load_items(bench_dir: Path):
    from proofpile.decontam.benchmarks import load

    return load("math", bench_dir / "math_test.jsonl") + load("gsm8k", bench_dir / "gsm8k_test.jsonl")


def ours(items, corpus):
    from proofpile.decontam import Decontaminator

    t = time.process_time()
    index = Decontaminator(items)
    build = time.process_time() - t
    hits, size, t = set(), 0, time.process_time()
    for i in range(0, len(corpus), 64):  # as DecontaminationFilter batches them
        batch = corpus[i:i + 64]
        size += sum(len(text.encode()) for _, text, _ in batch)
        for (doc_id, _, _), found in zip(batch, index.matches_many([text for _, text, _ in batch])):
            if found:
                hits.add(doc_id)
    return build, size / (time.process_time() - t) / 1e6, hits


def python_sets(items, corpus, n=13):
    """The obvious implementation: a set of n-gram tuples over `normalize.tokens`."""
    from proofpile.decontam.benchmarks import iter_texts
    from proofpile.normalize import tokens

    t = time.process_time()
    grams = set()
    for _, _, text in iter_texts(items):
        toks = tokens(text)
        grams.update(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))
    build = time.process_time() - t
    hits, size, t = set(), 0, time.process_time()
    for doc_id, text, _ in corpus:
        size += len(text.encode())
        toks = tokens(text)
        if any(tuple(toks[i:i + n]) in grams for i in range(len(toks) - n + 1)):
            hits.add(doc_id)
    return build, size / (time.process_time() - t) / 1e6, hits


def datatrove_filter(items, corpus, n=13):
    try:
        import spacy  # noqa: F401
    except ImportError:
        return None
    import numpy as np
    from datatrove.data import Document
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter
    from datatrove.utils.text import ngrams, simplify_text
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    import xxhash

    config = NGramsDecontConfig(n_grams=n, find_query_ngrams=True)
    t = time.process_time()
    tokenizer = load_word_tokenizer("en")
    # datatrove's default xxhash64 passes `str`, which xxhash >= 4 rejects ("Strings must be encoded before
    # hashing"): the same hash over the UTF-8 bytes, set on the filter below too
    def hash_func(s: str) -> int:
        return xxhash.xxh64_intdigest(s.encode())
    folder = Path(tempfile.mkdtemp(prefix="dt-index-"))
    by_task: dict[str, set] = {}
    for it in items:  # what NGramsDecontIndexer.compute_hashes does, problem and solution both indexed
        for variants in it.fields.values():
            for text in variants:
                toks = tokenizer.word_tokenize(simplify_text(text, config.norm_config))
                by_task.setdefault(it.benchmark, set()).update(hash_func(" ".join(g)) for g in ngrams(toks, n))
    for task, hashes in by_task.items():
        np.array(sorted(hashes), dtype=config.hash_config.np_descr).tofile(folder / f"{task}.index.hashes")
    filt = NGramsDecontFilter(str(folder), config=config)
    filt.hash_func = hash_func
    filt.load_index_hashes()
    build = time.process_time() - t
    hits, size, t = set(), 0, time.process_time()
    for doc_id, text, _ in corpus:
        size += len(text.encode())
        if filt.filter(Document(text=text, id=doc_id)) is not True:
            hits.add(doc_id)
    return build, size / (time.process_time() - t) / 1e6, hits


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=500)
    ap.add_argument("--peer-mb", type=float, default=20)
    ap.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "data" / "benchmarks")
    ap.add_argument("--plants", type=int, default=200)
    args = ap.parse_args()
    items = load_items(args.bench_dir)
    bench_mb = sum(len(t.encode()) for it in items for v in it.fields.values() for t in v) / 1e6
    rng = random.Random(0)
    from proofpile.normalize import tokens

    # whole problems or solutions of 40+ tokens, so that every method's 13-grams can see them
    texts = [v[0] for it in items for v in it.fields.values() if len(tokens(v[0])) >= 40]
    plants = rng.sample(texts, args.plants)
    plant_every = 50
    corpus = list(generate(random.Random(1), int(args.mb * 1e6), plants, plant_every))
    total_mb = sum(len(t.encode()) for _, t, _ in corpus) / 1e6
    prefix, size = [], 0
    for doc in corpus:
        if size >= args.peer_mb * 1e6 and len(prefix) > plant_every * len(plants):
            break
        prefix.append(doc)
        size += len(doc[1].encode())
    planted = {d for d, _, p in prefix if p is not None}
    print(f"corpus: {total_mb:,.0f} MB generated, {len(corpus):,} documents, {len(planted)} with a planted item; "
          f"benchmarks: {len(items):,} items, {bench_mb:.1f} MB")

    rows = []
    b, speed, hits = ours(items, corpus)
    rows.append(("proofpile Decontaminator", b, speed, f"{total_mb:,.0f}", hits & {d for d, *_ in prefix}))
    b, speed, hits = python_sets(items, prefix)
    rows.append(("python set of token tuples", b, speed, f"{size / 1e6:,.0f}", hits))
    dt = datatrove_filter(items, prefix)
    if dt is None:
        print("note: spaCy is not installed, so datatrove's NGramsDecontFilter (English word tokenizer) is skipped; "
              "`pip install spacy` to include it")
    else:
        b, speed, hits = dt
        rows.append(("datatrove NGramsDecontFilter", b, speed, f"{size / 1e6:,.0f}", hits))
    base = next((r[2] for r in rows if r[0].startswith("datatrove")), None)
    print(f"\n{'method':30s} {'index build s':>13s} {'scan MB/s/core':>15s} {'scanned MB':>11s} "
          f"{'plants hit':>10s} {'other hits':>10s} {'vs datatrove':>12s}")
    for name, b, speed, mb, hits in rows:
        rel = f"{speed / base:.1f}x" if base else "-"
        print(f"{name:30s} {b:13.2f} {speed:15.2f} {mb:>11s} {len(hits & planted):>6d}/{len(planted):<3d} "
              f"{len(hits - planted):10d} {rel:>12s}")
    agree = all((r[4] & planted) == planted for r in rows)
    print(f"\nevery method finds every verbatim plant: {agree}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
