"""The theory, asserted on random MDPs: docs/conventions.md section 1's facts and Theorems 1-3 of
Haarnoja et al. (2017). Every tolerance is a certified bound (``error_bound``), an
a-priori rounding bound (``tests/helpers.py``) or a named conditioning bound."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, example, given
from hypothesis import strategies as st
from mpmath import mp

from softq_ref import (
    FiniteMDP,
    bellman_operator,
    evaluate_policy,
    policy_operator,
    soft_policy,
    soft_q_iteration,
    solve,
)
from softq_ref.strategies import mdps, q_tables, sizes, temperatures

from helpers import EPS, U64, linear_solve_tolerance, operator_rounding
from mp_reference import mp_solve, reference_error

mdp_and_two_q = mdps(gamma=(0.0, 0.99), prior=st.booleans(), termination=st.booleans()).flatmap(
    lambda m: st.tuples(
        st.just(m), q_tables(m.num_states, m.num_actions), q_tables(m.num_states, m.num_actions)
    )
)


@given(mdp_and_two_q, temperatures(1e-3, 1e3))
def test_soft_bellman_operator_is_a_gamma_contraction(mq, alpha):
    mdp, Q1, Q2 = mq
    d = float(np.abs(bellman_operator(mdp, Q1, alpha) - bellman_operator(mdp, Q2, alpha)).max())
    rows = float(mdp.transitions.sum(axis=2).max())
    rounding = operator_rounding(mdp, Q1, alpha) + operator_rounding(mdp, Q2, alpha)
    assert d <= mdp.gamma * rows * float(np.abs(Q1 - Q2).max()) * (1 + 4 * EPS) + rounding


@given(mdp_and_two_q, temperatures(1e-3, 1e3))
def test_a_posteriori_bound_holds_for_any_q_table(mq, alpha):
    mdp, Q, _ = mq
    exact = solve(mdp, alpha)
    resid = float(np.abs(bellman_operator(mdp, Q, alpha) - Q).max())
    resid += operator_rounding(mdp, Q, alpha)
    err = float(np.abs(Q - exact.Q).max())
    assert err <= resid / (1 - mdp.gamma) * (1 + 4 * EPS) + exact.error_bound


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()), temperatures(1e-3, 1e3)
)
def test_theorem_1_optimal_policy_sums_to_one_and_is_the_prior_times_exp_of_q_minus_v(mdp, alpha):
    r = solve(mdp, alpha)
    A = mdp.num_actions
    assert np.abs(r.policy.sum(axis=1) - 1).max() <= (A + 2) * EPS
    Q, V, pi = mp_solve(mdp, alpha, dps=40)
    pi_ref = np.array([[float(p) for p in row] for row in pi])
    # the float policy is the kernel applied to r.Q: (A + 8) eps of rounding, and
    # |Q - Q*|, |V - V*| <= error_bound move pi_a by at most pi_a * 2 bound / alpha (alpha > 0);
    # for alpha = 0 both are uniform over the same exact argmax set unless the bound blurs it.
    if alpha > 0:
        tol = (A + 8) * EPS + pi_ref * (np.expm1(2 * r.error_bound / alpha))
        assert np.all(np.abs(r.policy - pi_ref) <= tol)


@given(
    mdps(gamma=(0.0, 0.99), prior=st.booleans(), termination=st.booleans()), temperatures(1e-3, 1e3)
)
def test_theorem_2_solution_satisfies_the_soft_bellman_equation(mdp, alpha):
    r = solve(mdp, alpha)
    resid = float(np.abs(bellman_operator(mdp, r.Q, alpha) - r.Q).max())
    # T Q - Q = (T Q - T Q*) + (Q* - Q): at most (gamma * rows + 1) * bound, plus T's rounding
    rows = float(mdp.transitions.sum(axis=2).max())
    bound = (1 + mdp.gamma * rows) * r.error_bound + operator_rounding(mdp, r.Q, alpha)
    assert resid <= bound


@given(mdps(gamma=(0.3, 0.95), termination=st.booleans()), temperatures(1e-2, 1e2))
def test_theorem_3_soft_q_iteration_converges_at_rate_gamma_to_the_power_k(mdp, alpha):
    qi = soft_q_iteration(mdp, alpha, tol=1e-13)
    exact = solve(mdp, alpha)
    deltas = np.array(qi.residuals)
    L = mdp.gamma * float(mdp.transitions.sum(axis=2).max()) * (1 + 4 * EPS)
    # |Q_{k+1} - Q_k| <= L^k |Q_1 - Q_0| + 2 rho / (1 - L), rho the rounding of one sweep
    scale = float(np.abs(exact.Q).max()) + 1
    rho = operator_rounding(mdp, exact.Q, alpha) * 2 + 4 * U64 * scale
    k = np.arange(len(deltas))
    assert np.all(deltas <= L**k * deltas[0] + 2 * rho / (1 - L))
    assert np.abs(qi.Q - exact.Q).max() <= qi.error_bound + exact.error_bound


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()), temperatures(1e-3, 1e3)
)
def test_value_of_the_optimal_policy_is_the_optimal_value(mdp, alpha):
    r = solve(mdp, alpha)
    ev = evaluate_policy(mdp, r.policy, alpha)
    # V* - V^pi_hat <= 2 gamma bound / (1 - gamma) for pi_hat soft-greedy w.r.t. Q_hat with
    # |Q_hat - Q*| <= bound (soft performance-difference lemma), plus the solve's rounding.
    g = mdp.gamma
    scale = float(np.abs(r.V).max())
    tol = 2 * r.error_bound / (1 - g) + r.error_bound + linear_solve_tolerance(mdp, scale)
    tol += (mdp.num_actions + 8) * EPS * mdp.num_actions * (scale + alpha * 40) / (1 - g)
    assert np.abs(ev.V - r.V).max() <= tol


@given(mdps(gamma=(0.0, 0.95), prior=st.booleans()), temperatures(1e-3, 1e3))
def test_soft_policy_iteration_improves_monotonically(mdp, alpha):
    S, A = mdp.num_states, mdp.num_actions
    pi = (
        mdp.prior / mdp.prior.sum(1, keepdims=True)
        if mdp.prior is not None
        else np.full((S, A), 1 / A)
    )
    prev = evaluate_policy(mdp, pi, alpha)
    for _ in range(6):
        pi = soft_policy(prev.Q, alpha, mdp.prior)
        cur = evaluate_policy(mdp, pi, alpha)
        tol = 2 * linear_solve_tolerance(mdp, float(np.abs(cur.Q).max()))
        assert np.all(cur.Q >= prev.Q - tol)
        prev = cur


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()), temperatures(1e-3, 1e3)
)
def test_policy_operator_of_the_soft_greedy_policy_is_the_optimality_operator(mdp, alpha):
    r = solve(mdp, alpha)
    a = policy_operator(mdp, r.Q, r.policy, alpha)
    b = bellman_operator(mdp, r.Q, alpha)
    # sum pi Q + alpha H(pi) = V for soft-greedy pi; rounding of pi ((A+8) eps each) times
    # |Q - V| + alpha |log pi| (|log pi| <= 40 where pi > 1e-17; tinier pi add < 1e-15 alpha)
    A = mdp.num_actions
    tol = mdp.gamma * (A + 8) * EPS * A * (2 * float(np.abs(r.Q).max()) + alpha * 40)
    assert np.abs(a - b).max() <= tol + 2 * operator_rounding(mdp, r.Q, alpha)


@given(
    mdps(gamma=(0.0, 0.95), states=sizes(1, 12)),
    temperatures(1e-12, 1e2, zero=False),
    temperatures(1e-12, 1e2, zero=False),
)
@example(FiniteMDP([[[1.0], [1.0]]], [[1.0, 1.0]], 0.5), 1e-12, 1e-12)  # V*_a = 2 + 2 a log 2
def test_max_limit_bounds_and_monotonicity_in_alpha(mdp, a1, a2):
    lo, hi = sorted((a1, a2))
    r_lo, r_hi = solve(mdp, lo), solve(mdp, hi)
    # the hard side from the independent reference (exact ties, no float64 solver)
    _, v0, _ = mp_solve(mdp, 0, dps=30, start=r_lo.V)
    hard = np.array([float(v) for v in v0])
    g, logA = mdp.gamma, math.log(mdp.num_actions)
    ref = reference_error(mdp, hard, 30) + U64 * float(np.abs(hard).max())  # float(v0) rounds
    b = r_lo.error_bound + r_hi.error_bound
    # V*_0 <= V*_alpha <= V*_0 + alpha log A / (1 - gamma)   (docs/conventions.md section 1)
    assert np.all(hard <= r_lo.V + r_lo.error_bound + ref)
    assert np.all(r_lo.V <= hard + lo * logA / (1 - g) * (1 + 4 * EPS) + r_lo.error_bound + ref)
    # V*_alpha is non-decreasing in alpha with the counting measure
    assert np.all(r_lo.V <= r_hi.V + b)
    # where every action of a state is the same (one action, or the example), the upper end
    # is attained: V*_alpha = V*_0 + alpha log A / (1 - gamma) exactly
    if mdp.num_actions == 1 or (mdp.num_states == 1 and np.all(mdp.rewards == mdp.rewards[0, 0])):
        want = hard + lo * logA / (1 - g)
        assert np.all(np.abs(r_lo.V - want) <= r_lo.error_bound + ref + 4 * U64 * np.abs(want))


@given(
    mdps(gamma=(0.0, 0.95), prior=True, prior_zeros=True),
    st.floats(1e-3, 1e2),
    st.floats(1e-3, 1e2),
)
def test_with_a_probability_prior_the_optimal_value_is_non_increasing_in_alpha(mdp, a1, a2):
    lo, hi = sorted((a1, a2))
    r_lo, r_hi = solve(mdp, lo), solve(mdp, hi)
    # dV*/dalpha = -KL(pi || mu) (discounted) <= 0 when every prior row sums to exactly 1.
    # A float64 row normalised by division may sum to 1 + a few ulps (exact binary sum); then
    # mu = c * (probability vector) with log c = log sum mu > 0, which adds at most
    # alpha * max(log c) / (1 - gamma) to V*_alpha (Hypothesis found such a row: 1 + 2^-54).
    excess = max(float(sum(row) - 1) for row in mdp.exact.prior)  # exact: float sums hide it
    log_c = max(0.0, math.log1p(excess))
    slack = (hi - lo) * log_c / (1 - mdp.gamma) * (1 + 4 * EPS)
    assert np.all(r_hi.V <= r_lo.V + slack + r_lo.error_bound + r_hi.error_bound)


@given(mdps(gamma=(0.0, 0.9), actions=(2, 3)))
def test_optimal_policy_concentrates_on_the_hard_argmax_as_alpha_tends_to_zero(mdp):
    hard = solve(mdp, 0.0)
    Q0 = hard.Q
    best = Q0.max(axis=1, keepdims=True)
    in_argmax = Q0 >= best - 2 * hard.error_bound
    others = np.where(in_argmax, -np.inf, Q0)
    gap = float((best[:, 0] - others.max(axis=1)).min())
    assume(np.isfinite(gap) and gap > 1e-6)
    g, A = mdp.gamma, mdp.num_actions
    for alpha in (gap / 10, gap / 40):
        pi = solve(mdp, alpha).policy
        off = np.where(in_argmax, 0.0, pi).sum(axis=1)
        # Q*_alpha - Q*_0 in [0, gamma alpha log A / (1 - gamma)], so the off-argmax mass is at
        # most (A - 1) exp(-gap / alpha + gamma log A / (1 - gamma)) (plus kernel rounding)
        bound = (A - 1) * math.exp(-gap / alpha + g * math.log(A) / (1 - g)) + (A + 8) * EPS
        assert np.all(off <= bound)


@given(mdps(gamma=(0.0, 0.95), actions=(1, 3)))
@example(
    FiniteMDP([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]], [[1.0, 1.0], [0.0, 2.0]], 0.9)
)
def test_alpha_zero_agrees_with_hard_policy_iteration(mdp):
    r = solve(mdp, 0.0)
    S = mdp.num_states
    # Howard's policy iteration with deterministic greedy policies, written independently here
    pol = np.zeros(S, dtype=int)
    for _ in range(100):
        Pp = mdp.transitions[np.arange(S), pol]
        V = np.linalg.solve(np.eye(S) - mdp.gamma * Pp, mdp.rewards[np.arange(S), pol])
        Q = mdp.rewards + mdp.gamma * mdp.transitions @ V
        tol = linear_solve_tolerance(mdp, float(np.abs(Q).max()))
        new = np.where(Q[np.arange(S), pol] >= Q.max(axis=1) - tol, pol, Q.argmax(axis=1))
        if np.array_equal(new, pol):
            break
        pol = new
    assert np.abs(r.Q - Q).max() <= r.error_bound + 2 * linear_solve_tolerance(
        mdp, float(np.abs(Q).max())
    )


@given(mdps(gamma=(0.0, 0.95)), temperatures(1e-3, 1e3), st.integers(-40, 40))
def test_adding_c_to_every_reward_adds_c_over_one_minus_gamma(mdp, alpha, c):
    shifted = FiniteMDP(mdp.transitions, mdp.rewards + c, mdp.gamma)
    r, s = solve(mdp, alpha), solve(shifted, alpha)
    # R + c is rounded once per entry: a perturbation of at most U64 |R + c| per step
    rounding = U64 * float(np.abs(mdp.rewards + c).max()) / (1 - mdp.gamma)
    c_term = c / (1 - mdp.gamma)
    tol = r.error_bound + s.error_bound + rounding + 2 * U64 * abs(c_term)
    assert np.abs(s.Q - (r.Q + c_term)).max() <= tol


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-3, 1e3),
    st.integers(-8, 8),
)
def test_scaling_rewards_and_alpha_by_a_power_of_two_scales_q_within_the_bounds_alone(
    mdp, alpha, j
):
    k = 2.0**j
    scaled = FiniteMDP(
        mdp.transitions, mdp.rewards * k, mdp.gamma, prior=mdp.prior, termination=mdp.termination
    )
    r, s = solve(mdp, alpha), solve(scaled, alpha * k)
    # scaling by 2^j is exact in binary floating point (R * k, alpha * k and k * Q are exact),
    # so Q*' = k Q* holds exactly and only the two certified bounds separate the answers.
    # (Not bitwise: the solver's stopping tests use max(1, |V|), which is not scale-free.)
    assert np.abs(s.Q - r.Q * k).max() <= k * r.error_bound + s.error_bound


@given(mdps(gamma=(0.0, 0.95)), temperatures(1e-3, 1e3), st.floats(0.1, 10.0))
def test_scaling_rewards_and_alpha_by_k_scales_q_by_k(mdp, alpha, k):
    scaled = FiniteMDP(mdp.transitions, mdp.rewards * k, mdp.gamma)
    r, s = solve(mdp, alpha), solve(scaled, alpha * k)
    rounding = U64 * float(np.abs(mdp.rewards * k).max()) / (1 - mdp.gamma)
    alpha_rounding = U64 * alpha * k * math.log(mdp.num_actions) / (1 - mdp.gamma)
    tol = k * r.error_bound * (1 + 2 * U64) + s.error_bound + rounding + alpha_rounding
    tol += U64 * k * float(np.abs(r.Q).max())
    assert np.abs(s.Q - k * r.Q).max() <= tol


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-3, 1e3),
    st.randoms(use_true_random=False),
)
def test_permuting_states_and_actions_permutes_the_answer(mdp, alpha, rnd):
    S, A = mdp.num_states, mdp.num_actions
    ps, pa = list(range(S)), list(range(A))
    rnd.shuffle(ps)
    rnd.shuffle(pa)
    ps, pa = np.array(ps), np.array(pa)
    P = mdp.transitions[ps][:, pa][:, :, ps]
    mu = None if mdp.prior is None else mdp.prior[ps][:, pa]
    perm = FiniteMDP(P, mdp.rewards[ps][:, pa], mdp.gamma, prior=mu, termination=mdp.termination)
    r, s = solve(mdp, alpha), solve(perm, alpha)
    assert np.abs(s.Q - r.Q[ps][:, pa]).max() <= r.error_bound + s.error_bound
    assert np.abs(s.V - r.V[ps]).max() <= r.error_bound + s.error_bound


@given(mdps(gamma=(0.0, 0.95), prior=st.booleans(), states=sizes(1, 12)), temperatures(1e-3, 1e3))
def test_soft_value_of_optimal_q_is_optimal_v(mdp, alpha):
    """``V* = V_{Q*}``: the returned ``V`` against the soft value of the returned ``Q``
    computed independently in 40-digit mpmath. ``|V - V*| <= B`` and
    ``|V_Q - V_{Q*}| <= |Q - Q*| <= B`` (the log-sum-exp is 1-Lipschitz), so they differ
    by at most ``2 B``."""
    r = solve(mdp, alpha)
    mu = mdp.prior
    with mp.workdps(40):
        for s in range(mdp.num_states):
            avail = [a for a in range(mdp.num_actions) if mu is None or mu[s, a] > 0]
            m = max(mp.mpf(float(r.Q[s, a])) for a in avail)
            v_q = m
            if alpha > 0:
                w = [
                    (1 if mu is None else mp.mpf(float(mu[s, a])))
                    * mp.exp((mp.mpf(float(r.Q[s, a])) - m) / alpha)
                    for a in avail
                ]
                v_q = m + alpha * mp.log(mp.fsum(w))
            assert abs(float(r.V[s]) - v_q) <= 2 * r.error_bound + 1e-35 * max(1, abs(v_q))
