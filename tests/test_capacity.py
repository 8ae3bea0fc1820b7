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
    assert stages["decontamination scan"].cpu_s == pytest.approx(2.9e9 / 14.9e6)
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
