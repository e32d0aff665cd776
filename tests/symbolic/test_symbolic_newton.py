"""Soft policy iteration is Newton's method (``softq_ref.symbolic.newton``, notebook 06).

Symbolic identities on small symbolic MDPs; the same identities on random numeric
MDPs against the package's float64 functions; quadratic convergence with the
proven constant in high precision.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref import (
    FiniteMDP,
    evaluate_policy,
    soft_policy_iteration,
    soft_value_and_policy,
)
from softq_ref.operators import expected_next_value, policy_transitions
from softq_ref.strategies import mdps, temperatures
from softq_ref.symbolic._common import DerivationError
from softq_ref.symbolic.newton import (
    NewtonConvergence,
    check_newton,
    check_quadratic_convergence,
    derive_newton,
    newton_constant,
    newton_convergence,
)

from helpers import linear_solve_tolerance


@pytest.mark.parametrize(("states", "actions", "prior"), [(1, 3, True), (2, 2, False)])
def test_jacobian_is_identity_minus_gamma_p_pi_and_newton_step_is_policy_evaluation(
    states, actions, prior
):
    check_newton(derive_newton(states, actions, prior=prior))


def test_check_newton_fails_loudly_on_a_wrong_jacobian():
    d = derive_newton(1, 2, prior=False)
    m = d.mdp
    wrong = type(d)(
        d.mdp,
        d.F,
        d.jacobian,
        d.jacobian_claimed + m.gamma * m.P_pi,  # the claim without the policy term
        d.newton_rhs,
        d.evaluation_rhs,
        d.policy_gibbs,
    )
    with pytest.raises(DerivationError, match="Jacobian"):
        check_newton(wrong)


def _rhs_scale(mdp: FiniteMDP, V: np.ndarray, TV: np.ndarray, alpha: float) -> float:
    """Size of the terms of either right-hand side: R, V, TV and alpha times the entropy range."""
    log_mu = 0.0
    if mdp.prior is not None:
        log_mu = float(np.abs(np.log(mdp.prior[mdp.prior > 0])).max())
    ent = alpha * (math.log(mdp.num_actions) + log_mu)
    return max(
        float(np.abs(mdp.rewards).max()), float(np.abs(V).max()), float(np.abs(TV).max()), ent
    )


values = st.lists(st.floats(-50, 50, allow_nan=False), min_size=4, max_size=4)


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-2, 1e2, zero=False),
    values,
)
@example(FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5), 1.0, [0.0] * 4)
def test_newton_step_equals_soft_evaluation_of_the_soft_greedy_policy(mdp, alpha, v):
    V = np.array(v[: mdp.num_states])
    Q_V = mdp.rewards + mdp.gamma * expected_next_value(mdp, V)
    TV, pi = soft_value_and_policy(Q_V, alpha, mdp.prior)
    J = np.eye(mdp.num_states) - mdp.gamma * policy_transitions(mdp, pi)
    V_newton = V + np.linalg.solve(J, TV - V)
    ev = evaluate_policy(mdp, pi, alpha)
    # Both are one LU solve with the same matrix; the right-hand sides TV - gamma P_pi V and
    # r_pi + alpha H_mu(pi) are equal in exact arithmetic and rounded at the scale of their terms.
    tol = linear_solve_tolerance(mdp, _rhs_scale(mdp, V, TV, alpha) + float(np.abs(ev.V).max()))
    assert np.abs(V_newton - ev.V).max() <= tol
    # soft_policy_iteration with one linear solve takes exactly this step.
    one = soft_policy_iteration(mdp, alpha, max_iterations=1, V0=V)
    Q_newton = mdp.rewards + mdp.gamma * expected_next_value(mdp, V_newton)
    assert np.abs(one.Q - Q_newton).max() <= 2 * tol


def test_newton_constant_is_gamma_squared_over_two_alpha_one_minus_gamma():
    assert newton_constant("1/2", "9/10") == Fraction(81, 100) / (2 * Fraction(1, 2) / 10)
    assert newton_constant(1, 0) == 0


exact_alphas = st.sampled_from(["1/20", "1/4", "1", "3", "10"])


@settings(max_examples=12)
@given(
    mdps(states=(1, 3), actions=(1, 3), gamma=(0.0, 0.9), termination=st.booleans()), exact_alphas
)
@example(FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5), "1")
def test_newton_errors_square_with_the_proven_constant(mdp, alpha):
    run = newton_convergence(mdp, alpha, dps=40)
    check_quadratic_convergence(run)  # e_(k+1) <= C e_k^2 + floor at every step


def test_check_quadratic_convergence_fails_loudly_when_errors_do_not_square():
    # errors halving each step (linear convergence) violate e_(k+1) <= C e_k^2 once e_k < 1/(2C)
    errors = tuple(mpmath.mpf(2) ** -k for k in range(20))
    run = NewtonConvergence((), errors, constant=Fraction(1), floor=mpmath.mpf(0), dps=10)
    with pytest.raises(DerivationError, match="step"):
        check_quadratic_convergence(run)


JAC = derive_newton(2, 2, prior=True)
_M = JAC.mdp
_JAC_SYMBOLS = (
    _M.alpha,
    _M.gamma,
    *_M.V,
    *_M.R,
    *_M.mu,
    *(p for P_s in _M.P for p in P_s),
)
JACOBIAN = sp.lambdify(_JAC_SYMBOLS, JAC.jacobian, "mpmath")


@given(
    mdps(states=2, actions=2, gamma=(0.0, 0.95), prior=True, prior_zeros=False),
    temperatures(1e-2, 1e2, zero=False),
    st.lists(st.floats(-50, 50), min_size=2, max_size=2),
)
def test_derived_jacobian_at_numbers_matches_identity_minus_gamma_p_pi(mdp, alpha, v):
    V = np.array(v)
    args = [alpha, mdp.gamma, *V, *mdp.rewards.ravel(), *mdp.prior.ravel()]
    args += list(mdp.transitions.ravel())  # P[s][a, s'] in the order of _JAC_SYMBOLS
    with mpmath.workdps(30):
        derived = np.array(JACOBIAN(*map(mpmath.mpf, args)).tolist(), dtype=float)
    Q_V = mdp.rewards + mdp.gamma * expected_next_value(mdp, V)
    pi = soft_value_and_policy(Q_V, alpha, mdp.prior)[1]
    pkg = np.eye(2) - mdp.gamma * policy_transitions(mdp, pi)
    # entries of gamma P_pi are at most 1; the float64 policy has relative error about
    # eps (|Q_V|/alpha + 1) from the rounding of (Q - V)/alpha inside exp
    q_scale = float(np.abs(Q_V).max()) / alpha + 1
    assert np.abs(derived - pkg).max() <= 16 * 2.0**-52 * q_scale
