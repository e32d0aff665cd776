"""The float64 solvers against an independent 50-digit reference, and their bounds."""

from __future__ import annotations

from fractions import Fraction

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
    assert result.success, result.message
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


# Issue 12, "Bounds that fail": each reproducer pinned.


def _exact_q_single_state(reward, gamma):
    """``Q* = R / (1 - gamma)`` for one state, one action, as an exact Fraction."""
    return Fraction(reward) / (1 - Fraction(gamma))


@pytest.mark.parametrize(
    ("reward", "gamma"), [(1e-320, 0.3), ("1e-320", "0.3"), (5e-324, 0.5), (3 * 2.0**-1074, 0.9)]
)
def test_subnormal_rewards_get_a_positive_bound_that_covers_the_error(reward, gamma):
    # issue 12, finding 3: the products and the residual underflow; a bound of 0 must mean exact
    mdp = FiniteMDP([[[1.0]]], [[reward]], gamma)
    r = solve(mdp, 0.0)
    err = abs(Fraction(float(r.Q[0, 0])) - _exact_q_single_state(reward, gamma))
    assert err <= Fraction(r.error_bound)
    assert err == 0 or r.error_bound > 0


def test_subnormal_products_in_the_pv_sum_are_in_the_bound():
    # The Coq/Flocq finding (proofs/coq/Rounding.v, dot_error): S = 8, P = 1/8 everywhere,
    # R = 3 * 2**-1074, gamma = 1/2: Q* = 6 * 2**-1074 and every term of P V is subnormal.
    S = 8
    mdp = FiniteMDP(np.full((S, 1, S), 1 / 8), np.full((S, 1), 3 * 2.0**-1074), 0.5)
    r = solve(mdp, 0.0)
    exact = Fraction(6) * Fraction(2) ** -1074
    err = max(abs(Fraction(float(q)) - exact) for q in r.Q.ravel())
    assert err <= Fraction(r.error_bound)
    assert err == 0 or r.error_bound > 0


def test_a_refinement_that_diverges_falls_back_to_a_fresh_newton_matrix():
    # issue 12, finding 5: float64 Newton stops one step early with the wrong policy; the
    # refinement with its matrix diverged (Q[1, 1] = 199980007, truth 89991.0007).
    g = 0.9999
    mdp = FiniteMDP([[[1, 0], [1, 0]], [[1, 0], [0, 1]]], [[9, 2], [2, 7]], g)
    r = solve(mdp, 0.0)
    Q, V, _ = mp_solve(mdp, 0.0, dps=50)
    assert max_abs_diff(r.Q, Q) <= r.error_bound
    assert max_abs_diff(r.V, V) <= r.error_bound
    # A float64 answer: a residual of at most 64 ulps of max|Q*| ~ 9e4, amplified by the
    # contraction's 1 / (1 - gamma) = 1e4; the diverged answer had a bound of 2e8.
    assert r.error_bound <= 64 * 2.0**-52 * 9e4 / (1 - g)
    assert r.error_bound <= soft_policy_iteration(mdp, 0.0).error_bound * 16


# findings 1 and 2: an exact prior's float64 rounding (normal: U64 relative; subnormal: far more)
@pytest.mark.parametrize(
    ("mdp", "alpha"),
    [
        (FiniteMDP([[[1], [1]]], [[0, 0]], 0, prior=[["1/3", "1/3"]]), 1),  # was 9.6x too small
        (FiniteMDP([[[1], [1]]], [[740, 0]], 0, prior=[["3e-320", "1"]]), 1),
        (FiniteMDP([[[1], [1]]], [[740, 0]], 0.99, prior=[["3e-320", "1"]]), 1),
        (FiniteMDP([[[1], [1]]], [[740, 0]], 0, prior=[[3e-320, 1]]), 1),  # a float: exact
    ],
)
def test_the_rounding_of_an_exact_prior_is_in_the_bound(mdp, alpha):
    _check_against_reference(mdp, alpha)


def test_a_prior_that_underflows_to_zero_is_refused_not_made_unavailable():
    # finding 2: "1e-400" became 0.0 and the action silently unavailable (V = 0, V* = 0.079)
    with pytest.raises(InvalidMDPError, match=r"prior\[0, 0\] is 1e-400; it is positive but"):
        FiniteMDP([[[1], [1]]], [["1", "0"]], 0, prior=[["1e-400", "1"]])


# finding 4: near the float64 limit the bound is a number (it was NaN), and solve is right
NEAR_LIMIT = FiniteMDP(
    [[[0.5, 0.5], [1, 0]], [[0, 1], [0.5, 0.5]]], [[1e299, 7e299], [3e299, 2e299]], 0.9999
)


@pytest.mark.parametrize(
    ("mdp", "alpha"),
    [(FiniteMDP([[[1.0]]], [[1e307]], 0.9), 0.0), (NEAR_LIMIT, 0.0), (NEAR_LIMIT, 1e299)],
)
def test_values_near_the_float64_limit_get_a_finite_bound_that_holds(mdp, alpha):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings from inside NumPy either
        result = _check_against_reference(mdp, alpha)
    assert np.isfinite(result.error_bound)
    # float64 accuracy: a residual of a few dozen ulps of max|Q*|, times 1 / (1 - gamma)
    scale = float(np.abs(result.Q).max())
    assert result.error_bound <= 64 * 2.0**-52 * scale / (1 - mdp.gamma)


def test_values_beyond_the_float64_range_are_refused_with_a_message_that_says_so():
    # finding 11: it blamed "Q[0, 0] is nan" after a RuntimeWarning
    import warnings

    mdp = FiniteMDP([[[1.0]]], [[1e308]], 0.5)
    for solver in (solve, soft_policy_iteration, soft_q_iteration):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(InvalidMDPError, match="the solution leaves the float64 range"):
                solver(mdp, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidMDPError, match="the solution leaves the float64 range"):
            solve(FiniteMDP([[[1.0]]], [[1e308]], 1.0, horizon=3), 0.0)


# --- Result objects (issue 15, point 1): success, status, message, honest counts, short repr.

FROZEN_LAKE_LIKE = FiniteMDP(
    [[[0.9, 0.1, 0.0], [0.1, 0.0, 0.9]], [[0.0, 0.9, 0.1], [0.5, 0.0, 0.5]], [[0.0, 0.0, 1.0]] * 2],
    [[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]],
    0.99,
)


def test_soft_q_iteration_cut_short_says_it_did_not_converge():
    r = soft_q_iteration(FROZEN_LAKE_LIKE, 0.1, max_iterations=10)
    assert r.success is False and r.status == 1
    assert r.iterations == 10 == len(r.residuals)
    assert r.message.startswith("did not converge: max_iterations=10")
    assert f"{r.error_bound:.3g}" in r.message


def test_converged_solvers_say_so_and_count_what_max_iterations_limits():
    q = soft_q_iteration(FROZEN_LAKE_LIKE, 0.1)
    assert q.success and q.status == 0 and q.message.startswith("converged after")
    assert q.iterations == len(q.residuals) and q.refinement_steps == 0
    n = soft_policy_iteration(FROZEN_LAKE_LIKE, 0.1)
    assert (
        n.success and n.status == 0 and n.message == f"converged after {n.iterations} Newton steps"
    )
    s = solve(FROZEN_LAKE_LIKE, 0.1)
    assert s.success and s.status == 0 and s.message.startswith("converged after")
    assert f"{s.iterations} Newton steps and {s.refinement_steps} refinement step" in s.message
    h = solve(FiniteMDP([[[1.0]]], [[1.0]], 1.0, horizon=4), 0.5)
    assert h.success and h.status == 0 and h.iterations == 4 and "horizon" in h.message


@pytest.mark.parametrize("max_iterations", [1, 2])
def test_solve_never_reports_more_newton_steps_than_max_iterations(max_iterations):
    r = solve(FROZEN_LAKE_LIKE, 0.1, max_iterations=max_iterations)
    assert r.iterations <= max_iterations
    if not r.success:
        assert r.status == 1 and f"max_iterations={max_iterations}" in r.message
    # Converged or not, the bound holds (the 50-digit reference).
    Q, _, _ = mp_solve(FROZEN_LAKE_LIKE, 0.1, dps=50)
    assert max_abs_diff(r.Q, Q) <= r.error_bound


def test_solve_with_one_newton_step_on_frozen_lake_does_not_claim_success():
    from softq_ref.io import frozen_lake  # gymnasium is in the test extra

    r = solve(frozen_lake(gamma=0.99), 0.1, max_iterations=1)
    assert r.success is False and r.iterations == 1 and r.status == 1


def test_soft_policy_iteration_cut_short_says_so():
    r = soft_policy_iteration(FROZEN_LAKE_LIKE, 0.1, max_iterations=1)
    assert r.success is False and r.status == 1 and r.iterations == 1
    assert r.message.startswith("did not converge: max_iterations=1 Newton steps reached")


def test_the_repr_of_a_result_is_short_and_shows_shapes_not_arrays():
    mdp = FiniteMDP(np.full((40, 3, 40), 1 / 40), np.arange(120.0).reshape(40, 3), 0.9)
    r = solve(mdp, 0.1)
    text = repr(r)
    assert len(text) < 600 and "\n" not in text
    assert text.startswith("SolveResult(success=True, status=0, message='converged")
    assert "Q=array(shape=(40, 3), dtype=float64)" in text
    assert "V=array(shape=(40,), dtype=float64)" in text
    assert str(float(r.Q[0, 0])) not in text


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
