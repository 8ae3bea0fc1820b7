# Newton's method for square roots, vectorised over the input.
# Written for the proofpile samples.

newton_sqrt <- function(a, tol = 1e-12, maxit = 60) {
  x <- ifelse(a > 1, a / 2, 1)
  for (i in seq_len(maxit)) {
    x_new <- 0.5 * (x + a / x)
    if (all(abs(x_new - x) < tol)) break
    x <- x_new
  }
  x_new
}

stopifnot(all(abs(newton_sqrt(c(2, 9, 0.25)) - sqrt(c(2, 9, 0.25))) < 1e-10))
