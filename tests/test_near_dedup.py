"""Near-dedup end to end on generated corpora: detection against the S-curve, math-aware shingles, priority,
determinism across worker counts, incremental runs, the windowed merge, the CLI and the build stage."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from proofpile.dedup.minhash import MinHasher, MinHashParams
from proofpile.dedup.near import DedupError, NearDedupConfig, near_dedup
from proofpile.shards import ShardSet, to_row

from .near_dup_corpus import WordSource, planted_pair

PARAMS = MinHashParams()
LEVELS = (0.95, 0.9, 0.8, 0.7, 0.5, 0.3)
BELOW = (0.2, 0.1)
PAIRS = 400


def write_build(root: Path, subset: str, docs: list[tuple[str, str]], per_shard: int = 10**9) -> Path:
    """A build-shaped directory: <root>/<subset>/train/en-NNNNN.parquet holding (id, text) documents."""
    shards = ShardSet(max_shard_bytes=per_shard)
    for doc_id, text in docs:
        meta = {"subset": subset, "lang": "en", "split": "train"}
        shards.write(root / subset / "train", "en", to_row(Document(text=text, id=doc_id, metadata=meta)))
    shards.close()
    return root


def clusters(out: Path) -> dict[str, tuple[int, bool]]:
    t = pq.read_table(out / "duplicates.parquet").to_pydict()
    return {f"{s}/{i}": (c, k) for s, i, c, k in zip(t["subset"], t["id"], t["cluster_id"], t["kept"])}


def output_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_work" not in p.relative_to(out).parts}


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Path, dict[float, list[tuple[str, str, float]]]]:
    """Planted pairs at each level, both copies in one subset, unrelated documents around them."""
    root = tmp_path_factory.mktemp("planted")
    src = WordSource(2024)
    hasher = MinHasher(PARAMS)
    docs, pairs = [], {}
    for level in LEVELS + BELOW:
        texts = [planted_pair(src, level) for _ in range(PAIRS)]
        sh = hasher._batch_shingles([t for pair in texts for t in pair])
        pairs[level] = []
        for k, (a, b) in enumerate(texts):
            ia, ib = f"{level:.2f}-{k:03d}-a", f"{level:.2f}-{k:03d}-b"
            docs += [(ia, a), (ib, b)]
            pairs[level].append((ia, ib, hasher.jaccard(sh[2 * k], sh[2 * k + 1])))
    docs += [(f"single-{k:04d}", " ".join(src.words(200))) for k in range(300)]
    order = np.random.default_rng(0).permutation(len(docs))  # pairs are not neighbours in the input
    inputs = write_build(root / "in", "open-web-math", [docs[i] for i in order], per_shard=2 << 20)
    out = root / "out"
    near_dedup([inputs], out, workers=1)
    return out, pairs


def test_detection_rate_follows_the_s_curve(planted):
    out, pairs = planted
    found = clusters(out)
    for level in LEVELS:
        measured = [j for _, _, j in pairs[level]]
        assert abs(np.mean(measured) - level) < 0.005, f"planted Jaccard {np.mean(measured):.4f} is not {level}"
        theory = float(np.mean([PARAMS.p_candidate(j) for j in measured]))
        hits = [f"open-web-math/{a}" in found and found[f"open-web-math/{a}"][0] == found.get(f"open-web-math/{b}", (-1,))[0]
                for a, b, _ in pairs[level]]
        rate = float(np.mean(hits))
        assert abs(rate - theory) <= 0.05, f"Jaccard {level}: detected {rate:.3f}, S-curve says {theory:.3f}"


def test_nothing_below_point_three_and_no_unrelated_document_is_merged(planted):
    out, pairs = planted
    found = clusters(out)
    for level in BELOW:
        assert all(j < 0.3 for _, _, j in pairs[level])
        merged = [(a, b) for a, b, _ in pairs[level] if f"open-web-math/{a}" in found or f"open-web-math/{b}" in found]
        assert merged == [], f"pairs at Jaccard {level} merged: {merged[:3]}"
    assert not [k for k in found if "single-" in k]
    sizes = pq.read_table(out / "duplicates.parquet", columns=["cluster_size"]).column("cluster_size").to_pylist()
    assert set(sizes) == {2}
    manifest = json.loads((out / "manifest.json").read_text())
    c = manifest["counts"]
    assert c["removed"] == c["clusters"] == len(found) // 2
    assert manifest["outputs"]["documents"] == c["documents"] - c["removed"]


PROSE_A = "We solve the equation {} for the unknown and check the answer by substitution into it."
PROSE_B = "Hence the root is unique, as the discriminant argument above shows for every real case."


def math_doc(formula: str) -> str:
    return PROSE_A.format(formula) + " " + PROSE_B


def test_formulas_count_and_delimiters_do_not(tmp_path):
    hasher = MinHasher(PARAMS)
    a, b = math_doc("$x^2+3x=5$"), math_doc("$x^3-7x=2$")
    c, d = math_doc("$\\dfrac{a}{b} = \\left( x^2 \\right)$"), math_doc("\\(\\frac{a}{b}=(x^2)\\)")
    j_formula = hasher.jaccard(hasher.shingles(a), hasher.shingles(b))
    j_delims = hasher.jaccard(hasher.shingles(c), hasher.shingles(d))
    assert j_formula < 0.6 and j_delims == 1.0, (j_formula, j_delims)
    # datatrove's normalisation would make the first pair identical: its digits become 0 and operators vanish
    from datatrove.utils.text import TextNormConfig, simplify_text

    assert simplify_text(a, TextNormConfig()) == simplify_text(b, TextNormConfig())
    inputs = write_build(tmp_path / "in", "arxiv", [("a", a), ("b", b), ("c", c), ("d", d)])
    near_dedup([inputs], tmp_path / "out")
    found = clusters(tmp_path / "out")
    assert set(found) == {"arxiv/c", "arxiv/d"} and found["arxiv/c"] == (found["arxiv/c"][0], True)


@pytest.fixture(scope="module")
def three_sources(tmp_path_factory) -> tuple[Path, list[Path]]:
    """The same documents in three subsets plus copies inside one subset; several shards per subset."""
    root = tmp_path_factory.mktemp("sources")
    src = WordSource(5)
    base = [" ".join(src.words(150)) for _ in range(60)]
    def edit(text: str, word: str) -> str:  # word 50 replaced: Jaccard (146-5)/(146+5) = 0.93 to any other copy
        words = text.split()
        return " ".join(words[:50] + [word] + words[51:])

    alg = [(f"as-{i:03d}", edit(t, "alg")) for i, t in enumerate(base[:40])] + [(f"as-only-{i}", " ".join(src.words(120))) for i in range(20)]
    owm = [(f"owm-{i:03d}", edit(t, "owm")) for i, t in enumerate(base[20:])]
    owm += [(f"owm-z-copy-{i:03d}", edit(t, "copy")) for i, t in enumerate(base[50:])]  # in-subset copies
    arx = [(f"arxiv-{i:03d}", t) for i, t in enumerate(base[:10])]
    inputs = [write_build(root / "alg", "algebraic-stack", alg, per_shard=30_000),
              write_build(root / "owm", "open-web-math", owm, per_shard=30_000),
              write_build(root / "arxiv", "arxiv", arx)]
    return root, inputs


def test_priority_then_lowest_id_and_same_bytes_with_one_or_two_workers(three_sources):
    root, inputs = three_sources
    one, two = root / "w1", root / "w2"
    near_dedup(inputs, one, workers=1)
    near_dedup(inputs, two, workers=2)
    assert output_bytes(one) == output_bytes(two)
    found = clusters(one)
    by_cluster: dict[int, list[str]] = {}
    for name, (cid, kept) in found.items():
        by_cluster.setdefault(cid, []).append(name)
    for names in by_cluster.values():
        survivor = [n for n in names if found[n][1]]
        assert len(survivor) == 1
        subsets = {n.split("/")[0] for n in names}
        best = next(s for s in ("arxiv", "open-web-math", "algebraic-stack") if s in subsets)
        assert survivor[0] == min(n for n in names if n.startswith(best + "/")), names
    assert found["arxiv/arxiv-000"][1] and not found["algebraic-stack/as-000"][1]
    assert found["open-web-math/owm-000"][1] and not found["algebraic-stack/as-020"][1]
    assert not found["open-web-math/owm-z-copy-000"][1]  # owm-030 (lowest id) survives
    kept = {r["id"] for p in one.rglob("*.parquet") if "_work" not in p.parts and p.name != "duplicates.parquet"
            for r in pq.read_table(p).to_pylist()}
    assert not kept & {n.split("/")[1] for n, (c, k) in found.items() if not k}
    assert len(kept) == 60 + 20  # 60 distinct texts and 20 unrelated ones
    # a re-run with another priority list into the same --out is refused, not mixed
    with pytest.raises(DedupError, match="other inputs or parameters"):
        near_dedup(inputs, one, NearDedupConfig(priority=("algebraic-stack",)))


def test_windowed_merge_gives_the_same_result(three_sources, tmp_path):
    root, inputs = three_sources
    near_dedup(inputs, tmp_path / "small", NearDedupConfig(window_records=7))
    assert (tmp_path / "small" / "duplicates.parquet").read_bytes() == (root / "w1" / "duplicates.parquet").read_bytes()


def test_incremental_batch_against_an_earlier_index(tmp_path):
    src = WordSource(9)
    old = [(f"old-{i}", " ".join(src.words(120))) for i in range(30)]
    first = near_dedup([write_build(tmp_path / "b1", "open-web-math", old)], tmp_path / "o1")
    assert first["counts"]["removed"] == 0
    copies = [(f"new-copy-{i}", " ".join(t.split()[:60] + ["edited"] + t.split()[61:])) for i, (_, t) in enumerate(old[:10])]
    fresh = [(f"new-{i}", " ".join(src.words(120))) for i in range(10)]
    batch2 = write_build(tmp_path / "b2", "open-web-math", copies + fresh)
    second = near_dedup([batch2], tmp_path / "o2", against=tmp_path / "o1")
    found = clusters(tmp_path / "o2")
    assert {n for n, (_, k) in found.items() if not k} == {f"open-web-math/new-copy-{i}" for i in range(10)}
    t = pq.read_table(tmp_path / "o2" / "duplicates.parquet").to_pydict()
    assert all(t["matched_earlier"])
    assert second["counts"]["removed"] == 10
    # the second index holds the first one: a third batch copying a *second-batch* document is caught too
    batch3 = write_build(tmp_path / "b3", "open-web-math", [("third", fresh[0][1]), ("third-old", old[20][1])])
    third = near_dedup([batch3], tmp_path / "o3", against=tmp_path / "o2")
    assert third["counts"]["removed"] == 2
    with pytest.raises(DedupError, match="bands"):
        near_dedup([batch3], tmp_path / "o4", NearDedupConfig(MinHashParams(bands=6)), against=tmp_path / "o2")


def test_cli_dedup_and_plan(three_sources, tmp_path):
    root, inputs = three_sources
    cmd = [sys.executable, "-m", "proofpile.cli"]
    proc = subprocess.run([*cmd, "dedup", *map(str, inputs), "--out", str(tmp_path / "cli"), "--workers", "2"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 - (1 - s^10)^12" in proc.stdout and "removed in" in proc.stdout
    assert (tmp_path / "cli" / "duplicates.parquet").read_bytes() == (root / "w1" / "duplicates.parquet").read_bytes()
    bad = subprocess.run([*cmd, "dedup", str(tmp_path / "missing"), "--out", str(tmp_path / "x")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "missing: input not found" in bad.stderr
    plan = subprocess.run([*cmd, "plan", "dedup", "--docs", "1000000", "--avg-bytes", "5000"], capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    assert "signature runs" in plan.stdout and "0.18 GiB" in plan.stdout  # 1e6 docs x 12 bands x 16 bytes


def test_build_stage_removes_near_duplicates_identically_for_any_worker_count(tmp_path, lid_model):
    from .test_build import output_files, run_cli, sample_args

    out = tmp_path / "out"  # the same --out for both builds: the sample inputs are made under it
    outputs = []
    for workers in ("1", "2"):
        run_cli(*sample_args(out, lid_model, "--set", "near_dedup.enabled=true", "--workers", workers, "--no-progress"))
        files = output_files(out)
        files["duplicates.parquet"] = (out / "duplicates.parquet").read_bytes()
        outputs.append(files)
        shutil.rmtree(out)
    assert outputs[0] == outputs[1]
    funnel = json.loads(outputs[0]["manifest.json"])["funnel"]
    reader = next(r for r in funnel if r["stage"] == "finalize")
    assert reader["step"].endswith("near-dedup reader") and reader["dropped"].get("near_duplicate", 0) >= 1
    dup = pq.read_table(pa.BufferReader(outputs[0]["duplicates.parquet"])).to_pydict()
    assert sum(not k for k in dup["kept"]) == reader["dropped"]["near_duplicate"]
    assert all(f.startswith("_work/") for f in dup["file"])
