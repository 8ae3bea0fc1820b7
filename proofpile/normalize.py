"""Math-aware text normalisation and tokenisation, shared by near-dedup and decontamination.

Used only to *compare* texts (hashing, n-grams), never to change stored text. General-purpose normalisers
are wrong for math: datatrove's default maps every number to 0 and deletes `+ - = ^ { } \\ $`, so
`x^2+3x=5` and `x^3-7x=2` become the same string. Here numbers and operators survive, and what does not
change the meaning of a formula is dropped or unified:

- lowercase and Unicode NFKC (full-width digits, ligatures, `²` -> `2`);
- math delimiters `$`, `$$`, `\\(`, `\\)`, `\\[`, `\\]` dropped, so `$x$` and `\\(x\\)` compare equal;
- `\\left`, `\\right`, `\\big…` sizing and spacing commands (`\\,` `\\!` `\\;` `\\:` `\\ ` `~` `\\quad` `\\qquad`)
  dropped;
- `\\dfrac`/`\\tfrac` folded to `\\frac`, `\\le`/`\\ge` to `\\leq`/`\\geq`, `\\displaystyle`/`\\textstyle` dropped;
- whitespace collapsed.

Tokens are LaTeX command names (`\\frac`), runs of letters or digits, and every other non-space character on
its own, so `3x+1` and `3 x + 1` give the same tokens.
"""

from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg|displaystyle|textstyle"
    r"|scriptstyle|quad|qquad)(?![a-zA-Z])"  # sizing, style and wide spaces
    r"|\\[,!;: ]"  # thin/negative/medium spaces and control space
    r"|\\[()\[\]]"  # \( \) \[ \]
    r"|\$"  # $ and $$
    r"|~"
)
_FOLD = {"\\dfrac": "\\frac", "\\tfrac": "\\frac", "\\le": "\\leq", "\\ge": "\\geq", "\\ne": "\\neq"}
_FOLD_RE = re.compile(r"\\(?:dfrac|tfrac|le|ge|ne)(?![a-zA-Z])")
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"\\[a-z]+|[^\W\d_]+|\d+|[^\w\s]|_", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def normalize(text: str) -> str:
    """The comparison form of a text (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = _DROP.sub(" ", text)
    text = _FOLD_RE.sub(lambda m: _FOLD[m.group(0)], text)
    return _SPACES.sub(" ", text.lower()).strip()


def tokens(text: str, mask_numbers: bool = False) -> list[str]:
    """Tokens of the normalised text; with `mask_numbers`, every number becomes `0` (for copies of a word
    problem with the numbers changed)."""
    text = normalize(text)
    if mask_numbers:
        text = _NUMBER.sub("0", text)
    return _TOKEN.findall(text)
