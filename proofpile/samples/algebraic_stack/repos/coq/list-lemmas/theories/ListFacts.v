(* Facts about list length and reversal, proved by induction.
   Written for the proofpile samples. *)

Require Import Coq.Lists.List.
Import ListNotations.

Fixpoint my_length {A : Type} (l : list A) : nat :=
  match l with
  | [] => 0
  | _ :: t => S (my_length t)
  end.

Fixpoint my_rev {A : Type} (l : list A) : list A :=
  match l with
  | [] => []
  | h :: t => my_rev t ++ [h]
  end.

Lemma my_length_app : forall (A : Type) (l1 l2 : list A),
  my_length (l1 ++ l2) = my_length l1 + my_length l2.
Proof.
  intros A l1 l2. induction l1 as [| h t IH].
  - reflexivity.
  - simpl. rewrite IH. reflexivity.
Qed.

Theorem my_length_rev : forall (A : Type) (l : list A),
  my_length (my_rev l) = my_length l.
Proof.
  intros A l. induction l as [| h t IH].
  - reflexivity.
  - simpl. rewrite my_length_app. simpl. rewrite IH.
    rewrite PeanoNat.Nat.add_comm. reflexivity.
Qed.
