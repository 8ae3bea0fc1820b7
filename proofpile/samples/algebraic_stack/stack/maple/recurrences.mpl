# Closed forms of linear recurrences with rsolve.
# Written for the proofpile samples.

fib := rsolve({a(n) = a(n - 1) + a(n - 2), a(0) = 0, a(1) = 1}, a(n));
hanoi := rsolve({h(n) = 2*h(n - 1) + 1, h(1) = 1}, h(n));
seq(simplify(subs(n = k, hanoi)), k = 1 .. 6);
