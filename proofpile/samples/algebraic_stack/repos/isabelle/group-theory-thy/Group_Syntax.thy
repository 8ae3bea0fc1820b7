(* Syntax declarations only; this theory states no results.
   Written for the proofpile samples. *)

theory Group_Syntax
  imports Main
begin

definition square :: "nat \<Rightarrow> nat" where
  "square n = n * n"

fun sum_to :: "nat \<Rightarrow> nat" where
  "sum_to 0 = 0"
| "sum_to (Suc n) = Suc n + sum_to n"

abbreviation twice :: "nat \<Rightarrow> nat" where
  "twice n \<equiv> 2 * n"

end
