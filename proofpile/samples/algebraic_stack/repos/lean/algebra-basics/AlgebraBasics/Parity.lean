/-
  Parity of natural numbers, proved from first principles.
  Sample file for proofpile; written for this sample.
-/

namespace AlgebraBasics

/-- A number is even when it is twice some number. -/
def IsEven (n : Nat) : Prop := ∃ k, n = 2 * k

/-- A number is odd when it is one more than twice some number. -/
def IsOdd (n : Nat) : Prop := ∃ k, n = 2 * k + 1

theorem zero_isEven : IsEven 0 := ⟨0, rfl⟩

theorem isEven_add {m n : Nat} (hm : IsEven m) (hn : IsEven n) : IsEven (m + n) := by
  obtain ⟨a, rfl⟩ := hm
  obtain ⟨b, rfl⟩ := hn
  exact ⟨a + b, by omega⟩

theorem isOdd_succ_of_isEven {n : Nat} (h : IsEven n) : IsOdd (n + 1) := by
  obtain ⟨k, rfl⟩ := h
  exact ⟨k, rfl⟩

theorem isEven_succ_of_isOdd {n : Nat} (h : IsOdd n) : IsEven (n + 1) := by
  obtain ⟨k, rfl⟩ := h
  exact ⟨k + 1, by omega⟩

theorem even_or_odd (n : Nat) : IsEven n ∨ IsOdd n := by
  induction n with
  | zero => exact Or.inl zero_isEven
  | succ n ih =>
    cases ih with
    | inl h => exact Or.inr (isOdd_succ_of_isEven h)
    | inr h => exact Or.inl (isEven_succ_of_isOdd h)

example : IsEven 10 := ⟨5, rfl⟩

end AlgebraBasics
