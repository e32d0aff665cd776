"""The entropy-regularised maximum (proofs/01): the sympy derivation holds, its checks fail on a
wrong step, and the derived formulas agree with the package's float64 kernel."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st
from mpmath import mp

from softq_ref import soft_policy, soft_value
from softq_ref.continuous import continuous_soft_value
from softq_ref.strategies import distributions, temperatures
from softq_ref.symbolic._common import DerivationError
from softq_ref.symbolic.gibbs import (
    DiscreteGibbs,
    check_continuous_gibbs,
    check_discrete_gibbs,
    check_gibbs_symbolic_n,
    derive_continuous_gibbs,
    derive_discrete_gibbs,
    derive_gibbs_symbolic_n,
)

from helpers import kernel_error_bound

EPS = 2.0**-52
U64 = 2.0**-53
N_NUMERIC = 3  # the number of outcomes of the derivation evaluated numerically below


@functools.cache
def discrete(n: int) -> DiscreteGibbs:
    return derive_discrete_gibbs(n)


@functools.cache
def numeric(n: int) -> tuple[Any, Any, Any]:
    """The derived maximum, maximiser and objective of ``discrete(n)`` as mpmath functions."""
    d = discrete(n)
    args = (*d.f, d.lam)
    maximum = sp.lambdify(args, d.maximum, modules="mpmath")
    maximiser = sp.lambdify(args, list(d.maximiser), modules="mpmath")
    objective = sp.lambdify((*d.q, *d.f, d.lam), d.objective, modules="mpmath")
    return maximum, maximiser, objective


def kernel_allowance(f: np.ndarray, v: float, lam: float) -> float:
    """A-priori bound on the rounding error of soft_value, derived in helpers.kernel_error_bound."""
    return float(kernel_error_bound(f[None, :], np.array([v]), lam)[0])


payoffs = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=N_NUMERIC, max_size=N_NUMERIC)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_discrete_gibbs_derivation_holds(n: int) -> None:
    check_discrete_gibbs(discrete(n))


def test_gibbs_derivation_holds_for_a_symbolic_number_of_outcomes() -> None:
    check_gibbs_symbolic_n(derive_gibbs_symbolic_n())


def test_continuous_gibbs_derivation_holds() -> None:
    check_continuous_gibbs(derive_continuous_gibbs())


def _wrong_discrete_steps() -> list[tuple[str, Any]]:
    d = discrete(2)
    return [
        ("maximum", d.maximum + 1),
        ("multiplier", d.multiplier + d.lam),
        ("maximiser", tuple(reversed(d.maximiser))),
        ("gradient", (d.gradient[0] + 1, d.gradient[1])),
        ("hessian", -d.hessian),
    ]


@pytest.mark.parametrize("field, wrong", _wrong_discrete_steps())
def test_discrete_check_rejects_a_wrong_step(field: str, wrong: Any) -> None:
    bad = dataclasses.replace(discrete(2), **{field: wrong})
    with pytest.raises(DerivationError):
        check_discrete_gibbs(bad)


def test_symbolic_n_and_continuous_checks_reject_a_positive_second_variation() -> None:
    s = derive_gibbs_symbolic_n()
    with pytest.raises(DerivationError):
        check_gibbs_symbolic_n(dataclasses.replace(s, second_variation=-s.second_variation))
    c = derive_continuous_gibbs()
    with pytest.raises(DerivationError):
        check_continuous_gibbs(dataclasses.replace(c, second_variation=-c.second_variation))
    with pytest.raises(DerivationError):
        check_continuous_gibbs(dataclasses.replace(c, maximum=c.maximum / 2))


@given(payoffs, temperatures(1e-3, 1e3, zero=False))
@example([0.0, 0.0, 0.0], 1.0)
@example([1e3, -1e3, 999.999], 1e-3)
def test_derived_maximum_is_the_soft_value(f: list[float], lam: float) -> None:
    # The derived lambda log sum exp(f/lambda), evaluated at 50 digits on the exact binary
    # inputs (error far below 1e-40 relative), against the float64 kernel, whose rounding
    # error is bounded a priori by helpers.kernel_error_bound.
    maximum, _, _ = numeric(N_NUMERIC)
    with mp.workdps(50):
        exact = maximum(*(mp.mpf(x) for x in f), mp.mpf(lam))
        v = float(soft_value(np.array(f), lam))
        assert abs(v - exact) <= kernel_allowance(np.array(f), v, lam)


@given(payoffs, temperatures(1e-3, 1e3, zero=False))
@example([0.0, 0.0, 0.0], 1.0)
@example([5.0, -5.0, 4.999], 1e-3)
def test_derived_maximiser_is_the_soft_policy(f: list[float], lam: float) -> None:
    _, maximiser, _ = numeric(N_NUMERIC)
    pi = soft_policy(np.array(f), lam)
    with mp.workdps(50):
        exact = maximiser(*(mp.mpf(x) for x in f), mp.mpf(lam))
        # Per entry the kernel's policy is within (A + 8) eps of the exact softmax; the
        # derivation is in tests/test_logsumexp.py (test_gradient_of_soft_value_is_the_soft_policy).
        for a in range(N_NUMERIC):
            assert abs(pi[a] - exact[a]) <= (N_NUMERIC + 8) * EPS


@given(
    payoffs,
    temperatures(1e-2, 1e2, zero=False),
    st.lists(distributions(N_NUMERIC), min_size=1, max_size=4),
)
@example([1.0, 2.0, 3.0], 1.0, [np.array([1.0, 0.0, 0.0])])
def test_no_point_of_the_simplex_beats_the_gibbs_maximiser(
    f: list[float], lam: float, points: list[np.ndarray]
) -> None:
    # For every p on the simplex, F(p) = lambda log Z - lambda KL(p || q*) (the Gibbs identity):
    # evaluated at 50 digits, the gap to the derived maximum is lambda KL >= 0, to 1e-40.
    maximum, maximiser, objective = numeric(N_NUMERIC)
    v = float(soft_value(np.array(f), lam))
    with mp.workdps(50):
        fs = [mp.mpf(x) for x in f]
        top = maximum(*fs, mp.mpf(lam))
        qstar = maximiser(*fs, mp.mpf(lam))
        slack = mp.mpf(10) ** -40 * (1 + abs(top))
        for p in points:
            # The float64 weights sum to 1 only within rounding: renormalise at 50 digits so
            # that p lies exactly (to 1e-50) on the simplex, where the identity holds.
            ps = [mp.mpf(x) / mp.fsum(mp.mpf(y) for y in p) for x in p]
            # 0 log 0 = 0: drop the zero coordinates (their term in F and in KL is 0).
            pf = [(pi, fi) for pi, fi in zip(ps, fs, strict=True) if pi > 0]
            value = mp.fsum(pi * fi - lam * pi * mp.log(pi) for pi, fi in pf)
            if all(pi > 0 for pi in ps):
                assert abs(value - objective(*ps, *fs, mp.mpf(lam))) <= slack
            kl = mp.fsum(pi * mp.log(pi / qi) for pi, qi in zip(ps, qstar, strict=True) if pi > 0)
            assert value <= top + slack
            assert abs((top - value) - lam * kl) <= slack
            # and the float64 soft value is not beaten either, within its rounding allowance
            assert value <= v + kernel_allowance(np.array(f), v, lam)


def test_continuous_gibbs_maximum_matches_the_quadrature_soft_value() -> None:
    # f(x) = sin(3x) + x/2 on [0, 2], lambda = 1/2: the derived maximum lambda log Z against
    # softq_ref.continuous.continuous_soft_value, and F at the Gibbs density by quadrature.
    lam = 0.5
    lo, hi = 0.0, 2.0

    def f(x: Any) -> Any:
        return mpmath.sin(3 * x) + x / 2

    with mp.workdps(30):
        Z = mpmath.quad(lambda x: mpmath.exp(f(x) / lam), [lo, 0.5, 1.0, 1.5, hi])
        derived = lam * mpmath.log(Z)
        ref = continuous_soft_value(f, lam, lo, hi, digits=20)
        assert abs(ref.value - derived) <= ref.error_estimate + mpmath.mpf(10) ** -25

        def qstar(x: Any) -> Any:
            return mpmath.exp(f(x) / lam) / Z

        def F(q: Any) -> Any:
            return mpmath.quad(lambda x: q(x) * f(x) - lam * q(x) * mpmath.log(q(x)), [lo, 1, hi])

        assert abs(F(qstar) - derived) <= mpmath.mpf(10) ** -25
        # A normalised perturbation q* (1 + eps (g - E_q* g)) with g(x) = cos(x) stays a density
        # for |eps| <= 1/2 and lowers F; its second eps-derivative at 0 is -lambda int eta^2/q*.
        Eg = mpmath.quad(lambda x: qstar(x) * mpmath.cos(x), [lo, 1, hi])

        def eta(x: Any) -> Any:
            return qstar(x) * (mpmath.cos(x) - Eg)

        for eps in (mpmath.mpf("0.5"), mpmath.mpf("-0.1"), mpmath.mpf("1e-3")):
            assert F(lambda x, e=eps: qstar(x) + e * eta(x)) < derived
        # Central second difference with step h = 1e-5: truncation h^2 max|F''''|/12 is about
        # 1e-11 here and the 30-digit rounding 1e-30 / h^2 = 1e-20, so agreement to 1e-8
        # relative is a safe margin, and far tighter than any wrong coefficient (a factor 2).
        h = mpmath.mpf("1e-5")
        Fe = [F(lambda x, e=e: qstar(x) + e * eta(x)) for e in (-h, 0, h)]
        second = (Fe[0] - 2 * Fe[1] + Fe[2]) / h**2
        predicted = -lam * mpmath.quad(lambda x: eta(x) ** 2 / qstar(x), [lo, 1, hi])
        assert predicted < 0
        assert abs(second - predicted) <= mpmath.mpf(10) ** -8 * abs(predicted)


def test_derived_discrete_maximum_in_n_2_to_5_agrees_with_soft_value_at_a_fixed_point() -> None:
    # One fixed payoff vector per n (the first n of f below, lambda = 0.7), to cover the n
    # not drawn by the Hypothesis tests; the tolerance is the kernel's rounding allowance.
    f = np.array([0.3, -1.2, 2.5, 2.4, -0.8])
    lam = 0.7
    for n in range(2, 6):
        d = discrete(n)
        exact = d.maximum.subs(
            {**dict(zip(d.f, map(sp.Float, f[:n]), strict=True)), d.lam: sp.Float(lam)}
        )
        v = float(soft_value(f[:n], lam))
        assert abs(v - float(exact.evalf(30))) <= kernel_allowance(f[:n], v, lam)
