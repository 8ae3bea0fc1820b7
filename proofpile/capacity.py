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
    # the crawl rate and yield come from the crawl model below (WebCrawlModel), filled in after it
    "open-web-math": SubsetModel(
        "open-web-math", "uncompressed WARC",
        (0.0, "WebCrawlModel"),
        (0.0, "WebCrawlModel"),
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
    "decontamination": (15.4, "bench/decontaminate_quality.py: word n-gram scan with evidence, lower end of 15.4-18.0 MB/s"),
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
    crawl_rates: dict[str, float] = field(default_factory=dict)  # overrides of SubsetModel.crawl_mb_s
    override_sources: dict[str, str] = field(default_factory=dict)  # per subset, where its overrides came from

    def tokens(self) -> dict[str, float]:
        total = sum(self.shares.values())
        return {s: self.target_tokens * w / total for s, w in self.shares.items()}

    def _yield(self, s: str) -> float:
        return self.yields.get(s, SUBSETS[s].yield_[0])

    def _crawl_rate(self, s: str) -> float:
        return self.crawl_rates.get(s, SUBSETS[s].crawl_mb_s[0])

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
        stages = [Stage(f"crawl + filter: {s}", v["raw"] / (self._crawl_rate(s) * MB), "cluster", v["raw"],
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
            y = (self._yield(s), self.override_sources.get(s, "--yield")) if s in self.yields else m.yield_
            c = (self._crawl_rate(s), self.override_sources.get(s, "")) if s in self.crawl_rates else m.crawl_mb_s
            for label, (value, src) in (("crawl MB/s/core", c), ("yield", y),
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


# -- the web subset at Common Crawl scale -----------------------------------------------------------------------
# A crawl is mostly pages without math, so what a web build costs is set by how early those pages stop, not by
# the throughput of the chain on math pages. The model follows each page through the chain:
#
#   every page:            read from the WARC, then stage A of the prefilter (marker scan)
#   pages with a hint:     stage B (plain-text rendering, TeX formulas, MathScore)
#   pages sent on:         extraction, language ID, MathScore, quality (bench/open_web_math_chain.py's rate)
#
# and the tokens a crawl gives from OpenWebMath's own yield per crawled page.

WEB_RATES: dict[str, Sourced] = {
    "warc_read": (100.0, "bench/warc_read.py: proofpile's reader (warcio + record recovery), MB of uncompressed WARC "
                         "per CPU second (warcio alone 182, fastwarc 558, but fastwarc loses pages: see that bench)"),
    "markers": (450.0, "bench/web_prefilter.py: stage A (Aho-Corasick markers), MB of raw HTML per CPU second"),
    "text": (106.0, "bench/web_prefilter.py: stage B (resiliparse plain text, TeX formulas, MathScore) on the "
                    "pages that reach it, MB of raw HTML per CPU second"),
    "chain": (4.30, "bench/open_web_math_chain.py: extraction, language ID, MathScore, quality, MB of raw HTML per "
                    "CPU second"),
}
#: CC-MAIN-2023-06 (the last crawl OpenWebMath used): 3.15 billion pages, 400 TiB of uncompressed content
CRAWL_PAGES: Sourced = (3.15e9, "Common Crawl's announcement of CC-MAIN-2023-06: 3.15 billion pages")
PAGE_BYTES: Sourced = (400 * 2**40 / 3.15e9, "same: 400 TiB uncompressed / 3.15 billion pages, WARC bytes per page "
                                             "(request and metadata records included; all of it is read)")
WEB_MATH_SHARE: Sourced = (0.004, "OpenWebMath's prefilter passed ~0.4% of the crawl (237B pages -> ~1B)")
HINT_SHARE: Sourced = (0.089, "bench/web_prefilter.py: 8.9% of 169 real ordinary pages have a hint marker and go "
                              "to stage B")
OLD_SHARE: Sourced = (0.976, "bench/web_prefilter.py: 97.6% of the same pages reached extraction before the "
                             "two-stage prefilter")
#: OpenWebMath: 6.3M documents, 14.7B tokens, from ~237B crawled pages
KEPT_PER_PAGE: Sourced = (6.3e6 / 237e9, "OpenWebMath: 6.3M documents kept of ~237B pages crawled (after dedup)")
TOKENS_PER_DOC: Sourced = (14.7e9 / 6.3e6, "OpenWebMath: 14.7B tokens in 6.3M documents")
WEB_TOKENS = 15e9  # Proof-Pile-2's web subset


@dataclass
class WebCrawlModel:
    pages: float = CRAWL_PAGES[0]
    page_bytes: float = PAGE_BYTES[0]
    math_share: float = WEB_MATH_SHARE[0]  # pages sent on to extraction
    hint_share: float = HINT_SHARE[0]  # pages that go to stage B
    kept_per_page: float = KEPT_PER_PAGE[0]
    tokens_per_doc: float = TOKENS_PER_DOC[0]
    sources: dict[str, str] = field(default_factory=dict)  # what replaced a default (a flag, a manifest)

    def cpu_s_per_page(self) -> dict[str, float]:
        r = {k: v[0] * MB for k, v in WEB_RATES.items()}
        b = self.page_bytes
        return {"read WARC records": b / r["warc_read"],
                "prefilter stage A (markers)": b / r["markers"],
                "prefilter stage B (plain text)": self.hint_share * b / r["text"],
                "extraction .. quality": self.math_share * b / r["chain"]}

    def old_cpu_s_per_page(self) -> float:
        """Before the two stages: nearly every page went through the full extraction."""
        b = self.page_bytes
        return b / (WEB_RATES["warc_read"][0] * MB) + b / (WEB_RATES["markers"][0] * MB) + OLD_SHARE[0] * b / (
            WEB_RATES["chain"][0] * MB)

    def tokens_per_crawl(self) -> float:
        return self.pages * self.kept_per_page * self.tokens_per_doc

    def crawl_mb_s(self) -> float:
        """Raw bytes per CPU second over the whole mix: what `proofpile plan proof-pile-2` uses for the subset."""
        return self.page_bytes / sum(self.cpu_s_per_page().values()) / MB

    def yield_(self, bytes_per_token: float) -> float:
        """Text kept (before near-dedup is already counted in OpenWebMath's yield) per raw byte read."""
        return self.kept_per_page * self.tokens_per_doc * bytes_per_token / self.page_bytes

    def render(self, target_tokens: float = WEB_TOKENS, cores: int = 32) -> str:
        per_page = self.cpu_s_per_page()
        crawl_h = {k: v * self.pages / 3600 for k, v in per_page.items()}
        total = sum(crawl_h.values())
        old = self.old_cpu_s_per_page() * self.pages / 3600
        crawls = target_tokens / self.tokens_per_crawl()
        lines = [f"web crawl: {self.pages / 1e9:.2f}B pages x {self.page_bytes / 1e3:,.0f} KB = "
                 f"{self.pages * self.page_bytes / 1e12:,.0f} TB per crawl", "",
                 f"  {'per crawl':36s} {'pages':>8s} {'CPU-hours':>10s}", "  " + "-" * 56]
        shares = {"read WARC records": 1.0, "prefilter stage A (markers)": 1.0,
                  "prefilter stage B (plain text)": self.hint_share, "extraction .. quality": self.math_share}
        for k, h in crawl_h.items():
            lines.append(f"  {k:36s} {shares[k]:8.1%} {h:10,.0f}")
        lines.append(f"  {'total':36s} {'':8s} {total:10,.0f}   ({total / cores:,.0f} h on {cores} cores)")
        lines.append(f"  {'before the two-stage prefilter':36s} {OLD_SHARE[0]:8.1%} {old:10,.0f}   "
                     f"(that share of pages through the extraction)")
        lines += ["", f"tokens per crawl: {self.tokens_per_crawl() / 1e6:,.0f}M; {target_tokens / 1e9:g}B web tokens "
                      f"need {crawls:,.1f} crawls = {crawls * total:,.0f} CPU-hours "
                      f"({crawls * old:,.0f} before)", "", "assumptions:"]
        given = self.sources
        for label, value, src in (
            ("pages per crawl", f"{self.pages:.3g}", given.get("pages", CRAWL_PAGES[1])),
            ("bytes per page", f"{self.page_bytes:,.0f}", given.get("page_bytes", PAGE_BYTES[1])),
            ("share of pages sent to extraction", f"{self.math_share:.2%}", given.get("math_share", WEB_MATH_SHARE[1])),
            ("share of pages to stage B", f"{self.hint_share:.2%}", given.get("hint_share", HINT_SHARE[1])),
            ("documents kept per page", f"{self.kept_per_page:.3g}", given.get("kept_per_page", KEPT_PER_PAGE[1])),
            ("tokens per document", f"{self.tokens_per_doc:,.0f}", given.get("tokens_per_doc", TOKENS_PER_DOC[1])),
        ):
            lines.append(f"  {label} = {value}: {src}")
        for name, (value, src) in WEB_RATES.items():
            lines.append(f"  {name} MB/s/core = {value:g}: {src}")
        lines.append("  every page's bytes go through the reader and stage A; stage B and the chain read the bytes of "
                     "the pages they get; single-process rates on a 2-core development machine")
        return "\n".join(lines)


def mix_from_manifest(path, model: WebCrawlModel | None = None) -> WebCrawlModel:
    """A crawl's page mix as a finished build measured it: the prefilter's pass rates (pages sent on, pages sent
    to stage B) and the documents kept per page, from its manifest's funnel."""
    import json
    from pathlib import Path

    model = model or WebCrawlModel()
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = [r for r in manifest.get("funnel", []) if str(r.get("step", "")).endswith("math prefilter")]
    pages = sum(r["in"] or 0 for r in rows)
    if not pages:
        raise ValueError(f"{path}: no math prefilter in its funnel (not a web build, or it read no pages)")
    hints = sum(r.get("stages", {}).get("markers_hint", 0) for r in rows)
    if not any("stages" in r for r in rows):
        raise ValueError(f"{path}: its funnel predates the two-stage prefilter (no stages in its funnel row)")
    src = f"measured by the build in {path} ({pages:,} pages)"
    model.math_share = sum(r["out"] or 0 for r in rows) / pages
    model.hint_share = hints / pages
    model.sources.update(math_share=src, hint_share=src)
    docs = manifest.get("outputs", {}).get("documents")
    if docs:
        model.kept_per_page = docs / pages
        model.sources["kept_per_page"] = src
    return model


def web_subset(model: WebCrawlModel, dup_fraction: float = 0.1) -> SubsetModel:
    """The open-web-math subset of `proof-pile-2` from the crawl model: its rate over the whole page mix, and its
    yield before near-dedup (OpenWebMath's counts are after it; the plan's default duplicate share undoes that)."""
    base = SUBSETS["open-web-math"]
    return SubsetModel(
        base.name, base.raw_unit,
        (round(model.crawl_mb_s(), 2), "WebCrawlModel (`proofpile plan open-web-math`): whole crawl mix, "
                                       f"{model.math_share:.2%} of pages to extraction"),
        (float(f"{model.yield_(base.bytes_per_token[0]) / (1 - dup_fraction):.3g}"),
         "WebCrawlModel: OpenWebMath's documents and tokens per crawled page x bytes/token / bytes per page, "
         f"before {dup_fraction:.0%} near-duplicates"),
        base.bytes_per_token, base.stored_ratio, base.avg_doc_bytes)


SUBSETS["open-web-math"] = web_subset(WebCrawlModel())
