"""softq-ref: a verified numerical reference for maximum-entropy (soft) RL.

The conventions are those of ``docs/conventions.md`` (Haarnoja et al. 2017, "Reinforcement
Learning with Deep Energy-Based Policies", for discrete actions). Importing the
package loads NumPy only; mpmath, sympy and the optional extras are imported
by the modules that use them.
"""

from __future__ import annotations

from softq_ref.certified import CertifiedSolution, solve_certified
from softq_ref.continuous import (
    continuous_soft_value,
    importance_sampled_soft_value,
    soft_q_loss,
    soft_q_target,
    svgd,
)
from softq_ref.errors import InvalidArgumentError, InvalidMDPError
from softq_ref.float64 import SolveResult, soft_policy_iteration, soft_q_iteration, solve
from softq_ref.io import MDPProblem, dumps_mdp, load_mdp, load_problem, save_mdp
from softq_ref.logsumexp import (
    policy_entropy,
    policy_kl,
    soft_policy,
    soft_value,
    soft_value_and_policy,
)
from softq_ref.mdp import ExactMDP, FiniteMDP
from softq_ref.operators import (
    PolicyEvaluation,
    bellman_operator,
    evaluate_policy,
    policy_operator,
)

__version__ = "0.1.0"

__all__ = [
    "ExactMDP",
    "FiniteMDP",
    "InvalidArgumentError",
    "InvalidMDPError",
    "PolicyEvaluation",
    "SolveResult",
    "CertifiedSolution",
    "MDPProblem",
    "dumps_mdp",
    "load_mdp",
    "load_problem",
    "save_mdp",
    "solve_certified",
    "bellman_operator",
    "evaluate_policy",
    "policy_operator",
    "soft_policy_iteration",
    "soft_q_iteration",
    "solve",
    "policy_entropy",
    "policy_kl",
    "soft_policy",
    "soft_value",
    "soft_value_and_policy",
    "continuous_soft_value",
    "importance_sampled_soft_value",
    "soft_q_target",
    "soft_q_loss",
    "svgd",
]
