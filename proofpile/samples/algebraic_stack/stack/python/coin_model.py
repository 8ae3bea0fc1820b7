"""A coin-flip model for a probabilistic-programming library.

Its import line starts with the same letters as a numerical library's name,
but it is a different package. Written for the proofpile samples.
"""

import numpyro
import numpyro.distributions as dist


def coin(flips=None):
    bias = numpyro.sample("bias", dist.Beta(2.0, 2.0))
    with numpyro.plate("flips", 10):
        numpyro.sample("obs", dist.Bernoulli(bias), obs=flips)
