"""The contamination report: one Parquet row per (document, benchmark item), and a summary in JSON and
Markdown that shows what was removed and why (matched text on both sides, and the n-grams that were
excluded from the index so they could not remove anything)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

RECORD_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("subset", pa.string()), ("benchmark", pa.string()), ("item_id", pa.string()),
    ("field", pa.string()), ("ngrams", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
    ("doc_snippet", pa.string()), ("item_snippet", pa.string()), ("ngram", pa.string()),
])


def write_records(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pylist(records, schema=RECORD_SCHEMA), tmp, compression="zstd")
    tmp.replace(path)


def summarize(records: list[dict], info, scanned: dict[str, int], report_only: bool, top: int = 20) -> dict:
    """Per benchmark and subset: items hit (all, and per field, as LLEMMA counted them) and documents hit."""
    groups: dict[tuple[str, str], dict] = {}
    for r in records:
        g = groups.setdefault((r["benchmark"], r["subset"]), {"items": set(), "docs": set(), "fields": {}})
        g["items"].add(r["item_id"])
        g["docs"].add(r["doc_id"])
        for f in r["field"].split("+"):
            g["fields"].setdefault(f, set()).add(r["item_id"])
    per = [{
        "benchmark": b, "subset": s, "items_hit": len(g["items"]),
        "items_hit_by_field": {f: len(v) for f, v in sorted(g["fields"].items())},
        "documents_hit": len(g["docs"]), "documents_removed": 0 if report_only else len(g["docs"]),
    } for (b, s), g in sorted(groups.items())]
    ranked = sorted(records, key=lambda r: (-r["ngrams"], r["doc_id"], r["benchmark"], r["item_id"]))[:top]
    return {
        "settings": {"ngram": info.ngram, "mask_numbers": info.mask_numbers, "report_only": report_only,
                     "max_items_per_ngram": info.max_items_per_ngram},
        "index": {"items": info.items, "ngrams": info.ngrams, "whole_items": info.whole_items,
                  "too_short_to_match": [list(t) for t in info.too_short],
                  "excluded_common_ngrams": info.excluded_common_total,
                  "excluded_boilerplate_ngrams": info.excluded_boilerplate,
                  "excluded_formula_ngrams": info.excluded_formula,
                  "boilerplate_phrases": list(info.boilerplate),
                  "most_common_excluded": [{"ngram": g, "items": c} for g, c in info.excluded_common]},
        "documents_scanned": dict(sorted(scanned.items())),
        "documents_removed": 0 if report_only else len({r["doc_id"] for r in records}),
        "by_benchmark_and_subset": per,
        "top_matches": [{k: r[k] for k in ("doc_id", "subset", "benchmark", "item_id", "field", "ngrams",
                                            "start", "end", "ngram", "doc_snippet", "item_snippet")} for r in ranked],
    }


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return (text[:limit] + "…" if len(text) > limit else text).replace("|", "\\|")


def render_markdown(summary: dict) -> str:
    st, ix = summary["settings"], summary["index"]
    mode = "report only (nothing removed)" if st["report_only"] else "matching documents removed"
    lines = [
        "# Contamination report", "",
        f"{st['ngram']}-gram matching, numbers {'masked' if st['mask_numbers'] else 'kept'}; {mode}.",
        f"Index: {', '.join(f'{b} {n:,} items' for b, n in ix['items'].items())}; {ix['ngrams']:,} n-grams, "
        f"{ix['whole_items']} fields matched whole, {len(ix['too_short_to_match'])} fields too short to match.",
        f"Documents scanned: {sum(summary['documents_scanned'].values()):,}; removed: {summary['documents_removed']:,}.",
        "", "## By benchmark and subset", "",
        "| benchmark | subset | items hit | items hit by field | documents hit | documents removed |",
        "|---|---|---:|---|---:|---:|",
    ]
    for p in summary["by_benchmark_and_subset"]:
        fields = ", ".join(f"{f} {n}" for f, n in p["items_hit_by_field"].items())
        lines.append(f"| {p['benchmark']} | {p['subset']} | {p['items_hit']} | {fields} | {p['documents_hit']} | "
                     f"{p['documents_removed']} |")
    if not summary["by_benchmark_and_subset"]:
        lines.append("| (none) | | 0 | | 0 | 0 |")
    lines += ["", f"## Top {len(summary['top_matches'])} matches", "",
              "| document | item | field | n-grams | document text | benchmark text |", "|---|---|---|---:|---|---|"]
    for r in summary["top_matches"]:
        lines.append(f"| {_cell(r['doc_id'], 60)} | {r['benchmark']} {r['item_id']} | {r['field']} | {r['ngrams']} | "
                     f"{_cell(r['doc_snippet'])} | {_cell(r['item_snippet'])} |")
    lines += ["", "## Excluded from the index", "",
              f"{ix['excluded_common_ngrams']:,} n-grams found in more than {st['max_items_per_ngram']} items and "
              f"{ix['excluded_formula_ngrams']:,} n-grams without a word of three letters or more (pure formula), and "
              f"{ix['excluded_boilerplate_ngrams']:,} n-grams mostly made of these boilerplate phrases:", ""]
    lines += [f"- {p}" for p in ix["boilerplate_phrases"]]
    lines += ["", "Most widespread excluded n-grams (items holding them):", ""]
    lines += [f"- `{_cell(e['ngram'], 120)}` ({e['items']})" for e in ix["most_common_excluded"]]
    if ix["too_short_to_match"]:
        lines += ["", "Fields too short to match: " + ", ".join(f"{b} {i} {f}" for b, i, f in ix["too_short_to_match"])]
    return "\n".join(lines) + "\n"


def write_report(out: Path, records: list[dict], info, scanned: dict[str, int], report_only: bool,
                 input_skipped: dict[str, int] | None = None) -> dict:
    """Writes `contamination.parquet`, `contamination.json` and `contamination.md` under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_records(records, out / "contamination.parquet")
    summary = summarize(records, info, scanned, report_only)
    if input_skipped:  # input records that were not documents (bad lines, wrong types): counted by reason
        summary["input_skipped"] = input_skipped
    (out / "contamination.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    (out / "contamination.md").write_text(render_markdown(summary))
    return summary
