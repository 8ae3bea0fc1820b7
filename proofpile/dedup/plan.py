"""`proofpile plan dedup`: the disk and RAM a near-dedup run will need, before starting it.

The numbers follow the data structures, not measurements: a run record is 16 bytes (key, node) per document
per band; an edge is 16 bytes; an index key is 8 bytes per kept document per band. RAM is the largest of the
stages' working sets: a signature task holds its shard's records and one (hashes x 8192) block per batch; a
bucket task one merge window (read, concatenated, sorted: ~3 copies); the cluster task the edges and ~120
bytes per clustered document (ids, labels, survivor sort). Only that last term grows with the corpus — and
only with its duplicated part.
"""

from __future__ import annotations

from dataclasses import dataclass

from proofpile.dedup.minhash import MinHashParams, s_curve

_RECORD = 16
_EDGE = 16
_PER_CLUSTERED_DOC = 120 + 64  # Python id string and sort tuple, numpy labels


@dataclass
class DedupPlan:
    docs: int
    avg_bytes: int
    params: MinHashParams
    dup_fraction: float
    shard_bytes: int
    window_records: int
    workers: int
    mb_per_s_per_core: float

    @property
    def text_bytes(self) -> int:
        return self.docs * self.avg_bytes

    def disk(self) -> dict[str, int]:
        b = self.params.bands
        dups = int(self.docs * self.dup_fraction)
        return {
            "signature runs": self.docs * b * _RECORD,
            "candidate edges": dups * b * _EDGE,
            "signature index": (self.docs - dups) * b * 8,
            "kept shards (zstd, ~1/3 of text)": (self.text_bytes - int(self.avg_bytes * dups)) // 3,
        }

    def ram(self) -> dict[str, int]:
        b, h = self.params.bands, self.params.num_hashes
        docs_per_shard = max(1, self.shard_bytes // max(1, self.avg_bytes))
        dups = int(self.docs * self.dup_fraction)
        clustered = min(self.docs, 2 * dups)  # every removed document and, at worst, one survivor each
        return {
            f"signature task (per worker, x{self.workers})": docs_per_shard * b * _RECORD + 8192 * h * 4 * 2
            + (4 << 20) * 8,
            "bucket merge window (per worker)": self.window_records * _RECORD * 3,
            "clusters (grows with duplicates only)": dups * b * _EDGE * 2 + clustered * _PER_CLUSTERED_DOC,
        }

    def render(self) -> str:
        gb = lambda n: f"{n / 2**30:,.2f} GiB"
        lines = [f"near-dedup plan: {self.docs:,} documents x {self.avg_bytes:,} bytes = {gb(self.text_bytes)} of text, "
                 f"assumed duplicate fraction {self.dup_fraction:.0%}", s_curve(self.params), "", "disk:"]
        disk = self.disk()
        lines += [f"  {k:<44} {gb(v):>14}" for k, v in disk.items()]
        lines.append(f"  {'total':<44} {gb(sum(disk.values())):>14}")
        lines.append("peak RAM:")
        ram = self.ram()
        lines += [f"  {k:<44} {gb(v):>14}" for k, v in ram.items()]
        sig = next(iter(ram.values())) * self.workers
        lines.append(f"  {'peak (largest stage)':<44} {gb(max(sig, *list(ram.values())[1:])):>14}")
        hours = self.text_bytes / 2**20 / (self.mb_per_s_per_core * self.workers) / 3600
        lines.append(f"signature time at {self.mb_per_s_per_core:g} MB/s per core x {self.workers}: {hours:,.1f} h")
        return "\n".join(lines)
