"""irl-maxent 0.1.0 (qzed/irl-maxent): the maximum-causal-entropy policy, checked as a policy solver.

``irl_maxent.maxent.local_causal_action_probabilities(p[s, s', a], terminal,
reward[s], discount, eps)`` runs soft value iteration at temperature 1 with state
rewards, stops when the largest change is below ``eps`` (1e-5 by default), and
returns only the policy ``pi[s, a]``. At temperature alpha the policy is the one
for rewards ``R / alpha``. The package uses ``np.float``, which NumPy 1.24 removed:
the client restores it.

    softq-ref check examples/libraries/irl_maxent_client.py:soft_policy --kind policy-solver --rewards state
"""

import numpy as np

if not hasattr(np, "float"):
    np.float = float  # noqa: NPY001 - irl-maxent 0.1.0 predates NumPy 1.24

from irl_maxent.maxent import local_causal_action_probabilities  # noqa: E402


def soft_policy(P, R, gamma, alpha):
    """No terminal states; eps = 1e-15, below the spacing of the values: the loop ends when a
    sweep changes nothing (it did in every case the kit tried; a 2-cycle would not end)."""
    return local_causal_action_probabilities(
        np.transpose(P, (0, 2, 1)), [], R / alpha, gamma, eps=1e-15
    )


def soft_policy_defaults(P, R, gamma, alpha):
    """The default stopping threshold eps = 1e-5."""
    return local_causal_action_probabilities(np.transpose(P, (0, 2, 1)), [], R / alpha, gamma)
