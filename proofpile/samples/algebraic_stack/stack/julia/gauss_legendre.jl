# Gauss-Legendre nodes and weights from the Golub-Welsch eigenproblem.
# Written for the proofpile samples.
using LinearAlgebra

function gauss_legendre(n::Integer)
    beta = [k / sqrt(4k^2 - 1) for k in 1:n-1]
    J = SymTridiagonal(zeros(n), beta)
    vals, vecs = eigen(J)
    return vals, 2 .* vecs[1, :] .^ 2
end

integrate(f, n) = (x_w = gauss_legendre(n); sum(x_w[2] .* f.(x_w[1])))
