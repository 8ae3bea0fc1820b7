"""The build on datatrove's Ray executor (a real local Ray cluster) writes the bytes the local executor writes."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from proofpile import executors
from proofpile.build import plan_build, run_build
from proofpile.recipes import Executor, load_recipe

# datatrove 0.10.1 passes placement groups the way Ray 2.60 deprecates; not ours to change
pytestmark = pytest.mark.filterwarnings("ignore:placement_group:DeprecationWarning")


def build(out: Path, lid_model: Path, kind: str, workers: int) -> dict:
    rec, path = load_recipe("algebraic-stack", [f"langid.model={lid_model}", "near_dedup.enabled=true",
                                                f"executor.kind={kind}", "executor.tasks_per_job=8"])
    plan = plan_build(rec, path, out, sample=True)
    with executors.use(rec.executor, workers):
        return run_build(plan, workers=workers, progress=False)


def outputs(out: Path) -> dict[str, str]:
    """sha256 of every file a build leaves for users (shards, duplicates table), and of the manifest's
    outputs and funnel (the rest of the manifest records versions and the executor it ran on)."""
    digest = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in sorted(out.rglob("*")) if p.is_file() and "_work" not in p.parts and p.name != "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("outputs", "funnel"):
        digest[f"manifest:{key}"] = hashlib.sha256(json.dumps(manifest[key], sort_keys=True).encode()).hexdigest()
    return digest


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray cluster of 2 CPUs for the module: starting Ray costs seconds."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


def test_ray_build_is_byte_identical_to_local(tmp_path: Path, lid_model: Path, ray_cluster):
    # the sample's repositories are made under --out and their file:// URLs are in the metadata, so both
    # builds run at the same path, one after the other
    out = tmp_path / "out"
    local = build(out, lid_model, "local", 1)
    out.rename(tmp_path / "local")
    on_ray = build(out, lid_model, "ray", 2)
    assert local["outputs"]["documents"] > 20
    assert on_ray["recipe"]["resolved"]["executor"]["kind"] == "ray"
    assert outputs(out) == outputs(tmp_path / "local")
    assert (out / "duplicates.parquet").is_file()  # near-dedup ran, and its stages too went through Ray
    stages = sorted(p.parent.relative_to(out / "_work").as_posix() for p in (out / "_work").rglob("executor.json"))
    assert {"logs/github", "logs/stack", "logs/finalize", "near_dedup/logs/signatures",
            "near_dedup/logs/buckets", "near_dedup/logs/clusters"} <= set(stages)
    for stage in stages:
        saved = json.loads((out / "_work" / stage / "executor.json").read_text())
        assert saved["tasks_per_job"] == 8 and "log_first" in saved, stage  # RayPipelineExecutor's fields
    assert ray_cluster.is_initialized()  # a cluster the build did not start is left running


def test_executor_section_is_not_part_of_the_build_identity(tmp_path: Path, lid_model: Path):
    rec, path = load_recipe("algebraic-stack", [f"langid.model={lid_model}"])
    other, _ = load_recipe("algebraic-stack", [f"langid.model={lid_model}", "executor.kind=slurm",
                                               "executor.partition=big", "executor.cpus_per_task=8"])
    assert plan_build(rec, path, tmp_path).identity() == plan_build(other, path, tmp_path).identity()
    changed, _ = load_recipe("algebraic-stack", [f"langid.model={lid_model}", "exact_dedup.chunk_chars=1024"])
    assert plan_build(changed, path, tmp_path).identity() != plan_build(rec, path, tmp_path).identity()
    # a threshold is a decision: a resume that redoes the thresholds stage (proofpile.decisions)
    threshold, _ = load_recipe("algebraic-stack", [f"langid.model={lid_model}", "langid.threshold=0.7"])
    assert plan_build(threshold, path, tmp_path).identity() == plan_build(rec, path, tmp_path).identity()
    assert (plan_build(threshold, path, tmp_path).decision_identity()
            != plan_build(rec, path, tmp_path).decision_identity())


def test_bad_executor_settings_are_one_line_errors():
    from proofpile.recipes import RecipeError

    with pytest.raises(RecipeError, match=r"executor\.kind"):
        load_recipe("algebraic-stack", ["executor.kind=kubernetes"])
    with pytest.raises(RecipeError, match=r"executor\.cpus_per_task"):
        load_recipe("algebraic-stack", ["executor.cpus_per_task=0"])
    with executors.use(Executor(kind="slurm")), pytest.raises(executors.ExecutorError, match="submitted"):
        executors.run_stage([], 1, 1, Path("/nonexistent"), "x")
    assert executors.slurm_memory(2) == "2G" and executors.slurm_memory(1.5) == "1536M"


def test_no_executor_state_leaks_out_of_use():
    with executors.use(Executor(kind="local", workers=3)) as cfg:
        assert executors.active() is cfg
    assert executors.active().kind == "local"
