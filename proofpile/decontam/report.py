"""The contamination report: one Parquet row per (document, benchmark field) with its evidence class, and a
summary in JSON and Markdown: per subset, how many test problems and how many solutions have a hit (as
LLEMMA's paper counts them), the same per class (`copy`, `partial`, `template`, `incidental`), examples of
each class with the matched text on both sides, and the n-grams excluded from the evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from proofpile.atomic import atomic_path

RECORD_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("subset", pa.string()), ("benchmark", pa.string()), ("item_id", pa.string()),
    ("field", pa.string()), ("class", pa.string()), ("removed", pa.bool_()), ("coverage", pa.float64()),
    ("run", pa.float64()), ("ngrams", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
    ("doc_snippet", pa.string()), ("item_snippet", pa.string()), ("ngram", pa.string()),
])


def write_records(records: list[dict], path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist(records, schema=RECORD_SCHEMA), tmp, compression="zstd")


def summarize(records: list[dict], info, scanned: dict[str, int], report_only: bool, top: int = 20,
              examples: int = 3) -> dict:
    """Per benchmark and subset: items hit (all, per field as LLEMMA counted them, and per strongest class)
    and documents hit and removed."""
    from proofpile.decontam.evidence import CLASSES, rank

    groups: dict[tuple[str, str], dict] = {}
    for r in records:
        g = groups.setdefault((r["benchmark"], r["subset"]), {"items": {}, "docs": set(), "removed": set(),
                                                              "field_class": {}})
        g["items"][r["item_id"]] = max(g["items"].get(r["item_id"]), r["class"], key=rank)
        g["docs"].add(r["doc_id"])
        if r["removed"]:
            g["removed"].add(r["doc_id"])
        fc = g["field_class"].setdefault(r["field"], {})
        fc[r["item_id"]] = max(fc.get(r["item_id"]), r["class"], key=rank)
    per = []
    for (b, s), g in sorted(groups.items()):
        by_class = {c: sum(1 for v in g["items"].values() if v == c) for c in CLASSES}
        per.append({
            "benchmark": b, "subset": s, "items_hit": len(g["items"]),
            "items_hit_by_field": {f: len(fc) for f, fc in sorted(g["field_class"].items())},
            "items_by_class": by_class,
            "items_by_field_and_class": {f: {c: sum(1 for v in fc.values() if v == c) for c in CLASSES}
                                         for f, fc in sorted(g["field_class"].items())},
            "documents_hit": len(g["docs"]), "documents_removed": len(g["removed"]),
        })
    keys = ("doc_id", "subset", "benchmark", "item_id", "field", "class", "coverage", "run", "ngrams", "start",
            "end", "ngram", "doc_snippet", "item_snippet")
    ordered = sorted(records, key=lambda r: (-rank(r["class"]), -r["coverage"], r["doc_id"], r["benchmark"],
                                             r["item_id"], r["field"]))
    by_class_examples = {c: [{k: r[k] for k in keys} for r in ordered if r["class"] == c][:examples]
                         for c in CLASSES}
    return {
        "settings": {"ngram": info.ngram, "units": "words; a formula 1 unit per 6 tokens, at most 16",
                     "report_only": report_only, "max_items_per_ngram": info.max_items_per_ngram,
                     "thresholds": dict(vars(info.thresholds))},
        "index": {"items": info.items, "ngrams": info.ngrams, "whole_items": info.whole_items,
                  "too_short_to_match": [list(t) for t in info.too_short],
                  "excluded_common_ngrams": info.excluded_common_total,
                  "excluded_skeleton_ngrams": info.excluded_skeleton,
                  "excluded_corpus_frequent_ngrams": info.excluded_corpus,
                  "most_common_excluded": [{"ngram": g, "items": c} for g, c in info.excluded_common],
                  "most_frequent_in_corpus": [{"ngram": g, "documents": c} for g, c in info.excluded_corpus_examples]},
        "documents_scanned": dict(sorted(scanned.items())),
        "documents_removed": len({r["doc_id"] for r in records if r["removed"]}),
        "by_benchmark_and_subset": per,
        "examples_by_class": by_class_examples,
        "top_matches": [{k: r[k] for k in keys} for r in ordered[:top]],
    }


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return (text[:limit] + "…" if len(text) > limit else text).replace("|", "\\|")


def render_markdown(summary: dict) -> str:
    st, ix = summary["settings"], summary["index"]
    mode = "report only (nothing removed)" if st["report_only"] else "`copy` and `partial` matches removed"
    t = st["thresholds"]
    lines = [
        "# Contamination report", "",
        f"{st['ngram']}-gram matching over word units ({st['units']}); {mode}.",
        f"Index: {', '.join(f'{b} {n:,} items' for b, n in ix['items'].items())}; {ix['ngrams']:,} n-grams, "
        f"{ix['whole_items']} fields matched whole, {len(ix['too_short_to_match'])} fields too short to match.",
        f"Documents scanned: {sum(summary['documents_scanned'].values()):,}; removed: {summary['documents_removed']:,}.",
        "", f"Classes per (document, field): `copy` coverage >= {t['copy']} or a short field whole (removed); "
        f"`partial` coverage >= {t['partial_coverage']} or longest run >= {t['partial_run']} of the field (removed); "
        "`template` the same with numbers and names masked (reported); `incidental` weaker (reported).",
        "", "## Test items with a hit, by subset", "",
        "| benchmark | subset | problems hit | solutions hit | copy | partial | template | incidental | "
        "documents hit | documents removed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in summary["by_benchmark_and_subset"]:
        fields = list(p["items_hit_by_field"].items())
        first = next((n for f, n in fields if f in ("problem", "question")), 0)
        second = next((n for f, n in fields if f in ("solution", "answer")), 0)
        c = p["items_by_class"]
        lines.append(f"| {p['benchmark']} | {p['subset'] or '-'} | {first} | {second} | {c['copy']} | {c['partial']} | "
                     f"{c['template']} | {c['incidental']} | {p['documents_hit']} | {p['documents_removed']} |")
    if not summary["by_benchmark_and_subset"]:
        lines.append("| (none) | | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |")
    lines += ["", "(problems/solutions: GSM8K's questions/answers; class: the strongest per item.)"]
    for cls, rows in summary["examples_by_class"].items():
        lines += ["", f"## Examples: {cls}", ""]
        if not rows:
            lines.append("(none)")
            continue
        lines += ["| document | item | field | coverage | run | document text | benchmark text |",
                  "|---|---|---|---:|---:|---|---|"]
        for r in rows:
            lines.append(f"| {_cell(r['doc_id'], 60)} | {r['benchmark']} {r['item_id']} | {r['field']} | "
                         f"{r['coverage']:.2f} | {r['run']:.2f} | {_cell(r['doc_snippet'])} | {_cell(r['item_snippet'])} |")
    lines += ["", "## Excluded from the evidence", "",
              f"- {ix['excluded_common_ngrams']:,} n-grams found in more than {st['max_items_per_ngram']} benchmark items;",
              f"- {ix['excluded_skeleton_ngrams']:,} n-grams touching a skeleton (Asymptote `[asy]` code, array/tabular heads);",
              f"- {ix['excluded_corpus_frequent_ngrams']:,} n-grams frequent in the scanned corpus (in 20 or more "
              "documents and more than 4 times as many as the median n-gram of their field).", "",
              "Most widespread across benchmark items (items holding them):", ""]
    lines += [f"- `{_cell(e['ngram'], 120)}` ({e['items']})" for e in ix["most_common_excluded"][:20]]
    if ix["most_frequent_in_corpus"]:
        lines += ["", "Most frequent in the corpus (documents holding them):", ""]
        lines += [f"- `{_cell(e['ngram'], 120)}` ({e['documents']})" for e in ix["most_frequent_in_corpus"]]
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
