"""A stage is declared once (proofpile.stage_registry); the recipe model, the per-document routing of `--set`,
the step lists and the dataset card's chain all come from that declaration, so none of them can miss a stage."""

from __future__ import annotations

import pytest
from pydantic import Field

from proofpile.publish.card import stage_purpose
from proofpile.recipes import PER_DOCUMENT_STAGES, RecipeError, Stages, load_recipe
from proofpile.stage_registry import StageConfig, StageDeclarationError, declare_stage, declared


def test_every_declared_stage_is_in_stages_the_routing_and_the_card():
    specs = declared()
    # run order is field order; `custom` (the recipe's own steps) is the one field no declaration makes
    assert list(Stages.model_fields) == [*(s.name for s in specs), "custom"]
    assert [s.order for s in specs] == sorted({s.order for s in specs})
    assert PER_DOCUMENT_STAGES == tuple(s.name for s in specs if s.where == "per_document")
    purpose = stage_purpose()
    for s in specs:
        assert Stages.model_fields[s.name].annotation is s.config
        assert s.where in ("per_document", "finalize", "after")
        if s.in_card:
            assert purpose[s.name] == s.purpose
    assert {s.name for s in specs if not s.in_card} == {"card"}  # the card does not list itself
    assert "max_line_length" in PER_DOCUMENT_STAGES  # found in proofpile/filters/ with no other registration


def test_each_built_in_stage_is_declared_beside_its_step_in_its_release_order():
    # its config model, declaration and builder in one module of the step's package, not in a central file; the
    # orders are the release's: `recipes.Stages` field order (the manifest's recipe dump) and run order follow them
    where = {s.name: (s.order, s.func.__module__) for s in declared()}
    assert where == {
        "notebook": (10, "proofpile.extract.notebook"), "code_rules": (20, "proofpile.filters.code_rules"),
        "prefilter": (30, "proofpile.filters.math_prefilter"), "extract": (40, "proofpile.extract.stage"),
        "langid": (50, "proofpile.filters.langid"), "math_classifier": (60, "proofpile.filters.math_classifier"),
        "quality": (70, "proofpile.filters.quality"), "max_line_length": (75, "proofpile.filters.max_line_length"),
        "near_dedup": (80, "proofpile.dedup.stage"), "exact_dedup": (90, "proofpile.dedup.exact"),
        "decontaminate": (100, "proofpile.decontam.stage"), "dropped": (105, "proofpile.dropped"),
        "pack": (110, "proofpile.pack.stage"), "card": (120, "proofpile.publish.card"),
    }
    for s in declared():
        assert s.config.__module__ == s.func.__module__, s.name
        assert s.decide is None or s.decide.__module__ == s.func.__module__, s.name


def test_a_half_declared_stage_is_refused_at_declaration():
    class Cfg(StageConfig):
        x: int = Field(1)

    with pytest.raises(StageDeclarationError, match="declared twice"):
        declare_stage("langid", config=Cfg, where="per_document", order=9999, purpose="p")(lambda c, p: None)
    with pytest.raises(StageDeclarationError, match="already langid's"):
        declare_stage("mine", config=Cfg, where="per_document", order=50, purpose="p")(lambda c, p: None)
    with pytest.raises(StageDeclarationError, match="where="):
        declare_stage("mine", config=Cfg, where="crawl", order=9999, purpose="p")(lambda c, p: None)
    with pytest.raises(StageDeclarationError, match="purpose"):
        declare_stage("mine", config=Cfg, where="finalize", order=9999, purpose=" ")(lambda c, p: None)
    with pytest.raises(StageDeclarationError, match="reserved"):
        declare_stage("custom", config=Cfg, where="finalize", order=9999, purpose="p")(lambda c, p: None)
    with pytest.raises(StageDeclarationError, match="StageConfig"):
        declare_stage("mine", config=dict, where="finalize", order=9999, purpose="p")(lambda c, p: None)
    assert "mine" not in Stages.model_fields and all(s.name != "mine" for s in declared())


def test_a_set_on_a_per_document_stage_reaches_the_included_recipes():
    """The bug the derived routing removes: a per-document stage missing from the routing list loaded fine in a
    whole-corpus recipe and no crawl task ran it."""
    recipe, _ = load_recipe("proof-pile-2", ["max_line_length.enabled=true", "max_line_length.max_chars=999"])
    assert not recipe.stages.max_line_length.enabled
    parts = {part.subset: part.stages.max_line_length for part, _ in recipe._parts}
    assert parts["open-web-math"].enabled and parts["open-web-math"].max_chars == 999
    recipe, _ = load_recipe("proof-pile-2", ["exact_dedup.chunk_chars=99"])  # a finalize stage stays on top
    assert recipe.stages.exact_dedup.chunk_chars == 99
    assert all(part.stages.exact_dedup.chunk_chars == 2048 for part, _ in recipe._parts)


def test_a_whole_corpus_recipe_enabling_a_per_document_stage_is_an_error(tmp_path):
    path = tmp_path / "corpus.yaml"
    path.write_text("name: c\ninclude:\n  - recipe: open-web-math\nstages:\n  max_line_length:\n    enabled: true\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(str(path))
    assert str(err.value).startswith(f"{path}: stages: max_line_length runs per document")
    assert "\n" not in str(err.value)


def test_an_unknown_stage_key_names_the_key():
    with pytest.raises(RecipeError, match=r"open-web-math\.yaml: stages\.langid\.treshold: unknown key$"):
        load_recipe("open-web-math", ["langid.treshold=0.3"])
    with pytest.raises(RecipeError, match=r"stages\.max_line_lenght: unknown key$"):
        load_recipe("open-web-math", ["stages.max_line_lenght.enabled=true"])



def test_a_stage_added_later_leaves_existing_recipes_dumps_alone():
    """Adding a stage must not change the manifest of a recipe that does not use it, nor its build identity
    (an old build would no longer resume): at its defaults, a stage declared with omit_default is not dumped."""
    from proofpile.recipes import dump

    assert "max_line_length" not in dump(load_recipe("open-web-math")[0])["stages"]
    assert "custom" not in dump(load_recipe("open-web-math")[0])["stages"]
    changed = dump(load_recipe("open-web-math", ["max_line_length.max_chars=999"])[0])["stages"]
    assert changed["max_line_length"] == {"enabled": False, "max_chars": 999}
    assert "notebook" in dump(load_recipe("open-web-math")[0])["stages"]  # stages of the first release stay
