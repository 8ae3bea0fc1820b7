"""A stand-in for Slurm's `sbatch` and `srun` on a machine without Slurm, for the tests.

`install(bin_dir, state_dir)` writes two executables into `bin_dir`:

- `sbatch [--parsable] [--export=ALL,K=V] [--dependency=afterok:ID:ID] SCRIPT` runs the job at once and prints
  its id: each array element (`#SBATCH --array=A-B[%N]`) is `bash SCRIPT` with `SLURM_ARRAY_TASK_ID` set, two
  at a time, in the script's `--chdir`, output appended to `state_dir/<id>.out`. A job whose `afterok`
  dependency failed is not run (as Slurm leaves it pending forever) and counts as failed. Exit codes are kept
  in `state_dir/<id>.rc`.
- `srun [options] COMMAND...` runs COMMAND (one task on this node).

Submission is synchronous, so a submit script that chains jobs runs them in dependency order.
"""

from __future__ import annotations

import sys
from pathlib import Path

SBATCH = r'''
import os, re, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

state = Path(os.environ["SLURM_EMULATOR_STATE"])
state.mkdir(parents=True, exist_ok=True)
args, script, env_extra, deps = sys.argv[1:], None, {}, []
for a in args:
    if a.startswith("--export="):
        for kv in a.split("=", 1)[1].split(",")[1:]:
            k, v = kv.split("=", 1)
            env_extra[k] = v
    elif a.startswith("--dependency="):
        for d in a.split("=", 1)[1].split(","):
            kind, *ids = d.split(":")
            if kind != "afterok":
                sys.exit(f"sbatch emulator: only afterok dependencies, got {d}")
            deps += ids
    elif not a.startswith("-"):
        script = Path(a)
directives = dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(.*))?$", script.read_text(), re.M))
job_id = str(100 + len(list(state.glob("*.rc"))))
array = directives.get("array") or "0-0"
lo, hi = map(int, array.split("%")[0].split("-"))
cwd = directives.get("chdir") or os.getcwd()
if any((state / f"{d}.rc").read_text().strip() != "0" for d in deps):
    (state / f"{job_id}.rc").write_text("dependency never satisfied")
    print(job_id)
    sys.exit(0)

def run(i):
    env = {**os.environ, **env_extra, "SLURM_JOB_ID": job_id, "SLURM_ARRAY_JOB_ID": job_id,
           "SLURM_NODELIST": "localhost", "SLURM_CPUS_PER_TASK": directives.get("cpus-per-task", "1")}
    if "array" in directives:
        env["SLURM_ARRAY_TASK_ID"] = str(i)
    with open(state / f"{job_id}.out", "a") as out:
        return subprocess.run(["bash", str(script)], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode

with ThreadPoolExecutor(2) as pool:
    codes = list(pool.map(run, range(lo, hi + 1)))
(state / f"{job_id}.rc").write_text(str(max(codes)))
print(job_id)
'''

SRUN = r'''
import os, sys
args = sys.argv[1:]
while args and args[0].startswith("-"):
    flag = args.pop(0)
    if flag in ("-n", "-N", "-c") and args:
        args.pop(0)
os.execvp(args[0], args)
'''


def install(bin_dir: Path, state_dir: Path) -> dict[str, str]:
    """Write `sbatch` and `srun` into `bin_dir`; returns the environment variables to run them with."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, body in (("sbatch", SBATCH), ("srun", SRUN)):
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)
    import os

    return {"PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "SLURM_EMULATOR_STATE": str(state_dir)}
