"""The float64 solvers and the a-posteriori bounds that certify their answers.

:func:`solve`, :func:`soft_q_iteration` and :func:`soft_policy_iteration`
(:mod:`softq_ref.float64.solvers`) return a :class:`SolveResult` whose
``error_bound`` is proven by :func:`certify` (:mod:`softq_ref.float64.bounds`):
the contraction bound ``|Q - Q*| <= |T Q - Q| / (1 - L)`` evaluated in extended
precision with an allowance for every rounding. The bound depends on the run
(BLAS, threads); the certified solver (:mod:`softq_ref.certified`) does not.
"""

from __future__ import annotations

from softq_ref.float64.bounds import (
    EXTENDED,
    UNIT_ROUNDOFF,
    Certificate,
    certify,
    lse_allowance,
    prior_entropy_range,
)
from softq_ref.float64.solvers import SolveResult, soft_policy_iteration, soft_q_iteration, solve

__all__ = [
    "SolveResult",
    "solve",
    "soft_q_iteration",
    "soft_policy_iteration",
    "Certificate",
    "certify",
    "lse_allowance",
    "prior_entropy_range",
    "EXTENDED",
    "UNIT_ROUNDOFF",
]
