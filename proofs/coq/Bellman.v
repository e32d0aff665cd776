(** * The soft Bellman operator is a contraction

    A finite MDP: states [s < nS], actions [a < nA], transitions [P s a s' >= 0]
    whose rows may sum to less than 1 (termination: the missing mass ends the
    episode) or, by rounding, slightly more; rewards [r s a]; discount [gamma >= 0].
    The Bellman operator of a state-value map [G],

      [T Q s a = r s a + gamma * sum_s' P s a s' * G s' (Q s')],

    is studied first for any [G] that is monotone and shift-equivariant in each
    state (section [Generic]): with [L >= gamma * sum_s' P s a s'] for every row
    and [L < 1], [T] is an [L]-contraction in the sup norm ([contraction]), has
    a fixed point ([fixed_point_exists]: the iterates [T^k Q] are Cauchy), only
    one ([fixed_point_unique]), the iteration [Q <- T Q] converges to it at
    rate [L] ([iter_converges]), and every [Q] satisfies the a-posteriori bound
    [|Q - Q*| <= |T Q - Q| / (1 - L)] ([error_bound]).

    The soft Bellman operator is the case [G s = lse alpha (mu s)] (LogSumExp.v),
    or the hard maximum for [alpha = 0] (LogSumExp.value); [soft_contraction],
    [soft_fixed_point], [soft_q_iteration] and [soft_error_bound] state the
    result for it, with
    [L = gamma * max row sum], and [soft_error_bound_gamma] with [L = gamma]
    when no row sums above 1. *)

From Coq Require Import Reals Lra Lia.
From Coquelicot Require Import Rcomplements Rbar Lim_seq.
From SoftQ Require Import Finite LogSumExp.
Open Scope R_scope.

Section Generic.

Variables (nS nA : nat) (P : nat -> nat -> nat -> R) (r : nat -> nat -> R).
Variables (gamma L : R).
(** [G s x] is the value of state [s] when its row of [Q] is [x]. *)
Variable G : nat -> (nat -> R) -> R.

Hypothesis P_nonneg : forall s a s', (s < nS)%nat -> (a < nA)%nat -> (s' < nS)%nat ->
  0 <= P s a s'.
Hypothesis gamma_nonneg : 0 <= gamma.
Hypothesis L_rows : forall s a, (s < nS)%nat -> (a < nA)%nat ->
  gamma * fsum nS (P s a) <= L.
Hypothesis L_nonneg : 0 <= L.
Hypothesis L_lt_1 : L < 1.
Hypothesis G_mono : forall s x y, (s < nS)%nat ->
  (forall a, (a < nA)%nat -> x a <= y a) -> G s x <= G s y.
Hypothesis G_shift : forall s x c, (s < nS)%nat ->
  G s (fun a => x a + c) = G s x + c.

(** The Bellman operator of [G]. *)
Definition T (Q : nat -> nat -> R) (s a : nat) : R :=
  r s a + gamma * fsum nS (fun s' => P s a s' * G s' (Q s')).

(** The sup-norm distance over the [nS x nA] table. *)
Definition dist (Q Q' : nat -> nat -> R) : R :=
  fsup nS (fun s => fsup nA (fun a => Rabs (Q s a - Q' s a))).

(** [T Q = Q] on the [nS x nA] table. *)
Definition is_fixed_point (Q : nat -> nat -> R) : Prop :=
  forall s a, (s < nS)%nat -> (a < nA)%nat -> T Q s a = Q s a.

(** ** The sup-norm distance *)

(** It bounds every entry, ... *)
Lemma dist_ge Q Q' s a : (s < nS)%nat -> (a < nA)%nat ->
  Rabs (Q s a - Q' s a) <= dist Q Q'.
Proof.
  intros Hs Ha. unfold dist.
  eapply Rle_trans; [|apply (fsup_ge nS _ s Hs)].
  apply (fsup_ge nA (fun a => Rabs (Q s a - Q' s a))); exact Ha.
Qed.

(** ... is the least nonnegative bound, ... *)
Lemma dist_le Q Q' c : 0 <= c ->
  (forall s a, (s < nS)%nat -> (a < nA)%nat -> Rabs (Q s a - Q' s a) <= c) ->
  dist Q Q' <= c.
Proof.
  intros Hc H. apply fsup_le; [exact Hc|]. intros s Hs.
  apply fsup_le; auto.
Qed.

(** ... and is a distance. *)
Lemma dist_nonneg Q Q' : 0 <= dist Q Q'.
Proof. apply fsup_nonneg. Qed.

(** Symmetry. *)
Lemma dist_sym Q Q' : dist Q Q' = dist Q' Q.
Proof.
  apply fsup_ext. intros s _. apply fsup_ext. intros a _. apply Rabs_minus_sym.
Qed.

(** The triangle inequality. *)
Lemma dist_triangle Q1 Q2 Q3 : dist Q1 Q3 <= dist Q1 Q2 + dist Q2 Q3.
Proof.
  apply dist_le.
  - pose proof (dist_nonneg Q1 Q2); pose proof (dist_nonneg Q2 Q3); lra.
  - intros s a Hs Ha.
    replace (Q1 s a - Q3 s a) with ((Q1 s a - Q2 s a) + (Q2 s a - Q3 s a)) by ring.
    eapply Rle_trans; [apply Rabs_triang|].
    apply Rplus_le_compat; now apply dist_ge.
Qed.

(** ** Contraction *)

(** [G] is 1-Lipschitz in each state (Finite.mono_shift_lipschitz). *)
Lemma G_lipschitz s x y d : (s < nS)%nat ->
  (forall a, (a < nA)%nat -> Rabs (x a - y a) <= d) -> Rabs (G s x - G s y) <= d.
Proof.
  intros Hs. apply (mono_shift_lipschitz nA (G s)).
  - intros u v. now apply G_mono.
  - intros u c. now apply G_shift.
Qed.

(** [T] is an [L]-contraction: [|T Q - T Q'| <= L |Q - Q'|]. *)
Theorem contraction Q Q' : dist (T Q) (T Q') <= L * dist Q Q'.
Proof.
  set (d := dist Q Q'). assert (Hd : 0 <= d) by apply dist_nonneg.
  apply dist_le; [nra|]. intros s a Hs Ha. unfold T.
  replace (r s a + gamma * fsum nS (fun s' => P s a s' * G s' (Q s'))
           - (r s a + gamma * fsum nS (fun s' => P s a s' * G s' (Q' s'))))
    with (gamma * fsum nS (fun s' => P s a s' * (G s' (Q s') - G s' (Q' s'))))
    by (rewrite (fsum_ext nS _ (fun s' => P s a s' * G s' (Q s')
                                          - P s a s' * G s' (Q' s')))
          by (intros; ring);
        rewrite fsum_minus; ring).
  rewrite Rabs_mult, (Rabs_pos_eq gamma) by exact gamma_nonneg.
  eapply Rle_trans; [apply Rmult_le_compat_l; [exact gamma_nonneg|apply fsum_abs]|].
  eapply Rle_trans with (gamma * (fsum nS (P s a) * d)).
  - apply Rmult_le_compat_l; [exact gamma_nonneg|].
    rewrite Rmult_comm, <- fsum_scal. apply fsum_le. intros s' Hs'.
    rewrite Rabs_mult, Rabs_pos_eq by auto. rewrite (Rmult_comm d).
    apply Rmult_le_compat_l; [auto|].
    apply G_lipschitz; [exact Hs'|]. intros a' Ha'. now apply dist_ge.
  - rewrite <- Rmult_assoc. apply Rmult_le_compat_r; [exact Hd|auto].
Qed.

(** ** The a-posteriori bound and uniqueness *)

(** For any two tables, [|Q - Q'| <= (|T Q - Q| + |T Q' - Q'|) / (1 - L)]. *)
Lemma two_point_bound Q Q' :
  dist Q Q' <= (dist (T Q) Q + dist (T Q') Q') / (1 - L).
Proof.
  apply Rle_div_r; [lra|].
  pose proof (dist_triangle Q (T Q) Q'). pose proof (dist_triangle (T Q) (T Q') Q').
  pose proof (contraction Q Q'). rewrite (dist_sym Q (T Q)) in *.
  rewrite (dist_sym (T Q') Q') in *. lra.
Qed.

(** Two tables that agree on the [nS x nA] entries have the same distances. *)
Lemma dist_fixed Q Qs : is_fixed_point Qs -> dist (T Qs) Q = dist Qs Q.
Proof.
  intros H. apply fsup_ext. intros s Hs. apply fsup_ext. intros a Ha.
  now rewrite H.
Qed.

(** Every [Q] is within [|T Q - Q| / (1 - L)] of a fixed point. *)
Theorem error_bound Q Qs :
  is_fixed_point Qs -> dist Q Qs <= dist (T Q) Q / (1 - L).
Proof.
  intros H. pose proof (two_point_bound Q Qs) as B.
  assert (dist (T Qs) Qs = 0) as Z.
  { rewrite dist_fixed by exact H. apply Rle_antisym; [|apply dist_nonneg].
    apply dist_le; [lra|]. intros. rewrite Rminus_diag_eq, Rabs_R0; lra. }
  rewrite Z, Rplus_0_r in B. exact B.
Qed.

(** There is at most one fixed point. *)
Theorem fixed_point_unique Q1 Q2 :
  is_fixed_point Q1 -> is_fixed_point Q2 ->
  forall s a, (s < nS)%nat -> (a < nA)%nat -> Q1 s a = Q2 s a.
Proof.
  intros H1 H2 s a Hs Ha.
  pose proof (error_bound Q1 Q2 H2) as B.
  rewrite dist_fixed in B by exact H1.
  assert (dist Q1 Q1 = 0) as Z.
  { apply Rle_antisym; [|apply dist_nonneg].
    apply dist_le; [lra|]. intros. rewrite Rminus_diag_eq, Rabs_R0; lra. }
  rewrite Z in B. unfold Rdiv in B. rewrite Rmult_0_l in B.
  pose proof (dist_ge Q1 Q2 s a Hs Ha). pose proof (Rabs_pos (Q1 s a - Q2 s a)).
  assert (Rabs (Q1 s a - Q2 s a) = 0) as E by lra.
  apply Rabs_eq_0 in E. lra.
Qed.

(** ** Existence: the iterates [T^k Q0] are Cauchy *)

(** [iter k Q = T^k Q]. *)
Fixpoint iter (k : nat) (Q : nat -> nat -> R) : nat -> nat -> R :=
  match k with O => Q | S k => T (iter k Q) end.

(** The residual shrinks by [L] per step: [|T Q_k - Q_k| <= L^k |T Q_0 - Q_0|]. *)
Lemma iter_residual Q k : dist (T (iter k Q)) (iter k Q) <= L ^ k * dist (T Q) Q.
Proof.
  induction k as [|k IH]; simpl; [lra|].
  eapply Rle_trans; [apply contraction|].
  rewrite Rmult_assoc. apply Rmult_le_compat_l; [exact L_nonneg|exact IH].
Qed.

(** [L^m <= L^k] for [k <= m]. *)
Lemma pow_L_decr k m : (k <= m)%nat -> L ^ m <= L ^ k.
Proof.
  intros H. replace m with (k + (m - k))%nat by lia. rewrite pow_add.
  pose proof (pow_le L k L_nonneg).
  assert (L ^ (m - k) <= 1).
  { induction (m - k)%nat as [|j IH]; simpl; [lra|].
    pose proof (pow_le L j L_nonneg). nra. }
  nra.
Qed.

(** Hence [|Q_k - Q_m| <= C L^k] for [k <= m], with [C = 2 |T Q - Q| / (1 - L)]. *)
Lemma iter_cauchy Q k m : (k <= m)%nat ->
  dist (iter k Q) (iter m Q) <= 2 * dist (T Q) Q / (1 - L) * L ^ k.
Proof.
  intros Hkm. eapply Rle_trans; [apply two_point_bound|].
  pose proof (iter_residual Q k). pose proof (iter_residual Q m).
  pose proof (pow_L_decr k m Hkm). pose proof (dist_nonneg (T Q) Q).
  unfold Rdiv. rewrite (Rmult_comm 2), Rmult_assoc, (Rmult_comm (/ (1 - L))).
  rewrite <- Rmult_assoc. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|].
  nra.
Qed.

(** Fixed-point iteration converges geometrically to a fixed point [Qs]:
    [|T^k Q - Qs| <= L^k |Q - Qs|] (Haarnoja et al. 2017, Theorem 3, for soft
    Q-iteration). *)
Theorem iter_converges Q Qs k :
  is_fixed_point Qs -> dist (iter k Q) Qs <= L ^ k * dist Q Qs.
Proof.
  intros H. induction k as [|k IH]; simpl; [lra|].
  rewrite dist_sym, <- (dist_fixed (T (iter k Q)) Qs H), dist_sym.
  eapply Rle_trans; [apply contraction|].
  rewrite Rmult_assoc. apply Rmult_le_compat_l; [exact L_nonneg|exact IH].
Qed.

(** [L^k] becomes small. *)
Lemma pow_L_small eps : 0 < eps -> exists N, forall k, (N <= k)%nat -> L ^ k < eps.
Proof.
  intros He. destruct (pow_lt_1_zero L) with (y := eps) as [N HN];
    [rewrite Rabs_pos_eq; lra|exact He|].
  exists N. intros k Hk. specialize (HN k Hk).
  rewrite Rabs_pos_eq in HN by (apply pow_le; exact L_nonneg). exact HN.
Qed.

(** The fixed point, as the limit of the iterates from [0] (Coquelicot's [Lim_seq]). *)
Definition Qstar (s a : nat) : R := real (Lim_seq (fun k => iter k (fun _ _ => 0) s a)).

(** The iteration starts at [Q0 = 0]; [C L^k] bounds the distance of [T^k Q0] to the limit. *)
Let Q0 : nat -> nat -> R := fun _ _ => 0.
Let C : R := 2 * dist (T Q0) Q0 / (1 - L).

(** [C >= 0]. *)
Lemma C_nonneg : 0 <= C.
Proof.
  unfold C. pose proof (dist_nonneg (T Q0) Q0).
  apply Rmult_le_pos; [lra|left; apply Rinv_0_lt_compat; lra].
Qed.

(** Each entry of the iterates converges, and [|Q_k - Qstar| <= C L^k]. *)
Lemma iter_to_Qstar s a k : (s < nS)%nat -> (a < nA)%nat ->
  Rabs (iter k Q0 s a - Qstar s a) <= C * L ^ k.
Proof.
  intros Hs Ha. set (u := fun k => iter k Q0 s a).
  assert (Hcv : is_lim_seq u (Qstar s a)).
  { apply Lim_seq_correct', ex_lim_seq_cauchy_corr. intros eps.
    destruct (pow_L_small (eps / (C + 1))) as [N HN];
      [apply Rdiv_lt_0_compat; [apply cond_pos|pose proof C_nonneg; lra]|].
    exists N. intros p q Hp Hq.
    assert (Hb : forall i j, (N <= i)%nat -> (i <= j)%nat -> Rabs (u i - u j) < eps).
    { intros i j Hi Hij. eapply Rle_lt_trans.
      - eapply Rle_trans; [apply (dist_ge (iter i Q0) (iter j Q0) s a Hs Ha)|].
        apply iter_cauchy; exact Hij.
      - specialize (HN i Hi). fold C. pose proof C_nonneg. pose proof (cond_pos eps).
        apply Rmult_lt_compat_l with (r := C + 1) in HN; [|lra].
        replace ((C + 1) * (eps / (C + 1))) with (pos eps) in HN by (field; lra).
        pose proof (pow_le L i L_nonneg). nra. }
    destruct (Nat.le_ge_cases p q).
    - now apply Hb.
    - rewrite Rabs_minus_sym. now apply Hb. }
  apply is_lim_seq_spec in Hcv.
  apply le_epsilon. intros eps He.
  destruct (Hcv (mkposreal eps He)) as [N HN]. simpl in HN.
  set (m := Nat.max N k).
  specialize (HN m (Nat.le_max_l N k)).
  assert (Rabs (u k - u m) <= C * L ^ k).
  { eapply Rle_trans; [apply (dist_ge (iter k Q0) (iter m Q0) s a Hs Ha)|].
    apply iter_cauchy; lia. }
  replace (iter k Q0 s a - Qstar s a) with ((u k - u m) + (u m - Qstar s a))
    by (unfold u; ring).
  eapply Rle_trans; [apply Rabs_triang|lra].
Qed.

(** [Qstar] is a fixed point: [|T Qstar - Qstar| <= 2 C L^k] for every [k]. *)
Theorem fixed_point_exists : is_fixed_point Qstar.
Proof.
  assert (Hk : forall k, dist (iter k Q0) Qstar <= C * L ^ k).
  { intros k. apply dist_le.
    - apply Rmult_le_pos; [apply C_nonneg|apply pow_le, L_nonneg].
    - intros s a Hs Ha. now apply iter_to_Qstar. }
  assert (Hres : dist (T Qstar) Qstar <= 0).
  { apply le_epsilon. intros eps He.
    destruct (pow_L_small (eps / (2 * C + 1))) as [N HN];
      [apply Rdiv_lt_0_compat; [exact He|pose proof C_nonneg; lra]|].
    specialize (HN N (le_n N)).
    pose proof (dist_triangle (T Qstar) (iter (S N) Q0) Qstar).
    pose proof (contraction Qstar (iter N Q0)).
    pose proof (Hk N). pose proof (Hk (S N)). simpl in *.
    rewrite (dist_sym Qstar (iter N Q0)) in *.
    pose proof C_nonneg. pose proof (pow_le L N L_nonneg).
    apply Rmult_lt_compat_l with (r := 2 * C + 1) in HN; [|lra].
    replace ((2 * C + 1) * (eps / (2 * C + 1))) with eps in HN by (field; lra).
    assert (0 <= C * L ^ N) by (apply Rmult_le_pos; assumption).
    assert (L * (C * L ^ N) <= 1 * (C * L ^ N)) by (apply Rmult_le_compat_r; lra).
    nra. }
  intros s a Hs Ha.
  pose proof (dist_ge (T Qstar) Qstar s a Hs Ha).
  pose proof (Rabs_pos (T Qstar s a - Qstar s a)).
  assert (Rabs (T Qstar s a - Qstar s a) = 0) as E by lra.
  apply Rabs_eq_0 in E. lra.
Qed.

(** ** Comparison: a sub-solution lies below the fixed point *)

(** [T] is monotone. *)
Lemma T_mono Q Q' s a :
  (forall s' a', (s' < nS)%nat -> (a' < nA)%nat -> Q s' a' <= Q' s' a') ->
  (s < nS)%nat -> (a < nA)%nat -> T Q s a <= T Q' s a.
Proof.
  intros H Hs Ha. unfold T. apply Rplus_le_compat_l, Rmult_le_compat_l; [exact gamma_nonneg|].
  apply fsum_le. intros s' Hs'. apply Rmult_le_compat_l; [auto|].
  apply G_mono; auto.
Qed.

(** Adding [c >= 0] to [Q] adds at most [L c] to [T Q]. *)
Lemma T_shift_le Q c s a : 0 <= c -> (s < nS)%nat -> (a < nA)%nat ->
  T (fun s' a' => Q s' a' + c) s a <= T Q s a + L * c.
Proof.
  intros Hc Hs Ha. unfold T.
  rewrite (fsum_ext nS _ (fun s' => P s a s' * G s' (Q s') + c * P s a s'))
    by (intros s' Hs'; rewrite G_shift by exact Hs'; ring).
  rewrite fsum_plus, fsum_scal.
  pose proof (L_rows s a Hs Ha). nra.
Qed.

(** If [Q <= T Q] then [Q <= Qs] for the fixed point [Qs]: with
    [m = max (0, max (Q - Qs))], [Q <= T Q <= T (Qs + m) <= Qs + L m],
    so [m <= L m] and [m = 0]. *)
Theorem below_fixed_point Q Qs :
  (forall s a, (s < nS)%nat -> (a < nA)%nat -> Q s a <= T Q s a) ->
  is_fixed_point Qs ->
  forall s a, (s < nS)%nat -> (a < nA)%nat -> Q s a <= Qs s a.
Proof.
  intros Hsub Hfix.
  set (m := fsup nS (fun s => fsup nA (fun a => Q s a - Qs s a))).
  assert (Hm0 : 0 <= m) by apply fsup_nonneg.
  assert (Hle : forall s a, (s < nS)%nat -> (a < nA)%nat -> Q s a - Qs s a <= m).
  { intros s a Hs Ha. eapply Rle_trans; [|apply (fsup_ge nS _ s Hs)].
    apply (fsup_ge nA (fun a => Q s a - Qs s a)); exact Ha. }
  assert (HLm : forall s a, (s < nS)%nat -> (a < nA)%nat -> Q s a - Qs s a <= L * m).
  { intros s a Hs Ha.
    assert (T Q s a <= T (fun s' a' => Qs s' a' + m) s a).
    { apply T_mono; auto. intros s' a' Hs' Ha'. pose proof (Hle s' a' Hs' Ha'). lra. }
    pose proof (T_shift_le Qs m s a Hm0 Hs Ha). rewrite (Hfix s a Hs Ha) in *.
    pose proof (Hsub s a Hs Ha). lra. }
  assert (m <= L * m).
  { apply fsup_le; [nra|]. intros s Hs. apply fsup_le; [nra|]. auto. }
  assert (m <= 0) by nra.
  intros s a Hs Ha. pose proof (Hle s a Hs Ha). lra.
Qed.

End Generic.

(** ** The soft Bellman operator *)

Section Soft.

Variables (nS nA : nat) (P : nat -> nat -> nat -> R) (r : nat -> nat -> R).
Variables (gamma alpha : R) (mu : nat -> nat -> R).

(** The soft value [V_Q s = value alpha (mu s) (Q s)] as a state-value map: the
    log-sum-exp for [alpha > 0], the hard maximum over the charged actions for
    [alpha = 0] (LogSumExp.value). *)
Definition soft_value (s : nat) (x : nat -> R) : R := value nA alpha (mu s) x.

(** The soft Bellman operator [T Q s a = r s a + gamma sum_s' P s a s' V_Q s']. *)
Definition soft_bellman (Q : nat -> nat -> R) : nat -> nat -> R :=
  T nS P r gamma soft_value Q.

(** The largest row sum of [P]; [L = gamma * rowmax] is the contraction factor. *)
Definition rowmax : R := fsup nS (fun s => fsup nA (fun a => fsum nS (P s a))).

Hypothesis alpha_nonneg : 0 <= alpha.
Hypothesis mu_measure : forall s, (s < nS)%nat -> measure nA (mu s).
Hypothesis P_nonneg : forall s a s', (s < nS)%nat -> (a < nA)%nat -> (s' < nS)%nat ->
  0 <= P s a s'.
Hypothesis gamma_nonneg : 0 <= gamma.
Hypothesis L_lt_1 : gamma * rowmax < 1.

(** The hypotheses of section [Generic] for [G = soft_value] and [L = gamma * rowmax]. *)
Let rows : forall s a, (s < nS)%nat -> (a < nA)%nat ->
  gamma * fsum nS (P s a) <= gamma * rowmax.
Proof.
  intros s a Hs Ha. apply Rmult_le_compat_l; [exact gamma_nonneg|].
  eapply Rle_trans; [|apply (fsup_ge nS _ s Hs)].
  apply (fsup_ge nA (fun a => fsum nS (P s a))); exact Ha.
Qed.

Let L_nonneg : 0 <= gamma * rowmax.
Proof. apply Rmult_le_pos; [exact gamma_nonneg|apply fsup_nonneg]. Qed.

Let mono : forall s x y, (s < nS)%nat -> (forall a, (a < nA)%nat -> x a <= y a) ->
  soft_value s x <= soft_value s y.
Proof. intros s x y Hs. apply value_monotone; auto. Qed.

Let shift : forall s x c, (s < nS)%nat ->
  soft_value s (fun a => x a + c) = soft_value s x + c.
Proof. intros s x c Hs. apply value_shift; auto. Qed.

(** The soft Bellman operator is a [gamma * rowmax]-contraction in the
    sup norm (a [gamma]-contraction when the rows of [P] sum to at most 1), ... *)
Theorem soft_contraction Q Q' :
  dist nS nA (soft_bellman Q) (soft_bellman Q') <= gamma * rowmax * dist nS nA Q Q'.
Proof. eapply contraction; eauto. Qed.

(** ... it has exactly one fixed point [Q*], ... *)
Theorem soft_fixed_point :
  exists Qs, is_fixed_point nS nA P r gamma soft_value Qs /\
  forall Q, is_fixed_point nS nA P r gamma soft_value Q ->
  forall s a, (s < nS)%nat -> (a < nA)%nat -> Q s a = Qs s a.
Proof.
  exists (Qstar nS P r gamma soft_value).
  assert (H : is_fixed_point nS nA P r gamma soft_value (Qstar nS P r gamma soft_value))
    by (apply (fixed_point_exists nS nA P r gamma (gamma * rowmax) soft_value); auto).
  split; [exact H|]. intros Q HQ.
  apply (fixed_point_unique nS nA P r gamma (gamma * rowmax) soft_value); auto.
Qed.

(** ... soft Q-iteration [Q <- T Q] converges to it at rate [gamma * rowmax], ... *)
Theorem soft_q_iteration Q Qs k :
  is_fixed_point nS nA P r gamma soft_value Qs ->
  dist nS nA (iter nS P r gamma soft_value k Q) Qs <= (gamma * rowmax) ^ k * dist nS nA Q Qs.
Proof. intros H. eapply iter_converges; eauto. Qed.

(** ... and every table [Q] is within [|T Q - Q| / (1 - gamma * rowmax)] of it:
    the bound that [certify] and the certified solver apply. *)
Theorem soft_error_bound Q Qs :
  is_fixed_point nS nA P r gamma soft_value Qs ->
  dist nS nA Q Qs <= dist nS nA (soft_bellman Q) Q / (1 - gamma * rowmax).
Proof. intros H. eapply error_bound; eauto. Qed.

End Soft.

(** With rows of [P] summing to at most 1 (stochastic, or sub-stochastic for
    termination) and [gamma < 1], [L = gamma]:
    [|Q - Q*| <= |T Q - Q| / (1 - gamma)]. *)
Corollary soft_error_bound_gamma nS nA P r gamma alpha mu Q Qs :
  0 <= alpha -> (forall s, (s < nS)%nat -> measure nA (mu s)) ->
  (forall s a s', (s < nS)%nat -> (a < nA)%nat -> (s' < nS)%nat -> 0 <= P s a s') ->
  (forall s a, (s < nS)%nat -> (a < nA)%nat -> fsum nS (P s a) <= 1) ->
  0 <= gamma < 1 ->
  is_fixed_point nS nA P r gamma (soft_value nA alpha mu) Qs ->
  dist nS nA Q Qs
  <= dist nS nA (soft_bellman nS nA P r gamma alpha mu Q) Q / (1 - gamma).
Proof.
  intros Ha Hmu HP Hrows Hg Hfix.
  assert (Hrow : 0 <= rowmax nS nA P <= 1).
  { split; [apply fsup_nonneg|]. apply fsup_le; [lra|]. intros s Hs.
    apply fsup_le; [lra|]. auto. }
  assert (HL : gamma * rowmax nS nA P <= gamma) by nra.
  eapply Rle_trans; [apply (soft_error_bound nS nA P r gamma alpha mu); auto; lra|].
  pose proof (dist_nonneg nS nA (soft_bellman nS nA P r gamma alpha mu Q) Q).
  apply Rmult_le_compat_l; [assumption|]. apply Rinv_le_contravar; lra.
Qed.
