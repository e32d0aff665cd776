"""pymdptoolbox 4.0b3: hard value and policy iteration, checked at alpha = 0.

pymdptoolbox takes ``P[a, s, s']`` and ``R[s, a]``, solves the hard problem only
(it has no temperature) and refuses ``gamma = 0``. ``ValueIteration`` stops when the
span of the last change is below ``epsilon (1 - gamma) / gamma``: a rule that
certifies an epsilon-optimal policy, and leaves ``V`` off by a constant.

    softq-ref check examples/libraries/pymdptoolbox_client.py:policy_iteration_q --kind solver --alpha-range 0 1e-300
    softq-ref check examples/libraries/pymdptoolbox_client.py:value_iteration_q --kind solver --alpha-range 0 1e-300
"""

import numpy as np
from mdptoolbox import mdp


def _q(P, R, gamma, V):
    """``Q = R + gamma P V``: the Q-table of pymdptoolbox's value vector."""
    return R + gamma * (P @ np.asarray(V, dtype=np.float64))


def policy_iteration_q(P, R, gamma, alpha):
    solver = mdp.PolicyIteration(np.transpose(P, (1, 0, 2)), R, gamma)
    solver.run()
    return _q(P, R, gamma, solver.V)


def value_iteration_q(P, R, gamma, alpha):
    solver = mdp.ValueIteration(np.transpose(P, (1, 0, 2)), R, gamma)  # epsilon = 0.01
    solver.run()
    return _q(P, R, gamma, solver.V)


def value_iteration_q_tight(P, R, gamma, alpha):
    solver = mdp.ValueIteration(np.transpose(P, (1, 0, 2)), R, gamma, epsilon=1e-12)
    solver.run()
    return _q(P, R, gamma, solver.V)


def policy_iteration_v(P, R, gamma, alpha):
    solver = mdp.PolicyIteration(np.transpose(P, (1, 0, 2)), R, gamma)
    solver.run()
    return np.asarray(solver.V, dtype=np.float64)


def value_iteration_v(P, R, gamma, alpha):
    solver = mdp.ValueIteration(np.transpose(P, (1, 0, 2)), R, gamma)  # epsilon = 0.01
    solver.run()
    return np.asarray(solver.V, dtype=np.float64)
