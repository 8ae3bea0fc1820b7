from proofpile.normalize import normalize, tokens


def test_delimiters_spacing_and_fraction_variants_compare_equal():
    a = r"Find $\dfrac{1}{2} + \left( x^2 \right)$ when  x = 3."
    b = "Find \\(\\frac{1}{2}+\\,(x^2)\\) when\nx = 3."
    assert tokens(a) == tokens(b)


def test_numbers_and_operators_survive():
    assert tokens("x^2+3x=5") != tokens("x^3-7x=2")
    assert tokens("3x+1") == ["3", "x", "+", "1"]
    assert tokens("$$\\sum_{i=1}^n i$$")[:3] == ["\\sum", "_", "{"]


def test_unicode_is_folded_and_numbers_can_be_masked():
    assert normalize("Ｘ² ≤ 4") == "x2 ≤ 4"
    assert tokens("Janet has 16 eggs and sells 3.5", mask_numbers=True) == tokens("Janet has 20 eggs and sells 7", mask_numbers=True)
    assert tokens("Janet has 16 eggs") != tokens("Janet has 20 eggs")
