"""Stage 5 of OpenWebMath: length, accented letters, URL blocklist, and the optional KenLM perplexity cut."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from datatrove.data import Document

from proofpile.filters.quality import PerplexityFilter, QualityFilter, UrlBlocklist, accented_ratio

ENGLISH = ("The derivative of a function measures how its value changes as its input changes. For f(x) = x^2 "
           "the derivative is 2x, which one can verify with the limit definition.")
FRENCH = ("La dérivée d'une fonction mesure la façon dont sa valeur évolue lorsque son entrée varie. Pour "
          "f(x) = x², la dérivée vaut 2x, ce qu'on vérifie à l'aide de la définition par la limite, même à l'école.")


def run(step, docs):
    kept = list(step.run(iter(docs)))
    return kept, {k: step.stats[k].total for k in step.stats.stats}


def doc(text: str, url: str = "https://example.org/page", i: int = 0) -> Document:
    return Document(text=text, id=str(i), metadata={"url": url})


def test_accented_ratio():
    assert accented_ratio("") == 0.0
    assert accented_ratio(ENGLISH) == 0.0
    assert accented_ratio("café") == 0.25
    assert accented_ratio("ÅÉÎÕÜ ñ ř ş ž") == pytest.approx(9 / 13)
    assert accented_ratio("数学 ∫ x² ½ ß ø æ") == 0.0  # CJK, symbols and letters without a base letter + mark
    assert accented_ratio(FRENCH) > 0.015


def test_quality_filter_reasons_and_signal():
    docs = [
        doc(ENGLISH, i=0),
        doc("x" * 99, i=1),
        doc("x" * 100, i=2),
        doc(FRENCH, i=3),
        doc(ENGLISH + " As Poincaré and Fréchet showed.", i=4),  # a few accented names are fine
        doc(ENGLISH, url="https://answers.spam-site.com/q/1", i=5),
        doc(ENGLISH, url="https://notspam-site.com/q/1", i=6),
        doc(ENGLISH, url="https://www.example.org/homework-dump/7", i=7),
    ]
    step = QualityFilter(url_blocklist=["spam-site.com", "/homework-dump/"])
    kept, stats = run(step, docs)
    assert [d.id for d in kept] == ["0", "2", "4", "6"]
    assert stats["dropped_too_short"] == 1
    assert stats["dropped_too_many_accents"] == 1
    assert stats["dropped_blocked_url"] == 2
    assert kept[2].metadata["accented_ratio"] == pytest.approx(accented_ratio(docs[4].text), abs=1e-6)
    assert 0 < kept[2].metadata["accented_ratio"] <= 0.015


def test_blocklist_from_files(tmp_path: Path):
    f = tmp_path / "blocked.txt"
    f.write_text("# sites OpenWebMath removed by hand\nWWW.Mirror.Example  # with www\n\n?page=print\n")
    bl = UrlBlocklist(["other.net"], [f])
    assert bl.blocks("https://mirror.example/x") == "mirror.example"
    assert bl.blocks("https://a.b.MIRROR.example/x") == "mirror.example"
    assert bl.blocks("https://other.net") == "other.net"
    assert bl.blocks("https://site.org/a?page=print") == "?page=print"
    assert bl.blocks("https://themirror.example/x") is None
    assert bl.blocks("not a url") is None
    assert len(bl) == 3


@pytest.mark.skipif(importlib.util.find_spec("kenlm") is not None, reason="kenlm is installed here")
def test_perplexity_without_kenlm_passes_pages_with_one_note(tmp_path: Path, warnings_logged):
    step = PerplexityFilter(model=str(tmp_path / "model.arpa"))
    kept, stats = run(step, [doc(ENGLISH, i=i) for i in range(3)])
    assert len(kept) == 3 and "perplexity" not in kept[0].metadata
    assert stats["perplexity_skipped"] == 1
    notes = [m for m in warnings_logged if "kenlm" in m]
    assert len(notes) == 1 and "perplexity filter skipped" in notes[0]


def test_quality_stage_from_a_recipe(tmp_path: Path):
    from proofpile.build import plan_build
    from proofpile.recipes import RecipeError, load_recipe
    from proofpile.stages import task_steps

    recipe_file = tmp_path / "web.yaml"
    recipe_file.write_text(
        "name: web\nsubset: web\nsources:\n  commoncrawl:\n    files: [a.warc.gz]\n"
        "stages:\n  quality:\n    enabled: true\n    url_blocklist: [spam.com]\n    kenlm_model: lm.bin\n"
    )
    rec, path = load_recipe(str(recipe_file))
    steps = task_steps(plan_build(rec, path, tmp_path / "out"), "commoncrawl")
    assert [s.name for s in steps] == ["quality", "perplexity"]
    assert steps[1].model_path == str(tmp_path / "lm.bin") and steps[1].max_perplexity == 15_000
    rec, path = load_recipe(str(recipe_file), ["quality.url_blocklist_files=[missing.txt]"])
    with pytest.raises(RecipeError, match=r"stages\.quality\.url_blocklist_files: .*missing\.txt"):
        task_steps(plan_build(rec, path, tmp_path / "out"), "commoncrawl")
