"""`proofpile build --executor slurm`: the sbatch scripts it writes, and a build run through them.

No Slurm here, so `tests/slurm_emulator.py` stands in for `sbatch`/`srun`: it runs each array element of the
real scripts with SLURM_ARRAY_TASK_ID set (datatrove's `launch_pickled_pipeline` on the pickled crawl
executor), then the final job once the crawl jobs succeeded. The outputs must be the local build's bytes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path


from .slurm_emulator import install
from .test_build import run_cli, sample_args
from .test_executors import outputs

SLURM = ["--executor", "slurm", "--set", "executor.partition=cpu-long", "--set", "executor.time=02:30:00",
         "--set", "executor.mem_per_cpu_gb=1.5", "--set", "executor.cpus_per_task=2", "--set", "executor.final_cpus=2"]


def directives(script: str) -> dict[str, str]:
    return dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(.*))?$", script, re.M))


def test_dry_run_writes_valid_sbatch_scripts(tmp_path: Path, lid_model: Path):
    out = tmp_path / "out"
    proc = run_cli(*sample_args(out, lid_model, *SLURM, "--dry-run"))
    folder = out / "_work" / "slurm"
    crawl = sorted(folder.glob("0*-crawl-*.sbatch"))
    assert [p.name for p in crawl] == ["01-crawl-github.sbatch", "02-crawl-stack.sbatch"]
    for script in [*crawl, folder / "99-finish.sbatch", folder / "submit.sh"]:
        assert script.read_text() in proc.stdout  # printed
        subprocess.run(["bash", "-n", str(script)], check=True)
    for script, tasks in zip(crawl, (8, 13)):  # 8 sample repositories, 13 Stack files
        d = directives(script.read_text())
        assert d["partition"] == "cpu-long" and d["time"] == "02:30:00"
        assert d["cpus-per-task"] == "2" and d["mem-per-cpu"] == "1536M"
        assert d["array"] == f"0-{tasks - 1}"
        name = script.stem.split("-", 2)[2]
        log_dir = out / "_work" / "logs" / name
        assert f"launch_pickled_pipeline {log_dir / 'executor.pik'}" in script.read_text()
        assert json.loads((log_dir / "ranks_to_run.json").read_text()) == list(range(tasks))
    final = (folder / "99-finish.sbatch").read_text()
    d = directives(final)
    assert d["partition"] == "cpu-long" and d["nodes"] == "1" and d["cpus-per-task"] == "2"
    assert "array" not in d
    command = final.strip().splitlines()[-1]
    assert command.startswith("proofpile build ") and f"--out {out}" in command
    assert "--sample" in command and "--executor local --workers 2" in command
    submit = (folder / "submit.sh").read_text()
    assert submit.count("sbatch --parsable --export=ALL,RUN_OFFSET=0") == 2
    assert re.search(r"sbatch --parsable \$\{deps:\+--dependency=afterok\$deps\} \S*99-finish\.sbatch", submit)
    assert not (out / "manifest.json").exists() and not (out / "data").exists()


def test_without_sbatch_a_one_line_error(tmp_path: Path, lid_model: Path):
    env = {**os.environ, "PATH": str(Path(shutil.which("git")).parent)}
    proc = run_cli(*sample_args(tmp_path / "out", lid_model, *SLURM), check=False, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --executor slurm: sbatch not found on PATH (run on a Slurm login node, or add --dry-run to write "
        "the job scripts only)"]


def test_build_through_emulated_slurm_is_byte_identical(tmp_path: Path, lid_model: Path):
    out = tmp_path / "out"
    run_cli(*sample_args(out, lid_model))
    out.rename(tmp_path / "local")  # sample URLs name --out: both builds use the same path
    env = {**os.environ, **install(tmp_path / "bin", tmp_path / "slurm-state")}
    proc = run_cli(*sample_args(out, lid_model, *SLURM, "--set", "executor.tasks_per_job=5"), env=env)
    assert proc.stdout.splitlines()[:2] == ["crawl jobs: 100:101", "final job: 102"]
    state = tmp_path / "slurm-state"
    assert [(state / f"{i}.rc").read_text() for i in (100, 101, 102)] == ["0", "0", "0"]
    assert "launch_pickled_pipeline" in (state / "100.out").read_text()
    assert outputs(out) == outputs(tmp_path / "local")
    # the crawl ran in the array jobs (5 tasks each): the final job found every task complete and ran none,
    # or its local executor would have replaced the Slurm executor's executor.json
    for source, tasks in (("github", 8), ("stack", 13)):
        logs = out / "_work" / "logs" / source
        assert len(list((logs / "completions").iterdir())) == tasks
        assert json.loads((logs / "executor.json").read_text())["partition"] == "cpu-long"
    log = (state / "102.out").read_text()
    assert re.search(r"\d+ documents in \d+ shards", log) and f"manifest: {out / 'manifest.json'}" in log

    # everything done: a re-submission has no crawl job left, only the (idempotent) final job
    run_cli(*sample_args(out, lid_model, *SLURM, "--dry-run"))
    assert not list((out / "_work" / "slurm").glob("0*-crawl-*.sbatch"))
    assert "RUN_OFFSET" not in (out / "_work" / "slurm" / "submit.sh").read_text()
