"""`proofpile decontaminate`: shards in, clean shards out in the same layout, plus the report.

Each input file gives one output file at the same relative path (JSONL inputs become Parquet), so a build
directory's `<subset>/<split>/<lang>-NNNNN.parquet` layout is kept as it is. Files are processed in sorted
path order in one process, so outputs are byte-identical run to run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from datatrove.data import Document

from proofpile import outdir
from proofpile.decontam.ngrams import DecontaminationFilter
from proofpile.decontam.report import write_report
from proofpile.shards import SCHEMA, TMP_SUFFIX, ShardSet, iter_documents, to_row

_SKIP_DIRS = {"_work"}
_REPORT_FILES = {"contamination.parquet"}


def input_files(inputs: list[Path]) -> list[tuple[Path, Path]]:
    """(file, path relative to its input root) for every Parquet/JSONL shard under the inputs."""
    out = []
    for root in inputs:
        if root.is_file():
            out.append((root, Path(root.name)))
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such file or directory")
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if (p.is_file() and p.name not in _REPORT_FILES and not (set(rel.parts) & _SKIP_DIRS)
                    and p.name.endswith((".parquet", ".jsonl", ".jsonl.gz"))):
                out.append((p, rel))
    if not out:
        raise FileNotFoundError(f"{', '.join(map(str, inputs))}: no .parquet or .jsonl shards")
    return out


def read_documents(path: Path) -> Iterator[Document]:
    """proofpile shards, or any Parquet/JSONL with `text` (and optionally `id`, `meta`/`metadata`)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        names = pq.ParquetFile(path).schema_arrow.names
        if {"id", "text", "meta"} <= set(names):
            yield from iter_documents([path])
            return
        rows = (r for b in pq.ParquetFile(path).iter_batches() for r in b.to_pylist())
    else:
        import gzip

        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    for n, row in enumerate(rows):
        if not isinstance(row.get("text"), str):
            raise ValueError(f"{path}: record {n + 1}: no 'text' field")
        meta = row.get("meta", row.get("metadata")) or {}
        if isinstance(meta, str):
            meta = json.loads(meta)
        yield Document(text=row["text"], id=str(row.get("id", f"{path.name}/{n}")), metadata=meta)


def decontaminate(inputs: list[Path], out: Path, filt: DecontaminationFilter) -> dict:
    """Run `filt` over every shard; write clean shards and the report under `out`; return the summary."""
    files = input_files(inputs)
    _ = filt.index  # fail on a bad benchmark before writing anything
    outdir.claim(Path(out), "decontaminate")  # its shards and report would overwrite a user's same-named files
    for path, rel in files:
        rel = rel.with_name(rel.name.removesuffix(".gz").removesuffix(".jsonl").removesuffix(".parquet"))
        target = out / rel.parent
        shards = ShardSet(max_shard_bytes=2**62)

        try:
            for doc in filt.run(read_documents(path)):
                shards.write(target, rel.name, to_row(doc))
        except BaseException:
            shards.abort()
            raise
        shards.close()
        final = target / f"{rel.name}.parquet"
        if shards.finished:
            os.replace(shards.finished[0][0], final)
        else:  # every document removed: an empty shard keeps the layout complete
            import pyarrow as pa
            import pyarrow.parquet as pq

            target.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist([], schema=SCHEMA), str(final) + TMP_SUFFIX, compression="zstd")
            os.replace(str(final) + TMP_SUFFIX, final)
    return write_report(out, filt.records, filt.index.info, filt.scanned, filt.report_only)
