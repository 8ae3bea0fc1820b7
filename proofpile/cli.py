"""The `proofpile` command: parse arguments, call the library, print. No logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from proofpile.errors import ProofpileError
from proofpile.decontam.stage import DecontaminateStage
from proofpile.dedup.stage import NearDedupStage
from proofpile.pack.stage import PackStage


def _fail(msg: str, code: int = 2) -> None:
    from proofpile.redact import redact_text  # a message may quote an input URL with its credentials

    typer.echo(f"error: {redact_text(msg)}", err=True)
    raise typer.Exit(code)


def _os_error(e: OSError) -> str:
    """`<path>: <reason>` on one line."""
    if e.filename and e.strerror and type(e).__str__ is OSError.__str__:
        return f"{e.filename}: {e.strerror}"
    return (str(e).splitlines() or [type(e).__name__])[0]


def _check_workers(workers: Optional[int]) -> None:
    if workers is not None and workers < 1:  # 0 silently meant "the default" and -1 "every task at once"
        _fail(f"--workers {workers}: must be at least 1")


def _one_line(e: Exception) -> str:
    return _os_error(e) if isinstance(e, OSError) else (str(e).strip().splitlines() or [type(e).__name__])[0]


class _OneErrorLine(typer.core.TyperGroup):
    """Every command's failures, caught in one place: a `ProofpileError` (bad input, option or output place),
    and what reading a wrong or damaged input raises (OSError, ValueError: a file where a directory belongs,
    JSON that does not parse), become one `error:` line and exit code 2 instead of a traceback. Subcommand
    groups (`pack`, `plan`, `classifier`) run inside this group's `invoke`, so they are covered too."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ProofpileError, OSError, ValueError) as e:
            _fail(_one_line(e))


app = typer.Typer(cls=_OneErrorLine, add_completion=False, no_args_is_help=True,
                  help="Build math pretraining corpora (Proof-Pile-2 and better).")


def _stage_config(model, **given):
    """A recipe stage's typed config (its `StageConfig`) from a standalone command's options: an option left
    unset (None) takes the model's default, so each default is written once, in the model."""
    from pydantic import ValidationError

    try:
        return model(enabled=True, **{k: v for k, v in given.items() if v is not None})
    except ValidationError as e:
        err = e.errors()[0]
        _fail(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}")


def _default(model, name: str) -> str:
    """The model's default of `name`, for `--help`."""
    value = model.model_fields[name].get_default(call_default_factory=True)
    return ",".join(value) if isinstance(value, list) else str(value)


_WORK_DIR = typer.Option("--work-dir", help="with a URL --out: the local directory to build in and upload from "
                        "(default $XDG_CACHE_HOME/proofpile/out/<hash of the URL>)")


def _remote(out: str, work_dir: Optional[Path], kind: str):
    """A `proofpile.remote.RemoteOut` when `out` is a URL (refused now, before any work, if the prefix is not
    proofpile's), else None."""
    from proofpile.remote import RemoteOut, is_url

    if not is_url(out):
        if work_dir is not None:
            _fail(f"--work-dir is for a URL; {out} is a local path")
        return None
    target = RemoteOut(out, work_dir, kind)
    target.check()
    return target


def _upload(target) -> None:
    done = target.upload()
    typer.echo(f"{target.url}: uploaded {done['uploaded']} files ({done['bytes']:,} bytes), {done['unchanged']} "
               f"unchanged, {done['deleted']} stale deleted (work directory {target.work})", err=True)


def _pulled(directory: str, work_dir: Optional[Path], kind: str = "build"):
    """(local directory, RemoteOut or None): a URL is first brought into its work directory."""
    target = _remote(directory, work_dir, kind)
    return (target.pull(), target) if target is not None else (Path(directory), None)


@app.command()
def build(
    recipe: Annotated[str, typer.Argument(help="recipe name (algebraic-stack) or path to a recipe YAML")],
    out: Annotated[str, typer.Option("--out", "-o", help="output directory, or an fsspec URL (s3://bucket/prefix)")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override, e.g. langid.model=/path/lid.176.ftz")] = None,
    workers: Annotated[Optional[int], typer.Option(help="tasks at once (outputs do not depend on it); default executor.workers or 1")] = None,
    executor: Annotated[Optional[str], typer.Option("--executor", help="local, ray or slurm (overrides the recipe's executor.kind)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the resolved plan and stop (slurm: write the job scripts)")] = False,
    sample: Annotated[bool, typer.Option("--sample", help="build from the bundled sample inputs (no network)")] = False,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    crawl: Annotated[Optional[str], typer.Option("--crawl", help="Common Crawl crawl id to read, e.g. CC-MAIN-2023-06")] = None,
    max_files: Annotated[Optional[int], typer.Option("--max-files", help="read only the first N WARC files")] = None,
    work_dir: Annotated[Optional[Path], _WORK_DIR] = None,
) -> None:
    """Build a subset from its recipe; re-running into the same --out resumes."""
    from contextlib import nullcontext

    from proofpile.build import dry_run as describe_only
    from proofpile.build import plan_build, run_build
    from proofpile.manifest import empty_output_hint, render_funnel
    from proofpile.outdir import owned
    from proofpile.proctree import stop_tree_on_signals
    from proofpile.recipes import load_recipe, with_crawl

    _check_workers(workers)
    # --executor changes how the build runs, never what it builds
    rec, path = load_recipe(recipe, [*(set_ or []), *([f"executor.kind={executor}"] if executor else [])])
    rec, web = with_crawl(rec, path, crawl, max_files)
    target = _remote(out, work_dir, "build")
    if target is not None and rec.executor.kind == "slurm":
        _fail(f"--out {out}: a Slurm build writes a local or shared --out only for now")
    out = target.work if target is not None else Path(out)
    if dry_run and rec.executor.kind != "slurm":  # slurm's dry run writes its job scripts
        text, errors = describe_only(rec, path, out, sample=sample)
        for err in errors:
            typer.echo(f"warning: {err}", err=True)
        typer.echo(text)
        return
    # SIGTERM/SIGHUP (docker stop, systemd, a closed terminal) stop every worker too; the build stays resumable
    with stop_tree_on_signals():
        try:
            # one build per directory, and only into proofpile's own; a Slurm submission only writes job scripts
            # (its last job runs `proofpile build`, which locks), so it must not hold the lock while jobs start
            with owned(out.resolve(), "build") if rec.executor.kind != "slurm" else nullcontext():
                plan = plan_build(rec, path, out, sample=sample)
                for err in plan.input_errors:
                    typer.echo(f"warning: {err}", err=True)
                if rec.executor.kind == "slurm":
                    return _build_on_slurm(plan, [*(set_ or []), *web], sample, workers, dry_run)
                from proofpile.executors import use

                workers = workers or rec.executor.workers or 1
                with use(plan.recipe.executor, workers):
                    manifest = run_build(plan, workers=workers, progress=progress and sys.stderr.isatty())
                if target is not None:
                    _upload(target)
        except OSError as e:  # disk full, read-only output: the machine, not the input, hence exit code 1
            _fail(_one_line(e), 1)
    typer.echo(render_funnel(manifest["funnel"]))
    for failed in manifest["inputs"].get("failed", []):  # redacted by the build; a re-run retries them
        typer.echo(f"warning: input failed (network or server), re-run to retry: {failed}", err=True)
    outs = manifest["outputs"]
    if not outs["documents"] and (hint := empty_output_hint(manifest["funnel"])):
        typer.echo(f"warning: {hint}", err=True)
    where = target.url if target is not None else plan.out
    typer.echo(f"\n{outs['documents']:,} documents in {len(outs['shards'])} shards under {where}/data")
    typer.echo(f"manifest: {where}/manifest.json")


@app.command()
def discover(
    lang: Annotated[str, typer.Option(help="lean, coq, isabelle or matlab")],
    min_stars: Annotated[int, typer.Option(help="minimum stars")] = 0,
    limit: Annotated[int, typer.Option(help="at most this many repositories")] = 100,
    pushed_before: Annotated[Optional[str], typer.Option(help="pin each repo to its last commit before this date (YYYY-MM-DD)")] = None,
    api_url: Annotated[str, typer.Option(help="GitHub API base URL")] = "https://api.github.com",
) -> None:
    """List repositories through the GitHub search API (token from GITHUB_TOKEN), as manifest lines."""
    from proofpile.sources.discover import discover as run

    lines = run(lang, min_stars=min_stars, limit=limit, pushed_before=pushed_before, api_url=api_url)
    for line in lines:
        typer.echo(line)


@app.command()
def decontaminate(
    inputs: Annotated[list[Path], typer.Argument(help="a build directory, or Parquet/JSONL shards or folders")],
    out: Annotated[str, typer.Option("--out", "-o", help="output directory (clean shards, contamination.*)")],
    bench: Annotated[Optional[list[str]], typer.Option("--bench", help="benchmark to index; repeatable", show_default=_default(DecontaminateStage, "benchmarks"))] = None,
    bench_file: Annotated[Optional[list[str]], typer.Option("--bench-file", help="NAME=PATH: a local JSONL/Parquet instead of the Hub")] = None,
    ngram: Annotated[Optional[int], typer.Option(help="word units per n-gram (a formula: 1 unit per 6 tokens, at most 16)", show_default=_default(DecontaminateStage, "ngram"))] = None,
    report_only: Annotated[bool, typer.Option("--report-only", help="keep every document, only report")] = False,
    max_items_per_ngram: Annotated[Optional[int], typer.Option(help="n-grams in more items than this are excluded", show_default=_default(DecontaminateStage, "max_items_per_ngram"))] = None,
    cache_dir: Annotated[Optional[str], typer.Option(help="datasets cache for Hub benchmarks")] = None,
) -> None:
    """Remove documents that contain benchmark test items (n-gram overlap) and write a contamination report."""
    from proofpile.decontam.ngrams import DecontaminationFilter
    from proofpile.decontam.run import decontaminate as run
    from proofpile.remote import refuse_url

    refuse_url(out, "decontaminate")
    out = Path(out)

    files = {}
    for item in bench_file or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            _fail(f"--bench-file {item}: expected NAME=PATH")
        files[name] = path
    cfg = _stage_config(DecontaminateStage, benchmarks=bench or sorted(files) or None, files=files, ngram=ngram,
                        report_only=report_only,
                        max_items_per_ngram=max_items_per_ngram)
    filt = DecontaminationFilter(files=cfg.files, cache_dir=cache_dir, **cfg.model_dump(exclude={"enabled", "files"}))
    summary = run(inputs, out, filt)
    for p in summary["by_benchmark_and_subset"]:  # LLEMMA's count: test problems and solutions with a hit
        fields = ", ".join(f"{n} {f}s" for f, n in p["items_hit_by_field"].items())
        classes = ", ".join(f"{c} {n}" for c, n in p["items_by_class"].items())
        typer.echo(f"{p['benchmark']:8s} {p['subset'] or '-':20s} items hit {p['items_hit']:5d}: {fields} "
                   f"(by class: {classes}); documents hit {p['documents_hit']}, removed {p['documents_removed']}")
    typer.echo(f"{sum(summary['documents_scanned'].values()):,} documents scanned, "
               f"{summary['documents_removed']:,} removed; report: {out / 'contamination.md'}")


classifier_app = typer.Typer(no_args_is_help=True, help="Train and evaluate the fastText math classifier (MathScore).")
app.add_typer(classifier_app, name="classifier")
_TEXT_FIELD = typer.Option("--text-field", help="JSON field holding the text")
_LABEL_FIELD = typer.Option("--label-field", help="JSON field holding the label (math/other, 1/0, true/false)")
_FROM_RAW = typer.Option("--from-raw", help="ignore labels: math = has LaTeX math; the LaTeX is stripped before use")
_HOLDOUT = typer.Option("--holdout", help="fraction held out by a hash of the text (train skips it, eval uses it)")


def _data_warning(msg: str) -> None:
    typer.echo(f"warning: {msg}", err=True)


@classifier_app.command("train")
def classifier_train(
    data: Annotated[Path, typer.Argument(help="labelled JSONL or JSONL.gz")],
    out: Annotated[Path, typer.Option("--out", "-o", help="model file to write (.ftz)")],
    text_field: Annotated[str, _TEXT_FIELD] = "text",
    label_field: Annotated[str, _LABEL_FIELD] = "label",
    from_raw: Annotated[bool, _FROM_RAW] = False,
    holdout: Annotated[float, _HOLDOUT] = 0.1,
    epochs: Annotated[Optional[int], typer.Option(help="training epochs")] = None,
    lr: Annotated[Optional[float], typer.Option(help="learning rate")] = None,
    word_ngrams: Annotated[Optional[int], typer.Option("--word-ngrams", help="word n-gram length")] = None,
    dim: Annotated[Optional[int], typer.Option(help="embedding size")] = None,
    quantize: Annotated[bool, typer.Option(help="quantize (small .ftz)")] = True,
    cutoff: Annotated[Optional[int], typer.Option(help="words and n-grams kept when quantizing (model size)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed (training uses one thread, so it is reproducible)")] = None,
) -> None:
    """Train a math classifier on the non-held-out records of DATA."""
    from collections import Counter

    from proofpile.classifier import read_examples, train_classifier

    params = {"epochs": epochs, "lr": lr, "wordNgrams": word_ngrams, "dim": dim, "cutoff": cutoff, "seed": seed}
    problems: Counter = Counter()
    examples = read_examples(data, text_field=text_field, label_field=label_field, from_raw=from_raw,
                             split="train", holdout=holdout, problems=problems, warn=_data_warning)  # fmt: skip
    train_classifier(examples, out, quantize=quantize, **{k: v for k, v in params.items() if v is not None})
    skipped = f"; {sum(problems.values()):,} records skipped ({dict(problems)})" if problems else ""
    typer.echo(f"wrote {out} ({out.stat().st_size:,} bytes){skipped}")


@classifier_app.command("eval")
def classifier_eval(
    model: Annotated[str, typer.Argument(help="model file (.bin/.ftz), or 'default' for the shipped model")],
    data: Annotated[Path, typer.Argument(help="labelled JSONL or JSONL.gz")],
    plot: Annotated[Optional[Path], typer.Option(help="write a PNG of the score distributions per label")] = None,
    split: Annotated[str, typer.Option(help="held-out (what train left out), train or all")] = "held-out",
    text_field: Annotated[str, _TEXT_FIELD] = "text",
    label_field: Annotated[str, _LABEL_FIELD] = "label",
    from_raw: Annotated[bool, _FROM_RAW] = False,
    holdout: Annotated[float, _HOLDOUT] = 0.1,
) -> None:
    """Print precision/recall/F1 per threshold of MODEL on a split of DATA."""
    from proofpile.classifier import evaluate, format_report, read_examples
    from proofpile.filters.math_classifier import resolve_model

    path = resolve_model(None if model == "default" else model)
    examples = read_examples(data, text_field=text_field, label_field=label_field, from_raw=from_raw,
                             split=split, holdout=holdout, warn=_data_warning)  # fmt: skip
    result = evaluate(str(path), examples, plot=plot)
    if result["documents"] == 0:
        _fail(f"no usable records in the {split} split of {data}")
    typer.echo(f"model {path}, {split} split of {data}")
    typer.echo(format_report(result))
    if plot is not None:
        typer.echo(f"plot: {plot}")


class _PackGroup(typer.core.TyperGroup):
    """`pack INPUT ...` and `pack verify DIR`: a first word that is not a subcommand means `pack run`.

    A click group with a positional INPUT would swallow `verify` as the input, so the group routes instead.
    """

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


pack_app = typer.Typer(cls=_PackGroup, no_args_is_help=True,
                       help="Token files for GPT-NeoX/Megatron: `pack INPUT --tokenizer T --out DIR`, `pack verify DIR`.")
app.add_typer(pack_app, name="pack")


@pack_app.command("run")
def pack_run(
    input: Annotated[str, typer.Argument(help="a build directory (or its URL), or Parquet shards (file or folder) with a text column")],
    out: Annotated[str, typer.Option("--out", "-o", help="output directory, or an fsspec URL (s3://bucket/prefix)")],
    tokenizer: Annotated[Optional[str], typer.Option(help="tokenizer.model / tokenizer.json / a folder with them / a Hub id", show_default=_default(PackStage, "tokenizer"))] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="megatron (.bin/.idx) or npy (needs --seq-len)", show_default=_default(PackStage, "format"))] = None,
    workers: Annotated[int, typer.Option(help="tokenizing processes (outputs do not depend on it)")] = 1,
    seq_len: Annotated[Optional[int], typer.Option("--seq-len", help="also write fixed-length shuffled sequences (.npy)")] = None,
    shuffle_seed: Annotated[Optional[int], typer.Option("--shuffle-seed", help="seed of the document and sequence shuffles", show_default=_default(PackStage, "shuffle_seed"))] = None,
    by_lang: Annotated[bool, typer.Option("--by-lang", help="one prefix per language inside each subset/split")] = False,
    weight: Annotated[Optional[list[str]], typer.Option("--weight", help="SUBSET=W share of training tokens, repeatable (default: by tokens)")] = None,
    proof_pile_2: Annotated[bool, typer.Option("--proof-pile-2-weights", help="arxiv=2, open-web-math=4, algebraic-stack=1")] = False,
    bos: Annotated[Optional[bool], typer.Option("--bos/--no-bos", help="put <s> before each document", show_default=_default(PackStage, "bos"))] = None,
    eos: Annotated[Optional[bool], typer.Option("--eos/--no-eos", help="put </s> after each document", show_default=_default(PackStage, "eos"))] = None,
    subset: Annotated[Optional[str], typer.Option(help="subset name for Parquet input without a subset column")] = None,
    text_column: Annotated[str, typer.Option("--text-column", help="column holding the text")] = "text",
    backend: Annotated[str, typer.Option(help="auto, sentencepiece or tokenizers")] = "auto",
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    max_document_bytes: Annotated[Optional[int], typer.Option("--max-document-bytes", help="skip (and count) longer documents", show_default="64 MiB")] = None,
    work_dir: Annotated[Optional[Path], typer.Option("--work-dir", help="with a URL --out: the local directory to pack in and upload from")] = None,
    input_work_dir: Annotated[Optional[Path], typer.Option("--input-work-dir", help="with a URL INPUT: where to download it")] = None,
) -> None:
    """Tokenize INPUT into Megatron .bin/.idx prefixes (same as `proofpile pack INPUT ...`)."""
    from proofpile.pack import PROOF_PILE_2_WEIGHTS
    from proofpile.pack.stage import pack_as_configured

    _check_workers(workers)
    weights = dict(PROOF_PILE_2_WEIGHTS) if proof_pile_2 else {}
    for item in weight or []:
        name, sep, value = item.partition("=")
        try:
            weights[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            _fail(f"--weight {item}: expected SUBSET=NUMBER")
    from proofpile.outdir import reading

    input, _ = _pulled(input, input_work_dir)
    target = _remote(out, work_dir, "pack")
    out = target.work if target is not None else Path(out)
    with reading(input):  # not while a build is rewriting the shards it would read
        cfg = _stage_config(PackStage, tokenizer=tokenizer, format=format, seq_len=seq_len, shuffle_seed=shuffle_seed,
                            by_lang=by_lang, weights=weights, bos=bos, eos=eos)
        extra = {} if max_document_bytes is None else {"max_document_bytes": max_document_bytes}
        record = pack_as_configured(input, out, cfg, workers=workers, subset=subset, text_column=text_column,
                                    backend=backend, progress=progress and sys.stderr.isatty(), **extra)
        if target is not None:
            _upload(target)
    for err in record["errors"]:
        typer.echo(f"warning: {err}", err=True)
    for subset_name, splits in record["tokens"].items():
        for split, c in splits.items():
            typer.echo(f"{subset_name:20s} {split:10s} {c['documents']:>10,} documents {c['tokens']:>14,} tokens")
    t = record["total"]
    skipped = f", {sum(record['skipped'].values()):,} skipped ({record['skipped']})" if record["skipped"] else ""
    typer.echo(f"{t['documents']:,} documents, {t['tokens']:,} {record['dtype']} tokens{skipped}")
    for entry in record.get("sequences", {}).get("files", []):
        typer.echo(f"{entry['split']}: {entry['rows']:,} sequences of {record['sequences']['seq_len']} -> {entry['file']}")
    for entry in record.get("sequences", {}).get("short_splits", []):
        typer.echo(f"{entry['split']}: {entry['tokens']:,} tokens, {entry['reason']} "
                   f"({record['sequences']['seq_len']}): no sequence file")
    typer.echo(f"tokens.json: {target.url + '/tokens.json' if target is not None else out / 'tokens.json'}")


@pack_app.command("verify")
def pack_verify(directory: Annotated[Path, typer.Argument(help="a directory written by `proofpile pack`")]) -> None:
    """Re-read a pack directory; every mismatch is one `error:` line and the exit code is 1."""
    from proofpile.pack import verify

    report = verify(directory)
    for err in report.errors:
        typer.echo(f"error: {err}", err=True)
    if not report.ok:
        raise typer.Exit(1)
    seqs = f", {report.sequence_files} sequence files" if report.sequence_files else ""
    typer.echo(f"ok: {report.prefixes} prefixes, {report.documents:,} documents, {report.tokens:,} tokens{seqs}")


@app.command()
def dedup(
    inputs: Annotated[list[Path], typer.Argument(help="build output directories (or .parquet shards), e.g. out/arxiv out/open-web-math")],
    out: Annotated[str, typer.Option("--out", "-o", help="output directory")],
    against: Annotated[Optional[Path], typer.Option(help="an earlier `proofpile dedup` output: drop what duplicates it")] = None,
    ngram: Annotated[Optional[int], typer.Option(help="words per shingle", show_default=_default(NearDedupStage, "ngram"))] = None,
    bands: Annotated[Optional[int], typer.Option(help="LSH bands", show_default=_default(NearDedupStage, "bands"))] = None,
    rows: Annotated[Optional[int], typer.Option(help="MinHash values per band", show_default=_default(NearDedupStage, "rows"))] = None,
    seed: Annotated[Optional[int], typer.Option(help="seed of the MinHash permutations", show_default=_default(NearDedupStage, "seed"))] = None,
    priority: Annotated[Optional[str], typer.Option(help="subsets in survivor order, comma-separated", show_default=_default(NearDedupStage, "priority"))] = None,
    workers: Annotated[int, typer.Option(help="parallel processes (outputs do not depend on it)")] = 1,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Remove near-duplicates (MinHash LSH on math-aware shingles) across INPUTS; the survivor of a cluster is
    the first subset in --priority, then the lowest id."""
    from proofpile.dedup.minhash import s_curve
    from proofpile.dedup.near import NearDedupConfig, near_dedup
    from proofpile.manifest import render_funnel
    from proofpile.remote import refuse_url

    refuse_url(out, "dedup")
    out = Path(out)
    _check_workers(workers)
    order = None if priority is None else [p.strip() for p in priority.split(",") if p.strip()]
    config = NearDedupConfig.from_stage(_stage_config(NearDedupStage, ngram=ngram, bands=bands, rows=rows,
                                                      seed=seed, priority=order))
    typer.echo(s_curve(config.params))
    manifest = near_dedup(inputs, out, config, workers=workers, against=against,
                          progress=progress and sys.stderr.isatty())
    typer.echo(render_funnel(manifest["funnel"]))
    c = manifest["counts"]
    for name, n in c["by_subset"].items():
        typer.echo(f"{name or '-':20s} {n['documents']:>10,} documents {n['removed']:>10,} removed {n['kept']:>10,} kept")
    typer.echo(f"{c['removed']:,} of {c['documents']:,} documents removed in {c['clusters']:,} clusters; "
               f"duplicates: {out / 'duplicates.parquet'}; manifest: {out / 'manifest.json'}")


plan_app = typer.Typer(no_args_is_help=True, help="Estimate what a run will need before starting it.")
app.add_typer(plan_app, name="plan")


@plan_app.command("dedup")
def plan_dedup(
    docs: Annotated[int, typer.Option(help="number of documents")],
    avg_bytes: Annotated[int, typer.Option("--avg-bytes", help="average text bytes per document")],
    dup_fraction: Annotated[float, typer.Option("--dup-fraction", help="expected share removed (OpenWebMath: 0.87)")] = 0.5,
    ngram: Annotated[Optional[int], typer.Option(help="words per shingle", show_default=_default(NearDedupStage, "ngram"))] = None,
    bands: Annotated[Optional[int], typer.Option(help="LSH bands", show_default=_default(NearDedupStage, "bands"))] = None,
    rows: Annotated[Optional[int], typer.Option(help="MinHash values per band", show_default=_default(NearDedupStage, "rows"))] = None,
    shard_bytes: Annotated[int, typer.Option("--shard-bytes", help="text bytes per input shard")] = 256 * 2**20,
    workers: Annotated[int, typer.Option(help="parallel processes")] = 1,
    mb_per_s: Annotated[float, typer.Option("--mb-per-s", help="signature MB/s per core (bench/dedup.py)")] = 10.0,
) -> None:
    """Disk and peak RAM for `proofpile dedup` on DOCS documents of AVG-BYTES each."""
    from proofpile.dedup.near import NearDedupConfig
    from proofpile.dedup.plan import DedupPlan

    if docs <= 0 or avg_bytes <= 0 or not 0 <= dup_fraction < 1:
        _fail("--docs and --avg-bytes must be positive and --dup-fraction in [0, 1)")
    if workers < 1 or shard_bytes < 1 or not mb_per_s > 0:
        _fail("--workers, --shard-bytes and --mb-per-s must be positive")
    config = NearDedupConfig.from_stage(_stage_config(NearDedupStage, ngram=ngram, bands=bands, rows=rows))
    plan = DedupPlan(docs=docs, avg_bytes=avg_bytes, params=config.params, dup_fraction=dup_fraction,
                     shard_bytes=shard_bytes, window_records=config.window_records, workers=workers,
                     mb_per_s_per_core=mb_per_s)
    typer.echo(plan.render())


@app.command()
def stats(
    directory: Annotated[str, typer.Argument(help="a build directory (with manifest.json), or its URL")],
    json_: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
    pack: Annotated[Optional[Path], typer.Option(help="a `proofpile pack` output to take tokens from")] = None,
    work_dir: Annotated[Optional[Path], _WORK_DIR] = None,
) -> None:
    """Documents, text bytes and tokens per subset/split/language; the funnel; dedup and decontamination."""
    import json

    from proofpile.publish.stats import compute_stats, render_stats

    from proofpile.outdir import reading

    local, _ = _pulled(directory, work_dir)
    with reading(local):
        result = compute_stats(local, pack=pack)
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False) if json_ else render_stats(result).rstrip())


@app.command()
def card(
    directory: Annotated[str, typer.Argument(help="a build directory (with manifest.json), or its URL")],
    repo: Annotated[Optional[str], typer.Option(help="ORG/NAME, shown in the card's loading example")] = None,
    pack: Annotated[Optional[Path], typer.Option(help="a `proofpile pack` output to take tokens from")] = None,
    work_dir: Annotated[Optional[Path], _WORK_DIR] = None,
) -> None:
    """Write DIR/README.md, the Hub dataset card, with its figures in DIR/assets/."""
    from proofpile.outdir import locked, reading
    from proofpile.publish.card import write_card

    local, target = _pulled(directory, work_dir)
    if target is not None:  # the card is written in the work directory, then uploaded with the figures
        with locked(local, "build"):
            result = write_card(local, repo_id=repo, pack=pack)
            _upload(target)
    else:
        with reading(local):  # not while a build is writing it
            result = write_card(local, repo_id=repo, pack=pack)
    for w in result.stats["warnings"]:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"card: {result.path}")
    for f in result.figures:
        typer.echo(f"figure: {f}")


@app.command()
def publish(
    directory: Annotated[str, typer.Argument(help="a carded build directory, or its URL")],
    repo: Annotated[str, typer.Option("--repo", help="the dataset repository, ORG/NAME")],
    private: Annotated[bool, typer.Option("--private", help="create the repository private")] = False,
    revision: Annotated[Optional[str], typer.Option(help="branch to commit to (created if needed)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be uploaded; write nothing")] = False,
    endpoint: Annotated[Optional[str], typer.Option(help="Hub URL (default: HF_ENDPOINT or huggingface.co)")] = None,
    with_pack: Annotated[bool, typer.Option("--with-pack", help="upload the packed token files too (packed/)")] = False,
    transfer: Annotated[str, typer.Option(help="auto (Xet when offered), xet or lfs")] = "auto",
    batch_files: Annotated[int, typer.Option(help="files per commit")] = 100,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the Hub to connect or to answer")] = 60.0,
    work_dir: Annotated[Optional[Path], _WORK_DIR] = None,
) -> None:
    """Upload README.md, assets/, data/ and manifest.json to a Hub dataset repo; re-running resumes."""
    from proofpile.publish.hub import publish as run

    from proofpile.outdir import reading

    local, _ = _pulled(directory, work_dir)
    with reading(local):  # never a build that is being (re)written
        result = run(local, repo, private=private, revision=revision, dry_run=dry_run, endpoint=endpoint,
                     with_pack=with_pack, transfer=transfer, batch_files=batch_files, timeout=timeout,
                     progress_bars=sys.stderr.isatty(), log=lambda m: typer.echo(m, err=True))
    plan = result.plan
    size = sum(f.size for f in plan.to_upload)
    if dry_run:
        for label, files in (("new", plan.new), ("changed", plan.changed), ("unchanged", plan.unchanged)):
            for f in files:
                typer.echo(f"{label:9s} {f.size:>14,}  {f.path_in_repo}")
        typer.echo(f"dry run: would upload {len(plan.to_upload)} files ({size:,} bytes), "
                   f"{len(plan.unchanged)} unchanged; {'repository exists' if plan.repo_exists else 'would create the repository'}")
    else:
        typer.echo(f"uploaded {len(plan.to_upload)} files ({size:,} bytes) in {len(result.commits)} commits, "
                   f"{len(plan.unchanged)} unchanged")
    typer.echo(result.url)


@plan_app.command("proof-pile-2")
def plan_proof_pile_2(
    target_tokens: Annotated[float, typer.Option("--target-tokens", help="tokens of the finished corpus, e.g. 55e9")],
    nodes: Annotated[int, typer.Option(help="nodes")] = 1,
    cores_per_node: Annotated[int, typer.Option("--cores-per-node", help="cores per node")] = 32,
    mem_per_node_gb: Annotated[float, typer.Option("--mem-per-node-gb", help="RAM per node, GB")] = 128,
    share: Annotated[Optional[list[str]], typer.Option("--share", help="SUBSET=W split of the target, repeatable (default 29:15:11)")] = None,
    yield_: Annotated[Optional[list[str]], typer.Option("--yield", help="SUBSET=Y text kept per raw input byte, repeatable")] = None,
    dup_fraction: Annotated[float, typer.Option("--dup-fraction", help="share of the text near-dedup removes")] = 0.1,
    web_math_share: Annotated[Optional[float], typer.Option("--web-math-share", help=_WEB_HELP["share"])] = None,
    pages_per_crawl: Annotated[Optional[float], typer.Option("--pages-per-crawl", help=_WEB_HELP["pages"])] = None,
    page_bytes: Annotated[Optional[float], typer.Option("--page-bytes", help=_WEB_HELP["bytes"])] = None,
    mix_from: Annotated[Optional[Path], typer.Option("--mix-from", help=_WEB_HELP["mix"])] = None,
) -> None:
    """CPU-hours, disk, RAM and wall time per stage of a whole-corpus build, from bench/ throughputs. The web
    subset's rate and yield come from the crawl model of `proofpile plan open-web-math` (same options)."""
    from proofpile.capacity import proof_pile_2_plan, web_subset

    def pairs(items: Optional[list[str]], flag: str) -> dict[str, float]:
        out = {}
        for item in items or []:
            name, _, value = item.partition("=")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                _fail(f"{flag} {item}: expected SUBSET=NUMBER")
        return out

    if nodes < 1 or cores_per_node < 1 or not 0 <= dup_fraction < 1:
        _fail("--nodes and --cores-per-node must be at least 1 and --dup-fraction in [0, 1)")
    if not 0 < target_tokens < float("inf") or not 0 < mem_per_node_gb < float("inf"):
        _fail("--target-tokens and --mem-per-node-gb must be positive numbers")
    yields = pairs(yield_, "--yield")
    if any(not 0 < y <= 1 for y in yields.values()):
        _fail("--yield: a share of the raw input, in (0, 1]")
    crawl_rates, sources = {}, {}
    if any(v is not None for v in (web_math_share, pages_per_crawl, page_bytes, mix_from)):
        web = web_subset(_web_model(web_math_share, pages_per_crawl, page_bytes, mix_from), dup_fraction)
        crawl_rates["open-web-math"] = web.crawl_mb_s[0]
        yields.setdefault("open-web-math", web.yield_[0])
        sources["open-web-math"] = ("WebCrawlModel with the --web-math-share/--pages-per-crawl/--page-bytes/"
                                    "--mix-from given")
    plan = proof_pile_2_plan(target_tokens, pairs(share, "--share") or None, nodes=nodes,
                             cores_per_node=cores_per_node, mem_per_node_gb=mem_per_node_gb,
                             dup_fraction=dup_fraction, yields=yields, crawl_rates=crawl_rates,
                             override_sources=sources)
    if unknown := sorted(set(yields) - set(plan.shares)):
        raise ValueError(f"--yield: unknown subset(s) {', '.join(unknown)}")
    typer.echo(plan.render())


_WEB_HELP = {
    "share": "share of a crawl's pages the prefilter sends to extraction (default 0.004, OpenWebMath's pass rate)",
    "pages": "pages per crawl (default 3.15e9, CC-MAIN-2023-06)",
    "bytes": "uncompressed WARC bytes per page (default ~140 KB: 400 TiB / 3.15B pages)",
    "mix": "a web build's manifest.json: its measured prefilter pass rates and documents kept per page",
}


def _web_model(web_math_share, pages_per_crawl, page_bytes, mix_from):
    from proofpile.capacity import WebCrawlModel, mix_from_manifest

    model = WebCrawlModel()
    if mix_from is not None:
        if not mix_from.is_file():
            _fail(f"--mix-from {mix_from}: no such file")
        try:
            model = mix_from_manifest(mix_from, model)
        except (ValueError, KeyError, TypeError) as err:
            _fail(f"--mix-from {mix_from}: {err}")
    for value, attr, flag, ok in ((web_math_share, "math_share", "--web-math-share", lambda v: 0 < v <= 1),
                                  (pages_per_crawl, "pages", "--pages-per-crawl", lambda v: 0 < v < float("inf")),
                                  (page_bytes, "page_bytes", "--page-bytes", lambda v: 0 < v < float("inf"))):
        if value is None:
            continue
        if not ok(value):
            _fail(f"{flag} {value:g}: out of range")
        setattr(model, attr, value)
        model.sources[attr] = flag
    return model


@plan_app.command("open-web-math")
def plan_open_web_math(
    target_tokens: Annotated[float, typer.Option("--target-tokens", help="web tokens wanted (Proof-Pile-2: 15e9)")] = 15e9,
    web_math_share: Annotated[Optional[float], typer.Option("--web-math-share", help=_WEB_HELP["share"])] = None,
    pages_per_crawl: Annotated[Optional[float], typer.Option("--pages-per-crawl", help=_WEB_HELP["pages"])] = None,
    page_bytes: Annotated[Optional[float], typer.Option("--page-bytes", help=_WEB_HELP["bytes"])] = None,
    mix_from: Annotated[Optional[Path], typer.Option("--mix-from", help=_WEB_HELP["mix"])] = None,
    cores: Annotated[int, typer.Option("--cores", help="cores, for the wall time of one crawl")] = 32,
) -> None:
    """CPU-hours of the web chain per Common Crawl crawl and for the target tokens, from a crawl's page mix."""
    if not 0 < target_tokens < float("inf") or cores < 1:
        _fail("--target-tokens must be positive and --cores at least 1")
    typer.echo(_web_model(web_math_share, pages_per_crawl, page_bytes, mix_from).render(target_tokens, cores))


def _build_on_slurm(plan, overrides: list[str], sample: bool, throttle: Optional[int], dry_run: bool) -> None:
    import shutil

    from proofpile.recipes import RecipeError
    from proofpile.slurm import prepare, render, submit

    if not dry_run and shutil.which("sbatch") is None:
        raise RecipeError("--executor slurm: sbatch not found on PATH (run on a Slurm login node, or add "
                          "--dry-run to write the job scripts only)")
    jobs = prepare(plan, overrides, sample=sample, throttle=throttle)
    if dry_run:
        typer.echo(render(jobs))
        return
    typer.echo(submit(jobs).rstrip())
    typer.echo(f"scripts and Slurm logs: {jobs.folder}; the build is done when {plan.out / 'manifest.json'} appears")


@app.command()
def inspect(
    directory: Annotated[str, typer.Argument(help="a build directory: a local path or any fsspec URL")],
    port: Annotated[int, typer.Option(help="the port to listen on")] = 8765,
    host: Annotated[Optional[str], typer.Option(help="the address to bind; 127.0.0.1 unless given")] = None,
) -> None:
    """Serve a local, read-only web viewer of a build: funnel, search, documents with math, scores, reports."""
    from proofpile.inspect.serve import serve

    if not 0 < port < 65536:
        _fail("--port must be between 1 and 65535")
    serve(directory, host=host, port=port)


@app.command()
def version() -> None:
    """Print proofpile's and its main dependencies' versions."""
    from proofpile.manifest import versions

    for k, v in versions().items():
        typer.echo(f"{k} {v}")


if __name__ == "__main__":
    app()
