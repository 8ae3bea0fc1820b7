"""A build's decontamination as a parallel stage: every crawl-task file is scanned in a task of its own, and
finalize's `decontaminate` step only looks its documents up.

The scan is the expensive part (an n-gram pass over all the text, 15-18 MB/s per core), so it runs before
finalize with one task per task file (fixed by the inputs, never by `--workers`), each writing the report
records of the documents it found holding benchmark n-grams to `_work/decontaminate/scan/NNNNN.parquet`, and
the document frequency of every benchmark n-gram in its file to `_work/decontaminate/frequencies/NNNNN.parquet`
(proofpile.decontam.frequency). Finalize sums the frequencies, leaves the corpus's own boilerplate out of the
evidence, and matches again only the documents the scan found.

The decision still happens where it always did, in finalize after chunk-exact dedup: exact dedup is
order-dependent and remembers the chunks of every document it passes, contaminated ones included, so dropping
them earlier (in the reader) would change which later documents count as duplicates. A document removed by
near-dedup or exact dedup is therefore scanned here but never counted or reported; the ones that reach the
`decontaminate` step get the counters and report rows a single-task scan gives them, in the same order, so
the report and the shards do not change.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched

from proofpile.atomic import atomic_path
from proofpile.decontam.frequency import FrequencyCounter
from proofpile.decontam.ngrams import DecontaminationFilter
from proofpile.decontam.report import RECORD_SCHEMA

#: a report record, plus where its document was (row in the task file) and which text it was found in
SCAN_SCHEMA = RECORD_SCHEMA.append(pa.field("row", pa.int64())).append(pa.field("text_xxh3", pa.binary(16)))


def text_key(text: str) -> bytes:
    """What a scan result is looked up by, with the id: the matches are a function of the text alone, so a
    document whose id recurs with other text is never given another one's result."""
    return xxhash.xxh3_128_digest(text.encode("utf-8", "surrogatepass"))


def scan_file(folder: Path, rank: int) -> Path:
    return folder / "scan" / f"{rank:05d}.parquet"


def frequency_file(folder: Path, rank: int) -> Path:
    return folder / "frequencies" / f"{rank:05d}.parquet"


class DecontaminationScan(PipelineStep):
    """Task `r` scans task file `r` with the build's `DecontaminationFilter` core and writes the report
    records of every document holding a benchmark item, whether or not finalize will see it."""

    type = "🔍 - SCAN"
    name = "decontamination scan"

    def __init__(self, filt: DecontaminationFilter, folder: str):
        super().__init__()
        self.filt, self.folder = filt, folder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        _ = self.filt.index  # an empty or unreadable benchmark fails before any document is read
        found: list[dict] = []
        counter = FrequencyCounter(self.filt.index.exact.keys)
        row = 0
        for batch in batched(data, self.filt.batch_size):
            with self.track_time():
                results, keys = self.filt.scan_batch(batch)
                counter.add(keys)
            for doc, rows in zip(batch, results):
                self.stat_update("documents")
                if rows:
                    self.stat_update("contaminated_documents")
                    key = text_key(doc.text)
                    for r in rows:
                        self.stat_update(f"contaminated_{r['benchmark']}")
                        found.append({**r, "row": row, "text_xxh3": key})
                row += 1
        out = scan_file(Path(self.folder), rank)
        with atomic_path(out) as tmp:  # a killed task leaves no file that looks finished
            pq.write_table(pa.Table.from_pylist(found, schema=SCAN_SCHEMA), tmp, compression="zstd")
        counter.write(frequency_file(Path(self.folder), rank))
        return
        yield


class ScanResults:
    """The scan's records by (document id, text key), loaded on first use inside the finalize task. Only
    contaminated documents have records, so this holds a few rows per benchmark item found."""

    def __init__(self, files: list[str]):
        self.files = files
        self._rows: dict[tuple[str, bytes], list[dict]] | None = None

    def _load(self) -> dict[tuple[str, bytes], list[dict]]:
        rows: dict[tuple[str, bytes], list[dict]] = {}
        owner: dict[tuple[str, bytes], tuple[int, int]] = {}
        for index, path in enumerate(self.files):
            if not Path(path).is_file():
                raise FileNotFoundError(f"{path}: decontamination scan result missing; the scan stage did not finish")
            for rec in pq.read_table(path, schema=SCAN_SCHEMA).to_pylist():
                key, where = (rec["doc_id"], rec.pop("text_xxh3")), (index, rec.pop("row"))
                # a document repeated elsewhere has the same records: keep those of its first copy only
                if owner.setdefault(key, where) == where:
                    rows.setdefault(key, []).append(rec)
        return rows

    def rows_for(self, batch: list[Document]) -> list[list[dict]]:
        if self._rows is None:
            self._rows = self._load()
        return [[dict(r) for r in self._rows.get((d.id, text_key(d.text)), ())] for d in batch]


def run_scan(work: Path, task_files: list[str], steps: list, workers: int, progress: bool) -> None:
    """Scan every task file in parallel, then point the finalize `decontaminate` step in `steps` at the
    results. Finished scan tasks are not redone on a resume (datatrove's completion markers)."""
    from proofpile.executors import run_stage
    from proofpile.shard_io import ShardReader

    filt = next(s for s in steps if isinstance(s, DecontaminationFilter))
    folder = work / "decontaminate"
    if task_files:
        # one task per file: ShardReader gives task r exactly file r when there are as many tasks as files
        run_stage([ShardReader(task_files), DecontaminationScan(filt, str(folder))], len(task_files), workers,
                  folder / "logs", "decontamination scan", progress)
    filt.scan = ScanResults([str(scan_file(folder, rank)) for rank in range(len(task_files))])
    filt.frequency_files = [str(frequency_file(folder, rank)) for rank in range(len(task_files))]
