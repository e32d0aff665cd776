"""rlax 0.1.9 (JAX): the softmax policy and the soft value from its entropy, as ``policy`` / ``value``.

``rlax.softmax(temperature)`` gives ``probs(Q) = softmax(Q / alpha)`` and
``entropy(Q)``; the soft value is ``sum_a pi Q + alpha H(pi)``. JAX computes in
float32 unless ``jax_enable_x64`` is set before the first array is made: this module
sets it; ``rlax_client_f32.py`` does not.

    softq-ref check examples/libraries/rlax_client.py:soft_policy --kind policy
    softq-ref check examples/libraries/rlax_client.py:soft_value --kind value
"""

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import rlax  # noqa: E402


def soft_policy(Q, alpha):
    return np.asarray(rlax.softmax(alpha).probs(Q))


def soft_value(Q, alpha):
    dist = rlax.softmax(alpha)
    return np.asarray((dist.probs(Q) * Q).sum(-1) + alpha * dist.entropy(Q))
