"""Where a stage's tasks run: the one place a datatrove pipeline becomes a datatrove executor.

A build is a sequence of datatrove stages (crawl per source, near-dedup, finalize). Every stage goes through
`run_stage`, which runs it on the executor made active by `use(...)`:

- `local`: datatrove's `LocalPipelineExecutor`, `workers` processes on this machine (the default);
- `ray`: datatrove's `RayPipelineExecutor` on a Ray cluster: `executor.ray_address` (or `RAY_ADDRESS`) when
  given, else a local instance of `workers` CPUs started on first use and stopped when `use` ends;
- `slurm` is not run from here: a Slurm build is submitted as sbatch jobs (`proofpile.slurm`), and its last
  job runs the rest of the build with the local executor on one node.

Tasks are fixed by the inputs and every order-dependent step runs in a single task, so the executor changes
where and how fast tasks run, never what they write. Completion markers in each stage's logging directory are
shared by all executors: a build started on Ray or Slurm can be resumed locally and the other way round.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.executor.ray import RayPipelineExecutor
from datatrove.executor.slurm import SlurmPipelineExecutor

from proofpile.logs import quiet_datatrove
from proofpile.recipes import Executor, RecipeError


class ExecutorError(RecipeError):
    """One line: which executor setting is wrong or what is missing to run it."""


def _quiet_worker() -> None:
    """Warnings only on the terminal in a worker process. datatrove's Ray executor imported `add_task_logger`
    by name, so it must be pointed at the quiet one as well."""
    import datatrove.executor.ray as ray_executor
    from datatrove.executor import base

    quiet_datatrove()
    ray_executor.add_task_logger = base.add_task_logger


def _prepare_ray_actor() -> None:
    """The processes datatrove's RankWorker forks from an actor inherit Ray's SIGTERM handler. With
    tasks_per_job > 1 a pool process can be left without a task; it then survived the pool's terminate
    (seen under gdb: blocked on the task queue's lock), so the job never returned and the build hung. With the
    default action they just end."""
    import signal
    import threading

    import ray

    if ray._private.worker.global_worker.mode != ray.WORKER_MODE:
        return
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _quiet_worker()


class _RedactedExecutorJson:
    """datatrove writes every step's attributes to `<logging_dir>/executor.json`, raw input URLs included;
    ours goes through `proofpile.redact` so a token in a URL is not left in `_work/`."""

    def save_executor_as_json(self, indent: int = 4):
        import json

        from datatrove.executor.base import ExecutorJSONEncoder

        from proofpile.redact import redact_text

        text = json.dumps(self, cls=ExecutorJSONEncoder, indent=indent)
        with self.logging_dir.open("executor.json", "w") as f:
            f.write(redact_text(text))


class QuietLocalExecutor(_RedactedExecutorJson, LocalPipelineExecutor):
    """datatrove's local executor, logging to the terminal at WARNING in every worker process."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        _quiet_worker()
        return super()._run_for_rank(rank, local_rank, node_rank)


class _FreshPipelinePerRank:
    """With `tasks_per_job` > 1 datatrove's Slurm and Ray executors run several ranks in one process on the
    same step objects, so each rank's stats file would also count the ranks run before it there (the funnel
    came out doubled); the local executor copies the pipeline per rank, and so do these."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        _quiet_worker()
        if self.__dict__.get("_pristine") is None:
            self._pristine = deepcopy(self.pipeline)
        self.pipeline = deepcopy(self._pristine)
        return super()._run_for_rank(rank, local_rank, node_rank)


class QuietRayExecutor(_RedactedExecutorJson, _FreshPipelinePerRank, RayPipelineExecutor):
    """datatrove's Ray executor, logging to the terminal at WARNING in every Ray worker."""

    def __setstate__(self, state):
        # Unpickled in the Ray actor right before datatrove's RankWorker forks its pool: the moment to fix
        # what the forked task processes inherit
        self.__dict__.update(state)
        _prepare_ray_actor()


class ProofpileSlurmExecutor(_RedactedExecutorJson, _FreshPipelinePerRank, SlurmPipelineExecutor):
    """datatrove's Slurm executor that can write its job without submitting it (`--dry-run`, and so that one
    submit script can chain the jobs), and that needs no `scontrol` inside a single-node task."""

    def get_distributed_env(self, node_rank: int = -1):
        if self.nodes_per_task > 1:
            return super().get_distributed_env(node_rank)
        # one node per task: it is the only host there is, so asking scontrol to expand the node list is moot
        import socket

        from datatrove.executor.base import DistributedEnvVars

        return DistributedEnvVars(
            datatrove_node_ips=os.environ.get("SLURMD_NODENAME") or socket.gethostname(),
            datatrove_cpus_per_task=str(self.cpus_per_task),
            datatrove_mem_per_cpu=str(self.mem_per_cpu_gb),
            datatrove_gpus_on_node=str(self.gpus_per_task),
            datatrove_executor="SLURM",
        )

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        args = super().get_sbatch_args(max_array)
        args["mem-per-cpu"] = slurm_memory(self.mem_per_cpu_gb)
        # an unset partition or qos means the cluster's default, not a directive naming "None"
        return {k: v for k, v in args.items() if v is not None}

    def write_job(self) -> tuple[str, int] | None:
        """Pickle the executor and its ranks for `launch_pickled_pipeline`, as `launch_job` does, and return
        (sbatch script, array elements) without calling sbatch; None when every task already finished."""
        import json
        import math

        import dill
        from dill import CONTENTS_FMODE

        ranks = self.get_incomplete_ranks()
        if not ranks:
            return None
        with self.logging_dir.open("executor.pik", "wb") as f:
            dill.dump(deepcopy(self), f, fmode=CONTENTS_FMODE)
        self.save_executor_as_json()
        with self.logging_dir.open("ranks_to_run.json", "w") as f:
            json.dump(ranks, f)
        jobs = math.ceil(len(ranks) / self.tasks_per_job)
        array = min(jobs, self.max_array_size) if self.max_array_size != -1 else jobs
        pik = self.logging_dir.resolve_paths("executor.pik")
        command = f"srun -l -n {self.nodes_per_task} launch_pickled_pipeline {pik}"
        return self.get_launch_file_contents(self.get_sbatch_args(array), command), jobs


def slurm_memory(gb: float) -> str:
    """Slurm takes whole numbers with a unit: 2 -> 2G, 1.5 -> 1536M (datatrove would write `1.5G`)."""
    return f"{int(gb)}G" if float(gb).is_integer() else f"{round(gb * 1024)}M"


@dataclass
class _Active:
    config: Executor
    workers: int
    ray_started: bool = False


_stack: list[_Active] = []


def active() -> Executor:
    """The executor settings stages run with now (local when no `use` is in force)."""
    return _stack[-1].config if _stack else Executor()


@contextmanager
def use(config: Executor | None = None, workers: int = 1):
    """Run every stage inside the block (the build's and near-dedup's) on `config`'s executor; a Ray
    instance this starts is shut down on leaving."""
    state = _Active(config or Executor(), max(1, workers))
    if state.config.kind == "ray":
        _check_ray()
    _stack.append(state)
    try:
        yield state.config
    finally:
        _stack.remove(state)
        if state.ray_started:
            import ray

            ray.shutdown()


def _check_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ExecutorError("--executor ray needs Ray: pip install 'proofpile[ray]'") from None


def _ensure_ray(state: _Active) -> None:
    import logging

    import ray

    if ray.is_initialized():
        return
    address = state.config.ray_address or os.environ.get("RAY_ADDRESS")
    options = dict(logging_level=logging.WARNING, include_dashboard=False, log_to_driver=True)
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=state.workers, **options)
    state.ray_started = True


def make_executor(pipeline: list, tasks: int, workers: int, logging_dir: Path):
    """The datatrove executor for one stage under the active settings (local or Ray)."""
    state = _stack[-1] if _stack else _Active(Executor(), 1)
    cfg = state.config
    concurrent = max(1, min(workers, tasks))
    if cfg.kind == "local":
        return QuietLocalExecutor(pipeline=pipeline, tasks=tasks, workers=concurrent, logging_dir=str(logging_dir),
                                  skip_completed=True)
    if cfg.kind == "ray":
        from loguru import logger

        _ensure_ray(state)
        # datatrove warns on every stage that a local logging dir must be shared by all nodes; a local Ray
        # instance shares it by construction, and README says so for clusters
        logger.disable("datatrove.executor.ray")
        try:
            return QuietRayExecutor(pipeline=pipeline, tasks=tasks, workers=concurrent, logging_dir=str(logging_dir),
                                    skip_completed=True, cpus_per_task=cfg.cpus_per_task,
                                    mem_per_cpu_gb=cfg.mem_per_cpu_gb, tasks_per_job=cfg.tasks_per_job)
        finally:
            logger.enable("datatrove.executor.ray")
    raise ExecutorError("executor slurm: a Slurm build is submitted with `proofpile build --executor slurm`; "
                        "its stages do not run in this process")


class Progress:
    """A bar over finished tasks, fed by datatrove's completion markers so it works with any executor."""

    def __init__(self, desc: str, folder: Path, total: int, enabled: bool):
        self.folder, self.total, self.enabled, self.desc = folder, total, enabled, desc
        self._stop = threading.Event()

    def _count(self) -> int:
        return len(list(self.folder.glob("*"))) if self.folder.is_dir() else 0

    def _loop(self) -> None:
        from tqdm import tqdm

        with tqdm(total=self.total, desc=self.desc, unit="task", initial=self._count()) as bar:
            while not self._stop.wait(0.5):
                bar.update(self._count() - bar.n)
            bar.update(self._count() - bar.n)

    def __enter__(self):
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop.set()
            self._thread.join()


def run_stage(pipeline: list, tasks: int, workers: int, logging_dir: Path, desc: str, progress: bool = False) -> None:
    """Run (or finish) one datatrove stage of `tasks` tasks on the active executor, with a bar over finished
    tasks when `progress`; raises when any task did not complete."""
    executor = make_executor(pipeline, tasks, workers, logging_dir)
    with Progress(desc, logging_dir / "completions", tasks, progress):
        executor.run()
    missing = executor.get_incomplete_ranks(range(tasks), skip_completed=True)
    if missing:
        raise RuntimeError(f"{desc}: {len(missing)} of {tasks} tasks did not finish (see {logging_dir}/logs)")
