"""Quadratic Q on the real line (``softq_ref.symbolic.gaussian``, notebook 07): the symbolic
steps, and the derived closed forms against ``softq_ref.continuous`` on random parameters."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from softq_ref.continuous import (
    box_quadratic_soft_value,
    continuous_soft_value,
    gaussian_prior_soft_policy,
    quadratic_soft_value,
)
from softq_ref.symbolic._common import DerivationError
from softq_ref.symbolic.gaussian import (
    check_box,
    check_gaussian,
    check_gaussian_prior,
    derive_box,
    derive_gaussian,
    derive_gaussian_prior,
)

GAUSS = derive_gaussian()
BOX = derive_box()
PRIOR = derive_gaussian_prior()
EPS = 2.0**-52

ks = st.floats(0.05, 20.0)
ms = st.floats(-5.0, 5.0)
cs = st.floats(-10.0, 10.0)
alphas = st.floats(0.01, 10.0)


def test_gaussian_integral_policy_moments_and_gibbs_identity_hold_symbolically():
    check_gaussian(GAUSS)


def test_interval_integral_is_the_error_function_form():
    check_box(BOX)


def test_gaussian_prior_gives_a_gaussian_policy_with_variance_alpha_over_k_plus_alpha_over_s0_sq():
    check_gaussian_prior(PRIOR)


def test_check_gaussian_fails_loudly_on_a_wrong_variance():
    wrong = type(GAUSS)(**{**GAUSS.__dict__, "variance": 2 * GAUSS.variance})
    with pytest.raises(DerivationError, match="variance"):
        check_gaussian(wrong)


def _mp(expr: sp.Expr, values: dict[sp.Symbol, float]) -> mpmath.mpf:
    """``expr`` at the exact binary values of ``values``, evaluated to 40 digits."""
    exact = {s: sp.Rational(v) for s, v in values.items()}
    return mpmath.mpf(str(sp.N(expr.xreplace(exact), 40)))


@settings(max_examples=25)
@given(ks, ms, cs, alphas)
@example(1.0, 0.0, 0.0, 1.0)  # V = log sqrt(2 pi)
def test_derived_soft_value_matches_quadratic_soft_value_to_28_digits(k, m, c, alpha):
    d = GAUSS
    with mpmath.workdps(40):
        derived = _mp(d.V_claimed, {d.k: k, d.m: m, d.c: c, d.alpha: alpha})
        # both evaluate the same closed form from the same exact inputs at >= 30 digits
        assert abs(derived - quadratic_soft_value([[k]], [m], c, alpha, digits=30)) <= (
            mpmath.mpf(10) ** -28 * max(1, abs(derived))
        )


@settings(max_examples=8)
@given(ks, ms, cs, alphas)
def test_derived_soft_value_matches_the_quadrature_within_its_estimate(k, m, c, alpha):
    d = GAUSS
    sd = (alpha / k) ** 0.5
    with mpmath.workdps(40):
        derived = _mp(d.V_claimed, {d.k: k, d.m: m, d.c: c, d.alpha: alpha})
        K, M, C = mpmath.mpf(k), mpmath.mpf(m), mpmath.mpf(c)
        quad = continuous_soft_value(
            lambda a: -K / 2 * (a - M) ** 2 + C, alpha, m - 40 * sd, m + 40 * sd, digits=20
        )
        # the mass outside m +- 40 sd is below exp(-800): only the quadrature's own error counts
        assert abs(derived - quad.value) <= quad.error_estimate + mpmath.mpf(10) ** -30


@settings(max_examples=25)
@given(ks, ms, cs, alphas, st.floats(-6.0, 6.0), st.floats(0.01, 6.0))
@example(1.0, 0.0, 0.0, 1.0, 0.0, 60.0)  # log sqrt(pi / 2): half the Gaussian
def test_derived_interval_value_matches_box_quadratic_soft_value(k, m, c, alpha, low, width):
    b = BOX
    d = GAUSS
    high = low + width
    # Keep m within 6 standard deviations of the interval: farther out the erf difference
    # cancels to below exp(-18) and the test would measure sympy's evalf, not the formula
    # (the package's far-tail accuracy is tested in tests/continuous/test_actions.py).
    sd = (alpha / k) ** 0.5
    assume(low - 6 * sd <= m <= high + 6 * sd)
    with mpmath.workdps(40):
        vals = {d.k: k, d.m: m, d.c: c, d.alpha: alpha, b.low: low, b.high: high}
        derived = _mp(b.V_claimed, vals)
        pkg = box_quadratic_soft_value(k, m, c, alpha, low, high, digits=25)
        # both are accurate to at least 25 digits (sympy's evalf to 40 with its adaptive
        # precision, the package to the 25 asked for): 2 digits of margin
        assert abs(derived - pkg) <= mpmath.mpf(10) ** -23 * max(1, abs(derived))


@settings(max_examples=25)
@given(ks, ms, cs, alphas, st.floats(-5.0, 5.0), st.floats(0.1, 5.0))
def test_derived_gaussian_prior_formulas_match_gaussian_prior_soft_policy(k, m, c, alpha, m0, s0):
    g = PRIOR
    d = GAUSS
    with mpmath.workdps(40):
        vals = {d.k: k, d.m: m, d.c: c, d.alpha: alpha, g.m0: m0, g.s0: s0}
        V, mean, var = (_mp(e, vals) for e in (g.V_claimed, g.mean_claimed, g.variance_claimed))
    pol = gaussian_prior_soft_policy([[k]], [m], c, alpha, [m0], [[s0 * s0]])
    # float64 closed form: a few dozen roundings, each relative EPS, of terms no larger than
    # |c|, alpha * log(1 + k s0^2 / alpha) and alpha (m - m0)^2 / (s0^2 + alpha / k);
    # s0 * s0 is rounded once more (relative EPS in the prior variance).
    terms = abs(c) + float(alpha * mpmath.log(1 + k * s0**2 / alpha)) + float(abs(V - c))
    assert abs(pol.value - float(V)) <= 64 * EPS * (1 + terms)
    assert abs(pol.mean[0] - float(mean)) <= 64 * EPS * (1 + abs(m) + abs(m0))
    assert abs(pol.covariance[0, 0] - float(var)) <= 64 * EPS * float(var)
