"""Word units: n counts prose words, a formula counts as a few bounded units, and a copy's reformatting
(delimiters, spacing, line breaks) changes no unit."""

from proofpile.decontam.units import MAX_UNITS_PER_RUN, units


def _texts(text: str, mask: bool = False) -> list[str]:
    uh, s, e, ntext = units(text, mask)
    return [ntext[a:b] for a, b in zip(s, e)]


def test_prose_words_are_one_unit_each_and_punctuation_none():
    assert _texts("Janet's ducks lay sixteen eggs per day, and she eats three.") == [
        "Janet", "ducks", "lay", "sixteen", "eggs", "per", "day", "and", "she", "eats", "three"]


def test_a_long_formula_is_bounded():
    formula = "$" + " + ".join(f"a_{{{i}}} x^{{{i}}}" for i in range(200)) + "$"
    assert 1 < len(units(formula)[0]) <= MAX_UNITS_PER_RUN + 4


def test_reformatting_changes_no_unit_and_a_formula_has_its_units_anywhere():
    a = "Find $\\frac{x^2+3x-5}{2x+1}$ when $x = 3$, then simplify $\\sqrt{2}\\cdot\\sqrt{8}$."
    b = "Find \\(\\dfrac{x^2 + 3x - 5}{2x + 1}\\)\n when \\( x=3 \\),  then\nsimplify \\[\\sqrt{2} \\cdot \\sqrt{8}\\]."
    assert units(a)[0].tolist() == units(b)[0].tolist()
    f = "$\\frac{x^2+3x-5}{2x+1} = \\sqrt{2}\\cdot\\sqrt{8} + 17$"
    alone = units(f)[0].tolist()
    inside = units("We know that " + f + " holds here.")[0].tolist()
    assert inside[3 : 3 + len(alone)] == alone


def test_masking_numbers_and_names():
    a = units("Janet sells 16 eggs at $2.50 each to Maria.", mask=True)[0].tolist()
    b = units("Peter sells 9 eggs at $3 each to Lucy.", mask=True)[0].tolist()
    assert a == b
    assert units("Janet sells 16 eggs.")[0].tolist() != units("Peter sells 9 eggs.")[0].tolist()
