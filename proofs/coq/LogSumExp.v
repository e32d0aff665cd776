(** * Log-sum-exp with a reference measure

    For [n] actions, a temperature [alpha > 0] and a reference measure [mu >= 0]
    with positive mass (docs/conventions.md),

      [lse alpha mu x = alpha * ln (sum_a mu a * exp (x a / alpha))].

    It is monotone ([lse_monotone]), commutes with adding a
    constant ([lse_shift]), hence is 1-Lipschitz in the sup norm
    ([lse_lipschitz], [lse_lipschitz_sup]).
    Sandwich: [max_{mu a > 0} (x a + alpha ln mu a) <= lse <= max x + alpha ln
    (sum mu)] ([lse_lower], [lse_upper]), and as [alpha -> 0+] it tends to the
    hard maximum over the actions with [mu a > 0] ([lse_hardmax_limit]; the
    hard maximum exists: [hardmax_spec]).
    [value alpha] is [lse alpha] for [alpha > 0] and the hard maximum for
    [alpha = 0]; it is monotone and shift-equivariant for every [alpha >= 0]
    ([value_monotone], [value_shift], [value_lipschitz]). *)

From Coq Require Import Reals Lra Lia.
From SoftQ Require Import Finite.
Open Scope R_scope.

Section LogSumExp.

Variable n : nat.  (** the number of actions *)

(** A reference measure: nonnegative, with positive mass. *)
Definition measure (mu : nat -> R) : Prop :=
  (forall a, (a < n)%nat -> 0 <= mu a) /\ (exists a, (a < n)%nat /\ 0 < mu a).

(** [Z = sum_a mu a * exp (x a / alpha)] and [lse = alpha * ln Z]. *)
Definition partition (alpha : R) (mu x : nat -> R) : R :=
  fsum n (fun a => mu a * exp (x a / alpha)).

Definition lse (alpha : R) (mu x : nat -> R) : R :=
  alpha * ln (partition alpha mu x).

(** [m] is the hard maximum of [x] over the actions that [mu] charges. *)
Definition is_hardmax (mu x : nat -> R) (m : R) : Prop :=
  (exists a, (a < n)%nat /\ 0 < mu a /\ x a = m) /\
  (forall a, (a < n)%nat -> 0 < mu a -> x a <= m).

(** [exp] is monotone. *)
Lemma exp_le_mono x y : x <= y -> exp x <= exp y.
Proof.
  intros [H|H]; [left; now apply exp_increasing|right; now subst].
Qed.

(** [ln] is monotone on the positive reals. *)
Lemma ln_le x y : 0 < x -> x <= y -> ln x <= ln y.
Proof.
  intros Hx [H|H]; [left; now apply ln_increasing|right; now subst].
Qed.

(** Division by [alpha > 0] is monotone. *)
Lemma div_le_mono x y alpha : 0 < alpha -> x <= y -> x / alpha <= y / alpha.
Proof.
  intros Ha H. apply Rmult_le_compat_r; [|exact H].
  left; now apply Rinv_0_lt_compat.
Qed.

(** The partition function is positive. *)
Lemma partition_pos alpha mu x : measure mu -> 0 < partition alpha mu x.
Proof.
  intros [Hmu [a [Ha Hpos]]]. apply fsum_pos.
  - intros i Hi. apply Rmult_le_pos; [auto|left; apply exp_pos].
  - exists a. split; [exact Ha|]. apply Rmult_lt_0_compat; [exact Hpos|apply exp_pos].
Qed.

(** ** Monotone, shift-equivariant, 1-Lipschitz *)

(** Monotone: [x <= y] entrywise gives [lse x <= lse y]. *)
Theorem lse_monotone alpha mu x y :
  0 < alpha -> measure mu ->
  (forall a, (a < n)%nat -> x a <= y a) -> lse alpha mu x <= lse alpha mu y.
Proof.
  intros Ha Hmu H. unfold lse. apply Rmult_le_compat_l; [lra|].
  apply ln_le; [now apply partition_pos|].
  apply fsum_le. intros a Hlt. apply Rmult_le_compat_l; [now apply Hmu|].
  apply exp_le_mono, div_le_mono; auto.
Qed.

(** Shift-equivariant: [lse (x + c) = lse x + c]. *)
Theorem lse_shift alpha mu x c :
  0 < alpha -> measure mu ->
  lse alpha mu (fun a => x a + c) = lse alpha mu x + c.
Proof.
  intros Ha Hmu. unfold lse.
  assert (Hz : partition alpha mu (fun a => x a + c)
               = exp (c / alpha) * partition alpha mu x).
  { unfold partition. rewrite <- fsum_scal. apply fsum_ext. intros a _.
    rewrite Rdiv_plus_distr, exp_plus. ring. }
  rewrite Hz, ln_mult, ln_exp; [field; lra|apply exp_pos|now apply partition_pos].
Qed.

(** Hence 1-Lipschitz: entrywise [|x - y| <= d] gives [|lse x - lse y| <= d]. *)
Theorem lse_lipschitz alpha mu x y d :
  0 < alpha -> measure mu ->
  (forall a, (a < n)%nat -> Rabs (x a - y a) <= d) ->
  Rabs (lse alpha mu x - lse alpha mu y) <= d.
Proof.
  intros Ha Hmu. apply (mono_shift_lipschitz n (lse alpha mu)).
  - intros u v. now apply lse_monotone.
  - intros u c. now apply lse_shift.
Qed.

(** The same in the sup norm. *)
Corollary lse_lipschitz_sup alpha mu x y :
  0 < alpha -> measure mu ->
  Rabs (lse alpha mu x - lse alpha mu y) <= fsup n (fun a => Rabs (x a - y a)).
Proof.
  intros Ha Hmu. apply lse_lipschitz; auto.
  intros a Ha'. now apply (fsup_ge n (fun a => Rabs (x a - y a))).
Qed.

(** ** The sandwich and the limit [alpha -> 0+] *)

(** Lower sandwich: every charged action gives [x a + alpha ln (mu a) <= lse]. *)
Theorem lse_lower alpha mu x a :
  0 < alpha -> measure mu -> (a < n)%nat -> 0 < mu a ->
  x a + alpha * ln (mu a) <= lse alpha mu x.
Proof.
  intros Ha Hmu Hlt Hpos. unfold lse.
  assert (Hterm : mu a * exp (x a / alpha) <= partition alpha mu x).
  { apply (fsum_ge_term n (fun a => mu a * exp (x a / alpha))); [|exact Hlt].
    intros i Hi. apply Rmult_le_pos; [now apply Hmu|left; apply exp_pos]. }
  apply ln_le in Hterm; [|apply Rmult_lt_0_compat; [exact Hpos|apply exp_pos]].
  rewrite ln_mult, ln_exp in Hterm; [|exact Hpos|apply exp_pos].
  apply Rmult_le_compat_l with (r := alpha) in Hterm; [|lra].
  replace (x a + alpha * ln (mu a)) with (alpha * (ln (mu a) + x a / alpha))
    by (field; lra).
  exact Hterm.
Qed.

(** Upper sandwich: if [x a <= m] on the charged actions then
    [lse <= m + alpha ln (sum mu)]. *)
Theorem lse_upper alpha mu x m :
  0 < alpha -> measure mu ->
  (forall a, (a < n)%nat -> 0 < mu a -> x a <= m) ->
  lse alpha mu x <= m + alpha * ln (fsum n mu).
Proof.
  intros Ha Hmu H. unfold lse.
  assert (Hsum : 0 < fsum n mu) by (apply fsum_pos; apply Hmu).
  assert (Hz : partition alpha mu x <= exp (m / alpha) * fsum n mu).
  { unfold partition. rewrite <- fsum_scal. apply fsum_le. intros a Hlt.
    destruct (proj1 Hmu a Hlt) as [Hpos|Hzero].
    - rewrite (Rmult_comm (exp (m / alpha))).
      apply Rmult_le_compat_l; [now left|].
      apply exp_le_mono, div_le_mono; auto.
    - rewrite <- Hzero. lra. }
  apply ln_le in Hz; [|now apply partition_pos].
  rewrite ln_mult, ln_exp in Hz; [|apply exp_pos|exact Hsum].
  apply Rmult_le_compat_l with (r := alpha) in Hz; [|lra].
  replace (m + alpha * ln (fsum n mu)) with (alpha * (m / alpha + ln (fsum n mu)))
    by (field; lra).
  exact Hz.
Qed.

(** The limit [alpha -> 0+] is the hard maximum: [|lse - m| <= alpha * K] with
    [K] from the sandwich, so [lse] is within [eps] of [m] for small [alpha]. *)
Theorem lse_hardmax_limit mu x m :
  measure mu -> is_hardmax mu x m ->
  forall eps, 0 < eps ->
  exists delta, 0 < delta /\
  forall alpha, 0 < alpha < delta -> Rabs (lse alpha mu x - m) < eps.
Proof.
  intros Hmu [[a [Hlt [Hpos Hxa]]] Hmax] eps Heps.
  set (K := Rabs (ln (mu a)) + Rabs (ln (fsum n mu))).
  assert (HK : 0 <= K) by (unfold K; pose proof (Rabs_pos (ln (mu a)));
                           pose proof (Rabs_pos (ln (fsum n mu))); lra).
  exists (eps / (K + 1)). split; [apply Rdiv_lt_0_compat; lra|].
  intros alpha [Ha Hd].
  pose proof (lse_lower alpha mu x a Ha Hmu Hlt Hpos) as Hlo.
  pose proof (lse_upper alpha mu x m Ha Hmu Hmax) as Hup.
  assert (Hbound : Rabs (lse alpha mu x - m) <= alpha * K).
  { apply Rabs_le. rewrite Hxa in Hlo. unfold K.
    pose proof (Rle_abs (ln (fsum n mu))).
    pose proof (Rle_abs (- ln (mu a))). rewrite Rabs_Ropp in *.
    pose proof (Rabs_pos (ln (mu a))). pose proof (Rabs_pos (ln (fsum n mu))).
    split; nra. }
  assert (alpha * K < eps).
  { apply Rmult_lt_compat_r with (r := K + 1) in Hd; [|lra].
    unfold Rdiv in Hd. rewrite Rmult_assoc, Rinv_l in Hd; [|lra]. nra. }
  lra.
Qed.

(** ** The hard maximum ([alpha = 0])

    [hardmax mu x] is the maximum of [x] over the actions with [mu a > 0]:
    the maximum over all [a < n] of [x a] if [mu a > 0] and else [x a0], for a
    charged action [a0] ([hardmax_spec]). [value alpha] is [lse alpha] for
    [alpha > 0] and [hardmax] for [alpha = 0]; it is monotone and
    shift-equivariant for every [alpha >= 0] ([value_monotone], [value_shift]). *)

(** The last charged action below [n] (0 if there is none). *)
Fixpoint charged (n : nat) (mu : nat -> R) : nat :=
  match n with
  | O => O
  | S k => if Rlt_dec 0 (mu k) then k else charged k mu
  end.

(** [max (acc, f 0, ..., f (k-1))]. *)
Fixpoint max_from (acc : R) (k : nat) (f : nat -> R) : R :=
  match k with O => acc | S j => Rmax (max_from acc j f) (f j) end.

(** The maximum of [x] over the charged actions (see [hardmax_spec]). *)
Definition hardmax (mu x : nat -> R) : R :=
  let a0 := charged n mu in
  max_from (x a0) n (fun a => if Rlt_dec 0 (mu a) then x a else x a0).

(** The soft value of one state for [alpha >= 0] (docs/conventions.md). *)
Definition value (alpha : R) (mu x : nat -> R) : R :=
  if Rlt_dec 0 alpha then lse alpha mu x else hardmax mu x.

(** [charged] finds a charged action when there is one. *)
Lemma charged_spec k mu :
  (exists a, (a < k)%nat /\ 0 < mu a) -> (charged k mu < k)%nat /\ 0 < mu (charged k mu).
Proof.
  induction k as [|k IH]; intros [a [Ha Hpos]]; [lia|]. simpl.
  destruct (Rlt_dec 0 (mu k)) as [H|H]; [split; [lia|exact H]|].
  destruct (Nat.eq_dec a k) as [->|Hne]; [contradiction|].
  destruct IH as [H1 H2]; [exists a; split; [lia|exact Hpos]|]. split; [lia|exact H2].
Qed.

(** [max_from] bounds [acc] and every [f j], and equals one of them. *)
Lemma max_from_ge acc k f : acc <= max_from acc k f /\
  forall j, (j < k)%nat -> f j <= max_from acc k f.
Proof.
  induction k as [|k [IH1 IH2]]; simpl; [split; [lra|intros; lia]|].
  split; [eapply Rle_trans; [exact IH1|apply Rmax_l]|].
  intros j Hj. destruct (Nat.eq_dec j k) as [->|Hne]; [apply Rmax_r|].
  eapply Rle_trans; [apply IH2; lia|apply Rmax_l].
Qed.

Lemma max_from_attained acc k f :
  max_from acc k f = acc \/ exists j, (j < k)%nat /\ max_from acc k f = f j.
Proof.
  induction k as [|k IH]; simpl; [now left|].
  unfold Rmax. destruct (Rle_dec (max_from acc k f) (f k)).
  - right. exists k. split; [lia|reflexivity].
  - destruct IH as [H|[j [Hj H]]]; [now left|right; exists j; split; [lia|exact H]].
Qed.

(** [hardmax mu x] is the hard maximum of [x] over the charged actions. *)
Theorem hardmax_spec mu x : measure mu -> is_hardmax mu x (hardmax mu x).
Proof.
  intros [_ Hex]. destruct (charged_spec n mu Hex) as [Ha0 Hpos0].
  unfold hardmax. set (a0 := charged n mu) in *.
  set (f := fun a => if Rlt_dec 0 (mu a) then x a else x a0).
  destruct (max_from_ge (x a0) n f) as [_ Hge].
  split.
  - destruct (max_from_attained (x a0) n f) as [H|[j [Hj H]]].
    + exists a0. auto.
    + unfold f in H. destruct (Rlt_dec 0 (mu j)); [exists j|exists a0]; auto.
  - intros a Ha Hpos. specialize (Hge a Ha). unfold f in Hge.
    destruct (Rlt_dec 0 (mu a)); [exact Hge|contradiction].
Qed.

(** Monotone for every [alpha >= 0]. *)
Theorem value_monotone alpha mu x y :
  0 <= alpha -> measure mu ->
  (forall a, (a < n)%nat -> x a <= y a) -> value alpha mu x <= value alpha mu y.
Proof.
  intros Ha Hmu H. unfold value. destruct (Rlt_dec 0 alpha); [now apply lse_monotone|].
  destruct (hardmax_spec mu x Hmu) as [[a [Hlt [Hpos <-]]] _].
  destruct (hardmax_spec mu y Hmu) as [_ Hy].
  eapply Rle_trans; [apply H; exact Hlt|]. now apply Hy.
Qed.

(** Shift-equivariant for every [alpha >= 0]. *)
Theorem value_shift alpha mu x c :
  0 <= alpha -> measure mu ->
  value alpha mu (fun a => x a + c) = value alpha mu x + c.
Proof.
  intros Ha Hmu. unfold value. destruct (Rlt_dec 0 alpha); [now apply lse_shift|].
  destruct (hardmax_spec mu (fun a => x a + c) Hmu) as [[a [Ha' [Hpa Heq]]] Hle].
  destruct (hardmax_spec mu x Hmu) as [[b [Hb [Hpb Heqb]]] Hleb].
  pose proof (Hle b Hb Hpb). pose proof (Hleb a Ha' Hpa). cbv beta in *. lra.
Qed.

(** Hence 1-Lipschitz for every [alpha >= 0], the hard maximum included. *)
Corollary value_lipschitz alpha mu x y d :
  0 <= alpha -> measure mu ->
  (forall a, (a < n)%nat -> Rabs (x a - y a) <= d) ->
  Rabs (value alpha mu x - value alpha mu y) <= d.
Proof.
  intros Ha Hmu. apply (mono_shift_lipschitz n (value alpha mu)).
  - intros u v. now apply value_monotone.
  - intros u c. now apply value_shift.
Qed.

(** The limit in terms of [hardmax]: [lse alpha mu x -> hardmax mu x]
    as [alpha -> 0+], that is [value alpha -> value 0]. *)
Corollary lse_to_hardmax mu x :
  measure mu ->
  forall eps, 0 < eps ->
  exists delta, 0 < delta /\
  forall alpha, 0 < alpha < delta -> Rabs (lse alpha mu x - hardmax mu x) < eps.
Proof. intros Hmu. apply lse_hardmax_limit; [exact Hmu|now apply hardmax_spec]. Qed.

End LogSumExp.
