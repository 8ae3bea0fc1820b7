"""`proofpile inspect`: search time on a 100k-document shard against pandas `str.contains`, and page loads.

    python bench/inspect_search.py [--docs 100000]

Writes a minimal build directory (manifest.json and one open-web-math shard of generated ~1 KB math-flavoured
documents in row groups of 10,000) and times, in this process:
  - a full scan (a string no document holds) and a rare string, with `proofpile.inspect.search` (Arrow
    `match_substring`, one row group at a time, read included), against pandas reading the text column and
    running `Series.str.contains(regex=False)`, and against `str.contains` alone on a Series already in memory;
  - a common string with a page of 50 results (the search stops at a full page);
  - page loads through the real application (Starlette TestClient): funnel, search, a document with its math
    rendered, and a 1 MB one-line hostile document.
Each time is the best of `--repeat` runs (the machine is shared; the best is the least disturbed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proofpile.inspect.search import Query, search  # noqa: E402
from proofpile.inspect.store import BuildStore  # noqa: E402

RARE = "zzrareneedlezz"


def make_build(dest: Path, docs: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(20000)]
    words += [f"$x^{i % 9}+\\frac{{{i % 7}}}{{y}}$" for i in range(2000)] + ["theorem", "lemma", "proof"] * 50
    vocab = np.array(words, dtype=object)
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 0.9
    p /= p.sum()
    lengths = rng.integers(80, 260, docs)
    idx = rng.choice(len(vocab), int(lengths.sum()), p=p)
    texts, at = [], 0
    for i, n in enumerate(lengths):
        text = " ".join(vocab[idx[at : at + n]])
        at += n
        if i % 20_000 == 7:  # a handful of needles for the rare search
            text += " " + RARE
        texts.append(text)
    ids = [f"doc-{i:08d}" for i in range(docs)]
    metas = [json.dumps({"url": f"https://site{i % 997}.example/p/{i}", "source": "common-crawl"}) for i in range(docs)]
    rel = "data/open-web-math/train-00000-of-00001.parquet"
    (dest / "data" / "open-web-math").mkdir(parents=True)
    table = pa.table({"id": ids, "text": pa.array(texts, pa.large_string()), "meta": metas,
                      "subset": ["open-web-math"] * docs, "lang": ["en"] * docs})
    pq.write_table(table, dest / rel, row_group_size=10_000, compression="zstd")
    (dest / "manifest.json").write_text(json.dumps({"outputs": {"shards": [
        {"path": rel, "subset": "open-web-math", "split": "train", "rows": docs}]}, "funnel": []}))
    return dest


def best(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import pandas as pd
    from starlette.testclient import TestClient

    from proofpile.inspect.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        root = make_build(Path(tmp), args.docs)
        shard = root / "data/open-web-math/train-00000-of-00001.parquet"
        mb = pq.read_table(shard, columns=["text"]).column("text").nbytes / 1e6
        store = BuildStore(str(root))
        series = pd.read_parquet(shard, columns=["text"])["text"]

        def ours(q: str, limit: int = 50):
            return lambda: search(store, Query(q=q, limit=limit))

        def pandas_read(q: str):
            return lambda: int(pd.read_parquet(shard, columns=["text"])["text"].str.contains(q, regex=False).sum())

        def pandas_mem(q: str):
            return lambda: int(series.str.contains(q, regex=False).sum())

        print(f"proofpile inspect search: {args.docs:,} documents, {mb:.1f} MB of text, one shard; best of {args.repeat}")
        print(f"{'query':<34s} {'hits':>6s} {'proofpile s':>11s} {'pandas read+contains s':>22s} "
              f"{'pandas contains s':>17s}")
        for label, q, limit in (("full scan (no match)", "no such string \u2603", 50),
                                ("rare string (all hits)", RARE, 500),
                                ("common word, page of 50", "theorem", 50)):
            t_ours, res = best(ours(q, limit), args.repeat)
            t_read, n = best(pandas_read(q), args.repeat)
            t_mem, _ = best(pandas_mem(q), args.repeat)
            hits = f"{len(res.hits)}{'+' if not res.complete else ''}"
            assert res.complete is False or len(res.hits) == n, (label, len(res.hits), n)
            print(f"{label:<34s} {hits:>6s} {t_ours:>11.3f} {t_read:>22.3f} {t_mem:>17.3f}")

        from tests.inspect_build import hostile_text  # the browser test's document

        hostile = root / "data/open-web-math/train-hostile.parquet"
        pq.write_table(pa.table({"id": ["hostile"], "text": pa.array([hostile_text()], pa.large_string()),
                                 "meta": ["{}"], "subset": ["open-web-math"], "lang": ["en"]}), hostile)
        manifest = json.loads((root / "manifest.json").read_text())
        manifest["outputs"]["shards"].append({"path": str(hostile.relative_to(root)), "subset": "open-web-math",
                                              "split": "train", "rows": 1})
        (root / "manifest.json").write_text(json.dumps(manifest))
        client = TestClient(create_app(str(root)))
        print()
        print(f"{'page (server side, TestClient)':<44s} {'ms':>7s} {'KB':>7s}")
        for label, url in (("funnel", "/"), ("search, 50 results", "/search?q=lemma"),
                           ("search, full scan", "/search?q=nothing%20like%20this"),
                           ("document with math rendered", "/doc/0/3"), ("document raw", "/doc/0/3?raw=1"),
                           ("1 MB hostile document, rendered part", "/doc/1/0"),
                           ("1 MB hostile document, raw part", "/doc/1/0?raw=1")):
            t, r = best(lambda: client.get(url), args.repeat)
            assert r.status_code == 200, (url, r.status_code)
            print(f"{label:<44s} {t * 1000:>7.0f} {len(r.content) / 1000:>7.0f}")


if __name__ == "__main__":
    main()
