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


# --- the same tokens, vectorised --------------------------------------------------------------------------
#
# `tokens()` runs at about 3 MB/s: three regex passes and a Python string per token. Decontamination scans
# whole corpora, so `token_hashes()` produces the *same* token sequence as 64-bit hashes with character
# offsets, by classifying code points with numpy and hashing each token as a polynomial over its characters
# (prefix sums, so no per-token Python work). tests/test_normalize.py checks it against `tokens()` on real
# benchmark and web text. Written by hand because no library tokenises LaTeX-aware text this way.

_MASK64 = (1 << 64) - 1
_CHAR_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_CHAR_BASE_INV = pow(_CHAR_BASE, -1, 1 << 64)
_LEN_SALT = 0xC2B2AE3D27D4EB4F

_SPACE, _LETTER, _DIGIT, _OTHER = 0, 1, 2, 3
_DROP_COMMANDS = ("left right bigl bigr Bigl Bigr biggl biggr Biggl Biggr big Big bigg Bigg displaystyle "
                  "textstyle scriptstyle quad qquad").split()
_DROP_AFTER_CODES = [ord(c) for c in ",!;: ()[]"]


def token_hash(token: str) -> int:
    """The hash `token_hashes` gives this token string."""
    h, p = 0, 1
    for ch in token:
        h = (h + ord(ch) * p) & _MASK64
        p = (p * _CHAR_BASE) & _MASK64
    return (h + len(token) * _LEN_SALT) & _MASK64


_class_table = None
_powers: list = [None, None]


def _classes(cps):
    """0 space, 1 letter (`[^\\W\\d_]`), 2 decimal digit (`\\d`), 3 anything else — as `re` decides them, except
    that `$` and `~` (which tokenising drops) are spaces, from the table rather than another pass."""
    import numpy as np

    global _class_table
    if _class_table is None:
        table = np.empty(0x10000, dtype=np.uint8)
        for i in range(0x10000):
            table[i] = _char_class(chr(i))
        table[[ord("$"), ord("~")]] = _SPACE
        _class_table = table
    if len(cps) == 0 or cps.max() < 0x10000:  # the common case: one gather (a max is cheaper than a where)
        return _class_table[cps]
    big = cps >= 0x10000
    cls = _class_table[np.where(big, 0, cps)]
    if big.any():
        for i in np.flatnonzero(big):
            cls[i] = _char_class(chr(int(cps[i])))
    return cls


_lower_table = None


def _lowercase(cps):
    import numpy as np

    global _lower_table
    if _lower_table is None:
        table = np.arange(0x10000, dtype=np.uint32)
        for i in range(128, 0x10000):
            lo = chr(i).lower()
            table[i] = ord(lo) if len(lo) == 1 else 0xFFFFFFFF
        table[65:91] += 32
        _lower_table = table
    if len(cps) == 0 or cps.max() < 0x10000:
        out = _lower_table[cps]
        return None if (out == 0xFFFFFFFF).any() else out
    big = cps >= 0x10000
    out = _lower_table[np.where(big, 0, cps)]
    if big.any():
        for i in np.flatnonzero(big):
            lo = chr(int(cps[i])).lower()
            out[i] = ord(lo) if len(lo) == 1 else 0xFFFFFFFF
    return None if (out == 0xFFFFFFFF).any() else out


def _char_class(ch: str) -> int:
    if ch.isspace():
        return _SPACE
    if ch.isdecimal():
        return _DIGIT
    if ch.isalnum():
        return _LETTER
    return _OTHER


def _power_tables(n: int):
    import numpy as np

    if _powers[0] is None or len(_powers[0]) < n:
        size = max(n, 1 << 16, 2 * (len(_powers[0]) if _powers[0] is not None else 0))
        with np.errstate(over="ignore"):
            fwd = np.full(size, _CHAR_BASE, dtype=np.uint64)
            fwd[0] = 1
            inv = np.full(size, _CHAR_BASE_INV, dtype=np.uint64)
            inv[0] = 1
            _powers[0], _powers[1] = np.cumprod(fwd, dtype=np.uint64), np.cumprod(inv, dtype=np.uint64)
    return _powers[0], _powers[1]


def _span_hashes(cps, pos, starts, ends):
    """Hash of each token (chars `cps[pos[s:e]]`), equal to `token_hash` of its string."""
    import numpy as np

    fwd, inv = _power_tables(len(pos) + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(pos) + 1, dtype=np.uint64)
        np.cumsum(cps[pos] * fwd[: len(pos)], out=prefix[1:])  # uint32 * uint64 is uint64
        h = (prefix[ends] - prefix[starts]) * inv[starts]
        return h + (ends - starts).astype(np.uint64) * np.uint64(_LEN_SALT)


_special = {}


def _drop_after_table():
    import numpy as np

    if "after" not in _special:
        table = np.zeros(128, dtype=bool)
        table[_DROP_AFTER_CODES] = True
        _special["after"] = table
    return _special["after"]


def _special_hashes():
    import numpy as np

    if "drop" not in _special:
        _special["drop"] = np.array(sorted({token_hash("\\" + c) for c in _DROP_COMMANDS}), dtype=np.uint64)
        _special["fold"] = {token_hash(k): token_hash(v) for k, v in _FOLD.items()}
        _special["zero"] = token_hash("0")
    return _special


def token_hashes(text: str, mask_numbers: bool = False, nfkc: bool = False, fallback: bool = True):
    """`tokens(text, mask_numbers)` as `(hashes, starts, ends, ntext)`: uint64 `token_hash` of each token and
    its character span in `ntext`, the NFKC form of `text` (which is `text` itself for most inputs).

    `nfkc=True` says `text` is in NFKC already (a caller that normalised many texts one by one: NFKC of a
    long joined text costs more than that of its parts, as one non-ASCII character sends it all through the
    full algorithm). `fallback=False` returns None where the slow path (no offsets) would be taken, for a
    caller that would rather split its batch than pay for string tokens it does not use."""
    import numpy as np

    ntext = text if nfkc else unicodedata.normalize("NFKC", text)
    if not ntext:
        return _slow_token_hashes(ntext, mask_numbers)
    co = np.frombuffer(ntext.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cp = _lowercase(co)  # a table lookup: str.lower() on non-ASCII text costs more than all the rest
    if cp is not None and (co == 0x3A3).any():  # capital sigma lowercases by context (final ς)
        cp = np.frombuffer(ntext.lower().encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if cp is None:  # a character whose lowercase is longer (U+0130): take the slow path
        return _slow_token_hashes(ntext, mask_numbers) if fallback else None
    cls = _classes(cp)  # `$` and `~` are dropped (spaces)
    n = len(cp)
    bs = np.flatnonzero(cp == 92)
    after = cp[np.minimum(bs + 1, n - 1)] * (bs + 1 < n)
    # `\,` `\!` `\;` `\:` `\ ` `\(` `\)` `\[` `\]` are dropped (become spaces), as `$` and `~` are above
    pair = bs[_drop_after_table()[np.minimum(after, 127)]]
    cls[pair] = _SPACE
    cls[pair + 1] = _SPACE
    # a command is a backslash and the whole run of ASCII letters after it (`\\[a-z]+` on lowercased text)
    az = (cp >= 97) & (cp <= 122)
    cmd = bs[(after >= 97) & (after <= 122)]
    not_az = np.flatnonzero(~az)
    i = np.searchsorted(not_az, cmd + 1)
    cmd_end = np.where(i < len(not_az), not_az[np.minimum(i, len(not_az) - 1)], n)
    cmd_bs = np.zeros(n, dtype=bool)
    cmd_bs[cmd] = True
    digit = cls == _DIGIT
    if mask_numbers:  # `\d+(?:[.,]\d+)*` is one number
        sep = np.zeros(n, dtype=bool)
        sep[1:-1] = ((cp[1:-1] == 46) | (cp[1:-1] == 44)) & digit[:-2] & digit[2:]
        digit |= sep
        cls[sep] = _DIGIT
    letter = cls == _LETTER
    start = cls == _OTHER
    start[0] |= letter[0] | digit[0]
    start[1:] |= (letter[1:] & ~letter[:-1]) | (digit[1:] & ~digit[:-1])
    # the letters of a command continue its token; a letter right after the command starts a new one
    start[cmd + 1] = False
    after_cmd = cmd_end[cmd_end < n]
    start[after_cmd[cls[after_cmd] == _LETTER]] = True
    pos = np.flatnonzero(cls != _SPACE)
    if len(pos) == 0:
        e = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), e, e, ntext
    ts = np.flatnonzero(start[pos])
    te = np.empty_like(ts)
    te[:-1], te[-1] = ts[1:], len(pos)
    h = _span_hashes(cp, pos, ts, te)
    starts, ends = pos[ts], pos[te - 1] + 1
    sp = _special_hashes()
    keep = np.ones(len(h), dtype=bool)
    is_cmd = cmd_bs[starts]
    if is_cmd.any():  # drop and fold decisions are case-sensitive, as in `normalize`
        ci = np.flatnonzero(is_cmd)
        # hashed over the command tokens' own characters only: a prefix sum over all the text's was a tenth of
        # the tokenizer's time, for the few percent of tokens that are commands
        lens = te[ci] - ts[ci]
        ends_c = np.cumsum(lens)
        chars = pos[np.repeat(ts[ci] - ends_c + lens, lens) + np.arange(int(ends_c[-1]))]
        horig = _span_hashes(co, chars, ends_c - lens, ends_c)
        drop = sp["drop"]
        keep[ci[drop[np.minimum(np.searchsorted(drop, horig), len(drop) - 1)] == horig]] = False
        for src, dst in sp["fold"].items():
            h[ci[horig == np.uint64(src)]] = np.uint64(dst)
    if mask_numbers:
        h[digit[starts]] = np.uint64(sp["zero"])
    return h[keep], starts[keep], ends[keep], ntext


def _slow_token_hashes(ntext: str, mask_numbers: bool):
    import numpy as np

    toks = tokens(ntext, mask_numbers)
    h = np.array([token_hash(t) for t in toks], dtype=np.uint64)
    e = np.full(len(toks), -1, dtype=np.int64)  # no offsets on this path; callers fall back to a search
    return h, e, e.copy(), ntext

