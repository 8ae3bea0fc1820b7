/-
  Commutative rings: a small self-contained development.

  This file builds a minimal structure of commutative rings and proves a handful
  of identities that hold in every such ring. It is deliberately verbose so that
  it is long enough to exercise chunk-level deduplication in proofpile: another
  sample repository carries a file that starts with exactly the same text and
  only diverges after the first two thousand characters.

  Written for the proofpile samples.
-/

namespace AlgebraBasics

/-- The operations and laws of a commutative ring, stated as fields. -/
structure CRing (α : Type) where
  zero : α
  one : α
  add : α → α → α
  mul : α → α → α
  neg : α → α
  add_assoc : ∀ a b c, add (add a b) c = add a (add b c)
  add_comm : ∀ a b, add a b = add b a
  add_zero : ∀ a, add a zero = a
  add_neg : ∀ a, add a (neg a) = zero
  mul_assoc : ∀ a b c, mul (mul a b) c = mul a (mul b c)
  mul_comm : ∀ a b, mul a b = mul b a
  mul_one : ∀ a, mul a one = a
  left_distrib : ∀ a b c, mul a (add b c) = add (mul a b) (mul a c)

namespace CRing

variable {α : Type} (R : CRing α)

theorem zero_add (a : α) : R.add R.zero a = a := by
  rw [R.add_comm, R.add_zero]

theorem one_mul (a : α) : R.mul R.one a = a := by
  rw [R.mul_comm, R.mul_one]

theorem right_distrib (a b c : α) :
    R.mul (R.add a b) c = R.add (R.mul a c) (R.mul b c) := by
  rw [R.mul_comm, R.left_distrib, R.mul_comm c a, R.mul_comm c b]

theorem add_left_cancel {a b c : α} (h : R.add a b = R.add a c) : b = c := by
  have hb : b = R.add (R.add (R.neg a) a) b := by
    rw [R.add_comm (R.neg a) a, R.add_neg, zero_add]
  have hc : c = R.add (R.add (R.neg a) a) c := by
    rw [R.add_comm (R.neg a) a, R.add_neg, zero_add]
  rw [hb, hc, R.add_assoc, R.add_assoc, h]

theorem mul_zero (a : α) : R.mul a R.zero = R.zero := by
  apply R.add_left_cancel (a := R.mul a R.zero)
  rw [← R.left_distrib, R.add_zero, R.add_zero]

theorem zero_mul (a : α) : R.mul R.zero a = R.zero := by
  rw [R.mul_comm, mul_zero]

/-- Squaring, written out so that later identities read naturally. -/
def sq (a : α) : α := R.mul a a

theorem sq_def (a : α) : R.sq a = R.mul a a := rfl

theorem sq_zero : R.sq R.zero = R.zero := by
  rw [sq_def, mul_zero]

theorem sq_one : R.sq R.one = R.one := by
  rw [sq_def, R.mul_one]

/-- Doubling an element. -/
def twice (a : α) : α := R.add a a

theorem twice_def (a : α) : R.twice a = R.add a a := rfl

theorem twice_zero : R.twice R.zero = R.zero := by
  rw [twice_def, R.add_zero]

theorem mul_twice (a b : α) : R.mul a (R.twice b) = R.twice (R.mul a b) := by
  rw [twice_def, twice_def, R.left_distrib]

theorem twice_mul (a b : α) : R.mul (R.twice a) b = R.twice (R.mul a b) := by
  rw [twice_def, twice_def, right_distrib]

end CRing

end AlgebraBasics
