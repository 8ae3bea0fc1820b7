"""The signature core: batching never changes a signature, estimates track Jaccard, bands and components."""

from __future__ import annotations

import numpy as np

from proofpile.dedup import lsh
from proofpile.dedup.minhash import MinHasher, MinHashParams, s_curve

from .near_dup_corpus import WordSource, planted_pair


def test_a_batch_signs_each_text_as_if_alone():
    src = WordSource(3)
    texts = [" ".join(src.words(80)), "", "Ｘ² ≤ 4 and $\\dfrac{1}{2}$ İstanbul ǅ", "x\\", "\\frac{a}{b}", "short text",
             "A line ending in a backslash \\", "ß" * 30]
    hasher = MinHasher()
    sigs, ok = hasher.signatures(texts)
    assert ok.tolist() == [True, False, True, True, True, True, True, True]
    for text, sig, good in zip(texts, sigs, ok):
        alone = hasher.signature(text)
        assert (alone is None) == (not good)
        if good:
            assert np.array_equal(alone, sig)


def test_signature_agreement_estimates_jaccard_and_seed_matters():
    src = WordSource(4)
    hasher = MinHasher(MinHashParams(bands=50, rows=10))
    a, b = planted_pair(src, 0.6)
    j = hasher.jaccard(hasher.shingles(a), hasher.shingles(b))
    sig, _ = hasher.signatures([a, b])
    assert abs(float(np.mean(sig[0] == sig[1])) - j) < 0.08
    other = MinHasher(MinHashParams(bands=50, rows=10, seed=2)).signatures([a])[0][0]
    assert not np.array_equal(other, sig[0])


def test_band_keys_equal_exactly_when_the_band_is_equal():
    hasher = MinHasher(MinHashParams(bands=3, rows=2))
    sigs = np.array([[1, 2, 3, 4, 5, 6], [1, 2, 9, 4, 5, 6], [2, 1, 3, 4, 6, 5]], dtype=np.uint32)
    k = hasher.band_keys(sigs)
    assert k[0, 0] == k[1, 0] and k[0, 1] != k[1, 1] and k[0, 2] == k[1, 2]
    assert k[0, 0] != k[2, 0] and k[0, 2] != k[2, 2]  # order inside a band matters
    assert "50% at s = 0.750" in s_curve(MinHashParams())


def test_components_take_the_smallest_node_and_survivors_follow_rank_then_id():
    u = np.array([5, 7, 1, 20], dtype=np.uint64)
    v = np.array([7, 9, 3, 21], dtype=np.uint64)
    nodes, labels = lsh.connected_components(u, v)
    assert nodes.tolist() == [1, 3, 5, 7, 9, 20, 21] and labels.tolist() == [1, 1, 5, 5, 5, 20, 20]
    kept = lsh.choose_survivors(nodes, labels, [1, 0, 2, 2, 2, 0, 0], ["b", "a", "z", "y", "x", "q", "p"],
                                matched=np.array([21], dtype=np.uint64))
    assert kept.tolist() == [False, True, False, False, True, False, False]


def test_key_windows_cover_the_key_space_once():
    w = lsh.key_windows(10, 3)
    assert w[0][0] == 0 and w[-1][1] == 2**64 and len(w) == 4
    assert all(a[1] == b[0] for a, b in zip(w, w[1:]))
