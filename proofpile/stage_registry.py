"""One declaration per recipe stage; everything else about stages is derived from it.

A stage used to be spread over four files (its config model and run position in `recipes.Stages`, the
per-document routing list, a builder registry, the card's purpose text), and forgetting one of them gave no
error: the stage loaded and never ran. Here a stage is one `@declare_stage(...)` on its builder, next to its
config model, and `recipes.Stages`, the per-document routing of `--set` in whole-corpus recipes, the crawl and
finalize step lists (`proofpile.stages`), the post-build runs and the dataset card's chain are read from the
declarations, so a half-declared stage cannot exist.

Declarations are found by importing the modules of `DECLARING_MODULES` (each built-in stage is declared in
the module of its step, or in a small `stage` module of its package) and every module of the
`proofpile.filters` package: a new filter is one module there, with its `BaseFilter`, its config model and
its declaration. A declaring module must not import `proofpile.recipes` at its top level: `recipes.Stages`
is made from the declarations while `proofpile.recipes` is being imported.

A stage's `order` is its run position, so each recipe enables the ones it needs and gets them in a sensible
order (web pages: prefilter -> extract -> language ID -> classifier; code: notebook -> code rules -> language
ID); `recipes.Stages` lists them in the same order. A builder takes (stage config, build plan) and returns a
step or a list of steps; it must stay cheap, since `--dry-run` calls it too: heavy objects load lazily inside
the steps. The crawl, decide and finalize step lists are assembled in `proofpile.stages`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

#: where a stage runs: `per_document` in every crawl task, `finalize` in the single ordered finalize task
#: (before the split), `after` once the shards are written (it reads them; it never changes them)
Where = Literal["per_document", "finalize", "after"]
WHERE: tuple[str, ...] = ("per_document", "finalize", "after")

#: `stages.custom` holds a recipe's own steps (proofpile.custom_steps), so no stage may take that name
RESERVED = ("custom",)

#: modules whose import declares stages (the built-in ones outside `proofpile.filters`); every module of the
#: packages in DECLARING_PACKAGES is imported too
DECLARING_MODULES = (
    "proofpile.extract.notebook",  # notebook
    "proofpile.extract.stage",  # extract
    "proofpile.dedup.stage",  # near_dedup
    "proofpile.dedup.exact",  # exact_dedup
    "proofpile.decontam.stage",  # decontaminate
    "proofpile.dropped",  # dropped
    "proofpile.pack.stage",  # pack
    "proofpile.publish.card",  # card
)
DECLARING_PACKAGES = ("proofpile.filters",)


class StageConfig(BaseModel):
    """Base of every stage's config: off unless the recipe enables it, unknown keys refused (so a typo such as
    `--set langid.treshold=...` is an error naming the key, not a silently ignored setting)."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    enabled: bool = False


@dataclass(frozen=True)
class StageSpec:
    name: str
    config: type[StageConfig]
    where: str
    order: int
    purpose: str
    #: per_document/finalize: (config, plan) -> a datatrove step, a list of them, or None (a stage the build
    #: runs itself); after: (config, plan, manifest, workers, progress) -> None, once the shards exist
    func: Callable[..., Any]
    #: False only for the card stage: the card does not list itself in its own processing chain
    in_card: bool = True
    #: left out of the resolved recipe (manifest, build identity) while at its defaults: set for stages added
    #: after a release, so that adding one neither changes existing manifests nor stops old builds resuming
    omit_default: bool = False
    #: config fields that only decide (thresholds on a stored signal): changing them re-runs the decide stage
    #: and finalize, never the crawl (proofpile.decisions)
    decisions: tuple[str, ...] = ()
    #: (config, plan) -> the datatrove filter applying those fields to the stored signal
    decide: Callable[..., Any] | None = None
    #: metadata keys the stage stores on each document (kept with every dropped document's row)
    signals: tuple[str, ...] = ()


def recipe_path(plan, ref: str | None) -> str | None:
    """A recipe's file reference as a usable path: URLs as they are, relative paths from the project root."""
    from proofpile.recipes import resolve_relative

    if ref is None or "://" in ref or Path(ref).is_absolute():
        return ref
    return str(resolve_relative(plan.recipe_path, ref))


_DECLARED: dict[str, StageSpec] = {}
_LOADED = False


class StageDeclarationError(RuntimeError):
    """A programming error in a stage declaration (raised at import, so tests and every CLI call see it)."""


def declare_stage(name: str, *, config: type[StageConfig], where: str, order: int, purpose: str,
                  in_card: bool = True, omit_default: bool = False, decisions: tuple[str, ...] = (),
                  decide: Callable[..., Any] | None = None, signals: tuple[str, ...] = ()):
    """Decorator registering a stage on its builder `(config, plan) -> step | [steps] | None` (for an `after`
    stage: on its runner `(config, plan, manifest, workers, progress)`).

    A per-document stage whose verdict is a threshold on a score names those config fields in `decisions` and
    gives `decide`, the filter applying them to the score stored in the metadata: its builder then makes a
    step that only scores, and a threshold change re-runs the cheap decide stage, not the crawl."""

    def register(func: Callable[..., Any]):
        if name in RESERVED:
            raise StageDeclarationError(f"stage {name}: the name is reserved for the recipe's own steps")
        if where not in WHERE:
            raise StageDeclarationError(f"stage {name}: where={where!r}, expected one of {', '.join(WHERE)}")
        if not (isinstance(config, type) and issubclass(config, StageConfig)):
            raise StageDeclarationError(f"stage {name}: config must subclass proofpile.stage_registry.StageConfig")
        if not purpose.strip():
            raise StageDeclarationError(f"stage {name}: a purpose line is required (the dataset card shows it)")
        if bool(decisions) != (decide is not None):
            raise StageDeclarationError(f"stage {name}: decisions and decide go together")
        if decisions and where != "per_document":
            raise StageDeclarationError(f"stage {name}: only a per_document stage has decision fields")
        if unknown := [f for f in decisions if f not in config.model_fields]:
            raise StageDeclarationError(f"stage {name}: decisions {unknown} are not fields of {config.__name__}")
        for other in _DECLARED.values():
            if other.name == name:
                raise StageDeclarationError(f"stage {name}: declared twice")
            if other.order == order:
                raise StageDeclarationError(f"stage {name}: order {order} is already {other.name}'s")
        _DECLARED[name] = StageSpec(name, config, where, order, purpose.strip(), func, in_card, omit_default,
                                   tuple(decisions), decide, tuple(signals))
        return func

    return register


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for module in DECLARING_MODULES:
        importlib.import_module(module)
    for package in DECLARING_PACKAGES:
        pkg = importlib.import_module(package)
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            importlib.import_module(f"{package}.{info.name}")


def declared() -> list[StageSpec]:
    """Every stage, in run order (which is also the order of `recipes.Stages` and of the card's chain)."""
    _load()
    return sorted(_DECLARED.values(), key=lambda s: s.order)


def stage(name: str) -> StageSpec:
    _load()
    return _DECLARED[name]


def names(where: str) -> list[str]:
    return [s.name for s in declared() if s.where == where]
