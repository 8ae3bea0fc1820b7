"""The vectorised tokenizer decontamination scans with gives exactly `normalize.tokens`."""

import json
from pathlib import Path

import pytest

from proofpile.normalize import token_hash, token_hashes, tokens

EDGE = [
    "\\Left x \\left( \\Dfrac12 \\dfrac{1}{2}\\le3 \\lefté 3.5,2 x_1 \\\\( \\$5 a$b ~ ²",
    "İstanbul ΟΔΟΣ ΣΑΣ", "\\", "\\a", "a\\", "$", "", "   ", "\\alphaé\\\\beta 1.2.3 1..2 1,000,000",
    "ｆｕｌｌ ＷＩＤＴＨ ﬁ 𝐱+𝟐=𝟑 😀x",
]


def _texts(shared_data: Path) -> list[str]:
    out = list(EDGE)
    for name, fields in (("math_test.jsonl", ("problem", "solution")), ("gsm8k_test.jsonl", ("question", "answer"))):
        for line in (shared_data / "benchmarks" / name).read_text().splitlines():
            d = json.loads(line)
            out += [d[f] for f in fields]
    out += [p.read_text(encoding="utf-8", errors="replace")[:100_000] for p in sorted((shared_data / "html").rglob("*"))
            if p.is_file()]
    return out


@pytest.mark.parametrize("mask", [False, True])
def test_token_hashes_equal_tokens_on_real_text(shared_data, mask):
    texts = _texts(shared_data)
    # compared in batches of 100 texts (no token crosses the newline between them), and edge cases alone
    batches = EDGE + ["\n".join(texts[i : i + 100]) for i in range(0, len(texts), 100)]
    bad = [t[:80] for t in batches if token_hashes(t, mask)[0].tolist() != [token_hash(x) for x in tokens(t, mask)]]
    assert bad == []


def test_offsets_point_at_the_token_text():
    text = "Find $\\dfrac{1}{2}$ of 3.5, then \\(x^2\\)."
    h, starts, ends, ntext = token_hashes(text)
    assert ntext == text
    assert [text[s:e] for s, e in zip(starts, ends)] == [
        "Find", "\\dfrac", "{", "1", "}", "{", "2", "}", "of", "3", ".", "5", ",", "then", "x", "^", "2", "."]
    assert token_hash("\\frac") == int(h[1])  # folded
