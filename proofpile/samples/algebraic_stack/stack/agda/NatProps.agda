-- Addition on the naturals is associative, proved by induction.
-- Written for the proofpile samples.
module NatProps where

open import Relation.Binary.PropositionalEquality using (_≡_; refl; cong)

data ℕ : Set where
  zero : ℕ
  suc  : ℕ → ℕ

_+_ : ℕ → ℕ → ℕ
zero  + n = n
suc m + n = suc (m + n)

+-assoc : (a b c : ℕ) → (a + b) + c ≡ a + (b + c)
+-assoc zero    b c = refl
+-assoc (suc a) b c = cong suc (+-assoc a b c)
