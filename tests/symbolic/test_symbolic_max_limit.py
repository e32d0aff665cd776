"""The max-limit and the alpha-derivative of the soft optimum (``softq_ref.symbolic.max_limit``,
notebook 05): the symbolic steps, and the derivative formula against central differences of
certified solutions on random MDPs. The sandwich ``V*_0 <= V*_alpha <= V*_0 + alpha log|A| /
(1 - gamma)`` itself is asserted on random MDPs in ``tests/test_theorems.py``."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref import FiniteMDP, policy_entropy, soft_policy
from softq_ref.strategies import mdps
from softq_ref.symbolic._common import DerivationError
from softq_ref.symbolic.max_limit import (
    alpha_derivative,
    alpha_derivative_fd,
    check_envelope,
    check_gap_recursion,
    check_value_derivative,
    derive_envelope,
    derive_gap_recursion,
    derive_value_derivative,
)


@pytest.mark.parametrize(("actions", "prior"), [(2, True), (3, False)])
def test_alpha_derivative_of_the_soft_value_at_fixed_q_is_the_entropy(actions, prior):
    check_envelope(derive_envelope(actions, prior=prior))


def test_bellman_residual_has_jacobian_i_minus_gamma_p_pi_and_alpha_derivative_minus_entropy():
    check_value_derivative(derive_value_derivative(1, 2, prior=True))


def test_gap_recursion_increases_to_alpha_log_a_over_one_minus_gamma():
    check_gap_recursion(derive_gap_recursion())


def test_checks_fail_loudly_on_a_wrong_step():
    env = derive_envelope(2, prior=False)
    wrong = type(env)(env.alpha, env.q, env.mu, env.V, env.dV_dalpha, env.policy, -env.entropy)
    with pytest.raises(DerivationError, match="H_mu"):
        check_envelope(wrong)
    gap = derive_gap_recursion()
    wrong_gap = type(gap)(
        gap.n, gap.gamma, gap.c, gap.recursion, gap.solution * gap.gamma, gap.limit, gap.slack
    )
    with pytest.raises(DerivationError, match="solve"):
        check_gap_recursion(wrong_gap)


exact_alphas = st.sampled_from(["1/20", "1/4", "1", "3"])
H = "1e-30"
DIGITS = 100
# Tolerance for |central difference - formula|. The central difference is off by the
# truncation h^2 |V'''| / 6 plus 2 * 10^-DIGITS max(1, |Q*|) / (2h) from the two certified
# solutions (= 10^-70 * max(1, |Q*|) here, and |Q*| <= 100 for these draws). V is analytic in
# alpha > 0 and each alpha-derivative of a function of Q / alpha brings a factor of order
# max|Q| / alpha^2 <= 100 / (1/20)^2 = 4e4, so |V'''| stays below about 1e14 and the
# truncation below 1e-46: the tolerance 1e-30 has a margin of more than 1e15 over both.
FD_TOLERANCE = mpmath.mpf(10) ** -30


@settings(max_examples=15)
@given(
    mdps(
        states=(1, 3),
        actions=(1, 3),
        gamma=(0.0, 0.9),
        prior=st.booleans(),
        termination=st.booleans(),
    ),
    exact_alphas,
)
@example(FiniteMDP([[[1.0], [1.0]]], [[0.0, 0.0]], 0.5), "1")
def test_alpha_derivative_of_the_optimum_is_the_discounted_entropy(mdp, alpha):
    formula = alpha_derivative(mdp, alpha, digits=DIGITS)
    fd = alpha_derivative_fd(mdp, alpha, h=H, digits=DIGITS)
    with mpmath.workdps(DIGITS):
        assert max(abs(x - y) for x, y in zip(formula, fd, strict=True)) <= FD_TOLERANCE
    # sign and size: the discounted entropy lies in [0, log|A| / (1 - gamma L)] for the
    # counting measure, L the largest row sum of the exact P (1 up to the binary rounding of
    # the float entries: 0.2 + 0.8 is 1 + 2^-54 exactly); with a probability prior it is
    # minus a discounted KL (<= 0).
    ex = mdp.exact
    gL = ex.gamma * max(sum(row) for row in ex.transitions.reshape(-1, mdp.num_states))
    with mpmath.workdps(DIGITS):
        top = mpmath.log(mdp.num_actions) / (1 - mpmath.mpf(gL.numerator) / gL.denominator)
        if mdp.prior is None:
            assert all(-FD_TOLERANCE <= x <= top + FD_TOLERANCE for x in formula)
        else:
            assert all(x <= FD_TOLERANCE for x in formula)


def test_alpha_derivative_of_a_one_state_bandit_is_log_a_over_one_minus_gamma():
    # equal rewards: pi* is uniform at every alpha, V* = (r + alpha log 2) / (1 - gamma), so the
    # derivative is log(2) / (1 - 1/2) = 2 log 2 exactly (value from mpmath.log at 40 digits).
    mdp = FiniteMDP([[[1.0], [1.0]]], [[3.0, 3.0]], 0.5)
    with mpmath.workdps(40):
        expected = 2 * mpmath.log(2)
        got = alpha_derivative(mdp, "1/3", digits=30)[0]
        assert abs(got - expected) < mpmath.mpf(10) ** -30


ENVELOPE = derive_envelope(3, prior=True)
_ENV_SYMBOLS = (ENVELOPE.alpha, *ENVELOPE.q, *ENVELOPE.mu)
DERIVATIVE = sp.lambdify(_ENV_SYMBOLS, ENVELOPE.dV_dalpha, "mpmath")
q_rows = st.lists(st.floats(-10.0, 10.0), min_size=3, max_size=3)
weights = st.lists(st.integers(1, 8), min_size=3, max_size=3)


@given(q_rows, weights, st.floats(0.1, 10.0))
@example([0.0, 0.0, 0.0], [1, 1, 1], 1.0)  # uniform prior, equal q: the derivative is 0
def test_derived_alpha_derivative_at_fixed_q_matches_policy_entropy(q, w, alpha):
    mu = np.array(w, dtype=float) / sum(w)
    with mpmath.workdps(30):
        derived = DERIVATIVE(mpmath.mpf(alpha), *map(mpmath.mpf, q), *map(mpmath.mpf, mu))
    pkg = float(policy_entropy(soft_policy(q, alpha, mu), mu))
    # The float64 policy has relative error ~ eps (|q|/alpha + 1) per entry (the rounding of
    # (q - V)/alpha inside exp), so H_mu = -sum pi log(pi/mu) is off by at most that times
    # sum pi (|log pi| + |log mu| + 1) <= log 3 + max|log mu| + 1; 16 covers the few roundings.
    scale = (2 * 10.0 / alpha + 2) * (math.log(3) + float(np.abs(np.log(mu)).max()) + 1)
    assert abs(float(derived) - pkg) <= 16 * 2.0**-52 * scale
