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


class Sources(_Model):
    github: GitHubSource | None = None
    stack: StackSource | None = None


class NotebookStage(_Model):
    enabled: bool = False


class CodeRulesStage(_Model):
    enabled: bool = False
    languages: list[str] | None = None


class LangIdStage(_Model):
    enabled: bool = False
    model: str = LID_176_URL
    languages: list[str] = Field(default_factory=lambda: ["tex"])
    keep: list[str] = Field(default_factory=lambda: ["en"])
    threshold: float = Field(0.5, ge=0.0, le=1.0)


class ExactDedupStage(_Model):
    enabled: bool = False
    chunk_chars: int = Field(2048, gt=0)


class Stages(_Model):
    """Every stage is off unless the recipe enables it; they run in the order declared here
    (see proofpile/stages.py), per-document stages first, whole-corpus stages in the finalize task."""

    notebook: NotebookStage = Field(default_factory=NotebookStage)
    code_rules: CodeRulesStage = Field(default_factory=CodeRulesStage)
    langid: LangIdStage = Field(default_factory=LangIdStage)
    exact_dedup: ExactDedupStage = Field(default_factory=ExactDedupStage)


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
