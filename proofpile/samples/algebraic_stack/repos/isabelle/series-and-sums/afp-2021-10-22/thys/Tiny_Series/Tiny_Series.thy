(* A theory inside a copied Archive of Formal Proofs release tree.
   Written for the proofpile samples. *)

theory Tiny_Series
  imports Main
begin

fun geom :: "nat \<Rightarrow> nat" where
  "geom 0 = 1"
| "geom (Suc n) = geom n + 2 ^ Suc n"

lemma geom_closed: "geom n + 1 = 2 ^ Suc n"
  by (induction n) simp_all

end
