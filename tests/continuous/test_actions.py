"""Continuous soft value: quadrature against the closed forms, limits and bad input.

Reference values come from the closed forms of ``softq_ref.continuous``
(which are themselves checked against an independent mpmath / SciPy evaluation
here), never from the quadrature under test.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref.continuous import (
    box_quadratic_soft_value,
    continuous_soft_policy,
    continuous_soft_value,
    gaussian_prior_soft_policy,
    quadratic_soft_policy,
    quadratic_soft_value,
)
from softq_ref.errors import InvalidArgumentError

EPS = float(np.finfo(np.float64).eps)


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)


def quadratic(k: float, m: float, c: float):
    return lambda a: -k / 2 * (a - m) ** 2 + c


# ---------------------------------------------------------------------------
# Quadrature against the closed forms
# ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=12)
@given(
    k=log_uniform(1e-3, 1e3),
    m=st.floats(-10, 10),
    c=st.floats(-1e3, 1e3),
    alpha=log_uniform(1e-6, 1e2),
    low=st.floats(-10, 10),
    width=log_uniform(1e-4, 20),
)
@example(k=1e8, m=0.3, c=1e8, alpha=1e-12, low=-1.0, width=3.0)  # narrow peak, huge Q / alpha
@example(k=1e8, m=5.0, c=-1e8, alpha=1e-12, low=-1.0, width=3.0)  # peak outside, at the edge
@example(k=1.0, m=0.0, c=0.0, alpha=1.0, low=100.0, width=1e-4)  # far tail, narrow interval
def test_quadrature_matches_box_quadratic_closed_form(k, m, c, alpha, low, width):
    high = low + width
    r = continuous_soft_value(quadratic(k, m, c), alpha, low, high, digits=20)
    exact = box_quadratic_soft_value(k, m, c, alpha, low, high, digits=40)
    scale = max(1, abs(exact))
    assert r.digits == 20
    assert r.error_estimate <= mpmath.mpf(10) ** -20 * scale
    # The estimate must cover the true error; the closed form itself is good
    # to 40 digits, so allow 1e-38 relative for its own rounding.
    assert abs(r.value - exact) <= r.error_estimate + mpmath.mpf(10) ** -38 * scale


@settings(deadline=None, max_examples=5)
@given(
    k=log_uniform(1e-2, 1e2),
    m=st.floats(-10, 10),
    c=st.floats(-100, 100),
    alpha=log_uniform(1e-8, 10),
)
@example(k=1e8, m=0.25, c=1e8, alpha=1e-12)
def test_quadrature_on_a_wide_interval_matches_the_gaussian_closed_form(k, m, c, alpha):
    # On [m - 40 s, m + 40 s] (s = sqrt(alpha / k)) the mass left out is
    # erfc(40 / sqrt 2) < 1e-340, so V differs from the value on R by less
    # than alpha * 1e-340: invisible at 25 digits.
    s = math.sqrt(alpha / k)
    r = continuous_soft_value(quadratic(k, m, c), alpha, m - 40 * s, m + 40 * s, digits=25)
    exact = quadratic_soft_value([[k]], [m], c, alpha, digits=40)
    assert abs(r.value - exact) <= r.error_estimate + mpmath.mpf(10) ** -38 * max(1, abs(exact))
    assert r.digits == 25


def test_quadrature_finds_a_narrow_peak_far_from_the_grid():
    # Peak of width 1e-9 centred between grid points of [0, 1] (spacing 1/256):
    # a grid-only integration would miss it entirely.
    k, m, c, alpha = 1.0, 0.5 + 1 / 512, 3.0, 1e-18
    r = continuous_soft_value(quadratic(k, m, c), alpha, 0.0, 1.0, digits=20)
    exact = box_quadratic_soft_value(k, m, c, alpha, 0.0, 1.0, digits=40)
    assert abs(r.value - exact) <= r.error_estimate + mpmath.mpf(10) ** -38 * 3


def test_quadrature_with_a_prior_density_matches_the_gaussian_product():
    # mu = N(0, 1) density and Q = -a^2/2 with alpha = 1: the integrand is
    # exp(-a^2) / sqrt(2 pi), whose integral is sqrt(pi) / sqrt(2 pi) = 1/sqrt 2,
    # so V = -log(2) / 2 (exact, by the Gaussian integral).
    def prior(a):
        return mpmath.npdf(a)

    r = continuous_soft_value(lambda a: -a * a / 2, 1.0, -40, 40, prior=prior, digits=25)
    with mpmath.workdps(40):
        exact = -mpmath.log(2) / 2
    assert abs(r.value - exact) <= r.error_estimate + mpmath.mpf(10) ** -38


def test_multimodal_q_is_integrated_around_each_peak():
    # Two equal peaks of width sqrt(alpha) = 1e-6 at -0.5 and 0.7; the value is
    # log(2) + log sqrt(2 pi alpha) times alpha (the tails are < e^-1e11).
    alpha = 1e-12

    def Q(a):
        return max(-((a + 0.5) ** 2) / 2, -((a - 0.7) ** 2) / 2)

    r = continuous_soft_value(Q, alpha, -1.0, 1.0, digits=20)
    with mpmath.workdps(40):
        A = mpmath.mpf(alpha)
        exact = A * mpmath.log(2 * mpmath.sqrt(2 * mpmath.pi * A))
    assert abs(r.value - exact) <= r.error_estimate + mpmath.mpf(10) ** -38


def test_soft_policy_density_integrates_to_one_and_is_the_gaussian():
    k, m, c, alpha = 2.0, 0.3, 1.0, 0.5
    pi = continuous_soft_policy(quadratic(k, m, c), alpha, -30.0, 30.0, digits=20)
    with mpmath.workdps(30):
        total = mpmath.quad(pi, [-30, m, 30])
        # pi* = N(m, alpha / k) (the truncation at +-30 removes < e^-3000 of mass)
        for a in (-0.7, 0.3, 1.1):
            gauss = mpmath.npdf(a, m, mpmath.sqrt(mpmath.mpf(alpha) / k))
            assert abs(pi(a) - gauss) <= mpmath.mpf(10) ** -18 * gauss
        assert abs(total - 1) <= mpmath.mpf(10) ** -18
    assert pi(31.0) == 0


# ---------------------------------------------------------------------------
# alpha -> 0
# ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=4)
@given(
    b=log_uniform(0.1, 10),
    e=st.floats(0, 10),
    m=st.floats(-3, 3),
    c=st.floats(-1e3, 1e3),
    low=st.floats(-2, 0),
    width=st.floats(0.5, 4),
)
@example(b=1e8, e=0.0, m=0.2, c=1e8, low=-1.0, width=2.0)
def test_soft_value_tends_to_max_q_as_alpha_tends_to_zero(b, e, m, c, low, width):
    """``max Q + alpha log(alpha/L (1 - e^{-L w / 2 alpha})) <= V_alpha <= max Q + alpha log w``.

    Upper bound: ``exp(Q / alpha) <= exp(max Q / alpha)`` on an interval of
    length ``w``. Lower bound: ``Q`` is ``L``-Lipschitz, so
    ``Q(a) >= max Q - L |a - a*|``, and at least one side of the maximiser
    ``a*`` has length ``>= w / 2``. Both sides are ``O(alpha log(1/alpha))``
    away from ``max Q``, the rate of the limit.
    """
    high = low + width

    def Q(a):
        return c - b * (a - m) ** 2 - e * abs(a - m)

    a_star = min(max(m, low), high)
    q_max = Q(a_star)
    L = 2 * b * max(abs(low - m), abs(high - m)) + e
    for alpha in (1e-2, 1e-6, 1e-12):
        r = continuous_soft_value(Q, alpha, low, high, digits=12)
        tol = mpmath.mpf(10) ** -12 * max(1, abs(r.value))
        with mpmath.workdps(30):
            A = mpmath.mpf(alpha)
            lower = q_max + A * mpmath.log(A / L * -mpmath.expm1(-L * width / (2 * A)))
            upper = q_max + A * mpmath.log(width)
            assert lower - tol <= r.value <= upper + tol
    zero = continuous_soft_value(Q, 0.0, low, high, digits=15)
    assert abs(zero.value - q_max) <= mpmath.mpf(10) ** -15 * max(1, abs(q_max))


def test_box_quadratic_alpha_zero_is_the_exact_maximum():
    # max of -k/2 (a - m)^2 + c on [low, high] is at clip(m): here m = 3 is
    # clipped to 2, so V = 1 - 0.5 * 1 = 0.5 exactly.
    assert box_quadratic_soft_value(1.0, 3.0, 1.0, 0.0, -1.0, 2.0) == 0.5
    assert box_quadratic_soft_value(1.0, 0.5, 1.0, 0.0, -1.0, 2.0) == 1.0
    assert quadratic_soft_policy([[1.0]], [0.5], 1.0, 0.0).value == 1.0
    assert quadratic_soft_value([[4.0]], [0.5], 7.25, 0.0, digits=30) == 7.25


# ---------------------------------------------------------------------------
# Closed forms, checked independently
# ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=30)
@given(
    k=log_uniform(1e-3, 1e3),
    m=st.floats(-3, 3),
    alpha=log_uniform(1e-3, 1e2),
    low=st.floats(-3, 3),
    width=st.floats(0.1, 5),
)
def test_box_quadratic_matches_scipy_normal_cdf_in_the_bulk(k, m, alpha, low, width):
    # In the bulk (|z| < 40) the plain formula with scipy's ndtr has relative
    # error a few eps in the CDF difference unless it cancels; restrict to a
    # difference >= 1e-3 so that cancellation costs at most 3 digits.
    from hypothesis import assume
    from scipy.special import ndtr

    high = low + width
    s = math.sqrt(alpha / k)
    mass = ndtr((high - m) / s) - ndtr((low - m) / s)
    assume(mass >= 1e-3)
    ref = alpha / 2 * math.log(2 * math.pi * alpha / k) + alpha * math.log(mass)
    got = box_quadratic_soft_value(k, m, 0.0, alpha, low, high)
    # 1e3 * eps relative error in `mass` (cancellation) plus a few eps in the logs.
    assert abs(got - ref) <= alpha * 2e3 * EPS + 16 * EPS * (abs(ref) + alpha)


def test_box_quadratic_far_in_the_tail_matches_the_asymptotic_series():
    # Interval [z, inf) effectively, z = 1e6 standard deviations from the mean:
    # log Phi(-z) = -z^2/2 - log(z sqrt(2 pi)) + log(1 - 1/z^2 + 3/z^4 - ...)
    # (Abramowitz & Stegun 26.2.12); the float CDF underflows long before.
    z = 1e6
    got = box_quadratic_soft_value(1.0, 0.0, 0.0, 1.0, z, 2 * z, digits=30)
    with mpmath.workdps(40):
        Z = mpmath.mpf(z)
        log_tail = -(Z**2) / 2 - mpmath.log(Z * mpmath.sqrt(2 * mpmath.pi))
        log_tail += mpmath.log(1 - 1 / Z**2 + 3 / Z**4 - 15 / Z**6)
        ref = mpmath.log(mpmath.sqrt(2 * mpmath.pi)) + log_tail
        # The truncated series is off by < 105 / z^8 = 1e-46.
        assert abs(got - ref) <= mpmath.mpf(10) ** -28 * abs(ref)


@settings(deadline=None, max_examples=30)
@given(
    d=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    alpha=log_uniform(1e-12, 1e3),
    c=st.floats(-1e8, 1e8),
)
@example(d=3, seed=0, alpha=1e-12, c=1e8)
def test_gaussian_closed_form_is_rotation_invariant_and_matches_high_precision(d, seed, alpha, c):
    # K = U diag(lam) U^T with eigenvalues in [0.1, 10]: V depends on K only
    # through log det K = sum log lam, which is computed independently here.
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = 10 ** rng.uniform(-1, 1, size=d)
    K = (U * lam) @ U.T
    K = (K + K.T) / 2
    m = rng.standard_normal(d)
    p = quadratic_soft_policy(K, m, c, alpha)
    hp = quadratic_soft_value(K, m, c, alpha, digits=30)
    with mpmath.workdps(40):
        # The exact value for the rounded K differs from this by at most
        # alpha/2 |tr(K^{-1} dK)| with |dK| ~ d eps |K|: covered by the tolerance.
        A = mpmath.mpf(alpha)
        ref = c + A / 2 * (d * mpmath.log(2 * mpmath.pi * A) - mpmath.fsum(map(mpmath.log, lam)))
        cond = 100.0  # eigenvalues in [0.1, 10]
        tol_hp = A * 8 * d * d * cond * EPS
        # hp is rounded to 30 significant digits.
        assert abs(hp - ref) <= tol_hp + mpmath.mpf(10) ** -29 * abs(ref)
        # float64: rounding of c + the alpha terms (a few eps of each) plus the above.
        terms = abs(c) + alpha * (d * abs(math.log(2 * math.pi * alpha)) + d * math.log(10))
        assert abs(p.value - ref) <= tol_hp + 16 * EPS * terms
    np.testing.assert_allclose(
        p.covariance @ K, alpha * np.eye(d), atol=64 * d * cond * EPS * alpha
    )
    np.testing.assert_array_equal(p.mean, m)


def test_gaussian_policy_is_the_normalised_exponential_of_q():
    # Direct check of Theorem 1 in 2-D: pi*(a) = exp((Q(a) - V)/alpha) is the
    # N(m, alpha K^{-1}) density at a few points (density computed by hand).
    K = np.array([[2.0, 0.5], [0.5, 1.0]])
    m = np.array([0.3, -0.2])
    c, alpha = 1.5, 0.7
    p = quadratic_soft_policy(K, m, c, alpha)
    S = p.covariance
    for a in ([0.0, 0.0], [1.0, -1.0], [0.3, -0.2]):
        x = np.asarray(a) - m
        Qa = -0.5 * x @ K @ x + c
        dens = np.exp(-0.5 * x @ np.linalg.solve(S, x)) / np.sqrt(np.linalg.det(2 * np.pi * S))
        assert math.isclose(math.exp((Qa - p.value) / alpha), dens, rel_tol=1e-13)


# ---------------------------------------------------------------------------
# Gaussian reference measure
# ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=4)
@given(
    k=log_uniform(1e-2, 1e2),
    m=st.floats(-5, 5),
    c=st.floats(-100, 100),
    alpha=log_uniform(1e-6, 1e2),
    m0=st.floats(-5, 5),
    s0=log_uniform(0.1, 10),
)
@example(k=1e8, m=0.5, c=1e8, alpha=1e-12, m0=-1.0, s0=2.0)
def test_quadrature_with_a_gaussian_prior_matches_its_closed_form(k, m, c, alpha, m0, s0):
    # mu = N(m0, s0^2): the integrand mu exp(Q/alpha) is a Gaussian bump centred
    # at the policy mean with the policy's sd; +-40 sd leaves out < 1e-340.
    p = gaussian_prior_soft_policy([[k]], [m], c, alpha, [m0], [[s0 * s0]])
    mean, sd = float(p.mean[0]), math.sqrt(float(p.covariance[0, 0]))
    r = continuous_soft_value(
        quadratic(k, m, c),
        alpha,
        mean - 40 * sd,
        mean + 40 * sd,
        prior=lambda a: mpmath.npdf(a, m0, s0),
        digits=17,  # compared with a float64 closed form
    )
    # float64 closed form: a few eps of each term c, alpha log det, alpha quad.
    terms = abs(c) + alpha * (abs(math.log(1 + k * s0 * s0 / alpha)) + (m - m0) ** 2 / s0**2 + 1)
    assert abs(float(r.value) - p.value) <= 32 * EPS * terms


@settings(deadline=None, max_examples=30)
@given(d=st.integers(1, 4), seed=st.integers(0, 2**32 - 1), alpha=log_uniform(1e-3, 1e3))
def test_gaussian_prior_policy_is_mu_times_exp_q_minus_v_over_alpha(d, seed, alpha):
    # Theorem 1 with a prior: pi*(a) = mu(a) exp((Q(a) - V)/alpha) is the
    # N(mean, cov) density, at a few points (densities by hand with NumPy).
    rng = np.random.default_rng(seed)

    def spd():
        G = rng.standard_normal((d, d))
        return G @ G.T + 0.5 * np.eye(d)

    K, S0 = spd(), spd()
    m, m0 = rng.standard_normal(d), rng.standard_normal(d)
    c = float(rng.standard_normal())
    p = gaussian_prior_soft_policy(K, m, c, alpha, m0, S0)

    def log_normal(x, mean, cov):
        diff = x - mean
        return -0.5 * (diff @ np.linalg.solve(cov, diff) + np.linalg.slogdet(2 * np.pi * cov)[1])

    for _ in range(3):
        a = p.mean + rng.standard_normal(d) * 0.5
        Qa = -0.5 * (a - m) @ K @ (a - m) + c
        lhs = log_normal(a, m0, S0) + (Qa - p.value) / alpha
        rhs = log_normal(a, p.mean, p.covariance)
        # Both sides are sums of O(10) terms of size up to |Q|/alpha and the log
        # determinants; cond(K), cond(S0) <= ~100 for these draws (eigenvalues >= 0.5).
        scale = (abs(Qa) + abs(p.value)) / alpha + abs(lhs) + abs(rhs) + 10
        assert abs(lhs - rhs) <= 1e4 * EPS * scale


@settings(deadline=None, max_examples=30)
@given(
    k=log_uniform(0.1, 10),
    m=st.floats(-3, 3),
    c=st.floats(-10, 10),
    m0=st.floats(-3, 3),
    s0=log_uniform(0.1, 3),
)
@example(k=10.0, m=0.0, c=0.0, m0=0.0, s0=2.371373705661655)  # kappa3 / (6 alpha^2) = 3e-12
@example(k=10.0, m=-3.0, c=10.0, m0=3.0, s0=3.0)  # the largest terms the strategy allows
def test_gaussian_prior_value_is_nonincreasing_in_alpha_and_interpolates(k, m, c, m0, s0):
    # With a probability prior, V_alpha is non-increasing in alpha (its derivative
    # is minus a KL, docs/conventions.md section 1), V_0 = c = max Q, and as alpha -> inf,
    # V_alpha -> E_mu[Q] = c - (k s0^2 + k (m0 - m)^2) / 2 from above, by the cumulant
    # expansion V_alpha = sum_n kappa_n(Q) / (n! alpha^(n-1)) of Q under the prior.
    alphas = [0.0, 1e-9, 1e-3, 0.1, 1.0, 10.0, 1e3]
    vals = [gaussian_prior_soft_policy([[k]], [m], c, a, [m0], [[s0 * s0]]).value for a in alphas]
    assert vals[0] == c
    for lo, hi in zip(vals, vals[1:], strict=False):
        assert hi <= lo + 8 * EPS * (abs(lo) + 1)
    big = 1e8
    v_big = gaussian_prior_soft_policy([[k]], [m], c, big, [m0], [[s0 * s0]]).value
    # Q = c - (k/2) Y^2 with Y = a - m ~ N(d, s0^2), d = m0 - m: Y^2 / s0^2 is a noncentral
    # chi-square (1 degree, lambda = d^2 / s0^2), kappa_n(Y^2) = 2^(n-1) (n-1)! (1 + n lambda)
    # s0^(2n), so kappa_n(Q) = (-k/2)^n kappa_n(Y^2) for n >= 2:
    d = m0 - m
    mean_q = c - (k * s0**2 + k * d**2) / 2
    var_q = k**2 * (s0**4 / 2 + s0**2 * d**2)
    kappa3 = -(k**3) * (s0**6 + 3 * s0**4 * d**2)
    kappa4 = 3 * k**4 * (s0**8 + 4 * s0**6 * d**2)
    expansion = mean_q + var_q / (2 * big) + kappa3 / (6 * big**2)
    # The rest of the series is kappa4 / (24 big^3) + ...: at most twice its first term here
    # (big >> k s0^2, so the terms fall by a factor of order k (s0 + |d|)^2 / big each).
    # The float64 evaluation of the closed form at alpha = 1e8 loses a few ulps of its terms.
    rest = 2 * kappa4 / (24 * big**3)
    assert abs(v_big - expansion) <= rest + 64 * EPS * (abs(mean_q) + k * s0**2)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: quadratic_soft_policy([[1.0, 2.0], [0.0, 1.0]], [0, 0], 0, 1), "symmetric"),
        (lambda: quadratic_soft_policy([[1.0, 0.0], [0.0, -1.0]], [0, 0], 0, 1), "positive def"),
        (lambda: quadratic_soft_policy([[1.0, 0.0], [0.0, 1.0]], [0, 0, 0], 0, 1), "length 2"),
        (lambda: quadratic_soft_policy([1.0, 2.0], [0, 0], 0, 1), "square"),
        (lambda: quadratic_soft_policy([[1.0]], [0.0], 0, -1), "alpha"),
        (lambda: quadratic_soft_policy([[float("nan")]], [0.0], 0, 1), r"K\[0, 0\]"),
        (lambda: quadratic_soft_value([[1.0]], [0.0], 0, 1, digits=0), "digits"),
        (lambda: box_quadratic_soft_value(-1.0, 0, 0, 1, 0, 1), "k must be > 0"),
        (
            lambda: gaussian_prior_soft_policy([[1.0]], [0.0], 0, 1, [0.0], [[-1.0]]),
            "prior_covariance must be positive definite",
        ),
        (
            lambda: gaussian_prior_soft_policy([[1.0]], [0.0], 0, 1, [0.0, 1.0], [[1.0]]),
            "prior_mean must be a vector of length 1",
        ),
        (lambda: box_quadratic_soft_value(1.0, 0, 0, 1, 1, 1), "low < high"),
        (lambda: box_quadratic_soft_value(1.0, 0, float("inf"), 1, 0, 1), "c must be finite"),
        (lambda: continuous_soft_value(lambda a: a, 1.0, 2.0, 1.0), "low < high"),
        (lambda: continuous_soft_value(lambda a: a, float("nan"), 0.0, 1.0), "alpha"),
        (lambda: continuous_soft_value(3.0, 1.0, 0.0, 1.0), "callable"),
        (lambda: continuous_soft_value(lambda a: mpmath.nan, 1.0, 0.0, 1.0), "finite"),
        (lambda: continuous_soft_value(lambda a: "x", 1.0, 0.0, 1.0), "real number"),
        (lambda: continuous_soft_value(lambda a: a, 1.0, 0.0, 1.0, prior=lambda a: -1), "prior"),
        (lambda: continuous_soft_value(lambda a: a, 1.0, 0.0, 1.0, prior=lambda a: 0), "mass"),
    ],
)
def test_bad_input_raises_invalid_argument_error_naming_the_problem(call, match):
    with pytest.raises(InvalidArgumentError, match=match) as err:
        call()
    assert type(err.value) is InvalidArgumentError  # not MDP data
