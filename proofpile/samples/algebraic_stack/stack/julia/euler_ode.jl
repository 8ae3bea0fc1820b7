# Explicit Euler and Heun steps for y' = f(t, y).
# Written for the proofpile samples.
using LinearAlgebra

function euler(f, y0::AbstractVector, t0, t1, n)
    h = (t1 - t0) / n
    y = copy(y0)
    t = t0
    for _ in 1:n
        y = y + h * f(t, y)
        t += h
    end
    return y
end

function heun(f, y0::AbstractVector, t0, t1, n)
    h = (t1 - t0) / n
    y = copy(y0)
    t = t0
    for _ in 1:n
        k1 = f(t, y)
        k2 = f(t + h, y + h * k1)
        y = y + (h / 2) * (k1 + k2)
        t += h
    end
    return y
end

rotation(t, y) = [0.0 -1.0; 1.0 0.0] * y
println(norm(heun(rotation, [1.0, 0.0], 0.0, 2pi, 1000)))
