"""A failure that looks like a convention of the function, not a bug, names the option
of the check that fits it (issue 14: pymdptoolbox needs --gamma-min and --alpha 0,
imitation --rewards state, a PyTorch function --array torch)."""

from __future__ import annotations

import numpy as np

from softq_ref.conformance import check


def hard_value_iteration(P, R, gamma, alpha):
    """pymdptoolbox's conventions: hard max only, and 0 < gamma asserted."""
    if not gamma > 0:
        raise AssertionError("Discount rate must be in ]0; 1]")
    Q = np.zeros_like(R)
    for _ in range(int(40 / (1 - gamma)) + 10):
        Q = R + gamma * P @ Q.max(axis=1)
    return Q


def state_reward_solver(P, R, gamma, alpha):
    """imitation's convention: rewards R[s] of shape (S,) only."""
    S, A, _ = P.shape
    r = np.broadcast_to(R, (S,))  # raises on R[s, a] of shape (S, A)
    Q = np.zeros((S, A))
    for _ in range(int(40 / (1 - gamma)) + 10):
        Q = r[:, None] + gamma * P @ Q.max(axis=1)
    return Q


def tensor_only_value(Q, alpha):
    raise TypeError("logsumexp(): argument 'input' (position 1) must be Tensor, not numpy.ndarray")


def hints(report):
    return [line for line in report.text.splitlines() if line.startswith("hint: ")]


def test_a_hard_only_solver_is_pointed_to_alpha_zero_and_gamma_min():
    soft = check(hard_value_iteration, "solver", examples=5, seed=0)
    assert not soft.ok and soft.diagnosis[0] == "hard-max"
    assert hints(soft) == [
        "hint: if the function solves the hard problem only (alpha = 0), check it with "
        "--alpha 0 (alpha=0.0 in Python)"
    ]
    hard = check(hard_value_iteration, "solver", alpha=0.0, examples=20, seed=0)
    assert not hard.ok and "gamma = 0.0" in hard.text
    assert hints(hard) == [
        "hint: the function raised at gamma = 0; if it does not accept gamma = 0, pass "
        "--gamma-min (e.g. --gamma-min 0.01; gamma_min=0.01 in Python)"
    ]
    fixed = check(hard_value_iteration, "solver", alpha=0.0, gamma_min=0.01, examples=20, seed=0)
    assert fixed.ok, fixed.text


def test_a_state_reward_solver_is_pointed_to_rewards_state():
    report = check(state_reward_solver, "solver", alpha=0.0, gamma_min=0.01, examples=5)
    assert not report.ok
    assert "hint: if the function takes rewards R[s] of shape (S,), pass --rewards state" in (
        report.text
    )
    assert check(
        state_reward_solver, "solver", alpha=0.0, gamma_min=0.01, rewards="state", examples=20
    ).ok


def test_a_tensor_only_function_is_pointed_to_array_torch_and_a_plain_bug_gets_no_hint():
    report = check(tensor_only_value, "value", examples=5)
    assert hints(report) == [
        "hint: a PyTorch function needs tensors: pass --array torch (array='torch')"
    ]

    def mean_value(Q, alpha):  # a bug (log-mean-exp), not a convention: no option fits
        return alpha * np.log(np.mean(np.exp(Q / alpha), axis=1))

    assert hints(check(mean_value, "value", examples=5)) == []
