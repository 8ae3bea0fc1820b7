"""The dropped-documents table: every document a per-document filter removed, with its stage, reason and scores.

Nobody can judge a threshold without seeing what it throws away, so a build keeps, by default, one compact row
per dropped document (not the document: its first `HEAD_CHARS` characters, unless `dropped.full_text`). Each
filter of a crawl or decide task gets a `DroppedWriter` as its datatrove `exclusion_writer`; the task's rows go
to `_work/dropped/<phase>/<source>/rNNNNN-SS.parquet` (SS: the step's position), and after finalize
`write_tables` concatenates them in a fixed order (source, phase, task, step) into `<out>/dropped/<subset>.parquet`.
Tasks are fixed by the inputs, so the table has the same bytes for any worker count. `publish` does not upload
it (it selects shards, the pack, the card and named top-level files only).

Drops that happen in finalize (near/exact dedup, decontamination) have their own reports (`duplicates.parquet`,
`contamination.json`) and are not repeated here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field

from proofpile.atomic import atomic_path
from proofpile.stage_registry import StageConfig, declare_stage, declared

DROPPED = "dropped"
#: characters of text kept per dropped document: enough to see what a page or file was
HEAD_CHARS = 500
#: metadata naming where a document came from, kept as columns when present
ORIGIN = ("url", "repo", "path", "arxiv_id")

SCHEMA = pa.schema([
    ("id", pa.string()), ("subset", pa.string()), ("source", pa.string()), ("stage", pa.string()),
    ("reason", pa.string()), ("scores", pa.string()),
    *[(key, pa.string()) for key in ORIGIN],
    ("text_chars", pa.int64()), ("text", pa.string()),
])


def signal_keys() -> tuple[str, ...]:
    """Every metadata key a declared stage stores as its signal."""
    return tuple(sorted({key for spec in declared() for key in spec.signals}))


def _utf8(s: str) -> str:
    return s.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate must not fail the whole file


class DroppedWriter:
    """A datatrove exclusion writer (context manager with `write(doc, rank)`) keeping one row per document."""

    def __init__(self, folder: str, source: str, step: int, keys: tuple[str, ...], full_text: bool = False):
        self.folder, self.source, self.step, self.keys, self.full_text = folder, source, step, keys, full_text
        self.rows: list[dict] = []
        self.rank = 0

    def path(self, rank: int) -> Path:
        return Path(self.folder) / f"r{rank:05d}-{self.step:02d}.parquet"

    def __enter__(self):
        self.rows = []
        return self

    def write(self, doc, rank: int = 0) -> None:
        self.rank = rank
        meta = doc.metadata
        scores = {k: meta[k] for k in self.keys if k in meta}
        text = doc.text if self.full_text else doc.text[:HEAD_CHARS]
        self.rows.append({
            "id": _utf8(str(doc.id)), "subset": str(meta.get("subset", "")), "source": self.source,
            "stage": meta.get("dropped_by", ""), "reason": meta.get("filter_reason", ""),
            "scores": json.dumps(scores, sort_keys=True, default=str),
            **{k: (_utf8(str(meta[k])) if meta.get(k) is not None else None) for k in ORIGIN},
            "text_chars": len(doc.text), "text": _utf8(text),
        })

    def __exit__(self, exc_type, *exc):
        if exc_type is not None or not self.rows:
            return False
        with atomic_path(self.path(self.rank)) as tmp:
            pq.write_table(pa.Table.from_pylist(self.rows, schema=SCHEMA), tmp, compression="zstd")
        return False


class _Labelled(DroppedWriter):
    """Names the filter in the row (BaseFilter only records the reason)."""

    def __init__(self, stage: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage = stage

    def write(self, doc, rank: int = 0) -> None:
        doc.metadata["dropped_by"] = self.stage
        super().write(doc, rank)
        del doc.metadata["dropped_by"]


def attach(steps: list, folder: Path, source: str, full_text: bool) -> list:
    """Give every filter of a task pipeline without an exclusion writer of its own a dropped-rows writer."""
    keys = signal_keys()
    for i, step in enumerate(steps):
        if isinstance(step, BaseFilter) and step.exclusion_writer is None:
            stage = getattr(step, "stage_name", step.name)
            step.exclusion_writer = _Labelled(stage, str(folder), source, i, keys, full_text)
    return steps


def clear_unfinished(folder: Path, completions: Path) -> None:
    """Remove the rows of every task that has not finished: it runs again and writes them anew (an earlier
    attempt's file for a step that drops nothing this time must not stay)."""
    if not folder.is_dir():
        return
    for path in folder.glob("r*.parquet"):
        if not (completions / path.name[1:6]).is_file():
            path.unlink()


class DroppedStage(StageConfig):
    """On by default: a build keeps what its per-document filters dropped (`<out>/dropped/<subset>.parquet`)."""

    enabled: bool = True
    full_text: bool = Field(False, description=f"whole texts, not the first {HEAD_CHARS} characters")


@declare_stage("dropped", config=DroppedStage, where="after", order=105, omit_default=True,
               purpose="the table of dropped documents (stage, reason, scores, first characters)")
def _dropped(cfg, plan, manifest: dict, workers: int, progress: bool) -> None:
    write_tables(plan)


def task_folder(plan, phase: str, source: str) -> Path:
    return plan.work / DROPPED / phase / source


def write_tables(plan) -> dict[str, Path]:
    """`<out>/dropped/<subset>.parquet` from the per-task files, in source, phase, task, step order."""
    files: list[Path] = []
    for source in plan.sources:
        for phase in ("crawl", "decide"):
            folder = task_folder(plan, phase, source.name)
            if folder.is_dir():
                files += sorted(folder.glob("r*.parquet"))
    tables = [pq.read_table(f, schema=SCHEMA) for f in files]
    out = plan.out / DROPPED
    written: dict[str, Path] = {}
    whole = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    for part, _ in plan.recipe.parts(plan.recipe_path):
        subset = part.subset
        rows = whole.filter(pc.equal(whole.column("subset"), subset)) if len(whole) else whole
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{subset}.parquet"
        with atomic_path(path) as tmp:
            pq.write_table(rows, tmp, compression="zstd")
        written[subset] = path
    return written
