"""How each recipe source becomes build tasks: its input units, its reader, its lines in the manifest.

A new source (arXiv archives, Common Crawl WARCs) is one `plan_<name>` function registered in `PLANNERS`
under the same name as its section in `recipes.Sources`; the build runs sources in that section order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofpile.documents import loggable
from proofpile.failed_inputs import failed_folder
from proofpile.recipes import Recipe, RecipeError, resolve_relative
from proofpile.redact import redact_text, redact_tree, redact_url


@dataclass
class SourcePlan:
    name: str
    tasks: int  # one datatrove task per input unit, fixed by the inputs and never by --workers
    identity: Any  # what pins the inputs: a re-run with other inputs is a new build, not a resume
    make_reader: Callable[[Path], Any]  # (work dir) -> the datatrove reader step
    describe: list[str] = field(default_factory=list)  # --dry-run lines
    errors: list[str] = field(default_factory=list)  # bad input lines, reported and recorded, never fatal
    report: Callable[[Path], Any] = lambda work: None  # (work dir) -> this source's inputs in the manifest
    kind: str = ""  # its section in `recipes.Sources`; `name` is `<subset>/<kind>` in a whole-corpus build
    part: Any = None  # the (subset) build plan its per-document stages are configured by

    def __post_init__(self):
        # what is printed, recorded in the manifest or written to `_work/build.json` never holds a credential;
        # the reader keeps the raw URLs it needs to fetch
        self.identity = redact_tree(self.identity)
        self.describe = [loggable(redact_text(line)) for line in self.describe]
        self.errors = [loggable(redact_text(line)) for line in self.errors]


def plan_github(cfg, recipe: Recipe, recipe_path: Path) -> SourcePlan | None:
    from proofpile.sources.repo_manifest import parse_manifest

    repos, errors, seen = [], [], set()
    for ref in cfg.manifests:
        path = resolve_relative(recipe_path, ref)
        if not path.is_file():
            errors.append(f"{path}: manifest file not found")
            continue
        specs, bad = parse_manifest(path)
        errors.extend(str(e) for e in bad)
        for spec in specs:
            if (spec.url, spec.commit) not in seen:  # the same repo listed by two manifests is read once
                seen.add((spec.url, spec.commit))
                repos.append(spec)
    if not repos and not errors:
        return None

    def make_reader(work: Path):
        from proofpile.filters.code_rules import EXTENSIONS
        from proofpile.sources.github import GitHubReader

        return GitHubReader(repos, extensions=EXTENSIONS, workdir=cfg.workdir or str(work / "clones"),
                            subset=recipe.subset, max_repo_bytes=cfg.max_repo_bytes,
                            max_file_bytes=cfg.max_file_bytes, report_dir=str(work / "reports" / "github"),
                            failed_dir=str(failed_folder(work, source.name)))

    by_lang: dict[str, int] = {}
    for spec in repos:
        by_lang[spec.lang] = by_lang.get(spec.lang, 0) + 1
    describe = [f"github: {len(repos)} repositories " + json.dumps(dict(sorted(by_lang.items())))]
    describe += [f"  {spec.lang:9s} {spec.name}@{spec.commit or 'HEAD'}" for spec in repos[:10]]
    if len(repos) > 10:
        describe.append(f"  ... {len(repos) - 10} more")
    source = SourcePlan(
        name="github",
        tasks=len(repos),
        identity=[[r.url, r.commit, r.lang] for r in repos],
        make_reader=make_reader,
        describe=describe,
        errors=errors,
        report=lambda work: _repo_reports(repos, work / "reports" / "github"),
    )
    return source  # `make_reader` reads its final name (`<subset>/github` in a whole-corpus build)


def _repo_reports(repos: list, folder: Path) -> list[dict]:
    """Each repository as its task reported it: pinned and resolved commit, status, error, documents read."""
    reports: dict[tuple[str, str | None], dict] = {}
    for f in sorted(folder.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            rep = json.loads(line)
            reports[(rep["url"], rep["pinned"])] = rep
    out = []
    for spec in repos:
        rep = reports.get((redact_url(spec.url), spec.commit), {"status": "not run"})
        out.append({"name": spec.name, "url": redact_url(spec.url), "lang": spec.lang, "pinned": spec.commit,
                    **{k: v for k, v in rep.items() if k not in ("name", "url", "lang", "pinned")}})
    return out


def plan_stack(cfg, recipe: Recipe, recipe_path: Path) -> SourcePlan | None:
    if not cfg.langs:
        return None
    files = [f if "://" in f else str(resolve_relative(recipe_path, f)) for f in cfg.files]
    langs = list(cfg.langs)
    from proofpile.sources.stack import STACK_FILE_SUFFIXES

    if unsupported := [f for f in files if not f.endswith(STACK_FILE_SUFFIXES)]:  # before any task starts
        raise RecipeError(f"{recipe_path}: sources.stack.files: {loggable(redact_url(unsupported[0]))}: "
                          f"not one of {', '.join(STACK_FILE_SUFFIXES)}"
                          + (f" ({len(unsupported) - 1} more)" if len(unsupported) > 1 else ""))

    def make_reader(work: Path):
        from proofpile.sources.stack import StackReader

        if files:
            return StackReader(files=files, subset=recipe.subset, limit=cfg.limit)
        return StackReader(hub_langs=langs, dataset=cfg.dataset, revision=cfg.revision, subset=recipe.subset,
                           limit=cfg.limit)

    if files:
        describe = [f"the stack: {len(files)} files", *(f"  {f}" for f in files)]
    else:
        describe = [f"the stack: stream {cfg.dataset}@{cfg.revision} data/<lang> for {', '.join(langs)}"]
    return SourcePlan(
        name="stack",
        tasks=len(files) or len(langs),
        identity={"files": files, "hub_langs": [] if files else langs},
        make_reader=make_reader,
        describe=describe,
        report=lambda work: {"files": files, "hub_langs": [] if files else langs},
    )


def plan_arxiv(cfg, recipe: Recipe, recipe_path: Path) -> SourcePlan | None:
    """One task per bulk tar, per paper file or unpacked paper directory, and per batch of e-print ids."""
    from proofpile.sources.arxiv import Limits, plan_units

    if not cfg.paths and not cfg.ids:
        return None
    paths = [p if "://" in p else str(resolve_relative(recipe_path, p)) for p in cfg.paths]
    units, errors = plan_units(paths, list(cfg.ids), cfg.ids_per_task)
    metadata = cfg.metadata
    if metadata and "://" not in metadata:
        metadata = str(resolve_relative(recipe_path, metadata))
    limits = Limits(max_paper_bytes=cfg.max_paper_bytes, max_ratio=cfg.max_ratio, max_files=cfg.max_files,
                    max_file_bytes=cfg.max_file_bytes)

    def make_reader(work: Path):
        from proofpile.sources.arxiv import ArxivReader

        return ArxivReader(units, subset=recipe.subset, limits=limits, metadata=metadata,
                           categories=cfg.categories, licenses=cfg.licenses, eprint_url=cfg.eprint_url,
                           request_interval=cfg.request_interval, retries=cfg.retries, deadline=cfg.deadline,
                           failed_dir=str(failed_folder(work, source.name)))

    kinds: dict[str, int] = {}
    for u in units:
        kinds[u.kind] = kinds.get(u.kind, 0) + 1
    describe = [f"arxiv: {len(units)} tasks " + json.dumps(dict(sorted(kinds.items())))
                + (f", {len(cfg.ids)} e-print ids from {cfg.eprint_url}" if cfg.ids else "")]
    describe += [f"  {u.kind:5s} {u.path or ', '.join(u.ids[:3]) + ('...' if len(u.ids) > 3 else '')}"
                 for u in units[:10]]
    if len(units) > 10:
        describe.append(f"  ... {len(units) - 10} more")
    describe.append(f"  clean: {cfg.clean.mode}" + (f"; categories {cfg.categories}" if cfg.categories else ""))
    identity = {"units": [[u.kind, u.path, list(u.ids)] for u in units], "metadata": metadata}
    source = SourcePlan(
        name="arxiv",
        tasks=len(units),
        identity=identity,
        make_reader=make_reader,
        describe=describe,
        errors=errors,
        report=lambda work: identity,
    )
    return source


def plan_commoncrawl(cfg, recipe: Recipe, recipe_path: Path) -> SourcePlan | None:
    """One task per WARC file. The crawl's list is fetched here, so --dry-run shows the exact files."""
    from proofpile.sources.commoncrawl import WarcListError, list_warc_files

    def local(ref: str) -> str:
        return ref if "://" in ref else str(resolve_relative(recipe_path, ref))

    paths_file = local(cfg.paths_file) if cfg.paths_file else None
    http = {"retries": cfg.retries, "timeout": cfg.timeout}
    try:
        files = list_warc_files([local(f) for f in cfg.files], paths_file, cfg.crawl, cfg.base_url, cfg.max_files,
                                **http)
        errors = []
    except WarcListError as e:
        files, errors = [], [str(e)]
    origin = "files" if cfg.files else paths_file or f"{cfg.crawl} ({cfg.base_url})"

    def make_reader(work: Path):
        from proofpile.sources.commoncrawl import CommonCrawlReader, allowed_schemes, paths_list_url

        # files from a list a server sent may only be http(s) URLs (a local list or `files` may name anything)
        listed_by = None if cfg.files else paths_file or (cfg.crawl and paths_list_url(cfg.crawl, cfg.base_url))
        return CommonCrawlReader(files, crawl=cfg.crawl, subset=recipe.subset, max_body_bytes=cfg.max_body_bytes,
                                 deadline=cfg.deadline, max_file_bytes=cfg.max_file_bytes,
                                 only_schemes=allowed_schemes(listed_by),
                                 failed_dir=str(failed_folder(work, source.name)), **http)

    describe = [f"commoncrawl: {len(files)} WARC files from {origin}", *(f"  {f}" for f in files[:10])]
    if len(files) > 10:
        describe.append(f"  ... {len(files) - 10} more")
    identity = {"crawl": cfg.crawl, "files": files}
    source = SourcePlan(
        name="commoncrawl",
        tasks=len(files),
        identity=identity,
        make_reader=make_reader,
        describe=describe,
        errors=errors,
        report=lambda work: {"crawl": cfg.crawl, "from": origin, "files": files},
    )
    return source


PLANNERS: dict[str, Callable[[Any, Recipe, Path], SourcePlan | None]] = {
    "github": plan_github,
    "stack": plan_stack,
    "arxiv": plan_arxiv,
    "commoncrawl": plan_commoncrawl,
}
