"""A recipe's own datatrove steps (`stages.custom`): a real module written here, imported by the build through
PYTHONPATH, run where the recipe says; and every way of naming it wrongly is a one-line error."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.test_build import run_cli

MODULE = '''
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter


class MinWords(BaseFilter):
    name = "min words"

    def __init__(self, min_words: int, exclusion_writer=None):
        super().__init__(exclusion_writer)
        if min_words < 0:
            raise ValueError(f"min_words must be >= 0, got {min_words}")
        self.min_words = min_words

    def filter(self, doc):
        doc.metadata["words"] = n = len(doc.text.split())
        return n >= self.min_words or (False, "too_few_words")


class Stamp(PipelineStep):
    name = "stamp"

    def __init__(self, label: str):
        super().__init__()
        self.label = label

    def run(self, data, rank=0, world_size=1):
        for doc in data:
            doc.metadata["stamp"] = self.label
            self.stat_update("stamped")
            yield doc


def helper():
    return None
'''

RECIPE = """\
name: web
subset: web
sources:
  commoncrawl: {{}}
stages:
  prefilter: {{enabled: true}}
  extract: {{enabled: true}}
  custom:
{custom}
"""


def _setup(tmp_path: Path, custom: str) -> tuple[Path, dict]:
    pkg = tmp_path / "lib" / "mypkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "filters.py").write_text(MODULE)
    recipe = tmp_path / "web.yaml"
    recipe.write_text(RECIPE.format(custom=textwrap.indent(textwrap.dedent(custom).strip(), "    ")))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "lib"), os.environ.get("PYTHONPATH", "")])}
    return recipe, env


def test_own_steps_run_per_document_and_in_finalize(tmp_path: Path):
    recipe, env = _setup(tmp_path, """
        - step: mypkg.filters:MinWords
          args: {min_words: 250}
        - step: mypkg.filters:Stamp
          args: {label: seen}
          where: finalize
    """)
    out = tmp_path / "out"
    dry = run_cli("build", str(recipe), "--sample", "--out", str(out), "--dry-run", env=env)
    assert "read -> math prefilter -> math html extraction -> min words -> _work/commoncrawl/" in dry.stdout
    assert "read task files in input order -> stamp -> split" in dry.stdout
    run_cli("build", str(recipe), "--sample", "--out", str(out), "--set", "card.enabled=true", env=env)
    rows = [r for p in sorted((out / "data" / "web").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    metas = [json.loads(r["meta"]) for r in rows]
    assert metas and all(m["words"] >= 250 and m["stamp"] == "seen" for m in metas)
    manifest = json.loads((out / "manifest.json").read_text())
    row = next(r for r in manifest["funnel"] if r["step"].endswith("min words"))
    # of the sample's 10 pages, 7 pass the prefilter (the long recipe page without math is no longer among them)
    assert row["dropped"] == {"too_few_words": 4} and row["out"] == len(rows) == 3
    assert manifest["recipe"]["resolved"]["stages"]["custom"][0]["step"] == "mypkg.filters:MinWords"
    chain = [line.split(". ", 1)[1] for line in (out / "README.md").read_text().splitlines()
             if line[:1].isdigit() and ". **" in line]
    assert [line.split("**")[1] for line in chain] == [
        "prefilter", "extract", "mypkg.filters:MinWords", "mypkg.filters:Stamp", "split"]
    assert chain[2] == "**mypkg.filters:MinWords**: the recipe's own step. `min_words=250`"


@pytest.mark.parametrize("custom, message", [
    ("- step: nopkg.filters:MinWords", "stages.custom.0: cannot import nopkg.filters: ModuleNotFoundError: "
                                       "No module named 'nopkg'"),
    ("- step: mypkg.filters:Missing", "stages.custom.0: mypkg.filters has no Missing"),
    ("- step: mypkg.filters:helper", "stages.custom.0: mypkg.filters:helper is not a datatrove PipelineStep"),
    ("- step: mypkg.filters.MinWords", "stages.custom.0: 'mypkg.filters.MinWords': expected module.path:ClassName"),
    ("- {step: 'mypkg.filters:MinWords', args: {min_words: 3, min_wrds: 3}}",
     "stages.custom.0: mypkg.filters:MinWords: bad args: got an unexpected keyword argument 'min_wrds'"),
    ("- {step: 'mypkg.filters:MinWords', args: {min_words: 3}, where: crawl}", "stages.custom.0.where: "),
    ("- {step: 'mypkg.filters:MinWords', args: {min_words: -1}}",
     "stages.custom.0: mypkg.filters:MinWords: ValueError: min_words must be >= 0, got -1"),
])
def test_a_wrongly_named_step_is_a_one_line_error(tmp_path: Path, custom: str, message: str):
    recipe, env = _setup(tmp_path, custom)
    proc = run_cli("build", str(recipe), "--sample", "--out", str(tmp_path / "out"), "--dry-run", env=env,
                   check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith(f"error: {recipe}: {message}"), proc.stderr


def test_a_disabled_step_needs_no_import_and_a_composite_recipe_refuses_per_document_ones(tmp_path: Path):
    from proofpile.recipes import RecipeError, load_recipe

    recipe, _ = _setup(tmp_path, "- {step: 'nopkg.filters:MinWords', enabled: false}")
    assert load_recipe(str(recipe))[0].stages.custom[0].enabled is False
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text("name: c\ninclude:\n  - recipe: open-web-math\n"
                      "stages:\n  custom:\n    - {step: 'datatrove.pipeline.filters:LambdaFilter', "
                      "args: {filter_function: null}}\n")
    with pytest.raises(RecipeError, match=r"stages: custom: datatrove.pipeline.filters:LambdaFilter runs per document"):
        load_recipe(str(corpus))
