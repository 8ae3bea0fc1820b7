"""Decontamination quality on a dev set: recall on planted test items, false removals on clean text, speed.

    python bench/decontaminate_quality.py [--small] [--per-source 400] [--plants 270] [--data ../shared/data]

MATH and GSM8K test items (../shared/data/benchmarks) are planted into clean host documents, four ways:
verbatim (problem and solution), reformatted (`$` -> `\\(`/`\\)`, `$$` -> `\\[`/`\\]`, doubled spaces, line
breaks moved), partial (the first half of a solution as a web page shows it, `[asy]` code rendered as a
picture; solutions of 600+ characters) and number-changed
(every number changed, both fields). Clean text is the classifier's training text
(classifier/train.jsonl.gz, its `source` field): independent math (PlanetMath, Stacks Project, StackMathQA,
textbooks, ...), non-math text, and MATH/GSM8K *train* problems, the benchmarks' siblings, reported as their
own group. Hosts come from the non-math sources and are kept out of the clean set.

Printed: recall per variant (removed; for number-changed, reported as `template` or stronger), false
removals per source, scan MB/s per core (both passes, as `proofpile decontaminate` runs them), and the same
for datatrove's NGramsDecontFilter on the same documents in the same run (13-grams of spaCy words; its
index is built here in the format the filter reads, since datatrove 0.10.1's indexer is broken).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

INDEPENDENT_MATH = ("planetmath", "stacks_project", "stackmathqa", "open_logic", "hott_book", "se_math_samples",
                    "levin_discrete")
SIBLINGS = ("math_train", "gsm8k_train")
VARIANTS = ("verbatim", "reformatted", "partial", "number-changed")


def load_clean(data: Path, per_source: int, hosts: int, rng: random.Random):
    by_source: dict[str, list[str]] = defaultdict(list)
    with gzip.open(data / "classifier" / "train.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            by_source[r["source"]].append(r["text"])
    host_pool, clean = [], {}
    for source in sorted(by_source):
        texts = by_source[source]
        rng.shuffle(texts)
        if source not in INDEPENDENT_MATH and source not in SIBLINGS:
            take = min(len(texts) // 3, hosts)
            host_pool += texts[:take]
            texts = texts[take:]
        clean[source] = texts[:per_source]
    return clean, host_pool


def reformat(text: str, rng: random.Random) -> str:
    text = re.sub(r"\$\$(.+?)\$\$", lambda m: "\\[" + m.group(1) + "\\]", text, flags=re.S)
    text = re.sub(r"\$(.+?)\$", lambda m: "\\(" + m.group(1) + "\\)", text, flags=re.S)
    words = re.split(r"(\s+)", text)
    out = []
    for w in words:
        if w.isspace():
            r = rng.random()
            out.append("\n" if r < 0.1 else "  " if r < 0.3 else " ")
        else:
            out.append(w)
    return "".join(out)


def change_numbers(text: str, rng: random.Random) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), text)


def _rendered(text: str) -> str:
    """The text as a web page shows it: Asymptote code becomes a picture (AoPS and the like render it)."""
    return re.sub(r"\[asy\].*?\[/asy\]", " ", text, flags=re.S)


def plant(host: str, insert: str, rng: random.Random) -> str:
    cut = host.rfind("\n", 0, rng.randint(0, len(host))) + 1
    return host[:cut] + "\n" + insert + "\n\n" + host[cut:]


def make_plants(items, hosts: list[str], per_variant: int, rng: random.Random):
    """(doc id, text, variant, (benchmark, item id)) for every planted document."""
    docs = []
    pool = [it for it in items if sum(len(v[0]) for v in it.fields.values()) > 200]
    long_sol = [it for it in pool if len(_rendered(list(it.fields.values())[1][0])) >= 600]
    h = 0
    for variant in VARIANTS:
        chosen = rng.sample(long_sol if variant == "partial" else pool, per_variant)
        for it in chosen:
            first, second = (v[0] for v in it.fields.values())
            if variant == "verbatim":
                text = first + "\n\n" + second
            elif variant == "reformatted":
                text = reformat(first + "\n\n" + second, rng)
            elif variant == "partial":
                rendered = _rendered(second)
                half = rendered[: len(rendered) // 2]
                text = half[: half.rfind(" ")] if " " in half else half
            else:
                text = change_numbers(first + "\n\n" + second, rng)
            docs.append((f"{variant}-{len(docs):05d}", plant(hosts[h % len(hosts)], text, rng), variant,
                         (it.benchmark, it.item_id)))
            h += 1
    return docs


def run_ours(items, corpus, batch: int = 64):
    """Both passes of `proofpile decontaminate`: document frequency and suspects, then the decisions."""
    from proofpile.decontam import Decontaminator
    from proofpile.decontam.frequency import FrequencyCounter

    t = time.process_time()
    index = Decontaminator(items)
    build = time.process_time() - t
    t = time.process_time()
    counter = FrequencyCounter(index.exact.keys)
    suspects: list[int] = []
    for i in range(0, len(corpus), batch):
        found, keys = index.scan([text for _, text, *_ in corpus[i : i + batch]])
        counter.add(keys)
        suspects += [i + j for j in found]
    first_pass = time.process_time() - t
    index.set_frequencies(counter.keys, counter.counts)
    results = {}
    for i in suspects:
        results[corpus[i][0]] = index.matches(corpus[i][1])
    seconds = time.process_time() - t
    return build, (first_pass, seconds), results, index


def run_datatrove(items, corpus):
    from decontaminate import datatrove_filter

    try:
        import spacy  # noqa: F401
    except ImportError as e:
        return None, f"spaCy is not installed ({e}); `pip install spacy` (no model download needed)"
    out = datatrove_filter(items, [(d, text, None) for d, text, *_ in corpus])
    if out is None:
        return None, "spaCy could not be loaded"
    build, speed, hits = out
    return (build, speed, hits), None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="10 plants per variant, 10 documents per source")
    ap.add_argument("--per-source", type=int, default=400)
    ap.add_argument("--plants", type=int, default=270, help="planted documents per variant")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--no-peer", action="store_true", help="skip datatrove's filter")
    args = ap.parse_args()
    if args.small:
        args.per_source, args.plants = 10, 10
    from proofpile.decontam.benchmarks import load

    rng = random.Random(0)
    bench = args.data / "benchmarks"
    items = load("math", bench / "math_test.jsonl") + load("gsm8k", bench / "gsm8k_test.jsonl")
    clean, hosts = load_clean(args.data, args.per_source, 4 * args.plants, rng)
    plants = make_plants(items, hosts, args.plants, rng)
    corpus = [(f"{s}-{i:05d}", t, s, None) for s in sorted(clean) for i, t in enumerate(clean[s])] + plants
    mb = sum(len(t.encode()) for _, t, *_ in corpus) / 1e6
    print(f"dev set: {len(plants)} planted documents ({args.plants} per variant), {len(corpus) - len(plants)} clean "
          f"documents from {len(clean)} sources, {mb:.1f} MB; benchmarks: {len(items):,} items")

    build, seconds, results, index = run_ours(items, corpus)
    removed = {d for d, ms in results.items() if any(m.removed for m in ms)}
    peer, why = (None, "--no-peer") if args.no_peer else run_datatrove(items, corpus)
    peer_hits = peer[2] if peer else set()

    def recall(variant: str, hits) -> str:
        docs = [d for d in plants if d[2] == variant]
        if variant == "number-changed" and hits is None:
            ok = sum(any(m.item_id == d[3][1] and m.cls in ("copy", "partial", "template") for m in results.get(d[0], []))
                     for d in docs)
        else:
            ok = sum(d[0] in (removed if hits is None else hits) for d in docs)
        return f"{ok / len(docs):.3f}"

    print(f"\n{'recall':24s} {'proofpile':>12s} {'datatrove':>12s}")
    for v in VARIANTS:
        what = "reported" if v == "number-changed" else "removed"
        print(f"{v + ' (' + what + ')':24s} {recall(v, None):>12s} {recall(v, peer_hits) if peer else 'skipped':>12s}")
    classes = defaultdict(lambda: defaultdict(int))
    for d in plants:
        best = [m.cls for m in results.get(d[0], []) if m.item_id == d[3][1]]
        classes[d[2]][min(best, key=("copy", "partial", "template", "incidental").index) if best else "none"] += 1
    for v in VARIANTS:
        print(f"  classes, {v}: " + ", ".join(f"{c} {n}" for c, n in sorted(classes[v].items())))

    print(f"\n{'false removals':24s} {'documents':>9s} {'proofpile':>16s} {'datatrove':>16s}")
    groups = [("independent math", INDEPENDENT_MATH), ("siblings (train)", SIBLINGS),
              ("non-math", tuple(s for s in clean if s not in INDEPENDENT_MATH and s not in SIBLINGS))]
    for title, sources in groups:
        tot = {"n": 0, "ours": 0, "peer": 0}
        for s in sources:
            ids = [f"{s}-{i:05d}" for i in range(len(clean.get(s, [])))]
            if not ids:
                continue
            ours, theirs = sum(d in removed for d in ids), sum(d in peer_hits for d in ids)
            tot["n"] += len(ids)
            tot["ours"] += ours
            tot["peer"] += theirs
            peer_cell = f"{theirs:7d} {100 * theirs / len(ids):7.2f}%" if peer else "skipped"
            print(f"  {s:22s} {len(ids):9d} {ours:7d} {100 * ours / len(ids):7.2f}% {peer_cell:>16s}")
        if tot["n"]:
            theirs = f"{tot['peer']:7d} {100 * tot['peer'] / tot['n']:7.2f}%" if peer else "skipped"
            print(f"{title:24s} {tot['n']:9d} {tot['ours']:7d} {100 * tot['ours'] / tot['n']:7.2f}% {theirs:>16s}")

    print(f"\n{'speed':24s} {'index build s':>13s} {'scan MB/s/core':>15s}")
    print(f"{'proofpile':24s} {build:13.2f} {mb / seconds[1]:15.2f}  (both passes; the first pass, which every "
          f"document goes through: {mb / seconds[0]:.2f} MB/s; the second matches the {len(results)} documents "
          "holding benchmark n-grams)")
    if peer:
        print(f"{'datatrove NGramsDecont':24s} {peer[0]:13.2f} {peer[1]:15.2f}")
    else:
        print(f"{'datatrove NGramsDecont':24s} {'skipped':>13s} {'skipped':>15s}  ({why})")
    if index.info.excluded_corpus_examples:
        print("\ncorpus-frequent n-grams left out of the evidence: "
              + "; ".join(f"`{g[:60]}` ({c})" for g, c in index.info.excluded_corpus_examples[:5]))
    sib = [d for d in removed if d.startswith(SIBLINGS)]
    for d in sorted(sib)[:5]:
        m = next(m for m in results[d] if m.removed)
        print(f"  sibling removed: {d} ~ {m.benchmark} {m.item_id} {m.field} {m.cls} coverage {m.coverage:.2f} "
              f"run {m.run:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
