"""What a build holds, computed once from its shards and manifest: `proofpile stats` prints it and the dataset
card renders it, so the two can never disagree.

Documents and text bytes are counted from the shards themselves (the manifest's row counts are cross-checked,
not trusted), tokens come from the pack's own `tokens.json`, and the funnel, dedup and decontamination figures
from the manifest. Lengths go into fixed power-of-two buckets rather than a list of every length, so memory
stays flat on a corpus of hundreds of millions of documents and the histogram is exactly reproducible.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from proofpile.errors import ProofpileError

#: document lengths (UTF-8 bytes of `text`) are bucketed by floor(log2); bucket k holds [2^k, 2^(k+1))
LENGTH_BUCKETS = 40
_COUNTS = ("documents", "text_bytes", "tokens")


class StatsError(ProofpileError):
    """A build directory that cannot be described: the message names the file and what is wrong."""


def load_manifest(directory: Path) -> dict:
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise StatsError(f"{path}: not found (is {directory} a `proofpile build` output directory?)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StatsError(f"{path}: unreadable: {e}") from None
    if not isinstance(manifest, dict):
        raise StatsError(f"{path}: a JSON {_json_kind(manifest)}, not a proofpile build manifest (an object)")
    outputs = manifest.get("outputs")
    shards = outputs.get("shards") if isinstance(outputs, dict) else None
    if not isinstance(shards, list):
        raise StatsError(f"{path}: no outputs.shards list (is {directory} a `proofpile build` output directory?)")
    fields = {"path": str, "subset": str, "split": str, "rows": int}
    for s in shards:
        if not isinstance(s, dict) or not all(isinstance(s.get(k), t) for k, t in fields.items()):
            name = s.get("path", s) if isinstance(s, dict) else s
            raise StatsError(f"{path}: shard entry {str(name)[:200]!r} lacks path/subset/split/rows "
                             "(built before the Hub layout? rebuild with this version)")
    return manifest


def _json_kind(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


@contextlib.contextmanager
def manifest_shape(directory: Path):
    """A manifest.json that parses but is not shaped as this version writes it (edited by hand, written by
    another tool or version) surfaces as a KeyError or TypeError deep in the code that reads it: one line."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, IndexError) as e:
        raise StatsError(f"{Path(directory) / 'manifest.json'}: not shaped as this proofpile version writes it "
                         f"({type(e).__name__}: {e}); was the build made by another version?") from None


def compute_stats(directory: str | Path, pack: str | Path | None = None) -> dict:
    """Every number `stats` prints and the card shows, as plain JSON-able data.

    `pack` is a `proofpile pack` output directory; by default the build's own pack stage output is used when
    there is one. Raises StatsError for a missing or damaged build."""
    with manifest_shape(Path(directory)):
        return _compute_stats(Path(directory), pack)


def _compute_stats(directory: Path, pack: str | Path | None) -> dict:
    manifest = load_manifest(directory)
    groups: dict[tuple[str, str, str], dict] = defaultdict(lambda: {"documents": 0, "text_bytes": 0, "files": 0})
    hist: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(LENGTH_BUCKETS, dtype=np.int64))
    parquet_bytes = 0
    for entry in manifest["outputs"]["shards"]:
        path = directory / entry["path"]
        if not path.is_file():
            raise StatsError(f"{path}: listed in manifest.json but missing")
        rows = _scan_shard(path, entry, groups, hist[entry["subset"]])
        if rows != entry["rows"]:
            raise StatsError(f"{path}: {rows} rows, manifest.json says {entry['rows']} (file changed after the build?)")
        parquet_bytes += path.stat().st_size

    warnings: list[str] = []
    tokens = _load_tokens(directory, manifest, pack, groups, warnings)
    rows = []
    for (subset, split, lang), g in sorted(groups.items(), key=lambda kv: (kv[0][0], _split_order(kv[0][1]), kv[0][2])):
        tok = tokens["counts"].get((subset, split, lang)) if tokens else None
        rows.append({"subset": subset, "split": split, "lang": lang, "files": g["files"], "documents": g["documents"],
                     "text_bytes": g["text_bytes"], "tokens": tok})
    return {
        "recipe": manifest.get("recipe", {}).get("name"),
        "proofpile": manifest.get("versions", {}).get("proofpile"),
        "totals": {**_sum(rows, tokens is not None), "shards": len(manifest["outputs"]["shards"]),
                   "parquet_bytes": parquet_bytes},
        "subsets": {s: _rollup([r for r in rows if r["subset"] == s], tokens is not None)
                    for s in sorted({r["subset"] for r in rows})},
        "rows": rows,
        "tokenizer": tokens["tokenizer"] if tokens else None,
        "funnel": manifest.get("funnel", []),
        "funnel_by_stage": stage_summary(manifest.get("funnel", [])),
        "dedup": _dedup(directory, manifest),
        "dropped": dropped_summary(directory),
        "decontamination": _decontamination(manifest),
        "length_histogram": {"unit": "utf-8 bytes, bucket k = [2^k, 2^(k+1))",
                             "subsets": {s: h.tolist() for s, h in sorted(hist.items())}},
        "warnings": warnings,
    }


def _scan_shard(path: Path, entry: dict, groups: dict, hist: np.ndarray) -> int:
    """Text bytes per language and the length histogram, one row group at a time (memory stays flat)."""
    try:
        pf = pq.ParquetFile(path)
        n = 0
        seen = set()
        for i in range(pf.num_row_groups):
            t = pf.read_row_group(i, columns=["text", "lang"])
            lengths = pc.binary_length(t.column("text"))
            n += len(lengths)
            buckets = np.floor(np.log2(np.maximum(lengths.to_numpy(zero_copy_only=False), 1))).astype(np.int64)
            hist += np.bincount(np.minimum(buckets, LENGTH_BUCKETS - 1), minlength=LENGTH_BUCKETS)
            per_lang = pa.table({"lang": t.column("lang"), "len": lengths}).group_by("lang").aggregate(
                [("len", "sum"), ("len", "count")])
            for lang, total, count in zip(*(per_lang.column(c).to_pylist() for c in ("lang", "len_sum", "len_count"))):
                g = groups[(entry["subset"], entry["split"], lang)]
                g["documents"] += count
                g["text_bytes"] += total
                if lang not in seen:
                    g["files"] += 1
                    seen.add(lang)
        return n
    except (OSError, ValueError, KeyError) as e:
        raise StatsError(f"{path}: not a readable corpus shard: {e}") from None


def _split_order(split: str) -> int:
    return {"train": 0, "validation": 1, "test": 2}.get(split, 3)


def _sum(rows: list[dict], with_tokens: bool) -> dict:
    out = {"documents": sum(r["documents"] for r in rows), "text_bytes": sum(r["text_bytes"] for r in rows)}
    out["tokens"] = sum(r["tokens"] or 0 for r in rows) if with_tokens else None
    return out


def _rollup(rows: list[dict], with_tokens: bool) -> dict:
    """A subset's totals, per split and per language (languages summed over splits)."""
    splits = sorted({r["split"] for r in rows}, key=_split_order)
    langs = sorted({r["lang"] for r in rows})
    return {
        **_sum(rows, with_tokens),
        "splits": {s: _sum([r for r in rows if r["split"] == s], with_tokens) for s in splits},
        "langs": {lang: _sum([r for r in rows if r["lang"] == lang], with_tokens) for lang in langs},
    }


# -- tokens -------------------------------------------------------------------------------------------------


def find_pack(directory: Path, manifest: dict) -> Path | None:
    """The build's pack stage output: its recorded place, else `<dir>/<stages.pack.out>` (the build directory
    may have been moved since), else nothing."""
    candidates = []
    rec = manifest.get("pack") or {}
    stages = manifest.get("recipe", {}).get("resolved", {}).get("stages", {})
    out = (stages.get("pack") or {}).get("out")
    if out:
        candidates.append(directory / out)
    if rec.get("out"):
        candidates.append(Path(rec["out"]))
    for c in candidates:
        if (c / "tokens.json").is_file():
            return c
    return None


def _load_tokens(directory: Path, manifest: dict, pack, groups: dict, warnings: list[str]) -> dict | None:
    pack_dir = Path(pack) if pack is not None else find_pack(directory, manifest)
    if pack_dir is None:
        return None
    path = pack_dir / "tokens.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StatsError(f"{path}: unreadable: {e}") from None
    if not isinstance(record, dict):
        raise StatsError(f"{path}: a JSON {_json_kind(record)}, not the tokens.json `proofpile pack` writes")
    counts: dict[tuple[str, str, str], int] = {}
    docs: dict[tuple[str, str, str], int] = {}
    try:
        for subset, splits in record.get("tokens", {}).items():
            for split, node in splits.items():
                for lang, c in node.get("by_lang", {}).items():
                    counts[(subset, split, lang)] = c["tokens"]
                    docs[(subset, split, lang)] = c["documents"]
    except (AttributeError, KeyError, TypeError) as e:
        raise StatsError(f"{path}: not shaped as `proofpile pack` writes it ({type(e).__name__}: {e})") from None
    built = {k: g["documents"] for k, g in groups.items()}
    if docs != built:
        # a pack of an earlier build (or of another corpus) would put wrong token counts on the card
        warnings.append(f"{path}: its documents per subset/split/language differ from the build's "
                        f"({sum(docs.values()):,} vs {sum(built.values()):,}); tokens left out — re-run `proofpile pack`")
        return None
    tok = record.get("tokenizer") if isinstance(record.get("tokenizer"), dict) else {}
    return {
        "counts": counts,
        "tokenizer": {"name": _tokenizer_name(str(tok.get("ref", ""))), "ref": tok.get("ref"), "backend": tok.get("backend"),
                      "vocab_size": tok.get("vocab_size"), "sha256": tok.get("sha256"),
                      "framing": record.get("framing"), "format": record.get("format"), "dtype": record.get("dtype")},
    }


def _tokenizer_name(ref: str) -> str:
    """A Hub id as it is; a local file by its name (its directory means nothing to the card's readers)."""
    return Path(ref).name if ref and Path(ref).exists() else ref


# -- funnel, dedup, decontamination -------------------------------------------------------------------------

#: example documents shown per drop reason
DROPPED_SAMPLES = 3


def dropped_summary(directory: Path) -> list[dict]:
    """Per subset, stage and reason of the dropped-documents table (`<build>/dropped/*.parquet`, proofpile.dropped):
    the count and the first few documents (id and where it came from), in the table's own order."""
    from proofpile.dropped import ORIGIN

    groups: dict[tuple[str, str, str], dict] = {}
    for path in sorted((directory / "dropped").glob("*.parquet")):
        t = pq.read_table(path, columns=["id", "subset", "stage", "reason", *ORIGIN])
        for row in t.to_pylist():
            key = (row["subset"], row["stage"], row["reason"])
            g = groups.setdefault(key, {"subset": key[0], "stage": key[1], "reason": key[2], "count": 0, "samples": []})
            g["count"] += 1
            if len(g["samples"]) < DROPPED_SAMPLES:
                code = f"{row['repo']}:{row['path']}" if row["repo"] else row["path"]
                where = row["url"] or row["arxiv_id"] or code
                g["samples"].append({"id": row["id"], "where": where or ""})
    return [groups[k] for k in sorted(groups)]



def stage_summary(funnel: list[dict]) -> list[dict]:
    """Per stage: documents read, kept, and drops summed by reason over its steps."""
    out: dict[str, dict] = {}
    for r in funnel:
        s = out.setdefault(r["stage"], {"stage": r["stage"], "in": None, "out": None, "dropped": {}})
        if s["in"] is None:
            s["in"] = r["in"] if r["in"] is not None else r["out"]
        s["out"] = r["out"]
        for reason, n in r["dropped"].items():
            s["dropped"][reason] = s["dropped"].get(reason, 0) + n
    return list(out.values())


def _drops(funnel: list[dict], reason: str) -> int:
    return sum(r["dropped"].get(reason, 0) for r in funnel)


def _dedup(directory: Path, manifest: dict) -> dict:
    funnel = manifest.get("funnel", [])
    stages = manifest.get("recipe", {}).get("resolved", {}).get("stages", {})
    out: dict = {}
    exact = stages.get("exact_dedup") or {}
    if exact.get("enabled") or _drops(funnel, "duplicate_chunk"):
        out["exact"] = {"chunk_chars": exact.get("chunk_chars"), "removed": _drops(funnel, "duplicate_chunk")}
    near = stages.get("near_dedup") or {}
    if near.get("enabled") or manifest.get("near_dedup") or _drops(funnel, "near_duplicate"):
        info = {k: near.get(k) for k in ("ngram", "bands", "rows", "seed", "priority")}
        info["removed"] = _drops(funnel, "near_duplicate")
        info.update(_clusters(directory / "duplicates.parquet"))
        if isinstance(manifest.get("near_dedup"), dict):
            info["manifest"] = manifest["near_dedup"]
        out["near"] = info
    return out


def _clusters(path: Path) -> dict:
    """Cluster counts from the near-dedup run's `duplicates.parquet` (every clustered document, kept or not)."""
    if not path.is_file():
        return {}
    t = pq.read_table(path, columns=["subset", "cluster_id", "kept"])
    subsets = t.column("subset").to_pylist()
    kept = t.column("kept").to_pylist()
    removed_by_subset: dict[str, int] = {}
    for s, k in zip(subsets, kept):
        if not k:
            removed_by_subset[s] = removed_by_subset.get(s, 0) + 1
    return {"clusters": len(set(t.column("cluster_id").to_pylist())), "clustered_documents": t.num_rows,
            "removed_by_subset": dict(sorted(removed_by_subset.items()))}


def _decontamination(manifest: dict) -> dict | None:
    d = manifest.get("decontamination")
    if not d:
        return None
    stages = manifest.get("recipe", {}).get("resolved", {}).get("stages", {})
    cfg = stages.get("decontaminate") or {}
    return {
        "benchmarks": sorted(d.get("index", {}).get("items", {}) or cfg.get("benchmarks", [])),
        "items_indexed": d.get("index", {}).get("items", {}),
        "ngram": d.get("settings", {}).get("ngram", cfg.get("ngram")),
        "report_only": d.get("settings", {}).get("report_only", False),
        "documents_scanned": sum(d.get("documents_scanned", {}).values()),
        "documents_removed": d.get("documents_removed", 0),
        "by_benchmark_and_subset": [
            {**{k: p.get(k) for k in ("benchmark", "subset", "items_hit", "documents_hit", "documents_removed")},
             "items_hit_by_field": p.get("items_hit_by_field", {}), "items_by_class": p.get("items_by_class", {})}
            for p in d.get("by_benchmark_and_subset", [])
        ],
    }


# -- terminal rendering -------------------------------------------------------------------------------------


def _fmt(n) -> str:
    return "-" if n is None else f"{n:,}"


def table(header: tuple, rows: list[tuple], right: set[int]) -> str:
    """A plain aligned table: it goes to terminals and CI logs alike."""
    cells = [tuple(str(c) for c in header), *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for j, r in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     .rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_stats(stats: dict) -> str:
    from proofpile.manifest import render_funnel

    t = stats["totals"]
    out = [f"{t['documents']:,} documents, {t['text_bytes']:,} text bytes"
           + (f", {t['tokens']:,} tokens" if t["tokens"] is not None else "")
           + f" in {t['shards']:,} shards ({t['parquet_bytes']:,} bytes of Parquet)", ""]
    rows = [(r["subset"], r["split"], r["lang"] or "-", _fmt(r["documents"]), _fmt(r["text_bytes"]), _fmt(r["tokens"]))
            for r in stats["rows"]]
    out += [table(("subset", "split", "lang", "documents", "text bytes", "tokens"), rows, {3, 4, 5}), ""]
    if stats["tokenizer"]:
        tk = stats["tokenizer"]
        f = tk.get("framing") or {}
        frame = "".join(("<s> + " if f.get("bos") else "", "text", " + </s>" if f.get("eos") else ""))
        out += [(f"tokens: {tk['name']} ({tk['backend']}, vocab {tk['vocab_size']:,}, "
                 f"sha256 {str(tk['sha256'])[:12]}), each document counted as packed: {frame}"), ""]
    out += ["funnel:", render_funnel(stats["funnel"]), ""]
    d = stats["dedup"]
    if "exact" in d:
        out.append(f"exact dedup: {d['exact']['removed']:,} documents removed "
                   f"(chunks of {d['exact']['chunk_chars']} characters)")
    if "near" in d:
        n = d["near"]
        out.append(f"near dedup: {n['removed']:,} documents removed (MinHash {n['bands']}x{n['rows']}, "
                   f"{n['ngram']}-grams)" + (f", {n['clusters']:,} clusters" if "clusters" in n else ""))
    c = stats["decontamination"]
    if c:
        out.append(f"decontamination: {', '.join(c['benchmarks'])}, {c['ngram']}-grams; "
                   f"{c['documents_scanned']:,} documents scanned, {c['documents_removed']:,} removed")
        for p in c["by_benchmark_and_subset"]:
            out.append(f"  {p['benchmark']} / {p['subset']}: {p['items_hit']} items hit, "
                       f"{p['documents_hit']} documents hit, {p['documents_removed']} removed")
    if stats.get("dropped"):
        out += ["", "dropped documents (dropped/<subset>.parquet), per reason with examples:"]
        for g in stats["dropped"]:
            out.append(f"  {g['subset']} / {g['stage']} / {g['reason']}: {g['count']:,}")
            out += [f"    {s['id']}  {s['where']}" for s in g["samples"]]
    for w in stats["warnings"]:
        out.append(f"warning: {w}")
    return "\n".join(out).rstrip() + "\n"
