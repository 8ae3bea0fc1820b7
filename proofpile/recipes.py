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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPE_DIRS = (Path("recipes"), REPO_ROOT / "recipes")

#: where the default fastText language-ID model is fetched from when the recipe names no local file
LID_176_URL = "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin"


class RecipeError(ValueError):
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


class ArxivSource(_Model):
    paths: list[str] = Field(default_factory=list, description="bulk .tar, <id>.gz papers, directories, s3:// URLs")
    ids: list[str] = Field(default_factory=list, description="arXiv ids fetched from eprint_url")
    eprint_url: str = "https://arxiv.org/e-print/{id}"
    request_interval: float = Field(3.0, ge=0.0, description="seconds between e-print requests")
    retries: int = Field(3, ge=0)
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


class Sources(_Model):
    github: GitHubSource | None = None
    stack: StackSource | None = None
    arxiv: ArxivSource | None = None
    commoncrawl: CommonCrawlSource | None = None


class NotebookStage(_Model):
    enabled: bool = False


class CodeRulesStage(_Model):
    enabled: bool = False
    languages: list[str] | None = None


class LangIdStage(_Model):
    enabled: bool = False
    model: str = LID_176_URL
    languages: list[str] | None = Field(default_factory=lambda: ["tex"], description="empty/null = every document")
    keep: list[str] = Field(default_factory=lambda: ["en"])
    threshold: float = Field(0.5, ge=0.0, le=1.0)


class PrefilterStage(_Model):
    """OpenWebMath stage 1, on raw HTML (proofpile.filters.math_prefilter)."""

    enabled: bool = False
    min_chars: int = Field(500, ge=0, description="pages with no math signal longer than this go to the classifier")


class ExtractStage(_Model):
    """Math-preserving HTML extraction (proofpile.extract.html_math)."""

    enabled: bool = False
    min_chars: int = Field(0, ge=0)
    timeout: float = Field(30.0, gt=0, description="seconds per page before it is dropped")


class MathClassifierStage(_Model):
    enabled: bool = False
    model: str | None = Field(None, description="fastText MathScore model; none = the one shipped in the package")
    threshold_math: float = Field(0.17, ge=0.0, le=1.0, description="when the extractor found math")
    threshold_nomath: float = Field(0.8, ge=0.0, le=1.0, description="when it found none")


class QualityStage(_Model):
    enabled: bool = False
    min_chars: int = Field(100, ge=0)
    max_accented_ratio: float = Field(0.015, ge=0.0, le=1.0)
    url_blocklist: list[str] = Field(default_factory=list, description="domains (with subdomains) or URL substrings")
    url_blocklist_files: list[str] = Field(default_factory=list, description="files of such entries, # comments")
    kenlm_model: str | None = Field(None, description="KenLM model for the perplexity cut; none = no cut")
    max_perplexity: float = Field(15_000, gt=0)


class ExactDedupStage(_Model):
    enabled: bool = False
    chunk_chars: int = Field(2048, gt=0)


class NearDedupStage(_Model):
    """MinHash LSH near-duplicate removal on the finalize input (proofpile.dedup.near); the default 12 bands
    x 10 rows make a pair a candidate with probability 1-(1-s^10)^12: 50% at Jaccard 0.75."""

    enabled: bool = False
    ngram: int = Field(5, ge=1, description="words per shingle")
    bands: int = Field(12, ge=1)
    rows: int = Field(10, ge=1)
    seed: int = 1
    priority: list[str] = Field(default_factory=lambda: ["arxiv", "open-web-math", "algebraic-stack"],
                                description="subsets in survivor order; then the lowest id survives")


class DecontaminateStage(_Model):
    enabled: bool = False
    benchmarks: list[str] = Field(default_factory=lambda: ["math", "gsm8k"])
    files: dict[str, str] = Field(default_factory=dict, description="benchmark -> local JSONL/Parquet; else the Hub")
    ngram: int = Field(13, ge=2)
    mask_numbers: bool = False
    report_only: bool = False
    max_items_per_ngram: int = Field(3, ge=1)
    min_item_tokens: int = Field(8, ge=1)


class PackStage(_Model):
    """Token files after finalize (proofpile.pack); packing never changes the shards, so it is not part of
    what makes a re-run a resume."""

    enabled: bool = False
    tokenizer: str = Field("codellama/CodeLlama-7b-hf", description="tokenizer.model/.json, a folder or a Hub id")
    format: Literal["megatron", "npy"] = "megatron"
    out: str = Field("packed", description="relative to the build's --out")
    weights: dict[str, float] = Field(default_factory=dict, description="subset -> share of training tokens")
    by_lang: bool = False
    seq_len: int | None = Field(None, gt=0)
    shuffle_seed: int = 0
    bos: bool = True
    eos: bool = True


class Stages(_Model):
    """Every stage is off unless the recipe enables it; they run in the order declared here
    (see proofpile/stages.py), per-document stages first, whole-corpus stages in the finalize task."""

    notebook: NotebookStage = Field(default_factory=NotebookStage)
    code_rules: CodeRulesStage = Field(default_factory=CodeRulesStage)
    prefilter: PrefilterStage = Field(default_factory=PrefilterStage)
    extract: ExtractStage = Field(default_factory=ExtractStage)
    langid: LangIdStage = Field(default_factory=LangIdStage)
    math_classifier: MathClassifierStage = Field(default_factory=MathClassifierStage)
    quality: QualityStage = Field(default_factory=QualityStage)
    near_dedup: NearDedupStage = Field(default_factory=NearDedupStage)
    exact_dedup: ExactDedupStage = Field(default_factory=ExactDedupStage)
    decontaminate: DecontaminateStage = Field(default_factory=DecontaminateStage)
    pack: PackStage = Field(default_factory=PackStage)


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
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    compression_level: int | None = 3


class Recipe(_Model):
    name: str
    subset: str
    description: str = ""
    sources: Sources
    stages: Stages = Field(default_factory=Stages)
    output: Output = Field(default_factory=Output)

    @field_validator("subset")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not v or "/" in v or v.startswith("."):
            raise ValueError("must be a plain directory name")
        return v


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


def _set_dotted(data: dict, dotted: str, value: Any, origin: str) -> None:
    keys = dotted.split(".")
    top = set(Recipe.model_fields)
    # `--set langid.model=...` is short for `stages.langid.model`, as users think in stages, not in the YAML tree
    if keys[0] not in top:
        if keys[0] in Stages.model_fields:
            keys = ["stages", *keys]
        elif keys[0] in Sources.model_fields:
            keys = ["sources", *keys]
        elif keys[0] in Output.model_fields:
            keys = ["output", *keys]
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


def _format_error(origin: str, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "<top>"
    msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{origin}: {loc}: {msg}{more}"


def load_recipe(name_or_path: str, overrides: list[str] | tuple[str, ...] = ()) -> tuple[Recipe, Path]:
    path = find_recipe(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise RecipeError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys, got {type(data).__name__}")
    data = copy.deepcopy(data)
    for item in overrides:
        key, value = parse_override(item)
        _set_dotted(data, key, value, f"--set {item}")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as e:
        raise RecipeError(_format_error(str(path), e)) from None
    return recipe, path


def resolve_relative(recipe_path: Path, ref: str) -> Path:
    """Manifest and input paths in a recipe are relative to the project root that holds `recipes/`."""
    p = Path(ref).expanduser()
    if p.is_absolute():
        return p
    base = recipe_path.resolve().parent
    root = base.parent if base.name == "recipes" else base
    return root / p


def dump(recipe: Recipe) -> dict:
    return recipe.model_dump(mode="json")
