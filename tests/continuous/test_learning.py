"""Statistics of the importance-sampled soft value, the soft Q target and J_Q.

Exact statements are checked by exact enumeration (discrete actions) or hold
sample by sample (q = pi*); the rate statements (bias ~ 1/n) by seeded Monte
Carlo with tolerances from the Monte-Carlo standard error. Run this file as a
script (``PYTHONPATH=. python tests/continuous/test_learning.py``) to print the measured
bias table and the fitted slope.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from softq_ref.continuous import quadratic_soft_value
from softq_ref.continuous.learning import (
    importance_sampled_soft_value,
    soft_q_loss,
    soft_q_target,
    soft_q_target_from_table,
)
from softq_ref.errors import InvalidArgumentError
from softq_ref.logsumexp import soft_policy, soft_value
from softq_ref.operators import bellman_operator
from softq_ref.strategies import mdps

EPS = float(np.finfo(np.float64).eps)

# ---------------------------------------------------------------------------
# The Monte-Carlo setting: Q(a) = -a^2 / 2, alpha = 1, Lebesgue measure, so
# pi* = N(0, 1) and V = log sqrt(2 pi) exactly; proposal q = N(0.5, 1.5^2).
# q is wider than pi*, so w = pi* / q is bounded and every moment exists.
# ---------------------------------------------------------------------------
ALPHA = 1.0
Q_MEAN, Q_SD = 0.5, 1.5
V_EXACT = 0.5 * math.log(2 * math.pi)
SEED = 20261125
REPS = 8000


def xi_moments() -> tuple[float, float]:
    """``sigma^2 = E_q[xi^2]`` (the chi-square divergence) and ``kappa_3 = E_q[xi^3]``
    for ``xi = pi*/q - 1``, by mpmath quadrature (30 digits) of
    ``int pi*^k q^(1-k)``."""
    with mpmath.workdps(30):

        def moment(k: int):
            f = lambda a: mpmath.npdf(a) ** k / mpmath.npdf(a, Q_MEAN, Q_SD) ** (k - 1)  # noqa: E731
            return mpmath.quad(f, [-mpmath.inf, 0, mpmath.inf])

        m2, m3 = moment(2), moment(3)
        return float(m2 - 1), float(m3 - 3 * m2 + 2)


def sampled_estimates(n: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` independent estimates ``V_hat - V``, each from ``n`` samples of q."""
    a = Q_MEAN + Q_SD * rng.standard_normal((reps, n))
    log_q = -0.5 * ((a - Q_MEAN) / Q_SD) ** 2 - math.log(Q_SD) - 0.5 * math.log(2 * math.pi)
    return importance_sampled_soft_value(-(a**2) / 2, log_q, ALPHA) - V_EXACT


def measure_bias(ns, reps=REPS, seed=SEED):
    """Per n: (plain mean of V_hat - V, its SE, control-variate bias, its SE,
    mean of alpha (Z_hat/Z - 1), its SE).

    The control variate: with ``R = Z_hat / Z = exp((V_hat - V)/alpha)``,
    ``E[R] = 1`` exactly (the inner average is unbiased), so
    ``E[V_hat - V] = alpha E[log R - (R - 1)]``. The right-hand side has the
    same mean but a far smaller variance (``log R - (R - 1) ~ -(R - 1)^2 / 2``),
    with a relative SE independent of n: it measures a bias of size 1/n
    without needing n^2 repetitions.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        d = sampled_estimates(n, reps, rng)
        cv = d - ALPHA * np.expm1(d / ALPHA)
        inner = ALPHA * np.expm1(d / ALPHA)
        se = lambda x: float(x.std(ddof=1) / math.sqrt(len(x)))  # noqa: E731
        rows.append(
            (n, float(d.mean()), se(d), float(cv.mean()), se(cv), float(inner.mean()), se(inner))
        )
    return rows


def fit_slope(ns, means, ses):
    """Weighted least squares of ``log(-bias)`` on ``log n``; returns (slope, SE).

    The SE of ``log(-b)`` is ``SE(b) / |b|`` (delta method); weights are its
    inverse squares and the slope's SE is the usual ``sqrt((X^T W X)^{-1})_11``.
    """
    x = np.log(np.asarray(ns, float))
    y = np.log(-np.asarray(means))
    w = (np.asarray(means) / np.asarray(ses)) ** 2
    X = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * y)
    return float(beta[1]), float(math.sqrt(cov[1, 1]))


RATE_NS = (16, 32, 64, 128, 256, 512)


def test_estimate_is_biased_downward_for_finite_n():
    # Plain Monte Carlo of E[V_hat] - V: it must be negative by more than 4
    # standard errors (one-sided z = 4: a false alarm has probability 3e-5,
    # and the seed is fixed, so the test is reproducible).
    for n, mean, se, *_ in measure_bias((2, 4, 8)):
        assert mean + 4 * se < 0, (n, mean, se)


def test_inner_average_is_unbiased_by_monte_carlo():
    # E[Z_hat / Z - 1] = 0: the sample mean is within 4 SE of 0 at every n.
    for n, *_, inner, se in measure_bias((2, 16, 128)):
        assert abs(inner) <= 4 * se, (n, inner, se)


def test_bias_shrinks_like_one_over_n():
    """The fitted slope of log(-bias) against log n is -1 up to O(1/n).

    Second-order expansion (module docstring of softq_ref.continuous.learning):
    ``bias(n) = alpha (c1 / n + c2 / n^2) + O(n^-3)`` with ``c1 = -sigma^2 / 2``,
    ``c2 = kappa_3 / 3 - 3 sigma^4 / 4``. The slope of the two-term model on the
    same n and weights is the target; the measured slope must be within 4 SE of
    it (the O(n^-3) term changes the target by ~ (c2/c1)^2 / n^2 < 2e-3 here,
    far below the SE). And n * bias at the largest n is c1 within 4 SE plus the
    c2 / n term.
    """
    sigma2, kappa3 = xi_moments()
    c1, c2 = -sigma2 / 2, kappa3 / 3 - 3 * sigma2**2 / 4
    rows = measure_bias(RATE_NS)
    ns = [r[0] for r in rows]
    means = [r[3] for r in rows]
    ses = [r[4] for r in rows]
    slope, slope_se = fit_slope(ns, means, ses)
    model = [ALPHA * (c1 / n + c2 / n**2) for n in ns]
    model_slope, _ = fit_slope(ns, model, ses)
    assert abs(slope - model_slope) <= 4 * slope_se, (slope, slope_se, model_slope)
    assert abs(model_slope + 1) <= 2 * abs(c2 / c1) / ns[0]  # -1 up to the O(1/n) term
    n, b, se = ns[-1], means[-1], ses[-1]
    assert abs(n * b - ALPHA * c1) <= 4 * n * se + abs(c2) / n


def test_estimate_is_consistent():
    # n = 200000: V_hat - V has standard deviation ~ alpha sqrt(sigma^2 / n)
    # (delta method) = 1.2e-3; it must be within 5 of those (bias 7e-7 is negligible).
    sigma2, _ = xi_moments()
    rng = np.random.default_rng(SEED + 1)
    n = 200_000
    d = float(sampled_estimates(n, 1, rng)[0])
    assert abs(d) <= 5 * ALPHA * math.sqrt(sigma2 / n)


# ---------------------------------------------------------------------------
# Exact statements
# ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=40)
@given(
    k=st.floats(1e-3, 1e3),
    m=st.floats(-10, 10),
    c=st.floats(-1e3, 1e3),
    alpha=st.floats(1e-12, 1e3),
    n=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
)
@example(k=1e8, m=0.5, c=1e8, alpha=1e-12, n=10, seed=0)
def test_estimate_is_exact_when_the_proposal_is_pi_star(k, m, c, alpha, n, seed):
    # q = pi* = N(m, alpha / k): every term Q(a_i) - alpha log q(a_i) equals V,
    # so V_hat = V for every sample, up to the rounding of those terms.
    s = math.sqrt(alpha / k)
    a = m + s * np.random.default_rng(seed).standard_normal(n)
    Q = -k / 2 * (a - m) ** 2 + c
    log_q = -0.5 * ((a - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)
    V = quadratic_soft_value([[k]], [m], c, alpha)
    est = float(importance_sampled_soft_value(Q, log_q, alpha))
    # Each term carries a few eps of |Q| and of alpha |log q|; the log-sum-exp
    # adds a few eps of alpha log n.
    tol = (
        8 * EPS * (np.abs(Q).max() + alpha * np.abs(log_q).max() + abs(V) + alpha * math.log(n + 1))
    )
    assert abs(est - V) <= tol


q_rows = arrays(np.float64, st.integers(2, 4), elements=st.floats(-5, 5))


def enumerate_estimates(Q, prop, alpha, n):
    """All n-tuples of actions with their probabilities and the estimate for each."""
    A = len(Q)
    tuples = np.array(list(itertools.product(range(A), repeat=n)))
    probs = np.prod(prop[tuples], axis=1)
    est = importance_sampled_soft_value(Q[tuples], np.log(prop[tuples]), alpha)
    return probs, est


@settings(deadline=None, max_examples=40)
@given(
    Q=q_rows,
    raw=arrays(np.float64, 4, elements=st.floats(0, 1)),
    alpha=st.floats(0.1, 10),
    n=st.integers(1, 4),
)
def test_inner_average_is_unbiased_and_estimate_biased_downward_exactly(Q, raw, alpha, n):
    """Exact enumeration over all n-tuples of actions (discrete, counting measure).

    ``E[Z_hat / Z] = 1`` and ``E[V_hat] <= V`` (Jensen), with equality in the
    second only if ``q = pi*``.
    """
    prop = raw[: len(Q)] + 0.05
    prop = prop / prop.sum()
    V = float(soft_value(Q, alpha))
    probs, est = enumerate_estimates(Q, prop, alpha, n)
    ratio = np.exp((est - V) / alpha)
    # Each ratio has relative error ~ eps (|Q| + alpha |log q| + |V|) / alpha
    # from the rounding of its exponent; the weighted sum of positive terms
    # keeps that relative error (plus A^n eps for the summation).
    rel = 8 * EPS * ((np.abs(Q).max() + abs(V)) / alpha + np.abs(np.log(prop)).max() + 1)
    assert abs(float(probs @ ratio) - 1) <= rel + len(probs) * EPS
    tol = alpha * rel + len(probs) * EPS * (abs(V) + 1)
    assert float(probs @ est) <= V + tol


@settings(deadline=None, max_examples=30)
@given(Q=q_rows, alpha=st.floats(1e-3, 1e3), n=st.integers(1, 3))
@example(Q=np.array([1e8, 0.0, -1e8]), alpha=1e-12, n=3)
@example(Q=np.array([0.734375, 0.0]), alpha=1e-3, n=1)  # pi*_1 = 1.2e-319, a subnormal
def test_discrete_estimate_is_exact_for_the_soft_policy(Q, alpha, n):
    # q = pi* = soft_policy(Q, alpha): every tuple gives V exactly (up to rounding). The
    # proposal is passed in log space, log q = (Q - V) / alpha: pi* itself may be subnormal,
    # and the log of a subnormal carries fewer than 53 bits (a relative error of 1.8e-5 in
    # pi*_1 above, times alpha, is an error of 1.8e-8 in the estimate that is the test's own).
    pi = soft_policy(Q, alpha)
    support = pi > 0
    Qs = Q[support]
    V = float(soft_value(Q, alpha))
    log_q = (Qs - V) / alpha
    tuples = np.array(list(itertools.product(range(len(Qs)), repeat=n)))
    est = importance_sampled_soft_value(Qs[tuples], log_q[tuples], alpha)
    tol = 8 * EPS * (np.abs(Qs).max() + alpha * np.abs(log_q).max() + abs(V) + alpha * n)
    assert np.abs(est - V).max() <= tol


def test_bias_is_exactly_order_one_over_n_for_a_discrete_proposal():
    """Exact bias by enumerating the multinomial counts (no Monte Carlo).

    With ``xi = w/Z - 1`` under ``q`` (``sigma^2 = E xi^2 = chi2``,
    ``kappa_3 = E xi^3``) the expansion of ``E log(1 + mean xi)`` gives
    ``bias(n) = c1/n + c2/n^2 + O(n^-3)``, ``c1 = -alpha sigma^2/2``,
    ``c2 = alpha (kappa_3/3 - 3 sigma^4/4)``. So ``d(n) = n (n bias - c1) - c2``
    is ``O(1/n)``: from n to 2n it must shrink by a factor 1/2 + O(1/n)
    (measured: 0.53 from 50 to 100, 0.51 from 100 to 200; allowed 1/2 + 4/n).
    This pins both the 1/n rate and its constant exactly.
    """
    from math import lgamma

    Q = np.array([1.0, 0.0, -0.5])
    alpha = 0.7
    prop = np.array([0.2, 0.5, 0.3])
    V = float(soft_value(Q, alpha))
    xi = np.exp((Q - V) / alpha) / prop - 1  # w / Z - 1 per action
    sigma2, kappa3 = float(prop @ xi**2), float(prop @ xi**3)
    pi = soft_policy(Q, alpha)
    assert abs(sigma2 - float(np.sum(pi**2 / prop) - 1)) <= 1e-14  # sigma^2 is chi2(pi*||q)
    c1, c2 = -alpha * sigma2 / 2, alpha * (kappa3 / 3 - 3 * sigma2**2 / 4)

    def exact_bias(n: int) -> float:
        total = 0.0
        for i in range(n + 1):
            for j in range(n + 1 - i):
                k = n - i - j
                logp = (
                    lgamma(n + 1)
                    - lgamma(i + 1)
                    - lgamma(j + 1)
                    - lgamma(k + 1)
                    + i * math.log(prop[0])
                    + j * math.log(prop[1])
                    + k * math.log(prop[2])
                )
                mean_w = 1 + (i * xi[0] + j * xi[1] + k * xi[2]) / n  # Z_hat / Z
                total += math.exp(logp) * alpha * math.log(mean_w)
        return total

    biases = {n: exact_bias(n) for n in (50, 100, 200)}
    assert all(b < 0 for b in biases.values())
    d = {n: n * (n * b - c1) - c2 for n, b in biases.items()}
    for n in (50, 100):
        assert abs(d[2 * n]) <= abs(d[n]) * (0.5 + 4 / n), (n, d)


# ---------------------------------------------------------------------------
# Targets and loss
# ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=40)
@given(
    S=st.integers(1, 4),
    A=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    gamma=st.floats(0, 0.99),
    alpha=st.floats(0, 10),
)
def test_expected_sampled_target_is_the_soft_bellman_operator(S, A, seed, gamma, alpha):
    # E_{s' ~ P[s, a]} [r + gamma V_Q(s')] = R + gamma P V_Q: with the exact
    # probabilities, soft_q_target is the soft Bellman operator (docs/conventions.md section 1),
    # and averaging the table targets over every successor weighted by P agrees.
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.standard_normal((S, A))
    Q = rng.standard_normal((S, A)) * 3
    V = soft_value(Q, alpha)
    expected = R + gamma * np.einsum("sat,t->sa", P, V)
    got = soft_q_target(R, np.broadcast_to(V, (S, A, S)), gamma, probabilities=P)
    tol = 8 * EPS * (np.abs(R) + gamma * np.abs(V).max() * S)
    assert (np.abs(got - expected) <= tol).all()
    # The same through the table version, one successor at a time.
    for s2 in range(S):
        t = soft_q_target_from_table(Q, alpha, R, np.full((S, A), s2), gamma)
        np.testing.assert_allclose(
            t, R + gamma * V[s2], rtol=0, atol=4 * EPS * (np.abs(R) + abs(V[s2])).max()
        )


@settings(deadline=None, max_examples=40)
@given(
    mdp=mdps(prior=st.booleans(), termination=st.booleans()),
    alpha=st.floats(0, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_exact_expected_target_equals_the_packages_bellman_operator(mdp, alpha, seed):
    # With every successor and its probability (terminated mass contributes 0,
    # docs/conventions.md section 1) the target is (T Q)[s, a] as softq_ref.bellman_operator has it.
    S, A = mdp.num_states, mdp.num_actions
    Q = np.random.default_rng(seed).standard_normal((S, A)) * 5
    V = soft_value(Q, alpha, mdp.prior)
    got = soft_q_target(
        mdp.rewards, np.broadcast_to(V, (S, A, S)), mdp.gamma, probabilities=mdp.transitions
    )
    ref = bellman_operator(mdp, Q, alpha)
    tol = 8 * EPS * (np.abs(mdp.rewards) + mdp.gamma * np.abs(V).max() * S)
    assert (np.abs(got - ref) <= tol).all()


def test_sampled_targets_average_and_terminals():
    # r + gamma * mean of k sampled values; a terminal transition has target r.
    t = soft_q_target([1.0, 2.0], [[0.0, 4.0], [10.0, 10.0]], 0.5, terminals=[False, True])
    assert t.tolist() == [2.0, 2.0]
    # alpha = 0: the target bootstraps with max_a Q[s', a].
    t = soft_q_target_from_table([[1.0, 3.0], [2.0, -1.0]], 0.0, [0.0, 0.0], [0, 1], 1.0)
    assert t.tolist() == [3.0, 2.0]


@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e6, 1e6)), st.floats(-10, 10))
def test_soft_q_loss_is_half_mean_squared_error(q, shift):
    assert soft_q_loss(q, q) == 0.0
    # A uniform shift d gives exactly d^2 / 2 up to the rounding of q + d.
    d = soft_q_loss(q + shift, q)
    err = np.abs((q + shift) - q - shift).max()
    assert abs(d - shift**2 / 2) <= (abs(shift) + err) * err + 4 * EPS * shift**2


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: importance_sampled_soft_value([1.0], [float("nan")], 1.0), "log_proposal"),
        (lambda: importance_sampled_soft_value([1.0, 2.0], [0.0, 0.0, 0.0], 1.0), "does not match"),
        (lambda: importance_sampled_soft_value([], [], 1.0), "non-empty"),
        (lambda: importance_sampled_soft_value([1.0], [0.0], -1.0), "alpha"),
        (lambda: soft_q_target([1.0], [[1.0], [2.0]], 0.5), "next_values must have shape"),
        (lambda: soft_q_target([1.0], [1.0], 1.5), "gamma"),
        (lambda: soft_q_target([1.0], [[1.0]], 0.5, probabilities=[[-1.0]]), "probabilities"),
        (lambda: soft_q_target_from_table([[0.0]], 1.0, [0.0], [3], 0.5), "not a state"),
        (lambda: soft_q_target_from_table([[0.0]], 1.0, [0.0], [0.5], 0.5), "integer"),
        (lambda: soft_q_loss([1.0], [1.0, 2.0]), "same shape"),
        (lambda: soft_q_loss([], []), "empty"),
    ],
)
def test_bad_input_raises_invalid_argument_error(call, match):
    with pytest.raises(InvalidArgumentError, match=match) as err:
        call()
    assert type(err.value) is InvalidArgumentError  # not MDP data


if __name__ == "__main__":  # pragma: no cover - the measurement behind the rate test
    sigma2, kappa3 = xi_moments()
    c1, c2 = -sigma2 / 2, kappa3 / 3 - 3 * sigma2**2 / 4
    print(f"chi2(pi*||q) = {sigma2:.6f}; predicted bias = {c1:.5f}/n + {c2:.5f}/n^2 (alpha = 1)")
    print(f"seed {SEED}, {REPS} repetitions per n")
    print("    n   plain mean (SE)          control-variate bias (SE)   n*bias    2-term model")
    rows = measure_bias((2, 4, 8) + RATE_NS)
    for n, m, se, b, bse, _, _ in rows:
        print(
            f"{n:5d}  {m:+.3e} ({se:.1e})     {b:+.4e} ({bse:.1e})      {n * b:+.4f}   "
            f"{c1 / n + c2 / n**2:+.4e}"
        )
    rate = measure_bias(RATE_NS)  # exactly what test_bias_shrinks_like_one_over_n measures
    ns_, b_, se_ = [r[0] for r in rate], [r[3] for r in rate], [r[4] for r in rate]
    slope, se = fit_slope(ns_, b_, se_)
    model_slope, _ = fit_slope(ns_, [c1 / n + c2 / n**2 for n in ns_], se_)
    print(f"as in the test (fresh seed {SEED} stream over n = {RATE_NS}):")
    print(f"  fitted slope of log(-bias) vs log n: {slope:.4f} +- {se:.4f}")
    print(f"  two-term model slope on the same n: {model_slope:.4f}")
    print(f"  n * bias at n = {ns_[-1]}: {ns_[-1] * b_[-1]:.4f} (limit -chi2/2 = {c1:.4f})")
