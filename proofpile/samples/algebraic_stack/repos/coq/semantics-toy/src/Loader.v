(* Load path settings for the toy development. Nothing is stated here.
   Part of a sample repository. *)

Require Import Coq.Arith.Arith.
Require Import Coq.Bool.Bool.
Set Implicit Arguments.
