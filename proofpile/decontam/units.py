"""Word units: what the n of a decontamination n-gram counts.

GPT-3 and LLaMA decontaminate with 13-grams of whitespace words. Counting every LaTeX symbol as a token (as
`normalize.tokens` does) makes a 13-gram three or four words of prose around a formula, so stock phrases such
as `that x^2 + y^2 + z^2 =` became evidence. Here, over the tokens of `normalize.token_hashes` (so delimiters,
spacing, line breaks and sizing commands are already gone):

- a *prose word* is a run of two or more letters that is not a LaTeX command: one unit;
- everything between two prose words (a formula, a number, a one-letter variable, `\\frac`, `{`, ...) is a
  *formula run*, cut into units of about 6 tokens (`TOKENS_PER_UNIT`) where a hash of a token pair says so,
  and more rarely in long runs so that one has about 16 units at most (`MAX_UNITS_PER_RUN`). The cuts depend
  on the tokens only, not on where the run starts, so a formula has the same units wherever it stands;
- a math delimiter (`$`, `\\(`, `\\[`, whichever a copy uses) or a punctuation mark followed by a space
  starts a new run; prose punctuation (`, . ; : ! ? ' "`) is no unit nor part of one.

With `mask=True` numbers (with their `.`/`,` separators) and capitalised words (names) are replaced by one
placeholder each, so the same sentence with other numbers or names has the same units: what the `template`
class is matched with.
"""

from __future__ import annotations

import numpy as np

from proofpile.decontam.hashing import combine, mix
from proofpile.normalize import token_hash, token_hashes

#: formula tokens per unit, and units per formula run at most
TOKENS_PER_UNIT = 6
MAX_UNITS_PER_RUN = 16

_PUNCT_CP = np.zeros(128, dtype=bool)
_PUNCT_CP[[ord(c) for c in ",.;:!?'\""]] = True
_NUMBER = np.uint64(token_hash("<number>"))
_NAME = np.uint64(token_hash("<name>"))


def placeholder_units() -> np.ndarray:
    """The hashes of the units that are one placeholder alone (a masked number or name)."""
    zero = np.zeros(1, dtype=np.int64)
    return np.array([int(combine(np.array([p], np.uint64), zero)[0]) for p in (_NUMBER, _NAME)], dtype=np.uint64)
_EMPTY_U = np.zeros(0, dtype=np.uint64)
_EMPTY_I = np.zeros(0, dtype=np.int64)


def features(starts: np.ndarray, ends: np.ndarray, ntext: str, breaks: np.ndarray | None = None):
    """What units are cut by, whether numbers are masked or not: per token its first code point, whether it is
    a prose word or prose punctuation, and whether a new run starts there."""
    cp = np.frombuffer(ntext.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    first = cp[starts]
    low = first | 32
    letter = ((low >= 97) & (low <= 122)) | (first >= 0xC0)
    word = letter & (ends - starts >= 2)
    punct = _PUNCT_CP[np.minimum(first, 127)] & (ends - starts == 1)
    brk = np.zeros(len(starts), dtype=bool)
    if breaks is not None:
        brk[breaks[breaks < len(starts)]] = True
    # punctuation followed by a space ends a sentence or a list item: what follows starts a new run, so a
    # formula right after another one (a solution after its problem) has the units it has on its own
    gap = np.flatnonzero(punct[:-1] & (ends[:-1] < starts[1:]))
    brk[gap + 1] = True
    # so does a math delimiter (`$`, `\(`, `\)`, `\[`, `\]`, dropped by the tokenizer): a formula is one run
    # of its own whichever delimiters it was written with
    delim = cp == 36
    bs = np.flatnonzero(cp[:-1] == 92)
    nxt = cp[bs + 1]
    delim[bs[(nxt == 40) | (nxt == 41) | (nxt == 91) | (nxt == 93)]] = True
    if delim.any():
        cnt = np.concatenate([[0], np.cumsum(delim)])
        brk[1:] |= cnt[starts[1:]] > cnt[ends[:-1]]
    # the `s` of "Janet's" (the `t` of "don't") belongs to its word, as in a whitespace split: dropped
    if len(starts) > 2:
        clitic = (letter[2:] & (first[1:-1] == 39) & word[:-2] & (ends[:-2] == starts[1:-1])
                  & (ends[1:-1] == starts[2:]) & (ends[2:] - starts[2:] <= 2))
        punct = punct.copy()
        punct[2:] |= clitic
    return cp, first, word, punct, brk


def _divisible(x: np.ndarray, d: int) -> np.ndarray:
    """`x % d == 0` for uint64 `x` without a division (a uint64 division per token was a tenth of the unit
    cutting): `d` = 2^k * odd o, and x is a multiple of o exactly when x * o^-1 (mod 2^64) <= (2^64-1) // o."""
    k = (d & -d).bit_length() - 1
    o = d >> k
    with np.errstate(over="ignore"):
        ok = x * np.uint64(pow(o, -1, 1 << 64)) <= np.uint64(((1 << 64) - 1) // o)
    if k:
        ok &= (x & np.uint64((1 << k) - 1)) == 0
    return ok


def units_of_tokens(h: np.ndarray, starts: np.ndarray, ends: np.ndarray, ntext: str, mask: bool = False,
                    breaks: np.ndarray | None = None, feats=None):
    """`(unit hashes, first token of each unit, one past its last token)` for tokens from `token_hashes`;
    `breaks` (token indices, for many texts joined) start a new run, so no unit spans two texts; `feats`,
    from `features`, when the caller has them already (exact and masked units of the same tokens)."""
    if len(h) == 0:
        return _EMPTY_U, _EMPTY_I, _EMPTY_I
    cp, first, word, punct, brk = feats if feats is not None else features(starts, ends, ntext, breaks)
    keep = None
    if mask:
        h = h.copy()  # placeholders go in below
        digit = (first >= 48) & (first <= 57)
        # `3.5` and `1,000` are one number: drop the separator and the digits after it
        sep = np.zeros(len(h), dtype=bool)
        if len(h) > 2:
            is_sep = (first[1:-1] == 46) | (first[1:-1] == 44)
            sep[1:-1] = is_sep & digit[:-2] & digit[2:] & (ends[:-2] == starts[1:-1]) & (ends[1:-1] == starts[2:])
        after = np.zeros(len(h), dtype=bool)
        after[1:] = sep[:-1]
        keep = ~(sep | after)
        digit &= keep
        h[digit] = _NUMBER
        h[word & (first >= 65) & (first <= 90)] = _NAME
    keep = ~punct if keep is None else keep & ~punct  # prose punctuation is not a unit, nor part of one
    # a break on a dropped token moves to the next kept one
    kept_brk = np.cumsum(brk)[keep]
    brk_k = np.diff(np.concatenate([[0], kept_brk])) > 0
    tok_index = np.flatnonzero(keep)
    h, word = h[keep], word[keep]
    n = len(h)
    if n == 0:
        return _EMPTY_U, _EMPTY_I, _EMPTY_I
    # runs: each word is its own run; consecutive non-words form one run
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = word[1:] | word[:-1]
    new_run |= brk_k
    run_start = np.flatnonzero(new_run)
    run_len = np.diff(np.append(run_start, n))
    # inside a formula run a unit ends where the hash of a token pair says so (content-defined, so the same
    # formula gives the same units whatever surrounds it), one unit per TOKENS_PER_UNIT tokens on average;
    # runs longer than MAX_UNITS_PER_RUN * TOKENS_PER_UNIT cut more rarely, keeping about that many units
    pair = np.empty(n, dtype=np.uint64)
    pair[0] = h[0]
    with np.errstate(over="ignore"):
        pair[1:] = h[1:] * np.uint64(0x100000001B3) + h[:-1]
    mixed = mix(pair)
    cut = _divisible(mixed, TOKENS_PER_UNIT)
    long = np.flatnonzero(run_len > TOKENS_PER_UNIT * MAX_UNITS_PER_RUN)
    if len(long):  # the few tokens of long runs: a division each, by their run's own divisor
        lens = run_len[long]
        idx = np.repeat(run_start[long] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        spread = np.repeat(-(-lens // (TOKENS_PER_UNIT * MAX_UNITS_PER_RUN)), lens).astype(np.uint64)
        cut[idx] = (mixed[idx] % (np.uint64(TOKENS_PER_UNIT) * spread)) == 0
    ustart = new_run | cut
    ustart_idx = np.flatnonzero(ustart)
    uh = combine(h, ustart_idx)
    uend = np.append(ustart_idx[1:], n)
    return uh, tok_index[ustart_idx], tok_index[uend - 1] + 1


def units(text: str, mask: bool = False):
    """`(unit hashes, start char, end char, ntext)` of a text (character offsets into `ntext`, its NFKC form)."""
    h, starts, ends, ntext = token_hashes(text)
    if len(starts) and starts[0] < 0:  # the slow tokenizer path has no offsets; rare (U+0130 and the like)
        return _units_without_offsets(text, mask)
    uh, ut0, ut1 = units_of_tokens(h, starts, ends, ntext, mask)
    if len(uh) == 0:
        return uh, _EMPTY_I, _EMPTY_I, ntext
    return uh, starts[ut0], ends[ut1 - 1], ntext


def _units_without_offsets(text: str, mask: bool):
    """The same units through the string tokenizer, offsets searched for in the normalised text."""
    import unicodedata

    from proofpile.normalize import tokens

    ntext = unicodedata.normalize("NFKC", text).lower()
    toks = tokens(text)
    starts, ends, at = [], [], 0
    for t in toks:
        i = ntext.find(t, at)
        i = at if i < 0 else i
        starts.append(i)
        ends.append(i + len(t))
        at = i + len(t)
    h = np.array([token_hash(t) for t in toks], dtype=np.uint64)
    s, e = np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
    padded = ntext + " "
    uh, ut0, ut1 = units_of_tokens(h, s, e, padded, mask)
    if len(uh) == 0:
        return uh, _EMPTY_I, _EMPTY_I, ntext
    return uh, s[ut0], e[ut1 - 1], ntext
