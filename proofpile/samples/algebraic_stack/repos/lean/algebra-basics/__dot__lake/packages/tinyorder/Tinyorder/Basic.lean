/-
  A vendored dependency, as Lake places it under .lake/packages.
  Written for this proofpile sample.
-/

namespace Tinyorder

lemma le_refl' (n : Nat) : n ≤ n := Nat.le_refl n

theorem le_trans' {a b c : Nat} (h₁ : a ≤ b) (h₂ : b ≤ c) : a ≤ c :=
  Nat.le_trans h₁ h₂

end Tinyorder
