"""The KenLM perplexity filter with the real `kenlm` library (the `proofpile[kenlm]` extra) and a model the
test estimates itself (tests/arpa.py) from real English prose in the shared data."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from proofpile.filters.quality import PerplexityFilter

from .arpa import write_bigram_arpa
from .test_quality import doc, run

kenlm = pytest.importorskip("kenlm", reason="kenlm is not installed: pip install 'proofpile[kenlm]'")

PROSE = ("openstax_us_history", "openstax_economics", "openstax_astronomy", "digitalgov_news")


@pytest.fixture(scope="module")
def english(shared_data: Path) -> dict[str, list[str]]:
    """Real English prose from the classifier's training text: most of it to estimate the model, the rest held
    out (every 8th record) to score."""
    texts = {"train": [], "held_out": []}
    with gzip.open(shared_data / "classifier" / "train.jsonl.gz", "rt", encoding="utf-8") as f:
        n = 0
        for line in f:
            rec = json.loads(line)
            if rec.get("source") in PROSE:
                texts["held_out" if n % 8 == 0 else "train"].append(rec["text"])
                n += 1
    assert len(texts["held_out"]) >= 100
    return texts


@pytest.fixture(scope="module")
def model(english, tmp_path_factory) -> Path:
    lines = [line for text in english["train"] for line in text.splitlines()]
    return write_bigram_arpa(lines, tmp_path_factory.mktemp("lm") / "en.arpa")


@pytest.fixture(scope="module")
def german(shared_data: Path) -> list[str]:
    """Real German pages, extracted the way the web recipe extracts them."""
    from proofpile.extract.html_math import extract_math_text

    pages = sorted((shared_data / "html" / "nonmath").glob("*.de.*.html"))
    texts = [extract_math_text(p.read_text(encoding="utf-8", errors="replace")).text for p in pages]
    texts = [t for t in texts if len(t.split()) >= 50]
    assert len(texts) >= 3
    return texts


def _shuffled(text: str, seed: int) -> str:
    words = text.split()
    random.Random(seed).shuffle(words)
    return " ".join(words)


def test_perplexity_is_kenlms_own_on_each_line(model: Path, english):
    """Per line with sentence boundaries, as KenLM's `perplexity` computes it; over lines, the token-weighted
    mean of their log-probabilities."""
    lm = kenlm.Model(str(model))
    step = PerplexityFilter(model=str(model))
    line = english["held_out"][0].splitlines()[0]
    assert step.perplexity(line) == pytest.approx(lm.perplexity(line), rel=1e-9)
    text = "\n".join(english["held_out"][1].splitlines()[:5])
    lines = [ln for ln in text.splitlines() if ln.split()]
    log10 = sum(lm.score(" ".join(ln.split()), bos=True, eos=True) for ln in lines)
    tokens = sum(len(ln.split()) + 1 for ln in lines)
    assert step.perplexity(text) == pytest.approx(10 ** (-log10 / tokens), rel=1e-9)


def test_prose_scores_below_shuffled_words_and_another_language(model: Path, english, german):
    step = PerplexityFilter(model=str(model))
    held_out = sorted(step.perplexity(t) for t in english["held_out"][:100])
    shuffled = sorted(step.perplexity(_shuffled(t, i)) for i, t in enumerate(english["held_out"][:100]))
    deutsch = sorted(step.perplexity(t) for t in german)
    median = held_out[len(held_out) // 2]
    assert median < shuffled[len(shuffled) // 2] / 2  # the same words out of order: twice as unlikely at least
    assert median < min(deutsch)  # every German page is less likely than the typical English one


def test_filter_drops_above_the_threshold_and_keeps_the_score(model: Path, english, german):
    step = PerplexityFilter(model=str(model))
    english_scores = sorted(step.perplexity(t) for t in english["held_out"][:100])
    # keeps 95% of held-out English prose; the decision reads the stored score, which is rounded to 2 places
    threshold = round(english_scores[94], 2)
    docs = [doc(t, i=i) for i, t in enumerate(english["held_out"][:100])]
    docs += [doc(t, i=1000 + i) for i, t in enumerate(german)]
    kept, stats = run(PerplexityFilter(model=str(model), max_perplexity=threshold), docs)
    ids = {d.id for d in kept}
    assert sum(1 for d in docs[:100] if d.id in ids) >= 95
    assert not ids & {d.id for d in docs[100:]}  # no German page survives
    assert stats["dropped_high_perplexity"] == len(docs) - len(kept)
    assert all(d.metadata["perplexity"] <= threshold for d in kept)


def test_missing_model_file_is_an_error_naming_it(tmp_path: Path):
    step = PerplexityFilter(model=str(tmp_path / "missing.arpa"))
    with pytest.raises(FileNotFoundError, match="missing.arpa"):
        step.perplexity("some text")


def test_web_recipe_with_a_kenlm_model_scores_every_kept_page(model: Path, lid_model: Path, tmp_path: Path):
    """The recipe route: `quality.kenlm_model` in the open-web-math sample build, offline, real library."""
    from .offline import run_offline
    from .test_samples_web_arxiv import corpus_documents, funnel_drops

    out = tmp_path / "out"
    run_offline(tmp_path, "build", "open-web-math", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}",
                "--set", f"quality.kenlm_model={model}", "--set", "quality.max_perplexity=1e9")
    docs = corpus_documents(out)
    assert docs and all(isinstance(d.metadata.get("perplexity"), float) for d in docs)
    assert "perplexity_skipped" not in str(funnel_drops(json.loads((out / "manifest.json").read_text())))
