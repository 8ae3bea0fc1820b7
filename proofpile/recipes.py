"""Typed recipes: one YAML file per subset, validated once, with errors that name the file and the key.

A recipe says *what* to build (sources, stage parameters, output layout); the CLI's `--workers` and the
executor say *how fast*, and are deliberately not part of it, so the same recipe gives the same bytes on any
machine.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, create_model,
                      field_validator, model_serializer, model_validator)
from pydantic_core import PydanticCustomError

from proofpile.custom_steps import CustomStep
from proofpile.errors import ProofpileError
from proofpile.stage_registry import declared, names
from proofpile.filters.langid import LID_176_URL  # noqa: F401 (the langid stage's default, known here since 0.1)

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPE_DIRS = (Path("recipes"), REPO_ROOT / "recipes")

class RecipeError(ProofpileError, ValueError):
    """One line: `<file>: <key>: <what is wrong>`."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class GitHubSource(_Model):
    manifests: list[str] = Field(default_factory=list, description="manifest files, relative to the recipe's repo")
    max_repo_bytes: int = Field(2 * 2**30, gt=0)
    max_file_bytes: int = Field(2 * 1_048_575, gt=0, description="files above this are not even read")
    workdir: str | None = Field(None, description="where clones go; default <out>/_work/clones")


class StackSource(_Model):
    langs: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list, description="local Parquet/JSONL shaped like The Stack; empty = the Hub")
    dataset: str = "bigcode/the-stack-dedup"
    revision: str = "v1.2"
    limit: int = -1


class LatexClean(_Model):
    """How arXiv projects become text (proofpile.extract.latex); `redpajama` reproduces the original corpus."""

    mode: Literal["proofpile", "redpajama"] = "proofpile"
    keep_appendix: bool = True
    inline_bbl: bool = Field(False, description="replace \\bibliography by the paper's .bbl and keep it")
    expand_macros: bool = True
    max_macro_depth: int = Field(12, gt=0)
    max_expansions: int = Field(100_000, gt=0)
    max_inline_bytes: int = Field(32 * 2**20, gt=0, description="characters of \\input files inlined per paper")
    max_inlines: int = Field(5_000, gt=0, description="files inlined per paper, repeats counted")


class ArxivSource(_Model):
    paths: list[str] = Field(default_factory=list, description="bulk .tar, <id>.gz papers, directories, s3:// URLs")
    ids: list[str] = Field(default_factory=list, description="arXiv ids fetched from eprint_url")
    eprint_url: str = "https://arxiv.org/e-print/{id}"
    request_interval: float = Field(3.0, ge=0.0, description="seconds between e-print requests")
    retries: int = Field(3, ge=0)
    deadline: float = Field(300.0, gt=0, description="seconds per e-print request, first byte to last")
    ids_per_task: int = Field(100, gt=0)
    metadata: str | None = Field(None, description="OAI snapshot JSON lines (id, categories, license, versions)")
    categories: list[str] = Field(default_factory=list, description="globs, e.g. math.*; empty = all")
    licenses: list[str] = Field(default_factory=list, description="globs on the license URL; empty = all")
    max_paper_bytes: int = Field(256 * 2**20, gt=0, description="uncompressed, per paper")
    max_ratio: float = Field(100.0, gt=1.0, description="uncompressed / compressed above 1 MiB")
    max_files: int = Field(10_000, gt=0)
    max_file_bytes: int = Field(32 * 2**20, gt=0)
    clean: LatexClean = Field(default_factory=LatexClean)


class CommonCrawlSource(_Model):
    """WARC files: explicit `files`, else those listed in `paths_file`, else the crawl's warc.paths.gz."""

    crawl: str | None = Field(None, pattern=r"^CC-MAIN-\d{4}-\d{2}$", description="crawl id, e.g. CC-MAIN-2023-06")
    base_url: str = Field("https://data.commoncrawl.org/", description="prefix of relative WARC paths")
    paths_file: str | None = Field(None, description="a warc.paths(.gz) file, local or URL")
    files: list[str] = Field(default_factory=list, description="WARC paths or URLs (local, http(s), any fsspec)")
    max_files: int | None = Field(None, gt=0, description="only the first N files of the list")
    max_body_bytes: int = Field(5 * 2**20, gt=0, description="larger HTTP bodies are skipped, counted")
    retries: int = Field(5, ge=0, description="reconnections in a row before a file is given up")
    timeout: float = Field(60.0, gt=0)
    deadline: float = Field(3 * 3600.0, gt=0, description="seconds to read one WARC file over HTTP, resumes included")
    max_file_bytes: int = Field(8 * 2**30, gt=0, description="bytes of one WARC file read over HTTP")


class Sources(_Model):
    github: GitHubSource | None = None
    stack: StackSource | None = None
    arxiv: ArxivSource | None = None
    commoncrawl: CommonCrawlSource | None = None


class _StagesBase(_Model):
    """Every stage is off unless the recipe enables it. The fields, one per stage in run order, are made from
    the stage declarations (proofpile.stage_registry): a stage is declared in one place, next to its step.
    `custom` lists the recipe's own datatrove steps (proofpile.custom_steps)."""

    @model_serializer(mode="wrap")
    def _omit_new_defaults(self, handler):
        # a recipe that does not use what was added later (its own steps, a stage declared with omit_default)
        # dumps as before: the same manifest, the same build identity, so existing builds still resume
        data = handler(self)
        if not data.get("custom"):
            data.pop("custom", None)
        for spec in declared():
            if spec.omit_default and getattr(self, spec.name) == spec.config():
                data.pop(spec.name, None)
        return data


Stages = create_model("Stages", __base__=_StagesBase,
                      **{s.name: (s.config, Field(default_factory=s.config)) for s in declared()},
                      custom=(list[CustomStep], Field(default_factory=list, description="the recipe's own steps")))


class Split(_Model):
    seed: int = 0
    validation: float = Field(0.005, ge=0.0, lt=1.0)
    test: float = Field(0.005, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _fractions(self) -> "Split":
        if self.validation + self.test >= 1.0:
            raise ValueError("validation + test must be below 1")
        return self


class Output(_Model):
    split: Split = Field(default_factory=Split)
    max_shard_bytes: int = Field(256 * 2**20, gt=0, description="text bytes per shard before a new one starts")
    row_group_rows: int = Field(1000, gt=0)
    row_group_bytes: int = Field(32 * 2**20, gt=0, description="text bytes per row group (the Hub viewer reads one at a time)")
    lang_in_name: bool = Field(False, description="shards per language: data/<subset>/<split>-<lang>-NNNNN-of-MMMMM.parquet")
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    compression_level: int | None = 3


class Include(_Model):
    """A subset recipe built as part of a whole corpus: its sources and per-document stages are used, its
    whole-corpus stages (dedup, decontamination, pack) and output give way to the including recipe's."""

    recipe: str = Field(description="a shipped recipe name or a path relative to the project root")
    set: list[str] = Field(default_factory=list, description="overrides for that recipe, as with --set")


#: stages that run per document inside crawl tasks: a `--set` on a whole-corpus recipe goes to the included
#: recipes for these (and for sources); everything else configures the whole corpus
PER_DOCUMENT_STAGES = tuple(names("per_document"))


class Executor(_Model):
    """*How* a build runs (proofpile.executors), never *what* it builds: not part of the build's identity."""

    kind: Literal["local", "ray", "slurm"] = "local"
    workers: int | None = Field(None, ge=1, description="tasks at once (Slurm: array throttle); default --workers")
    tasks_per_job: int = Field(1, ge=1, description="datatrove tasks per Ray job / Slurm array element")
    cpus_per_task: int = Field(1, ge=1)
    mem_per_cpu_gb: float = Field(2.0, gt=0)
    ray_address: str | None = Field(None, description="an existing Ray cluster (ray://host:10001, auto); none = start one")
    partition: str | None = Field(None, description="Slurm partition (required by --executor slurm)")
    time: str = Field("24:00:00", description="Slurm time limit per job")
    qos: str | None = None
    env_command: str | None = Field(None, description="shell line that makes `proofpile` runnable on the nodes")
    venv_path: str | None = Field(None, description="a venv (or its bin/activate) on the shared filesystem")
    sbatch_args: dict[str, str | int] = Field(default_factory=dict, description="more #SBATCH options")
    job_name_prefix: str = "proofpile"
    final_cpus: int | None = Field(None, ge=1, description="CPUs of the final Slurm job; default cpus_per_task")


class Recipe(_Model):
    name: str
    subset: str | None = None
    description: str = ""
    include: list[Include] = Field(default_factory=list)
    sources: Sources = Field(default_factory=Sources)
    stages: Stages = Field(default_factory=Stages)
    output: Output = Field(default_factory=Output)
    executor: Executor = Field(default_factory=Executor)
    _parts: list[tuple["Recipe", Path]] = PrivateAttr(default_factory=list)

    @field_validator("subset")
    @classmethod
    def _slug(cls, v: str | None) -> str | None:
        if v is not None and (not v or "/" in v or v.startswith(".")):
            raise ValueError("must be a plain directory name")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> "Recipe":
        has_sources = any(getattr(self.sources, n) is not None for n in Sources.model_fields)
        if self.include and (has_sources or self.subset):
            raise ValueError("a recipe with include: takes its subsets and sources from the included recipes")
        if not self.include and not self.subset:
            raise ValueError("subset: required (or include: other recipes)")
        return self

    @field_validator("stages")
    @classmethod
    def _per_document_in_parts(cls, v, info: ValidationInfo):
        if info.data.get("include"):  # no crawl task of a whole-corpus recipe reads its own per-document stages
            for name in PER_DOCUMENT_STAGES:
                if getattr(v, name).enabled:
                    raise PydanticCustomError(
                        "per_document_stage", "{name} runs per document, in the included recipes' crawl tasks: "
                        "enable it there (or with --set {name}.enabled=true, which reaches them)", {"name": name})
            for step in v.custom:
                if step.enabled and step.where == "per_document":
                    raise PydanticCustomError(
                        "per_document_stage", "custom: {step} runs per document, in the included recipes' crawl "
                        "tasks: list it in the included recipe", {"step": step.step})
        return v

    def parts(self, path: Path) -> list[tuple["Recipe", Path]]:
        """(subset recipe, its file) for each subset this recipe builds."""
        return list(self._parts) if self.include else [(self, path)]

    @property
    def subsets(self) -> list[str]:
        return [r.subset for r, _ in self._parts] if self.include else [self.subset]


def find_recipe(name_or_path: str) -> Path:
    """A path to a YAML file, or the name of a shipped recipe (`algebraic-stack`)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise RecipeError(f"{p}: recipe file not found")
        return p
    for d in RECIPE_DIRS:
        cand = d / f"{name_or_path}.yaml"
        if cand.is_file():
            return cand
    known = sorted({c.stem for d in RECIPE_DIRS if d.is_dir() for c in d.glob("*.yaml")})
    raise RecipeError(f"{name_or_path}: no such recipe (known: {', '.join(known) or 'none'})")


def _full_keys(dotted: str) -> list[str]:
    keys = dotted.split(".")
    # `--set langid.model=...` is short for `stages.langid.model`, as users think in stages, not in the YAML tree
    if keys[0] not in Recipe.model_fields:
        for section, model in (("stages", Stages), ("sources", Sources), ("output", Output)):
            if keys[0] in model.model_fields:
                return [section, *keys]
    return keys


def _set_dotted(data: dict, dotted: str, value: Any, origin: str) -> None:
    keys = _full_keys(dotted)
    node = data
    for k in keys[:-1]:
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            raise RecipeError(f"{origin}: {dotted}: '{k}' is not a section")
        node = nxt
    node[keys[-1]] = value


def parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise RecipeError(f"--set {item}: expected key.path=value")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _format_error(origin: str, err: ValidationError, at: tuple[str, ...] = ()) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in (*at, *first["loc"])) or "<top>"
    msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{origin}: {loc}: {msg}{more}"


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise RecipeError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys, got {type(data).__name__}")
    return data


def _goes_to_parts(item: str) -> bool:
    keys = _full_keys(parse_override(item)[0])
    return keys[0] == "sources" or (keys[0] == "stages" and len(keys) > 1 and keys[1] in PER_DOCUMENT_STAGES)


def load_recipe(name_or_path: str, overrides: list[str] | tuple[str, ...] = ()) -> tuple[Recipe, Path]:
    path = find_recipe(name_or_path)
    data = copy.deepcopy(_read_yaml(path))
    composite = bool(data.get("include"))
    for item in overrides:
        if composite and _goes_to_parts(item):
            continue  # passed on to the included recipes below
        key, value = parse_override(item)
        _set_dotted(data, key, value, f"--set {item}")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as e:
        raise RecipeError(_format_error(str(path), e)) from None
    for inc in recipe.include:
        recipe._parts.append(_load_part(path, inc, [o for o in overrides if _goes_to_parts(o)]))
    subsets = [r.subset for r, _ in recipe._parts]
    if len(set(subsets)) != len(subsets):
        raise RecipeError(f"{path}: include: two included recipes build the same subset ({', '.join(subsets)})")
    return recipe, path


def with_crawl(recipe: Recipe, path: Path, crawl: str | None, max_files: int | None) -> tuple[Recipe, list[str]]:
    """`--crawl`/`--max-files`, shorthands for the commoncrawl source's fields (`--crawl` replaces any other WARC
    list), applied to a loaded recipe; returns it and the same change as `--set` items (a Slurm job's command)."""
    web = {"crawl": crawl, "paths_file": None, "files": []} if crawl else {}
    web |= {"max_files": max_files} if max_files is not None else {}
    if not web:
        return recipe, []
    cc = recipe.sources.commoncrawl
    if cc is None:
        raise RecipeError(f"{path}: --crawl/--max-files: this recipe has no commoncrawl source")
    try:
        source = CommonCrawlSource.model_validate({**cc.model_dump(), **web})
    except ValidationError as e:
        raise RecipeError(_format_error(str(path), e, at=("sources", "commoncrawl"))) from None
    recipe = recipe.model_copy(update={"sources": recipe.sources.model_copy(update={"commoncrawl": source})})
    return recipe, [f"commoncrawl.{k}={'null' if v is None else v}" for k, v in web.items()]


def _load_part(path: Path, inc: Include, passed: list[str]) -> tuple[Recipe, Path]:
    ref = inc.recipe
    if ref.endswith((".yaml", ".yml")) and not Path(ref).is_absolute():
        ref = str(resolve_relative(path, ref))
    part_path = find_recipe(ref)
    part_data = _read_yaml(part_path)
    # checked before the part is loaded: loading it would follow its own includes, and a cycle never ends
    if part_data.get("include") or any(parse_override(o)[0].split(".")[0] == "include" for o in inc.set):
        raise RecipeError(f"{path}: include: {inc.recipe} includes other recipes itself; include subset recipes only")
    sources = part_data.get("sources") or {}
    # a source override only reaches the recipes that read that source: `arxiv.paths=...` must not give
    # AlgebraicStack an arXiv source
    passed = [o for o in passed if (k := _full_keys(parse_override(o)[0]))[0] != "sources" or sources.get(k[1])]
    return load_recipe(str(part_path), [*inc.set, *passed])


def resolve_relative(recipe_path: Path, ref: str) -> Path:
    """Manifest and input paths in a recipe are relative to the project root that holds `recipes/`."""
    p = Path(ref).expanduser()
    if p.is_absolute():
        return p
    base = recipe_path.resolve().parent
    root = base.parent if base.name == "recipes" else base
    return root / p


def dump(recipe: Recipe) -> dict:
    """The resolved recipe as plain data; an included recipe is resolved in place, so editing it is seen as a
    change of the whole-corpus recipe too."""
    data = recipe.model_dump(mode="json")
    for inc, (part, _) in zip(data["include"], recipe._parts):
        inc["resolved"] = dump(part)
    return data
