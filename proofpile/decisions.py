"""Signals apart from decisions: the crawl stores scores, a cheap decide stage applies the thresholds.

A per-document stage that declares `decisions=(...)` (`proofpile.stage_registry`) scores every document in the
crawl and passes it on; its threshold fields are applied by the *decide* stage, one task per crawl task, that
reads the crawl's files (`_work/signals/<source>/`), runs the stages' decision filters in declared order (same
drop reasons as before) and writes the survivors to `_work/<source>/`, the files near-dedup, the decontamination
scan and finalize read, exactly as they read the crawl's own files before. Deciding before those stages (and
not inside finalize) matters: a document a threshold drops must never be the survivor of a near-duplicate
cluster.

The build identity (`_work/build.json`) holds everything but the decision fields; those sit in
`_work/decisions.json`. A re-run that changes only decisions is a resume that redoes the decide stage and
everything after it (its completion markers are cleared, as for an interrupted finalize), never the crawl.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from datatrove.pipeline.base import PipelineStep

from proofpile.atomic import write_text
from proofpile.shard_io import rank_files
from proofpile.shards import from_row
from proofpile.stage_registry import declared

SIGNALS = "signals"
DECISIONS_FILE = "decisions.json"


def split_identity(recipe: dict) -> tuple[dict, dict]:
    """(recipe without its decision fields, those fields), through included recipes too."""
    recipe = copy.deepcopy(recipe)
    fields = {s.name: s.decisions for s in declared() if s.decisions}

    def walk(tree: dict) -> dict:
        taken: dict = {}
        stages = tree.get("stages") or {}
        for name, cfg_fields in fields.items():
            cfg = stages.get(name)
            if isinstance(cfg, dict):
                got = {f: cfg.pop(f) for f in cfg_fields if f in cfg}
                if got:
                    taken.setdefault("stages", {})[name] = got
        parts = [walk(inc["resolved"]) for inc in tree.get("include") or [] if isinstance(inc.get("resolved"), dict)]
        if any(parts):
            taken["include"] = parts
        return taken

    return recipe, walk(recipe)


class RankReader(PipelineStep):
    """Task r reads the crawl's files of task r (`rNNNNN-*.parquet`), in order."""

    type = "📖 - READER"
    name = "crawl signals"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        import pyarrow.parquet as pq

        for path in rank_files(Path(self.folder), rank):
            pf = pq.ParquetFile(path)
            for g in range(pf.num_row_groups):
                for rec in pf.read_row_group(g).to_pylist():
                    self.stat_update("documents")
                    yield from_row(rec)


def decisions_changed(work: Path, decisions: dict) -> bool:
    """Whether `decisions` differ from those the build's later stages were made with (none recorded: a new
    build, or one from before decisions were kept apart). Call `redo_after_crawl`, then `record_decisions`, in
    that order, so a kill in between still redoes the thresholds stage."""
    path = work / DECISIONS_FILE
    text = json.dumps(decisions, sort_keys=True, indent=1)
    return not path.is_file() or path.read_text() != text


def record_decisions(work: Path, decisions: dict) -> None:
    write_text(work / DECISIONS_FILE, json.dumps(decisions, sort_keys=True, indent=1))


def redo_after_crawl(work: Path, crawl_logs: set[Path]) -> None:
    """Clear every completion marker but the crawl's: the decide stage, near-dedup, the decontamination scan
    and finalize run again (finalize, unfinished, clears its shards first)."""
    for completions in sorted(work.rglob("completions")):
        if completions.is_dir() and completions.parent not in crawl_logs:
            for marker in completions.iterdir():
                marker.unlink()
