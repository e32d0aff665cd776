(** The axioms each main theorem depends on. [make] checks that they are only the
    axioms of Coq's real numbers (allowed_axioms.txt); tests/test_coq.py checks that
    every [Theorem] and [Corollary] of the development is listed here. *)

From SoftQ Require Import Finite LogSumExp Gibbs Bellman Improvement Rounding.

(** Log-sum-exp: monotone, shifts, 1-Lipschitz; sandwich; alpha -> 0+ (LogSumExp.v) *)
Print Assumptions lse_monotone.
Print Assumptions lse_shift.
Print Assumptions lse_lipschitz.
Print Assumptions lse_lipschitz_sup.
Print Assumptions lse_lower.
Print Assumptions lse_upper.
Print Assumptions lse_hardmax_limit.
Print Assumptions hardmax_spec.
Print Assumptions lse_to_hardmax.
Print Assumptions value_monotone.
Print Assumptions value_shift.
Print Assumptions value_lipschitz.

(** The Gibbs variational identity (Gibbs.v) *)
Print Assumptions gibbs_distribution.
Print Assumptions gibbs_upper.
Print Assumptions gibbs_attains.
Print Assumptions gibbs_unique.
Print Assumptions gibbs_variational.

(** The soft Bellman operator: contraction, fixed point, error bound (Bellman.v) *)
Print Assumptions contraction.
Print Assumptions error_bound.
Print Assumptions fixed_point_unique.
Print Assumptions fixed_point_exists.
Print Assumptions iter_converges.
Print Assumptions below_fixed_point.
Print Assumptions soft_contraction.
Print Assumptions soft_fixed_point.
Print Assumptions soft_q_iteration.
Print Assumptions soft_error_bound.
Print Assumptions soft_error_bound_gamma.

(** Soft policy improvement (Improvement.v) *)
Print Assumptions policy_q_exists.
Print Assumptions soft_policy_improvement.

(** The float64 rounding of a dot product (Rounding.v, with Flocq) *)
Print Assumptions dot_error.
Print Assumptions dot_error_binary64.
