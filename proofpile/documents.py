"""Conventions every stage shares: stable document ids and the metadata keys they rely on.

Ids are content-independent hashes of *where* a document came from, so the same input gives the same id on
every run and every worker, and later stages (split, dedup, decontamination) can key on them.
"""

from __future__ import annotations

import xxhash

# metadata keys set by sources; filters add their own score keys (e.g. "numerical_density", "lid_score")
SOURCE = "source"  # "github", "the-stack", "common-crawl", "arxiv"
SUBSET = "subset"  # "algebraic-stack", "open-web-math", "arxiv"
LANG = "lang"  # canonical language name, see proofpile.filters.code_rules.LANGUAGES
PATH = "path"
URL = "url"
REPO = "repo"
COMMIT = "commit"
LICENSE = "license"


def stable_id(*parts: str) -> str:
    """32 hex characters naming a document by its origin (source, repo, commit, path, ...)."""
    return xxhash.xxh3_128_hexdigest("\x1f".join(parts).encode("utf-8", "surrogatepass"))


def printable(name: str) -> str:
    """A file or archive member name as text any UTF-8 store accepts: bytes that were not UTF-8 (which Python
    keeps as lone surrogates) become `\\xNN`, so a Latin-1 file name can be recorded and logged."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate that did not come from undecodable bytes
            return name.encode("utf-8", "backslashreplace").decode("utf-8")


def loggable(name: str) -> str:
    """A name from an input (WARC file, tar member, repository path) fit for one log or terminal line:
    `printable`, and control characters (terminal escape sequences, a newline that would forge a second log
    line) shown as `\\x1b`, `\\n`. Only for messages: recorded names keep `printable`'s form."""
    text = printable(str(name))
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
