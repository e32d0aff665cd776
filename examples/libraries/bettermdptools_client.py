"""bettermdptools 0.9.0: hard value iteration on a Gymnasium ``env.P`` table, at alpha = 0.

``Planner(P).value_iteration(gamma, n_iters, theta, dtype)`` works on the table
``P[s][a] = [(prob, next_s, reward, done), ...]`` (``softq_ref.io.to_gymnasium_table``
writes it), computes in ``dtype`` (float32 by default) and stops when the largest
change of ``V`` is below the absolute ``theta`` (1e-10 by default).

    softq-ref check examples/libraries/bettermdptools_client.py:value_iteration_q --kind solver --alpha-range 0 1e-300
"""

import numpy as np
from bettermdptools.algorithms.planner import Planner

from softq_ref import FiniteMDP
from softq_ref.io import to_gymnasium_table


def _table(P, R, gamma):
    return to_gymnasium_table(FiniteMDP(P, R, gamma))


def _values(P, R, gamma, **options):
    V, _, _ = Planner(_table(P, R, gamma)).value_iteration(gamma=gamma, **options)
    return np.asarray(V, dtype=np.float64)


def value_iteration_q(P, R, gamma, alpha):
    """float64, and a stop only at the float64 fixed point (no change at all)."""
    V = _values(P, R, gamma, dtype=np.float64, theta=5e-324, n_iters=100_000)
    return R + gamma * (P @ V)


def value_iteration_q_defaults(P, R, gamma, alpha):
    """The defaults: float32, theta = 1e-10, 1000 sweeps."""
    return R + gamma * (P @ _values(P, R, gamma))


def value_iteration_q_theta(P, R, gamma, alpha):
    """float64 with an absolute threshold theta = 1e-14."""
    V = _values(P, R, gamma, dtype=np.float64, theta=1e-14, n_iters=100_000)
    return R + gamma * (P @ V)


def value_iteration_v(P, R, gamma, alpha):
    return _values(P, R, gamma, dtype=np.float64, theta=5e-324, n_iters=100_000)


def value_iteration_v_theta(P, R, gamma, alpha):
    return _values(P, R, gamma, dtype=np.float64, theta=1e-14, n_iters=100_000)


def value_iteration_v_defaults(P, R, gamma, alpha):
    return _values(P, R, gamma)
