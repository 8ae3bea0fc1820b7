"""A recipe's own datatrove steps (`stages.custom`), so a user adds a filter without forking proofpile:

    stages:
      custom:
        - step: mypkg.filters:MyFilter      # any importable datatrove PipelineStep (BaseFilter, ...)
          args: {min_words: 3}              # its keyword arguments
          where: per_document               # after the declared per-document stages; or finalize

They are checked when the recipe loads, like every other stage: a module that does not import, a name that is not
a PipelineStep, or arguments its constructor does not take are a one-line error naming the recipe file and the key.
Per-document steps run in list order after the declared per-document stages of the crawl tasks; finalize steps
run after the declared finalize stages (dedup, decontamination), before the split.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class CustomStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: str = Field(description="module:Name of a datatrove PipelineStep")
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of its constructor")
    where: Literal["per_document", "finalize"] = "per_document"
    enabled: bool = True

    @model_validator(mode="after")
    def _importable(self) -> "CustomStep":
        if self.enabled:
            step_class(self.step, self.args)  # an unused entry may name a package this machine does not have
        return self


def _error(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, ctx)


def step_class(ref: str, args: dict[str, Any]) -> type:
    """The PipelineStep class `ref` names, checked against `args`; raises a pydantic error (one line)."""
    from datatrove.pipeline.base import PipelineStep

    if not _REF.match(ref):
        raise _error("custom_step_ref", "'{ref}': expected module.path:ClassName", ref=ref)
    module_name, name = ref.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # noqa: BLE001 (the user's module may fail to import in any way; say how, in one line)
        raise _error("custom_step_import", "cannot import {module}: {err}", module=module_name,
                     err=f"{type(e).__name__}: {e}".splitlines()[0]) from None
    cls = getattr(module, name, None)
    if cls is None:
        raise _error("custom_step_name", "{module} has no {name}", module=module_name, name=name)
    if not (inspect.isclass(cls) and issubclass(cls, PipelineStep)):
        raise _error("custom_step_type", "{ref} is not a datatrove PipelineStep", ref=ref)
    try:
        inspect.signature(cls).bind(**args)
    except TypeError as e:
        raise _error("custom_step_args", "{ref}: bad args: {err}", ref=ref, err=str(e)) from None
    return cls


def build_custom(entries: list[CustomStep], where: str, plan) -> list:
    """The enabled entries of `where`, made into steps; a constructor that refuses its arguments' values is a
    one-line error naming the recipe and the entry."""
    from proofpile.recipes import RecipeError

    steps = []
    for i, entry in enumerate(entries):
        if entry.enabled and entry.where == where:
            try:
                steps.append(step_class(entry.step, entry.args)(**entry.args))
            except Exception as e:  # noqa: BLE001 (any failure of user code becomes the one-line recipe error)
                first = (str(e).splitlines() or [""])[0]
                raise RecipeError(f"{plan.recipe_path}: stages.custom.{i}: {entry.step}: "
                                  f"{type(e).__name__}: {first}") from None
    return steps
