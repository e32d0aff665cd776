"""imitation 1.0.1: ``mce_partition_fh``, finite-horizon soft value iteration.

It takes a ``seals`` ``TabularModelPOMDP`` with a horizon ``H`` and state rewards
``R[s]`` (it raises on ``R[s, a]``), has temperature 1, and returns ``(V, Q, pi)``
indexed ``[t, s, ...]`` with ``Q[H - 1] = R`` (the last step). Temperature alpha:
``Q_alpha = alpha * Q_1`` computed with rewards ``R / alpha``.

    softq-ref check examples/libraries/imitation_client.py:soft_q_horizon --kind horizon-solver --rewards state
"""

import numpy as np
from imitation.algorithms.mce_irl import mce_partition_fh
from seals.base_envs import TabularModelPOMDP


def soft_q_horizon(P, R, gamma, alpha, H):
    """``Q[t, s, a]`` for ``t = 0..H-1`` (``t = 0`` the first step), state rewards ``R[s]``."""
    S = P.shape[0]
    env = TabularModelPOMDP(
        transition_matrix=P, observation_matrix=np.eye(S), reward_matrix=R / alpha, horizon=H
    )
    _, Q, _ = mce_partition_fh(env, discount=gamma)
    return alpha * Q
