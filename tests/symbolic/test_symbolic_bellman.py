"""The derivations of ``softq_ref.symbolic.bellman`` (``proofs/03_soft_bellman.ipynb``):
each step holds symbolically, a wrong step is caught, and every closed form agrees with
the package's solvers on random instances.

Tolerances: ``solve``'s and ``solve_certified``'s own certified ``error_bound``, plus the
evaluation error of the closed form (``evaluate`` at ``DIGITS`` significant digits, so at
most ``10**(5 - DIGITS)`` relative, far below either bound); float64 comparisons of the
kernel with a lambdified formula allow a named rounding bound.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from softq_ref import FiniteMDP, soft_policy, soft_value, solve, solve_certified
from softq_ref.symbolic import bellman
from softq_ref.symbolic._common import DerivationError

from helpers import kernel_error_bound

DIGITS = 40  # closed forms are evaluated to this many significant digits
EPS = float(np.finfo(np.float64).eps)
U64 = EPS / 2  # unit roundoff of float64

rewards = st.floats(-10.0, 10.0, allow_nan=False, width=64)
alphas = st.floats(0.05, 10.0)
gammas = st.floats(0.0, 0.95)


@cache
def soft_value_derivation(n: int) -> bellman.SoftValueDerivation:
    return bellman.derive_soft_value(n)


@cache
def one_state(n: int) -> bellman.ClosedFormOptimum:
    return bellman.derive_one_state(n)


@cache
def cycle(n: int) -> bellman.ClosedFormOptimum:
    return bellman.derive_two_state_cycle(n)


@cache
def stay_or_leave() -> bellman.ClosedFormOptimum:
    return bellman.derive_stay_or_leave()


def _eval_allowance(cf: bellman.ClosedFormValues) -> mpmath.mpf:
    with mpmath.workdps(DIGITS + 10):
        return mpmath.mpf(10) ** (5 - DIGITS) * max(1, max(abs(x) for x in cf.Q.ravel()))


def assert_within_float_bound(d: bellman.ClosedFormOptimum, mdp, alpha) -> None:
    """``solve``'s float64 Q and V lie within its error_bound of the closed form."""
    cf = bellman.evaluate(d, mdp, alpha, digits=DIGITS)
    r = solve(mdp, alpha)
    with mpmath.workdps(DIGITS + 10):
        gap = max(bellman.max_abs_difference(r.Q, cf.Q), bellman.max_abs_difference(r.V, cf.V))
        assert gap <= r.error_bound + _eval_allowance(cf), (gap, r.error_bound)


def assert_within_certified_bound(d: bellman.ClosedFormOptimum, mdp, alpha, digits: int) -> None:
    """Every printed decimal of ``solve_certified`` lies within its bound of the closed form."""
    cf = bellman.evaluate(d, mdp, alpha, digits=digits + 20)
    c = solve_certified(mdp, alpha, digits=digits)
    with mpmath.workdps(digits + 30):
        bound = mpmath.mpf(c.error_bound.numerator) / c.error_bound.denominator
        allowance = mpmath.mpf(10) ** (-digits - 15) * max(1, max(abs(x) for x in cf.Q.ravel()))
        for key in ("Q", "V", "policy"):
            gap = bellman.max_abs_difference(c.decimals[key], getattr(cf, key), digits=digits + 30)
            assert gap <= bound + allowance, (key, gap, bound)


# --- the symbolic steps ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_soft_greedy_policy_attains_the_log_sum_exp_for_n_actions(n):
    bellman.check_soft_value(soft_value_derivation(n))


@pytest.mark.parametrize("n", [1, 3])
def test_one_state_optimum_is_the_soft_max_of_the_rewards_over_one_minus_gamma(n):
    bellman.check_one_state(one_state(n))


@pytest.mark.parametrize("n", [1, 2])
def test_two_state_cycle_optimum_solves_the_linear_system(n):
    bellman.check_two_state_cycle(cycle(n))


def test_stay_or_leave_optimum_is_the_positive_root_of_the_quadratic():
    bellman.check_stay_or_leave(stay_or_leave())


def test_a_wrong_closed_form_is_caught():
    d = one_state(2)
    wrong = dataclasses.replace(d, V=d.V * (1 + d.gamma) / 1)  # off by a factor
    with pytest.raises(DerivationError):
        bellman.check_one_state(wrong)
    d = stay_or_leave()
    r_s = d.rewards[0, 0]
    flipped = dataclasses.replace(d, policy=d.policy.subs(r_s, 2 * r_s))
    with pytest.raises(DerivationError):
        bellman.check_stay_or_leave(flipped)


def test_a_wrong_soft_value_step_is_caught():
    d = soft_value_derivation(2)
    wrong = dataclasses.replace(d, value=d.value + d.alpha)  # the missing "+1" of the seed's q
    with pytest.raises(DerivationError):
        bellman.check_soft_value(wrong)


def test_exp_log_to_pow_exposes_cancellations():
    x, c = sp.Symbol("x", positive=True), sp.Symbol("c", real=True)
    assert bellman.exp_log_to_pow(sp.exp(c * sp.log(x))) == x**c
    assert sp.simplify(bellman.exp_log_to_pow(sp.exp((c + 1) * sp.log(x))) - x * x**c) == 0


# --- the formulas against the kernel and the solvers -------------------------------------------


@given(
    q=st.lists(st.floats(-50.0, 50.0), min_size=3, max_size=3),
    mu=st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3),
    alpha=alphas,
)
@example(q=[0.0, 0.0, 0.0], mu=[1.0, 1.0, 1.0], alpha=1.0)
def test_derived_value_and_policy_agree_with_the_kernel(q, mu, alpha):
    d = soft_value_derivation(3)
    f = sp.lambdify([d.alpha, *d.qs, *d.mus], [d.value, *d.policies], modules="mpmath")
    with mpmath.workdps(30):  # the derived formulas at 30 digits, from the exact float inputs
        V, *pi = f(*map(mpmath.mpf, [alpha, *q, *mu]))
        V, pi = float(V), [float(p) for p in pi]
    got_V = soft_value(q, alpha, mu)
    # the kernel's a-priori rounding bound (helpers.kernel_error_bound), plus rounding V to float
    allowance = float(kernel_error_bound(np.array([q]), np.atleast_1d(got_V), alpha, [mu])[0])
    assert abs(float(got_V) - V) <= allowance + U64 * abs(V)
    # pi = mu exp((q - V) / alpha): the absolute error of (q - V) / alpha is at most
    # (allowance + ulp(q)) / alpha, which is the relative error of the exponential; plus the
    # rounding of exp and of the product with mu
    got = soft_policy(q, alpha, mu)
    rel = (allowance + 2 * U64 * max(map(abs, q))) / alpha + 8 * EPS
    for a in range(3):
        assert abs(got[a] - pi[a]) <= rel * pi[a] * (1 + rel) + 1e-300


@given(
    r=st.lists(rewards, min_size=1, max_size=4),
    gamma=gammas,
    alpha=alphas,
    weights=st.lists(st.floats(0.05, 2.0), min_size=4, max_size=4),
    with_prior=st.booleans(),
)
@example(r=[1.0, 0.0], gamma=0.5, alpha=1.0, weights=[1.0] * 4, with_prior=False)
def test_one_state_closed_form_is_within_solves_error_bound(r, gamma, alpha, weights, with_prior):
    prior = weights[: len(r)] if with_prior else None
    mdp = bellman.one_state_mdp(r, gamma, prior)
    assert_within_float_bound(one_state(len(r)), mdp, alpha)


@given(r=st.lists(rewards, min_size=4, max_size=4), gamma=gammas, alpha=alphas)
def test_two_state_cycle_closed_form_is_within_solves_error_bound(r, gamma, alpha):
    mdp = bellman.two_state_cycle_mdp([r[:2], r[2:]], gamma)
    assert_within_float_bound(cycle(2), mdp, alpha)


@given(r=st.lists(rewards, min_size=4, max_size=4), alpha=alphas)
@example(r=[10.0, -10.0, -10.0, -10.0], alpha=0.05)  # staying wins by far
@example(r=[-10.0, 10.0, 10.0, 10.0], alpha=0.05)  # leaving wins by far
def test_stay_or_leave_closed_form_is_within_solves_error_bound(r, alpha):
    mdp = bellman.stay_or_leave_mdp(r[0], r[1], r[2:])
    assert_within_float_bound(stay_or_leave(), mdp, alpha)


@pytest.mark.parametrize(
    ("derivation", "mdp"),
    [
        (lambda: one_state(3), lambda: bellman.one_state_mdp(["2", "-1/3", "0"], "19/20")),
        (lambda: cycle(2), lambda: bellman.two_state_cycle_mdp([["1", "0"], ["-1", "5/2"]], "0.9")),
        (lambda: stay_or_leave(), lambda: bellman.stay_or_leave_mdp("-1/4", "1/8", ["0", "1"])),
    ],
    ids=["one state", "cycle", "stay or leave"],
)
def test_closed_forms_are_within_the_certified_bound_at_50_digits(derivation, mdp):
    assert_within_certified_bound(derivation(), mdp(), "1/7", 50)


def test_evaluate_rejects_an_mdp_of_another_structure():
    with pytest.raises(DerivationError, match="does not go"):
        bellman.evaluate(cycle(2), bellman.stay_or_leave_mdp(0, 0, [0, 0]), 1)
    same_shape_other_gamma = FiniteMDP([[[1, 0], [0, 1]], [[0, 1], [0, 1]]], [[0, 0], [0, 0]], 0.9)
    with pytest.raises(DerivationError, match="gamma"):
        bellman.evaluate(stay_or_leave(), same_shape_other_gamma, 1)
    with pytest.raises(DerivationError, match="alpha > 0"):
        bellman.evaluate(one_state(2), bellman.one_state_mdp([0, 0], 0.5), 0)
