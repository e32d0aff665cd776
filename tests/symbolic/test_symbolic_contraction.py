"""The derivations of ``softq_ref.symbolic.contraction`` (``proofs/04_contraction.ipynb``):
each step holds symbolically, a wrong step is caught, and the derived facts hold for the
package's float64 functions on random inputs.

Tolerances: ``helpers.operator_rounding`` (an a-priori bound on the rounding of one
evaluation of ``T Q``), the kernel's rounding bound ``helpers.kernel_error_bound``, and the
certified ``error_bound`` of ``solve_certified``; each use says which.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cache

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref import bellman_operator, soft_policy, soft_q_iteration, soft_value, solve_certified
from softq_ref.strategies import mdps, q_tables, temperatures
from softq_ref.symbolic import contraction
from softq_ref.symbolic._common import DerivationError

from helpers import EPS, U64, kernel_error_bound, operator_rounding


@cache
def lipschitz(n: int) -> contraction.LipschitzDerivation:
    return contraction.derive_lipschitz(n)


@cache
def error_bounds() -> contraction.ErrorBounds:
    return contraction.derive_error_bounds()


@cache
def iteration_count():
    """The derived iteration count as a float function of (gamma, tol, rho_0)."""
    b = error_bounds()
    tol, rho0 = sp.Symbol("tol", positive=True), sp.Symbol("rho_0", positive=True)
    return sp.lambdify([b.gamma, tol, rho0], b.iterations_needed, modules="math")


# --- the symbolic steps ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_gradient_of_log_sum_exp_is_a_probability_vector_so_it_is_1_lipschitz(n):
    contraction.check_lipschitz(lipschitz(n))


@pytest.mark.parametrize(("S", "A"), [(1, 1), (1, 3), (2, 2), (3, 1)])
def test_jacobian_of_the_soft_bellman_operator_is_gamma_p_pi(S, A):
    contraction.check_operator_jacobian(contraction.derive_operator_jacobian(S, A))


def test_error_bounds_follow_from_the_triangle_inequality():
    contraction.check_error_bounds(error_bounds())


def test_a_wrong_gradient_is_caught():
    d = lipschitz(2)
    # the gradient without the prior weights: still positive, no longer the derivative
    Z = sum(sp.exp(q / d.alpha) for q in d.qs)
    wrong = dataclasses.replace(d, gradient=tuple(sp.exp(q / d.alpha) / Z for q in d.qs))
    with pytest.raises(DerivationError):
        contraction.check_lipschitz(wrong)


def test_a_wrong_jacobian_or_bound_is_caught():
    J = contraction.derive_operator_jacobian(1, 2)
    with pytest.raises(DerivationError):
        contraction.check_operator_jacobian(dataclasses.replace(J, claimed=J.claimed / J.gamma))
    b = error_bounds()
    g = b.gamma
    rho = sp.Symbol("rho", nonnegative=True)
    wrong = dataclasses.replace(b.a_posteriori, bound=rho / (1 + g), moved=(1 + g) * sp.Symbol("e"))
    with pytest.raises(DerivationError):
        contraction.check_error_bounds(dataclasses.replace(b, a_posteriori=wrong))


def test_a_non_contracting_inequality_is_refused():
    e, rho, g = sp.Symbol("e"), sp.Symbol("rho"), sp.Symbol("gamma", positive=True)
    with pytest.raises(DerivationError, match="not linear"):
        contraction._isolate("no information", e, rho + e, g)  # e <= rho + e says nothing
    with pytest.raises(DerivationError, match="coefficient"):
        contraction._isolate("expansion", e, rho + 2 * e, g)  # a factor 2 > 1 bounds nothing


# --- the derived facts against the package -----------------------------------------------------


finite_q = st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3)


@given(
    q=finite_q,
    mu=st.lists(st.floats(0.01, 10.0), min_size=3, max_size=3),
    alpha=temperatures(1e-2, 1e3, zero=False),
)
@example(q=[0.0, 0.0, 0.0], mu=[1.0, 1.0, 1.0], alpha=1.0)
def test_derived_gradient_is_the_kernels_soft_policy(q, mu, alpha):
    with mpmath.workdps(30):
        # the derived gradient in 30-digit arithmetic (mpmath's exp does not overflow)
        d = lipschitz(3)
        f = sp.lambdify([d.alpha, *d.qs, *d.mus], list(d.gradient), modules="mpmath")
        g = [float(x) for x in f(*map(mpmath.mpf, [alpha, *q, *mu]))]
    pi = soft_policy(q, alpha, mu)
    # pi = mu exp((q - V) / alpha): the rounding of V (kernel allowance) divided by alpha
    V = soft_value(q, alpha, mu)
    allowance = float(kernel_error_bound(np.array([q]), np.atleast_1d(V), alpha, [mu])[0])
    rel = (allowance + 4 * EPS * max(map(abs, q))) / alpha + 8 * EPS
    for a in range(3):
        assert abs(pi[a] - g[a]) <= rel * g[a] + 1e-300


@given(q1=finite_q, q2=finite_q, alpha=temperatures(1e-6, 1e4))
@example(q1=[0.0, 0.0, 0.0], q2=[1.0, 1.0, 1.0], alpha=0.0)  # a shift: equality
def test_soft_value_is_1_lipschitz_in_the_sup_norm(q1, q2, alpha):
    v1, v2 = float(soft_value(q1, alpha)), float(soft_value(q2, alpha))
    dist = max(abs(a - b) for a, b in zip(q1, q2, strict=True))
    # each value is rounded by at most the derived kernel bound (helpers.kernel_error_bound)
    rounding = sum(
        float(kernel_error_bound(np.array([q]), np.array([v]), alpha)[0])
        for q, v in ((q1, v1), (q2, v2))
    )
    assert abs(v1 - v2) <= dist * (1 + 2 * EPS) + rounding


mdp_and_q = mdps(gamma=(0.0, 0.99), prior=st.booleans(), termination=st.booleans()).flatmap(
    lambda m: st.tuples(st.just(m), q_tables(m.num_states, m.num_actions))
)


@given(mq=mdp_and_q, c=st.floats(-100.0, 100.0), alpha=temperatures(1e-3, 1e3))
def test_a_constant_shift_moves_t_q_by_gamma_times_the_row_mass(mq, c, alpha):
    """The Jacobian's row sums, ``gamma sum_s' P``, along the direction of all ones (exact)."""
    mdp, Q = mq
    diff = bellman_operator(mdp, Q + c, alpha) - bellman_operator(mdp, Q, alpha)
    expected = mdp.gamma * c * mdp.transitions.sum(axis=2)
    # both evaluations round, and Q + c itself is rounded by half an ulp of its size
    rounding = operator_rounding(mdp, Q, alpha) + operator_rounding(mdp, Q + c, alpha)
    rounding += mdp.gamma * U64 * (float(np.abs(Q).max()) + abs(c))
    assert np.abs(diff - expected).max() <= rounding


@given(
    mdp=mdps(gamma=(0.05, 0.95), prior=st.booleans()),
    alpha=temperatures(1e-2, 1e2, zero=False),
    tol=st.sampled_from([1e-4, 1e-6, 1e-8]),
)
def test_soft_q_iteration_stops_within_the_a_priori_iteration_count(mdp, alpha, tol):
    run = soft_q_iteration(mdp, alpha, tol=tol)
    rho0 = run.residuals[0]
    g = mdp.gamma
    if rho0 == 0 or g == 0:
        assert run.iterations <= 2
        return
    # the stopping test is gamma/(1-gamma) |Q_k - Q_{k-1}| <= tol * max(1, max|Q|), and
    # |Q_k - Q_{k-1}| <= gamma^(k-1) rho0: stopping is certain once k - 1 >= the derived count
    # (tol * 1 is the smallest right-hand side). Rounding of the residuals is far below tol.
    k_needed = iteration_count()(g, tol, rho0)
    assert run.iterations <= max(1, math.ceil(k_needed) + 1)
    # and the residuals decay at least like gamma^k (up to the rounding of each sweep)
    floor = operator_rounding(mdp, run.Q, alpha) * 2
    res = run.residuals
    assert all(res[k + 1] <= g * res[k] + floor for k in range(len(res) - 1))


@settings(max_examples=15)
@given(
    mdp=mdps(states=(1, 3), actions=(1, 3), gamma=(0.1, 0.9), prior=st.booleans()),
    alpha=temperatures(1e-1, 10.0, zero=False),
    k=st.integers(1, 60),
)
def test_successive_iterate_bound_holds_against_the_certified_optimum(mdp, alpha, k):
    """``|Q_k - Q*| <= (gamma |Q_k - Q_{k-1}| + rounding) / (1 - gamma)`` for float iterates."""
    run = soft_q_iteration(mdp, alpha, tol=0.0, max_iterations=k)
    exact = solve_certified(mdp, alpha, digits=25)
    with mpmath.workdps(40):
        err = max(
            abs(mpmath.mpf(x) - y) for x, y in zip(run.Q.ravel(), exact.Q.ravel(), strict=True)
        )
        err = float(err) - float(exact.error_bound)
    g = mdp.gamma
    # float iterates: Q_k = T Q_(k-1) + eps_k with |eps_k| <= operator_rounding, so
    # e_k <= gamma e_(k-1) + |eps_k| and e_(k-1) <= d_k + e_k give e_k <= (gamma d_k + |eps_k|) / (1 - gamma)
    Qprev = (
        soft_q_iteration(mdp, alpha, tol=0.0, max_iterations=k - 1).Q
        if k > 1
        else np.zeros_like(run.Q)
    )
    eps_k = operator_rounding(mdp, Qprev, alpha)
    assert err <= (g * run.residuals[-1] + eps_k) / (1 - g) * (1 + 4 * EPS)
