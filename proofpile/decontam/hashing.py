"""64-bit hashes of units and of n-gram windows, computed for whole arrays with numpy.

A token is hashed by `normalize.token_hash` (the hash `token_hashes` gives it). A unit combines its tokens
as a polynomial over their positions, finished by the splitmix64 mixer so that units of one token do not
equal the token's own hash. An n-gram window is a polynomial over the ids of its `n` units, computed with
prefix sums (`sum u_j * B^-j`, differenced and scaled by `B^i`), so every window of a document costs five
numpy passes whatever n is, instead of one pass per unit; xxhash of each window's bytes would need a Python
call per window (60x slower). Collisions (odds ~ windows^2 / 2^64) are harmless: every hit is confirmed
unit by unit against the indexed text before it counts.
"""

from __future__ import annotations

import numpy as np
import xxhash

_B = np.uint64(0x9E3779B97F4A7C15)  # odd, so it has an inverse modulo 2**64
_B_INV = np.uint64(pow(int(_B), -1, 1 << 64))
_P = np.uint64(0x100000001B3)
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_powers: dict[str, np.ndarray] = {}


def text_fingerprint(ids: np.ndarray) -> int:
    """A whole sequence of unit ids (a short benchmark field matched whole)."""
    return xxhash.xxh3_64_intdigest(np.ascontiguousarray(ids, dtype=np.int64).tobytes())


def _table(name: str, base: np.uint64, n: int) -> np.ndarray:
    t = _powers.get(name)
    if t is None or len(t) < n:
        size = max(n, 1 << 16, 0 if t is None else 2 * len(t))
        t = np.empty(size, dtype=np.uint64)
        t[0] = 1
        with np.errstate(over="ignore"):
            t[1:] = base
            t = np.cumprod(t, dtype=np.uint64)
        _powers[name] = t
    return t[:n]


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def combine(h: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Hash of each segment `h[starts[k]:starts[k+1]]`: `mix(sum_i mix(h_i) * P^i)`, i the position in the
    segment. Computed as `P^-start * sum_i mix(h_i) * P^(start+i)` (P is odd, so invertible modulo 2**64: the
    same value), so the powers are one slice of a table, not a gather by each element's position."""
    n = len(h)
    p = _table("p", _P, n)
    p_inv = _table("p_inv", _P_INV, n)
    with np.errstate(over="ignore"):
        terms = mix(h) * p
        return mix(np.add.reduceat(terms, starts) * p_inv[starts])


def windows(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every window of `n` consecutive ids (`len(ids) - n + 1` of them)."""
    size = len(ids)
    if size < n:
        return np.zeros(0, dtype=np.uint64)
    inv = _table("inv", _B_INV, size + 1)
    fwd = _table("fwd", _B, size + 1)
    with np.errstate(over="ignore"):
        pre = np.zeros(size + 1, dtype=np.uint64)
        np.cumsum(mix(ids.astype(np.uint64) + np.uint64(1)) * inv[:size], out=pre[1:])
        return (pre[n:] - pre[: size - n + 1]) * fwd[: size - n + 1]


class Windows:
    """Window hashes of any length at chosen start positions, from one prefix sum over the ids: a document's
    windows are looked up only where an indexed n-gram can start, for n and every short-field length."""

    def __init__(self, ids: np.ndarray):
        size = len(ids)
        self.size = size
        inv = _table("inv", _B_INV, size + 1)
        self.fwd = _table("fwd", _B, size + 1)
        self.pre = np.zeros(size + 1, dtype=np.uint64)
        self.zeros = np.zeros(size + 1, dtype=np.int32)
        with np.errstate(over="ignore"):
            np.cumsum(mix(ids.astype(np.uint64) + np.uint64(1)) * inv[:size], out=self.pre[1:])
        np.cumsum(ids == 0, out=self.zeros[1:])

    def starts(self, ok: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
        """Positions where a window of `n` fits, starts with an id `ok` says can start one, and holds no 0."""
        if self.size < n:
            return np.zeros(0, dtype=np.int64)
        pos = np.flatnonzero(ok[ids[: self.size - n + 1]])
        return pos[self.zeros[pos + n] == self.zeros[pos]]

    def starts_many(self, ok: np.ndarray, ids: np.ndarray, lengths: list[int]):
        """`starts` for several window lengths at once: (positions, their window length), and their hashes."""
        first = np.flatnonzero(ok[ids])
        pos, lens = [], []
        for n in lengths:
            p = first[first <= self.size - n]
            p = p[self.zeros[p + n] == self.zeros[p]]
            pos.append(p)
            lens.append(np.full(len(p), n, dtype=np.int64))
        if not pos:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint64)
        pos, lens = np.concatenate(pos), np.concatenate(lens)
        with np.errstate(over="ignore"):
            return pos, lens, (self.pre[pos + lens] - self.pre[pos]) * self.fwd[pos]

    def at(self, pos: np.ndarray, n: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (self.pre[pos + n] - self.pre[pos]) * self.fwd[pos]
