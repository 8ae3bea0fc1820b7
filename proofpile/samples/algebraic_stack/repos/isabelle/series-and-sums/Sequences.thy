(* Sums of simple sequences, proved by induction.
   Written for the proofpile samples. *)

theory Sequences
  imports Main
begin

fun odd_sum :: "nat \<Rightarrow> nat" where
  "odd_sum 0 = 0"
| "odd_sum (Suc n) = odd_sum n + (2 * n + 1)"

lemma odd_sum_square: "odd_sum n = n * n"
  by (induction n) simp_all

fun gauss :: "nat \<Rightarrow> nat" where
  "gauss 0 = 0"
| "gauss (Suc n) = gauss n + Suc n"

theorem gauss_closed_form: "2 * gauss n = n * (n + 1)"
  by (induction n) simp_all

end
