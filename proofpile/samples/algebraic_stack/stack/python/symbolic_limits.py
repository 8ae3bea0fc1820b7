"""A few limits and series expansions done symbolically.

Written for the proofpile samples.
"""

from sympy import Symbol, exp, limit, oo, series, sin

x = Symbol("x")


def classic_limits():
    return {
        "sin(x)/x at 0": limit(sin(x) / x, x, 0),
        "(1 + 1/x)**x at oo": limit((1 + 1 / x) ** x, x, oo),
    }


def taylor(expr, order=6):
    return series(expr, x, 0, order).removeO()


if __name__ == "__main__":
    for name, value in classic_limits().items():
        print(name, "=", value)
    print(taylor(exp(x) * sin(x)))
