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
