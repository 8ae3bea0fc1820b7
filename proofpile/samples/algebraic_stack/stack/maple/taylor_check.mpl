# Compare a Taylor polynomial with the function it approximates.
# Written for the proofpile samples.

TaylorGap := proc(f, x, a, n)
    local p;
    p := convert(taylor(f, x = a, n + 1), polynom);
    return simplify(f - p);
end proc:

g := TaylorGap(exp(x), x, 0, 4);
evalf(subs(x = 0.1, g));
