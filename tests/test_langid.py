import pickle

import pytest
from datatrove.data import Document

from proofpile.filters import LanguageIdentifier, LanguageIdFilter
from proofpile.filters.langid import resolve_model

EN = r"""\documentclass{article}
\usepackage{amsmath,amsthm}
\newtheorem{lemma}{Lemma}
\begin{document}
\section{Bounded sequences}
In this note we show that every monotone sequence of real numbers which is bounded above converges,
and we use the result to study the limit of a recursively defined sequence.
\begin{lemma} If $(a_n)$ is increasing and bounded above, then $a_n \to \sup_k a_k$. \end{lemma}
\begin{proof} Let $s = \sup_k a_k$ and fix $\varepsilon > 0$. By the definition of the supremum there is
an index $N$ with $a_N > s - \varepsilon$, and monotonicity gives $s - \varepsilon < a_n \le s$ for all
$n \ge N$. \end{proof}
\end{document}
"""

DE = r"""\documentclass{article}
\usepackage[ngerman]{babel}
\begin{document}
\section{Beschränkte Folgen}
In dieser Notiz zeigen wir, dass jede monotone und nach oben beschränkte Folge reeller Zahlen konvergiert,
und wenden das Ergebnis auf eine rekursiv definierte Folge an.
\begin{lemma} Ist $(a_n)$ wachsend und nach oben beschränkt, so gilt $a_n \to \sup_k a_k$. \end{lemma}
\begin{proof} Sei $s = \sup_k a_k$ und $\varepsilon > 0$. Nach Definition des Supremums gibt es einen
Index $N$ mit $a_N > s - \varepsilon$. \end{proof}
\end{document}
"""

FR = r"""\documentclass{article}
\usepackage[french]{babel}
\begin{document}
\section{Suites bornées}
Dans cette note nous montrons que toute suite réelle croissante et majorée est convergente, puis nous
appliquons ce résultat à l'étude d'une suite définie par récurrence.
\begin{lemme} Si $(a_n)$ est croissante et majorée, alors $a_n \to \sup_k a_k$. \end{lemme}
\begin{proof} Soit $s = \sup_k a_k$ et $\varepsilon > 0$. Par définition de la borne supérieure il existe
un indice $N$ tel que $a_N > s - \varepsilon$. \end{proof}
\end{document}
"""


def test_identifier_predicts_languages(lid_model):
    lid = LanguageIdentifier(lid_model)
    lang, score = lid.predict(EN)
    assert lang == "en" and 0.5 <= score <= 1.0
    assert lid.predict(DE)[0] == "de"
    assert lid.predict(FR)[0] == "fr"


def test_filter_keeps_english_tex_and_leaves_other_languages_alone(lid_model):
    german_python = "# Berechnet die Eigenwerte einer symmetrischen Matrix und gibt sie sortiert zurück\n"
    docs = [
        Document(text=EN, id="en", metadata={"lang": "tex"}),
        Document(text=DE, id="de", metadata={"lang": "tex"}),
        Document(text=FR, id="fr", metadata={"lang": "tex"}),
        Document(text=german_python, id="py", metadata={"lang": "python"}),
    ]
    step = LanguageIdFilter(str(lid_model), languages=["tex"])  # the AlgebraicStack restriction
    out = list(step.run(iter(docs)))
    assert [d.id for d in out] == ["en", "py"]
    assert out[0].metadata["lid_lang"] == "en" and out[0].metadata["lid_score"] >= 0.5
    assert "lid_lang" not in out[1].metadata
    # the signal is written on dropped documents too, so a later step can re-threshold
    assert docs[1].metadata["lid_lang"] == "de"
    assert step.stats["dropped_wrong_language"].total == 2
    assert step.stats["forwarded"].total == 2


def test_threshold_and_keep_list(lid_model):
    strict = LanguageIdFilter(str(lid_model), threshold=1.01)
    assert strict.filter(Document(text=EN, id="a", metadata={"lang": "tex"})) == (False, "wrong_language")
    german = LanguageIdFilter(str(lid_model), languages=["tex", "markdown"], keep=["de"])
    assert german.filter(Document(text=DE, id="b", metadata={"lang": "markdown"})) is True
    assert german.filter(Document(text=EN, id="c", metadata={"lang": "tex"})) == (False, "wrong_language")


def test_model_is_lazy_and_not_pickled(lid_model):
    step = LanguageIdFilter(str(lid_model))
    assert step.identifier._model is None  # nothing loaded at construction
    step.filter(Document(text=EN, id="a", metadata={"lang": "tex"}))
    assert step.identifier._model is not None
    blob = pickle.dumps(step)
    assert len(blob) < 100_000  # the ~1 MB model is not inside
    clone = pickle.loads(blob)
    assert clone.identifier._model is None
    doc = Document(text=DE, id="b", metadata={"lang": "tex"})
    assert clone.filter(doc) == (False, "wrong_language")
    assert doc.metadata["lid_lang"] == "de"


def test_missing_model_is_a_one_line_error(tmp_path):
    missing = tmp_path / "nope" / "lid.176.bin"
    with pytest.raises(FileNotFoundError, match="lid.176.bin") as info:
        resolve_model(str(missing))
    assert "\n" not in str(info.value) and str(missing) in str(info.value)
    with pytest.raises(FileNotFoundError):
        LanguageIdentifier(missing).predict("hello")
    # construction does not look at the file (dry runs, worker-only paths); the first tex document does
    step = LanguageIdFilter(str(missing), languages=["tex"])
    assert step.filter(Document(text="x", id="0", metadata={"lang": "python"})) is True
    with pytest.raises(FileNotFoundError, match="nope"):
        step.filter(Document(text=EN, id="1", metadata={"lang": "tex"}))


def test_url_model_resolves_from_cache_without_download(tmp_path, monkeypatch):
    import proofpile.filters.langid as langid

    cached = tmp_path / "lid.176.ftz"
    cached.write_bytes(b"cached")
    monkeypatch.setattr(langid, "CACHE_DIR", tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download a cached model")

    monkeypatch.setattr(langid.urllib.request, "urlopen", no_network)
    assert resolve_model("https://example.org/models/lid.176.ftz?download=1") == cached
    # a URL is not checked at construction (it may only be reachable from workers)
    assert LanguageIdFilter("https://example.org/other.bin").model == "https://example.org/other.bin"


def test_url_model_is_downloaded_once(tmp_path, monkeypatch):
    import io

    import proofpile.filters.langid as langid

    calls = []

    def fake_urlopen(url):
        calls.append(url)
        return io.BytesIO(b"model-bytes")

    monkeypatch.setattr(langid, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(langid.urllib.request, "urlopen", fake_urlopen)
    first = resolve_model("https://example.org/lid.bin")
    second = resolve_model("https://example.org/lid.bin")
    assert first == second == tmp_path / "cache" / "lid.bin"
    assert first.read_bytes() == b"model-bytes" and len(calls) == 1
    assert [p.name for p in first.parent.iterdir()] == ["lid.bin"]  # no temp file left behind
