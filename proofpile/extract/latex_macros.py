"""User macros of a LaTeX project: read their definitions, expand their uses, within a fixed budget.

Papers lean on private shorthand (`\\eps`, `\\Eq{43}`, `\\norm{x}`) that means nothing to a model that never saw
the preamble, and the preamble itself is dropped. Expanding the shorthand keeps the mathematics readable.

No LaTeX library for Python expands macros with arguments and a default optional argument while keeping the
rest of the source intact (pylatexenc parses to nodes and re-serialises lossily; plasTeX runs a whole TeX
engine), so this is a small hand-written scanner. It expands only what is safe to expand textually:
`\\newcommand` and friends, `\\def` with undelimited `#1#2...` parameters, `\\DeclareMathOperator` and
xparse commands whose arguments are all mandatory. Definitions that drive TeX's machinery (`@` names,
`\\expandafter`, `\\csname`, nested definitions) are left alone: pasting them into text helps no one.

A hostile or buggy macro (`\\def\\a{\\a\\a}`) cannot hang the run: each expansion may nest `max_depth` deep,
and the whole document has a budget of expansions and of characters produced; when a budget is spent, the
rest is left as written and a flag says so.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# commands whose replacement would wreck the document's structure or the cleaner's own landmarks
PROTECTED = frozenset(
    ["begin", "end", "section", "subsection", "subsubsection", "chapter", "part", "paragraph", "subparagraph", "item", "label", "ref", "eqref", "cite", "title", "author", "abstract", "maketitle", "input", "include", "subfile", "import", "subimport", "caption", "footnote", "emph", "textbf", "textit", "par", "appendix", "bibliography", "bibliographystyle", "printbibliography", "includegraphics", "usepackage", "documentclass", "newcommand", "renewcommand", "def"]
)
# bodies that program TeX rather than abbreviate text
_MACHINERY = re.compile(
    r"\\(?:[A-Za-z]+@|@[A-Za-z@])|\\(?:[gex]?def|let|futurelet|newcommand|renewcommand|providecommand|csname|expandafter|catcode"
    r"|afterassignment|makeatletter|NewDocumentCommand|DeclareDocumentCommand)\b"
)

_DEF_START = re.compile(
    r"\\(?P<kind>newcommand|renewcommand|providecommand|DeclareRobustCommand|DeclareMathOperator"
    r"|NewDocumentCommand|RenewDocumentCommand|ProvideDocumentCommand|DeclareDocumentCommand"
    r"|(?:long\s*\\|global\s*\\)*[gex]?def)(?![A-Za-z])(?P<star>\*?)"
)
_CS = re.compile(r"\\(?:([A-Za-z]+)|.)", re.DOTALL)
_PARAM = re.compile(r"##|#([1-9])")
_ENDS_IN_WORD = re.compile(r"\\[A-Za-z]+$")


@dataclass(frozen=True)
class Macro:
    name: str
    nargs: int = 0
    default: str | None = None  # the first argument is optional when this is set
    body: str = ""


@dataclass
class ExpandStats:
    expanded: Counter = field(default_factory=Counter)
    depth_exceeded: int = 0
    budget_exhausted: bool = False


_GROUP_CHARS = {("{", "}"): re.compile(r"[\\{}]"), ("[", "]"): re.compile(r"[\\\[\]{]")}


#: an optional argument `[...]` longer than this is not taken for one (real ones are a few words: `\cite[p.~5]`,
#: a theorem title); without the cap, a run of unclosed `\macro[` costs a scan to the end of the text each
_MAX_OPTIONAL_CHARS = 1024
#: texts at least this long get their brace pairs found once, in one pass (`_brace_pairs`)
_PAIRED_FROM = 1024
_pairs_cache: list[tuple[str, dict[int, int]]] = []  # the last few long texts asked about, newest last


def _brace_pairs(text: str) -> dict[int, int]:
    """Every `{` of `text` as TeX reads it from the start -> the index of its `}` (-1 when unclosed).

    `read_group` on an unclosed `{` scans to the end of the text; callers ask at every macro use, so a run of
    `\\f{` without closers was quadratic (a 60 KB file: 77 s). One pass over the text answers every such
    question; it is kept for the last few texts because callers walk one text (a file, a macro body) at a time.
    """
    for cached, pairs in _pairs_cache:
        if cached is text:
            return pairs
    pairs: dict[int, int] = {}
    stack: list[int] = []
    find = _GROUP_CHARS[("{", "}")].search
    j = 0
    while (m := find(text, j)) is not None:
        j = m.start()
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            stack.append(j)
            pairs[j] = -1
        elif stack:
            pairs[stack.pop()] = j
        j += 1
    _pairs_cache.append((text, pairs))
    del _pairs_cache[:-4]
    return pairs


def read_group(text: str, i: int, open_: str = "{", close: str = "}") -> tuple[str, int] | None:
    """The balanced group starting at text[i] == open_: (inside, index after the closing char)."""
    if i >= len(text) or text[i] != open_:
        return None
    if open_ == "{" and len(text) >= _PAIRED_FROM:
        end = _brace_pairs(text).get(i)
        if end is not None:  # else `{` is escaped as read from the start (`\\{`): scan from it as asked
            return (text[i + 1 : end], end + 1) if end >= 0 else None
    find = _GROUP_CHARS[(open_, close)].search  # jump between the only characters that matter
    limit = i + _MAX_OPTIONAL_CHARS if open_ == "[" else len(text)
    depth, j = 0, i
    while (m := find(text, j, limit)) is not None:
        j = m.start()
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
        elif open_ == "[" and c == "{":  # brackets inside braces do not close an optional argument
            g = read_group(text, j)
            if g is None:
                return None
            j = g[1]
            continue
        j += 1
    return None


def skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    return i


def _read_name(text: str, i: int) -> tuple[str, int] | None:
    """`{\\name}` or `\\name` -> ("name", end)."""
    i = skip_ws(text, i)
    braced = i < len(text) and text[i] == "{"
    j = skip_ws(text, i + 1) if braced else i
    m = _CS.match(text, j)
    if not m:
        return None
    name, j = m.group(0)[1:], m.end()
    if braced:
        j = skip_ws(text, j)
        if j >= len(text) or text[j] != "}":
            return None
        j += 1
    return name, j


def _parse_definition(text: str, m: re.Match) -> tuple[Macro | None, int, bool] | None:
    """(macro or None if it is one we do not expand, end of the definition, provide-only) or None if unparsable."""
    kind, star = m.group("kind"), m.group("star")
    got = _read_name(text, m.end())
    if got is None:
        return None
    name, i = got
    if kind.endswith("def"):
        j = text.find("{", i)
        if j < 0:
            return None
        params = text[i:j].strip()
        g = read_group(text, j)
        if g is None:
            return None
        if kind[-4:-3] in ("e", "x") or not re.fullmatch(r"(?:#[1-9])*", params.replace(" ", "")):
            return None, g[1], False  # delimited parameters: TeX pattern matching, not expanded
        nargs = params.count("#")
        return Macro(name, nargs, None, g[0]), g[1], False
    if kind == "DeclareMathOperator":
        g = read_group(text, skip_ws(text, i))
        if g is None:
            return None
        op = "\\operatorname*" if star else "\\operatorname"
        return Macro(name, 0, None, f"{op}{{{g[0]}}}"), g[1], False
    if kind.endswith("DocumentCommand"):
        spec = read_group(text, skip_ws(text, i))
        if spec is None:
            return None
        body = read_group(text, skip_ws(text, spec[1]))
        if body is None:
            return None
        letters = spec[0].replace(" ", "").replace("\n", "")
        if letters and set(letters) != {"m"}:
            return None, body[1], False  # optional/starred xparse arguments need TeX's conditionals
        return Macro(name, len(letters), None, body[0]), body[1], kind.startswith("Provide")
    nargs, default = 0, None
    i = skip_ws(text, i)
    if (g := read_group(text, i, "[", "]")) is not None:
        if not g[0].strip().isdigit():
            return None
        nargs, i = int(g[0].strip()), skip_ws(text, g[1])
        if (g := read_group(text, i, "[", "]")) is not None:
            default, i = g[0], skip_ws(text, g[1])
    body = read_group(text, i)
    if body is None:
        return None
    return Macro(name, nargs, default, body[0]), body[1], kind == "providecommand"


def expandable(macro: Macro) -> bool:
    if not macro.name.isalpha() or macro.name in PROTECTED or not 0 <= macro.nargs <= 9:
        return False
    if _MACHINERY.search(macro.body):
        return False
    used = {int(d) for d in re.findall(r"(?<!#)#([1-9])", macro.body)}
    return all(d <= macro.nargs for d in used)


def find_definitions(text: str, macros: dict[str, Macro] | None = None) -> tuple[dict[str, Macro], str, int]:
    """Record the definitions in ``text`` (in order, later ones winning as in TeX) into ``macros``.

    Returns (macros, text with every parsed definition cut out, definitions seen but not expandable).
    """
    macros = {} if macros is None else macros
    kept, pos, skipped = [], 0, 0
    for m in _DEF_START.finditer(text):
        if m.start() < pos:
            continue  # inside a definition already consumed
        got = _parse_definition(text, m)
        if got is None:
            continue
        macro, end, provide_only = got
        kept.append(text[pos : m.start()])
        pos = end
        if macro is None or not expandable(macro):
            skipped += 1
            if macro is not None:
                macros.pop(macro.name, None)  # a redefinition we cannot follow must not leave a stale body
            continue
        if provide_only and macro.name in macros:
            continue
        macros[macro.name] = macro
    kept.append(text[pos:])
    return macros, "".join(kept), skipped


def _read_arg(text: str, i: int) -> tuple[str, int] | None:
    i = skip_ws(text, i)
    if i >= len(text):
        return None
    if text[i] == "{":
        return read_group(text, i)
    if text[i] == "\\":
        m = _CS.match(text, i)
        return (m.group(0), m.end()) if m else None
    if text[i] in "}":
        return None
    return text[i], i + 1


class _Budget:
    def __init__(self, max_expansions: int, max_chars: int):
        self.expansions_left = max_expansions
        self.chars_left = max_chars
        self.spent = False


def expand(
    text: str,
    macros: dict[str, Macro],
    max_depth: int = 12,
    max_expansions: int = 100_000,
    max_growth: float = 2.0,
    stats: ExpandStats | None = None,
) -> tuple[str, ExpandStats]:
    """Replace uses of ``macros`` in ``text``, re-expanding replacements up to ``max_depth`` deep.

    The output may grow by at most ``max_growth`` x the input (plus 64 KiB) and use at most ``max_expansions``.
    """
    stats = stats or ExpandStats()
    if not macros or "\\" not in text:
        return text, stats
    budget = _Budget(max_expansions, int(len(text) * max_growth) + 65536)
    out = _expand(text, macros, 0, max_depth, budget, stats)
    stats.budget_exhausted = stats.budget_exhausted or budget.spent
    return out, stats


def _expand(text: str, macros: dict[str, Macro], depth: int, max_depth: int, budget: _Budget,
            stats: ExpandStats) -> str:
    out: list[str] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _CS.search(text, pos)
        if m is None:
            break
        name = m.group(1)
        macro = macros.get(name) if name else None
        if macro is None or budget.spent:
            out.append(text[pos : m.end()])
            pos = m.end()
            continue
        args, i = [], m.end()
        if macro.default is not None:
            g = read_group(text, skip_ws(text, i), "[", "]")
            if g is not None:
                args.append(g[0])
                i = g[1]
            else:
                args.append(macro.default)
        while len(args) < macro.nargs:
            got = _read_arg(text, i)
            if got is None:
                break
            args.append(got[0])
            i = got[1]
        if len(args) < macro.nargs:  # not enough arguments left: leave the use as written
            out.append(text[pos : m.end()])
            pos = m.end()
            continue
        body = macro.body
        if macro.nargs:
            body = _PARAM.sub(lambda p, a=args: "#" if p.group(1) is None else a[int(p.group(1)) - 1], body)
        budget.expansions_left -= 1
        budget.chars_left -= len(body)
        if budget.expansions_left < 0 or budget.chars_left < 0:
            budget.spent = True
            out.append(text[pos:])
            return "".join(out)
        stats.expanded[name] += 1
        out.append(text[pos : m.start()])
        if depth + 1 >= max_depth:
            stats.depth_exceeded += 1
            out.append(body)
        else:
            out.append(_expand(body, macros, depth + 1, max_depth, budget, stats))
        # `\\foo{x}y` with a body ending in a control word must not fuse into one longer name
        if i < n and text[i].isalpha() and _ENDS_IN_WORD.search(out[-1]):
            out.append(" ")
        pos = i
    out.append(text[pos:])
    return "".join(out)
