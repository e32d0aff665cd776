"""rlax 0.1.9 without ``jax_enable_x64``: the same functions as ``rlax_client.py``, in float32.

softq-ref check examples/libraries/rlax_client_f32.py:soft_policy --kind policy
"""

import numpy as np
import rlax


def soft_policy(Q, alpha):
    return np.asarray(rlax.softmax(alpha).probs(Q))


def soft_value(Q, alpha):
    dist = rlax.softmax(alpha)
    return np.asarray((dist.probs(Q) * Q).sum(-1) + alpha * dist.entropy(Q))
