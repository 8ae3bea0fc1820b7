(* Elementary group facts from a locale.
   Written for the proofpile samples. *)

theory Groups_Basic
  imports Main
begin

locale my_group =
  fixes mult :: "'a \<Rightarrow> 'a \<Rightarrow> 'a" (infixl "\<cdot>" 70)
    and unit :: 'a ("\<e>")
    and inv :: "'a \<Rightarrow> 'a"
  assumes assoc: "(x \<cdot> y) \<cdot> z = x \<cdot> (y \<cdot> z)"
    and left_unit: "\<e> \<cdot> x = x"
    and left_inv: "inv x \<cdot> x = \<e>"
begin

lemma left_cancel:
  assumes "x \<cdot> y = x \<cdot> z"
  shows "y = z"
proof -
  have "y = (inv x \<cdot> x) \<cdot> y" by (simp add: left_inv left_unit)
  also have "\<dots> = inv x \<cdot> (x \<cdot> z)" by (simp add: assoc assms)
  also have "\<dots> = z" by (simp add: assoc [symmetric] left_inv left_unit)
  finally show ?thesis .
qed

theorem unit_unique:
  assumes "\<And>x. u \<cdot> x = x"
  shows "u = \<e>"
proof -
  have "u = u \<cdot> \<e>" sorry
  also have "\<dots> = \<e>" using assms by simp
  finally show ?thesis .
qed

end

end
