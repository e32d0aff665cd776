"""msdm 0.11: entropy-regularised policy iteration, checked as a ``solver``.

``msdm.algorithms.entregpolicyiteration.entropy_regularized_policy_iteration``
takes torch tensors ``P[s, a, s']``, ``R[s, a, s']`` and returns ``action_values``,
the soft ``Q`` of its last policy. Its defaults differ from the kit's
signature (docs/conventions.md section 1) in two ways: ``policy_prior=None``
is the uniform prior (``V = alpha log mean_a exp(Q / alpha)``), and a Python
float ``entropy_weight`` becomes ``torch.tensor([alpha])``, a float32 tensor. It
also stops when ``torch.isclose`` holds between successive policies (rtol 1e-5).

    softq-ref check examples/libraries/msdm_client.py:soft_q --kind solver
    softq-ref check examples/libraries/msdm_client.py:soft_q_defaults --kind solver
"""

import torch
from msdm.algorithms.entregpolicyiteration import entropy_regularized_policy_iteration


def soft_q(P, R, gamma, alpha):
    """The kit's setup: counting measure (all-ones prior), alpha in float64, no early stop."""
    P, R = torch.from_numpy(P), torch.from_numpy(R)[:, :, None]
    res = entropy_regularized_policy_iteration(
        P,
        R,
        gamma,
        torch.tensor([alpha], dtype=torch.float64),
        n_planning_iters=100,
        policy_prior=torch.ones((1, P.shape[1]), dtype=torch.float64),
        check_convergence=False,
    )
    return res.action_values.numpy()


def soft_q_defaults(P, R, gamma, alpha):
    """The library's defaults: uniform prior, float alpha (float32), isclose early stop."""
    P, R = torch.from_numpy(P), torch.from_numpy(R)[:, :, None]
    res = entropy_regularized_policy_iteration(P, R, gamma, alpha, n_planning_iters=100)
    return res.action_values.numpy()


def soft_q_early_stop(P, R, gamma, alpha):
    """The kit's prior and a float64 alpha, but the library's isclose early stop."""
    P, R = torch.from_numpy(P), torch.from_numpy(R)[:, :, None]
    res = entropy_regularized_policy_iteration(
        P,
        R,
        gamma,
        torch.tensor([alpha], dtype=torch.float64),
        n_planning_iters=100,
        policy_prior=torch.ones((1, P.shape[1]), dtype=torch.float64),
    )
    return res.action_values.numpy()


def soft_q_float32_alpha(P, R, gamma, alpha):
    """The kit's prior, no early stop, but the float alpha that msdm turns into float32."""
    P, R = torch.from_numpy(P), torch.from_numpy(R)[:, :, None]
    res = entropy_regularized_policy_iteration(
        P,
        R,
        gamma,
        alpha,
        n_planning_iters=100,
        policy_prior=torch.ones((1, P.shape[1]), dtype=torch.float64),
        check_convergence=False,
    )
    return res.action_values.numpy()
