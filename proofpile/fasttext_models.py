"""Loading fastText models, shared by language ID and the math classifier."""

from __future__ import annotations

import os


def load_fasttext(path: str | os.PathLike):
    """A fastText model from a local file; imported lazily so steps stay cheap to pickle."""
    import fasttext

    # older fasttext wheels print a deprecation warning on every load; it carries no information
    if hasattr(fasttext, "FastText") and hasattr(fasttext.FastText, "eprint"):
        fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext.load_model(str(path))
