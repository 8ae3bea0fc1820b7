(* A home-made copy of the naturals with addition.
   Written for the proofpile samples. *)

Inductive unat : Type :=
  | UZ : unat
  | US : unat -> unat.

Fixpoint uplus (m n : unat) : unat :=
  match m with
  | UZ => n
  | US m' => US (uplus m' n)
  end.

Definition utwo : unat := US (US UZ).

Lemma uplus_UZ_r : forall n, uplus n UZ = n.
Proof.
  induction n as [| n IH]; simpl.
  - reflexivity.
  - rewrite IH. reflexivity.
Qed.

Lemma uplus_US_r : forall m n, uplus m (US n) = US (uplus m n).
Proof.
  induction m as [| m IH]; intros n; simpl.
  - reflexivity.
  - rewrite IH. reflexivity.
Qed.

Theorem uplus_comm : forall m n, uplus m n = uplus n m.
Proof.
  induction m as [| m IH]; intros n; simpl.
  - rewrite uplus_UZ_r. reflexivity.
  - rewrite IH, uplus_US_r. reflexivity.
Qed.
