"""Stage 1 of OpenWebMath: decide from the raw HTML, cheaply, which pages are worth the full extraction.

Fewer than 1 page in 100 of a crawl holds math (OpenWebMath kept ~0.4%), and the math-preserving extraction
costs ~100x a scan of the bytes, so almost every page must be dropped before it. Two stages:

A. **markers**: one Aho-Corasick pass (ahocorasick-rs) over the raw HTML for fixed strings.
   - *markup* markers are math that a renderer put in the page or will render (`<math`, `math/tex` scripts,
     KaTeX/MathJax output classes, `math-container`, TeX image services): the page goes on to extraction.
   - *hint* markers only say math could be there (a renderer's name, `latex`, `[tex]`, a backslash LaTeX
     command, `$$`): the page goes to stage B. Ordinary sites load MathJax in their template, and their
     scripts are full of backslashes, so these alone decide nothing.
   - neither: dropped, reason ``no_math_signal``.
B. **text**: a plain-text rendering by resiliparse (no main-content selection, ~20x cheaper than the
   extraction), then the page goes on if it shows at least ``min_formulas`` TeX formulas (`$...$`, `\\(...\\)`,
   `$$...$$`, `\\[...\\]`, `\\begin{equation}`, `[tex]...[/tex]`) or the MathScore classifier gives the
   text at least ``threshold``; otherwise dropped, reason ``no_math_in_text``.

OpenWebMath used the same shape (keywords, then a text classifier on a cheap rendering of pages with a
backslash command). The way a page went on is stored in ``metadata["prefilter"]``: "markup", "tex_in_text"
or "math_score" (or "unrendered": resiliparse could not parse a page with a hint, so the extractor judges it).
The funnel shows each stage's pass rate and cost from the counters ``stage_markers_markup`` and
``stage_markers_hint`` (pages sent on by stage A), ``stage_text_passed`` (by stage B), ``stage_markers_chars``
and ``stage_text_chars`` (characters each stage read): the funnel row's ``stages``, without the prefix.
Characters rather than seconds, so the manifest stays the same on every run; bench/web_prefilter.py measures
each stage's MB/s, which turns them into CPU time.
"""

from __future__ import annotations

import re

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field, model_validator

from proofpile.stage_registry import StageConfig, declare_stage, recipe_path

#: math markup: a page carrying one of these holds formulas (or is about to render them)
MARKUP_MARKERS = (
    # MathML, bare or namespaced (Temml, Wikipedia and MathJax's assistive MathML all emit it)
    "<math", "<mml:math", "<m:math",
    # MathJax 2 source scripts and its rendered output
    "math/tex", "math/mml", "math/asciimath", "MathJax_Preview", "MathJax_Display", "MathJax_SVG",
    "MathJax_CHTML", 'class="MathJax"', "class='MathJax'",
    # MathJax 3/4 output
    "mjx-container", "<mjx-", "data-mml-node", "data-latex=",
    # KaTeX output and the source it may keep in attributes
    "katex-mathml", "katex-html", "katex-display", 'class="katex"', "data-tex=",
    # Stack Exchange, Wikipedia, WordPress's LaTeX images, plain `class="tex"` spans
    "math-container", "mwe-math-element", "mwe-math-fallback", 'class="tex"', "class='tex'", 'class="latex"',
    "class='latex'",
    # TeX image services
    "latex.php", "codecogs", "tex.cgi", "mathtex.cgi", "mimetex.cgi", "cht=tx", "latex.codecogs",
)  # fmt: skip

# LaTeX math commands. Left out on purpose: names that are also JavaScript/JSON string escapes followed by a
# word (\nu, \to, \tan, \theta, \ne, \neq, \bar, \b..., \r..., \u..., \x...) would match minified scripts
# ("\nu" is a newline before "u..."); their pages nearly always use other commands too.
LATEX_COMMANDS = (
    # structure
    "frac", "dfrac", "tfrac", "sqrt", "sum", "prod", "int", "iint", "oint", "lim", "limsup", "liminf",
    "infty", "partial", "nabla", "mathbb", "mathcal", "mathrm", "mathbf", "mathfrak", "operatorname",
    "left", "right", "cdot", "cdots", "ldots", "dots", "vdots", "ddots", "times", "div", "pm", "mp",
    "leq", "geq", "le", "ge", "approx", "equiv", "sim", "simeq", "cong", "propto", "ll", "gg",
    "subset", "subseteq", "supset", "supseteq", "in", "notin", "cup", "cap", "setminus", "emptyset",
    "forall", "exists", "neg", "land", "lor", "implies", "iff", "Rightarrow", "Leftarrow",
    "Leftrightarrow", "rightarrow", "leftarrow", "mapsto", "circ", "oplus", "otimes", "perp", "angle",
    "overline", "underline", "hat", "tilde", "vec", "dot", "ddot", "binom", "choose", "pmod", "bmod",
    "log", "ln", "exp", "sin", "cos", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "det", "dim", "ker", "gcd", "max", "min", "sup", "inf", "deg", "boxed", "mathit",
    # Greek letters that are no string escape
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "iota", "kappa",
    "lambda", "mu", "xi", "pi", "sigma", "phi", "varphi", "chi", "psi", "omega",
    "Gamma", "Delta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega",
)  # fmt: skip

#: hints: math may be in the page's text; stage B looks
HINT_MARKERS = (
    "MathJax", "mathjax", "katex", "KaTeX", "temml", "latex", "LaTeX", "[tex]", "[math]", "[latex]",
    "$$", "\\begin{", "\\(", "\\[",
    *dict.fromkeys("\\" + c for c in LATEX_COMMANDS),
)

#: inline `$...$`: no space just inside the dollars (so "$5 and $10" is no formula), one line, bounded
_INLINE = r"(?<![\\$\w])\$(?=[^\s$])([^$\n]{1,300}?)(?<=[^\s\\])\$(?![\w$])"
_TEX_IN_TEXT = re.compile(
    r"\$\$(.{1,3000}?)\$\$"
    r"|\\\[(.{1,3000}?)\\\]"
    r"|\\\((.{1,1000}?)\\\)"
    r"|\\begin\{(?:equation|align|gather|multline|eqnarray|displaymath)\*?\}()"
    r"|\[(?:tex|latex|math)\](.{1,1000}?)\[/(?:tex|latex|math)\]"
    r"|" + _INLINE,
    re.DOTALL,
)
#: what makes the inside of delimiters TeX rather than money, a shell variable or a template placeholder: a TeX
#: operator, or one letter (with a prime or digit)
_TEXISH = re.compile(r"[\\^_{}=<>+]|^[A-Za-z]$|^[A-Za-z]['0-9]?$")

#: URLs are left out of what the classifier reads: their random ids and digits look like formulas to it (a real
#: list of .onion links scores 0.97 with them, 0.02 without)
_URL = re.compile(r"\S*://\S*|\bwww\.\S+")


def count_tex_formulas(text: str, limit: int = 1_000_000) -> int:
    """Formulas written in TeX in a page's plain text, up to ``limit`` (the prefilter only needs a few)."""
    n = 0
    for m in _TEX_IN_TEXT.finditer(text):
        inside = next((g for g in m.groups() if g is not None), "")
        if m.group(4) is None and not _TEXISH.search(inside.strip()):
            continue
        n += 1
        if n >= limit:
            break
    return n


class MarkerScan:
    """Stage A. The automaton is built on first use and left out of pickles (steps travel to workers)."""

    def __init__(self):
        self._automaton = None

    @property
    def automaton(self):
        if self._automaton is None:
            import ahocorasick_rs

            # leftmost-first with the markup markers listed first: where a hint and a markup marker start at the
            # same place ("katex" / "katex-mathml"), the markup one is reported. On bytes with a DFA: ~1.7x the
            # speed of the default automaton on str (bench/web_prefilter.py), encoding included
            self._automaton = ahocorasick_rs.BytesAhoCorasick(
                [m.encode() for m in MARKUP_MARKERS + HINT_MARKERS], matchkind=ahocorasick_rs.MatchKind.LeftmostFirst,
                implementation=ahocorasick_rs.Implementation.DFA)
        return self._automaton

    def __call__(self, html: str | bytes) -> str | None:
        """'markup', 'hint' or None."""
        data = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
        matches = self.automaton.find_matches_as_indexes(data)
        if not matches:
            return None
        n_markup = len(MARKUP_MARKERS)
        return "markup" if any(i < n_markup for i, _, _ in matches) else "hint"

    def __getstate__(self):
        return {**self.__dict__, "_automaton": None}


def plain_text(html: str) -> str:
    """Stage B's rendering: every visible text, alt texts included (TeX image services put the TeX there).
    resiliparse rather than the extractor: no main-content selection, no math conversion, ~1,300 pages/s."""
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, preserve_formatting=True, main_content=False, alt_texts=True,
                              list_bullets=False)


class MathPrefilter(BaseFilter):
    """Keeps pages that may hold math (see the module docstring)."""

    name = "math prefilter"

    def __init__(self, threshold: float = 0.5, min_formulas: int = 1, model: str | None = None,
                 exclusion_writer=None):
        super().__init__(exclusion_writer)
        from proofpile.filters.math_classifier import MathClassifier

        self.threshold = threshold
        self.min_formulas = min_formulas
        self.scan = MarkerScan()
        self.classifier = MathClassifier(model)

    def branch(self, html: str) -> tuple[str | None, str]:
        """(how the page goes on, or None; the stage that decided: "markers" or "text")."""
        size = len(html)
        self.stat_update("stage_markers_chars", value=size)
        found = self.scan(html)
        if found is None:
            return None, "markers"
        if found == "markup":
            self.stat_update("stage_markers_markup")
            return "markup", "markers"
        self.stat_update("stage_markers_hint")
        self.stat_update("stage_text_chars", value=size)
        try:
            text = plain_text(html)
        except Exception:  # noqa: BLE001 - a page resiliparse cannot parse goes on to the real extractor
            text = None
        if text is None:
            verdict = "unrendered"
        elif self.min_formulas and count_tex_formulas(text, self.min_formulas) >= self.min_formulas:
            verdict = "tex_in_text"
        elif self.classifier.score(_URL.sub(" ", text)) >= self.threshold:
            verdict = "math_score"
        else:
            verdict = None
        if verdict is not None:
            self.stat_update("stage_text_passed")
        return verdict, "text"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        branch, stage = self.branch(doc.text)
        if branch is None:
            return False, "no_math_signal" if stage == "markers" else "no_math_in_text"
        doc.metadata["prefilter"] = branch
        self.stat_update(f"branch_{branch}")
        return True


_DEFAULT: MathPrefilter | None = None


def prefilter_branch(html: str) -> str | None:
    """How a page would go on through the default prefilter ("markup", "tex_in_text", "math_score"), or None."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = MathPrefilter()
    return _DEFAULT.branch(html)[0]


class PrefilterStage(StageConfig):
    """OpenWebMath stage 1, on raw HTML (proofpile.filters.math_prefilter): markers, then a plain-text look."""

    threshold: float = Field(0.5, ge=0.0, le=1.0,
                             description="MathScore of the plain-text rendering that lets a page with only a "
                                         "hint marker and no TeX formula go on")
    min_formulas: int = Field(1, ge=0, description="TeX formulas in the plain-text rendering that let a page with "
                                                   "only a hint marker go on (0: the classifier alone decides)")
    model: str | None = Field(None, description="fastText MathScore model; none = the one shipped in the package")

    @model_validator(mode="before")
    @classmethod
    def _no_min_chars(cls, data):
        # recipes written for the one-stage prefilter: say what replaced the key rather than only refusing it
        if isinstance(data, dict) and "min_chars" in data:
            raise ValueError("min_chars is gone: pages without math markup are now judged on their plain text "
                             "(prefilter.threshold, prefilter.min_formulas)")
        return data


@declare_stage("prefilter", config=PrefilterStage, where="per_document", order=30,
               purpose="raw-HTML math prefilter: MathJax/KaTeX/MathML markup markers go on; pages with only a "
                       "hint (a renderer's name, LaTeX commands) go on if their plain text shows TeX or MathScore",
               signals=("prefilter",))
def _stage(cfg, plan):
    return MathPrefilter(threshold=cfg.threshold, min_formulas=cfg.min_formulas, model=recipe_path(plan, cfg.model))
