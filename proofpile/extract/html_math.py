"""Main text of a web page with its mathematics kept as LaTeX: ``$...$`` inline, ``$$...$$`` display.

Boilerplate removal is trafilatura's; what it cannot do is keep math. On its own it drops MathJax
``<script type="math/tex">``, MathML without a TeX annotation and LaTeX held in image alt text or URLs, and its
Markdown mode escapes ``_`` inside formulas. So every formula is found in the DOM *before* trafilatura sees the
page and replaced by an opaque alphanumeric placeholder (which it neither escapes nor drops, as ordinary prose);
the placeholders that survive boilerplate removal are turned back into delimited LaTeX afterwards. Formulas in
discarded boilerplate are therefore not counted.

On Q&A and forum pages (two or more post bodies marked up by StackExchange, Discourse, phpBB or schema.org
microdata: ``proofpile.extract.qa_posts``) trafilatura's one-block choice keeps the question and loses the
answers, so there the same conversion runs on each post body alone and the posts are joined in page order;
``Extraction.extraction`` says so (``"qa_posts"``). Every other page is extracted exactly as before.

Pages that kept only a renderer's drawing (KaTeX HTML without its MathML, MathJax 3 CHTML/SVG without the
assistive MathML) get the formula read back from the drawing's structure (``proofpile.extract.katex_html``,
``proofpile.extract.mjx``): linear TeX of what was shown, flagged in ``math_sources`` as ``katex_rendered`` /
``mjx_rendered``, so it is never mistaken for the author's source and never comes out one glyph per line.

Main-content selection can also be resiliparse's (``engine="resiliparse"``, the recipe's ``extract.engine``):
the same formula pass, then the page, placeholders and all, rendered by resiliparse's main-content heuristics,
which OpenWebMath's own extractor is built on; where it keeps under 250 characters of a page, trafilatura
chooses instead (``Extraction.engine`` says which did). About twice as fast, with the same formulas; on the
bench pages it keeps ~93% of trafilatura's words and adds ~8% more, mostly navigation
(bench/open_web_math.py), so it is not the default.

Literal dollar signs in prose are written ``\\$`` (as OpenWebMath does), so that every unescaped ``$`` in the
output is a math delimiter; code (``<pre>``, ``<code>``) is left verbatim.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger
from lxml import etree

from proofpile.documents import loggable
from proofpile.errors import ProofpileError
from proofpile.extract.katex_html import katex_html_to_latex
from proofpile.extract.mathml import html_to_latex, local_name, mathml_to_latex
from proofpile.extract.mjx import mjx_to_latex
from proofpile.extract.qa_posts import post_bodies
from proofpile.extract.tex_delimiters import Delimiters, page_keywords, read_delimiters, rewrite_text

#: pages are cut here before parsing: Common Crawl itself truncates records at 1 MiB, so anything far larger
#: is a data dump, and parse time grows with size
DEFAULT_MAX_CHARS = 5_000_000
#: main-content selectors (see the module docstring); the first is the default
ENGINES = ("trafilatura", "resiliparse")

_SURROGATES = re.compile("[\ud800-\udfff]")
_MATH_SCRIPT = re.compile(r"^\s*(?:math|text)/(?:la)?tex\b", re.I)
_DISPLAY_MODE = re.compile(r"mode\s*=\s*display", re.I)
# the ways MathJax v2 renders a <script type="math/tex"> beside it; dropped so the formula appears once
_MATHJAX_RENDERED = re.compile(r"^(MathJax|MJX|mjx-)", re.I)
# text MathJax/KaTeX would not typeset, so neither do we (and dollar signs there are not escaped)
_SKIP_TAGS = frozenset(
    (
        "script",
        "style",
        "code",
        "pre",
        "textarea",
        "noscript",
        "kbd",
        "samp",
        "math",
        "svg",
        "annotation",
        "annotation-xml",
        "template",
        "xmp",
        "listing",
    )
)
_SKIP_CLASSES = re.compile(r"\b(tex2jax_ignore|mathjax_ignore|no-mathjax|nomath)\b")
_LATEX_IMAGE_URL = re.compile(
    r"codecogs|latex\.php|tex\.cgi|mathtex|mimetex|/latex/|chart\?cht=tx|chart\.apis\.google\.com.*cht=tx"
    r"|latex\.codecogs|quicklatex|/math/render/|upmath\.me/|s2cms\.ru/|math\.now\.sh|render/math\?|zhihu\.com/equation"
    r"|math\.vercel\.app|latex\.vercel\.app",
    re.I,
)
# rendering options codecogs and friends take in front of the formula
_IMAGE_TEX_OPTIONS = re.compile(
    r"^(?:\s*\\(?:dpi\{\d+\}|bg_\w+|bg\{\w+\}|fg_\w+|fn_\w+|inline|displaystyle(?=\s)|tiny|small|normal|large|"
    r"Large|LARGE|huge|Huge|cdot(?=\s*$))\s*)+"
)
_TEXLIKE = re.compile(r"\\[A-Za-z]+|[\^_]\s*[{\w]|[{}]")
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
# elements in which a bare display placeholder is given a <p> of its own (see _isolate_display)
_BLOCK_CONTAINERS = frozenset(("div", "figure", "center", "main", "article", "section", "body", "blockquote", "aside"))
_WIKI_WRAPPER = re.compile(r"^\{\\(?:displaystyle|textstyle)\s*(.*)\}$", re.S)


class ExtractionError(ProofpileError, ValueError):
    """The page cannot be turned into text (not HTML, empty, unparseable)."""


@dataclass(frozen=True)
class Extraction:
    text: str
    math_sources: dict[str, int]
    n_inline: int
    n_display: int
    truncated: bool = False
    #: how the main content was chosen: None for trafilatura's choice (every ordinary page), "qa_posts" when
    #: the page's forum post bodies were taken instead (see proofpile.extract.qa_posts)
    extraction: str | None = None
    qa_posts: int = 0
    engine: str = ENGINES[0]

    @property
    def math_found(self) -> bool:
        return self.n_inline + self.n_display > 0


@dataclass
class _Formulas:
    """Formulas cut out of the DOM, keyed by the placeholder that stands in for each."""

    prefix: str
    items: list[tuple[str, bool, str]] = field(default_factory=list)

    def add(self, tex: str, display: bool, source: str) -> str | None:
        tex = _clean_tex(tex)
        if not tex:
            return None
        self.items.append((tex, display, source))
        return f"{self.prefix}{len(self.items) - 1}X"

    def restore(self, text: str) -> tuple[str, dict[str, int], int, int]:
        sources: dict[str, int] = {}
        counts = [0, 0]

        def put(m: re.Match) -> str:
            tex, display, source = self.items[int(m.group(2))]
            sources[source] = sources.get(source, 0) + 1
            counts[display] += 1
            if display and not _in_table_row(m):
                return f"\n$${tex}$$\n"
            if display:  # a table cell: a line break would leave the row's "|" separators on lines of their own
                return f"{m.group(1)}$${tex}$${m.group(3)}"
            return f"{m.group(1)}${tex}${m.group(3)}"

        pattern = re.compile(r"(\n?[ \t]*)" + self.prefix + r"(\d+)X([ \t]*\n?)")
        text = pattern.sub(put, text)
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
        return text, dict(sorted(sources.items())), counts[0], counts[1]


def _in_table_row(m: re.Match) -> bool:
    """The placeholder sits in a row of trafilatura's text tables (``| cell | cell |``)."""
    text, start = m.string, m.start()
    line = text[text.rfind("\n", 0, start) + 1 : start]
    return line.rstrip().endswith("|")


def extract_math_text(
    html: str, url: str | None = None, *, max_chars: int = DEFAULT_MAX_CHARS, engine: str = ENGINES[0]
) -> Extraction:
    """Main content of ``html`` as text with every recoverable formula as LaTeX (see the module docstring)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown extraction engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if not isinstance(html, str):
        raise ExtractionError(f"expected the page as str, got {type(html).__name__}")
    truncated = len(html) > max_chars
    if truncated:
        html = html[:max_chars]
    if _has_surrogates(html):  # lxml silently stops at a lone surrogate and loses the rest of the page
        html = _SURROGATES.sub("\ufffd", html)
    if not html.strip():
        raise ExtractionError("empty page")
    try:
        tree = _parse(html)
        if tree is None:  # trafilatura refuses fragments; a body wrapper is what a browser would assume
            tree = _parse(f"<html><body>{html}</body></html>")
    except Exception as e:  # lxml raises a handful of types on hostile input
        raise ExtractionError(f"unparseable HTML: {type(e).__name__}: {e}") from None
    if tree is None:
        raise ExtractionError("not HTML")

    posts = post_bodies(tree, html)
    formulas = _Formulas(_placeholder_prefix(html))
    _rewrite_math(tree, html, formulas)
    _drop_scripts(tree)
    # a Q&A or forum page: trafilatura would keep one post (the question) and drop the answers. fast: its
    # fallback extractors (readability, jusText) second-guess the choice of main content, and a page that is one
    # post body offers no choice; they cost 2-7x per post and changed no post's text in our measurements
    if engine == "resiliparse":
        text = "\n\n".join(t for t in (_resiliparse_text(_alone(post), False) for post in posts) if t)
        if not text:
            posts, text = [], _resiliparse_text(tree, True)
            if len(text) < _RESILIPARSE_MIN_CHARS:  # its heuristics threw the whole page away: ask trafilatura
                engine, text = ENGINES[0], _main_text(tree, url)
    else:
        text = "\n\n".join(t for t in (_main_text(_alone(post), url, fast=True) for post in posts) if t)
        if not text:
            posts, text = [], _main_text(tree, url)
    text, sources, n_inline, n_display = formulas.restore(text or "")
    if posts:
        return Extraction(text, sources, n_inline, n_display, truncated, "qa_posts", len(posts), engine)
    return Extraction(text, sources, n_inline, n_display, truncated, engine=engine)


# every stage of trafilatura drops these (tree_cleaning, readability, the baseline's basic_cleaning); JSON-LD
# is read by its baseline and forum detection, so it stays
_SCRIPTS = etree.XPath('//script[not(@type="application/ld+json")]|//style')


def _drop_scripts(tree) -> None:
    """Remove scripts and styles (keeping the text after them) once, before trafilatura copies the tree.

    trafilatura copies the raw tree four times and runs its pruning XPaths over it before its own cleaning
    removes them; dropping them first saved ~5% of extraction time on the bench pages, output byte-identical.
    """
    for el in _SCRIPTS(tree):
        el.drop_tree()


def _html_parser():
    """trafilatura's HTML parser settings, with lxml.html's element classes chosen in C.

    lxml.html picks each element's Python class (form, input, label...) in a Python callback, run every time an
    element is touched from Python: measured at ~6% of a page's extraction (400k calls on the bench pages).
    Neither trafilatura nor this module uses those specialised classes, so every element is a plain
    ``HtmlElement``; the extracted text is byte-identical (bench/open_web_math.py, tests/test_html_math.py).
    """
    global _PARSER
    if _PARSER is None:
        from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HTMLParser, HtmlProcessingInstruction

        parser = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                            remove_pis=True)
        parser.set_element_class_lookup(
            etree.ElementDefaultClassLookup(
                element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
            )
        )
        _PARSER = parser
    return _PARSER


_PARSER = None


def _has_surrogates(html: str) -> bool:
    # strict UTF-8 encoding fails exactly on lone surrogates, and runs ~50x faster than a regex over the page
    try:
        html.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# the control characters trafilatura's INVALID_XML_CHARS removes (but \ufffe, \uffff), as UTF-8 bytes
_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32)])


def _repair(html: str, beginning: str) -> str:
    """``trafilatura.utils.repair_faulty_html``, with its regex pass over the whole page run only on the
    rare page that holds a character it removes: deleting bytes and comparing lengths finds out ~4x faster."""
    from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, INVALID_XML_CHARS

    raw = html.encode("utf-8", "surrogatepass")
    if len(raw.translate(None, _CONTROL_BYTES)) != len(raw) or "\ufffe" in html or "\uffff" in html:
        html = INVALID_XML_CHARS.sub("", html)
    if "doctype" in beginning:
        firstline, _, rest = html.partition("\n")
        html = DOCTYPE_TAG.sub("", firstline, count=1) + "\n" + rest
    for line in html[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            html = FAULTY_HTML.sub(r"\1>", html, count=1)
            break
    return html


def _parse(html: str):
    """``trafilatura.utils.load_html`` for a str, step for step, on the parser above."""
    from lxml.html import fromstring
    from trafilatura.utils import is_dubious_html

    parser = _html_parser()
    beginning = html[:50].lower()
    html = _repair(html, beginning)
    tree, as_bytes = None, False
    try:
        tree = fromstring(html, parser=parser)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree, as_bytes = _parse_bytes(html, parser), True
    except Exception:  # noqa: BLE001 - as trafilatura: a failed first pass is retried on bytes
        pass
    if (tree is None or len(tree) < 1) and not as_bytes:
        tree = _parse_bytes(html, parser)
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None  # not (well-formed) HTML
    return tree


def _parse_bytes(html: str, parser):
    from lxml.html import fromstring

    try:
        return fromstring(html.encode("utf8", "surrogatepass"), parser=parser)
    except Exception:  # noqa: BLE001 - trafilatura's fromstring_bytes also gives up quietly here
        return None


def _main_text(tree, url: str | None, fast: bool = False) -> str | None:
    import trafilatura

    # favor_recall: precision mode drops headings and text-only <div>s, which is where formulas often sit
    return trafilatura.extract(
        tree, url=url, output_format="txt", include_comments=True, include_tables=True, favor_recall=True, fast=fast
    )


#: below this, a resiliparse main-content text is taken for a failure of its heuristics (on the bench pages it
#: returned nothing, or a line, for 2 of 122 ordinary pages that trafilatura extracts fine): trafilatura's
#: minimum extraction size, see trafilatura.settings
_RESILIPARSE_MIN_CHARS = 250


def _resiliparse_text(tree, main_content: bool) -> str:
    """The tree, placeholders in place, rendered by resiliparse (with its main-content heuristics or not).

    The tree is serialised and parsed again by resiliparse's own parser (Lexbor): both together cost less than
    a tenth of trafilatura's extraction, and the formula pass stays one lxml implementation for both engines.
    """
    from resiliparse.extract.html2text import extract_plain_text

    try:
        return extract_plain_text(
            etree.tostring(tree, encoding="unicode", method="html"),
            preserve_formatting=True,
            main_content=main_content,
            alt_texts=False,  # an image's alt text that was TeX is a placeholder already; the rest is noise
            comments=True,  # as trafilatura's include_comments: discussions under math posts carry math
        )
    except Exception as e:  # noqa: BLE001 - resiliparse raises its own parser exception types
        raise ExtractionError(f"resiliparse could not render the page: {type(e).__name__}: {e}") from None


def _alone(post):
    """A page holding only a copy of ``post``, so trafilatura's text conversion sees nothing else."""
    from lxml.html import Element

    root = Element("html")
    article = etree.SubElement(etree.SubElement(root, "body"), "article")
    article.append(copy.deepcopy(post))
    article[0].tail = None
    return root


def _placeholder_prefix(html: str) -> str:
    prefix = "PPMATH"
    while prefix in html:
        prefix += "Q"
    return prefix


def _clean_tex(tex: str) -> str:
    tex = _BLANK_LINES.sub("\n", tex.replace("\u00a0", " ")).strip()  # a blank line inside math is a TeX error
    m = _WIKI_WRAPPER.match(tex)  # Wikipedia wraps every formula in {\displaystyle ...}
    if m and _balanced(m.group(1)):
        tex = m.group(1).strip()
    return tex


def _balanced(tex: str) -> bool:
    depth = 0
    for i, ch in enumerate(tex):
        if ch in "{}" and (i == 0 or tex[i - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            if depth < 0:
                return False
    return depth == 0


def _replace(el, text: str | None) -> None:
    """Put ``text`` where ``el`` was, keeping the text that followed it."""
    parent = el.getparent()
    if parent is None:
        return
    joined = (text or "") + (el.tail or "")
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(el)


def _classes(el) -> str:
    return el.get("class") or ""


def _rewrite_math(tree, html: str, formulas: _Formulas) -> None:
    found = page_keywords(html)  # one regex pass; each DOM walk below runs only on pages that need it
    if "math/tex" in found or "text/tex" in found or "math/latex" in found or "text/latex" in found:
        _script_tex(tree, formulas)
    if "mjx-container" in found:
        _mjx_containers(tree, formulas)
    if "katex" in found:
        _katex(tree, formulas)
    if "<math" in found:
        _mathml(tree, formulas)
    if "<img" in found:
        _images(tree, formulas)
    if "math-container" in found:
        _math_containers(tree, formulas)
    if "texhtml" in found:
        _texhtml(tree, formulas)
    delims = read_delimiters(html, found)
    if delims.any_in(html):
        _walk_text(tree, delims, formulas)
    if any(display for _, display, _ in formulas.items):
        _isolate_display(tree, formulas)


def _isolate_display(tree, formulas: _Formulas) -> None:
    """Give each display placeholder that sits as bare text in a block container its own ``<p>``.

    Sites put display equations in their own ``<div>``/``<figure>``/``<center>`` (or straight into
    ``<main>``); once the equation is a placeholder, such a block is one short word between paragraphs, and
    trafilatura's main-content selection drops a run of them (measured: every display equation of a page of
    real KaTeX/MathJax output, see tests/test_renderers.py). Inside a ``<p>`` the same placeholder is kept.
    """
    from lxml.html import Element

    split = re.compile(formulas.prefix + r"(\d+)X")
    for node in tree.xpath(f'//text()[contains(., "{formulas.prefix}")]'):
        owner = node.getparent()
        if owner is None:
            continue
        container = owner.getparent() if node.is_tail else owner
        if container is None or container.tag not in _BLOCK_CONTAINERS:
            continue
        pieces = split.split(str(node))  # text, index, text, index, ..., text
        if not any(formulas.items[int(pieces[k])][1] for k in range(1, len(pieces), 2)):
            continue
        lead, paragraphs, buf = None, [], pieces[0]
        for k in range(1, len(pieces), 2):
            placeholder = f"{formulas.prefix}{pieces[k]}X"
            if formulas.items[int(pieces[k])][1]:
                if paragraphs:
                    paragraphs[-1].tail = buf
                else:
                    lead = buf
                p = Element("p")
                p.text, buf = placeholder, ""
                paragraphs.append(p)
            else:
                buf += placeholder
            buf += pieces[k + 1]
        paragraphs[-1].tail = buf
        if container.tag == "figure":  # trafilatura drops figures whole; this one holds an equation
            container.tag = "div"
        if node.is_tail:
            owner.tail, at = lead, container.index(owner) + 1
        else:
            owner.text, at = lead, 0
        for j, p in enumerate(paragraphs):
            container.insert(at + j, p)


def _script_tex(tree, formulas: _Formulas) -> None:
    for script in list(tree.iter("script")):
        if not _MATH_SCRIPT.match(script.get("type") or ""):
            continue
        display = bool(_DISPLAY_MODE.search(script.get("type") or ""))
        prev = script.getprevious()
        while prev is not None and _MATHJAX_RENDERED.match(_classes(prev)):
            before = prev.getprevious()
            _replace(prev, None)
            prev = before
        _replace(script, formulas.add(script.text or "", display, "script_math_tex"))


def _mjx_containers(tree, formulas: _Formulas) -> None:
    # MathJax v3+ output saved after rendering. What said what the formula was, best first: MathJax 4's
    # data-latex (the TeX itself), the assistive MathML, and failing both the rendering's own node structure
    # (a fallback: linear TeX read off the drawing, recorded as "mjx_rendered")
    for box in list(tree.iter("mjx-container")):
        if box.getparent() is None:
            continue
        display = box.get("display") in ("true", "block")
        latex = next((e.get("data-latex") for e in box.iter() if e.get("data-latex") is not None), None)
        math = next((m for m in box.iter() if local_name(m) == "math"), None) if latex is None else None
        if latex is not None:
            tex, source = latex, "mathjax_data_latex"
        elif math is not None:
            tex, source = _math_source(math)
        else:
            tex, source = mjx_to_latex(box), "mjx_rendered"
        _replace(box, formulas.add(tex, display, source))


def _katex(tree, formulas: _Formulas) -> None:
    # KaTeX's source, best first: the TeX annotation of its MathML, a data attribute the site put the source in
    # (data-math, data-tex...), and failing both a linear reading of its HTML boxes ("katex_rendered"),
    # never the boxes' text, which is one glyph per line
    for el in list(tree.iter("span", "div")):
        cls = _classes(el)
        if not re.search(r"(^|\s)katex(\s|$)", cls) or el.getparent() is None:
            continue
        wrapper = el.getparent()
        display = "katex-display" in _classes(wrapper)
        target = wrapper if display and len(wrapper) == 1 else el
        math = next((m for m in el.iter() if local_name(m) == "math"), None)
        holder = _tex_attribute_holder(target)
        if math is not None:
            tex, source = _math_source(math)
            source = "katex" if source == "mathml_annotation" else source
        elif holder is not None:
            tex, source, target = _tex_attribute(holder), "katex_data_attr", holder
            display = display or bool(re.search(r"display|block", _classes(holder)))
        else:
            tex, source = katex_html_to_latex(el), "katex_rendered"
        _replace(target, formulas.add(tex, display, source))


# attributes in which sites keep a formula's TeX beside its rendering
_TEX_ATTRIBUTES = ("data-latex", "data-tex", "data-math", "data-katex", "data-formula", "data-expr", "data-equation")


def _tex_attribute(el) -> str:
    return next((el.get(a) for a in _TEX_ATTRIBUTES if el.get(a)), "")


def _tex_attribute_holder(el):
    """``el`` or the nearest of its two closest ancestors carrying the formula's TeX in a data attribute."""
    for cand in (el, el.getparent(), el.getparent().getparent() if el.getparent() is not None else None):
        if cand is not None and isinstance(cand.tag, str) and _tex_attribute(cand) and len(cand) <= 2:
            return cand
    return None


def _mathml(tree, formulas: _Formulas) -> None:
    for math in list(tree.iter()):
        if local_name(math) != "math" or math.getparent() is None:
            continue
        target, display = math, _math_display(math)
        # Wikipedia: <span class="mwe-math-element"> holds the MathML and a fallback <img> of the same formula
        for anc in math.iterancestors():
            cls = _classes(anc)
            if "mwe-math-element" in cls:
                target = anc
                display = display or "display" in " ".join(_classes(d) for d in anc.iter())
                break
            if "mwe-math-mathml" in cls:
                display = display or "display" in cls
        tex, source = _math_source(math)
        _replace(target, formulas.add(tex, display, source))


def _math_display(math) -> bool:
    return math.get("display") == "block" or math.get("mode") == "display"


def _math_source(math) -> tuple[str, str]:
    for ann in math.iter():
        if local_name(ann) == "annotation" and "tex" in (ann.get("encoding") or "").lower():
            return ann.text or "", "mathml_annotation"
    alt = math.get("alttext")
    if alt and alt.strip():
        return alt, "mathml_alttext"
    return mathml_to_latex(math), "mathml_converted"


def _images(tree, formulas: _Formulas) -> None:
    for img in list(tree.iter("img")):
        src = img.get("src") or img.get("data-src") or ""
        alt = (img.get("alt") or "").strip()
        cls = _classes(img)
        from_url = bool(src) and _LATEX_IMAGE_URL.search(src) is not None
        tex_class = re.search(r"\b(latex|tex|math|equation)\b", cls, re.I) is not None
        if from_url or tex_class:
            tex = alt if _looks_like_tex(alt) else _tex_from_url(src) if from_url else ""
            source = "img_alt" if tex == alt and tex else "img_url"
        elif _looks_like_tex(alt) and len(alt) < 2000 and ("\\" in alt):
            tex, source = alt, "img_alt"
        else:
            continue
        display = "display" in cls or _alone_in_block(img)
        inline_flag = tex.lstrip().startswith("\\inline")
        tex = _IMAGE_TEX_OPTIONS.sub("", tex.strip())
        tex = re.sub(r"^\$(?:latex)?\s*(.*?)\$$", r"\1", tex, flags=re.S)  # WordPress "$latex ...$" alt text
        placeholder = formulas.add(tex, display and not inline_flag, source)
        if placeholder:
            _replace(img, placeholder)


def _looks_like_tex(text: str) -> bool:
    return bool(text) and _TEXLIKE.search(text) is not None


# services that take the formula as the last part of the path: i.upmath.me/svg/<tex>, tex.s2cms.ru/png/<tex>
_PATH_TEX = re.compile(r"/(?:svg|png|gif|jpe?g|image|latex)/(?P<tex>[^/?#]*(?:/[^?#]*)?)$", re.I)


def _tex_from_url(src: str) -> str:
    parts = urlsplit(src)
    query = parts.query
    if not query:
        m = _PATH_TEX.search(parts.path)
        return unquote(m.group("tex")) if m and m.group("tex").strip() else ""
    params = parse_qs(query, keep_blank_values=True)
    for key in ("latex", "chl", "tex", "formula", "eq", "code", "from", "math"):
        if key in params and params[key][0].strip():
            return params[key][0]
    if "=" in query.split("&")[0] and not query.startswith("\\"):
        return ""
    return unquote(query)  # codecogs: the whole query string is the formula


def _alone_in_block(img) -> bool:
    parent = img.getparent()
    if parent is None or parent.tag not in ("p", "div", "center", "dd", "td", "figure"):
        return False
    if (parent.text or "").strip() or (img.tail or "").strip():
        return False
    return all(c is img or c.tag == "br" for c in parent)


def _math_containers(tree, formulas: _Formulas) -> None:
    # StackExchange marks each formula's source, delimiters included
    for el in list(tree.iter("span", "div")):
        if "math-container" not in _classes(el) or el.getparent() is None:
            continue
        raw = "".join(el.itertext()).strip()
        m = re.fullmatch(r"(\$\$|\\\[|\$|\\\()(.*?)(\$\$|\\\]|\$|\\\))", raw, re.S)
        tex, display = (m.group(2), m.group(1) in ("$$", "\\[")) if m else (raw, el.tag == "div")
        _replace(el, formulas.add(tex, display, "math_container"))


def _texhtml(tree, formulas: _Formulas) -> None:
    # Wikipedia's {{math}} template: a formula typed as HTML (italics, <sub>, <sup>), with no TeX behind it
    for el in list(tree.iter("span")):
        if "texhtml" not in _classes(el) or el.getparent() is None:
            continue
        _replace(el, formulas.add(html_to_latex(el), False, "texhtml"))


def _walk_text(root, delims: Delimiters, formulas: _Formulas) -> None:
    # XPath picks the few text nodes that could hold a delimiter; visiting every node from Python cost more
    # than trafilatura's whole extraction on script-heavy pages (jQuery's "$" puts most pages on this path)
    # text inside <script>/<style> is skipped below anyway; leaving it out here spares a Python visit to every
    # jQuery "$" (half of _walk_text's time on the bench pages)
    firsts = sorted({op[0] for op, _, _ in delims.pairs} | {"\\"})
    query = "//text()[not(parent::script) and not(parent::style)]"
    if not any(c in "'\"" for c in firsts):
        query += "[" + " or ".join(f'contains(., "{c}")' for c in firsts) + "]"
    for node in root.xpath(query):
        owner = node.getparent()
        if owner is None:
            continue  # its element was removed when an earlier formula was joined across <br>
        el, slot = (owner.getparent(), owner) if node.is_tail else (owner, None)
        if el is None or _skipped(el):
            continue
        _rewrite_slot(el, slot, delims, formulas)


def _skipped(el) -> bool:
    for e in (el, *el.iterancestors()):
        if not isinstance(e.tag, str) or e.tag in _SKIP_TAGS or _SKIP_CLASSES.search(_classes(e)):
            return True
    return False


def _rewrite_slot(el, slot, delims: Delimiters, formulas: _Formulas) -> None:
    """Rewrite ``el.text`` (``slot`` None) or ``slot.tail``; a display formula split by ``<br>``s is joined."""
    text = el.text if slot is None else slot.tail
    if not text:
        return
    new, unmatched = rewrite_text(text, delims, formulas.add)
    if unmatched:
        kids = list(el)
        new = _join_across_br(el, kids, -1 if slot is None else kids.index(slot), text, delims, formulas, new)
    if slot is None:
        el.text = new
    else:
        slot.tail = new


def _join_across_br(el, kids, i, text, delims, formulas, fallback):
    merged, j = text, i + 1
    while j < len(kids) and j - i <= 64 and kids[j].tag == "br":
        merged += "\n" + (kids[j].tail or "")
        j += 1
        trial = list(formulas.items)
        new, unmatched = rewrite_text(merged, delims, formulas.add)
        if not unmatched:
            for br in kids[i + 1 : j]:
                el.remove(br)
            return new
        formulas.items[:] = trial  # forget formulas found in a trial that is thrown away
    return fallback


class MathHtmlExtractor(PipelineStep):
    """Raw HTML in ``doc.text`` -> extracted text, with the math-source signals in ``doc.metadata``.

    Each page is extracted in datatrove's sandbox process, so a page that hangs (``timeout``) or crashes the
    parser costs that page only: it is dropped with a reason, the run goes on.
    """

    type = "🛢 - EXTRAC"
    name = "math html extraction"

    def __init__(
        self, min_chars: int = 0, timeout: float = 30.0, max_chars: int = DEFAULT_MAX_CHARS, engine: str = ENGINES[0]
    ):
        super().__init__()
        if engine not in ENGINES:
            raise ValueError(f"unknown extraction engine {engine!r}: expected one of {', '.join(ENGINES)}")
        self.min_chars = min_chars
        self.timeout = timeout
        self.max_chars = max_chars
        self.engine = engine

    def _extract_safe(self, html: str, url: str | None = None):
        # exceptions are returned, not raised: a raising sandbox worker dies and must be re-forked
        try:
            return extract_math_text(html, url, max_chars=self.max_chars, engine=self.engine)
        except Exception as e:
            return ExtractionError(str(e).splitlines()[0] if str(e) else type(e).__name__)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from datatrove.pipeline.extractors.base import ExtractorSandbox

        with ExtractorSandbox(timeout=self.timeout, warmup_text=("<html><body><p>x</p></body></html>", None)) as box:
            for doc in data:
                self.stat_update("total")
                where = loggable(doc.metadata.get("url") or doc.id)  # a page address from the input
                with self.track_time():
                    try:
                        result = box.process_document((doc.text, doc.metadata.get("url")), self._extract_safe)
                    except ExtractionError as e:
                        logger.warning(f"extraction failed for {where}: {e}")
                        self.stat_update("dropped_extraction_failed")
                        continue
                    except TimeoutError:
                        logger.warning(f"extraction of {where} took over {self.timeout}s; dropped")
                        self.stat_update("dropped_extraction_failed", "extraction_timeout")
                        continue
                    except EOFError:
                        logger.warning(f"extraction of {where} crashed the extractor process; dropped")
                        self.stat_update("dropped_extraction_failed", "extraction_crashed")
                        continue
                if result.truncated:
                    self.stat_update("truncated_input")
                if not result.text.strip() or len(result.text) < self.min_chars:
                    self.stat_update("dropped_empty_extraction")
                    continue
                doc.text = result.text
                doc.metadata["math_sources"] = result.math_sources
                doc.metadata["math_found"] = result.math_found
                doc.metadata["n_inline"] = result.n_inline
                doc.metadata["n_display"] = result.n_display
                if result.extraction:  # absent on ordinary pages, so their metadata is as it always was
                    doc.metadata["extraction"] = result.extraction
                    doc.metadata["qa_posts"] = result.qa_posts
                    self.stat_update("extracted_qa_posts")
                if self.engine != ENGINES[0]:  # absent with the default, as metadata always was
                    doc.metadata["engine"] = result.engine  # trafilatura where resiliparse kept next to nothing
                if result.math_found:
                    self.stat_update("math_found")
                self.stat_update("forwarded")
                self.update_doc_stats(doc)
                yield doc
