(** * The rounding of a float64 dot product (Flocq)

    [accurate_pv] in softq_ref/bounds.py sums the products of a row of [P] with
    [V] in float64, by blocks of [BLOCK] columns, and allows
    [gamma_{BLOCK+1} * sum |P V|] for the rounding of each block (Higham 2002,
    eq. 3.5; [gamma_k = k u / (1 - k u)]). This file proves the bound for the
    recursive sum [s_0 = 0], [s_{k+1} = fl (s_k + fl (p_k * v_k))]:

    - [dot_error]: in the standard model of rounding with an absolute term for
      underflow ([fl x = x (1 + d) + e], [|d| <= u], [|e| <= eta]),
      [|s_n - sum p v| <= gamma_{n+1} * sum |p v| + 3 n (1 + gamma_{n+1}) eta];
    - [dot_error_binary64]: binary64 with rounding to nearest (any tie-break),
      subnormals included, satisfies that model with [u = 2^-53] and
      [eta = 2^-1075] (Flocq's [error_N_FLT]); overflow is not modelled (Flocq's
      FLT format has no largest exponent).

    The underflow term [3 n (1 + gamma_{n+1}) 2^-1075] is in [accurate_pv]'s
    allowance ([softq_ref._rounding.dot_underflow]): it matters only when the
    products are subnormal. *)

From Coq Require Import Reals Lra Lia.
From Flocq Require Import Core Relative.
From SoftQ Require Import Finite.
Open Scope R_scope.

Section Model.

Variables (u eta : R) (fl : R -> R).
Hypothesis u_nonneg : 0 <= u.
Hypothesis u_le_1 : u <= 1.
Hypothesis eta_nonneg : 0 <= eta.
(** Every rounding: a relative error of at most [u] and an absolute one of at most [eta]. *)
Hypothesis fl_model : forall x, exists d e,
  Rabs d <= u /\ Rabs e <= eta /\ fl x = x * (1 + d) + e.

(** Higham's [gamma_k = k u / (1 - k u)]. *)
Definition gamma (k : nat) : R := INR k * u / (1 - INR k * u).

(** The recursive float dot product of the first [k] terms. *)
Fixpoint dot (p v : nat -> R) (k : nat) : R :=
  match k with O => 0 | S j => fl (dot p v j + fl (p j * v j)) end.

(** [gamma_k >= 0] while [k u < 1]. *)
Lemma gamma_nonneg k : INR k * u < 1 -> 0 <= gamma k.
Proof.
  intros H. pose proof u_nonneg.
  unfold gamma. apply Rmult_le_pos; [|left; apply Rinv_0_lt_compat; lra].
  apply Rmult_le_pos; [apply pos_INR|lra].
Qed.

(** One more rounding: [gamma_k (1 + u) + u <= gamma_{k+1}]. *)
Lemma gamma_step k : INR (S k) * u < 1 -> gamma k * (1 + u) + u <= gamma (S k).
Proof.
  intros H. pose proof u_nonneg. rewrite S_INR in *. unfold gamma. rewrite S_INR.
  set (K := INR k) in *. assert (0 <= K) by apply pos_INR.
  assert (K * u < 1) by nra.
  apply Rle_trans with ((K + 1) * u / (1 - K * u)); [right; field; lra|].
  unfold Rdiv. apply Rmult_le_compat_l; [nra|].
  apply Rinv_le_contravar; lra.
Qed.

(** Two roundings of one product: [2 u + u^2 <= gamma_{k+2}]. *)
Lemma gamma_two k : INR (S (S k)) * u < 1 -> 2 * u + u * u <= gamma (S (S k)).
Proof.
  intros H. pose proof u_nonneg. unfold gamma. set (x := INR (S (S k)) * u) in *.
  assert (Hx : 2 * u <= x).
  { unfold x. rewrite !S_INR. pose proof (pos_INR k). nra. }
  assert (0 <= x) by lra.
  apply Rle_trans with (x * (1 + x)); [nra|].
  apply (Rmult_le_reg_r (1 - x)); [lra|].
  unfold Rdiv. rewrite (Rmult_assoc x (/ (1 - x))), Rinv_l, Rmult_1_r by lra. nra.
Qed.

(** The triangle inequality for six terms. *)
Lemma Rabs_triang6 a b c d e f :
  Rabs (a + b + c + d + e + f)
  <= Rabs a + Rabs b + Rabs c + Rabs d + Rabs e + Rabs f.
Proof.
  pose proof (Rabs_triang (a + b + c + d + e) f). pose proof (Rabs_triang (a + b + c + d) e).
  pose proof (Rabs_triang (a + b + c) d). pose proof (Rabs_triang (a + b) c).
  pose proof (Rabs_triang a b). lra.
Qed.

(** The error bound, by induction on the number of terms. *)
Theorem dot_error p v n :
  INR (S n) * u < 1 ->
  Rabs (dot p v n - fsum n (fun i => p i * v i))
  <= gamma (S n) * fsum n (fun i => Rabs (p i * v i)) + 3 * INR n * (1 + gamma (S n)) * eta.
Proof.
  pose proof u_nonneg as Hu0. pose proof u_le_1 as Hu1. pose proof eta_nonneg as He0.
  induction n as [|k IH]; intros Hn; simpl dot; simpl fsum.
  - rewrite Rminus_0_r, Rabs_R0. simpl INR.
    pose proof (gamma_nonneg 1 Hn). lra.
  - assert (Hk : INR (S k) * u < 1).
    { rewrite (S_INR (S k)) in Hn. pose proof (pos_INR (S k)). lra. }
    specialize (IH Hk).
    set (S_k := fsum k (fun i => p i * v i)) in *.
    set (A_k := fsum k (fun i => Rabs (p i * v i))) in *.
    set (s := dot p v k) in *. set (w := p k * v k).
    set (G := gamma (S k)) in *. set (G' := gamma (S (S k))).
    destruct (fl_model w) as [d' [e' [Hd' [He' Ht]]]].
    destruct (fl_model (s + fl w)) as [d [e [Hd [He Hs]]]].
    rewrite Hs, Ht.
    (* the error is [D (1 + d) + d S_k + d' w (1 + d) + d w + e' (1 + d) + e] *)
    replace ((s + (w * (1 + d') + e')) * (1 + d) + e - (S_k + w))
      with ((s - S_k) * (1 + d) + d * S_k + d' * w * (1 + d) + d * w + e' * (1 + d) + e)
      by ring.
    assert (HS : Rabs S_k <= A_k) by apply fsum_abs.
    assert (HG : 0 <= G) by (apply gamma_nonneg; exact Hk).
    assert (HA : 0 <= A_k) by (apply fsum_nonneg; intros; apply Rabs_pos).
    pose proof (Rabs_pos w). pose proof (Rabs_pos (s - S_k)).
    assert (H1d : Rabs (1 + d) <= 1 + u).
    { eapply Rle_trans; [apply Rabs_triang|]. rewrite Rabs_R1. lra. }
    (* the triangle inequality, term by term *)
    assert (Hsplit :
      Rabs ((s - S_k) * (1 + d) + d * S_k + d' * w * (1 + d) + d * w + e' * (1 + d) + e)
      <= Rabs (s - S_k) * (1 + u) + u * A_k + (2 * u + u * u) * Rabs w + (2 + u) * eta).
    { eapply Rle_trans; [apply Rabs_triang6|].
      rewrite !Rabs_mult.
      pose proof (Rabs_pos d). pose proof (Rabs_pos d'). pose proof (Rabs_pos e').
      pose proof (Rabs_pos S_k). pose proof (Rabs_pos (1 + d)).
      assert (Rabs (s - S_k) * Rabs (1 + d) <= Rabs (s - S_k) * (1 + u))
        by (apply Rmult_le_compat_l; lra).
      assert (Rabs d * Rabs S_k <= u * A_k) by (apply Rmult_le_compat; lra).
      assert (Rabs d' * Rabs w * Rabs (1 + d) <= u * Rabs w * (1 + u))
        by (apply Rmult_le_compat; [nra|lra|apply Rmult_le_compat_r; lra|lra]).
      assert (Rabs d * Rabs w <= u * Rabs w) by (apply Rmult_le_compat_r; lra).
      assert (Rabs e' * Rabs (1 + d) <= eta * (1 + u)) by (apply Rmult_le_compat; lra).
      nra. }
    eapply Rle_trans; [exact Hsplit|].
    (* and the induction hypothesis, with [gamma_step] and [gamma_two] *)
    pose proof (gamma_step (S k) Hn) as Hstep. fold G G' in Hstep.
    pose proof (gamma_two k Hn) as Htwo. fold G' in Htwo.
    assert (E1 : Rabs (s - S_k) * (1 + u) <= (G * A_k + 3 * INR k * (1 + G) * eta) * (1 + u))
      by (apply Rmult_le_compat_r; lra).
    assert (E2 : (G * (1 + u) + u) * A_k <= G' * A_k) by (apply Rmult_le_compat_r; lra).
    assert (E3 : (2 * u + u * u) * Rabs w <= G' * Rabs w) by (apply Rmult_le_compat_r; lra).
    assert (HkR : 0 <= INR k) by apply pos_INR.
    assert (E4 : 3 * INR k * ((1 + G) * (1 + u)) * eta <= 3 * INR k * (1 + G') * eta).
    { apply Rmult_le_compat_r; [exact eta_nonneg|]. apply Rmult_le_compat_l; [lra|]. nra. }
    assert (E5 : (2 + u) * eta <= 3 * (1 + G') * eta).
    { apply Rmult_le_compat_r; [exact eta_nonneg|].
      pose proof (gamma_nonneg (S (S k)) Hn). fold G' in H1. lra. }
    rewrite S_INR. nra.
Qed.

End Model.

(** ** Binary64 *)

(** Rounding to nearest in binary64 (53-bit significand, subnormals down to [2^-1074]). *)
Definition round64 (choice : Z -> bool) (x : R) : R :=
  round radix2 (FLT_exp (-1074) 53) (Znearest choice) x.

(** [2^e / 2 = 2^(e-1)]. *)
Lemma half_bpow (e : Z) : / 2 * bpow radix2 e = bpow radix2 (e - 1).
Proof.
  replace (e - 1)%Z with (-1 + e)%Z by lia. rewrite bpow_plus.
  f_equal; simpl; unfold Zpower_pos; simpl; lra.
Qed.

(** The binary64 dot product [s_n] is within
    [gamma_{n+1} sum |p v| + 3 n (1 + gamma_{n+1}) 2^-1075] of [sum p v],
    with [u = 2^-53]. *)
Theorem dot_error_binary64 choice p v n :
  INR (S n) * bpow radix2 (-53) < 1 ->
  Rabs (dot (round64 choice) p v n - fsum n (fun i => p i * v i))
  <= gamma (bpow radix2 (-53)) (S n) * fsum n (fun i => Rabs (p i * v i))
     + 3 * INR n * (1 + gamma (bpow radix2 (-53)) (S n)) * bpow radix2 (-1075).
Proof.
  intros Hn. apply dot_error; [apply bpow_ge_0| |apply bpow_ge_0| |exact Hn].
  - change 1 with (bpow radix2 0). apply bpow_le. lia.
  - intros x. destruct (error_N_FLT radix2 (-1074) 53 ltac:(lia) choice x)
      as [d [e [Hd [He [_ Hx]]]]].
    exists d, e. rewrite half_bpow in Hd, He. split; [exact Hd|split; [exact He|exact Hx]].
Qed.
