"""The run manifest: what went in, what each stage kept and dropped (with reasons), and every shard's hash.

Counts are read back from datatrove's per-task stats files rather than from the last run's merged
`stats.json`, because a resumed build only runs the missing tasks and the merged file would then describe
only those. Timing is left out on purpose: the manifest is part of the build's output and must be
byte-identical for identical inputs.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from proofpile.redact import redact_tree
from proofpile.shards import parse_shard_name, parquet_rows, sha256_file

#: counters that mean "a record did not make it", shown in the funnel with their reasons
_DROP_PREFIXES = ("dropped_", "skipped_")
_DROP_NAMES = ("repo_failed", "file_failed", "file_damaged", "archive_corrupt", "input_unreadable",
               "input_failed_transient")
#: counters shown beside the drops that are not drops: inputs a resumed task tried again
_NOTE_NAMES = ("inputs_retried",)
#: counters of the stages inside one step (the math prefilter's marker and plain-text stages: pages they sent
#: on, characters they read), kept apart as the row's "stages"
_STAGE_PREFIX = "stage_"
_VERSIONED = ("datatrove", "pyarrow", "pydantic", "pygments", "xxhash", "fasttext-numpy2-wheel", "datasets", "numpy")


def versions() -> dict[str, str]:
    out = {"proofpile": _pkg_version("proofpile"), "python": platform.python_version()}
    for name in _VERSIONED:
        out[name] = _pkg_version(name)
    try:
        out["git"] = subprocess.run(["git", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out["git"] = "not found"
    return out


def _pkg_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def read_task_stats(logging_dir: Path) -> list[list[dict]]:
    """Per task (in rank order): per step, {name, counts}."""
    tasks = []
    for f in sorted((logging_dir / "stats").glob("*.json")):
        steps = json.loads(f.read_text())
        tasks.append([{"name": s["name"], "counts": _totals(s.get("stats", {}))} for s in steps])
    return tasks


def _totals(stats: dict[str, Any]) -> dict[str, int]:
    out = {}
    for label, metric in stats.items():
        total = metric.get("total", 0) if isinstance(metric, dict) else metric
        out[label] = int(total) if float(total).is_integer() else total
    return out


def merge_steps(tasks: list[list[dict]]) -> list[dict]:
    merged: list[dict] = []
    for steps in tasks:
        for i, step in enumerate(steps):
            if i >= len(merged):
                merged.append({"name": step["name"], "counts": {}})
            counts = merged[i]["counts"]
            for k, v in step["counts"].items():
                counts[k] = counts.get(k, 0) + v
    for step in merged:
        step["counts"] = dict(sorted(step["counts"].items()))
    return merged


def is_drop(label: str) -> bool:
    return label.startswith(_DROP_PREFIXES) or label in _DROP_NAMES


def funnel_rows(stage: str, steps: list[dict]) -> list[dict]:
    """One row per step: documents in, out, and drops by reason. Filters report `total`/`forwarded`;
    other steps are chained (a step's input is the previous step's output)."""
    rows = []
    prev_out = None
    for step in steps:
        c = step["counts"]
        drops = {k.removeprefix("dropped_").removeprefix("skipped_"): v for k, v in c.items() if is_drop(k) and v}
        notes = {k.removeprefix("inputs_"): v for k, v in c.items() if k in _NOTE_NAMES and v}
        inner = {k.removeprefix(_STAGE_PREFIX): v for k, v in c.items() if k.startswith(_STAGE_PREFIX) and v}
        if "total" in c:  # a BaseFilter
            n_in, n_out = c["total"], c.get("forwarded", 0)
        else:
            n_in = prev_out
            n_out = _step_output(c, n_in)
        rows.append({"stage": stage, "step": step["name"], "in": n_in, "out": n_out, "dropped": drops,
                     **({"notes": notes} if notes else {}), **({"stages": inner} if inner else {})})
        prev_out = n_out
    return rows


#: counters by which readers and writers state how many documents they passed on
_OUTPUT_COUNTERS = ("written", "documents", "read")


def _step_output(counts: dict, n_in: int | None) -> int | None:
    for name in _OUTPUT_COUNTERS:
        if name in counts:
            return counts[name]
    if n_in is None:
        return None
    return n_in - sum(v for k, v in counts.items() if k.startswith("dropped_"))


def shard_entries(out: Path, subsets: list[str]) -> list[dict]:
    """Every corpus shard of the given subsets, with what a reader needs to pick files without opening them."""
    entries = []
    for p in sorted(f for s in sorted(subsets) for f in (out / "data" / s).glob("*.parquet")):
        subset, split, lang = parse_shard_name(p.relative_to(out))
        entries.append(
            {
                "path": p.relative_to(out).as_posix(),
                "subset": subset,
                "split": split,
                "lang": lang,
                "rows": parquet_rows(p),
                "bytes": p.stat().st_size,
                "sha256": sha256_file(p),
            }
        )
    return entries


def write_manifest(path: Path, manifest: dict) -> None:
    """Every URL in it redacted (`proofpile.redact`): the manifest is published with the shards."""
    tmp = path.with_suffix(".json.tmp")
    text = json.dumps(redact_tree(manifest), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    # a file name that is not UTF-8 reaches here as lone surrogates; `\udcXX` is JSON's own escape for them
    tmp.write_bytes(text.encode("utf-8", "backslashreplace"))
    tmp.replace(path)


def render_funnel(rows: list[dict]) -> str:
    """A plain-text table: it goes to terminals and CI logs alike."""
    header = ("stage", "step", "in", "out", "dropped (reason: n)")
    table = [header]
    for r in rows:
        drops = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["dropped"].items(), key=lambda kv: (-kv[1], kv[0])))
        notes = ", ".join(f"{k}: {v:,}" for k, v in sorted(r.get("notes", {}).items()))
        inner = ", ".join(f"{k}: {v:,}" for k, v in sorted(r.get("stages", {}).items()))
        drops = "; ".join(part for part in (drops, notes, inner and f"stages: {inner}") if part)
        fmt = lambda n: "-" if n is None else f"{n:,}"  # noqa: E731
        table.append((r["stage"], r["step"], fmt(r["in"]), fmt(r["out"]), drops))
    widths = [max(len(str(row[i])) for row in table) for i in range(4)]
    lines = []
    for j, row in enumerate(table):
        cells = [str(row[0]).ljust(widths[0]), str(row[1]).ljust(widths[1])]
        cells += [str(row[2]).rjust(widths[2]), str(row[3]).rjust(widths[3]), str(row[4])]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 19)
    return "\n".join(lines)


def empty_output_hint(funnel: list[dict]) -> str | None:
    """When nothing survived, name the step that dropped the most and its main reason: the usual cause is a
    threshold or language setting, and the funnel alone does not point at it."""
    worst = max(funnel, key=lambda r: sum(r["dropped"].values()), default=None)
    if worst is None or not worst["dropped"]:
        return None
    reason, n = max(worst["dropped"].items(), key=lambda kv: kv[1])
    return f"0 documents kept: {worst['stage']} / {worst['step']} dropped the most ({n:,} for {reason}); check its settings"
