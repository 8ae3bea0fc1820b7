"""`proofpile decontaminate`: shards in, clean shards out in the same layout, plus the report.

Each input file gives one output file at the same relative path (JSONL inputs become Parquet), so a build
directory's `<subset>/<split>/<lang>-NNNNN.parquet` layout is kept as it is. Files are processed in sorted
path order in one process, so outputs are byte-identical run to run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from datatrove.data import Document

from proofpile import outdir
from proofpile.decontam.ngrams import DecontaminationFilter
from proofpile.decontam.report import write_report
from proofpile.documents import printable
from proofpile.shards import SCHEMA, TMP_SUFFIX, ShardSet, to_row


def _arrow_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowException,)


_ARROW_ERRORS = _arrow_errors()

_SKIP_DIRS = {"_work"}
_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.bz2")  # fsspec decompresses by the name
_REPORT_FILES = {"contamination.parquet"}


def input_files(inputs: list[Path], skip: Path | None = None) -> list[tuple[Path, Path]]:
    """(file, path relative to its input root) for every Parquet/JSONL shard under the inputs, except those
    under `skip` (the output directory: an --out inside an input folder must not be read back as input)."""
    out = []
    skip = skip.resolve() if skip is not None else None
    for root in inputs:
        if skip is not None and (root.resolve() == skip or skip in root.resolve().parents):
            raise ValueError(f"{root}: an input lies inside --out {skip}; choose another --out")
        if root.is_file():
            out.append((root, Path(root.name)))
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such file or directory")
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if (p.is_file() and p.name not in _REPORT_FILES and not (set(rel.parts) & _SKIP_DIRS)
                    and p.name.endswith((".parquet", *_JSONL_SUFFIXES))
                    and (skip is None or not p.resolve().is_relative_to(skip))):
                out.append((p, rel))
    if not out:
        raise FileNotFoundError(f"{', '.join(map(str, inputs))}: no .parquet or .jsonl shards")
    return out


def _stem(name: str) -> str:
    for suffix in (".parquet", *_JSONL_SUFFIXES):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _ignore(reason: str) -> None:
    pass


def read_documents(path: Path, count: Callable[[str], None] = _ignore) -> Iterator[Document]:
    """proofpile shards, or any Parquet/JSONL with `text` (and optionally `id`, `meta`/`metadata`).

    A record that is not a document (a JSONL line that is not an object, `text` missing or not a string,
    `meta` not an object) is skipped with `count("skipped_<reason>")` and a warning naming the file and
    record; damage that ends the file (a truncated stream, a corrupt row group) is warned about and counted
    as `file_damaged`, and the documents read before it are kept. A file with no `text` column at all is
    the wrong input, not a damaged one: that stays an error.
    """
    from datatrove.utils.logging import logger

    from proofpile.jsonl import JsonlError, read_jsonl

    n = 0
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            if "text" not in pf.schema_arrow.names:
                raise ValueError(f"{printable(str(path))}: no 'text' column "
                                 f"(columns: {', '.join(pf.schema_arrow.names)})")
            rows = _parquet_rows(pf, path, count)
        else:
            rows = ((f"line {line}", row) for line, row in read_jsonl(str(path), count, required={"text": str}))
        for where, row in rows:
            doc, problem = _document(row, f"{path.name}/{n}")
            if doc is None:
                logger.warning(f"{printable(str(path))}: {where}: {problem}; record skipped")
                count("skipped_bad_record")
                continue
            n += 1
            yield doc
    except (JsonlError, OSError, EOFError) + _ARROW_ERRORS as err:
        problem = printable((str(err).splitlines() or [""])[0])[:200]
        logger.warning(f"{printable(str(path))}: damaged after {n} documents ({type(err).__name__}: {problem}); "
                       "rest of file skipped")
        count("file_damaged")


def _parquet_rows(pf, path: Path, count: Callable[[str], None]) -> Iterator[tuple[str, dict]]:
    """("row N", row) by row group: a damaged group costs its own rows, not those of the groups after it."""
    from datatrove.utils.logging import logger

    first = 0
    for group in range(pf.num_row_groups):
        n = first
        try:
            for batch in pf.iter_batches(row_groups=[group]):
                for row in batch.to_pylist():
                    n += 1
                    yield f"row {n}", row
        except (OSError, *_ARROW_ERRORS) as err:
            problem = printable((str(err).splitlines() or [""])[0])[:200]
            logger.warning(f"{printable(str(path))}: row group {group} unreadable after row {n} "
                           f"({type(err).__name__}: {problem}); rest of the group skipped")
            count("skipped_row_group_damaged")
        first += pf.metadata.row_group(group).num_rows


def _document(row: dict, fallback_id: str) -> tuple[Document | None, str]:
    """The row as a Document, or None and what is wrong with it."""
    text = row.get("text")
    if not isinstance(text, str):
        return None, f"'text' is {type(text).__name__}, not a string"
    meta = row.get("meta", row.get("metadata")) or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except (ValueError, RecursionError):
            return None, "'meta' is not valid JSON"
    if not isinstance(meta, dict):
        return None, f"'meta' is a {type(meta).__name__}, not an object"
    doc_id = row.get("id", fallback_id)
    if doc_id is None or isinstance(doc_id, (dict, list)):
        return None, f"'id' is a {type(doc_id).__name__}"
    return Document(text=text, id=str(doc_id), metadata=meta), ""


def decontaminate(inputs: list[Path], out: Path, filt: DecontaminationFilter) -> dict:
    """Run `filt` over every shard; write clean shards and the report under `out`; return the summary."""
    files = input_files(inputs, skip=Path(out))
    _ = filt.index  # fail on a bad benchmark before writing anything
    outdir.claim(Path(out), "decontaminate")  # its shards and report would overwrite a user's same-named files
    # one run per --out at a time, and none while an input build is being written
    with outdir.locked(Path(out).resolve(), "decontaminate", lock=outdir.MARKER), outdir.reading(*inputs):
        _prescan(files, filt)
        return _decontaminate(files, out, filt)


class _Suspects:
    """The documents the first pass found holding benchmark n-grams: only these are matched again."""

    def __init__(self, keys: set):
        self.keys = keys

    def rows_for(self, batch: list[Document]) -> list[list]:
        from proofpile.decontam.scan import text_key

        return [[True] if (d.id, text_key(d.text)) in self.keys else [] for d in batch]


def _prescan(files: list[tuple[Path, Path]], filt: DecontaminationFilter) -> None:
    """First pass: the corpus document frequency of every benchmark n-gram (so the corpus's own boilerplate
    is left out of the evidence) and which documents hold any; the second pass decides."""
    from datatrove.utils.batching import batched

    from proofpile.decontam.frequency import FrequencyCounter
    from proofpile.decontam.scan import text_key

    index = filt.index
    counter = FrequencyCounter(index.exact.keys)
    suspects = set()
    for path, _ in files:
        for batch in batched(read_documents(path), filt.batch_size):
            found, keys = index.scan([d.text for d in batch])
            counter.add(keys)
            suspects.update((batch[i].id, text_key(batch[i].text)) for i in found)
    index.set_frequencies(counter.keys, counter.counts)
    filt.scan = _Suspects(suspects)


def _decontaminate(files: list[tuple[Path, Path]], out: Path, filt: DecontaminationFilter) -> dict:
    skipped: Counter[str] = Counter()
    for path, rel in files:
        rel = rel.with_name(_stem(rel.name))
        target = out / rel.parent
        shards = ShardSet(max_shard_bytes=2**62)

        try:
            for doc in filt.run(read_documents(path, lambda reason: skipped.update([reason]))):
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
    return write_report(out, filt.records, filt.index.info, filt.scanned, filt.report_only,
                        input_skipped=dict(sorted(skipped.items())))
