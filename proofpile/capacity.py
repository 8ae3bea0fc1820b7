"""`proofpile plan proof-pile-2`: CPU-hours, disk, RAM and wall time of a whole-corpus build, before starting it.

Arithmetic over per-core throughputs measured by `bench/` (each number below says where it came from), from
the target token count back to the input each subset must read:

    text kept (bytes)  = tokens x bytes/token                       (after near-dedup)
    text before dedup  = text kept / (1 - duplicate share)
    raw input (bytes)  = text before dedup / yield                  (in the unit the crawl throughput counts)
    CPU seconds        = bytes a stage reads / (MB/s per core)

Parallel stages (crawl + filter, near-dedup signatures, the decontamination scan) spread over every core of
every node; finalize (chunk-exact dedup, the decontamination decision looked up from the scan, split, shard
writing) is one task, because its decisions depend on document order; pack runs on one node with a process per
core. So adding nodes shortens only the first three.
The throughputs are single-process figures on a 2-core development machine: treat the result as the order of
magnitude, and re-measure on your hardware with the bench scripts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1e6

#: (value, where it came from)
Sourced = tuple[float, str]


@dataclass(frozen=True)
class SubsetModel:
    name: str
    raw_unit: str  # what the crawl throughput and the yield count
    crawl_mb_s: Sourced  # per core, whole crawl + filter chain, in raw_unit
    yield_: Sourced  # text bytes kept per raw byte (before near-dedup)
    bytes_per_token: Sourced
    stored_ratio: Sourced  # bytes on disk per raw byte (compression of the inputs as fetched)
    avg_doc_bytes: Sourced  # of kept text, for the near-dedup records


SUBSETS: dict[str, SubsetModel] = {
    "arxiv": SubsetModel(
        "arxiv", "unpacked e-print files",
        (1.77, "bench/arxiv.py, proofpile mode, lower end of 1.77-2.6 MB/s"),
        (0.70, "bench/arxiv.py: 1.16 M characters kept from 1.67 MB unpacked per pass over the 7 real papers"),
        (2.90, "bench/bytes_per_token.py: Llama 2 tokenizer on the shared arXiv LaTeX"),
        (0.32, "bench/arxiv.py: compressed e-print MB/s / unpacked MB/s = 0.90 / 2.83"),
        (166_000, "bench/arxiv.py: 1,162,323 characters kept from 7 papers"),
    ),
    "open-web-math": SubsetModel(
        "open-web-math", "raw HTML",
        (4.30, "bench/open_web_math_chain.py, whole chain (prefilter .. quality), datatrove steps"),
        (0.0033, "bench/open_web_math_chain.py: kept text = 0.33% of the raw HTML (168 of 1,608 pages kept); "
                 "these pages are rich in math, so Common Crawl at large yields far less: set --yield"),
        (3.22, "bench/bytes_per_token.py: Llama 2 tokenizer on the shared web math text"),
        (0.26, "gzip'd WARC / uncompressed: 0.25 and 0.28 on the two shared Common Crawl WARC files"),
        (4_700, "bench/open_web_math_chain.py: 0.03 MB kept text in 7 pages"),
    ),
    "algebraic-stack": SubsetModel(
        "algebraic-stack", "source files",
        (35.7, "bench/algebraic_stack.py, whole chain (notebook, code rules, language ID, chunk dedup)"),
        (0.88, "bench/algebraic_stack.py: share of bytes kept on its generated corpus (an assumption for real code)"),
        (2.69, "bench/bytes_per_token.py: Llama 2 tokenizer on the sample repositories and Python sources"),
        (0.33, "assumed: zstd Parquet / git packs at ~1/3 of the text (as proofpile/dedup/plan.py assumes)"),
        (17_000, "bench/bytes_per_token.py: 34 MB of code in 2,011 files"),
    ),
}

STAGE_RATES: dict[str, Sourced] = {
    "signatures": (14.0, "bench/dedup.py: proofpile MinHash signatures, MB of text per CPU second"),
    "decontamination": (14.9, "bench/decontaminate.py: n-gram index scan, lower end of 14.9-21 MB/s"),
    "finalize": (28.0, "bench/finalize.py: Parquet read, chunk-exact dedup, split, zstd Parquet write of 200 MB "
                       "in ~4 KB documents (larger documents go faster)"),
    "pack": (3.1, "bench/pack.py: proofpile pack, 90% of bare sentencepiece encode (3.45 MB/s)"),
}
SIGNATURE_RAM_PER_TEXT_BYTE: Sourced = (420 / 500, "bench/dedup.py: peak RAM 420 MB signing 500 MB")
SHARD_RATIO: Sourced = (1 / 3, "assumed: zstd level 3 Parquet at ~1/3 of the text (proofpile/dedup/plan.py)")
TOKEN_BYTES: Sourced = (2, "pack writes uint16 ids when the vocabulary fits (Llama 2 / Code Llama: 32,000 / 32,016)")
IDX_BYTES_PER_DOC = 4 + 8 + 8  # Megatron .idx: int32 length, int64 offset, int64 document index
DEDUP_RECORD = 16  # bytes per document per band in the signature runs (proofpile/dedup/plan.py)
TASK_FILE_BYTES = 256 * 2**20  # text per crawl task file assumed for the per-worker signature RAM
#: what bounds a crawl worker's memory (not measured: set by the recipe's caps)
CRAWL_RAM = {
    "arxiv": "a paper at a time, unpacked in memory up to arxiv.max_paper_bytes (256 MiB)",
    "open-web-math": "a page at a time up to commoncrawl.max_body_bytes (5 MiB), extraction in a sandbox process",
    "algebraic-stack": "a file at a time up to max_file_bytes (2 MiB), plus the language-ID model",
}

#: Proof-Pile-2's token counts per subset (LLEMMA paper), used to split a target
PROOF_PILE_2_TOKENS = {"arxiv": 29e9, "open-web-math": 15e9, "algebraic-stack": 11e9}


@dataclass
class Stage:
    name: str
    cpu_s: float
    parallel: str  # "cluster" (all cores of all nodes), "node" (cores of one node), "serial" (one core)
    reads: float  # bytes
    ram: str = ""


@dataclass
class CapacityPlan:
    target_tokens: float
    shares: dict[str, float]
    nodes: int = 1
    cores_per_node: int = 32
    mem_per_node_gb: float = 128
    dup_fraction: float = 0.1
    bands: int = 12
    yields: dict[str, float] = field(default_factory=dict)  # overrides of SubsetModel.yield_

    def tokens(self) -> dict[str, float]:
        total = sum(self.shares.values())
        return {s: self.target_tokens * w / total for s, w in self.shares.items()}

    def _yield(self, s: str) -> float:
        return self.yields.get(s, SUBSETS[s].yield_[0])

    def text(self) -> dict[str, dict[str, float]]:
        """Per subset: final text, text before near-dedup, raw input read, and raw input as stored."""
        out = {}
        for s, tok in self.tokens().items():
            m = SUBSETS[s]
            final = tok * m.bytes_per_token[0]
            before = final / (1 - self.dup_fraction)
            raw = before / self._yield(s)
            out[s] = {"tokens": tok, "final": final, "before_dedup": before, "raw": raw, "stored": raw * m.stored_ratio[0],
                      "docs": final / m.avg_doc_bytes[0], "docs_before": before / m.avg_doc_bytes[0]}
        return out

    def stages(self) -> list[Stage]:
        t = self.text()
        stages = [Stage(f"crawl + filter: {s}", v["raw"] / (SUBSETS[s].crawl_mb_s[0] * MB), "cluster", v["raw"],
                        CRAWL_RAM[s]) for s, v in t.items()]
        before = sum(v["before_dedup"] for v in t.values())
        final = sum(v["final"] for v in t.values())
        sig_ram = SIGNATURE_RAM_PER_TEXT_BYTE[0] * TASK_FILE_BYTES
        stages.append(Stage("near-dedup signatures", before / (STAGE_RATES["signatures"][0] * MB), "cluster", before,
                            f"{sig_ram / 2**30:.2f} GiB per worker ({TASK_FILE_BYTES / 2**20:.0f} MiB task files)"))
        stages.append(Stage("decontamination scan", before / (STAGE_RATES["decontamination"][0] * MB), "cluster",
                            before, "the benchmark n-gram index per worker, a batch of 64 documents at a time"))
        stages.append(Stage("finalize (dedup, split, write)", before / (STAGE_RATES["finalize"][0] * MB), "serial",
                            before, "one process; row groups of 32 MiB, chunk hashes (~60 bytes per distinct "
                                    "2,048-character chunk) and the scan's records of contaminated documents"))
        stages.append(Stage("pack (tokenize)", final / (STAGE_RATES["pack"][0] * MB), "node", final,
                            "one tokenizer per core"))
        return stages

    def wall_s(self, stage: Stage) -> float:
        cores = {"cluster": self.nodes * self.cores_per_node, "node": self.cores_per_node, "serial": 1}[stage.parallel]
        return stage.cpu_s / cores

    def disk(self) -> dict[str, float]:
        t = self.text()
        docs_before = sum(v["docs_before"] for v in t.values())
        docs = sum(v["docs"] for v in t.values())
        return {
            "raw input as fetched (e-prints, WARC.gz, Parquet/git)": sum(v["stored"] for v in t.values()),
            "crawl task files (_work, zstd Parquet)": sum(v["before_dedup"] for v in t.values()) * SHARD_RATIO[0],
            "near-dedup signature runs (_work/near_dedup)": docs_before * self.bands * DEDUP_RECORD,
            "output shards (data/, zstd Parquet)": sum(v["final"] for v in t.values()) * SHARD_RATIO[0],
            "token files (.bin uint16 + .idx)": self.target_tokens * TOKEN_BYTES[0] + docs * IDX_BYTES_PER_DOC,
        }

    def render(self) -> str:
        gb = lambda n: f"{n / 1e9:,.1f} GB"
        hours = lambda s: f"{s / 3600:,.1f} h"
        lines = [f"plan: {self.target_tokens / 1e9:g}B tokens on {self.nodes} node(s) x {self.cores_per_node} cores, "
                 f"{self.mem_per_node_gb:g} GB RAM each", "", "per subset:"]
        for s, v in self.text().items():
            lines.append(f"  {s:16s} {v['tokens'] / 1e9:6.2f}B tokens  {gb(v['final']):>12} text  "
                         f"{gb(v['raw']):>14} {SUBSETS[s].raw_unit} to read ({gb(v['stored'])} as fetched)")
        lines += ["", f"  {'stage':48s} {'CPU-hours':>10s} {'wall':>10s}  runs on", "  " + "-" * 90]
        total_cpu = total_wall = 0.0
        for st in self.stages():
            wall = self.wall_s(st)
            total_cpu, total_wall = total_cpu + st.cpu_s, total_wall + wall
            where = {"cluster": "every core of every node", "node": "one node", "serial": "one core"}[st.parallel]
            lines.append(f"  {st.name:48s} {st.cpu_s / 3600:>10,.1f} {hours(wall):>10s}  {where}")
        lines.append(f"  {'total':48s} {total_cpu / 3600:>10,.1f} {hours(total_wall):>10s}")
        lines += ["", "disk:"]
        disk = self.disk()
        lines += [f"  {k:54s} {gb(v):>12}" for k, v in disk.items()]
        lines.append(f"  {'total (all kept until the build is done)':54s} {gb(sum(disk.values())):>12}")
        lines += ["", "RAM:"]
        lines += [f"  {st.name:48s} {st.ram}" for st in self.stages()]
        sig = SIGNATURE_RAM_PER_TEXT_BYTE[0] * TASK_FILE_BYTES * self.cores_per_node / 2**30
        lines.append(f"  signatures on a full node: {sig:.1f} GiB of {self.mem_per_node_gb:g} GB"
                     + ("  <-- more than the node has: fewer workers or smaller task files" if sig > self.mem_per_node_gb * 0.93 else ""))
        total = sum(self.shares.values())
        lines += ["", "assumptions:", "  split of the target: " + ", ".join(
            f"{s} {w / total:.1%}" for s, w in self.shares.items()) + " (Proof-Pile-2's 29B : 15B : 11B unless --share)",
            f"  near-duplicates removed: {self.dup_fraction:.0%} of the text (--dup-fraction), {self.bands} LSH bands"]
        for s, m in SUBSETS.items():
            if s not in self.shares:
                continue
            y = (self._yield(s), "--yield") if s in self.yields else m.yield_
            for label, (value, src) in (("crawl MB/s/core", m.crawl_mb_s), ("yield", y),
                                        ("bytes/token", m.bytes_per_token), ("stored/raw", m.stored_ratio),
                                        ("bytes/document", m.avg_doc_bytes)):
                lines.append(f"  {s} {label} = {value:g}: {src}")
        for name, (value, src) in STAGE_RATES.items():
            lines.append(f"  {name} MB/s/core = {value:g}: {src}")
        for label, (value, src) in (("signature RAM / text", SIGNATURE_RAM_PER_TEXT_BYTE),
                                    ("shard bytes / text", SHARD_RATIO), ("bytes per token id", TOKEN_BYTES)):
            lines.append(f"  {label} = {value:.3g}: {src}")
        lines.append("  throughputs are single-process figures on a 2-core development machine; wall times assume "
                     "enough tasks to fill every core and ignore I/O and scheduling")
        return "\n".join(lines)


def proof_pile_2_plan(target_tokens: float, shares: dict[str, float] | None = None, **kw) -> CapacityPlan:
    shares = dict(shares or PROOF_PILE_2_TOKENS)
    unknown = sorted(set(shares) - set(SUBSETS))
    if unknown:
        raise ValueError(f"unknown subset(s) {', '.join(unknown)} (known: {', '.join(SUBSETS)})")
    if target_tokens <= 0 or any(w < 0 for w in shares.values()) or not sum(shares.values()):
        raise ValueError("--target-tokens and the shares must be positive")
    return CapacityPlan(target_tokens=target_tokens, shares=shares, **kw)
