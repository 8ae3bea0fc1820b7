"""Inputs that failed for a passing reason are tried again by the next run into the same `--out`.

datatrove marks a task done when its reader returns, whatever the reader had to skip, so a repository that was
unreachable for a minute (or a WARC whose server answered 503 through every retry) would be missing from every
later resume. Each reader task therefore writes the inputs that failed *transiently* (network error, timeout,
HTTP 5xx/429, git fetch cut off) to `_work/failed/<source>/NNNNN.json`, redacted. Before the crawl stage runs
again, `reopen_failed_tasks` removes those tasks' completion markers and task files, so datatrove runs exactly
those tasks again; the stages after the crawl (near-dedup, decontamination scan, finalize) read the task files
by position, so their completion markers go too and they are redone from the new task files. A permanent
failure (HTTP 404, a repository or commit that does not exist, a damaged archive) is not retried: it would only
fail again.

In the funnel a transient failure is the reason `input_failed_transient`, and a task run again counts its
earlier failures as `inputs_retried`; `manifest.json` lists what still failed under `inputs.failed`.
"""

from __future__ import annotations

import json
from pathlib import Path

from proofpile.atomic import write_text
from proofpile.documents import loggable
from proofpile.redact import redact_text

FOLDER = "failed"
TRANSIENT = "input_failed_transient"
RETRIED = "inputs_retried"


def failed_folder(work: Path, source: str) -> Path:
    return Path(work) / FOLDER / source


def _task_file(folder: str | Path, rank: int) -> Path:
    return Path(folder) / f"{rank:05d}.json"


def _read(path: Path) -> list[str]:
    try:
        inputs = json.loads(path.read_text(encoding="utf-8")).get("inputs", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [str(i) for i in inputs] if isinstance(inputs, list) else []


class TaskFailures:
    """One reader task's transient failures: counted as they happen, written when the task's reader ends."""

    def __init__(self, step, folder: str | None, rank: int):
        self.step, self.folder, self.rank = step, folder, rank
        self.inputs: list[str] = []
        previous = _read(_task_file(folder, rank)) if folder else []
        if previous:
            step.stat_update(RETRIED, value=len(previous))

    def add(self, name: str) -> None:
        self.step.stat_update(TRANSIENT)
        self.inputs.append(redact_text(loggable(name)))

    def close(self) -> None:
        """Write the task's list; a task that failed nothing this time removes the list of its earlier run."""
        if not self.folder:
            return
        path = _task_file(self.folder, self.rank)
        if not self.inputs:
            path.unlink(missing_ok=True)
            return
        write_text(path, json.dumps({"inputs": self.inputs}, indent=1) + "\n")


def reopen_failed_tasks(plan) -> list[str]:
    """Make the next crawl re-run every finished task that recorded a transient failure; returns
    `<source>/<rank>` of each task reopened. Called by `run_build` before the crawl stage."""
    from proofpile.shard_io import rank_files

    crawl_logs = {plan.work / "logs" / source.name for source in plan.sources}
    reopened = []
    for source in plan.sources:
        logs = plan.work / "logs" / source.name
        for f in sorted(failed_folder(plan.work, source.name).glob("*.json")):
            if not f.stem.isdigit() or not _read(f):
                continue
            rank = int(f.stem)
            marker = logs / "completions" / f"{rank:05d}"
            if not marker.is_file():
                continue  # not finished yet: datatrove runs it anyway
            for p in rank_files(plan.work / source.name, rank):
                p.unlink()
            marker.unlink()
            reopened.append(f"{source.name}/{rank:05d}")
    if reopened:  # later stages index the task files by position: they are redone from the new ones
        for completions in sorted(plan.work.rglob("completions")):
            if completions.is_dir() and completions.parent not in crawl_logs:
                for marker in completions.iterdir():
                    marker.unlink()
    return reopened


def failed_inputs(plan) -> list[str]:
    """`<source>: <input>` for every input that failed transiently in the latest run of its task."""
    out = []
    for source in plan.sources:
        for f in sorted(failed_folder(plan.work, source.name).glob("*.json")):
            out += [f"{source.name}: {name}" for name in _read(f)]
    return out
