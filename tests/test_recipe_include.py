"""Whole-corpus recipes: `include:` of subset recipes, and where a `--set` lands."""

from __future__ import annotations

from pathlib import Path

import pytest

from proofpile.build import plan_build
from proofpile.recipes import RecipeError, dump, load_recipe
from proofpile.stages import task_steps


#: planning the shipped web recipe would fetch its crawl's WARC list; these tests plan offline
OFFLINE = ["commoncrawl.files=[/data/CC-MAIN-x.warc.gz]", "arxiv.paths=[/data/arxiv]"]


def _parts(recipe, path) -> dict:
    return {part.subset: part for part, _ in recipe.parts(path)}


def test_proof_pile_2_includes_the_three_subsets_in_read_order():
    recipe, path = load_recipe("proof-pile-2")
    assert recipe.subsets == ["arxiv", "open-web-math", "algebraic-stack"]
    assert recipe.stages.pack.weights == {"arxiv": 2, "open-web-math": 4, "algebraic-stack": 1}
    assert recipe.stages.near_dedup.enabled and recipe.stages.decontaminate.enabled
    parts = _parts(recipe, path)
    assert parts["algebraic-stack"].output.lang_in_name and not parts["arxiv"].output.lang_in_name


def test_overrides_reach_the_included_recipes_that_have_the_key():
    recipe, path = load_recipe("proof-pile-2", [
        "langid.model=/models/lid.176.ftz",  # a per-document stage: every included recipe
        "arxiv.paths=[/data/arxiv]",  # a source: only the recipe that reads it
        "decontaminate.ngram=8",  # a whole-corpus stage: the including recipe
        "split.seed=3",
    ])
    parts = _parts(recipe, path)
    assert {p.stages.langid.model for p in parts.values()} == {"/models/lid.176.ftz"}
    assert parts["arxiv"].sources.arxiv.paths == ["/data/arxiv"]
    assert parts["algebraic-stack"].sources.arxiv is None and parts["open-web-math"].sources.arxiv is None
    assert recipe.stages.decontaminate.ngram == 8 and recipe.output.split.seed == 3
    assert all(p.stages.decontaminate.ngram == 13 for p in parts.values())


def test_each_source_runs_the_stages_of_its_own_recipe(tmp_path: Path):
    recipe, path = load_recipe("proof-pile-2", ["langid.model=/models/lid.176.ftz", *OFFLINE])
    plan = plan_build(recipe, path, tmp_path / "out")
    names = [s.name for s in plan.sources]
    assert names[:2] == ["arxiv/arxiv", "open-web-math/commoncrawl"]
    steps = {name: [type(s).__name__ for s in task_steps(plan, name)] for name in names}
    assert "MathHtmlExtractor" in steps["open-web-math/commoncrawl"]
    assert "CodeRulesFilter" in steps["algebraic-stack/github"] and "MathHtmlExtractor" not in steps["algebraic-stack/github"]
    assert steps["arxiv/arxiv"] == ["LatexCleaner"]


def test_identity_sees_a_change_in_an_included_recipe(tmp_path: Path):
    recipe, path = load_recipe("proof-pile-2", OFFLINE)
    other, _ = load_recipe("proof-pile-2", ["code_rules.languages=[lean]", *OFFLINE])
    assert dump(recipe)["include"][2]["resolved"]["subset"] == "algebraic-stack"
    assert plan_build(recipe, path, tmp_path).identity() != plan_build(other, path, tmp_path).identity()
    # how it runs and what happens after the shards are written do not make it another build
    packed, _ = load_recipe("proof-pile-2", ["pack.seq_len=2048", "card.enabled=false", *OFFLINE])
    assert plan_build(recipe, path, tmp_path).identity() == plan_build(packed, path, tmp_path).identity()


@pytest.mark.parametrize("body, message", [
    ("include: [{recipe: arxiv}]\nsubset: x\n", "takes its subsets and sources from the included recipes"),
    ("include: [{recipe: arxiv}, {recipe: arxiv}]\n", "build the same subset"),
    ("include: [{recipe: nope}]\n", "nope: no such recipe"),
    ("sources: {}\n", "subset: required"),
])
def test_bad_whole_corpus_recipes_are_one_line_errors(tmp_path: Path, body: str, message: str):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("name: bad\n" + body)
    with pytest.raises(RecipeError, match=message) as err:
        load_recipe(str(recipe))
    assert "\n" not in str(err.value)


def test_nested_include_is_refused(tmp_path: Path):
    inner = tmp_path / "inner.yaml"
    inner.write_text("name: inner\ninclude: [{recipe: arxiv}]\n")
    outer = tmp_path / "outer.yaml"
    outer.write_text(f"name: outer\ninclude: [{{recipe: {inner}}}]\n")
    with pytest.raises(RecipeError, match="includes other recipes itself"):
        load_recipe(str(outer))
