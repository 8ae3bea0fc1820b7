"""Real builds for the reliability suite (the library exactly as `proofpile build` calls it, or the CLI in a
subprocess) and the ways their results are compared."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from . import guard

# the CLI under the suite's guard (see guard.py): what it writes into /tmp, $HOME or the repository is caught
PROOFPILE = [sys.executable, guard.__file__, sys.executable, "-m", "proofpile.cli"]
WORK = "_work"

# written by pytest itself, by Python's import system or by the tool that runs these sessions, never by a build
_IGNORED_NAMES = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def listing(root: Path, skip_top: tuple[str, ...] = (), max_depth: int | None = None) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of every file, link and directory under root (directories as (-1, 0))."""
    found: dict[str, tuple[int, int]] = {}
    stack = [(str(root), 1)]
    while stack:
        d, depth = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.name in _IGNORED_NAMES or (depth == 1 and e.name.startswith(skip_top)):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    found[e.path] = (-1, 0)
                    if max_depth is None or depth < max_depth:
                        stack.append((e.path, depth + 1))
                else:
                    st = e.stat(follow_symlinks=False)
                    found[e.path] = (st.st_size, st.st_mtime_ns)
            except OSError:
                continue
    return found


def children(pid: int) -> set[tuple[int, str]]:
    """(pid, command line) of every live descendant of pid, read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] == "Z":  # a zombie is already dead; its parent has yet to reap it
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            out.add((child, cmd.strip()))
            todo.append(child)
    return out


@contextlib.contextmanager
def writes_only_into(out: Path):
    """Everything beside `out` in its parent directory (the test's inputs: repositories, WARCs, archives) is
    byte-for-byte as it was when the block ends."""
    area = out.parent
    inside = str(out) + os.sep

    def outside() -> dict[str, tuple[int, int]]:
        return {p: v for p, v in listing(area).items() if p != str(out) and not p.startswith(inside)}

    before = outside()
    yield
    after = outside()
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"the build wrote outside {out}: {changed[:20]}"


def build(recipe: str, out: Path, *overrides: str, workers: int = 1, edit=None) -> dict:
    """`proofpile build RECIPE --out OUT --set ...` through the library, in a forked child under the suite's guard;
    returns the manifest. `edit(recipe)` may change the loaded recipe where YAML cannot say it (a file name that
    is not UTF-8)."""
    from proofpile.build import plan_build, run_build
    from proofpile.recipes import load_recipe

    def in_child() -> dict:
        rec, path = load_recipe(recipe, list(overrides))
        if edit is not None:
            edit(rec)
        plan = plan_build(rec, path, out)
        return run_build(plan, workers=workers, progress=False)

    with writes_only_into(out):
        return guard.run_in_guard(in_child)


def guarded(*argv: str) -> list[str]:
    """argv that runs `argv` under the suite's guard, as PROOFPILE runs the CLI."""
    return [sys.executable, guard.__file__, *map(str, argv)]


def run_cli(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([*PROOFPILE, *map(str, args)], capture_output=True, text=True, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def counts(manifest: dict) -> Counter:
    """Every counter of every step of every stage, summed by name (member skips, flags, drops, documents)."""
    total: Counter = Counter()
    for stage in manifest["stages"]:
        for step in stage["steps"]:
            total.update({k: v for k, v in step["counts"].items() if isinstance(v, int)})
    return total


def drops(manifest: dict) -> Counter:
    """The funnel's drops by reason, over all steps."""
    total: Counter = Counter()
    for row in manifest["funnel"]:
        total.update(row["dropped"])
    return total


def corpus_files(out: Path) -> list[Path]:
    """The corpus shards a build wrote, whatever the layout (`<subset>/<split>/...` or `data/<subset>/...`)."""
    return sorted(p for p in out.rglob("*.parquet")
                  if len(p.relative_to(out).parts) >= 3 and p.relative_to(out).parts[0] not in (WORK, "packed"))


def rows(out: Path) -> list[dict]:
    return [r for p in corpus_files(out) for r in pq.read_table(p).to_pylist()]


def doc_ids(out: Path) -> list[str]:
    return sorted(i for p in corpus_files(out) for i in pq.read_table(p, columns=["id"]).column("id").to_pylist())


def output_digest(out: Path) -> dict[str, str]:
    """sha256 of every file a build leaves for its users: everything except `_work/` and log files."""
    digest = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if p.is_file() and rel.parts[0] != WORK and p.suffix != ".log":
            digest[rel.as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return digest


def task_warnings(out: Path, source: str) -> list[str]:
    """The WARNING lines the source's tasks logged (datatrove keeps one log file per task)."""
    lines = []
    for f in sorted((out / WORK / "logs" / source / "logs").glob("task_*.log")):
        lines += [ln.split(" - ", 1)[-1] for ln in f.read_text(errors="replace").splitlines() if "| WARNING" in ln]
    return lines


def manifest_json(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())
