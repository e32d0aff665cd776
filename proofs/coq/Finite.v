(** * Finite sums and maxima over the indices [i < n]

    States and actions are the natural numbers below [nS] and [nA]; a vector is
    a function [nat -> R] of which only the entries below its length matter.
    This file defines the sum and the (nonnegative) maximum over [i < n] and
    proves the few facts that the other files use. *)

From Coq Require Import Reals Lra Lia.
Open Scope R_scope.

(** [fsum n f] is [f 0 + ... + f (n-1)]. *)
Fixpoint fsum (n : nat) (f : nat -> R) : R :=
  match n with O => 0 | S k => fsum k f + f k end.

(** [fsup n f] is [max (0, f 0, ..., f (n-1))]: for [f >= 0] the maximum, and the
    sup norm when [f] is an absolute value. *)
Fixpoint fsup (n : nat) (f : nat -> R) : R :=
  match n with O => 0 | S k => Rmax (fsup k f) (f k) end.

(** Sums only see the entries below their length. *)
Lemma fsum_ext n f g :
  (forall i, (i < n)%nat -> f i = g i) -> fsum n f = fsum n g.
Proof.
  induction n as [|n IH]; intros H; simpl; [reflexivity|].
  rewrite IH, H; auto with arith.
Qed.

(** Sums are monotone. *)
Lemma fsum_le n f g :
  (forall i, (i < n)%nat -> f i <= g i) -> fsum n f <= fsum n g.
Proof.
  induction n as [|n IH]; intros H; simpl; [lra|].
  apply Rplus_le_compat; auto with arith.
Qed.

(** A sum of nonnegative terms is nonnegative. *)
Lemma fsum_nonneg n f :
  (forall i, (i < n)%nat -> 0 <= f i) -> 0 <= fsum n f.
Proof.
  intros H; replace 0 with (fsum n (fun _ => 0)).
  - now apply fsum_le.
  - induction n; simpl; [reflexivity|]. rewrite IHn; auto with arith; lra.
Qed.

(** A sum of nonnegative terms bounds each of them. *)
Lemma fsum_ge_term n f j :
  (forall i, (i < n)%nat -> 0 <= f i) -> (j < n)%nat -> f j <= fsum n f.
Proof.
  induction n as [|n IH]; intros H Hj; simpl; [lia|].
  assert (0 <= fsum n f) by (apply fsum_nonneg; auto with arith).
  destruct (Nat.eq_dec j n) as [->|Hne].
  - lra.
  - assert (f j <= fsum n f) by (apply IH; auto with arith; lia).
    specialize (H n (Nat.lt_succ_diag_r n)); lra.
Qed.

(** A sum of nonnegative terms, one of them positive, is positive. *)
Lemma fsum_pos n f :
  (forall i, (i < n)%nat -> 0 <= f i) ->
  (exists j, (j < n)%nat /\ 0 < f j) -> 0 < fsum n f.
Proof.
  intros H [j [Hj Hpos]].
  pose proof (fsum_ge_term n f j H Hj); lra.
Qed.

(** Sums are linear. *)
Lemma fsum_plus n f g :
  fsum n (fun i => f i + g i) = fsum n f + fsum n g.
Proof. induction n; simpl; [lra|]. rewrite IHn; lra. Qed.

Lemma fsum_minus n f g :
  fsum n (fun i => f i - g i) = fsum n f - fsum n g.
Proof. induction n; simpl; [lra|]. rewrite IHn; lra. Qed.

Lemma fsum_scal n c f :
  fsum n (fun i => c * f i) = c * fsum n f.
Proof. induction n; simpl; [lra|]. rewrite IHn; lra. Qed.

(** The triangle inequality for sums. *)
Lemma fsum_abs n f : Rabs (fsum n f) <= fsum n (fun i => Rabs (f i)).
Proof.
  induction n; simpl.
  - rewrite Rabs_R0; lra.
  - eapply Rle_trans; [apply Rabs_triang|lra].
Qed.

(** [fsup] is nonnegative, bounds every entry, and is the least such bound. *)
Lemma fsup_nonneg n f : 0 <= fsup n f.
Proof.
  induction n; simpl; [lra|].
  eapply Rle_trans; [exact IHn|apply Rmax_l].
Qed.

Lemma fsup_ge n f i : (i < n)%nat -> f i <= fsup n f.
Proof.
  induction n as [|n IH]; intros Hi; simpl; [lia|].
  destruct (Nat.eq_dec i n) as [->|Hne].
  - apply Rmax_r.
  - eapply Rle_trans; [apply IH; lia|apply Rmax_l].
Qed.

Lemma fsup_le n f c :
  0 <= c -> (forall i, (i < n)%nat -> f i <= c) -> fsup n f <= c.
Proof.
  induction n as [|n IH]; intros Hc H; simpl; [exact Hc|].
  apply Rmax_lub; auto with arith.
Qed.

Lemma fsup_ext n f g :
  (forall i, (i < n)%nat -> f i = g i) -> fsup n f = fsup n g.
Proof.
  induction n as [|n IH]; intros H; simpl; [reflexivity|].
  rewrite IH, H; auto with arith.
Qed.

(** ** Monotone, shift-equivariant maps are 1-Lipschitz

    The one argument behind every contraction in this development: if [G] is
    monotone and [G (x + c) = G x + c], then [|G x - G y| <= max_i |x i - y i|],
    because [x <= y + d] gives [G x <= G (y + d) = G y + d], and symmetrically. *)
Lemma mono_shift_lipschitz n (G : (nat -> R) -> R) :
  (forall x y, (forall i, (i < n)%nat -> x i <= y i) -> G x <= G y) ->
  (forall x c, G (fun i => x i + c) = G x + c) ->
  forall x y d,
  (forall i, (i < n)%nat -> Rabs (x i - y i) <= d) -> Rabs (G x - G y) <= d.
Proof.
  intros Hmono Hshift x y d H.
  assert (Hxy : G x <= G y + d).
  { rewrite <- Hshift. apply Hmono. intros i Hi.
    specialize (H i Hi). pose proof (Rle_abs (x i - y i)). lra. }
  assert (Hyx : G y <= G x + d).
  { rewrite <- Hshift. apply Hmono. intros i Hi.
    specialize (H i Hi). rewrite Rabs_minus_sym in H.
    pose proof (Rle_abs (y i - x i)). lra. }
  apply Rabs_le; lra.
Qed.
