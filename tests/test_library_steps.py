"""Each public filter used as a library (datatrove `run` over real text, only required arguments) must act.

A default that silently passes every document is a filter that does nothing; these tests feed real third-party
text and assert a real share is scored and a real share dropped.
"""

import gzip
import json

import pytest
from datatrove.data import Document


@pytest.fixture(scope="module")
def real_docs(shared_data):
    """300 real texts, math and other prose, carrying no code language (as web pages do)."""
    docs = []
    with gzip.open(shared_data / "classifier" / "train.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if len(docs) == 300:
                break
            rec = json.loads(line)
            docs.append(Document(text=rec["text"], id=f"c{i}", metadata={"label": rec["label"]}))
    return docs


def _copy(docs):
    return [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs]


def _run(step, docs):
    return list(step.run(iter(docs), rank=0, world_size=1))


def test_language_id_filter_identifies_every_document_by_default(real_docs, lid_model):
    from proofpile.filters.langid import LanguageIdFilter

    docs = _copy(real_docs) + [
        Document(text="Dies ist ein deutscher Satz über die Mathematik und die Zahlen.", id="de", metadata={}),
        Document(text="Ceci est une phrase française sur les nombres premiers et la géométrie.", id="fr", metadata={}),
    ]
    out = _run(LanguageIdFilter(model=str(lid_model), keep=["en"]), docs)
    scored = [d for d in docs if "lid_lang" in d.metadata]
    assert len(scored) == len(docs)  # before the fix: 0 scored, all forwarded
    kept_ids = {d.id for d in out}
    assert "de" not in kept_ids and "fr" not in kept_ids
    assert len(out) > 0.8 * len(real_docs)
    assert all(d.metadata["lang"] == "en" for d in out)


def test_language_id_filter_warns_when_a_restriction_scores_nothing(real_docs, lid_model):
    from datatrove.utils.logging import logger

    from proofpile.filters.langid import LanguageIdFilter

    messages = []
    sink = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    try:
        out = _run(LanguageIdFilter(model=str(lid_model), languages=["tex"]), _copy(real_docs[:50]))
    finally:
        logger.remove(sink)
    assert len(out) == 50
    assert any("0 of 50 documents scored" in m and "languages" in m for m in messages)


def test_math_prefilter_drops_a_real_share(real_docs):
    from proofpile.filters.math_prefilter import MathPrefilter

    out = _run(MathPrefilter(), _copy(real_docs))
    assert 0 < len(out) < len(real_docs)
    # what it keeps leans math
    assert sum(d.metadata["label"] == "math" for d in out) > len(out) / 2


def test_math_classifier_scores_and_filters_with_its_bundled_model(real_docs):
    from proofpile.filters.math_classifier import MathScoreFilter

    docs = _copy(real_docs)
    out = _run(MathScoreFilter(), docs)
    assert all("math_score" in d.metadata for d in docs)
    assert 0 < len(out) < len(docs)
    assert sum(d.metadata["label"] == "math" for d in out) > 0.9 * len(out)


def test_quality_filter_scores_every_page_and_drops_short_or_accented_ones(real_docs):
    from proofpile.filters.quality import QualityFilter

    docs = _copy(real_docs) + [
        Document(text="Menu", id="short"),
        Document(text="Ceci est une très longue phrase française où l'on écrit é, è, à, ç et ô à côté. " * 3, id="fr"),
    ]
    out = _run(QualityFilter(), docs)
    assert all("accented_ratio" in d.metadata for d in docs if d.id != "short")
    kept = {d.id for d in out}
    assert "short" not in kept and "fr" not in kept
    assert len(out) > 0.9 * len(real_docs)


def test_code_rules_filter_acts_on_real_code(shared_data):
    from proofpile.filters.code_rules import CodeRulesFilter

    docs = [
        Document(text="import numpy as np\nprint(np.linalg.det(np.eye(3)))\n", id="py-math", metadata={"lang": "python"}),
        Document(text="import os\nprint(os.getcwd())\n", id="py-plain", metadata={"lang": "python"}),
    ]
    out = _run(CodeRulesFilter(), docs)
    assert [d.id for d in out] == ["py-math"]


def test_code_rules_filter_warns_when_no_document_has_a_code_language(real_docs):
    from datatrove.utils.logging import logger

    from proofpile.filters.code_rules import CodeRulesFilter

    messages = []
    sink = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    try:
        out = _run(CodeRulesFilter(), _copy(real_docs[:40]))
    finally:
        logger.remove(sink)
    assert len(out) == 40  # web text is not code: it passes, but not silently
    assert any("0 of 40 documents checked" in m for m in messages)


def test_decontamination_filter_drops_pages_quoting_a_benchmark(shared_data):
    from proofpile.decontam.ngrams import DecontaminationFilter

    bench = shared_data / "benchmarks"
    questions = [json.loads(line)["question"] for line in (bench / "gsm8k_test.jsonl").open(encoding="utf-8")][:20]
    docs = [Document(text=f"Homework help. {q} Answers below.", id=str(i)) for i, q in enumerate(questions)]
    docs.append(Document(text="A page about trains in Paris that run late on Sundays in the winter months.", id="clean"))
    step = DecontaminationFilter(files={"math": str(bench / "math_test.jsonl"), "gsm8k": str(bench / "gsm8k_test.jsonl")})
    assert [d.id for d in _run(step, docs)] == ["clean"]


def test_html_extractor_turns_real_pages_into_text_with_formulas(shared_data):
    from proofpile.extract.html_math import MathHtmlExtractor

    pages = sorted((shared_data / "html" / "math").glob("*.html"))
    docs = [Document(text=p.read_text(encoding="utf-8", errors="replace"), id=p.name) for p in pages]
    out = _run(MathHtmlExtractor(), docs)
    assert len(out) == len(pages)
    assert all("<html" not in d.text.lower() for d in out)
    assert sum("$" in d.text for d in out) >= len(out) // 2


def test_split_tagger_tags_a_small_share_as_held_out():
    from proofpile.split import SplitTagger

    out = _run(SplitTagger(), [Document(text=f"doc {i}", id=str(i)) for i in range(2000)])
    splits = [d.metadata["split"] for d in out]
    assert 0 < splits.count("validation") < 40 and 0 < splits.count("test") < 40
