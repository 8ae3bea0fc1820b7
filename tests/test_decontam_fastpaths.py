"""The hand-written fast paths of the scan give what the plain computation gives."""

import numpy as np

from proofpile.decontam.ngrams import HashTable
from proofpile.decontam.units import _divisible


def _table_cases(filtered: bool, n: int):
    rng = np.random.default_rng(1)
    crowd = np.arange(1, 300, dtype=np.uint64) << np.uint64(40)  # one home slot: long probe chains
    keys = np.unique(np.concatenate([rng.integers(1, 2**63, n, dtype=np.uint64), crowd]))
    values = rng.integers(0, 10**9, len(keys))
    absent = rng.integers(1, 2**63, 5000, dtype=np.uint64)
    absent = absent[~np.isin(absent, keys)]
    queries = np.concatenate([keys, absent, crowd + np.uint64(1 << 39), np.zeros(3, np.uint64)])
    rng.shuffle(queries)
    return HashTable(keys, values, filtered=filtered), dict(zip(keys.tolist(), values.tolist())), queries


def test_hash_table_gives_what_a_dict_gives():
    for filtered, n, slack in ((False, 3000, 2), (True, 40000, 4)):  # the second has the bit filter
        table, ref, queries = _table_cases(filtered, n)
        if slack != 4:
            table = HashTable(np.array(list(ref), np.uint64), np.array(list(ref.values())), filtered, slack)
        assert table.get(queries).tolist() == [ref.get(q, -1) for q in queries.tolist()]
    # key 0 is a key like any other, though a free slot holds 0 too
    t = HashTable(np.array([0, 16, 32], np.uint64), np.array([7, 8, 9]))
    assert t.get(np.array([0, 16, 32, 48, 1], np.uint64)).tolist() == [7, 8, 9, -1, -1]
    assert HashTable(np.array([16], np.uint64), np.array([5])).get(np.zeros(2, np.uint64)).tolist() == [-1, -1]


def test_divisibility_without_division():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.integers(0, 2**64 - 1, 100_000, dtype=np.uint64, endpoint=True),
                        np.arange(2000, dtype=np.uint64), np.array([2**64 - 1, 2**64 - 2, 2**63], np.uint64)])
    for d in (1, 2, 3, 6, 7, 12, 96, 1000):
        assert (_divisible(x, d) == (x % np.uint64(d) == 0)).all(), d
