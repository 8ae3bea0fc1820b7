/-
  Competition problems in the style of the miniF2F benchmark, kept here only to
  check that benchmark copies are filtered out. The statements are invented for
  this sample and do not reproduce any real benchmark problem.
-/

theorem mathd_algebra_123 (x : Nat) (h : 3 * x + 4 = 19) : x = 5 := by
  omega

theorem amc12a_2019_p21 (a b : Nat) (h₀ : a + b = 12) (h₁ : a = 2 * b) : b = 4 := by
  omega

theorem imo_1959_p1 (n : Nat) : (7 * n + 3) % 7 = 3 := by
  omega
