"""LSH buckets on disk, candidate pairs, connected components and the survivor of each cluster.

Memory is bounded by design. Each signature task writes, per band, one file of `(key, node)` records sorted
by key (a *run*). A band is then merged from disk one key-range window at a time: the window's slice of
every run is found by binary search on the memory-mapped run, so RAM holds one window, not the band. Only
documents that share a key with another one leave the merge (as edges), so everything after it — connected
components, the survivor choice, the set of removed documents — grows with the number of *duplicate*
documents, not with the corpus.

A node is `file_index << 32 | row`: fixed by the inputs alone, so every result is independent of how many
workers computed the signatures, and node order is input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from proofpile.atomic import write_bytes

RECORD = np.dtype([("key", "<u8"), ("node", "<u8")])
ROW_BITS = 32
ROW_MASK = (1 << ROW_BITS) - 1
_KEY_SPACE = 1 << 64


def node_id(file_index: int, row: int) -> int:
    if row > ROW_MASK:
        raise ValueError(f"file {file_index}: more than {ROW_MASK} rows")
    return (file_index << ROW_BITS) | row


def _save(path: Path, array: np.ndarray) -> None:
    """Write-then-rename, so a killed task never leaves a file that looks complete."""
    write_bytes(path, np.ascontiguousarray(array).tobytes(), fsync=False)  # work files: a crash redoes the task


def write_run(path: Path, keys: np.ndarray, nodes: np.ndarray) -> None:
    rec = np.empty(len(keys), dtype=RECORD)
    rec["key"], rec["node"] = keys, nodes
    rec.sort(order=("key", "node"))
    _save(path, rec)


def save_array(path: Path, array: np.ndarray) -> None:
    _save(path, array)


def load_array(path: Path, dtype, mmap: bool = False) -> np.ndarray:
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r") if mmap else np.fromfile(path, dtype=dtype)


def key_windows(total_records: int, window_records: int) -> list[tuple[int, int]]:
    """Equal slices of the key space; keys are uniform hashes, so each holds about `window_records`."""
    n = max(1, -(-total_records // max(1, window_records)))
    bounds = [w * _KEY_SPACE // n for w in range(n)] + [_KEY_SPACE]
    return list(zip(bounds[:-1], bounds[1:]))


def _slice(keys: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    a = int(np.searchsorted(keys, np.uint64(lo), side="left"))
    b = len(keys) if hi >= _KEY_SPACE else int(np.searchsorted(keys, np.uint64(hi), side="left"))
    return a, b


def _window(runs: Sequence[np.ndarray], lo: int, hi: int) -> list[np.ndarray]:
    """The records of each run whose key falls in [lo, hi), read from the memory map; empty slices left out."""
    parts = []
    for run in runs:
        if len(run):
            a, b = _slice(run["key"], lo, hi)
            if b > a:
                parts.append(np.asarray(run[a:b]))
    return parts


def band_candidates(
    run_paths: Sequence[Path], window_records: int, index_keys: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge one band's runs from disk. Returns (u, v, matched): an edge u-v for every document v that shares a
    key with an earlier document u (u = the smallest node with that key), and the nodes whose key is in
    `index_keys` (sorted; the band's keys from an earlier run)."""
    runs = [load_array(p, RECORD, mmap=True) for p in run_paths]
    total = sum(len(r) for r in runs)
    us, vs, matched = [], [], []
    for lo, hi in key_windows(total, window_records):
        parts = _window(runs, lo, hi)
        if not parts:
            continue
        rec = np.concatenate(parts)
        # runs are in file order and nodes grow with the file, so a stable sort by key keeps node order
        rec = rec[np.argsort(rec["key"], kind="stable")]
        keys, nodes = rec["key"], rec["node"]
        if index_keys is not None and len(index_keys):
            a, b = _slice(index_keys, lo, hi)
            if b > a:
                matched.append(nodes[np.isin(keys, np.asarray(index_keys[a:b]))])
        if len(keys) < 2:
            continue
        same = keys[1:] == keys[:-1]
        if not same.any():
            continue
        group_start = np.ones(len(keys), dtype=bool)
        group_start[1:] = ~same
        first = nodes[group_start][np.cumsum(group_start) - 1]
        dup = ~group_start
        us.append(first[dup])
        vs.append(nodes[dup])
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.uint64)
    return cat(us), cat(vs), np.unique(cat(matched))


def connected_components(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, label): every node on an edge, sorted, and its component's smallest node.

    Vectorised min-label propagation with pointer jumping instead of a Python union-find: a handful of numpy
    passes over the edge arrays, converging in O(log diameter) rounds for the short chains LSH produces.
    """
    nodes = np.unique(np.concatenate([u, v]))
    if not len(nodes):
        return nodes, nodes.copy()
    ui, vi = np.searchsorted(nodes, u), np.searchsorted(nodes, v)
    lab = np.arange(len(nodes))
    while True:
        m = np.minimum(lab[ui], lab[vi])
        new = lab.copy()
        np.minimum.at(new, ui, m)
        np.minimum.at(new, vi, m)
        new = new[new]
        if np.array_equal(new, lab):
            break
        lab = new
    return nodes, nodes[lab]


def choose_survivors(
    nodes: np.ndarray, labels: np.ndarray, ranks: Sequence[int], ids: Sequence[str], matched: np.ndarray
) -> np.ndarray:
    """kept[i] for every clustered node: in each cluster the document with the best (lowest) source rank, then
    the lowest id, then the lowest node survives; a cluster holding a document matched against an earlier
    run's index keeps none (the earlier copy is already published)."""
    kept = np.zeros(len(nodes), dtype=bool)
    order = sorted(range(len(nodes)), key=lambda i: (int(labels[i]), ranks[i], ids[i], int(nodes[i])))
    hit = set(labels[np.isin(nodes, matched)].tolist()) if len(matched) else set()
    seen = set()
    for i in order:
        lab = int(labels[i])
        if lab not in seen:
            seen.add(lab)
            kept[i] = lab not in hit
    return kept


def merge_index_keys(
    run_paths: Sequence[Path], removed: np.ndarray, earlier: np.ndarray | None, window_records: int
):
    """Sorted distinct keys of one band over the kept documents plus an earlier index, window by window
    (yields arrays in key order, so the caller can append them to a file)."""
    runs = [load_array(p, RECORD, mmap=True) for p in run_paths]
    total = sum(len(r) for r in runs) + (len(earlier) if earlier is not None else 0)
    for lo, hi in key_windows(total, window_records):
        parts = [rec["key"][~np.isin(rec["node"], removed)] if len(removed) else rec["key"]
                 for rec in _window(runs, lo, hi)]
        if earlier is not None and len(earlier):
            a, b = _slice(earlier, lo, hi)
            parts.append(np.asarray(earlier[a:b]))
        if parts:
            yield np.unique(np.concatenate(parts))
