"""A paper's LaTeX project -> one clean LaTeX document (and RedPajama's rules, for comparison).

Proof-Pile-2's arXiv subset used RedPajama's cleaner: cut everything before the first `\\section` (losing title
and abstract), strip comments with a regex that also eats the character before `%`, cut from `\\appendix` or the
bibliography on, expand argument-free macros only, and never inline `\\input`. The `proofpile` mode instead:

1. picks the main file and inlines what it includes (`latex_flatten`), comments stripped as TeX reads them;
2. keeps the title and abstract, drops the preamble, `\\maketitle`-style front matter, `\\includegraphics` and
   the bibliography; keeps theorem and proof environments; keeps the appendix unless told not to;
3. expands the user's macros, with arguments, within a budget (`latex_macros`).

`clean_project(files)` is the plain core; `LatexCleaner` is its datatrove step, fed by `ArxivReader`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from proofpile.extract.latex_flatten import (
    BEGIN_DOC,
    END_DOC,
    MAX_INLINE_BYTES,
    MAX_INLINES,
    META_LIST_CAP,
    Project,
    find_main,
    flatten,
    verbatim_envs,
)
from proofpile.extract.latex_macros import (
    ExpandStats,
    expand,
    find_definitions,
    read_group,
    skip_ws,
)

Mode = Literal["proofpile", "redpajama"]

# front matter that \maketitle typesets: names, addresses, dates; not mathematics
_FRONT_MATTER = (
    ["author", "address", "curraddr", "email", "urladdr", "affiliation", "affil", "altaffiliation", "institute", "thanks", "date", "dedicatory", "keywords", "subjclass", "correspondingauthor", "orcid", "authorrunning", "titlerunning", "shorttitle", "shortauthors", "shortauthor", "runningtitle", "runningauthor", "icmlauthor", "icmlaffiliation", "icmlcorrespondingauthor", "altaffiltext", "altaffilmark"]
)
_NOISE = re.compile(
    r"\\(?:maketitle|tableofcontents|listoffigures|listoftables|clearpage|cleardoublepage|newpage"
    r"|frontmatter|mainmatter|backmatter)(?![A-Za-z])[ \t]*"
)
_BIB_COMMANDS = ("bibliographystyle", "bibliography", "addbibresource", "nocite")
_BIB_ENV = re.compile(r"\\begin\s*\{thebibliography\}.*?(?:\\end\s*\{thebibliography\}|\Z)", re.DOTALL)
_PRINTBIB = re.compile(r"\\printbibliography(?![A-Za-z])\s*(?:\[[^\]]*\])?")
_APPENDIX = re.compile(r"\\appendix(?![A-Za-z])|\\begin\s*\{appendix|\\begin\s*\{appendices\}")
_ABSTRACT_ENV = re.compile(r"\\begin\s*\{abstract\}(.*?)\\end\s*\{abstract\}", re.DOTALL)
_BLANKS = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING = re.compile(r"[ \t]+\n")


@dataclass(frozen=True)
class CleanOptions:
    mode: Mode = "proofpile"
    keep_appendix: bool = True
    inline_bbl: bool = False  # a paper's `.bbl` replaces `\bibliography{...}` and the bibliography is kept
    expand_macros: bool = True
    max_macro_depth: int = 12
    max_expansions: int = 100_000
    max_growth: float = 2.0
    max_inline_bytes: int = MAX_INLINE_BYTES  # characters of included files inlined into one paper, in all
    max_inlines: int = MAX_INLINES  # files inlined into one paper, repeats counted


@dataclass
class Cleaned:
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why the text is empty, as a counter name


# ------------------------------------------------------------------------------------------------------ decoding
def decode_tex(data: bytes) -> tuple[str, str]:
    """(text, encoding). UTF-8 first; old papers are often Latin-1/cp1252, which never loses the paper."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def decode_project(files: dict[str, bytes]) -> tuple[dict[str, str], dict[str, str]]:
    """Decoded texts (CRLF -> LF) and the files that needed a fallback encoding."""
    texts, fallbacks = {}, {}
    for path, data in files.items():
        text, enc = decode_tex(data)
        if enc != "utf-8":
            fallbacks[path] = enc
        texts[path] = text.replace("\r\n", "\n").replace("\r", "\n")
    return texts, fallbacks


# ------------------------------------------------------------------------------------------------ shared helpers
def remove_command(text: str, name: str, keep_arg: bool = False, nargs: int = 1) -> str:
    """Drop `\\name*[opt]{arg}...` (``nargs`` mandatory arguments), optionally keeping the last one's text."""
    pat = re.compile(r"\\" + name + r"(?![A-Za-z])\*?")
    out, pos = [], 0
    for m in pat.finditer(text):
        if m.start() < pos:
            continue
        i = skip_ws(text, m.end())
        while (opt := read_group(text, i, "[", "]")) is not None:
            i = skip_ws(text, opt[1])
        g = read_group(text, i)
        for _ in range(nargs - 1):
            g = read_group(text, skip_ws(text, g[1])) if g else None
        if g is None:
            continue
        out.append(text[pos : m.start()])
        if keep_arg:
            out.append(g[0])
        pos = g[1]
    out.append(text[pos:])
    return "".join(out)


def _command_arg(text: str, name: str) -> str | None:
    m = re.search(r"\\" + name + r"(?![A-Za-z])\*?", text)
    if not m:
        return None
    i = skip_ws(text, m.end())
    while (opt := read_group(text, i, "[", "]")) is not None:
        i = skip_ws(text, opt[1])
    g = read_group(text, i)
    return g[0] if g else None


def _drop_graphics(text: str) -> str:
    if "\\includegraphics" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        if "\\includegraphics" in line:
            line = remove_command(line, "includegraphics")
            if not line.strip():
                continue
        lines.append(line)
    return "\n".join(lines)


def _protect_verbatim(text: str, envs: frozenset[str]) -> tuple[str, list[str]]:
    """Replace verbatim-like environments by placeholders so macro expansion cannot touch them."""
    saved: list[str] = []
    names = "|".join(re.escape(e) for e in sorted(envs | {"comment"}, key=len, reverse=True))
    pat = re.compile(r"\\begin\s*\{(" + names + r")\}.*?\\end\s*\{\1\}", re.DOTALL)

    def keep(m: re.Match) -> str:
        saved.append(m.group(0))
        return f"\x00{len(saved) - 1}\x00"

    return pat.sub(keep, text), saved


def _restore(text: str, saved: list[str]) -> str:
    if not saved:
        return text
    return re.sub(r"\x00(\d+)\x00", lambda m: saved[int(m.group(1))], text)


def tidy(text: str) -> str:
    text = _TRAILING.sub("\n", text)
    return _BLANKS.sub("\n\n", text).strip() + "\n"


def find_abstract(text: str) -> str | None:
    """The abstract's text (`abstract` environment or `\\abstract{...}`), whitespace collapsed."""
    m = _ABSTRACT_ENV.search(text)
    found = m.group(1) if m else _command_arg(text, "abstract")
    return " ".join(found.split()) if found and found.strip() else None


# ---------------------------------------------------------------------------------------------- proofpile mode
def clean_document(flat_text: str, macro_sources: str = "", options: CleanOptions = CleanOptions()
                   ) -> tuple[str, dict[str, Any]]:
    """Title + abstract + body of a flattened, comment-free document, front matter and bibliography dropped."""
    meta: dict[str, Any] = {}
    b = BEGIN_DOC.search(flat_text)
    preamble, body = (flat_text[: b.start()], flat_text[b.end():]) if b else ("", flat_text)
    e = END_DOC.search(body)
    if e:
        body = body[: e.start()]
    envs = verbatim_envs(macro_sources + preamble)
    body, saved = _protect_verbatim(body, envs)

    macros, _, skipped = find_definitions(macro_sources + "\n" + preamble)
    macros, body, skipped_body = find_definitions(body, macros)
    meta["macros_defined"] = len(macros)
    meta["macros_not_expandable"] = skipped + skipped_body

    head = []
    if "\\title" not in body and (title := _command_arg(preamble, "title")) is not None:
        head.append(f"\\title{{{' '.join(title.split())}}}")
    if not _ABSTRACT_ENV.search(body):
        m = _ABSTRACT_ENV.search(preamble)
        abstract = m.group(1) if m else _command_arg(preamble, "abstract")
        if abstract and abstract.strip():
            head.append(f"\\begin{{abstract}}\n{abstract.strip()}\n\\end{{abstract}}")

    for name in _FRONT_MATTER:
        if "\\" + name in body:
            body = remove_command(body, name, nargs=2 if name == "altaffiltext" else 1)
    body = _NOISE.sub("", body)
    body = _drop_graphics(body)
    if not options.inline_bbl:
        body = _BIB_ENV.sub("", body)
        for name in _BIB_COMMANDS:
            if "\\" + name in body:
                body = remove_command(body, name)
        body = _PRINTBIB.sub("", body)
    if not options.keep_appendix and (a := _APPENDIX.search(body)):
        body = body[: a.start()]
        meta["appendix_dropped"] = True

    text = "\n\n".join([*head, body])
    if options.expand_macros and macros:
        stats = ExpandStats()
        text, stats = expand(text, macros, options.max_macro_depth, options.max_expansions, options.max_growth, stats)
        meta["macros_expanded"] = sum(stats.expanded.values())
        _put_list(meta, "macros_used", sorted(stats.expanded))
        if stats.depth_exceeded:
            meta["macro_depth_exceeded"] = stats.depth_exceeded
        if stats.budget_exhausted:
            meta["macro_budget_exhausted"] = True
    else:
        meta["macros_expanded"] = 0
    return tidy(_restore(text, saved)), meta


# ---------------------------------------------------------------------------------------------- redpajama mode
# RedPajama's rules, re-stated. Its section pattern lacks a `|` between \paragraph and \subparagraph, so in
# effect only these five headers start the kept text.
_RP_SECTION = re.compile(
    r"\\(?:chapter|part|section|subsection|subsubsection)\b\*?(?:\[(?:.*?)\])?\{(?:.*?)\}", re.DOTALL
)
_RP_LINE_COMMENT = re.compile(r"(?m)^%.*\n?")
_RP_INLINE_COMMENT = re.compile(r"[^\\]%.+$", re.MULTILINE)  # also eats the character before the `%`
_RP_CUT = re.compile(
    r"(?:\\appendix|\\begin\{references\}|\\begin\{REFERENCES\}|\\begin\{thebibliography\}|\\bibliography\{.*\}).*$",
    re.DOTALL,
)
_RP_NEWCOMMAND = re.compile(r"\\\bnewcommand\b\*?\{(\\[a-zA-Z0-9]+?)\}\{(.*?)\}$", re.MULTILINE)
_RP_DEF = re.compile(r"\\def\s*(\\[a-zA-Z0-9]+?)\s*\{(.*?)\}$", re.MULTILINE)


def _rp_macros(text: str) -> dict[str, str]:
    macros = {}
    for reg in (_RP_NEWCOMMAND, _RP_DEF):
        for m in reg.finditer(text):
            macros[m.group(1)] = m.group(2)
    return macros


def _rp_clean_file(text: str, macros: dict[str, str]) -> str:
    m = _RP_SECTION.search(text)
    if not m:
        return ""
    text = text[m.start():]
    text = _RP_LINE_COMMENT.sub("", text)
    text = _RP_INLINE_COMMENT.sub("", text)
    text = _RP_CUT.sub("", text)
    for name, value in macros.items():
        text = re.sub("(" + re.escape(name) + ")([^a-zA-Z0-9])", lambda mm, v=value: v + mm.group(2), text)
    return text


def clean_redpajama(texts: dict[str, str]) -> str:
    """Every `.tex` file cleaned on its own by RedPajama's rules, macros pooled across files, joined."""
    tex = sorted(p for p in texts if p.lower().endswith(".tex"))
    macros: dict[str, str] = {}
    for p in tex:
        macros.update(_rp_macros(texts[p]))
    parts = [c for p in tex if (c := _rp_clean_file(texts[p], macros))]
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------------------------- entry point
def clean_project(files: dict[str, bytes] | dict[str, str], options: CleanOptions = CleanOptions()) -> Cleaned:
    """One paper's project files (path -> bytes or text) -> its clean text and what happened on the way."""
    if files and isinstance(next(iter(files.values())), bytes):
        texts, fallbacks = decode_project(files)  # type: ignore[arg-type]
    else:
        texts, fallbacks = dict(files), {}  # type: ignore[arg-type]
    meta: dict[str, Any] = {}
    if fallbacks:
        meta["decode_fallback"] = dict(sorted(fallbacks.items()))
    if options.mode == "redpajama":
        text = clean_redpajama(texts)
        return Cleaned(text, meta, None if text.strip() else "no_section")
    project = Project(texts)
    choice = find_main(project)
    if choice.main is None:
        return Cleaned("", meta, "no_main_file")
    meta["main_file"] = choice.main
    if choice.ambiguous:
        _put_list(meta, "main_ambiguous", choice.candidates)
    flat = flatten(project, choice.main, inline_bbl=options.inline_bbl, max_inline_bytes=options.max_inline_bytes,
                   max_inlines=options.max_inlines)
    _put_list(meta, "files_inlined", flat.inlined.items, flat.inlined.total)
    if flat.missing:
        _put_list(meta, "files_missing", flat.missing.items, flat.missing.total)
    if flat.cycles:
        _put_list(meta, "include_cycles", flat.cycles.items, flat.cycles.total)
    if flat.packages:
        _put_list(meta, "packages_read", flat.packages)
    if flat.truncated:
        meta["inline_budget_exhausted"] = True
    text, cmeta = clean_document(flat.text, flat.package_text, options)
    meta.update(cmeta)
    if not text.strip():
        return Cleaned("", meta, "empty_after_clean")
    return Cleaned(text, meta)


def _put_list(meta: dict[str, Any], key: str, items: list[str], total: int | None = None) -> None:
    """A per-paper list, at most META_LIST_CAP long, with `<key>_total` when more were met than are listed.

    Metadata is stored with every row: a hostile paper must not turn it into megabytes.
    """
    total = len(items) if total is None else total
    meta[key] = list(items[:META_LIST_CAP])
    if total > len(meta[key]):
        meta[f"{key}_total"] = total


class LatexCleaner(PipelineStep):
    """Turns the raw project an `ArxivReader` attached to each document into its clean text.

    The reader only unpacks; cleaning is a step of its own so the same papers can be cleaned two ways
    (`mode="redpajama"` reproduces the original corpus) and so the step can follow any reader that attaches
    project files as `Media` with `media_bytes`.
    """

    type = "✂️ - EXTRACTOR"
    name = "latex cleaner"

    def __init__(self, mode: Mode = "proofpile", keep_appendix: bool = True, inline_bbl: bool = False,
                 expand_macros: bool = True, max_macro_depth: int = 12, max_expansions: int = 100_000,
                 max_inline_bytes: int = MAX_INLINE_BYTES, max_inlines: int = MAX_INLINES):
        super().__init__()
        if mode not in ("proofpile", "redpajama"):
            raise ValueError(f"unknown LaTeX cleaner mode {mode!r}; expected 'proofpile' or 'redpajama'")
        self.options = CleanOptions(mode=mode, keep_appendix=keep_appendix, inline_bbl=inline_bbl,
                                    expand_macros=expand_macros, max_macro_depth=max_macro_depth,
                                    max_expansions=max_expansions, max_inline_bytes=max_inline_bytes,
                                    max_inlines=max_inlines)

    def clean(self, doc: Document) -> Cleaned:
        files = {m.id: m.media_bytes for m in doc.media if m.media_bytes is not None}
        if not files:
            return Cleaned(doc.text, {}, None) if doc.text.strip() else Cleaned("", {}, "no_files")
        return clean_project(files, self.options)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            self.stat_update("papers")
            with self.track_time():
                try:
                    result = self.clean(doc)
                except RecursionError:
                    result = Cleaned("", {}, "recursion_limit")
            doc.media = []
            if result.reason:
                self.stat_update(f"dropped_{result.reason}")
                continue
            doc.text = result.text
            doc.metadata.update(result.meta)
            doc.metadata["cleaner"] = self.options.mode
            for flag in ("decode_fallback", "files_missing", "include_cycles", "main_ambiguous",
                         "macro_depth_exceeded", "macro_budget_exhausted", "inline_budget_exhausted"):
                if flag in result.meta:
                    self.stat_update(f"flag_{flag}")
            self.stat_update("documents")
            self.update_doc_stats(doc)
            yield doc
