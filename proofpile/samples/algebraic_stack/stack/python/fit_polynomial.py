"""Least-squares polynomial fit with a condition-number check.

Written for the proofpile samples.
"""

import numpy as np


def vandermonde(x, degree):
    """Columns x**0, x**1, ..., x**degree."""
    return np.vander(np.asarray(x, dtype=float), degree + 1, increasing=True)


def fit(x, y, degree):
    """Coefficients c with sum(c[k] * x**k) close to y in the least-squares sense."""
    V = vandermonde(x, degree)
    if np.linalg.cond(V) > 1e12:
        raise ValueError("ill-conditioned fit; lower the degree")
    coeffs, *_ = np.linalg.lstsq(V, np.asarray(y, dtype=float), rcond=None)
    return coeffs


if __name__ == "__main__":
    xs = np.linspace(-1.0, 1.0, 21)
    ys = 1.0 - 2.0 * xs + 0.5 * xs**2
    print(np.round(fit(xs, ys, 2), 6))
