"""Near-duplicate removal across build outputs: signatures -> LSH buckets -> clusters -> filtered shards.

    proofpile dedup out/arxiv out/open-web-math out/algebraic-stack --out out/dedup [--against out/dedup-v1]

Five datatrove stages, each a step below or in `minhash.py`:

1. `MinhashSignatures`, one task per input file (parallel);
2. `LshBuckets`, one task per band: merge the band's sorted runs from disk, emit candidate edges;
3. `LshClusters`, one task: connected components, survivor per cluster (source priority, then lowest id),
   `duplicates.parquet` and the set of removed nodes;
4. `NearDupShardReader` -> `ShardWriter`, one task: the kept documents in input order, same layout;
5. `LshIndex`, one task per band: the sorted band keys of everything kept (plus the `--against` index), so a
   later batch can be deduplicated against this run without recomputing it.

Stages 2-5 are bounded in memory by the number of duplicate documents (see `lsh.py`); every result depends
only on the inputs and parameters, never on `--workers`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from proofpile.atomic import atomic_path, write_text
from proofpile.dedup import lsh
from proofpile.dedup.minhash import MinHashParams, MinhashSignatures, s_curve
from proofpile.errors import ProofpileError
from proofpile.shards import from_row, parse_shard_name
from proofpile.dedup.stage import NearDedupStage

DEFAULT_PRIORITY = tuple(NearDedupStage().priority)
WORK = "_work"
INDEX = "index"

DUPLICATES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("subset", pa.string(), nullable=False),
        pa.field("cluster_id", pa.int64(), nullable=False),
        pa.field("cluster_size", pa.int64(), nullable=False),
        pa.field("kept", pa.bool_(), nullable=False),
        pa.field("matched_earlier", pa.bool_(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("row", pa.int64(), nullable=False),
    ]
)


class DedupError(ProofpileError, ValueError):
    """One line naming the input or key that is wrong."""


@dataclass(frozen=True)
class NearDedupConfig:
    params: MinHashParams = field(default_factory=MinHashParams)
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    #: records per band loaded at once when merging runs (16 bytes each)
    window_records: int = 1 << 22

    @classmethod
    def from_stage(cls, stage: NearDedupStage) -> NearDedupConfig:
        """From the recipe's typed `near_dedup` section, which `proofpile dedup`'s options fill too."""
        return cls(MinHashParams(ngram=stage.ngram, bands=stage.bands, rows=stage.rows, seed=stage.seed),
                   priority=tuple(stage.priority))

    def rank(self, subset: str) -> int:
        return self.priority.index(subset) if subset in self.priority else len(self.priority)


def _band_runs(sigs: Path, band: int, n_files: int) -> list[Path]:
    return [sigs / f"band_{band:03d}" / f"{i:05d}.bin" for i in range(n_files)]


class LshBuckets(PipelineStep):
    """Task `b` merges band `b`'s runs and writes its candidate edges (and index matches) as flat files."""

    type = "🫂 - DEDUP"
    name = "lsh buckets"

    def __init__(self, work: str, n_files: int, window_records: int, against: str | None = None):
        super().__init__()
        self.work, self.n_files, self.window_records, self.against = work, n_files, window_records, against

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        work = Path(self.work)
        earlier = None
        if self.against:
            earlier = lsh.load_array(Path(self.against) / f"band_{rank:03d}.keys", np.uint64, mmap=True)
        with self.track_time():
            u, v, matched = lsh.band_candidates(_band_runs(work / "sigs", rank, self.n_files), self.window_records, earlier)
        self.stat_update("candidate_pairs", value=len(u))
        self.stat_update("index_matches", value=len(matched))
        pairs = np.empty((len(u), 2), dtype=np.uint64)
        pairs[:, 0], pairs[:, 1] = u, v
        lsh.save_array(work / "edges" / f"band_{rank:03d}.bin", pairs)
        lsh.save_array(work / "matched" / f"band_{rank:03d}.bin", matched)
        return
        yield


class LshClusters(PipelineStep):
    """One task: clusters from all bands' edges, a survivor per cluster, `duplicates.parquet`, removed nodes."""

    type = "🫂 - DEDUP"
    name = "lsh clusters"

    def __init__(self, work: str, files: list[str], bands: int, priority: Sequence[str], duplicates: str):
        super().__init__()
        self.work, self.files, self.bands = work, files, bands
        self.priority, self.duplicates = tuple(priority), duplicates

    def _file_name(self, index: int) -> str:
        """Input files under the output directory (a build's task files) are named relative to it, so the
        table does not depend on where the output lives."""
        path, base = Path(self.files[index]), Path(self.duplicates).parent
        return path.relative_to(base).as_posix() if base in path.parents else str(path)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        work = Path(self.work)
        edges = [lsh.load_array(work / "edges" / f"band_{b:03d}.bin", np.uint64).reshape(-1, 2) for b in range(self.bands)]
        matched = np.unique(np.concatenate(
            [lsh.load_array(work / "matched" / f"band_{b:03d}.bin", np.uint64) for b in range(self.bands)]))
        pairs = np.unique(np.concatenate(edges), axis=0) if edges else np.zeros((0, 2), np.uint64)
        # a document matching the earlier index is a cluster on its own even without a partner in this batch
        u = np.concatenate([pairs[:, 0], matched])
        v = np.concatenate([pairs[:, 1], matched])
        nodes, labels = lsh.connected_components(u, v)
        cfg = NearDedupConfig(priority=self.priority)
        ids, subsets = self._id_subset(nodes)
        ranks = [cfg.rank(s) for s in subsets]
        kept = lsh.choose_survivors(nodes, labels, ranks, ids, matched)
        _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        is_matched = np.isin(nodes, matched)
        table = pa.table(
            {
                "id": ids,
                "subset": subsets,
                "cluster_id": labels.astype(np.int64),
                "cluster_size": counts[inverse].astype(np.int64),
                "kept": kept,
                "matched_earlier": is_matched,
                "file": [self._file_name(int(n) >> lsh.ROW_BITS) for n in nodes],
                "row": (nodes & np.uint64(lsh.ROW_MASK)).astype(np.int64),
            },
            schema=DUPLICATES_SCHEMA,
        )
        with atomic_path(self.duplicates) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        lsh.save_array(work / "removed.bin", nodes[~kept])
        self.stat_update("clusters", value=len(counts))
        self.stat_update("clustered_documents", value=len(nodes))
        self.stat_update("removed", value=int((~kept).sum()))
        return
        yield

    def _id_subset(self, nodes: np.ndarray) -> tuple[list[str], list[str]]:
        """Ids and subsets of the clustered nodes only, one input file's two columns at a time."""
        ids: list[str] = [""] * len(nodes)
        subsets: list[str] = [""] * len(nodes)
        file_of = (nodes >> np.uint64(lsh.ROW_BITS)).astype(np.int64)
        for f in np.unique(file_of):
            where = np.flatnonzero(file_of == f)
            t = pq.read_table(self.files[int(f)], columns=["id", "subset"])
            rows = (nodes[where] & np.uint64(lsh.ROW_MASK)).astype(np.int64)
            fid, fsub = t.column("id").take(rows).to_pylist(), t.column("subset").take(rows).to_pylist()
            for j, i in enumerate(where):
                ids[i], subsets[i] = fid[j], fsub[j]
        return ids, subsets


class NearDupShardReader(PipelineStep):
    """Reads shards in the order given, skipping the removed near-duplicates (rows named by node)."""

    type = "📖 - READER"
    name = "near-dedup reader"

    def __init__(self, files: list[str], removed: str):
        super().__init__()
        self.files, self.removed = files, removed

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        removed = lsh.load_array(Path(self.removed), np.uint64)
        file_of = removed >> np.uint64(lsh.ROW_BITS)
        for index, path in enumerate(self.files):
            if index % world_size != rank:
                continue
            skip = set((removed[file_of == index] & np.uint64(lsh.ROW_MASK)).tolist())
            pf = pq.ParquetFile(path)
            row = 0
            for g in range(pf.num_row_groups):
                for rec in pf.read_row_group(g).to_pylist():
                    if row in skip:
                        self.stat_update("dropped_near_duplicate")
                    else:
                        self.stat_update("documents")
                        yield from_row(rec)
                    row += 1


class LshIndex(PipelineStep):
    """Task `b` writes `<index>/band_BBB.keys`: band `b`'s sorted distinct keys of every kept document and of
    the earlier index, the reference a later batch is deduplicated against."""

    type = "🫂 - DEDUP"
    name = "lsh index"

    def __init__(self, work: str, n_files: int, index: str, window_records: int, against: str | None = None):
        super().__init__()
        self.work, self.n_files, self.index = work, n_files, index
        self.window_records, self.against = window_records, against

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        work = Path(self.work)
        removed = lsh.load_array(work / "removed.bin", np.uint64)
        earlier = None
        if self.against:
            earlier = lsh.load_array(Path(self.against) / f"band_{rank:03d}.keys", np.uint64, mmap=True)
        out = Path(self.index) / f"band_{rank:03d}.keys"
        n = 0
        with atomic_path(out) as tmp, open(tmp, "wb") as f:
            for keys in lsh.merge_index_keys(_band_runs(work / "sigs", rank, self.n_files), removed, earlier,
                                             self.window_records):
                f.write(keys.tobytes())
                n += len(keys)
        self.stat_update("index_keys", value=n)
        return
        yield


# -- orchestration ------------------------------------------------------------------------------------------


def find_shards(inputs: Sequence[Path]) -> list[Path]:
    """Corpus shards under each input, inputs in the order given and files sorted within each.

    A build directory holds more Parquet than its corpus (`contamination.parquet`, `duplicates.parquet`, pack
    and index files): its corpus is `data/<subset>/` named as `parse_shard_name` reads it. A folder without that
    layout (an older `<subset>/<split>/` build, a folder of shards) gives the files that have the corpus
    columns. Either way, no file without a `text` column is ever read as corpus."""
    files: list[Path] = []
    for inp in inputs:
        inp = Path(inp)
        if inp.is_file():
            if inp.suffix != ".parquet" or not _has_corpus_columns(inp):
                raise DedupError(f"{inp}: not a corpus shard (a .parquet file with columns {', '.join(_CORPUS)})")
            files.append(inp.resolve())
            continue
        if not inp.is_dir():
            raise DedupError(f"{inp}: input not found (a build output directory or a .parquet shard)")
        candidates = sorted(p for p in inp.rglob("*.parquet")
                            if not ({WORK, INDEX, "packed"} & set(p.relative_to(inp).parts)))
        found = [p for p in candidates if _is_shard_name(p.relative_to(inp))]
        for p in found:
            if not _has_corpus_columns(p):
                raise DedupError(f"{p}: named as a corpus shard but lacks the columns {', '.join(_CORPUS)}")
        if not found:
            found = [p for p in candidates if _has_corpus_columns(p)]
        if not found:
            raise DedupError(f"{inp}: no corpus shards found (data/<subset>/*.parquet, or .parquet files with "
                             f"columns {', '.join(_CORPUS)})")
        files += [p.resolve() for p in found]
    return files


_CORPUS = ("id", "text", "meta")


def _is_shard_name(rel: Path) -> bool:
    try:
        parse_shard_name(rel)
    except ValueError:
        return False
    return len(rel.parts) == 3


def _has_corpus_columns(path: Path) -> bool:
    try:
        names = pq.read_schema(path).names
    except (OSError, pa.ArrowException) as e:
        raise DedupError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0] if str(e) else e})") from None
    return set(_CORPUS) <= set(names)


def run_lsh(
    files: Sequence[Path], work: Path, config: NearDedupConfig, duplicates: Path, workers: int = 1,
    against: Path | None = None, progress: bool = False,
) -> Path:
    """Stages 1-3: returns the file of removed nodes (uint64). `against` is an earlier run's `index/`."""
    from proofpile.executors import run_stage
    from proofpile.shard_io import ShardReader

    files = [str(f) for f in files]
    p = config.params
    logs = work / "logs"
    against_s = str(against) if against else None
    run_stage([ShardReader(files), MinhashSignatures(str(work / "sigs"), p)], len(files), workers,
              logs / "signatures", "near-dedup: signatures", progress)
    run_stage([LshBuckets(str(work), len(files), config.window_records, against_s)], p.bands, workers,
              logs / "buckets", "near-dedup: buckets", progress)
    run_stage([LshClusters(str(work), files, p.bands, config.priority, str(duplicates))], 1, 1,
              logs / "clusters", "near-dedup: clusters", progress)
    return work / "removed.bin"


def read_index_identity(against: Path, params: MinHashParams) -> Path:
    index = against / INDEX if (against / INDEX).is_dir() else against
    meta = index / "index.json"
    if not meta.is_file():
        raise DedupError(f"{against}: no signature index (expected {meta}); is it a `proofpile dedup` output?")
    got = json.loads(meta.read_text())["params"]
    for k, v in params.identity().items():
        if got.get(k) != v:
            raise DedupError(f"{meta}: {k} is {got.get(k)!r}, this run uses {v!r}; signatures are not comparable")
    return index


def near_dedup(
    inputs: Sequence[Path], out: Path, config: NearDedupConfig = NearDedupConfig(), workers: int = 1,
    against: Path | None = None, progress: bool = False,
) -> dict:
    """Deduplicate the shards under `inputs` into `out` (same layout); returns the manifest it wrote."""
    from proofpile import manifest as mf
    from proofpile import outdir
    from proofpile.executors import run_stage
    from proofpile.logs import quiet_datatrove
    from proofpile.shard_io import ShardWriter
    from proofpile.shards import clear_subsets

    quiet_datatrove()
    out = Path(out).resolve()
    files = find_shards(inputs)
    for f in files:
        if out == f or out in f.parents:
            raise DedupError(f"{f}: an input lies inside --out {out}; choose another --out")
    index_in = read_index_identity(Path(against).resolve(), config.params) if against else None
    outdir.claim(out, "dedup")  # never into a folder proofpile did not make: a re-run clears shards there
    # one dedup per --out at a time, and none while a build (or dedup) it reads is being written
    with outdir.locked(out, "dedup"), outdir.reading(*inputs, *([against] if against else [])):
        work = out / WORK
        identity = json.dumps({"files": [[str(f), f.stat().st_size] for f in files], "config": _config_json(config),
                               "against": str(index_in) if index_in else None}, indent=1, sort_keys=True)
        marker = work / "dedup.json"
        if marker.is_file() and marker.read_text() != identity:
            raise DedupError(f"{out}: holds a dedup of other inputs or parameters; use a new --out or delete it")
        work.mkdir(parents=True, exist_ok=True)
        write_text(marker, identity)

        duplicates = out / "duplicates.parquet"
        removed = run_lsh(files, work, config, duplicates, workers, index_in, progress)
        write_logs = work / "logs" / "write"
        subsets = sorted({s or "unknown" for f in files
                          for s in pq.read_table(f, columns=["subset"]).column("subset").unique().to_pylist()})
        if not (write_logs / "completions" / "00000").is_file():
            clear_subsets(out, subsets)
        writer = ShardWriter(str(out), lang_subsets=_subsets_split_by_lang(files))
        run_stage([NearDupShardReader([str(f) for f in files], str(removed)), writer], 1, 1,
                  write_logs, "near-dedup: write", progress)
        index_out = out / INDEX
        run_stage([LshIndex(str(work), len(files), str(index_out), config.window_records,
                            str(index_in) if index_in else None)],
                  config.params.bands, workers, work / "logs" / "index", "near-dedup: index", progress)
        write_text(index_out / "index.json", json.dumps({"params": config.params.identity()}, indent=1) + "\n")

        manifest = _manifest(files, out, config, index_in, subsets)
        mf.write_manifest(out / "manifest.json", manifest)
        return manifest


def _subsets_split_by_lang(files: list[Path]) -> list[str]:
    """Subsets whose input shards carry the language in their names keep it in the output's names."""
    out = set()
    for f in files:
        try:
            subset, _, lang = parse_shard_name(f)
        except ValueError:
            continue
        if lang:
            out.add(subset)
    return sorted(out)


def _config_json(config: NearDedupConfig) -> dict:
    return {"params": asdict(config.params), "priority": list(config.priority), "window_records": config.window_records}


def _manifest(files: list[Path], out: Path, config: NearDedupConfig, index_in: Path | None, subsets: list[str]) -> dict:
    from proofpile import manifest as mf

    logs = out / WORK / "logs"
    stages, funnel = [], []
    for name in ("signatures", "buckets", "clusters", "write", "index"):
        steps = mf.merge_steps(mf.read_task_stats(logs / name))
        stages.append({"stage": f"near-dedup: {name}", "steps": steps})
    funnel = mf.funnel_rows("near-dedup", mf.merge_steps(mf.read_task_stats(logs / "write")))
    dup = pq.read_table(out / "duplicates.parquet", columns=["subset", "kept", "cluster_id"]).to_pydict()
    per_subset: dict[str, dict[str, int]] = {}
    for f in files:
        s = pq.read_table(f, columns=["subset"]).column("subset").to_pylist()
        for name in s:
            per_subset.setdefault(name, {"documents": 0, "removed": 0})["documents"] += 1
    for name, kept in zip(dup["subset"], dup["kept"]):
        if not kept:
            per_subset[name]["removed"] += 1
    for c in per_subset.values():
        c["kept"] = c["documents"] - c["removed"]
    shards = mf.shard_entries(out, subsets)
    return {
        "proofpile_manifest": 1,
        "near_dedup": {
            **_config_json(config),
            "s_curve": s_curve(config.params).splitlines(),
            "against": str(index_in) if index_in else None,
        },
        "versions": mf.versions(),
        "inputs": [{"path": str(f), "rows": mf.parquet_rows(f)} for f in files],
        "stages": stages,
        "funnel": funnel,
        "counts": {
            "documents": sum(c["documents"] for c in per_subset.values()),
            "removed": sum(c["removed"] for c in per_subset.values()),
            "clusters": len(set(dup["cluster_id"])),
            "by_subset": dict(sorted(per_subset.items())),
        },
        "outputs": {"documents": sum(s["rows"] for s in shards), "shards": shards,
                    "duplicates": "duplicates.parquet", "index": INDEX},
    }


def build_stage_reader(plan, task_files: list[str], workers: int, progress: bool) -> NearDupShardReader:
    """The recipe's `near_dedup` stage: cluster the finalize input (`_work/near_dedup/`, with
    `duplicates.parquet` beside the manifest) and return the reader that skips the removed documents."""
    config = NearDedupConfig.from_stage(plan.recipe.stages.near_dedup)
    removed = run_lsh([Path(f) for f in task_files], plan.work / "near_dedup", config,
                      plan.out / "duplicates.parquet", workers, progress=progress)
    return NearDupShardReader(task_files, str(removed))
