"""A build on a Slurm cluster: one array job per source's crawl, then one job that finishes the build.

The crawl tasks are independent (one per repository, Stack file, arXiv archive, WARC file) and are most of
the work, so each source's crawl stage becomes a datatrove `SlurmPipelineExecutor` array job, one element per
task (`executor.tasks_per_job` to group them). Everything after it — finalize, near-dedup, decontamination,
pack — reads the whole corpus, so one last job, started only when every crawl job succeeded
(`--dependency=afterok`), runs the same `proofpile build` with the local executor on one node: it finds the
crawl tasks complete (datatrove's completion markers) and does the rest. Its outputs are therefore the bytes a
local build writes.

Everything is written under `DIR/_work/slurm/` (the sbatch scripts, `submit.sh` that chains them, the Slurm
logs) and, where datatrove's launcher reads them, each crawl stage's `executor.pik` and `ranks_to_run.json`
in its logging directory `DIR/_work/logs/<source>/`. The output directory must be on a filesystem every node
sees, as must the Python environment (`executor.venv_path` / `env_command`) and any model files.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from proofpile.executors import ExecutorError, ProofpileSlurmExecutor, slurm_memory
from proofpile.recipes import Executor

SLURM_DIR = "slurm"


@dataclass
class SlurmJob:
    name: str
    script: Path
    elements: int = 1  # array elements (one per `tasks_per_job` crawl tasks); the final job is not an array
    max_array: int = 1001


@dataclass
class SlurmBuild:
    folder: Path
    crawl: list[SlurmJob] = field(default_factory=list)
    final: SlurmJob | None = None
    submit_script: Path | None = None

    def scripts(self) -> list[Path]:
        return [j.script for j in self.crawl] + [self.final.script, self.submit_script]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


def env_line(cfg: Executor) -> str:
    """The shell line that makes `proofpile` and `launch_pickled_pipeline` runnable on a node: the recipe's
    `env_command`, else `venv_path`'s activate script, else the venv this command runs from."""
    if cfg.env_command:
        return cfg.env_command
    venv = Path(cfg.venv_path).expanduser() if cfg.venv_path else (Path(sys.prefix) if sys.prefix != sys.base_prefix else None)
    if venv is None:
        return ""
    activate = venv / "bin" / "activate" if venv.is_dir() else venv
    return f"source {shlex.quote(str(activate))}"


def _sbatch_lines(args: dict) -> str:
    return "\n".join(f"#SBATCH --{k}={v}" if v != "" else f"#SBATCH --{k}" for k, v in args.items() if v is not None)


def final_command(plan, overrides: list[str], sample: bool, cpus: int) -> list[str]:
    """`proofpile build` of the same recipe, inputs and overrides, on one node with the local executor."""
    cmd = ["proofpile", "build", str(plan.recipe_path.resolve()), "--out", str(plan.out)]
    for item in overrides:
        cmd += ["--set", item]
    if sample:
        cmd.append("--sample")
    return [*cmd, "--executor", "local", "--workers", str(cpus), "--no-progress"]


def prepare(plan, overrides: list[str] = (), sample: bool = False, throttle: int | None = None,
            cwd: Path | None = None) -> SlurmBuild:
    """Write the crawl array jobs, the final job and `submit.sh` for `plan`; submit nothing."""
    from proofpile.build import check_identity, crawl_pipeline

    cfg: Executor = plan.recipe.executor
    if not any(source.tasks for source in plan.sources):
        errors = "; ".join(plan.input_errors) or "the recipe names no sources"
        raise ExecutorError(f"{plan.recipe_path}: no inputs to build from ({errors})")
    check_identity(plan)
    cwd = Path(cwd or os.getcwd()).resolve()
    folder = plan.work / SLURM_DIR
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.sbatch"):  # a re-run writes only the jobs still to do
        old.unlink()
    env = env_line(cfg)
    workers = throttle if throttle is not None else cfg.workers
    result = SlurmBuild(folder=folder)
    for i, source in enumerate(s for s in plan.sources if s.tasks):
        pipeline = crawl_pipeline(plan, source)
        name = f"{cfg.job_name_prefix}-crawl-{_slug(source.name)}"
        executor = ProofpileSlurmExecutor(
            pipeline, tasks=source.tasks, time=cfg.time, partition=cfg.partition, cpus_per_task=cfg.cpus_per_task,
            mem_per_cpu_gb=cfg.mem_per_cpu_gb, workers=workers or -1, job_name=name, qos=cfg.qos,
            env_command=env or None, sbatch_args={"chdir": str(cwd), **cfg.sbatch_args},
            tasks_per_job=cfg.tasks_per_job, logging_dir=str(plan.work / "logs" / source.name),
            slurm_logs_folder=str(folder / "logs"), skip_completed=True,
        )
        job = executor.write_job()
        if job is None:
            continue  # every task of this source already finished
        script, elements = job
        path = folder / f"{i + 1:02d}-crawl-{_slug(source.name)}.sbatch"
        path.write_text(script)
        result.crawl.append(SlurmJob(name, path, elements, executor.max_array_size))

    cpus = cfg.final_cpus or cfg.cpus_per_task
    final_args = {
        "job-name": f"{cfg.job_name_prefix}-finish", "partition": cfg.partition, "qos": cfg.qos, "time": cfg.time,
        "nodes": 1, "ntasks": 1, "cpus-per-task": cpus, "mem-per-cpu": slurm_memory(cfg.mem_per_cpu_gb),
        "output": str(folder / "logs" / "finish-%j.out"), "chdir": str(cwd), **cfg.sbatch_args,
    }
    command = shlex.join(final_command(plan, list(overrides), sample, cpus))
    final = folder / "99-finish.sbatch"
    final.write_text("#!/bin/bash\n" + _sbatch_lines(final_args) + "\n"
                     "# finalize, near-dedup, decontamination and pack on one node, once every crawl task is done\n"
                     + (f"{env}\n" if env else "") + "set -xe\nexport PYTHONUNBUFFERED=TRUE\n" + command + "\n")
    result.final = SlurmJob(f"{cfg.job_name_prefix}-finish", final)
    result.submit_script = folder / "submit.sh"
    result.submit_script.write_text(_submit_script(result))
    result.submit_script.chmod(0o700)
    # the jobs fetch with the raw input URLs and --set values, credentials included (they must: a redacted URL
    # cannot be read), so what holds them is readable by its owner only; it all stays under _work/, which
    # nothing publishes
    for held in [*folder.glob("*.sbatch"), *(plan.work / "logs").glob("*/executor.pik")]:
        held.chmod(0o600)
    return result


def _submit_script(build: SlurmBuild) -> str:
    lines = ["#!/bin/bash",
             "# Submits the crawl array jobs, then the job that finishes the build once all of them succeeded.",
             "set -euo pipefail", 'deps=""']
    for job in build.crawl:
        # datatrove numbers array elements from 0 in each submission; RUN_OFFSET says which block of
        # max_array elements a submission is, when a crawl has more elements than the cluster allows
        for offset in range(-(-job.elements // job.max_array) if job.max_array > 0 else 1):
            lines.append(f"id=$(sbatch --parsable --export=ALL,RUN_OFFSET={offset} {shlex.quote(str(job.script))})")
            lines.append('deps="$deps:${id%%;*}"')
    final = shlex.quote(str(build.final.script))
    lines.append(f'final=$(sbatch --parsable ${{deps:+--dependency=afterok$deps}} {final})')
    lines.append('echo "crawl jobs: ${deps#:}"')
    lines.append('echo "final job: ${final%%;*}"')
    return "\n".join(lines) + "\n"


def submit(build: SlurmBuild) -> str:
    """Run `submit.sh` (it calls sbatch); returns what it printed (the job ids)."""
    if shutil.which("sbatch") is None:
        raise ExecutorError("--executor slurm: sbatch not found on PATH (run on a Slurm login node, "
                            "or use --dry-run to write the job scripts only)")
    done = subprocess.run(["bash", str(build.submit_script)], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExecutorError(f"{build.submit_script}: sbatch failed: {last}")
    return done.stdout


def render(build: SlurmBuild) -> str:
    """What `--dry-run` prints: every script, then how to submit them."""
    out = []
    for path in build.scripts():
        out += [f"# ---- {path}", path.read_text().rstrip(), ""]
    out.append(f"# submit with: bash {build.submit_script}")
    return "\n".join(out)
