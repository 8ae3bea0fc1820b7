"""Recipe -> datatrove pipelines -> executor; then the run manifest and the funnel.

A build runs in two stages:

1. *crawl + filter*, one datatrove task per input unit (a repository, a Stack file): each task fetches,
   filters and writes its survivors to `_work/<source>/rNNNNN-*.parquet`. Tasks are fixed by the inputs,
   never by `--workers`, so worker count changes speed only. datatrove's completion markers make a re-run do
   only the tasks that did not finish.
2. *finalize*, one task: read the task files in input order, chunk-exact dedup (order-dependent, hence one
   task), assign splits, write the corpus shards. It is cheap next to crawling, so an interrupted finalize is
   simply redone from the task files.

Everything a build writes stays under `--out`.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from proofpile import manifest as mf
from proofpile.logs import quiet_datatrove
from proofpile.recipes import Recipe, RecipeError, dump, resolve_relative
from proofpile.shards import remove_stale
from proofpile.shard_io import RankWriter, ShardReader, ShardWriter, rank_files

WORK = "_work"


@dataclass
class BuildPlan:
    recipe: Recipe
    recipe_path: Path
    out: Path
    repos: list = field(default_factory=list)  # proofpile.sources.repo_manifest.RepoSpec
    manifest_errors: list[str] = field(default_factory=list)
    stack_files: list[str] = field(default_factory=list)
    stack_hub_langs: list[str] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return self.out / WORK

    def sources(self) -> list[tuple[str, int]]:
        """(source name, number of tasks), in the fixed order the finalize stage reads them."""
        out = []
        if self.repos:
            out.append(("github", len(self.repos)))
        if self.stack_files or self.stack_hub_langs:
            out.append(("stack", len(self.stack_files) or len(self.stack_hub_langs)))
        return out

    def identity(self) -> dict:
        """What must match for a re-run into the same directory to be a resume rather than a new build."""
        return {
            "recipe": dump(self.recipe),
            "repos": [[r.url, r.commit, r.lang] for r in self.repos],
            "stack_files": self.stack_files,
            "stack_hub_langs": self.stack_hub_langs,
        }


def plan_build(recipe: Recipe, recipe_path: Path, out: Path, sample: bool = False) -> BuildPlan:
    from proofpile.sources.repo_manifest import parse_manifest

    out = out.resolve()
    if sample:
        recipe = _with_sample_inputs(recipe, out / WORK / "sample")
    plan = BuildPlan(recipe=recipe, recipe_path=recipe_path, out=out)
    gh = recipe.sources.github
    if gh is not None:
        seen = set()
        for ref in gh.manifests:
            path = resolve_relative(recipe_path, ref)
            if not path.is_file():
                plan.manifest_errors.append(f"{path}: manifest file not found")
                continue
            specs, errors = parse_manifest(path)
            plan.manifest_errors.extend(str(e) for e in errors)
            for spec in specs:
                if (spec.url, spec.commit) not in seen:  # the same repo listed by two manifests is read once
                    seen.add((spec.url, spec.commit))
                    plan.repos.append(spec)
    st = recipe.sources.stack
    if st is not None and st.langs:
        if st.files:
            plan.stack_files = [str(resolve_relative(recipe_path, f)) for f in st.files]
        else:
            plan.stack_hub_langs = list(st.langs)
    return plan


def _with_sample_inputs(recipe: Recipe, dest: Path) -> Recipe:
    """The bundled sample: small real git repositories and a Stack-shaped Parquet file made on the spot."""
    from proofpile.samples import create_sample_inputs

    inputs = create_sample_inputs(dest)
    recipe = recipe.model_copy(deep=True)
    if recipe.sources.github is not None:
        recipe.sources.github.manifests = [str(p) for _, p in sorted(inputs.manifests.items())]
    if recipe.sources.stack is not None:
        recipe.sources.stack.files = [str(p) for p in inputs.stack_files]
    return recipe


def describe(plan: BuildPlan) -> str:
    """The resolved plan `--dry-run` prints: recipe, inputs, stages in order, output layout."""
    r = plan.recipe
    lines = [f"# recipe {r.name} ({plan.recipe_path})", yaml.safe_dump(dump(r), sort_keys=False).rstrip(), ""]
    lines.append("# inputs")
    by_lang: dict[str, int] = {}
    for spec in plan.repos:
        by_lang[spec.lang] = by_lang.get(spec.lang, 0) + 1
    lines.append(f"github: {len(plan.repos)} repositories " + json.dumps(dict(sorted(by_lang.items()))))
    for spec in plan.repos[:10]:
        lines.append(f"  {spec.lang:9s} {spec.name}@{spec.commit or 'HEAD'}")
    if len(plan.repos) > 10:
        lines.append(f"  ... {len(plan.repos) - 10} more")
    if plan.stack_files:
        lines.append(f"the stack: {len(plan.stack_files)} local files")
        lines.extend(f"  {f}" for f in plan.stack_files)
    elif plan.stack_hub_langs:
        st = r.sources.stack
        lines.append(f"the stack: stream {st.dataset}@{st.revision} data/<lang> for {', '.join(plan.stack_hub_langs)}")
    for err in plan.manifest_errors:
        lines.append(f"manifest error: {err}")
    lines += ["", "# stages"]
    for source, tasks in plan.sources():
        steps = " -> ".join(s.name for s in _filter_steps(plan, source, dry=True))
        lines.append(f"1. {source}: {tasks} tasks: read -> {steps} -> {WORK}/{source}/")
    final = ["read task files in input order"]
    if r.stages.exact_dedup.enabled:
        final.append(f"chunk-exact dedup ({r.stages.exact_dedup.chunk_chars} chars)")
    sp = r.output.split
    final += [f"split (seed {sp.seed}, validation {sp.validation}, test {sp.test})", "write shards"]
    lines.append("2. finalize: 1 task: " + " -> ".join(final))
    lines += ["", "# output", f"{plan.out}/{r.subset}/<split>/<lang>-NNNNN.parquet ({r.output.compression}, "
              f"<= {r.output.max_shard_bytes:,} text bytes per shard)", f"{plan.out}/manifest.json"]
    return "\n".join(lines)


def _filter_steps(plan: BuildPlan, source: str, dry: bool = False) -> list:
    from proofpile.extract.notebook import NotebookToMarkdown
    from proofpile.filters.code_rules import CodeRulesFilter
    from proofpile.filters.langid import LanguageIdFilter
    from proofpile.filters.select import LanguageSelect

    st = plan.recipe.stages
    steps: list = []
    if source == "stack" and plan.recipe.sources.stack is not None:
        steps.append(LanguageSelect(plan.recipe.sources.stack.langs))
    if st.notebook.enabled:
        steps.append(NotebookToMarkdown())
    if st.code_rules.enabled:
        steps.append(CodeRulesFilter(languages=st.code_rules.languages))
    if st.langid.enabled:
        model = st.langid.model
        if not dry and "://" not in model:
            model = str(resolve_relative(plan.recipe_path, model)) if not Path(model).is_absolute() else model
        steps.append(LanguageIdFilter(model=model, languages=st.langid.languages, keep=st.langid.keep,
                                      threshold=st.langid.threshold))
    return steps


def _reader(plan: BuildPlan, source: str):
    r = plan.recipe
    if source == "github":
        from proofpile.filters.code_rules import EXTENSIONS
        from proofpile.sources.github import GitHubReader

        gh = r.sources.github
        workdir = gh.workdir or str(plan.work / "clones")
        return GitHubReader(plan.repos, extensions=EXTENSIONS, workdir=workdir, subset=r.subset,
                            max_repo_bytes=gh.max_repo_bytes, max_file_bytes=gh.max_file_bytes,
                            report_dir=str(plan.work / "reports" / "github"))
    from proofpile.sources.stack import StackReader

    st = r.sources.stack
    if plan.stack_files:
        return StackReader(files=plan.stack_files, subset=r.subset, limit=st.limit)
    return StackReader(hub_langs=plan.stack_hub_langs, dataset=st.dataset, revision=st.revision,
                       subset=r.subset, limit=st.limit)


def _check_identity(plan: BuildPlan) -> None:
    marker = plan.work / "build.json"
    ident = json.dumps(plan.identity(), sort_keys=True, indent=1)
    if marker.is_file():
        if marker.read_text() != ident:
            raise RecipeError(f"{plan.out}: holds a build of another recipe or other inputs; "
                              f"use a new --out, or delete it to start over")
    else:
        plan.work.mkdir(parents=True, exist_ok=True)
        marker.write_text(ident)


class _Progress:
    """A bar over finished tasks, fed by datatrove's completion markers so it works with any executor."""

    def __init__(self, desc: str, folder: Path, total: int, enabled: bool):
        self.folder, self.total, self.enabled, self.desc = folder, total, enabled, desc
        self._stop = threading.Event()

    def _count(self) -> int:
        return len(list(self.folder.glob("*"))) if self.folder.is_dir() else 0

    def _loop(self) -> None:
        from tqdm import tqdm

        with tqdm(total=self.total, desc=self.desc, unit="task", initial=self._count()) as bar:
            while not self._stop.wait(0.5):
                bar.update(self._count() - bar.n)
            bar.update(self._count() - bar.n)

    def __enter__(self):
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop.set()
            self._thread.join()


def _local_executor_class():
    from datatrove.executor import LocalPipelineExecutor

    class QuietLocalExecutor(LocalPipelineExecutor):
        """datatrove's local executor, logging to the terminal at WARNING in every worker process."""

        def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
            quiet_datatrove()
            return super()._run_for_rank(rank, local_rank, node_rank)

    return QuietLocalExecutor


def _execute(pipeline: list, tasks: int, workers: int, logging_dir: Path, desc: str, progress: bool) -> None:
    executor = _local_executor_class()(
        pipeline=pipeline,
        tasks=tasks,
        workers=max(1, min(workers, tasks)),
        logging_dir=str(logging_dir),
        skip_completed=True,
    )
    with _Progress(desc, logging_dir / "completions", tasks, progress):
        executor.run()
    missing = executor.get_incomplete_ranks(range(tasks), skip_completed=True)
    if missing:
        raise RuntimeError(f"{desc}: {len(missing)} of {tasks} tasks did not finish (see {logging_dir}/logs)")


def run_build(plan: BuildPlan, workers: int = 1, progress: bool = True) -> dict:
    """Run (or resume) the build; returns the manifest it wrote to `<out>/manifest.json`."""
    _check_identity(plan)
    quiet_datatrove()
    r = plan.recipe
    logs = plan.work / "logs"
    task_files: list[str] = []
    for source, tasks in plan.sources():
        folder = plan.work / source
        folder.mkdir(parents=True, exist_ok=True)
        pipeline = [_reader(plan, source), *_filter_steps(plan, source), RankWriter(str(folder))]
        _execute(pipeline, tasks, workers, logs / source, f"{source}: crawl + filter", progress)
        task_files += [str(p) for rank in range(tasks) for p in rank_files(folder, rank)]

    finalize_logs = logs / "finalize"
    if not (finalize_logs / "completions" / "00000").is_file():
        subset_dir = plan.out / r.subset
        if subset_dir.is_dir():  # an interrupted finalize: its shards are rewritten from the task files
            shutil.rmtree(subset_dir)
        remove_stale(plan.out)
    pipeline = [ShardReader(task_files)]
    if r.stages.exact_dedup.enabled:
        from proofpile.dedup.exact import ChunkDedupFilter

        pipeline.append(ChunkDedupFilter(chunk_chars=r.stages.exact_dedup.chunk_chars))
    from proofpile.split import SplitTagger

    sp = r.output.split
    pipeline.append(SplitTagger(seed=sp.seed, validation=sp.validation, test=sp.test))
    o = r.output
    pipeline.append(ShardWriter(str(plan.out), max_shard_bytes=o.max_shard_bytes, row_group_rows=o.row_group_rows,
                                compression=o.compression, compression_level=o.compression_level))
    _execute(pipeline, 1, 1, finalize_logs, "finalize", progress)

    manifest = build_manifest(plan)
    mf.write_manifest(plan.out / "manifest.json", manifest)
    return manifest


def build_manifest(plan: BuildPlan) -> dict:
    r = plan.recipe
    logs = plan.work / "logs"
    stages, funnel = [], []
    for source, _ in plan.sources():
        steps = mf.merge_steps(mf.read_task_stats(logs / source))
        stages.append({"stage": f"{source}: crawl + filter", "steps": steps})
        funnel += mf.funnel_rows(source, steps)
    steps = mf.merge_steps(mf.read_task_stats(logs / "finalize"))
    stages.append({"stage": "finalize", "steps": steps})
    funnel += mf.funnel_rows("finalize", steps)
    shards = mf.shard_entries(plan.out, r.subset)
    return {
        "proofpile_manifest": 1,
        "recipe": {"name": r.name, "path": str(plan.recipe_path), "resolved": dump(r)},
        "versions": mf.versions(),
        "inputs": {
            "github": _repo_inputs(plan),
            "stack": {"files": plan.stack_files, "hub_langs": plan.stack_hub_langs},
            "manifest_errors": plan.manifest_errors,
        },
        "stages": stages,
        "funnel": funnel,
        "outputs": {
            "documents": sum(s["rows"] for s in shards),
            "shards": shards,
        },
    }


def _repo_inputs(plan: BuildPlan) -> list[dict]:
    """Each repository as its task reported it: pinned and resolved commit, status, error, documents read."""
    reports: dict[tuple[str, str | None], dict] = {}
    for f in sorted((plan.work / "reports" / "github").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            rep = json.loads(line)
            reports[(rep["url"], rep["pinned"])] = rep
    out = []
    for spec in plan.repos:
        rep = reports.get((spec.url, spec.commit), {"status": "not run"})
        out.append({"name": spec.name, "url": spec.url, "lang": spec.lang, "pinned": spec.commit,
                    **{k: v for k, v in rep.items() if k not in ("name", "url", "lang", "pinned")}})
    return out
