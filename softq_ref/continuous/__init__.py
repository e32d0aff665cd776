"""Beyond finite action sets: continuous actions, max-ent LQR, SVGD, learning targets.

* :mod:`~softq_ref.continuous.actions`: the soft value and policy of a
  continuous action set, by quadrature or in closed form (quadratic ``Q``);
* :mod:`~softq_ref.continuous.lqr`: the maximum-entropy linear-quadratic regulator;
* :mod:`~softq_ref.continuous.svgd`: Stein variational gradient descent, the
  sampler of soft Q-learning;
* :mod:`~softq_ref.continuous.learning`: the estimators of soft Q-learning
  (importance-sampled soft values, targets and the loss).

Importing it loads NumPy only; mpmath is imported by the functions that use it.
"""

from __future__ import annotations

from softq_ref.continuous.actions import (
    ContinuousSoftPolicy,
    ContinuousSoftValue,
    GaussianSoftPolicy,
    box_quadratic_soft_value,
    continuous_soft_policy,
    continuous_soft_value,
    gaussian_prior_soft_policy,
    quadratic_soft_policy,
    quadratic_soft_value,
)
from softq_ref.continuous.learning import (
    importance_sampled_soft_value,
    soft_q_loss,
    soft_q_target,
    soft_q_target_from_table,
)
from softq_ref.continuous.lqr import MaxEntLQRSolution, solve_max_entropy_lqr
from softq_ref.continuous.svgd import median_bandwidth, svgd, svgd_direction, svgd_step

__all__ = [
    "ContinuousSoftValue",
    "ContinuousSoftPolicy",
    "GaussianSoftPolicy",
    "continuous_soft_value",
    "continuous_soft_policy",
    "quadratic_soft_policy",
    "quadratic_soft_value",
    "gaussian_prior_soft_policy",
    "box_quadratic_soft_value",
    "MaxEntLQRSolution",
    "solve_max_entropy_lqr",
    "median_bandwidth",
    "svgd_direction",
    "svgd_step",
    "svgd",
    "importance_sampled_soft_value",
    "soft_q_target",
    "soft_q_target_from_table",
    "soft_q_loss",
]
