"""Log-sum-exp (proofs/02): the sympy derivations hold, their checks fail on a wrong step, and
the derived gradient, Hessian, bounds and limits agree with the package's float64 kernel."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st
from mpmath import mp

from softq_ref import soft_policy, soft_value
from softq_ref.strategies import temperatures
from softq_ref.symbolic._common import DerivationError
from softq_ref.symbolic.lse import (
    LogSumExp,
    check_gibbs_variational,
    check_log_sum_exp,
    check_log_sum_exp_limits,
    derive_gibbs_variational,
    derive_log_sum_exp,
    derive_log_sum_exp_limits,
)

from helpers import kernel_error_bound

EPS = 2.0**-52
U64 = 2.0**-53
N_NUMERIC = 3  # the number of actions of the derivation evaluated numerically below


@functools.cache
def lse(n: int) -> LogSumExp:
    return derive_log_sum_exp(n)


@functools.cache
def numeric_gradient_and_hessian(n: int) -> tuple[Any, Any]:
    d = lse(n)
    args = (*d.Q, d.alpha)
    gradient = sp.lambdify(args, list(d.gradient), modules="mpmath")
    hessian = sp.lambdify(args, d.hessian, modules="mpmath")
    return gradient, hessian


def kernel_allowance(q: np.ndarray, v: float, alpha: float) -> float:
    """A-priori bound on the rounding error of soft_value, derived in helpers.kernel_error_bound."""
    return float(kernel_error_bound(q[None, :], np.array([v]), alpha)[0])


def rows(n_min: int, n_max: int, scale: float) -> st.SearchStrategy[np.ndarray]:
    return st.integers(n_min, n_max).flatmap(
        lambda n: st.lists(st.floats(-scale, scale, allow_nan=False), min_size=n, max_size=n).map(
            np.array
        )
    )


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_log_sum_exp_gradient_is_softmax_and_hessian_is_psd(n: int) -> None:
    check_log_sum_exp(lse(n))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_log_sum_exp_is_the_conjugate_of_negative_entropy(n: int) -> None:
    check_gibbs_variational(derive_gibbs_variational(n))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_log_sum_exp_bounds_and_limits_hold(n: int) -> None:
    # n >= 3 used to hang in sympy.limit; the derivation now works on one generic term.
    check_log_sum_exp_limits(derive_log_sum_exp_limits(n))


def test_log_sum_exp_checks_reject_a_wrong_step() -> None:
    d = lse(2)
    with pytest.raises(DerivationError):
        check_log_sum_exp(dataclasses.replace(d, hessian_formula=d.hessian_formula * 2))
    with pytest.raises(DerivationError):
        check_log_sum_exp(dataclasses.replace(d, gradient=tuple(reversed(d.gradient))))
    g = derive_gibbs_variational(2)
    with pytest.raises(DerivationError):
        check_gibbs_variational(dataclasses.replace(g, residual=g.kl))
    lim = derive_log_sum_exp_limits(3)
    with pytest.raises(DerivationError):
        check_log_sum_exp_limits(dataclasses.replace(lim, limit_infinity=lim.Q[0]))
    with pytest.raises(DerivationError):
        check_log_sum_exp_limits(dataclasses.replace(lim, limit_zero=sp.log(3)))
    wrong_series = lim.mean_form_series + lim.t * lim.variance
    with pytest.raises(DerivationError):
        check_log_sum_exp_limits(dataclasses.replace(lim, mean_form_series=wrong_series))


@given(rows(N_NUMERIC, N_NUMERIC, 1e3), temperatures(1e-3, 1e3, zero=False))
@example(np.array([0.0, 0.0, 0.0]), 1.0)
@example(np.array([1e3, -1e3, 999.999]), 1e-3)
def test_derived_gradient_is_the_soft_policy(q: np.ndarray, alpha: float) -> None:
    gradient, _ = numeric_gradient_and_hessian(N_NUMERIC)
    pi = soft_policy(q, alpha)
    with mp.workdps(50):
        exact = gradient(*(mp.mpf(float(x)) for x in q), mp.mpf(alpha))
        # Per entry the kernel's policy is within (A + 8) eps of the exact softmax; the
        # derivation is in tests/test_logsumexp.py (test_gradient_of_soft_value_is_the_soft_policy).
        for a in range(N_NUMERIC):
            assert abs(pi[a] - exact[a]) <= (N_NUMERIC + 8) * EPS


@given(rows(N_NUMERIC, N_NUMERIC, 20.0), temperatures(1e-2, 1e2, zero=False))
@example(np.array([0.0, 0.0, 0.0]), 1.0)
def test_hessian_from_the_soft_policy_is_the_derived_hessian_and_psd(
    q: np.ndarray, alpha: float
) -> None:
    _, hessian = numeric_gradient_and_hessian(N_NUMERIC)
    pi = soft_policy(q, alpha)
    H = (np.diag(pi) - np.outer(pi, pi)) / alpha
    with mp.workdps(50):
        exact = hessian(*(mp.mpf(float(x)) for x in q), mp.mpf(alpha))
        # pi has absolute error <= (A + 8) eps per entry (see above), so each entry of
        # diag(pi) - pi pi^T is off by at most 3 (A + 8) eps (the products are of numbers in
        # [0, 1]), plus 3 eps for the products, subtraction and the division by alpha.
        tol = (3 * (N_NUMERIC + 8) + 3) * EPS / alpha
        for i in range(N_NUMERIC):
            for j in range(N_NUMERIC):
                assert abs(H[i, j] - exact[i, j]) <= tol
    # Positive semidefinite: the exact Hessian's eigenvalues are >= 0, so the computed ones
    # are >= -(norm of the error) >= -A * tol (Weyl); the constant vector is a null vector.
    assert np.linalg.eigvalsh(H).min() >= -N_NUMERIC * tol
    assert np.abs(H @ np.ones(N_NUMERIC)).max() <= N_NUMERIC * tol


@given(rows(1, 6, 1e8), st.sampled_from([1e-12, 1e-6, 1.0, 1e6, 1e12]))
@example(np.array([1e8, -1e8]), 1e-12)
@example(np.array([3.0, 3.0, 3.0, 3.0]), 1e12)  # ties: the upper bound is attained
@example(np.array([-1e8, 1e8, 1e8]), 1e12)
def test_soft_value_lies_between_max_and_max_plus_alpha_log_n(q: np.ndarray, alpha: float) -> None:
    v = float(soft_value(q, alpha))
    tol = kernel_allowance(q, v, alpha)
    assert q.max() - tol <= v <= q.max() + alpha * math.log(len(q)) * (1 + EPS) + tol


@given(rows(1, 6, 1e3))
@example(np.array([1.0, 1.0 - 1e-9, -5.0]))
def test_soft_value_at_alpha_1e_minus_12_is_the_max_up_to_the_derived_excess(q: np.ndarray) -> None:
    alpha = 1e-12
    v = float(soft_value(q, alpha))
    tol = kernel_allowance(q, v, alpha)
    # Derived: V - max Q = alpha log S with S = sum_i exp(-d_i/alpha) over the gaps d_i >= 0
    # (a largest entry has d = 0), and log S <= S - 1, log S <= log n; evaluated at 50 digits.
    # With gaps far above alpha the bound is 0 to double precision: V is the max.
    with mp.workdps(50):
        m = max(mp.mpf(float(x)) for x in q)
        S = mp.fsum(mp.exp(-(m - mp.mpf(float(x))) / alpha) for x in q)
        bound = alpha * min(S - 1, mp.log(len(q)))
    assert q.max() - tol <= v <= q.max() + float(bound) * (1 + EPS) + tol


@given(rows(1, 6, 1e3))
@example(np.array([0.0, 1.0, 2.0]))
@example(np.array([-1e3, 1e3]))
def test_soft_value_at_alpha_1e12_is_alpha_log_n_plus_the_mean(q: np.ndarray) -> None:
    # Derived: V - alpha log n = mean Q + Var(Q)/(2 alpha) + O(1/alpha^2), and exactly
    # 0 <= V - alpha log n - mean Q <= (max Q - min Q)^2 / (8 alpha) (the cumulant generating
    # function log M(t) is convex with second derivative <= range^2/4, Popoviciu).
    alpha = 1e12
    n = len(q)
    v = float(soft_value(q, alpha))
    # The kernel's allowance, plus the rounding of alpha log n and of the subtraction below.
    tol = kernel_allowance(q, v, alpha) + 2 * U64 * (alpha * math.log(n) + abs(v))
    excess = v - alpha * math.log(n)
    with mp.workdps(50):
        mean = float(mp.fsum(mp.mpf(float(x)) for x in q) / n)
    spread = (q.max() - q.min()) ** 2 / (8 * alpha)
    assert mean - tol - abs(mean) * EPS <= excess <= mean + spread + tol + abs(mean) * EPS
