"""The kit's diagnosis on the failures real libraries showed (issue 14): compound mistakes,
stopping rules, float32 named only when it is float32, and the numbers always reported.

Each wrong implementation is written here, small, after the library it imitates:
msdm's entropy-regularised iteration (uniform prior, ``torch.tensor([alpha])``
rounding alpha to float32), pymdptoolbox's value iteration (a span-based
stopping rule), a soft value iteration that stops at a sup-norm change of
``1e-12``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.special import logsumexp

from softq_ref import FiniteMDP, solve
from softq_ref.conformance import check
from softq_ref.conformance.cases import Case
from softq_ref.conformance.compare import Outcome, Tolerance, solution_reference
from softq_ref.conformance.mistakes import EPS32, diagnose, float32_sized, ulps
from softq_ref.testing import assert_soft_optimal, assert_value

EXAMPLES = 5

# The kit's first edge case: asymmetric, 3 states, 3 actions, gamma = 0.9 (alpha = 0.7).
P3 = np.array(
    [
        [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.0, 0.3, 0.7]],
        [[0.5, 0.5, 0.0], [0.2, 0.2, 0.6], [0.9, 0.0, 0.1]],
        [[0.3, 0.3, 0.4], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]],
    ]
)
R3 = np.array([[1.0, -0.5, 0.3], [0.0, 2.0, -1.2], [0.7, 0.1, -0.3]])
M3 = FiniteMDP(P3, R3, 0.9)


def soft_value(Q, alpha):
    return alpha * logsumexp(Q / alpha, axis=-1)


def lme_value(Q, alpha):  # the uniform-prior convention: log-MEAN-exp
    return alpha * (logsumexp(Q / alpha, axis=-1) - np.log(Q.shape[-1]))


def value_iteration(P, R, gamma, value, tol=0.0):
    """``Q <- R + gamma P value(Q)`` until a sweep changes ``Q`` by at most ``tol`` (sup norm)."""
    Q = np.zeros_like(R)
    for _ in range(int(60 / (1 - gamma)) + 20):
        Qn = R + gamma * P @ value(Q)
        if np.abs(Qn - Q).max() <= tol:
            return Qn
        Q = Qn
    return Q


def msdm_like(P, R, gamma, alpha):
    """Uniform prior (log-mean-exp) and alpha through a float32 tensor; float64 otherwise."""
    a = float(np.float32(alpha))
    return value_iteration(P, R, gamma, lambda Q: lme_value(Q, a))


def alpha_float32(P, R, gamma, alpha):
    """Right in every respect but alpha, rounded to float32 on the way in."""
    a = float(np.float32(alpha))
    return value_iteration(P, R, gamma, lambda Q: soft_value(Q, a))


def span_rule(P, R, gamma, alpha, epsilon=0.01):
    """pymdptoolbox's ValueIteration, soft: stop when span(V_k+1 - V_k) < epsilon (1-g)/g."""
    threshold = epsilon * (1 - gamma) / gamma
    V = np.zeros(R.shape[0])
    while True:
        Vn = soft_value(R + gamma * P @ V, alpha)
        d, V = Vn - V, Vn
        if d.max() - d.min() < threshold:
            return R + gamma * P @ V


def sup_stop(P, R, gamma, alpha):
    """Correct soft value iteration that stops when a sweep changes Q by less than 1e-12."""
    return value_iteration(P, R, gamma, lambda Q: soft_value(Q, alpha), tol=1e-12)


def test_msdm_compound_uniform_prior_and_float32_alpha():
    """Issue 14, finding 1: two mistakes at once, the dominant one named first."""
    report = check(msdm_like, "solver", examples=EXAMPLES, seed=0)
    assert not report.ok
    assert report.diagnosis[:2] == ("log-mean-exp", "float32-alpha"), report.text
    # first edge case: A = 3, gamma = 0.9, alpha = 0.7: 0.9*0.7*log(3)/0.1 = 6.92126
    assert (
        "diagnosis: matches: uniform-prior convention (log-mean-exp) and alpha rounded to "
        "float32 together: uniform-prior convention (log-mean-exp) explains 6.92126; "
        "4.6e-08 remains, which matches alpha rounded to float32" in report.text
    ), report.text
    assert "float32(alpha) = 0.699999988079071" in report.text
    # the 4.6e-08 is what the float32 alpha does on top of log-mean-exp: the number, measured
    lme_only = value_iteration(P3, R3, 0.9, lambda Q: lme_value(Q, 0.7))
    assert f"{np.abs(msdm_like(P3, R3, 0.9, 0.7) - lme_only).max():.2g}" == "4.6e-08"


def test_msdm_with_a_float64_alpha_is_the_uniform_prior_alone():
    def msdm_float64(P, R, gamma, alpha):
        return value_iteration(P, R, gamma, lambda Q: lme_value(Q, alpha))

    report = check(msdm_float64, "solver", examples=EXAMPLES, seed=0)
    assert report.diagnosis == ("log-mean-exp",), report.text
    assert "together" not in report.text


def test_float32_alpha_alone_is_named_with_its_value():
    report = check(alpha_float32, "solver", examples=EXAMPLES, seed=0)
    assert report.diagnosis == ("float32-alpha",), report.text
    assert "matches: alpha rounded to float32: alpha = 0.7 was used as float32(alpha) = " in (
        report.text
    )
    assert "float32 size" not in report.text  # an exact prediction, not a size


def test_span_rule_offset_is_a_constant_in_every_entry():
    """Issue 14, finding 2: pymdptoolbox's value iteration is off by one constant."""
    report = check(span_rule, "solver", examples=EXAMPLES, seed=0)
    assert not report.ok
    assert report.diagnosis[:2] == ("early-stop", "constant-offset"), report.text
    diff = span_rule(P3, R3, 0.9, 0.7) - solve(M3, 0.7).Q
    # the measured offset is printed, and it is far larger than its spread
    assert f"the error is the same constant {np.median(diff):.6g} in every entry" in report.text
    assert np.ptp(diff) < 0.05 * np.abs(np.median(diff))
    assert "span-based rule" in report.text and "pymdptoolbox" in report.text
    assert "float32" not in report.text  # 6.28 on values of 15 is no rounding error


# The one-action edge case of the kit, where stopping at 1e-12 fails (the numbers).
ONE_ACTION = FiniteMDP([[[0.4, 0.6]], [[1.0, 0.0]]], [[0.3], [-2.1]], 0.8)


def test_sup_norm_early_stop_at_1e_12_is_not_called_float32():
    """Issue 14, finding 3: 3.61e-12 on values of order 4 is an early stop, not float32."""
    P, R = np.asarray(ONE_ACTION.transitions), np.asarray(ONE_ACTION.rewards)
    got = sup_stop(P, R, 0.8, 0.7)
    with pytest.raises(AssertionError) as info:
        assert_soft_optimal(got, ONE_ACTION, 0.7)
    text = str(info.value)
    assert "|got - expected| = 3.61e-12   tolerance = 1.53e-12" in text
    assert "float32" not in text
    assert "consistent with an iteration stopped early" in text
    # the threshold printed explains the error, and the true one (1e-12) is at least that
    eps = float(re.search(r"so eps >= (\S+) explains", text).group(1))
    err = float(np.abs(got - solve(ONE_ACTION, 0.7).Q).max())
    assert eps == pytest.approx(err * (1 - 0.8) / 0.8, rel=0.02)
    assert eps <= 1e-12
    # the residual of the user's own answer is reported beside the error, and the ulps
    assert "residual of your answer max|T Q - Q| = 7.22e-13" in text
    assert "= 4.06e+03 ulps of max|Q*| = 4.01351" in text


def test_the_kit_reports_the_same_for_the_early_stop():
    report = check(sup_stop, "solver", examples=EXAMPLES, seed=0)
    assert not report.ok and "one action" in report.text
    assert report.diagnosis[0] == "early-stop", report.text
    assert "float32" not in report.text


def test_float32_size_is_measured_against_the_values():
    """``float32 size`` needs at least 2**-24 * max|value| / 16 (issue 14, finding 3)."""
    exp = solution_reference(ONE_ACTION, 0.7, "Q", Tolerance())
    big = float(np.abs(exp.value).max())
    assert not float32_sized(3.6e-12, exp)
    assert not float32_sized(3.55e-15, exp)
    assert float32_sized(EPS32 * big, exp)  # one float32 unit of the largest value
    assert not float32_sized(EPS32 * big / 17, exp)
    n, unit = ulps(3.6e-12, exp)
    assert unit == np.spacing(big) and n == 3.6e-12 / unit


def test_the_loose_stop_of_float32_size_is_an_early_stop_first():
    """An error of float32 size without float32's fingerprint: early stop, float32 second."""
    report = check(
        lambda P, R, g, a: value_iteration(P, R, g, lambda Q: soft_value(Q, a), tol=1e-6),
        "solver",
        examples=EXAMPLES,
        seed=0,
    )
    assert report.diagnosis[0] == "early-stop" and "float32-sized" in report.diagnosis


# --- the solver shapes, through the one projection ----------------------------------


def test_value_solver_projection_names_the_compound_on_v():
    mdp = FiniteMDP(
        [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]], [[1.0, 0.5], [-0.5, 2.0]], 0.9
    )
    P, R = np.asarray(mdp.transitions), np.asarray(mdp.rewards)
    Q = msdm_like(P, R, 0.9, 0.7)
    V = lme_value(Q, float(np.float32(0.7)))
    with pytest.raises(AssertionError) as info:
        assert_value(V, mdp, 0.7)
    text = str(info.value)
    step = 0.7 * np.log(2) / (1 - 0.9)
    assert f"uniform-prior convention (log-mean-exp) explains {step:.6g}" in text, text
    assert "which matches alpha rounded to float32" in text
    assert f"exactly alpha*log(A)/(1 - gamma) = {step:.6g} on V*" in text
    assert "residual of your answer max|V(R + gamma*P*V) - V|" in text


def test_horizon_solver_projection_names_the_uniform_prior():
    mdp = FiniteMDP(
        [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]],
        [[1.0, 0.5], [-0.5, 2.0]],
        1.0,
        horizon=4,
    )
    P, R = np.asarray(mdp.transitions), np.asarray(mdp.rewards)
    Qs, V = np.empty((4, 2, 2)), np.zeros(2)
    for t in range(3, -1, -1):
        Qs[t] = R + P @ V
        V = lme_value(Qs[t], 0.5)
    with pytest.raises(AssertionError) as info:
        assert_soft_optimal(Qs, mdp, 0.5)
    text = str(info.value)
    assert "matches: uniform-prior convention (log-mean-exp): " in text, text
    assert f"(= {0.5 * np.log(2) * 3:.6g} at t = 0)" in text
    assert "max_t |Q_t - (R + gamma*P*V(Q_t+1))|" in text
    assert "early" not in text  # backward induction does not stop early


def test_policy_solver_residual_is_one_step_of_policy_iteration():
    mdp = FiniteMDP(
        [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]], [[1.0, 0.5], [-0.5, 2.0]], 0.9
    )
    case = Case("policy-solver", 0.7, mdp)
    tol = Tolerance()
    exp = solution_reference(mdp, 0.7, "pi", tol)
    wrong = np.full((2, 2), 0.5)  # the uniform policy
    diag = diagnose((case, Outcome(array=wrong, dtype="float64"), exp), [], tol)
    assert "max|pi_Q^pi - pi| (the soft-greedy policy of its own exact Q^pi)" in diag.text


def _diagnose_solution(kind, mdp, alpha, got, output):
    tol = Tolerance()
    exp = solution_reference(mdp, alpha, output, tol)
    case = Case(kind, alpha, mdp)
    return diagnose((case, Outcome(array=np.asarray(got, float), dtype="float64"), exp), [], tol)


def test_horizon_solver_time_axis_reversed():
    mdp = FiniteMDP(P3, R3, 0.9, horizon=4)
    Qs = solve(mdp, 0.7).Q
    diag = _diagnose_solution("horizon-solver", mdp, 0.7, Qs[::-1], "Q")
    assert diag.matches == ("time-reversed",), diag.text
    assert "got[t] is the reference's Q[H - 1 - t]" in diag.text


def test_policy_solver_greedy_policy_of_q_star():
    pi = solve(M3, 0.7).policy
    greedy = (pi == pi.max(axis=-1, keepdims=True)).astype(float)
    diag = _diagnose_solution("policy-solver", M3, 0.7, greedy, "pi")
    assert diag.matches == ("greedy-policy",), diag.text
    assert "positive on every action" in diag.text


def test_horizon_solver_one_step_too_many():
    mdp = FiniteMDP(P3, R3, 0.9, horizon=4)
    longer = solve(FiniteMDP(P3, R3, 0.9, horizon=5), 0.7).Q[:4]
    diag = _diagnose_solution("horizon-solver", mdp, 0.7, longer, "Q")
    assert diag.matches == ("one-step-too-many",), diag.text
    assert "V_H = V(R)" in diag.text


# --- the same diagnoses through the kit, for the new kinds -------------------------------


def msdm_value_solver(P, R, gamma, alpha):
    """msdm's two mistakes in a solver that returns V*."""
    a = float(np.float32(alpha))
    return lme_value(msdm_like(P, R, gamma, alpha), a)


def lme_horizon_solver(P, R, gamma, alpha, H):
    """Backward induction on the log-MEAN-exp."""
    Qs, V = np.empty((H, *R.shape)), np.zeros(R.shape[0])
    for t in range(H - 1, -1, -1):
        Qs[t] = R + gamma * P @ V
        V = lme_value(Qs[t], alpha)
    return Qs


def alpha32_policy_solver(P, R, gamma, alpha):
    a = float(np.float32(alpha))
    Q = alpha_float32(P, R, gamma, alpha)
    z = Q / a
    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


def test_kit_value_solver_compound():
    report = check(msdm_value_solver, "value-solver", examples=EXAMPLES, seed=0)
    assert report.diagnosis[:2] == ("log-mean-exp", "float32-alpha"), report.text
    step = 0.7 * np.log(3) / (1 - 0.9)
    assert f"uniform-prior convention (log-mean-exp) explains {step:.6g}" in report.text
    assert "residual of your answer max|V(R + gamma*P*V) - V|" in report.text


def test_kit_horizon_solver_uniform_prior():
    report = check(lme_horizon_solver, "horizon-solver", examples=EXAMPLES, seed=0)
    assert report.diagnosis == ("log-mean-exp",), report.text
    assert "alpha*log(A)*(gamma + ... + gamma**(H-1-t)) on Q_t" in report.text
    assert "max_t |Q_t - (R + gamma*P*V(Q_t+1))|" in report.text


def test_kit_policy_solver_float32_alpha():
    report = check(alpha32_policy_solver, "policy-solver", examples=EXAMPLES, seed=0)
    assert report.diagnosis == ("float32-alpha",), report.text
    assert "(the soft-greedy policy of its own exact Q^pi)" in report.text


def test_a_mistake_and_an_early_stop_together():
    """log-mean-exp stopped at a sup-norm change of 1e-6: the formula, then the stop's eps."""

    def lme_stopped(P, R, gamma, alpha):
        return value_iteration(P, R, gamma, lambda Q: lme_value(Q, alpha), tol=1e-6)

    report = check(lme_stopped, "solver", examples=EXAMPLES, seed=0)
    assert report.diagnosis[:2] == ("log-mean-exp", "early-stop"), report.text
    assert "partly: uniform-prior convention (log-mean-exp) explains 6.92126; " in report.text
    eps = float(re.search(r"so eps >= (\S+) explains", report.text).group(1))
    assert 0.5e-6 <= eps <= 1e-6  # the true threshold, 1e-6, explains at least this error
