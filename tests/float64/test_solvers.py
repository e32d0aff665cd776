"""The float64 solvers against an independent 50-digit reference, and their bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref import (
    FiniteMDP,
    InvalidArgumentError,
    InvalidMDPError,
    soft_policy_iteration,
    soft_q_iteration,
    solve,
)
from softq_ref.strategies import mdps, temperatures

from helpers import assert_matches_reference
from mp_reference import max_abs_diff, mp_solve

# Extreme cases the issue names, pinned as explicit examples.
EXTREME_SCALES = FiniteMDP(
    [[[0.5, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.25, 0.75]]], [[1e8, 1e-8], [-1e-8, 3.0]], 0.9
)
GAMMA_0999 = FiniteMDP(
    [[[0.9, 0.1], [0.0, 1.0]], [[1.0, 0.0], [0.5, 0.5]]], [[1.0, 0.0], [0.5, 2.0]], 0.999
)
EXACT_TIES = FiniteMDP(
    [[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]], [[1.0, 1.0], [2.0, 2.0]], 0.5
)
PRIOR_ZEROS = FiniteMDP(
    [[[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]],
    [[1.0, 5.0, 0.0], [0.0, 1.0, 100.0]],
    0.8,
    prior=[[0.5, 0.0, 0.5], [0.2, 0.8, 0.0]],
)
TERMINATION = FiniteMDP(
    [[[0.5, 0.25], [0.0, 0.0]], [[0.0, 1.0], [0.1, 0.0]]],
    [[1.0, 10.0], [-1.0, 0.0]],
    0.95,
    termination=True,
)
EXACT_STRINGS = FiniteMDP(
    [[["1/3", "2/3"], [1, 0]], [[0, 1], ["0.1", "0.9"]]], [["0.1", "-1/7"], [0, "2.5"]], "0.9"
)


def _check_against_reference(mdp, alpha):
    result = solve(mdp, alpha)
    Q, V, pi = mp_solve(mdp, alpha, dps=50)
    assert max_abs_diff(result.Q, Q) <= result.error_bound
    assert max_abs_diff(result.V, V) <= result.error_bound
    return result


@settings(max_examples=80)
@given(
    mdps(
        prior=st.booleans(), termination=st.booleans(), rewards_3d=st.booleans(), gamma=(0.0, 0.99)
    ),
    temperatures(1e-3, 1e3),
)
@example(EXTREME_SCALES, 1e-12)
@example(EXTREME_SCALES, 1.0)
@example(GAMMA_0999, 0.1)
@example(GAMMA_0999, 0.0)
@example(EXACT_TIES, 0.0)
@example(EXACT_TIES, 1e-12)
@example(PRIOR_ZEROS, 0.3)
@example(PRIOR_ZEROS, 0.0)
@example(TERMINATION, 2.0)
@example(EXACT_STRINGS, 0.5)
def test_float64_solve_is_within_its_error_bound_of_the_fifty_digit_reference(mdp, alpha):
    _check_against_reference(mdp, alpha)


@given(mdps(gamma=(0.0, 0.99), prior=st.booleans()), temperatures(1e-3, 1e3))
def test_error_bound_meets_the_target_of_1e12_relative_for_gamma_up_to_099(mdp, alpha):
    result = solve(mdp, alpha)
    assert result.error_bound <= 1e-12 * max(1.0, float(np.abs(result.Q).max()))


@given(mdps(gamma=(0.0, 0.99)), st.sampled_from(["1/10", "1/3", "0.7"]))
def test_exact_alpha_strings_are_solved_for_their_exact_value(mdp, alpha):
    from fractions import Fraction

    result = solve(mdp, alpha)
    Q, V, _ = mp_solve(mdp, Fraction(alpha), dps=50)
    assert max_abs_diff(result.Q, Q) <= result.error_bound


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()), temperatures(1e-2, 1e2)
)
def test_soft_q_iteration_and_newton_reach_the_same_fixed_point_within_their_bounds(mdp, alpha):
    newton = soft_policy_iteration(mdp, alpha)
    qi = soft_q_iteration(mdp, alpha, tol=1e-13)
    exact = solve(mdp, alpha)
    assert np.abs(newton.Q - exact.Q).max() <= newton.error_bound + exact.error_bound
    assert np.abs(qi.Q - exact.Q).max() <= qi.error_bound + exact.error_bound


@given(
    mdps(horizon=(1, 6), gamma=(0.0, 1.0), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-3, 1e3),
)
@example(FiniteMDP([[[1.0]]], [[1.0]], 1.0, horizon=3), 0.0)
def test_finite_horizon_backward_induction_is_within_its_bound_of_the_reference(mdp, alpha):
    result = solve(mdp, alpha)
    Qs, Vs, _ = mp_solve(mdp, alpha, dps=50)
    assert result.Q.shape == (mdp.horizon, mdp.num_states, mdp.num_actions)
    assert max_abs_diff(result.Q, Qs) <= result.error_bound
    assert max_abs_diff(result.V, Vs) <= result.error_bound


def test_one_state_bandit_with_gamma_one_and_horizon_three_has_value_three_times_the_soft_max():
    mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 1.0, horizon=3)
    r = solve(mdp, 1.0)
    # V_t = log(e + 1) + V_{t+1}, V_3 = 0: exactly (3 - t) * log(1 + e) (closed form).
    expected = np.log1p(np.e) * np.array([3.0, 2.0, 1.0])
    assert np.abs(r.V[:, 0] - expected).max() <= r.error_bound + 4 * 2.0**-52 * 3


def test_solvers_refuse_bad_alpha_and_horizon_mismatch():
    mdp = FiniteMDP([[[1.0]]], [[1.0]], 0.5)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        solve(mdp, -1.0)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        solve(mdp, "abc")
    with pytest.raises(InvalidMDPError, match="horizon"):
        soft_q_iteration(FiniteMDP([[[1.0]]], [[1.0]], 0.5, horizon=2), 1.0)


@pytest.mark.parametrize("alpha", [0.0, 1e-300, 1e-12, 1e12, 1e300])
def test_extreme_temperatures_are_within_their_bound_of_the_reference(alpha):
    """Q, V and the policy against the 60-digit reference (helpers.assert_matches_reference),
    with a bound of a few ulps over 1 - gamma (the ``float64_budget``); the policy sums to 1
    within its rounding, ``(A + 2) eps``."""
    mdp = FiniteMDP(
        [[[0.5, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.25, 0.75]]], [[1e8, -1e8], [0.0, 1.0]], 0.9
    )
    assert_matches_reference(mdp, alpha)
    r = solve(mdp, alpha)
    assert np.abs(r.policy.sum(axis=1) - 1).max() <= (mdp.num_actions + 2) * 2.0**-52


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-2, 1e2),
    st.sampled_from([1e-6, 1e-9, 1e-12]),
)
def test_soft_q_iteration_reaches_its_tolerance(mdp, alpha, tol):
    """The documented stopping rule ``gamma / (1 - gamma) |Q_{k+1} - Q_k| <= tol max(1, |Q|)``
    gives ``|Q - Q*| <= tol max(1, |Q|)`` (contraction: ``|Q_{k+1} - Q*| <= gamma / (1 - gamma)
    |Q_{k+1} - Q_k|``), plus the float64 rounding of the sweeps, at most
    ``(S + A + 8) eps max(|Q|, alpha) / (1 - gamma)``."""
    qi = soft_q_iteration(mdp, alpha, tol=tol)
    exact = solve(mdp, alpha)
    scale = max(1.0, float(np.abs(qi.Q).max()))
    rounding = (
        (mdp.num_states + mdp.num_actions + 8) * 2.0**-52 * max(scale, alpha) / (1 - mdp.gamma)
    )
    assert np.abs(qi.Q - exact.Q).max() <= tol * scale + rounding + exact.error_bound


@given(
    mdps(states=(1, 6), gamma=(0.0, 0.99), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-3, 1e3),
)
@example(
    FiniteMDP([[[1.0], [1.0]]], [[0.25, 0.5]], 0.5, prior=[[0.5, 0.5]]), 1000.0
)  # large alpha, |V| small: the kernel's cancellation dominates the residual's rounding
def test_certificate_residual_bounds_the_exact_residual(mdp, alpha):
    """``certify(mdp, Q).residual >= max |T Q - Q|`` with ``T Q`` evaluated exactly (40-digit
    mpmath) from the float ``Q`` near the fixed point, where the residual is all rounding."""
    from mpmath import mp

    from softq_ref.float64.bounds import certify

    Q = solve(mdp, alpha).Q
    cert = certify(mdp, Q, alpha)
    ex = mdp.exact
    S, A = mdp.num_states, mdp.num_actions
    with mp.workdps(40):
        V = []
        for s in range(S):
            avail = [a for a in range(A) if ex.prior is None or ex.prior[s, a] > 0]
            m = max(mp.mpf(float(Q[s, a])) for a in avail)
            if alpha == 0:
                V.append(m)
                continue
            w = mp.fsum(
                (
                    1
                    if ex.prior is None
                    else mp.mpf(ex.prior[s, a].numerator) / ex.prior[s, a].denominator
                )
                * mp.exp((mp.mpf(float(Q[s, a])) - m) / alpha)
                for a in avail
            )
            V.append(m + alpha * mp.log(w))
        g = mp.mpf(ex.gamma.numerator) / ex.gamma.denominator
        worst = mp.mpf(0)
        for s in range(S):
            for a in range(A):
                r = mp.mpf(ex.rewards[s, a].numerator) / ex.rewards[s, a].denominator
                pv = mp.fsum(
                    mp.mpf(ex.transitions[s, a, t].numerator)
                    / ex.transitions[s, a, t].denominator
                    * V[t]
                    for t in range(S)
                )
                worst = max(worst, abs(r + g * pv - mp.mpf(float(Q[s, a]))))
        assert worst <= cert.residual
