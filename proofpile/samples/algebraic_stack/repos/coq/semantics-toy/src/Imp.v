(* A tiny expression language and its evaluator.
   Written for the proofpile samples. *)

Inductive aexp : Type :=
  | ANum : nat -> aexp
  | APlus : aexp -> aexp -> aexp
  | AMult : aexp -> aexp -> aexp.

Fixpoint aeval (a : aexp) : nat :=
  match a with
  | ANum n => n
  | APlus a1 a2 => aeval a1 + aeval a2
  | AMult a1 a2 => aeval a1 * aeval a2
  end.

Fixpoint optimize_0plus (a : aexp) : aexp :=
  match a with
  | ANum n => ANum n
  | APlus (ANum 0) e2 => optimize_0plus e2
  | APlus e1 e2 => APlus (optimize_0plus e1) (optimize_0plus e2)
  | AMult e1 e2 => AMult (optimize_0plus e1) (optimize_0plus e2)
  end.

Theorem optimize_0plus_sound : forall a, aeval (optimize_0plus a) = aeval a.
Proof.
  induction a as [n | a1 IH1 a2 IH2 | a1 IH1 a2 IH2]; simpl.
  - reflexivity.
  - destruct a1 as [[| n] | b1 b2 | b1 b2];
      simpl in *; try rewrite IH1; rewrite IH2; reflexivity.
  - rewrite IH1, IH2. reflexivity.
Qed.
