"""The Hub dataset card (`DIR/README.md`) of a build, with its figures in `DIR/assets/`.

Everything on the card is derived from the manifest and `compute_stats`, never typed in: the YAML `configs:`
come from the manifest's shard list, the numbers from the same function `proofpile stats` prints. Config
`data_files` are explicit file lists rather than globs, because one language's name can begin another's
(`c`/`cpp`, and a `c-sharp` would match `train-c-*`), and an explicit list also lets `datasets` fail loudly
on a missing file instead of silently loading fewer rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from proofpile.atomic import write_text
from proofpile.publish.plots import FIGURES, step_label, write_plots
from proofpile.publish.stats import StatsError, compute_stats, load_manifest, manifest_shape
from proofpile.redact import redact_tree
from proofpile.stage_registry import StageConfig, declare_stage

SPLIT_ORDER = ("train", "validation", "test")

#: per source: what it is, its license terms, and the paper to cite
SOURCES = {
    "arxiv": {
        "title": "arXiv",
        "what": "LaTeX sources of arXiv papers (the main file with its includes inlined, macros expanded).",
        "license": "Each paper keeps the license its authors chose on arXiv (arXiv's non-exclusive distribution "
                   "license, or CC BY / BY-SA / BY-NC-SA / BY-NC-ND / CC0). Where the build read arXiv's metadata "
                   "the license URL is in `meta.license`; check it before redistributing a paper's text.",
        "cite": ["llemma", "redpajama"],
    },
    "open-web-math": {
        "title": "OpenWebMath",
        "what": "Mathematical web pages from Common Crawl, text extracted with the math kept as LaTeX.",
        "license": "The OpenWebMath dataset is released under ODC-By 1.0; the pages remain the work of their "
                   "authors and their use is also subject to the Common Crawl terms of use.",
        "cite": ["openwebmath"],
    },
    "algebraic-stack": {
        "title": "AlgebraicStack",
        "what": "Mathematical code: formal proofs (Lean, Coq, Isabelle) and MATLAB from pinned GitHub "
                "repositories, numerical and symbolic code in other languages from The Stack.",
        "license": "Files from The Stack come from permissively licensed repositories and are subject to The "
                   "Stack's terms of use (including honouring opt-out requests); files from GitHub repositories "
                   "keep their repository's license (the repositories and commits are listed above).",
        "cite": ["thestack"],
    },
}

BIBTEX = {
    "llemma": """@article{azerbayev2023llemma,
  title   = {Llemma: An Open Language Model For Mathematics},
  author  = {Azerbayev, Zhangir and Schoelkopf, Hailey and Paster, Keiran and Dos Santos, Marco and McAleer, Stephen
             and Jiang, Albert Q. and Deng, Jia and Biderman, Stella and Welleck, Sean},
  journal = {arXiv preprint arXiv:2310.10631},
  year    = {2023}
}""",
    "openwebmath": """@article{paster2023openwebmath,
  title   = {OpenWebMath: An Open Dataset of High-Quality Mathematical Web Text},
  author  = {Paster, Keiran and Dos Santos, Marco and Azerbayev, Zhangir and Ba, Jimmy},
  journal = {arXiv preprint arXiv:2310.06786},
  year    = {2023}
}""",
    "thestack": """@article{kocetkov2022stack,
  title   = {The Stack: 3 TB of source code with permissive licenses},
  author  = {Kocetkov, Denis and Li, Raymond and Ben Allal, Loubna and Li, Jia and Mou, Chenghao and
             Mu{\\~n}oz Ferrandis, Carlos and Jernite, Yacine and Mitchell, Margaret and Hughes, Sean and
             Wolf, Thomas and Bahdanau, Dzmitry and von Werra, Leandro and de Vries, Harm},
  journal = {arXiv preprint arXiv:2211.15533},
  year    = {2022}
}""",
    "redpajama": """@software{together2023redpajama,
  title  = {RedPajama: An Open Source Recipe to Reproduce LLaMA Training Dataset},
  author = {{Together Computer}},
  url    = {https://github.com/togethercomputer/RedPajama-Data},
  year   = {2023}
}""",
    "math": """@article{hendrycks2021math,
  title   = {Measuring Mathematical Problem Solving With the MATH Dataset},
  author  = {Hendrycks, Dan and Burns, Collin and Kadavath, Saurav and Arora, Akul and Basart, Steven and
             Tang, Eric and Song, Dawn and Steinhardt, Jacob},
  journal = {arXiv preprint arXiv:2103.03874},
  year    = {2021}
}""",
    "gsm8k": """@article{cobbe2021gsm8k,
  title   = {Training Verifiers to Solve Math Word Problems},
  author  = {Cobbe, Karl and Kosaraju, Vineet and Bavarian, Mohammad and Chen, Mark and Jun, Heewoo and
             Kaiser, Lukasz and Plappert, Matthias and Tworek, Jerry and Hilton, Jacob and Nakano, Reiichiro and
             Hesse, Christopher and Schulman, John},
  journal = {arXiv preprint arXiv:2110.14168},
  year    = {2021}
}""",
}

#: the split is an output setting rather than a stage, but the chain shows it where it runs
SPLIT_PURPOSE = "train/validation/test assigned by a seeded hash of the document id"


def stage_purpose() -> dict[str, str]:
    """Why each stage is there, one line for the processing chain (from the stage declarations)."""
    from proofpile.stage_registry import declared

    return {**{s.name: s.purpose for s in declared() if s.in_card}, "split": SPLIT_PURPOSE}


SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
                   (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T")]


def size_category(n: int) -> str:
    for bound, name in SIZE_CATEGORIES:
        if n < bound:
            return name
    return "n>1T"


#: five digits, as in the shard names; a character class keeps `train-c-*` from also matching `train-cpp-*`
_NUM = "[0-9]" * 5


def dataset_configs(manifest: dict) -> list[dict]:
    """`default` (every subset), one per subset, and one per language of subsets whose files are split by
    language (`algebraic-stack-lean`), each with a file pattern per split. Patterns rather than file lists keep
    the header a few lines long at any corpus size (hundreds of shards per subset); `matching` expands them."""
    shards = manifest["outputs"]["shards"]

    def files(select, pattern) -> list[dict]:
        splits = {s["split"] for s in shards if select(s)}
        order = sorted(splits, key=lambda sp: (SPLIT_ORDER.index(sp) if sp in SPLIT_ORDER else 9, sp))
        return [{"split": sp, "path": pattern(sp)} for sp in order]

    configs = [{"config_name": "default", "data_files": files(lambda s: True, lambda sp: f"data/*/{sp}-*.parquet")}]
    subsets = sorted({s["subset"] for s in shards})
    for subset in subsets:
        configs.append({"config_name": subset, "data_files": files(
            lambda s, sub=subset: s["subset"] == sub, lambda sp, sub=subset: f"data/{sub}/{sp}-*.parquet")})
    for subset in subsets:
        langs = sorted({s["lang"] for s in shards if s["subset"] == subset and s.get("lang")})
        for lang in langs:
            configs.append({"config_name": f"{subset}-{lang}", "data_files": files(
                lambda s, sub=subset, la=lang: s["subset"] == sub and s.get("lang") == la,
                lambda sp, sub=subset, la=lang: f"data/{sub}/{sp}-{la}-{_NUM}-of-{_NUM}.parquet")})
    return configs


def matching(patterns: str | list[str], paths: list[str]) -> list[str]:
    """The shard paths a config's `path` entry selects, as `datasets` resolves it."""
    import fnmatch

    patterns = [patterns] if isinstance(patterns, str) else patterns
    return sorted(p for p in paths if any(fnmatch.fnmatchcase(p, pat) for pat in patterns))


def card_metadata(manifest: dict, stats: dict) -> dict:
    subsets = list(stats["subsets"])
    return {
        "pretty_name": _pretty_name(manifest, subsets),
        "language": ["en"],
        "license": "other",
        "license_name": "per-source",
        "license_link": "README.md",
        "task_categories": ["text-generation"],
        "size_categories": [size_category(stats["totals"]["documents"])],
        "tags": ["math", "proofpile", *subsets],
        "configs": dataset_configs(manifest),
    }


def _pretty_name(manifest: dict, subsets: list[str]) -> str:
    name = manifest.get("recipe", {}).get("name") or "corpus"
    if name == "proof-pile-2" or set(subsets) >= set(SOURCES):
        return "Proof-Pile-2 (proofpile rebuild)"
    titles = [SOURCES.get(s, {}).get("title", s) for s in subsets]
    return f"{' + '.join(titles)} (proofpile rebuild)"


@dataclass
class CardResult:
    path: Path
    figures: list[Path]
    stats: dict


def write_card(directory: str | Path, repo_id: str | None = None, pack: str | Path | None = None) -> CardResult:
    """Compute the stats, draw the figures into `<dir>/assets/` and write `<dir>/README.md`."""
    directory = Path(directory)
    manifest = load_manifest(directory)
    if not isinstance(manifest.get("recipe"), dict):
        kind = "a `proofpile dedup` output" if "near_dedup" in manifest else "not a `proofpile build` output"
        raise StatsError(f"{directory}: {kind} (its manifest.json names no recipe); a card describes a build")
    _check_not_users_readme(directory)
    stats = compute_stats(directory, pack=pack)
    if not stats["totals"]["documents"]:
        # a card's configs would select no file, so the Hub dataset it describes could not be loaded at all
        raise StatsError(f"{directory}: the build kept 0 documents, so there is no dataset to describe; "
                         f"`proofpile stats {directory}` shows which step dropped them")
    with manifest_shape(directory):
        text = render_card(manifest, stats, repo_id=repo_id)
    figures = write_plots(stats, directory / "assets")
    path = directory / "README.md"
    write_text(path, text)
    return CardResult(path, figures, stats)


def _check_not_users_readme(directory: Path) -> None:
    """The card replaces README.md: in a directory proofpile did not make, only a card it wrote before."""
    from proofpile.outdir import owner

    readme = directory / "README.md"
    if owner(directory) is None and readme.is_file() and SHARDS_MARK not in readme.read_text(errors="replace"):
        raise StatsError(f"{readme}: not a card proofpile wrote, in a directory proofpile did not make; "
                         "refusing to overwrite it")


# -- the card's body ----------------------------------------------------------------------------------------


def _n(v) -> str:
    return "-" if v is None else f"{v:,}"


def _md_table(header: list[str], rows: list[list], right: set[int] = frozenset()) -> str:
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def render_card(manifest: dict, stats: dict, repo_id: str | None = None) -> str:
    manifest = redact_tree(manifest)  # a manifest written before redaction existed must not publish a token
    meta = card_metadata(manifest, stats)
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=120)
    parts = [f"---\n{header}---", f"# {meta['pretty_name']}", _summary(manifest, stats, repo_id),
             _configs_section(meta["configs"], stats, manifest), _size_section(stats), _figures_section(stats),
             _sources_section(manifest, stats), _chain_section(manifest), _funnel_section(stats),
             _dedup_section(stats), _decontam_section(stats), _tokens_section(stats), _limitations(stats),
             _licenses(stats), _citation(stats), _reproduce(manifest), f"<!-- {SHARDS_MARK} {shards_digest(manifest)} -->"]
    return "\n\n".join(p for p in parts if p).rstrip() + "\n"


SHARDS_MARK = "proofpile shards sha256:"


def shards_digest(manifest: dict) -> str:
    """Names the exact shard set a card describes, so `publish` can tell a card written before a rebuild
    (its numbers would be stale even where its file patterns still match)."""
    import hashlib

    shards = json.dumps(manifest["outputs"]["shards"], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(shards.encode("utf-8", "backslashreplace")).hexdigest()


def _summary(manifest: dict, stats: dict, repo_id: str | None) -> str:
    t = stats["totals"]
    size = f"**{t['documents']:,} documents** and **{t['text_bytes']:,} bytes** of UTF-8 text"
    if t["tokens"] is not None:
        size += f" (**{t['tokens']:,} tokens** with {stats['tokenizer']['name']})"
    subsets = ", ".join(f"`{s}`" for s in stats["subsets"])
    recipe = manifest.get("recipe", {}).get("name")
    repo = repo_id or "<org>/<name>"
    return (
        f"A mathematical pretraining corpus in the shape of [Proof-Pile-2](https://arxiv.org/abs/2310.10631) "
        f"(the corpus behind the LLEMMA models), rebuilt with proofpile "
        f"{stats.get('proofpile') or ''} from the recipe `{recipe}`: {size} in {t['shards']:,} zstd Parquet "
        f"shards. Subsets: {subsets}.\n\n"
        "Every figure on this card is computed from the shards and `manifest.json` by `proofpile stats`; "
        "`manifest.json` (uploaded beside the data) holds the resolved recipe, the pinned inputs, per-step "
        "counts and the sha256 of every shard.\n\n"
        "```python\nfrom datasets import load_dataset\n\n"
        f'ds = load_dataset("{repo}")                      # every subset\n'
        f'ds = load_dataset("{repo}", "{next(iter(stats["subsets"]))}")   # one subset\n```\n\n'
        "Columns: `id`, `text`, `meta` (a JSON string: source-specific fields such as repository, commit, path, "
        "URL or arXiv id), `subset`, `lang`."
    )


def _configs_section(configs: list[dict], stats: dict, manifest: dict) -> str:
    paths = [s["path"] for s in manifest["outputs"]["shards"]]
    by_key = {(r["subset"], r["split"], r["lang"]): r for r in stats["rows"]}
    rows = []
    for c in configs:
        name = c["config_name"]
        splits = []
        for df in c["data_files"]:
            docs = sum(r["documents"] for (sub, sp, lang), r in by_key.items() if sp == df["split"]
                       and _in_config(name, sub, lang, stats))
            splits.append(f"{df['split']} ({docs:,})")
        rows.append([f"`{name}`", ", ".join(splits), sum(len(matching(df["path"], paths)) for df in c["data_files"])])
    return "## Configurations\n\n" + _md_table(["config", "splits (documents)", "files"], rows, {2})


def _in_config(name: str, subset: str, lang: str, stats: dict) -> bool:
    if name == "default":
        return True
    if name == subset:
        return True
    return name == f"{subset}-{lang}"


def _size_section(stats: dict) -> str:
    rows = [[r["subset"], r["split"], r["lang"] or "-", _n(r["documents"]), _n(r["text_bytes"]), _n(r["tokens"])]
            for r in stats["rows"]]
    t = stats["totals"]
    rows.append(["**total**", "", "", _n(t["documents"]), _n(t["text_bytes"]), _n(t["tokens"])])
    return ("## Size\n\nPer subset, split and language (`lang` column); text bytes are the UTF-8 length of `text`."
            "\n\n" + _md_table(["subset", "split", "lang", "documents", "text bytes", "tokens"], rows, {3, 4, 5}))


def _figures_section(stats: dict) -> str:
    what = "Tokens" if stats["totals"]["tokens"] is not None else "Text bytes"
    alts = ["Filter funnel", f"{what} per subset and language", "Document length distribution"]
    return "## Figures\n\n" + "\n\n".join(f"![{a}](assets/{f})" for a, f in zip(alts, FIGURES))


def _sources_section(manifest: dict, stats: dict) -> str:
    resolved = manifest.get("recipe", {}).get("resolved", {})
    parts = {p.get("subset"): p for p in _parts(resolved)}
    out = ["## Sources and pinned inputs"]
    for subset in stats["subsets"]:
        info = SOURCES.get(subset)
        if info:
            out.append(f"**{info['title']}** (`{subset}`): {info['what']}")
    for key, value in manifest.get("inputs", {}).items():
        if key in ("errors", "failed") or not value:
            continue
        # a whole-corpus build names its inputs `<subset>/<source>`, a subset build just `<source>`
        subset, _, source = key.rpartition("/")
        part = parts.get(subset) or next(iter(parts.values()), {})
        cfg = (part.get("sources") or {}).get(source) or {}
        out.append(_source_inputs(source, value, cfg, f" ({subset})" if subset else ""))
    errors = manifest.get("inputs", {}).get("errors")
    if errors:
        out.append("Input problems recorded at build time (those inputs were skipped):\n\n"
                   + "\n".join(f"- {e}" for e in errors[:50]))
    if failed := manifest.get("inputs", {}).get("failed"):  # proofpile.failed_inputs: a re-run retries them
        out.append("Inputs the network or their server failed at build time (not in this corpus):\n\n"
                   + "\n".join(f"- {f}" for f in failed[:50]))
    return "\n\n".join(o for o in out if o)


def _listing(items: list[str], limit: int, where: str) -> str:
    lines = [f"- {i}" for i in items[:limit]]
    if len(items) > limit:
        lines.append(f"- ... {len(items) - limit} more in `manifest.json` (`{where}`)")
    return "\n".join(lines)


def _source_inputs(source: str, value, cfg: dict, suffix: str) -> str:
    if source == "github":
        rows = [[r.get("name", r.get("url")), r.get("lang", ""), f"`{r.get('commit') or r.get('pinned') or '-'}`",
                 r.get("status", ""), _n(r.get("documents"))] for r in value[:200]]
        text = (f"GitHub repositories{suffix}: {len(value)}, each read at exactly this commit:\n\n"
                + _md_table(["repository", "lang", "commit", "status", "documents"], rows, {4}))
        return text + (f"\n\n... and {len(value) - 200} more in `manifest.json`." if len(value) > 200 else "")
    if source == "stack":
        if value.get("files"):
            return (f"The Stack{suffix}: {len(value['files'])} local files with The Stack's columns:\n\n"
                    + _listing([f"`{Path(f).parent.name}/{Path(f).name}`" for f in value["files"]], 50, "inputs"))
        return (f"The Stack{suffix}: `{cfg.get('dataset')}` at revision `{cfg.get('revision')}`, languages: "
                f"{', '.join(value.get('hub_langs', []))}.")
    if source == "arxiv":
        units = value.get("units", [])
        items = [f"{kind}: `{path or ', '.join(ids)}`" for kind, path, ids in units]
        return (f"arXiv{suffix}: {len(units)} inputs (bulk archives, e-prints, paper directories or id batches):\n\n"
                + _listing(items, 100, "inputs"))
    if source == "commoncrawl":
        files = value.get("files", [])
        crawl = f"crawl `{value['crawl']}`, " if value.get("crawl") else ""
        return (f"Common Crawl{suffix}: {crawl}{len(files)} WARC files from "
                f"{value.get('from')}:\n\n" + _listing([f"`{f}`" for f in files], 100, "inputs"))
    return f"{source}{suffix}: see `inputs` in `manifest.json`."


def _parts(resolved: dict) -> list[dict]:
    """The subset recipes a build is made of: the ones a whole-corpus recipe includes, else itself."""
    included = [i["resolved"] for i in resolved.get("include") or [] if isinstance(i, dict) and i.get("resolved")]
    return included or [resolved]


def _params(cfg: dict) -> str:
    shown = []
    for k, v in cfg.items():
        if k == "enabled" or v in (None, [], {}):
            continue
        if isinstance(v, list) and len(v) > 8:
            v = [*v[:8], f"... {len(v) - 8} more"]
        shown.append(f"`{k}={json.dumps(v, ensure_ascii=False)}`")
    return ", ".join(shown)


def _stage_list(stages: dict, names: list[str]) -> str:
    lines, purpose = [], stage_purpose()
    for name in names:
        if name.startswith("custom:"):  # the recipe's own steps (proofpile.custom_steps) where they run
            for step in stages.get("custom") or []:
                if step.get("enabled", True) and step.get("where") == name.removeprefix("custom:"):
                    lines.append(f"{len(lines) + 1}. **{step['step']}**: the recipe's own step. "
                                 f"{_params(step.get('args') or {})}".rstrip())
        elif (stages.get(name) or {}).get("enabled"):
            lines.append(f"{len(lines) + 1}. **{name}**: {purpose.get(name, name)}. {_params(stages[name])}".rstrip())
    return "\n".join(lines) or "(no filter stages: the source's reader and cleaner only)"


def _chain_section(manifest: dict) -> str:
    from proofpile.stage_registry import declared

    per_document = [*(s.name for s in declared() if s.where == "per_document" and s.in_card), "custom:per_document"]
    corpus = [*(s.name for s in declared() if s.where == "finalize" and s.in_card), "custom:finalize", "split",
              *(s.name for s in declared() if s.where == "after" and s.in_card)]
    resolved = manifest.get("recipe", {}).get("resolved", {})
    top = dict(resolved.get("stages") or {})
    if (resolved.get("output") or {}).get("split"):
        top["split"] = {"enabled": True, **resolved["output"]["split"]}
    out = ["## Processing chain",
           "Stages that ran, in order, with their parameters (from the resolved recipe in `manifest.json`)."]
    if resolved.get("include"):
        for part in _parts(resolved):
            out.append(f"Per document, recipe `{part.get('name')}` ({part.get('description', '')}):\n\n"
                       + _stage_list(part.get("stages") or {}, per_document))
        out.append(f"Whole corpus, recipe `{resolved.get('name')}`:\n\n" + _stage_list(top, corpus))
    else:
        out.append(f"Recipe `{resolved.get('name')}` ({resolved.get('description', '')}):\n\n"
                   + _stage_list(top, [*per_document, *corpus]))
    return "\n\n".join(out)


def _funnel_section(stats: dict) -> str:
    rows = []
    for r in stats["funnel"]:
        drops = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["dropped"].items(), key=lambda kv: (-kv[1], kv[0])))
        rows.append([r["stage"], step_label(r["step"]), _n(r["in"]), _n(r["out"]), drops])
    text = ("## Filter funnel\n\nDocuments into and out of every step, and what each step dropped, by reason "
            "(`-`: a reader, whose input is files rather than documents).\n\n"
            + _md_table(["stage", "step", "in", "out", "dropped (reason: n)"], rows, {2, 3}))
    if stats.get("dropped"):  # the build's table of dropped documents (not uploaded with the shards)
        examples = [[g["subset"], g["stage"], g["reason"], _n(g["count"]),
                     "<br>".join(f"`{s['where'] or s['id']}`" for s in g["samples"])] for g in stats["dropped"]]
        text += ("\n\n## Dropped documents, by reason\n\nExamples of what the per-document filters dropped (the "
                 "build keeps every dropped document's stage, reason, scores and first characters in "
                 "`dropped/<subset>.parquet`, beside the shards; it is not uploaded with them):\n\n"
                 + _md_table(["subset", "stage", "reason", "documents", "examples"], examples, {3}))
    return text


def _dedup_section(stats: dict) -> str:
    d = stats["dedup"]
    if not d:
        return "## Deduplication\n\nNo deduplication stage ran in this build."
    out = ["## Deduplication"]
    if "exact" in d:
        out.append(f"- Chunk-exact: **{d['exact']['removed']:,} documents removed** (a document sharing any "
                   f"{d['exact']['chunk_chars']}-character chunk with an earlier one).")
    if "near" in d:
        n = d["near"]
        line = (f"- Near-duplicates (MinHash LSH, {n['bands']} bands x {n['rows']} rows over word {n['ngram']}-grams, "
                f"seed {n['seed']}, priority {', '.join(n.get('priority') or [])}): **{n['removed']:,} documents "
                "removed**")
        if "clusters" in n:
            line += f" from {n['clusters']:,} clusters of {n['clustered_documents']:,} documents"
            if n.get("removed_by_subset"):
                line += " (" + ", ".join(f"{s}: {v:,}" for s, v in n["removed_by_subset"].items()) + ")"
        out.append(line + ".")
    return "\n\n".join(out)


def _decontam_section(stats: dict) -> str:
    c = stats["decontamination"]
    if not c:
        return ("## Decontamination\n\nNo decontamination stage ran in this build: test items of math "
                "benchmarks may occur in the text. Run `proofpile decontaminate` before evaluating on them.")
    items = ", ".join(f"{b} ({n:,} test items)" for b, n in c["items_indexed"].items())
    mode = "report only (nothing removed)" if c["report_only"] else "matching documents removed"
    out = [(f"## Decontamination\n\nBenchmarks: {items}; {c['ngram']}-grams of words (a formula counts as a few "
            f"words), {mode}. **{c['documents_scanned']:,} documents scanned, {c['documents_removed']:,} removed.** "
            "A document is removed when it holds a substantial part of a test problem or solution (`copy`, "
            "`partial`); the same text with other numbers (`template`) and shared boilerplate (`incidental`) are "
            "reported only. Test items with a hit, as LLEMMA counted them, and by class:")]
    if c["by_benchmark_and_subset"]:
        rows = []
        for p in c["by_benchmark_and_subset"]:
            fields = p.get("items_hit_by_field") or {}
            cls = p.get("items_by_class") or {}
            first = next((n for f, n in fields.items() if f in ("problem", "question")), 0)
            second = next((n for f, n in fields.items() if f in ("solution", "answer")), 0)
            rows.append([p["benchmark"], p["subset"], _n(p["items_hit"]), _n(first), _n(second),
                         *(_n(cls.get(k, 0)) for k in ("copy", "partial", "template", "incidental")),
                         _n(p["documents_hit"]), _n(p["documents_removed"])])
        out.append(_md_table(["benchmark", "subset", "items hit", "problems hit", "solutions hit", "copy", "partial",
                              "template", "incidental", "documents hit", "documents removed"], rows,
                             set(range(2, 11))))
    else:
        out.append("No document matched any test item.")
    return "\n\n".join(out)


def _tokens_section(stats: dict) -> str:
    tk = stats["tokenizer"]
    if not tk:
        return ("## Tokens\n\nThis build was not tokenized (`proofpile pack`), so token counts are not given; "
                "the text-byte counts above are exact.")
    f = tk.get("framing") or {}
    frame = " + ".join(x for x in ("`<s>`" if f.get("bos") else "", "text", "`</s>`" if f.get("eos") else "") if x)
    rows = [[s, _n(v["tokens"]), _n(v["documents"]),
             f"{v['tokens'] / v['documents']:,.1f}" if v["documents"] else "-"] for s, v in stats["subsets"].items()]
    return (f"## Tokens\n\nCounted by `proofpile pack` with **{tk['name']}** ({tk['backend']}, vocabulary "
            f"{_n(tk['vocab_size'])}, sha256 `{tk['sha256']}`); each document is {frame}.\n\n"
            + _md_table(["subset", "tokens", "documents", "tokens per document"], rows, {1, 2, 3}))


def _limitations(stats: dict) -> str:
    items = [
        ("Filters are heuristics and classifiers: some non-mathematical or low-quality text remains, and some "
         "good text was dropped (the funnel above says how much, and why)."),
        "Language identification keeps English prose; mathematics written in other languages is mostly absent.",
        "Deduplication is within this build only; documents may still overlap with other corpora.",
        ("Decontamination matches n-grams of the listed benchmarks only; paraphrased or translated test items, "
         "and other benchmarks, are not detected."),
        ("The `validation` and `test` splits are a hash-based sample of the same distribution as `train`, not "
         "held-out sources."),
        "Texts are reproduced as found: they may contain personal information, offensive content or errors.",
    ]
    if "arxiv" in stats["subsets"]:
        items.append("arXiv LaTeX is cleaned heuristically: some macros stay unexpanded and some papers lose "
                     "figures, tables or included files (see `meta.files_missing`).")
    return "## Known limitations\n\n" + "\n".join(f"- {i}" for i in items)


def _licenses(stats: dict) -> str:
    lines = []
    for subset in stats["subsets"]:
        info = SOURCES.get(subset)
        lines.append(f"- **{info['title'] if info else subset}**: "
                     + (info["license"] if info else "see the source's own terms."))
    return ("## Licenses\n\nThis corpus has no single license (hence `license: other`): each source keeps its own "
            "terms.\n\n" + "\n".join(lines))


def _citation(stats: dict) -> str:
    keys = ["llemma"]
    for subset in stats["subsets"]:
        keys += [k for k in SOURCES.get(subset, {}).get("cite", []) if k not in keys]
    for b in (stats["decontamination"] or {}).get("benchmarks", []):
        if b in BIBTEX and b not in keys:
            keys.append(b)
    return ("## Citation\n\nPlease cite the work this corpus reproduces and the sources it draws on:\n\n```bibtex\n"
            + "\n\n".join(BIBTEX[k] for k in keys) + "\n```")


def _reproduce(manifest: dict) -> str:
    recipe = manifest.get("recipe", {})
    versions = manifest.get("versions", {})
    shown = ", ".join(f"{k} {v}" for k, v in versions.items() if k != "git")
    return (f"## Reproducing\n\n```\nproofpile build {recipe.get('name')} --out DIR\nproofpile card DIR\n```\n\n"
            f"with the recipe in `manifest.json` (`recipe.resolved`); built with {shown}. Outputs are "
            "byte-identical for the same inputs and parameters, whatever the number of workers.")


class CardStage(StageConfig):
    """After the build (and pack): the Hub dataset card `README.md` with plots in `assets/`
    (proofpile.publish), so a finished build can go to the Hub as it is."""


@declare_stage("card", config=CardStage, where="after", order=120, in_card=False,
               purpose="the Hub dataset card `README.md` with plots in `assets/`")
def _stage(cfg, plan, manifest: dict, workers: int, progress: bool) -> None:
    write_card(plan.out)  # last: it describes the shards, the funnel and the token counts
