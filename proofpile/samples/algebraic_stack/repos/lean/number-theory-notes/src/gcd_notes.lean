/-
Notes on divisibility and the greatest common divisor, in Lean 3 syntax.
Written for the proofpile samples.
-/

namespace notes

/-- `a` divides `b` when `b` is a multiple of `a`. -/
def divides (a b : ℕ) : Prop := ∃ k, b = a * k

local infix ` ∣∣ `:50 := divides

lemma divides_refl (a : ℕ) : a ∣∣ a := ⟨1, (mul_one a).symm⟩

lemma divides_zero (a : ℕ) : a ∣∣ 0 := ⟨0, (mul_zero a).symm⟩

lemma divides_trans {a b c : ℕ} (h₁ : a ∣∣ b) (h₂ : b ∣∣ c) : a ∣∣ c :=
begin
  cases h₁ with k hk,
  cases h₂ with l hl,
  exact ⟨k * l, by rw [hl, hk, mul_assoc]⟩,
end

theorem divides_add {a b c : ℕ} (h₁ : a ∣∣ b) (h₂ : a ∣∣ c) : a ∣∣ b + c :=
begin
  cases h₁ with k hk,
  cases h₂ with l hl,
  exact ⟨k + l, by rw [hk, hl, mul_add]⟩,
end

end notes
