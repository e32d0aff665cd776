(** * The Gibbs variational identity

    For [alpha > 0] and a reference measure [mu],

      [lse alpha mu x = max over distributions pi of
                        sum_a pi a * x a - alpha * KL (pi || mu)],

    and the maximum is attained at the soft-greedy policy
    [gibbs a = mu a * exp ((x a - lse x) / alpha)] and only there:
    [gibbs_upper] (every distribution is below), [gibbs_distribution] (the
    soft-greedy policy is a distribution absolutely continuous w.r.t. [mu]),
    [gibbs_attains] (it reaches [lse]) and [gibbs_unique] (no other
    distribution does). A distribution that charges an action with [mu a = 0]
    has [KL = +infinity], so only [pi << mu] needs to be considered. *)

From Coq Require Import Reals Lra Lia.
From SoftQ Require Import Finite LogSumExp.
Open Scope R_scope.

Section Gibbs.

Variable n : nat.  (** the number of actions *)

(** [p ln (p / q)], with [0 ln 0 = 0]. *)
Definition plogpq (p q : R) : R := if Rlt_dec 0 p then p * ln (p / q) else 0.

(** The relative entropy [KL (pi || mu)] (for [pi << mu]). *)
Definition KL (pi mu : nat -> R) : R := fsum n (fun a => plogpq (pi a) (mu a)).

(** A probability vector on the [n] actions. *)
Definition distribution (pi : nat -> R) : Prop :=
  (forall a, (a < n)%nat -> 0 <= pi a) /\ fsum n pi = 1.

(** [pi << mu]: [pi] charges only actions that [mu] charges. *)
Definition abs_cont (pi mu : nat -> R) : Prop :=
  forall a, (a < n)%nat -> 0 < pi a -> 0 < mu a.

(** The entropy-regularised objective of a distribution [pi]. *)
Definition objective (alpha : R) (mu x pi : nat -> R) : R :=
  fsum n (fun a => pi a * x a) - alpha * KL pi mu.

(** The soft-greedy (Gibbs, Boltzmann) policy. *)
Definition gibbs (alpha : R) (mu x : nat -> R) (a : nat) : R :=
  mu a * exp ((x a - lse n alpha mu x) / alpha).

(** [ln y <= y - 1]. *)
Lemma ln_le_minus_one y : 0 < y -> ln y <= y - 1.
Proof. intros Hy. pose proof (exp_ineq1_le (ln y)). rewrite exp_ln in H; lra. Qed.

(** [ln (x / y) = ln x - ln y]. *)
Lemma ln_div x y : 0 < x -> 0 < y -> ln (x / y) = ln x - ln y.
Proof.
  intros Hx Hy. unfold Rdiv. rewrite ln_mult, ln_Rinv; auto.
  now apply Rinv_0_lt_compat.
Qed.

(** The soft-greedy policy is [mu a * exp (x a / alpha) / Z]. *)
Lemma gibbs_eq alpha mu x a :
  0 < alpha -> measure n mu ->
  gibbs alpha mu x a = mu a * exp (x a / alpha) / partition n alpha mu x.
Proof.
  intros Ha Hmu. pose proof (partition_pos n alpha mu x Hmu) as Hz.
  unfold gibbs, lse. unfold Rminus. rewrite Rdiv_plus_distr.
  replace (- (alpha * ln (partition n alpha mu x)) / alpha)
    with (- ln (partition n alpha mu x)) by (field; lra).
  rewrite exp_plus, exp_Ropp, exp_ln by exact Hz. field; lra.
Qed.

(** The soft-greedy policy is a distribution, absolutely continuous w.r.t. [mu]. *)
Theorem gibbs_distribution alpha mu x :
  0 < alpha -> measure n mu ->
  distribution (gibbs alpha mu x) /\ abs_cont (gibbs alpha mu x) mu.
Proof.
  intros Ha Hmu. pose proof (partition_pos n alpha mu x Hmu) as Hz.
  split; [split|].
  - intros a Hlt. unfold gibbs.
    apply Rmult_le_pos; [now apply Hmu|left; apply exp_pos].
  - rewrite (fsum_ext n _ (fun a => / partition n alpha mu x
                                    * (mu a * exp (x a / alpha)))).
    + rewrite fsum_scal. fold (partition n alpha mu x). field; lra.
    + intros a _. rewrite gibbs_eq by assumption. unfold Rdiv. ring.
  - intros a Hlt Hpos. destruct (proj1 Hmu a Hlt) as [H|H]; [exact H|].
    unfold gibbs in Hpos. rewrite <- H in Hpos. lra.
Qed.

(** [ln y = y - 1] only at [y = 1]. *)
Lemma ln_eq_minus_one y : 0 < y -> ln y = y - 1 -> y = 1.
Proof.
  intros Hy H. destruct (Req_dec (ln y) 0) as [H0|H0].
  - rewrite <- ln_1 in H0. apply ln_inv in H0; lra.
  - pose proof (exp_ineq1 (ln y) H0) as E. rewrite exp_ln in E by exact Hy. lra.
Qed.

(** The slack of action [a]: [alpha (gibbs a - pi a)] minus the action's term of
    [objective - lse]. The slacks sum to [lse - objective] ([slack_sum]). *)
Definition slack (alpha : R) (mu x pi : nat -> R) (a : nat) : R :=
  alpha * (gibbs alpha mu x a - pi a)
  - (pi a * x a - alpha * plogpq (pi a) (mu a) - lse n alpha mu x * pi a).

(** Each slack is nonnegative, and zero only where [pi a = gibbs a]: for
    [pi a > 0] it is [alpha pi a (y - 1 - ln y)] with [y = gibbs a / pi a],
    and [ln y <= y - 1] with equality only at [y = 1]; for [pi a = 0] it is
    [alpha gibbs a]. *)
Lemma slack_spec alpha mu x pi a :
  0 < alpha -> measure n mu -> (a < n)%nat -> 0 <= pi a -> (0 < pi a -> 0 < mu a) ->
  0 <= slack alpha mu x pi a /\ (slack alpha mu x pi a = 0 -> pi a = gibbs alpha mu x a).
Proof.
  intros Ha Hmu Hlt Hpi Hac.
  destruct (gibbs_distribution alpha mu x Ha Hmu) as [[Hg _] _].
  unfold slack. set (L := lse n alpha mu x) in *. set (g := gibbs alpha mu x) in *.
  unfold plogpq. destruct (Rlt_dec 0 (pi a)) as [Hp|Hp].
  - assert (Hm : 0 < mu a) by auto.
    assert (Hga : 0 < g a)
      by (unfold g, gibbs; apply Rmult_lt_0_compat; [exact Hm|apply exp_pos]).
    assert (Hln : ln (g a / pi a) = (x a - L) / alpha - ln (pi a / mu a)).
    { rewrite !ln_div by assumption. unfold g, gibbs. fold L.
      rewrite ln_mult, ln_exp by (apply exp_pos || assumption). ring. }
    set (y := g a / pi a).
    assert (Hy : 0 < y) by (apply Rdiv_lt_0_compat; assumption).
    assert (E : alpha * (g a - pi a)
                - (pi a * x a - alpha * (pi a * ln (pi a / mu a)) - L * pi a)
                = alpha * pi a * (y - 1 - ln y)).
    { unfold y. rewrite Hln. field. lra. }
    rewrite E. pose proof (ln_le_minus_one y Hy).
    assert (0 < alpha * pi a) by nra.
    split; [nra|]. intros Z.
    assert (y - 1 - ln y = 0) as Z'.
    { apply Rmult_integral in Z as [Z|Z]; [lra|exact Z]. }
    assert (Hy1 : y = 1) by (apply ln_eq_minus_one; [exact Hy|lra]).
    unfold y in Hy1. apply (Rmult_eq_compat_r (pi a)) in Hy1.
    unfold Rdiv in Hy1. rewrite Rmult_assoc, Rinv_l, Rmult_1_r in Hy1 by lra. lra.
  - assert (pi a = 0) as -> by lra. pose proof (Hg a Hlt).
    split; [nra|]. intros Z. nra.
Qed.

(** The slacks sum to [lse - objective], since [gibbs] and [pi] both sum to 1. *)
Lemma slack_sum alpha mu x pi :
  0 < alpha -> measure n mu -> distribution pi ->
  fsum n (slack alpha mu x pi) = lse n alpha mu x - objective alpha mu x pi.
Proof.
  intros Ha Hmu [_ Hsum].
  destruct (gibbs_distribution alpha mu x Ha Hmu) as [[_ Hgsum] _].
  unfold slack, objective, KL.
  rewrite !fsum_minus, fsum_scal, fsum_minus, fsum_scal, fsum_scal, Hsum, Hgsum. ring.
Qed.

(** Every distribution [pi << mu] has objective at most [lse] (the slacks are
    nonnegative and sum to [lse - objective]). *)
Theorem gibbs_upper alpha mu x pi :
  0 < alpha -> measure n mu -> distribution pi -> abs_cont pi mu ->
  objective alpha mu x pi <= lse n alpha mu x.
Proof.
  intros Ha Hmu Hpi Hac.
  assert (0 <= fsum n (slack alpha mu x pi)).
  { apply fsum_nonneg. intros a Hlt.
    exact (proj1 (slack_spec alpha mu x pi a Ha Hmu Hlt (proj1 Hpi a Hlt) (Hac a Hlt))). }
  rewrite slack_sum in H by assumption. lra.
Qed.

(** ... and only the soft-greedy policy attains it: if [objective pi = lse], every
    slack is zero, so [pi = gibbs]. *)
Theorem gibbs_unique alpha mu x pi :
  0 < alpha -> measure n mu -> distribution pi -> abs_cont pi mu ->
  objective alpha mu x pi = lse n alpha mu x ->
  forall a, (a < n)%nat -> pi a = gibbs alpha mu x a.
Proof.
  intros Ha Hmu Hpi Hac Heq a Hlt.
  assert (Hs : forall b, (b < n)%nat -> 0 <= slack alpha mu x pi b).
  { intros b Hb.
    exact (proj1 (slack_spec alpha mu x pi b Ha Hmu Hb (proj1 Hpi b Hb) (Hac b Hb))). }
  pose proof (fsum_ge_term n _ a Hs Hlt) as Hle.
  rewrite slack_sum, Heq in Hle by assumption.
  apply (proj2 (slack_spec alpha mu x pi a Ha Hmu Hlt (proj1 Hpi a Hlt) (Hac a Hlt))).
  pose proof (Hs a Hlt). lra.
Qed.

(** The soft-greedy policy attains [lse]: for [g a > 0],
    [ln (g a / mu a) = (x a - lse) / alpha], so each term is [g a * lse]. *)
Theorem gibbs_attains alpha mu x :
  0 < alpha -> measure n mu ->
  objective alpha mu x (gibbs alpha mu x) = lse n alpha mu x.
Proof.
  intros Ha Hmu.
  destruct (gibbs_distribution alpha mu x Ha Hmu) as [[Hg Hgsum] Hac].
  set (L := lse n alpha mu x) in *. set (g := gibbs alpha mu x) in *.
  assert (Hterm : forall a, (a < n)%nat ->
            g a * x a - alpha * plogpq (g a) (mu a) = L * g a).
  { intros a Hlt. unfold plogpq. destruct (Rlt_dec 0 (g a)) as [Hp|Hp].
    - assert (Hm : 0 < mu a) by (apply Hac; auto).
      assert (Hln : ln (g a / mu a) = (x a - L) / alpha).
      { unfold g, gibbs. fold L. unfold Rdiv at 1.
        replace (mu a * exp ((x a - L) / alpha) * / mu a)
          with (exp ((x a - L) / alpha)) by (field; lra).
        apply ln_exp. }
      rewrite Hln. field; lra.
    - assert (g a = 0) as -> by (pose proof (Hg a Hlt); lra). ring. }
  unfold objective, KL. fold g.
  rewrite <- fsum_scal, <- fsum_minus.
  rewrite (fsum_ext n _ (fun a => L * g a)) by exact Hterm.
  rewrite fsum_scal, Hgsum. ring.
Qed.

(** The identity in one statement: [lse] is the maximum of the objective over the
    distributions [pi << mu], attained at the soft-greedy policy and only there. *)
Corollary gibbs_variational alpha mu x :
  0 < alpha -> measure n mu ->
  (forall pi, distribution pi -> abs_cont pi mu ->
     objective alpha mu x pi <= lse n alpha mu x) /\
  distribution (gibbs alpha mu x) /\ abs_cont (gibbs alpha mu x) mu /\
  objective alpha mu x (gibbs alpha mu x) = lse n alpha mu x /\
  (forall pi, distribution pi -> abs_cont pi mu ->
     objective alpha mu x pi = lse n alpha mu x ->
     forall a, (a < n)%nat -> pi a = gibbs alpha mu x a).
Proof.
  intros Ha Hmu. destruct (gibbs_distribution alpha mu x Ha Hmu) as [Hd Hac].
  repeat split; try apply Hd; auto.
  - intros pi. now apply gibbs_upper.
  - now apply gibbs_attains.
  - intros pi. now apply gibbs_unique.
Qed.

End Gibbs.
