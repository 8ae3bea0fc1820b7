/-
Small concrete facts checked by computation, written with `example` only.
Written for the proofpile samples.
-/

example : 2 + 2 = 4 := rfl

example : 7 * 6 = 42 := rfl

example (n : ℕ) : n + 0 = n := rfl

example : (12 : ℕ) % 5 = 2 := dec_trivial
