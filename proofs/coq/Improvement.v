(** * Soft policy improvement (Haarnoja et al. 2017, Theorem 1)

    A policy [pi] gives in each state a distribution over the actions, absolutely
    continuous w.r.t. the reference measure. Its soft values (docs/conventions.md)
    are [V^pi s = sum_a pi s a * Q^pi s a - alpha * KL (pi s || mu s)] (the
    entropy of the current step is in [V^pi]) and
    [Q^pi s a = r s a + gamma * sum_s' P s a s' * V^pi s'], so [Q^pi] is the
    fixed point of the Bellman operator with state value [policy_value pi]
    ([policy_q_exists]: it exists and is unique). Soft policy improvement
    ([soft_policy_improvement]): the soft-greedy policy of [Q^pi],
    [greedy Q^pi s a = mu s a * exp ((Q^pi s a - V_{Q^pi} s) / alpha)], satisfies
    [Q^{greedy Q^pi} >= Q^pi] entrywise. *)

From Coq Require Import Reals Lra Lia.
From SoftQ Require Import Finite LogSumExp Gibbs Bellman.
Open Scope R_scope.

Section Improvement.

Variables (nS nA : nat) (P : nat -> nat -> nat -> R) (r : nat -> nat -> R).
Variables (gamma alpha : R) (mu : nat -> nat -> R).

Hypothesis alpha_pos : 0 < alpha.
Hypothesis mu_measure : forall s, (s < nS)%nat -> measure nA (mu s).
Hypothesis P_nonneg : forall s a s', (s < nS)%nat -> (a < nA)%nat -> (s' < nS)%nat ->
  0 <= P s a s'.
Hypothesis gamma_nonneg : 0 <= gamma.
Hypothesis L_lt_1 : gamma * rowmax nS nA P < 1.

(** A policy: in each state a distribution, absolutely continuous w.r.t. [mu s]. *)
Definition policy (pi : nat -> nat -> R) : Prop :=
  forall s, (s < nS)%nat -> distribution nA (pi s) /\ abs_cont nA (pi s) (mu s).

(** The state value of a policy: expected [Q] plus [alpha] times the entropy
    relative to [mu], i.e. the objective of the Gibbs variational identity. *)
Definition policy_value (pi : nat -> nat -> R) (s : nat) (x : nat -> R) : R :=
  objective nA alpha (mu s) x (pi s).

(** [Q] is the soft Q-function [Q^pi] of [pi]. *)
Definition is_policy_q (pi Q : nat -> nat -> R) : Prop :=
  is_fixed_point nS nA P r gamma (policy_value pi) Q.

(** The soft-greedy policy of a table [Q]. *)
Definition greedy (Q : nat -> nat -> R) (s a : nat) : R := gibbs nA alpha (mu s) (Q s) a.

(** Every row satisfies [gamma * sum_s' P s a s' <= L = gamma * rowmax], and [L >= 0]. *)
Let rows : forall s a, (s < nS)%nat -> (a < nA)%nat ->
  gamma * fsum nS (P s a) <= gamma * rowmax nS nA P.
Proof.
  intros s a Hs Ha. apply Rmult_le_compat_l; [exact gamma_nonneg|].
  eapply Rle_trans; [|apply (fsup_ge nS _ s Hs)].
  apply (fsup_ge nA (fun a => fsum nS (P s a))); exact Ha.
Qed.

Let L_nonneg : 0 <= gamma * rowmax nS nA P.
Proof. apply Rmult_le_pos; [exact gamma_nonneg|apply fsup_nonneg]. Qed.

(** The soft-greedy policy is a policy (Gibbs.gibbs_distribution). *)
Lemma greedy_policy Q : policy (greedy Q).
Proof. intros s Hs. apply gibbs_distribution; auto. Qed.

(** The value of a policy is monotone in [Q] ... *)
Lemma policy_value_mono pi : policy pi ->
  forall s x y, (s < nS)%nat -> (forall a, (a < nA)%nat -> x a <= y a) ->
  policy_value pi s x <= policy_value pi s y.
Proof.
  intros Hpi s x y Hs H. unfold policy_value, objective.
  apply Rplus_le_compat_r, fsum_le. intros a Ha.
  apply Rmult_le_compat_l; [apply (Hpi s Hs)|]; auto.
Qed.

(** ... and shift-equivariant, because [sum_a pi s a = 1]. *)
Lemma policy_value_shift pi : policy pi ->
  forall s x c, (s < nS)%nat ->
  policy_value pi s (fun a => x a + c) = policy_value pi s x + c.
Proof.
  intros Hpi s x c Hs. unfold policy_value, objective.
  rewrite (fsum_ext nA _ (fun a => pi s a * x a + c * pi s a)) by (intros; ring).
  rewrite fsum_plus, fsum_scal. destruct (Hpi s Hs) as [[_ ->] _]. ring.
Qed.

(** [Q^pi] exists and is unique (Bellman.fixed_point_exists, fixed_point_unique). *)
Theorem policy_q_exists pi : policy pi ->
  exists Q, is_policy_q pi Q /\
  forall Q', is_policy_q pi Q' -> forall s a, (s < nS)%nat -> (a < nA)%nat -> Q' s a = Q s a.
Proof.
  intros Hpi.
  pose proof (policy_value_mono pi Hpi). pose proof (policy_value_shift pi Hpi).
  exists (Qstar nS P r gamma (policy_value pi)). split.
  - apply (fixed_point_exists nS nA P r gamma (gamma * rowmax nS nA P)); auto.
  - intros Q' HQ'.
    apply (fixed_point_unique nS nA P r gamma (gamma * rowmax nS nA P) (policy_value pi));
      auto.
    apply (fixed_point_exists nS nA P r gamma (gamma * rowmax nS nA P)); auto.
Qed.

(** Soft policy improvement (Haarnoja et al. 2017, Theorem 1). In each state,
    [V^pi = objective (pi) <= lse (Q^pi) = objective (greedy Q^pi)] by the Gibbs
    variational identity, so [Q^pi = T_pi Q^pi <= T_greedy Q^pi]; a sub-solution
    of [T_greedy] lies below its fixed point (Bellman.below_fixed_point). *)
Theorem soft_policy_improvement pi Qpi Qnew :
  policy pi -> is_policy_q pi Qpi -> is_policy_q (greedy Qpi) Qnew ->
  forall s a, (s < nS)%nat -> (a < nA)%nat -> Qpi s a <= Qnew s a.
Proof.
  intros Hpi Hq Hnew.
  pose proof (greedy_policy Qpi) as Hg.
  apply (below_fixed_point nS nA P r gamma (gamma * rowmax nS nA P)
           (policy_value (greedy Qpi))); auto.
  - apply policy_value_mono; exact Hg.
  - apply policy_value_shift; exact Hg.
  - intros s a Hs Ha. rewrite <- (Hq s a Hs Ha). unfold T.
    apply Rplus_le_compat_l, Rmult_le_compat_l; [exact gamma_nonneg|].
    apply fsum_le. intros s' Hs'. apply Rmult_le_compat_l; [auto|].
    destruct (Hpi s' Hs') as [Hd Hac].
    unfold policy_value, greedy.
    apply Rle_trans with (lse nA alpha (mu s') (Qpi s')); [apply gibbs_upper; auto|].
    right. symmetry. apply gibbs_attains; auto.
Qed.

End Improvement.
