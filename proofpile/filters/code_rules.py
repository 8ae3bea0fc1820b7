"""Per-language keep/drop rules that turn raw GitHub source files into AlgebraicStack.

The rules are the facts of the original LLEMMA build (import/include whitelists, size and density caps, a few
format sniffers), re-implemented with its known bugs fixed: the C header list lost ``fftw3.h`` and ``rfftw.h``
to a missing comma, Python imports were matched as substrings (``import numpyro`` counted as numpy, a commented
out import counted too), empty files crashed the density check, and benchmark copies (miniF2F, ProofNet) and
dated AFP mirrors went straight into the corpus.

``check`` is the plain-Python core: one call per file, no I/O, no datatrove. ``CodeRulesFilter`` wraps it as a
datatrove step. Every verdict carries the signals it computed so a later step (or a user re-thresholding)
can reuse them without reading the text again.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from datatrove.data import Document
from datatrove.utils.logging import logger
from datatrove.pipeline.filters.base_filter import BaseFilter

from proofpile.stage_registry import StageConfig, declare_stage

LANGUAGES: tuple[str, ...] = (
    "python",
    "c",
    "cpp",
    "haskell",
    "julia",
    "r",
    "maple",
    "tex",
    "jupyter",
    "gap",
    "idris",
    "agda",
    "fortran",
    "coq",
    "lean",
    "isabelle",
    "matlab",
)

# Extensions are matched case-sensitively by the repo walker, hence both spellings where both occur in the wild.
# Maple worksheets (.mw, .mws) are XML/binary-ish containers rather than source, so only text formats are listed.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "python": (".py",),
    "c": (".c", ".h"),
    "cpp": (".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx", ".h++", ".c++"),
    "haskell": (".hs", ".lhs"),
    "julia": (".jl",),
    "r": (".r", ".R"),
    "maple": (".mpl", ".maple"),
    "tex": (".tex",),
    "jupyter": (".ipynb",),
    "gap": (".g", ".gd", ".gi", ".gap"),
    "idris": (".idr", ".lidr"),
    "agda": (".agda", ".lagda"),
    "fortran": (".f", ".f90", ".f95", ".f03", ".for", ".F", ".F90"),
    "coq": (".v",),
    "lean": (".lean",),
    "isabelle": (".thy",),
    "matlab": (".m",),
}

MAX_BYTES = 1_048_575
MAX_DENSITY = 0.5


@dataclass(frozen=True)
class Verdict:
    keep: bool
    reason: str | None = None
    signals: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------------------
# shared measurements

_DIGITS = "0123456789"
_DELETE_DIGITS = str.maketrans("", "", _DIGITS)
# the ASCII characters str.split() treats as whitespace, so the ASCII fast path agrees with the general one
_DELETE_ASCII_SPACE = str.maketrans("", "", " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")


def numerical_density(text: str) -> float:
    """Share of ASCII digits among non-whitespace characters; 0.0 when there is nothing but whitespace.

    Digit-heavy files are data tables and generated constants, not code anyone learns mathematics from.
    str.translate is the fastest pure-stdlib route for ASCII text (about 10x a per-character loop) but
    degrades badly once the string holds wider characters, so non-ASCII text takes the str.count route.
    """
    if text.isascii():
        digits = len(text) - len(text.translate(_DELETE_DIGITS))
        visible = len(text.translate(_DELETE_ASCII_SPACE))
    else:
        digits = sum(map(text.count, _DIGITS))
        visible = len("".join(text.split()))
    return digits / visible if visible else 0.0


def _utf8_size_exceeds(text: str, max_bytes: int) -> bool:
    # a character is 1 to 4 UTF-8 bytes, so most texts are decided without encoding them
    n = len(text)
    if n > max_bytes:
        return True
    if n * 4 <= max_bytes or text.isascii():
        return False
    return len(text.encode("utf-8", "surrogatepass")) > max_bytes


def standard_filter(text: str, max_bytes: int = MAX_BYTES, max_density: float = MAX_DENSITY) -> Verdict:
    """The size and digit-density gate every language shares (with its own caps for some)."""
    if not text or text.isspace():
        return Verdict(False, "empty")
    if _utf8_size_exceeds(text, max_bytes):
        return Verdict(False, "too_large")
    density = numerical_density(text)
    signals = {"numerical_density": density}
    if density > max_density:
        return Verdict(False, "numerical_density", signals)
    return Verdict(True, None, signals)


def _drop(reason: str, signals: dict[str, Any]) -> Verdict:
    return Verdict(False, reason, signals)


def _with(base: Verdict, **extra: Any) -> dict[str, Any]:
    return {**base.signals, **extra}


# Speed note for the patterns below: Python's re can only skip ahead quickly when a pattern starts with a
# literal (or a small set of first characters). A leading \b or a MULTILINE ^ makes it try every offset,
# which measured 5-10x slower on real files. So patterns start with their keyword, a lookbehind placed after
# the keyword re-checks its left edge, and "at the start of a line" is checked in Python on the few hits.
def _words(*words: str, left: str = r"\w") -> str:
    return "(?:" + "|".join(rf"{w}(?<!{left}{w})" for w in words) + r")\b"


def _at_line_start(text: str, pos: int) -> bool:
    return not text[text.rfind("\n", 0, pos) + 1 : pos].strip(" \t")


# --------------------------------------------------------------------------------------------------------------
# Python

PYTHON_MATH_MODULES = frozenset(
    "numpy scipy sympy sage numba numexpr theano statsmodels networkx mpmath pymc3 astropy cupy pycuda cvxpy "
    "pyomo jax".split()
)

# one import statement, matched where a statement can start (see _import_statements)
_PY_STATEMENT = re.compile(
    r"[ \t]*(?:import[ \t]+(?P<names>[^\n#;\\]*(?:\\\n[^\n#;\\]*)*)"
    r"|from[ \t]+(?P<mod>[A-Za-z_][\w.]*)[ \t]+import\b)"
)
# string literals and comments, consumed left to right so quotes inside comments and '#' inside strings
# cannot confuse the scan
_PY_SKIP = re.compile(
    r"\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)"
    r"|\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.)*'?|\#[^\n]*"
)


def _import_statements(text: str):
    """Import statements at a line start (indentation allowed) or after a ';', found from each "import"."""
    pos = text.find("import")
    while pos >= 0:
        stmt = text.rfind("\n", 0, pos) + 1
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end < 0 else line_end
        resume = line_end
        while True:
            m = _PY_STATEMENT.match(text, stmt)
            if m:
                yield m
                resume = max(resume, m.end())
            semicolon = text.find(";", stmt, line_end)
            if semicolon < 0:
                break
            stmt = semicolon + 1
        pos = text.find("import", resume)


def _top_modules(m: re.Match) -> list[str]:
    if m.group("mod") is not None:
        return [m.group("mod").split(".", 1)[0]]
    names = m.group("names").replace("\\\n", " ").strip().strip("()")
    out = []
    for item in names.split(","):
        words = item.split()
        if words:
            out.append(words[0].split(".", 1)[0])
    return out


def python_math_imports(text: str) -> list[str]:
    """Sorted math modules the file really imports (not mentions in comments, strings or longer names)."""
    candidates = []
    for m in _import_statements(text):
        modules = PYTHON_MATH_MODULES.intersection(_top_modules(m))
        if modules:
            candidates.append((m.start(), modules))
    if not candidates:
        return []
    # drop candidates inside a docstring/string/comment; imports sit near the top, so the scan stops early
    found: set[str] = set()
    skips = _PY_SKIP.finditer(text, 0, candidates[-1][0] + 1)
    skip = next(skips, None)
    for start, modules in candidates:
        while skip is not None and skip.end() <= start:
            skip = next(skips, None)
        if skip is None or start < skip.start():
            found.update(modules)
    return sorted(found)


def _python(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text)
    if not base.keep:
        return base
    if text.lstrip().startswith("{"):
        return _drop("json", base.signals)
    imports = python_math_imports(text)
    signals = _with(base, math_imports=imports)
    return Verdict(True, None, signals) if imports else _drop("no_math_import", signals)


# --------------------------------------------------------------------------------------------------------------
# C and C++

_INCLUDE = re.compile(r"#[ \t]*include[ \t]*[<\"]([^>\"\n]+)[>\"]")

C_MATH_HEADERS = frozenset(
    ("fftw.h", "fftw3.h", "rfftw.h", "cblas.h", "blas.h", "lapacke.h", "nlopt.h", "petsc.h")
)
_GSL_HEADER = re.compile(r"gsl_\w*\.h")

CPP_MATH_DIRS = frozenset(("adept", "boost", "blitz", "Eigen", "deal.II", "dlib", "NTL", "mtl"))
CPP_MATH_FILES = frozenset(("armadillo", "adept.h", "adept_arrays.h"))
ALGLIB_HEADERS = frozenset(
    (
        "ap.h alglibinternal.h alglibmisc.h linalg.h solvers.h optimization.h interpolation.h "
        "specialfunctions.h statistics.h dataanalysis.h diffequations.h fasttransforms.h integration.h"
    ).split()
)


def _includes(text: str) -> list[str]:
    if "include" not in text:
        return []
    return [m.group(1).strip() for m in _INCLUDE.finditer(text) if _at_line_start(text, m.start())]


def _is_c_math_header(header: str) -> bool:
    parts = header.split("/")
    base = parts[-1]
    return base in C_MATH_HEADERS or parts[0] == "gsl" or bool(_GSL_HEADER.fullmatch(base))


def _is_cpp_math_header(header: str) -> bool:
    parts = header.split("/")
    if parts[-1] in CPP_MATH_FILES or parts[-1] in ALGLIB_HEADERS:
        return True
    return any(p in CPP_MATH_DIRS or p.lower().startswith("alglib") for p in parts[:-1])


def _c(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text)
    if not base.keep:
        return base
    found = sorted({h for h in _includes(text) if _is_c_math_header(h)})
    signals = _with(base, math_includes=found)
    return Verdict(True, None, signals) if found else _drop("no_math_include", signals)


def _cpp(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text, max_density=0.1)
    if not base.keep:
        return base
    found = sorted({h for h in _includes(text) if _is_cpp_math_header(h)})
    signals = _with(base, math_includes=found)
    return Verdict(True, None, signals) if found else _drop("no_math_include", signals)


# --------------------------------------------------------------------------------------------------------------
# Haskell

_HASKELL_MATH_IMPORT = re.compile(
    r"import(?<![^\n]import)[ \t]+(?:\{-#[^#]*#-\}[ \t]*)?(?:safe[ \t]+)?(?:qualified[ \t]+)?(?:\"[^\"\n]*\"[ \t]+)?"
    r"(Numeric\.LinearAlgebra|Numeric\.SpecFunctions|Numeric\.Vector|Statistics|Data\.Complex)"
    r"(?:\.[A-Z][\w.]*)?(?![\w.])"
)


def _haskell(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text)
    if not base.keep:
        return base
    found = sorted(set(_HASKELL_MATH_IMPORT.findall(text))) if "import" in text else []
    signals = _with(base, math_imports=found)
    return Verdict(True, None, signals) if found else _drop("no_math_import", signals)


# --------------------------------------------------------------------------------------------------------------
# Julia

JULIA_LARGE_BYTES = 100_000


def _julia(text: str, path: str, repo: str) -> Verdict:
    if not text or text.isspace():
        return Verdict(False, "empty")
    if text[0] in "%{[":
        return Verdict(False, "not_julia")
    if not _utf8_size_exceeds(text, JULIA_LARGE_BYTES - 1):
        return Verdict(True)
    # Large Julia files are mostly generated data; the exception the original kept is big test suites.
    test_ratio = text.count("@test") / (text.count("\n") + 1)
    density = numerical_density(text)
    signals = {"numerical_density": density, "test_ratio": test_ratio}
    if test_ratio < 0.1:
        return _drop("too_large", signals)
    if density > MAX_DENSITY:
        return _drop("numerical_density", signals)
    return Verdict(True, None, signals)


# --------------------------------------------------------------------------------------------------------------
# R, Maple

_R_REQUIREMENT = re.compile(r"Requirement\s+\{\s+Identifier")


def _r(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text)
    if not base.keep:
        return base
    # .r/.R is shared with Mac resource files and Rebol-like configs; these are the shapes seen in the crawl
    if "/* Resource fork" in text:
        return _drop("resource_fork", base.signals)
    if _R_REQUIREMENT.search(text):
        return _drop("requirement_file", base.signals)
    head = text.lstrip()
    if head.startswith("<?xml"):
        return _drop("xml", base.signals)
    if head.startswith("{"):
        return _drop("json", base.signals)
    return base


def _maple(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text, max_bytes=100_000)
    if not base.keep:
        return base
    if text.lstrip().startswith("<?xml"):
        return _drop("xml", base.signals)
    return base


# --------------------------------------------------------------------------------------------------------------
# TeX, Jupyter (already Markdown)

_TEX_SECTIONING = re.compile(r"\\(?:chapter|(?:sub){0,2}section|(?:sub)?paragraph)\s*[{\[*]")


def _tex(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text, max_bytes=10_000_000)
    if not base.keep:
        return base
    if "latex/" in path:
        return _drop("latex_path", base.signals)
    # gnuplot's LaTeX terminals write an upper-case "GNUPLOT" banner; the lower-case word catches the rest
    if "gnuplot" in text or "GNUPLOT" in text:
        return _drop("gnuplot", base.signals)
    if not _TEX_SECTIONING.search(text):
        return _drop("no_sectioning", base.signals)
    return base


_JUPYTER_MATH = ("\\begin{equation}", "\\begin{align}", "import sympy", "from sympy")


def _jupyter(text: str, path: str, repo: str) -> Verdict:
    if not text or text.isspace():
        return Verdict(False, "empty")
    if any(marker in text for marker in _JUPYTER_MATH):
        return Verdict(True)
    return Verdict(False, "no_math_markers")


def _standard_only(text: str, path: str, repo: str) -> Verdict:
    return standard_filter(text)


# --------------------------------------------------------------------------------------------------------------
# pygments, for the two extensions that several languages share (.v and .m)

# Only pygments' cheap analyse_text heuristics are used, never its lexing. guess_lexer_for_filename does the same
# ranking but rescans every registered lexer's filename patterns on each call (~0.6 ms), so the candidates per
# extension are resolved once and ranked here by its sort key: score, then priority, then class name.
@functools.lru_cache(maxsize=None)
def _candidate_lexers(ext: str) -> tuple[type, ...]:
    from pygments.lexers import find_lexer_class_by_name, get_all_lexers

    probe = "x" + ext
    classes = []
    for _name, aliases, patterns, _mimes in get_all_lexers(plugins=False):
        if aliases and any(fnmatch.fnmatchcase(probe, p) for p in patterns):
            classes.append(find_lexer_class_by_name(aliases[0]))
    return tuple(classes)


_PYGMENTS_SAMPLE = 200_000  # the heuristics search the whole text; a prefix is enough to tell formats apart


def lexer_scores(ext: str, text: str) -> dict[str, float]:
    """analyse_text score of every pygments lexer registered for ``ext``, by lexer name."""
    sample = text[:_PYGMENTS_SAMPLE]
    return {cls.name: float(cls.analyse_text(sample)) for cls in _candidate_lexers(ext)}


def guess_lexer_name(ext: str, scores: dict[str, float]) -> str:
    """The lexer pygments' guess_lexer_for_filename would pick, given :func:`lexer_scores`."""
    by_name = {cls.name: cls for cls in _candidate_lexers(ext)}
    if not scores:
        return ""
    return max(scores, key=lambda n: (scores[n], by_name[n].priority, by_name[n].__name__))


# --------------------------------------------------------------------------------------------------------------
# Coq (.v)

_COQ_WORDS = re.compile(_words("Theorem", "Proof", "Qed", "Inductive", "Definition", "Fixpoint"))
_VERILOG_WORDS = re.compile(_words("pragma", "endmodule", "posedge", "negedge", "wire"))

# Which to trust for .v, markers or pygments? The markers. Pygments scores Verilog by *substrings* "reg",
# "wire", "assign" (at most 0.3, so "register" or "assignment" in a Coq comment tips a keyword-poor Coq file
# over to Verilog), and Coq only when both "Qed" and "Proof" occur. It never reaches the confidence at which
# we would overrule the markers, so for .v the lexer is recorded as a signal and Verilog is decided by the
# Verilog-only words; a Coq file is still required to show one of its own keywords.
_LEXER_OVERRULES = 0.8


def _coq(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text)
    if not base.keep:
        return base
    scores = lexer_scores(".v", text)
    lexer = guess_lexer_name(".v", scores)
    signals = _with(base, lexer=lexer)
    if _VERILOG_WORDS.search(text):
        return _drop("verilog", signals)
    if lexer.lower() == "verilog" and scores[lexer] >= _LEXER_OVERRULES:
        return _drop("verilog", signals)
    if not _COQ_WORDS.search(text):
        return _drop("no_coq_keyword", signals)
    if "This file was automatically generated" in text:
        return _drop("auto_generated", signals)
    return Verdict(True, None, signals)


# --------------------------------------------------------------------------------------------------------------
# MATLAB (.m)

_OBJC_IMPORT = re.compile(r"#[ \t]*import\b")
_OBJC_KEYWORD = re.compile(r"@(?:interface|implementation|property)\b")
_C_INCLUDE = re.compile(r"#[ \t]*include\b")
_C_MAIN = re.compile(r"\b(?:int|void)[ \t]+main[ \t]*\(")
_MATHEMATICA_COMMENT = re.compile(
    r"\(\*\s*(?:::\s*(?:Package|Section|Subsection|Text|Input|Title|Chapter)\s*::\s*\*\)|Mathematica\b)"
)
_MATHEMATICA_PACKAGE = re.compile(r"BeginPackage\[")
# f[x_] := ..., f[x_, n_Integer] := ... -- pattern-matching definitions; MATLAB has no ":=" at all
_MATHEMATICA_DEFINITION = re.compile(r"^[ \t]*[A-Za-z]\w*\[(?:[A-Za-z]\w*_\w*(?:,\s*)?)+\][ \t]*:=", re.M)


def _starts_a_line(pattern: re.Pattern, text: str) -> bool:
    return any(_at_line_start(text, m.start()) for m in pattern.finditer(text))


def _looks_objective_c(text: str) -> bool:
    return bool(_OBJC_KEYWORD.search(text)) or _starts_a_line(_OBJC_IMPORT, text)


def _looks_c(text: str) -> bool:
    return _starts_a_line(_C_INCLUDE, text) or ("main" in text and bool(_C_MAIN.search(text)))


def _looks_mathematica(text: str) -> bool:
    return (
        bool(_MATHEMATICA_COMMENT.search(text))
        or _starts_a_line(_MATHEMATICA_PACKAGE, text)
        or (":=" in text and bool(_MATHEMATICA_DEFINITION.search(text)))
    )


# Which to trust for .m? Again the markers decide, with pygments as a second opinion only where it is sharp.
# Its Objective-C heuristic gives 0.8 to anything like "[a b]" -- an ordinary MATLAB row vector -- so only
# its 1.0 (the @end/@implementation/@protocol keywords) can overrule, and only when the MATLAB lexer is not
# itself certain (a file opening with "function"). That catches e.g. protocol-only headers the markers miss.
# Mason (Perl templates) is recognised by pygments alone. Mathematica has no pygments lexer for .m at all,
# so it is detected by its package/cell markers and pattern definitions (f[x_] := ...).
def _matlab(text: str, path: str, repo: str) -> Verdict:
    base = standard_filter(text)
    if not base.keep:
        return base
    scores = lexer_scores(".m", text)
    lexer = guess_lexer_name(".m", scores)
    signals = _with(base, lexer=lexer)
    if _looks_objective_c(text):
        return _drop("objective_c", signals)
    if scores.get("Objective-C", 0.0) >= 1.0 and scores.get("Matlab", 0.0) < 1.0:
        return _drop("objective_c", signals)
    if _looks_c(text):
        return _drop("c_source", signals)
    if _looks_mathematica(text):
        return _drop("mathematica", signals)
    if scores.get("Mason", 0.0) >= _LEXER_OVERRULES:
        return _drop("mason", signals)
    return Verdict(True, None, signals)


# --------------------------------------------------------------------------------------------------------------
# Lean

_LEAN_VENDORED = ("_target/deps/", ".lake/", "lake-packages/")
_LEAN_DECL = re.compile(_words("theorem", "lemma", left=r"[\w.]") + r"[ \t\n]+([^\s:({\[]+)")
# miniF2F names problems by competition/year/number, or (for the hand-made ones) by topic plus a compressed
# statement that always carries digits; ProofNet by textbook exercise number.
_BENCHMARK_NAME = re.compile(
    r"mathd_(?:algebra|numbertheory)_[0-9]+\w*"
    r"|amc12[ab]?_[0-9]{4}_p[0-9]+\w*"
    r"|aime(?:I|II)?_[0-9]{4}_p[0-9]+\w*"
    r"|imo_[0-9]{4}_p[0-9]+\w*"
    r"|(?:algebra|induction|numbertheory)_(?=\w*[0-9])\w+"
    r"|exercise_[0-9]+(?:_[0-9]+[a-z]*)+",
    re.ASCII,
)
_BENCHMARK_REPO = re.compile(r"minif2f|proofnet", re.I)


def benchmark_theorems(text: str) -> tuple[int, int]:
    """(distinct benchmark-style theorem names, distinct theorem names) declared in a Lean file."""
    names = {n.rsplit(".", 1)[-1] for n in _LEAN_DECL.findall(text)}
    bench = sum(1 for n in names if _BENCHMARK_NAME.fullmatch(n))
    return bench, len(names)


def _lean(text: str, path: str, repo: str) -> Verdict:
    if any(p in path for p in _LEAN_VENDORED):
        return Verdict(False, "vendored_path")
    base = standard_filter(text)
    if not base.keep:
        return base
    if not ("theorem " in text or "lemma " in text or "example " in text):
        return _drop("no_theorem", base.signals)
    if repo and _BENCHMARK_REPO.search(repo):
        return _drop("benchmark_copy", base.signals)
    bench, total = benchmark_theorems(text)
    signals = _with(base, benchmark_names=bench)
    # two distinct benchmark names are already a copy; a single one counts when it is most of the file
    if bench >= 2 or (bench and 2 * bench >= total):
        return _drop("benchmark_copy", signals)
    return Verdict(True, None, signals)


# --------------------------------------------------------------------------------------------------------------
# Isabelle

# AFP release snapshots are named afp-YYYY-MM-DD (older) or afp-YYYY-N (Isabelle2021-1 era)
_AFP_RELEASE = re.compile(r"(?<![A-Za-z0-9])afp-[0-9]{4}-[0-9]{1,2}(?:-[0-9]{1,2})?(?![0-9])", re.I)


def _isabelle(text: str, path: str, repo: str) -> Verdict:
    if _AFP_RELEASE.search(path) or (repo and _AFP_RELEASE.search(repo)):
        return Verdict(False, "afp_mirror_copy")
    base = standard_filter(text)
    if not base.keep:
        return base
    if not ("theorem " in text or "lemma " in text):
        return _drop("no_theorem", base.signals)
    return base


# --------------------------------------------------------------------------------------------------------------

_RULES = {
    "python": _python,
    "c": _c,
    "cpp": _cpp,
    "haskell": _haskell,
    "julia": _julia,
    "r": _r,
    "maple": _maple,
    "tex": _tex,
    "jupyter": _jupyter,
    "gap": _standard_only,
    "idris": _standard_only,
    "agda": _standard_only,
    "fortran": _standard_only,
    "coq": _coq,
    "lean": _lean,
    "isabelle": _isabelle,
    "matlab": _matlab,
}
assert set(_RULES) == set(LANGUAGES) == set(EXTENSIONS)


def check(lang: str, text: str, path: str = "", repo: str = "") -> Verdict:
    """Decide whether one source file of ``lang`` belongs in AlgebraicStack."""
    try:
        rule = _RULES[lang]
    except KeyError:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}") from None
    return rule(text, path or "", repo or "")


class CodeRulesFilter(BaseFilter):
    """Datatrove face of :func:`check`; documents of languages it was not asked about pass through."""

    name = "code rules"

    def __init__(self, languages: list[str] | None = None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        chosen = tuple(languages) if languages is not None else LANGUAGES
        unknown = [lang for lang in chosen if lang not in _RULES]
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; expected some of {', '.join(LANGUAGES)}")
        self.languages = frozenset(chosen)
        self._seen = 0
        self._checked = 0

    def run(self, data, rank: int = 0, world_size: int = 1):
        yield from super().run(data, rank, world_size)
        # a rules filter that checked nothing did nothing: say why once rather than pass everything silently
        if self._seen and not self._checked:
            logger.warning(
                f"code rules: 0 of {self._seen} documents checked; the rules apply by `lang` metadata "
                f"(one of {', '.join(sorted(self.languages))}) and these documents have none of those"
            )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        meta = doc.metadata
        lang = meta.get("lang")
        self._seen += 1
        if lang not in self.languages:
            return True
        self._checked += 1
        verdict = _RULES[lang](doc.text, meta.get("path") or "", meta.get("repo") or "")
        meta.update(verdict.signals)
        return True if verdict.keep else (False, verdict.reason)


class CodeRulesStage(StageConfig):
    languages: list[str] | None = None


@declare_stage("code_rules", config=CodeRulesStage, where="per_document", order=20,
               purpose="per-language rules of the original AlgebraicStack build (math imports, theorem keywords, "
                       "vendored or generated files)",
               signals=("numerical_density", "test_ratio", "math_imports", "math_includes", "lexer",
                        "benchmark_names"))
def _stage(cfg, plan):
    return CodeRulesFilter(languages=cfg.languages)
