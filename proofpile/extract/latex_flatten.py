"""A LaTeX project as one document: find the main file, strip comments, inline what it includes.

A paper's text is spread over files (`\\input{sections/intro}`, `\\subfile{...}`, `\\subimport{dir/}{file}`),
and only the main file says in what order. Inlining is what the original pipeline skipped, losing every
multi-file paper's body but the part in the main file.

Comments are stripped from each file *before* inlining, so a commented-out `%\\input{old}` is not pulled in.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from proofpile.extract.latex_macros import find_definitions, read_group, skip_ws

TEX_SUFFIXES = (".tex", ".ltx", ".latex")
VERBATIM_ENVS = frozenset(
    ["verbatim", "verbatim*", "Verbatim", "Verbatim*", "BVerbatim", "LVerbatim", "lstlisting", "minted", "filecontents", "filecontents*"]
)
_VERB_DEFINERS = re.compile(r"\\(?:lstnewenvironment|DefineVerbatimEnvironment|newtcblisting)\s*\{([^}]+)\}")
_BEGIN_ENV = re.compile(r"\\begin\s*\{([^}]+)\}")
_INLINE_VERB = re.compile(r"\\(?:verb|lstinline)\*?([^A-Za-z\s{])(.*?)\1|\\(?:url|href)\s*\{[^}]*\}")
_STANDARD_INCLUDES = ("input", "include", "subfile", "import", "subimport", "inputfrom", "subinputfrom",
                      "includefrom", "subincludefrom")


def _include_pattern(names) -> re.Pattern:
    alts = "|".join(sorted(names, key=len, reverse=True))
    return re.compile(r"\\(?P<cmd>" + alts + r")(?![A-Za-z])\*?")


_INCLUDE = _include_pattern(_STANDARD_INCLUDES)
_DEFINER = re.compile(
    r"\\(?:newcommand|renewcommand|providecommand|DeclareRobustCommand|(?:New|Renew|Provide|Declare)DocumentCommand"
    r"|(?:long\s*\\)?g?def)\*?\s*\{?\s*\\([A-Za-z]+)"
)
_DEFINED_HERE = re.compile(
    r"\\(?:newcommand|renewcommand|providecommand|DeclareRobustCommand|(?:New|Renew|Provide|Declare)DocumentCommand"
    r"|let|g?def)\*?\s*\{?\s*$"
)
_USEPACKAGE = re.compile(r"\\(?:usepackage|RequirePackage)\s*(?:\[[^\]]*\])?\s*\{([^}]+)\}")
_DOCCLASS = re.compile(r"\\document(?:class|style)\s*(?:\[(?P<opt>[^\]]*)\])?\s*\{(?P<cls>[^}]*)\}")
BEGIN_DOC = re.compile(r"\\begin\s*\{document\}")
END_DOC = re.compile(r"\\end\s*\{document\}")
_BIBLIOGRAPHY = re.compile(r"\\bibliography\s*\{[^}]*\}")


# ---------------------------------------------------------------------------------------------------------- comments
def verbatim_envs(text: str) -> frozenset[str]:
    """The standard verbatim environments plus any the project defines (`\\lstnewenvironment{lean}`)."""
    extra = {m.group(1).strip() for m in _VERB_DEFINERS.finditer(text)}
    return VERBATIM_ENVS | extra if extra else VERBATIM_ENVS


def _comment_start(line: str) -> int:
    """Index of the `%` that starts a comment, or -1. `\\%` is a percent sign; `\\\\%` is a line break + comment."""
    if "%" not in line:
        return -1
    shielded: list[tuple[int, int]] = []
    if "\\verb" in line or "\\lstinline" in line or "\\url" in line or "\\href" in line:
        shielded = [(m.start(), m.end()) for m in _INLINE_VERB.finditer(line)]
    i = line.find("%")
    while i >= 0:
        k = i
        while k > 0 and line[k - 1] == "\\":
            k -= 1
        if (i - k) % 2 == 0 and not any(a <= i < b for a, b in shielded):
            return i
        i = line.find("%", i + 1)
    return -1


def strip_comments(text: str, envs: frozenset[str] | None = None) -> str:
    """Remove comments as TeX reads them, keeping verbatim-like environments byte for byte.

    A line that is only a comment disappears; `text%` followed by a newline joins the next line (TeX's
    meaning of a trailing `%`); `\\begin{comment}...\\end{comment}` (the comment package) is dropped.
    """
    envs = verbatim_envs(text) if envs is None else envs
    out: list[str] = []
    in_env: str | None = None
    join = False
    for line in text.split("\n"):
        if in_env is not None:
            end = f"\\end{{{in_env}}}"
            if end not in line:
                if in_env != "comment":
                    out.append(line)
                continue
            cut = line.index(end) + len(end)
            if in_env != "comment":
                out.append(line[:cut])
                line = line[cut:]
            else:
                line = line[cut:]
            in_env = None
            if not line.strip():
                continue
        c = _comment_start(line)
        code = line if c < 0 else line[:c]
        for m in _BEGIN_ENV.finditer(code):
            name = m.group(1).strip()
            if (name in envs or name == "comment") and f"\\end{{{name}}}" not in line[m.end():]:
                in_env = name
                code = line[: m.start()] if name == "comment" else line  # the rest of the line is verbatim
                c = -1 if name != "comment" else c
                break
        if c >= 0 and not code.strip():
            continue  # a comment-only line vanishes, and does not end a `%`-joined run
        if join and out:
            out[-1] += code.lstrip()
        else:
            out.append(code)
        join = c >= 0 and not code[-1:].isspace()
        if c >= 0 and not join:
            out[-1] = out[-1].rstrip()
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------------- the project
@dataclass
class Project:
    """The decoded text files of one paper, keyed by normalised relative POSIX path."""

    files: dict[str, str]
    _stripped: dict[str, str] = field(default_factory=dict, repr=False)
    _include_like: frozenset[str] | None = field(default=None, repr=False)
    _simple: dict[str, list[str]] | None = field(default=None, repr=False)
    _targets: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False)

    def stripped(self, path: str) -> str:
        if path not in self._stripped:
            self._stripped[path] = strip_comments(self.files[path])
        return self._stripped[path]

    def targets(self, path: str, main_dir: str, macros: dict[str, list[str]]) -> list[str]:
        """The files ``path`` includes, resolved for a main file in ``main_dir``; each file is scanned once."""
        key = (path, main_dir)
        if key not in self._targets:
            incs = _includes(self, path, self.stripped(path), main_dir, macros)
            self._targets[key] = list(dict.fromkeys(inc.target for inc in incs if inc.target))
        return self._targets[key]

    def tex_files(self) -> list[str]:
        return sorted(p for p in self.files if p.lower().endswith(TEX_SUFFIXES))

    @property
    def include_like(self) -> frozenset[str]:
        """User commands whose definition calls `\\input`/`\\subfile`/... (e.g. Open Logic's `\\olimport`)."""
        if self._include_like is None:
            names = set()
            for path in self.files:
                text = self.stripped(path)
                for m in _DEFINER.finditer(text):
                    body = _definition_body(text, m.end())
                    if body and m.group(1) not in _STANDARD and _INCLUDE.search(body):
                        names.add(m.group(1))
            self._include_like = frozenset(names)
        return self._include_like

    def simple_macros(self) -> dict[str, list[str]]:
        """Argument-free macros anywhere in the project, for include paths like `\\input{\\olpath/sty/x}`.

        Every value a name is given somewhere is kept: files redefine a path macro for their own depth.
        """
        if self._simple is not None:
            return self._simple
        values: dict[str, list[str]] = {}
        self._simple = values
        for path in sorted(self.files):
            macros: dict = {}
            find_definitions(self.stripped(path), macros)
            for k, v in macros.items():
                if v.nargs == 0 and v.default is None and v.body not in values.setdefault(k, []):
                    values[k].append(v.body)
        return values

    def resolve(self, ref: str, bases: list[str], suffixes=(".tex", ".ltx", "")) -> str | None:
        ref = ref.strip().strip('"')
        if not ref or "\\" in ref or ref.startswith("/"):
            return None
        for base in bases:
            p = posixpath.normpath(posixpath.join(base, ref))
            if p.startswith("../") or p == "..":
                continue
            for suf in suffixes:
                if p + suf in self.files:
                    return p + suf
        return None


_STANDARD = frozenset(_STANDARD_INCLUDES)


def _definition_body(text: str, i: int) -> str | None:
    """The replacement text of a definition whose name ends at ``i``: the last of its leading groups.

    `\\newcommand{\\x}[1][d]{body}`, `\\def\\x#1{body}`, `\\NewDocumentCommand\\x{ o m }{body}`: options are skipped,
    and for xparse the argument spec is the first brace group and the body the second.
    """
    i = skip_ws(text, i)
    if i < len(text) and text[i] == "}":
        i += 1
    groups: list[str] = []
    while len(groups) < 2:
        i = skip_ws(text, i)
        while i < len(text) and text[i] == "#" and i + 1 < len(text) and text[i + 1].isdigit():
            i = skip_ws(text, i + 2)
        if (opt := read_group(text, i, "[", "]")) is not None:
            i = opt[1]
            continue
        g = read_group(text, i)
        if g is None:
            break
        groups.append(g[0])
        i = g[1]
        if not re.fullmatch(r"\s*[!+]?\s*(?:[mosvtrRdDeE](?:\{[^{}]*\})?\s*)*", g[0]):
            break  # not an xparse spec: this was the body
    return groups[-1] if groups else None


@dataclass
class _Include:
    start: int
    end: int
    target: str | None
    ref: str
    kind: str  # the command, for subfiles' document-body rule


def _includes(project: Project, path: str, text: str, main_dir: str, macros: dict[str, list[str]]) -> list[_Include]:
    """Every include in ``text`` (a comment-stripped file), resolved against the project where possible."""
    found: list[_Include] = []
    cur = posixpath.dirname(path)
    custom = project.include_like
    pattern = _include_pattern((*_STANDARD_INCLUDES, *custom)) if custom else _INCLUDE
    for m in pattern.finditer(text):
        if _DEFINED_HERE.search(text, max(0, m.start() - 40), m.start()):
            continue  # `\\DeclareDocumentCommand \\olimport {...}`: the definition, not a use
        cmd, i = m.group("cmd"), m.end()
        if cmd in ("import", "subimport", "inputfrom", "subinputfrom", "includefrom", "subincludefrom"):
            d = read_group(text, skip_ws(text, i))
            f = read_group(text, skip_ws(text, d[1])) if d else None
            if not f:
                continue
            refs, end = [posixpath.join(a, b) for a in _subst(d[0], macros) for b in _subst(f[0], macros)], f[1]
            bases = [cur, main_dir] if cmd.startswith("sub") else [main_dir, cur]
        elif cmd in custom:
            opt = read_group(text, skip_ws(text, i), "[", "]")
            j = opt[1] if opt else i
            f = read_group(text, skip_ws(text, j))
            if not f:
                continue
            end = f[1]
            tail = read_group(text, skip_ws(text, end), "[", "]")
            end = tail[1] if tail else end
            dirs = _subst(opt[0], macros) if opt else [""]
            refs = [posixpath.join(a, b) for a in dirs for b in _subst(f[0], macros)]
            bases = [cur, main_dir]
        else:
            g = read_group(text, skip_ws(text, i))
            if g is not None:
                refs, end = _subst(g[0], macros), g[1]
            elif cmd == "input":  # the TeX primitive form: `\input file.tex`
                mm = re.match(r"[ \t]+([^\s{}\\%]+)", text[i:])
                if not mm:
                    continue
                refs, end = [mm.group(1)], i + mm.end()
            else:
                continue
            bases = [cur, main_dir] if cmd == "subfile" else [main_dir, cur]
        if any("#" in ref for ref in refs):
            continue  # a parameter inside a definition's body, not a file
        target = next((t for ref in refs if (t := project.resolve(ref, bases))), None)
        found.append(_Include(m.start(), end, target, refs[0], cmd))
    return found


def _subst(arg: str, macros: dict[str, list[str]]) -> list[str]:
    """The include path with argument-free macros replaced: every combination of their values, a few at most."""
    variants = [arg.strip()]
    for _ in range(4):
        nxt: list[str] = []
        for v in variants:
            m = re.search(r"\\([A-Za-z]+)", v)
            if m is None or m.group(1) not in macros:
                nxt.append(v)
                continue
            nxt += [v[: m.start()] + val + v[m.end():] for val in macros[m.group(1)]]
        if nxt == variants:
            break
        variants = nxt[:8]
    return variants


def _document_body(text: str) -> str | None:
    b = BEGIN_DOC.search(text)
    if not b:
        return None
    e = END_DOC.search(text, b.end())
    return text[b.end() : e.start() if e else len(text)]


# ------------------------------------------------------------------------------------------------------- main file
#: candidates whose include graphs are compared; past this, the conventionally named and longest files
MAX_MAIN_CANDIDATES = 64

@dataclass
class MainChoice:
    main: str | None
    candidates: list[str]
    ambiguous: bool


def find_main(project: Project) -> MainChoice:
    """The file LaTeX would be run on: `\\documentclass` + `\\begin{document}`, preferring the one reaching most files.

    A file that another candidate includes (a subfiles child) is not a root; among roots the one that pulls in
    the most `.tex` files wins, then a conventional name, then the longer file, then the name.
    """
    tex = project.tex_files()
    cands = [p for p in tex if _DOCCLASS.search(project.stripped(p)) and BEGIN_DOC.search(project.stripped(p))]
    if not cands:
        cands = [p for p in tex if BEGIN_DOC.search(project.stripped(p))]
    if not cands:
        return MainChoice(None, [], False)
    if len(cands) == 1:
        return MainChoice(cands[0], cands, False)
    macros = project.simple_macros()
    conventional = ("main.tex", "ms.tex", "paper.tex", "article.tex")
    ranked = cands
    if len(cands) > MAX_MAIN_CANDIDATES:  # real papers have a handful; thousands would make this quadratic
        ranked = sorted(cands, key=lambda c: (posixpath.basename(c).lower() in conventional, len(project.files[c]), c),
                        reverse=True)[:MAX_MAIN_CANDIDATES]
    # what each candidate reaches is kept as two numbers, not as a set: a project of thousands of candidates
    # that all include the same thousands of files would otherwise hold millions of entries
    n_tex, included = {}, set()
    cand_set = set(ranked)
    for c in ranked:
        reached = _reach(project, c, macros)
        n_tex[c] = sum(1 for p in reached if p.lower().endswith(TEX_SUFFIXES))
        included |= (reached & cand_set) - {c}
    roots = [c for c in ranked if c not in included] or ranked

    def rank(c: str):
        return (n_tex[c], posixpath.basename(c).lower() in conventional, len(project.files[c]), c)

    roots.sort(key=rank, reverse=True)
    best = roots[0]
    ambiguous = len(roots) > 1 and rank(roots[1])[:2] == rank(best)[:2]
    return MainChoice(best, cands, ambiguous)


def _reach(project: Project, start: str, macros: dict[str, list[str]]) -> set[str]:
    seen, todo = set(), [start]
    main_dir = posixpath.dirname(start)
    while todo:
        p = todo.pop()
        for target in project.targets(p, main_dir, macros):
            if target not in seen and target != start:
                seen.add(target)
                todo.append(target)
    return seen


# ---------------------------------------------------------------------------------------------------------- flatten
#: how many distinct names a per-paper list in the metadata keeps; the total is recorded beside it
META_LIST_CAP = 200
#: an inlining budget: a few hundred bytes of `\\input` fan-out (each file including the next three times,
#: twenty levels deep) otherwise asks for 3^20 copies. Real papers stay far below both.
MAX_INLINE_BYTES = 32 * 2**20
MAX_INLINES = 5_000


@dataclass
class NameList:
    """The first `META_LIST_CAP` distinct names in the order met, and how many were met in all."""

    items: list[str] = field(default_factory=list)
    total: int = 0
    _seen: set[str] = field(default_factory=set, repr=False)

    def add(self, name: str) -> None:
        self.total += 1
        if name not in self._seen and len(self.items) < META_LIST_CAP:
            self._seen.add(name)
            self.items.append(name)

    def __bool__(self) -> bool:
        return self.total > 0

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, name: str) -> bool:
        return name in self._seen

    def __eq__(self, other) -> bool:
        return list(self.items) == list(other) if isinstance(other, (list, NameList)) else NotImplemented


@dataclass
class Flat:
    text: str  # the whole document, comments stripped and includes inlined
    main: str
    inlined: NameList = field(default_factory=NameList)
    missing: NameList = field(default_factory=NameList)
    cycles: NameList = field(default_factory=NameList)
    packages: list[str] = field(default_factory=list)  # local .sty files, read for their macros only
    package_text: str = ""
    truncated: bool = False  # the inlining budget ran out: includes past that point were left out


def flatten(project: Project, main: str, inline_bbl: bool = False, max_depth: int = 20,
            max_inline_bytes: int = MAX_INLINE_BYTES, max_inlines: int = MAX_INLINES) -> Flat:
    """Inline every resolvable include of ``main`` recursively; a file already on the include stack is a cycle.

    Inlining stops for good once ``max_inlines`` files or ``max_inline_bytes`` characters have been inlined
    (`truncated`); the text up to there is kept, so cost and output grow at most linearly with the budget.
    """
    flat = Flat(text="", main=main)
    macros = project.simple_macros()
    main_dir = posixpath.dirname(main)
    budget = [max_inline_bytes, max_inlines]
    found: dict[tuple[str, bool], tuple[str, list[_Include]]] = {}  # a file included N times is scanned once

    def includes(path: str, body_only: bool) -> tuple[str, list[_Include]]:
        if (path, body_only) not in found:
            text = project.stripped(path)
            if body_only:
                body = _document_body(text)
                text = body if body is not None else text
            found[path, body_only] = text, _includes(project, path, text, main_dir, macros)
        return found[path, body_only]

    def spend(path: str) -> bool:
        size = len(project.files[path])
        if flat.truncated or budget[0] < size or budget[1] < 1:
            flat.truncated = True
            return False
        budget[0] -= size
        budget[1] -= 1
        return True

    def inline(path: str, stack: tuple[str, ...], body_only: bool) -> str:
        text, incs = includes(path, body_only)
        pieces, pos = [], 0
        for inc in incs:
            pieces.append(text[pos : inc.start])
            pos = inc.end
            if inc.target is None:
                flat.missing.add(inc.ref)
            elif inc.target in stack or len(stack) >= max_depth:
                flat.cycles.add(inc.target)
            elif not inc.target.lower().endswith(TEX_SUFFIXES) and inc.target.lower().endswith((".sty", ".cls")):
                _read_package(inc.target)
            elif spend(inc.target):
                flat.inlined.add(inc.target)
                child = project.stripped(inc.target)
                sub = inc.kind in ("subfile",) or inc.kind in project.include_like
                body_only = sub and bool(_DOCCLASS.search(child)) and "subfiles" in _DOCCLASS.search(child)["cls"]
                pieces.append("\n" + inline(inc.target, stack + (inc.target,), body_only) + "\n")
        pieces.append(text[pos:])
        return "".join(pieces)

    def _read_package(path: str) -> None:
        if path not in flat.packages and spend(path):
            flat.packages.append(path)
            flat.package_text += inline(path, (path,), False) + "\n"

    text = inline(main, (main,), False)
    # a subfiles root takes its preamble from the parent named in `\documentclass[parent]{subfiles}`
    dc = _DOCCLASS.search(project.stripped(main))
    if dc and dc["cls"].strip() == "subfiles" and dc["opt"]:
        parent = project.resolve(dc["opt"], [main_dir], (".tex", ""))
        if parent is None:
            flat.missing.add(dc["opt"])
        elif spend(parent):
            flat.inlined.add(parent)
            ptext = inline(parent, (main, parent), False)
            b = BEGIN_DOC.search(ptext)
            body = _document_body(text)
            text = (ptext[: b.start()] if b else ptext) + "\\begin{document}" + (body or "") + "\\end{document}"
    for m in _USEPACKAGE.finditer(text):
        for name in m.group(1).split(","):
            pkg = project.resolve(name.strip(), [main_dir], (".sty",))
            if pkg:
                _read_package(pkg)
    if inline_bbl:
        stem = posixpath.splitext(main)[0]

        def bbl(m: re.Match) -> str:
            arg = m.group(0)[m.group(0).index("{") + 1 : -1].split(",")[0].strip()
            target = project.resolve(stem + ".bbl", [""], ("",)) or project.resolve(arg, [main_dir], (".bbl",))
            if target is None or not spend(target):
                return m.group(0)
            flat.inlined.add(target)
            return project.stripped(target)

        text = _BIBLIOGRAPHY.sub(bbl, text)
    flat.text = text
    return flat
