/-
Notation and a few definitions shared by the other files.
This file states no results of its own.
-/

namespace notes

def square (n : ℕ) : ℕ := n * n

def triangular : ℕ → ℕ
| 0       := 0
| (n + 1) := triangular n + (n + 1)

end notes
