(** The axioms each main theorem depends on. [make] checks that they are only the
    axioms of Coq's real numbers (allowed_axioms.txt). *)

From SoftQ Require Import Finite LogSumExp Gibbs Bellman Improvement.

Print Assumptions lse_monotone.
Print Assumptions lse_shift.
Print Assumptions lse_lipschitz.
Print Assumptions lse_lipschitz_sup.
Print Assumptions lse_lower.
Print Assumptions lse_upper.
Print Assumptions lse_hardmax_limit.
Print Assumptions gibbs_variational.
Print Assumptions soft_contraction.
Print Assumptions soft_fixed_point.
Print Assumptions soft_error_bound.
Print Assumptions soft_error_bound_gamma.
Print Assumptions policy_q_exists.
Print Assumptions soft_policy_improvement.
