"""The log-sum-exp kernel: bounds, gradient, exact alpha = 0, no overflow, priors."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from mpmath import mp

from softq_ref import (
    InvalidArgumentError,
    policy_entropy,
    soft_policy,
    soft_value,
    soft_value_and_policy,
)
from softq_ref.strategies import distributions, temperatures

from helpers import EPS, U64, kernel_error_bound

finite_rows = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=n, max_size=n).map(np.array)
)
any_finite_rows = st.integers(1, 5).flatmap(
    lambda n: st.lists(
        st.floats(allow_nan=False, allow_infinity=False), min_size=n, max_size=n
    ).map(np.array)
)
extreme_alphas = st.sampled_from([0.0, 5e-324, 1e-300, 1e-12, 1.0, 1e12, 1e300, 1.7e308])


def kernel_allowance(q: np.ndarray, v: float, alpha: float, mu: np.ndarray | None = None) -> float:
    """A-priori bound on the kernel's rounding error, derived in ``helpers.kernel_error_bound``
    (not the package's own allowance, which a bug could inflate)."""
    return float(kernel_error_bound(q[None, :], np.array([v]), alpha, mu)[0])


def mp_lse(q, alpha, mu=None):
    """Reference soft value at 50 digits (exact binary inputs)."""
    with mp.workdps(50):
        qs = [mp.mpf(float(x)) for x in q]
        ws = [1 if mu is None else mp.mpf(float(m)) for m in (mu if mu is not None else q)]
        a = mp.mpf(alpha)
        m = max(x for x, w in zip(qs, ws, strict=True) if w > 0)
        if alpha == 0:
            return m
        return m + a * mp.log(
            mp.fsum(w * mp.exp((x - m) / a) for x, w in zip(qs, ws, strict=True) if w > 0)
        )


@given(finite_rows, temperatures(1e-6, 1e6))
@example(np.array([1e8, 1e-8]), 1e-12)
@example(np.array([0.0, 0.0, 0.0]), 1e-6)
def test_soft_value_lies_between_max_and_max_plus_alpha_log_a(q, alpha):
    v = float(soft_value(q, alpha))
    tol = kernel_allowance(q, v, alpha)
    assert q.max() - tol <= v <= q.max() + alpha * math.log(len(q)) + tol


def mp_policy(q, alpha):
    """Reference soft-greedy policy at 50 digits (alpha > 0)."""
    with mp.workdps(50):
        qs = [mp.mpf(float(x)) for x in q]
        m = max(qs)
        w = [mp.exp((x - m) / mp.mpf(alpha)) for x in qs]
        z = mp.fsum(w)
        return [float(x / z) for x in w]


@given(finite_rows, temperatures(1e-6, 1e6) | temperatures(1e-300, 1e-6, zero=False))
@example(np.array([1e8, 1e-8, -3.0]), 1e-12)
@example(np.array([1.0, 2.0]), 1e6)
@example(np.array([0.0, 0.0, 0.0]), 1e-12)  # V* = 1e-12 log 3, not the hard max 0
@example(np.array([0.0, 1e-13]), 1e-12)  # near-tie: pi* ~ (0.475, 0.525), not one-hot
@example(np.array([5.0, 5.0]), 1e-300)
def test_soft_value_and_policy_match_fifty_digit_reference_within_the_derived_bound(q, alpha):
    v, pi = soft_value_and_policy(q, alpha)
    err = abs(mpmath.mpf(float(v)) - mp_lse(q, alpha))
    assert err <= kernel_allowance(q, float(v), alpha)
    if alpha > 0:
        # |pi_a - pi*_a| <= (A + 8) eps: see test_gradient_of_soft_value_is_the_soft_policy
        assert np.abs(pi - mp_policy(q, alpha)).max() <= (len(q) + 8) * EPS


@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-50, 50, allow_nan=False), min_size=n, max_size=n).map(np.array),
            distributions(n),
        )
    ),
    temperatures(1e-3, 1e3, zero=False),
)
def test_soft_value_with_prior_lies_between_its_bounds(q_mu, alpha):
    q, mu = q_mu
    v = float(soft_value(q, alpha, mu))
    tol = kernel_allowance(q, v, alpha, mu)
    pos = mu > 0
    lower = (q[pos] + alpha * np.log(mu[pos])).max()
    upper = q[pos].max() + alpha * math.log(mu.sum())
    assert lower - tol <= v <= upper + tol


@given(any_finite_rows, extreme_alphas)
@example(np.array([1.7e308, -1.7e308]), 5e-324)
@example(np.array([-1.7e308, -1.7e308]), 1.7e308)
def test_soft_value_and_policy_never_overflow_or_give_nan_for_finite_input(q, alpha):
    with np.errstate(all="raise"):
        v, pi = soft_value_and_policy(q, alpha)
    assert np.isfinite(v) or (alpha > 1e307 and np.isinf(v) and v > 0)
    assert np.all(np.isfinite(pi)) and np.all(pi >= 0)
    assert abs(pi.sum() - 1) <= (len(q) + 2) * EPS


@given(finite_rows)
@example(np.array([2.0, 1.0, 2.0]))
def test_alpha_zero_is_the_exact_max_and_uniform_over_ties(q):
    v, pi = soft_value_and_policy(q, 0.0)
    assert v == q.max()
    ties = q == q.max()
    assert np.all(pi[~ties] == 0.0)
    assert np.all(pi[ties] == 1.0 / ties.sum())


@given(finite_rows, st.integers(1, 30))
def test_soft_value_tends_to_max_as_alpha_tends_to_zero(q, k):
    alpha = 10.0**-k
    v = float(soft_value(q, alpha))
    # max <= V <= max + alpha log A; both ends are within rounding of each other
    assert 0 <= v - q.max() + kernel_allowance(q, v, alpha)
    assert v - q.max() <= alpha * math.log(len(q)) + kernel_allowance(q, v, alpha)


@given(finite_rows.filter(lambda q: len(q) >= 2))
def test_soft_value_tends_to_mean_plus_alpha_log_a_as_alpha_tends_to_infinity(q):
    # V - alpha log A - mean(Q) = alpha * log(mean exp((Q - mean)/alpha)) lies in
    # [0, spread^2 / (2 alpha)] (Hoeffding's lemma), spread = max - min.
    alpha = 1e9
    v = float(soft_value(q, alpha))
    gap = v - alpha * math.log(len(q)) - q.mean()
    spread = float(q.max() - q.min())
    rounding = 8 * U64 * (abs(v) + alpha * math.log(len(q)) + abs(q).max()) * len(q)
    assert -rounding <= gap <= spread**2 / (8 * alpha) + rounding


@given(
    st.integers(1, 4).flatmap(
        lambda n: st.lists(st.floats(-20, 20, allow_nan=False), min_size=n, max_size=n).map(
            np.array
        )
    ),
    temperatures(1e-2, 1e2, zero=False),
)
def test_gradient_of_soft_value_is_the_soft_policy(q, alpha):
    pi = soft_policy(q, alpha)
    with mp.workdps(40):
        for a in range(len(q)):

            def f(x, a=a):
                qq = [mp.mpf(float(v)) for v in q]
                qq[a] = x
                m = max(qq)
                return m + alpha * mp.log(mp.fsum(mp.exp((y - m) / alpha) for y in qq))

            grad = mp.diff(f, mp.mpf(float(q[a])))
            # |pi_a computed - pi_a| <= (A + 8) eps: exp of an argument with abs error
            # 3 eps |z_a - z_k| moves pi_a by pi_a * 3 eps |z_a - z_k| <= 3 eps / e, plus the
            # sum and division (A + 2) eps.
            assert abs(float(grad) - pi[a]) <= (len(q) + 8) * EPS


@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-50, 50, allow_nan=False), min_size=n, max_size=n).map(np.array),
            distributions(n),
        )
    ),
    temperatures(1e-3, 1e3),
)
def test_actions_with_zero_prior_weight_get_exactly_zero_probability(q_mu, alpha):
    q, mu = q_mu
    pi = soft_policy(q, alpha, mu)
    assert np.all(pi[mu == 0] == 0.0)
    # and Q at those actions does not matter at all
    q2 = np.where(mu == 0, 1e300, q)
    assert soft_value(q2, alpha, mu) == soft_value(q, alpha, mu)


@given(finite_rows, temperatures(1e-3, 1e3, zero=False))
def test_soft_value_equals_expected_q_plus_alpha_times_entropy_of_soft_policy(q, alpha):
    v, pi = soft_value_and_policy(q, alpha)
    rhs = float(pi @ q + alpha * policy_entropy(pi))
    # pi has absolute error <= (A + 8) eps per entry (see the gradient test), which moves
    # pi@q by (A + 8) eps A max|q - V| and alpha H by alpha * (A + 8) eps A (|log pi| + 1) at
    # most where pi >= eps; entries below eps contribute at most A eps (|log eps| + 1) alpha.
    A = len(q)
    tol = (A + 8) * EPS * A * (2 * abs(q).max() + abs(v) + alpha * (40 + math.log(A)))
    assert abs(float(v) - rhs) <= tol + kernel_allowance(q, float(v), alpha)


def test_soft_value_adds_a_constant_exactly_for_alpha_zero_and_within_rounding_otherwise():
    q = np.array([0.25, -3.0, 7.5])
    assert soft_value(q + 4.0, 0.0) == soft_value(q, 0.0) + 4.0
    v, v4 = float(soft_value(q, 0.5)), float(soft_value(q + 4.0, 0.5))
    assert abs(v4 - (v + 4.0)) <= 2 * kernel_allowance(q + 4.0, v4, 0.5)


@pytest.mark.parametrize(
    ("q", "alpha", "prior", "needle"),
    [
        ([1.0, float("nan")], 1.0, None, "Q[1] is nan"),
        ([1.0, float("inf")], 1.0, None, "Q[1] is inf"),
        ([1.0, 2.0], -1.0, None, "alpha is -1.0; the temperature must be >= 0"),
        ([1.0, 2.0], float("nan"), None, "alpha is nan; every number must be finite"),
        ([1.0, 2.0], 1.0, [0.0, 0.0], "prior[] has no positive weight"),
        ([1.0, 2.0], 1.0, [1.0, -1.0], "prior[1] is -1.0"),
        ([[1.0, 2.0]], 1.0, [1.0, 1.0, 1.0], "does not match Q of shape (1, 2)"),
        (5.0, 1.0, None, "must have an action axis"),
    ],
)
def test_bad_kernel_input_raises_invalid_argument_error_naming_the_entry(q, alpha, prior, needle):
    with pytest.raises(InvalidArgumentError) as err:
        soft_value(q, alpha, prior)
    assert type(err.value) is InvalidArgumentError  # not MDP data
    assert needle in str(err.value)


# --- The action axis and foreign arrays (issue 15, point 4).

q_tables_nd = st.integers(1, 3).flatmap(
    lambda ndim: st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim).flatmap(
        lambda shape: st.lists(
            st.floats(-1e6, 1e6, allow_nan=False),
            min_size=math.prod(shape),
            max_size=math.prod(shape),
        ).map(lambda xs: np.array(xs).reshape(shape))
    )
)


@given(q_tables_nd, extreme_alphas, st.data())
def test_any_axis_gives_bit_for_bit_the_last_axis_result_on_the_moved_table(q, alpha, data):
    axis = data.draw(st.integers(-q.ndim, q.ndim - 1), label="axis")
    moved = np.moveaxis(q, axis, -1)
    V, pi = soft_value_and_policy(q, alpha, axis=axis)
    V_ref, pi_ref = soft_value_and_policy(moved, alpha)
    assert V.shape == V_ref.shape and np.array_equal(V, V_ref)
    assert pi.shape == q.shape and np.array_equal(np.moveaxis(pi, axis, -1), pi_ref)
    assert np.array_equal(soft_value(q, alpha, axis=axis), V_ref)
    assert np.array_equal(soft_policy(q, alpha, axis=axis), pi)


@given(q_tables_nd.filter(lambda q: q.ndim == 2), temperatures(1e-3, 1e3), st.data())
def test_axis_0_of_a_table_is_axis_minus_1_of_its_transpose_with_a_prior(q, alpha, data):
    mu = data.draw(
        st.lists(
            distributions(q.shape[0], allow_zeros=True), min_size=q.shape[1], max_size=q.shape[1]
        ).map(lambda rows: np.array(rows).T),
        label="prior",
    )  # mu[a, s]: the layout of q, actions along axis 0
    V, pi = soft_value_and_policy(q, alpha, mu, axis=0)
    V_ref, pi_ref = soft_value_and_policy(q.T, alpha, mu.T)
    assert np.array_equal(V, V_ref) and np.array_equal(pi, pi_ref.T)


class _Tensor:
    """A stand-in for a CPU tensor of another library: it converts through ``__array__``."""

    def __init__(self, data):
        self._data = data

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._data, dtype=dtype)


class _GpuTensor:
    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert cuda:0 device type tensor to numpy")


def test_any_array_numpy_can_read_is_accepted_and_numpy_float64_comes_back():
    q = [[1.0, 2.0], [0.5, 0.25]]
    V, pi = soft_value_and_policy(_Tensor(np.array(q, dtype=np.float32)), 0.5)
    V_ref, pi_ref = soft_value_and_policy(np.array(q, dtype=np.float32).astype(np.float64), 0.5)
    assert type(V) is np.ndarray and V.dtype == np.float64 and np.array_equal(V, V_ref)
    assert type(pi) is np.ndarray and pi.dtype == np.float64 and np.array_equal(pi, pi_ref)
    assert soft_value([1.0, 2.0], 1.0).shape == ()  # one row: a 0-d array


@pytest.mark.parametrize(
    ("q", "axis", "needle"),
    [
        ([[1.0, 2.0]], 2, "axis 2 is out of range for Q of shape (1, 2) (2 dimensions)"),
        ([[1.0, 2.0]], -3, "axis -3 is out of range"),
        ([[1.0, 2.0]], 1.0, "axis must be an integer, got 1.0"),
        ([[1.0, 2.0]], True, "axis must be an integer, got True"),
        (np.zeros((2, 0)), -1, "Q has no actions (axis -1 of shape (2, 0) is 0)"),
        (np.zeros((0, 2)), 0, "Q has no actions (axis 0 of shape (0, 2) is 0)"),
        (_GpuTensor(), -1, "Q cannot be read as a float64 NumPy array (can't convert cuda:0"),
        ([[1.0, 2.0], [3.0]], -1, "Q cannot be read as a float64 NumPy array"),
    ],
)
def test_a_bad_axis_or_unreadable_array_gets_a_one_line_message(q, axis, needle):
    with pytest.raises(InvalidArgumentError) as err:
        soft_value(q, 1.0, axis=axis)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_prior_row_without_mass_along_axis_0_is_named():
    with pytest.raises(
        InvalidArgumentError, match=r"prior\[1\] has no positive weight along axis 0"
    ):
        soft_value(np.zeros((2, 3)), 1.0, [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]], axis=0)
