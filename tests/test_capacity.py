"""`proofpile plan proof-pile-2`: the arithmetic on a case small enough to do by hand, and the scaling rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from proofpile.capacity import SUBSETS, proof_pile_2_plan


def test_one_subset_by_hand():
    # 1e9 arXiv tokens x 2.90 bytes/token = 2.9 GB of text; no duplicates; yield 0.70 -> 4.142857 GB unpacked
    plan = proof_pile_2_plan(1e9, {"arxiv": 1}, nodes=1, cores_per_node=1, dup_fraction=0.0)
    text = plan.text()["arxiv"]
    assert text["final"] == pytest.approx(2.9e9)
    assert text["raw"] == pytest.approx(2.9e9 / 0.70)
    assert text["stored"] == pytest.approx(2.9e9 / 0.70 * 0.32)
    stages = {s.name: s for s in plan.stages()}
    assert stages["crawl + filter: arxiv"].cpu_s == pytest.approx(2.9e9 / 0.70 / 1.77e6)  # 2,340.6 s
    assert stages["near-dedup signatures"].cpu_s == pytest.approx(2.9e9 / 14.0e6)
    assert stages["pack (tokenize)"].cpu_s == pytest.approx(2.9e9 / 3.1e6)
    # the scan spreads over the cluster; finalize keeps only Parquet read, chunk dedup, split and write
    assert stages["decontamination scan"].cpu_s == pytest.approx(2.9e9 / 15.4e6)
    assert stages["decontamination scan"].parallel == "cluster"
    assert stages["finalize (dedup, split, write)"].cpu_s == pytest.approx(2.9e9 / 28.0e6)
    disk = plan.disk()
    assert disk["token files (.bin uint16 + .idx)"] == pytest.approx(2e9 + 2.9e9 / 166_000 * 20)
    assert disk["output shards (data/, zstd Parquet)"] == pytest.approx(2.9e9 / 3)
    # on one core every stage's wall time is its CPU time
    assert all(plan.wall_s(s) == pytest.approx(s.cpu_s) for s in plan.stages())


def test_duplicates_and_yield_scale_the_input():
    base = proof_pile_2_plan(1e9, {"open-web-math": 1}, dup_fraction=0.0)
    more = proof_pile_2_plan(1e9, {"open-web-math": 1}, dup_fraction=0.5, yields={"open-web-math": 0.001})
    b, m = base.text()["open-web-math"], more.text()["open-web-math"]
    assert m["final"] == b["final"]
    assert m["before_dedup"] == pytest.approx(2 * b["before_dedup"])
    assert m["raw"] == pytest.approx(2 * b["raw"] * SUBSETS["open-web-math"].yield_[0] / 0.001)


def test_target_split_by_proof_pile_2_shares():
    tokens = proof_pile_2_plan(55e9).tokens()
    assert tokens == pytest.approx({"arxiv": 29e9, "open-web-math": 15e9, "algebraic-stack": 11e9})


def test_doubling_nodes_halves_only_the_parallel_stages():
    one = proof_pile_2_plan(55e9, nodes=4, cores_per_node=16)
    two = proof_pile_2_plan(55e9, nodes=8, cores_per_node=16)
    for a, b in zip(one.stages(), two.stages()):
        assert a.cpu_s == pytest.approx(b.cpu_s)
        if a.parallel == "cluster":
            assert two.wall_s(b) == pytest.approx(one.wall_s(a) / 2)
        else:  # finalize is one ordered task; pack runs on one node
            assert two.wall_s(b) == pytest.approx(one.wall_s(a))
    assert {s.parallel for s in one.stages()} == {"cluster", "serial", "node"}


def test_cli_prints_stages_disk_and_assumptions():
    proc = subprocess.run([sys.executable, "-m", "proofpile.cli", "plan", "proof-pile-2", "--target-tokens", "55e9",
                           "--nodes", "2", "--cores-per-node", "8"], capture_output=True, text=True, check=True)
    out = proc.stdout
    assert "55B tokens on 2 node(s) x 8 cores" in out
    for needle in ("crawl + filter: open-web-math", "finalize", "pack (tokenize)", "token files", "assumptions:",
                   "bench/bytes_per_token.py", "bench/dedup.py", "decontamination scan", "bench/finalize.py"):
        assert needle in out
    bad = subprocess.run([sys.executable, "-m", "proofpile.cli", "plan", "proof-pile-2", "--target-tokens", "1e9",
                          "--share", "wikipedia=1"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: unknown subset(s) wikipedia")


def test_web_crawl_model_by_hand():
    from proofpile.capacity import OLD_SHARE, WEB_RATES, WebCrawlModel

    m = WebCrawlModel(pages=1e6, page_bytes=100_000, math_share=0.01, hint_share=0.1, kept_per_page=1e-4,
                      tokens_per_doc=2000)
    r = {k: v[0] * 1e6 for k, v in WEB_RATES.items()}
    per_page = m.cpu_s_per_page()
    assert per_page["read WARC records"] == pytest.approx(1e5 / r["warc_read"])
    assert per_page["prefilter stage B (plain text)"] == pytest.approx(0.1 * 1e5 / r["text"])
    assert per_page["extraction .. quality"] == pytest.approx(0.01 * 1e5 / r["chain"])
    assert m.tokens_per_crawl() == pytest.approx(1e6 * 1e-4 * 2000)
    # before: nearly every page through the extraction, ten times and more the CPU
    assert m.old_cpu_s_per_page() > 10 * sum(per_page.values())
    assert m.old_cpu_s_per_page() == pytest.approx(1e5 / r["warc_read"] + 1e5 / r["markers"]
                                                   + OLD_SHARE[0] * 1e5 / r["chain"])
    assert m.crawl_mb_s() == pytest.approx(0.1 / sum(per_page.values()))


def test_plan_open_web_math_prints_crawl_cost_tokens_and_assumptions():
    run = lambda *a: subprocess.run([sys.executable, "-m", "proofpile.cli", "plan", "open-web-math", *a],  # noqa: E731
                                    capture_output=True, text=True)
    out = run().stdout
    for needle in ("3.15B pages", "per crawl", "prefilter stage B", "before the two-stage prefilter",
                   "15B web tokens need", "assumptions:", "0.40%: OpenWebMath's prefilter", "bench/warc_read.py",
                   "bench/web_prefilter.py"):
        assert needle in out, needle
    more = run("--web-math-share", "0.04").stdout
    assert "4.00%: --web-math-share" in more
    total = lambda text: float(next(line for line in text.splitlines() if line.strip().startswith("total")).split()[1]
                               .replace(",", ""))  # noqa: E731
    assert total(more) > total(out)
    bad = run("--web-math-share", "2")
    assert bad.returncode == 2 and "--web-math-share 2: out of range" in bad.stderr
    # proof-pile-2 takes the same crawl model for its web subset
    pp2 = subprocess.run([sys.executable, "-m", "proofpile.cli", "plan", "proof-pile-2", "--target-tokens", "55e9",
                          "--web-math-share", "0.04"], capture_output=True, text=True, check=True).stdout
    assert "open-web-math crawl MB/s/core" in pp2 and "WebCrawlModel with the --web-math-share" in pp2
