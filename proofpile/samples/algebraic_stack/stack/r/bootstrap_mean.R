# Percentile bootstrap confidence interval for a mean.
# Written for the proofpile samples.

bootstrap_ci <- function(x, reps = 2000, level = 0.95) {
  means <- replicate(reps, mean(sample(x, replace = TRUE)))
  alpha <- (1 - level) / 2
  quantile(means, c(alpha, 1 - alpha))
}

set.seed(1)
x <- rexp(50, rate = 2)
print(bootstrap_ci(x))
