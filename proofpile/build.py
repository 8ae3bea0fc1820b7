"""Recipe -> datatrove pipelines -> executor; then the run manifest and the funnel.

A build runs in two stages:

1. *crawl + filter*, one datatrove task per input unit (a repository, a Stack file): each task fetches,
   filters and writes its survivors to `_work/<source>/rNNNNN-*.parquet`. Tasks are fixed by the inputs,
   never by `--workers`, so worker count changes speed only. datatrove's completion markers make a re-run do
   only the tasks that did not finish.
2. *finalize*, one task: read the task files in input order, chunk-exact dedup (order-dependent, hence one
   task), assign splits, write the corpus shards. It is cheap next to crawling, so an interrupted finalize is
   simply redone from the task files. Near-dedup and the decontamination scan run before it as parallel
   stages of their own (one task per task file); finalize only skips or looks up what they found.

Everything a build writes stays under `--out`, and only into a directory proofpile made (`proofpile.outdir`):
clean-up there deletes only names proofpile gives its own files. One build at a time holds the directory's lock.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from proofpile.atomic import write_text
from proofpile import manifest as mf
from proofpile import outdir
from proofpile.executors import run_stage
from proofpile.failed_inputs import failed_inputs, reopen_failed_tasks
from proofpile.logs import quiet_datatrove
from proofpile.recipes import Recipe, RecipeError, Sources, dump
from proofpile.redact import redact_tree
from proofpile.shard_io import RankWriter, ShardReader, ShardWriter, rank_files
from proofpile.shards import clear_subsets
from proofpile.source_plans import PLANNERS, SourcePlan
from proofpile.split import SplitTagger
from proofpile.stage_registry import names
from proofpile.stages import decide_steps, final_steps, run_after, task_steps

WORK = "_work"


@dataclass
class BuildPlan:
    recipe: Recipe
    recipe_path: Path
    out: Path
    sources: list[SourcePlan] = field(default_factory=list)  # in the fixed order finalize reads them

    @property
    def work(self) -> Path:
        return self.out / WORK

    @property
    def input_errors(self) -> list[str]:
        return [e for s in self.sources for e in s.errors]

    def identity(self) -> dict:
        """What must match for a re-run into the same directory to be a resume rather than a new build: all but
        the stages' decision fields (`decision_identity`), whose change redoes only the decide stage onwards."""
        from proofpile.decisions import split_identity

        ident = self._full_identity()
        ident["recipe"] = split_identity(ident["recipe"])[0]
        return ident

    def decision_identity(self) -> dict:
        """The thresholds the decide stage applies (proofpile.decisions)."""
        from proofpile.decisions import split_identity

        return split_identity(self._full_identity()["recipe"])[1]

    def _full_identity(self) -> dict:
        recipe = dump(self.recipe)
        for after in names("after"):  # they read the finished shards; changing them redoes only themselves
            if after != "dropped":  # but the crawl writes what the dropped table is made of: it stays
                recipe["stages"].pop(after, None)
        recipe.pop("executor", None)  # where and how tasks run never changes what they write
        # credentials are not what a build reads, and `build.json` must not hold them (see proofpile.redact)
        return redact_tree({"recipe": recipe, "inputs": {s.name: s.identity for s in self.sources}})


def plan_build(recipe: Recipe, recipe_path: Path, out: Path, sample: bool = False,
               sample_dir: Path | None = None) -> BuildPlan:
    """The build of `recipe` into `out`. Planning writes nothing, except that `sample=True` makes the sample
    inputs: in `sample_dir` when given, else under `out/_work/sample` (claiming and locking `out` for that)."""
    out = out.resolve()
    if sample:
        if sample_dir is None:
            with outdir.owned(out, "build"):
                recipe = _sampled(recipe, out / WORK / "sample")
        else:
            recipe = _sampled(recipe, sample_dir)
    plan = BuildPlan(recipe=recipe, recipe_path=recipe_path, out=out)
    whole_corpus = bool(recipe.include)
    for part, part_path in recipe.parts(recipe_path):
        # an included recipe configures its own sources' per-document stages; the rest is the whole corpus's
        view = BuildPlan(recipe=part, recipe_path=part_path, out=out) if whole_corpus else plan
        for name in Sources.model_fields:
            cfg = getattr(part.sources, name)
            if cfg is not None and (source := PLANNERS[name](cfg, part, part_path)) is not None:
                source.kind, source.part = name, view
                if whole_corpus:
                    source.name = f"{part.subset}/{name}"
                plan.sources.append(source)
    return plan


def _sampled(recipe: Recipe, dest: Path) -> Recipe:
    recipe = _with_sample_inputs(recipe, dest)
    recipe._parts = [(_with_sample_inputs(part, dest), path) for part, path in recipe._parts]
    return recipe


def _with_sample_inputs(recipe: Recipe, dest: Path) -> Recipe:
    """The bundled sample: small real git repositories, a Stack-shaped Parquet file, an arXiv bulk tar and a
    WARC made on the spot (`proofpile.samples`), and stand-in benchmarks for an enabled decontamination."""
    from proofpile.samples import create_sample_inputs

    inputs = create_sample_inputs(dest)
    recipe = recipe.model_copy(deep=True)
    if recipe.sources.github is not None:
        recipe.sources.github.manifests = [str(p) for _, p in sorted(inputs.manifests.items())]
    if recipe.sources.stack is not None:
        recipe.sources.stack.files = [str(p) for p in inputs.stack_files]
    if recipe.sources.arxiv is not None:  # a bulk tar of papers written for the sample; nothing fetched
        recipe.sources.arxiv.paths, recipe.sources.arxiv.ids = [str(p) for p in inputs.arxiv_paths], []
    if (cc := recipe.sources.commoncrawl) is not None:  # one WARC of sample pages instead of a crawl's list
        cc.files, cc.crawl, cc.paths_file = [str(p) for p in inputs.warc_files], None, None
    decontam = recipe.stages.decontaminate
    if decontam.enabled and not decontam.files:  # stand-ins, not MATH/GSM8K: the Hub would need the network
        decontam.files = {name: str(p) for name, p in inputs.benchmarks.items() if name in decontam.benchmarks}
    return recipe


def describe(plan: BuildPlan) -> str:
    """The resolved plan `--dry-run` prints: recipe, inputs, stages in order, output layout."""
    r = plan.recipe
    resolved = yaml.safe_dump(redact_tree(dump(r)), sort_keys=False).rstrip()
    lines = [f"# recipe {r.name} ({plan.recipe_path})", resolved, ""]
    lines.append("# inputs")
    for source in plan.sources:
        lines += source.describe
    lines += [f"input error: {err}" for err in plan.input_errors]
    lines += ["", "# stages"]
    for source in plan.sources:
        steps = " -> ".join(s.name for s in task_steps(plan, source.name))
        crawled = crawl_folder(plan, source).relative_to(plan.out).as_posix()
        lines.append(f"1. {source.name}: {source.tasks} tasks: read -> {steps} -> {crawled}/")
        if decided := decide_steps(plan, source.name):
            lines.append(f"   then thresholds on the stored scores, 1 task per crawl task: "
                         f"{' -> '.join(s.name for s in decided)} -> {WORK}/{source.name}/")
    final = ["read task files in input order", *(s.name for s in final_steps(plan))]
    if r.stages.near_dedup.enabled:
        nd = r.stages.near_dedup
        final[0] += f" minus near-duplicates (MinHash {nd.ngram}-gram shingles, {nd.bands} bands x {nd.rows} rows)"
    sp = r.output.split
    final += [f"split (seed {sp.seed}, validation {sp.validation}, test {sp.test})", "write shards"]
    n = 2
    if r.stages.decontaminate.enabled:
        lines.append(f"2. decontamination scan: 1 task per task file: n-gram scan -> {WORK}/decontaminate/scan/")
        n = 3
    lines.append(f"{n}. finalize: 1 task: " + " -> ".join(final))
    lines += ["", "# output"]
    for part, _ in r.parts(plan.recipe_path):
        lang = "-<lang>" if part.output.lang_in_name else ""
        lines.append(f"{plan.out}/data/{part.subset}/<split>{lang}-NNNNN-of-MMMMM.parquet")
    lines += [f"  ({r.output.compression}, <= {r.output.max_shard_bytes:,} text bytes per shard, row groups <= "
              f"{r.output.row_group_rows:,} rows or {r.output.row_group_bytes:,} text bytes)", f"{plan.out}/manifest.json"]
    if (pk := r.stages.pack).enabled:
        lines.append(f"then pack: {pk.format} token files with {pk.tokenizer} into {plan.out / pk.out}/")
    return "\n".join(lines)


def dry_run(recipe: Recipe, recipe_path: Path, out: Path, sample: bool = False) -> tuple[str, list[str]]:
    """(`describe` text, input errors) of the build, writing nothing anywhere: sample inputs are made in a
    temporary directory, removed before returning, and shown at the paths a real build would give them. A --out
    that the build would refuse is refused here too."""
    out = out.resolve()
    outdir.check(out, "build")
    if not sample:
        plan = plan_build(recipe, recipe_path, out)
        return describe(plan), plan.input_errors
    with tempfile.TemporaryDirectory(prefix="proofpile-dry-run-") as tmp:
        made = str(Path(tmp).resolve() / "sample")
        plan = plan_build(recipe, recipe_path, out, sample=True, sample_dir=Path(made))
        real = str(out / WORK / "sample")
        return describe(plan).replace(made, real), [e.replace(made, real) for e in plan.input_errors]


def check_identity(plan: BuildPlan) -> None:
    """Claim `plan.out` and record what it builds, or refuse when it already holds another build; a build whose
    thresholds alone changed is resumed from its crawl (proofpile.decisions)."""
    from proofpile.decisions import decisions_changed, record_decisions, redo_after_crawl

    _check_signal_identity(plan)
    decisions = plan.decision_identity()
    if decisions_changed(plan.work, decisions):
        redo_after_crawl(plan.work, {plan.work / "logs" / source.name for source in plan.sources})
        record_decisions(plan.work, decisions)


def _check_signal_identity(plan: BuildPlan) -> None:
    outdir.claim(plan.out, "build")
    marker = plan.work / "build.json"
    ident = json.dumps(plan.identity(), sort_keys=True, indent=1)
    if marker.is_file():
        held = marker.read_text()
        if held != ident:
            if _made_before_decisions(held, ident):
                raise RecipeError(f"{plan.out}: holds this build as made by a proofpile from before thresholds were "
                                  f"kept apart from scores; its crawl kept no scores to decide on, so it cannot be "
                                  f"resumed: use a new --out, or delete it to start over")
            raise RecipeError(f"{plan.out}: holds a build of another recipe or other inputs; "
                              f"use a new --out, or delete it to start over")
    else:
        plan.work.mkdir(parents=True, exist_ok=True)
        write_text(marker, ident)  # a kill mid-write must not leave an identity no re-run matches


def _made_before_decisions(held: str, ident: str) -> bool:
    """Whether `held` (a `build.json`) is `ident` with its decision fields still inside: the identity of the same
    build written by a version that applied thresholds in the crawl. Adopting it would read an empty signals folder
    and lose every document, so it is refused, but by its name rather than as another recipe."""
    from proofpile.decisions import split_identity

    try:
        old = json.loads(held)
        old["recipe"] = split_identity(old["recipe"])[0]
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return json.dumps(old, sort_keys=True, indent=1) == ident


def crawl_folder(plan: BuildPlan, source: SourcePlan) -> Path:
    """Where the crawl writes a source's documents: beside the decided ones when a decide stage follows."""
    from proofpile.decisions import SIGNALS

    return plan.work / SIGNALS / source.name if decide_steps(plan, source.name) else plan.work / source.name


def _keep_dropped(plan: BuildPlan, steps: list, phase: str, source: SourcePlan) -> list:
    from proofpile import dropped

    cfg = plan.recipe.stages.dropped
    if cfg.enabled:
        dropped.attach(steps, dropped.task_folder(plan, phase, source.name), source.name, cfg.full_text)
    return steps


def crawl_pipeline(plan: BuildPlan, source: SourcePlan) -> list:
    """Stage 1 of one source, the same whichever executor runs it: read -> per-document stages -> task files."""
    folder = crawl_folder(plan, source)
    folder.mkdir(parents=True, exist_ok=True)
    steps = _keep_dropped(plan, task_steps(plan, source.name), "crawl", source)
    return [source.make_reader(plan.work), *steps, RankWriter(str(folder))]


def decide_pipeline(plan: BuildPlan, source: SourcePlan) -> list:
    """Stage 1b, one task per crawl task: the stored scores -> the stages' thresholds -> the task files."""
    from proofpile.decisions import RankReader

    folder = plan.work / source.name
    folder.mkdir(parents=True, exist_ok=True)
    steps = _keep_dropped(plan, decide_steps(plan, source.name), "decide", source)
    return [RankReader(str(crawl_folder(plan, source))), *steps, RankWriter(str(folder))]


def _clear_unfinished_dropped(plan: BuildPlan, source: SourcePlan) -> None:
    from proofpile import dropped

    logs = plan.work / "logs"
    dropped.clear_unfinished(dropped.task_folder(plan, "crawl", source.name), logs / source.name / "completions")
    dropped.clear_unfinished(dropped.task_folder(plan, "decide", source.name),
                             logs / "decide" / source.name / "completions")


def run_build(plan: BuildPlan, workers: int = 1, progress: bool = True) -> dict:
    """Run (or resume) the build; returns the manifest it wrote to `<out>/manifest.json`. Refuses a --out that
    proofpile did not make, and one another build is writing into (`proofpile.outdir`)."""
    if not any(source.tasks for source in plan.sources):
        # an empty build "succeeding" hides a typo in a manifest path or an unreachable crawl list
        errors = "; ".join(plan.input_errors) or "the recipe names no sources"
        raise RecipeError(f"{plan.recipe_path}: no inputs to build from ({errors})")
    with outdir.owned(plan.out, "build"):
        check_identity(plan)
        return _run_build(plan, workers, progress)


def _run_build(plan: BuildPlan, workers: int, progress: bool) -> dict:
    quiet_datatrove()
    r = plan.recipe
    logs = plan.work / "logs"
    task_files: list[str] = []
    reopen_failed_tasks(plan)  # inputs that failed transiently last time are tried again (proofpile.failed_inputs)
    for source in plan.sources:
        _clear_unfinished_dropped(plan, source)
        run_stage(crawl_pipeline(plan, source), source.tasks, workers, logs / source.name,
                  f"{source.name}: crawl + filter", progress)
        if decide_steps(plan, source.name):
            run_stage(decide_pipeline(plan, source), source.tasks, workers, logs / "decide" / source.name,
                      f"{source.name}: thresholds", progress)
        folder = plan.work / source.name
        task_files += [str(p) for rank in range(source.tasks) for p in rank_files(folder, rank)]

    finalize_logs = logs / "finalize"
    if not (finalize_logs / "completions" / "00000").is_file():
        clear_subsets(plan.out, r.subsets)  # an interrupted finalize: redone from the task files
    reader = ShardReader(task_files)
    if r.stages.near_dedup.enabled:  # signatures, buckets and clusters first; the reader then skips duplicates
        from proofpile.dedup.near import build_stage_reader

        reader = build_stage_reader(plan, task_files, workers, progress)
    steps = final_steps(plan)
    if r.stages.decontaminate.enabled:  # the n-gram scan in parallel; finalize's step only looks documents up
        from proofpile.decontam.scan import run_scan

        run_scan(plan.work, task_files, steps, workers, progress)
    pipeline = [reader, *steps]
    sp = r.output.split
    pipeline.append(SplitTagger(seed=sp.seed, validation=sp.validation, test=sp.test))
    o = r.output
    lang_subsets = [part.subset for part, _ in r.parts(plan.recipe_path) if part.output.lang_in_name]
    pipeline.append(ShardWriter(str(plan.out), max_shard_bytes=o.max_shard_bytes, row_group_rows=o.row_group_rows,
                                row_group_bytes=o.row_group_bytes, compression=o.compression,
                                compression_level=o.compression_level, lang_subsets=lang_subsets))
    run_stage(pipeline, 1, 1, finalize_logs, "finalize", progress)

    manifest = build_manifest(plan)
    mf.write_manifest(plan.out / "manifest.json", manifest)
    run_after(plan, manifest, workers, progress)  # pack, card: in their declared order
    return manifest


def _decontamination(plan: BuildPlan) -> dict:
    """The decontamination stage's report summary (its files sit beside the manifest), when it ran."""
    report = plan.out / "contamination.json"
    if not plan.recipe.stages.decontaminate.enabled or not report.is_file():
        return {}
    return {"decontamination": json.loads(report.read_text())}


def build_manifest(plan: BuildPlan) -> dict:
    r = plan.recipe
    logs = plan.work / "logs"
    stages, funnel = [], []
    for source in plan.sources:
        steps = mf.merge_steps(mf.read_task_stats(logs / source.name))
        stages.append({"stage": f"{source.name}: crawl + filter", "steps": steps})
        funnel += mf.funnel_rows(source.name, steps)
        if (logs / "decide" / source.name).is_dir():  # the thresholds on the crawl's scores
            steps = mf.merge_steps(mf.read_task_stats(logs / "decide" / source.name))
            stages.append({"stage": f"{source.name}: thresholds", "steps": steps})
            funnel += mf.funnel_rows(f"{source.name}: thresholds", steps)
    if r.stages.decontaminate.enabled:  # a side scan: its counts are stats, the funnel's are finalize's
        steps = mf.merge_steps(mf.read_task_stats(plan.work / "decontaminate" / "logs"))
        stages.append({"stage": "decontamination scan", "steps": steps})
    steps = mf.merge_steps(mf.read_task_stats(logs / "finalize"))
    stages.append({"stage": "finalize", "steps": steps})
    funnel += mf.funnel_rows("finalize", steps)
    shards = mf.shard_entries(plan.out, r.subsets)
    return {
        "proofpile_manifest": 1,
        "recipe": {"name": r.name, "path": str(plan.recipe_path), "resolved": dump(r)},
        "versions": mf.versions(),
        "inputs": {
            **{source.name: source.report(plan.work) for source in plan.sources},
            "errors": plan.input_errors,
            "failed": failed_inputs(plan),
        },
        "stages": stages,
        "funnel": funnel,
        **_decontamination(plan),
        "outputs": {
            "subsets": r.subsets,
            "documents": sum(s["rows"] for s in shards),
            "shards": shards,
        },
    }
