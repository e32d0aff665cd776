r"""The one log-sum-exp / softmax kernel that every other module calls.

For a Q-table ``Q[..., a]``, a temperature ``alpha >= 0`` and a reference
measure ``mu[..., a] >= 0`` (the prior; all ones by default) this module
computes

.. math::

    V = \alpha \log \sum_a \mu_a \exp(Q_a / \alpha), \qquad
    \pi_a = \mu_a \exp((Q_a - V) / \alpha),

the soft value and soft-greedy policy of Haarnoja et al. (2017),
"Reinforcement Learning with Deep Energy-Based Policies", Theorems 1 and 2
(derived in ``proofs/03_soft_bellman.ipynb``). With ``alpha = 0`` they are the
hard maximum over the actions with ``mu > 0`` and the uniform distribution over
the maximising actions.

The evaluation follows Blanchard, Higham & Higham, "Accurately computing the
log-sum-exp and softmax functions", IMA J. Numer. Anal. 41 (2021): shift by the
largest exponent, sum the others, and add ``log1p`` of that sum. Every step is
written so that no finite input overflows or produces NaN, for ``alpha`` from
the smallest positive double to the largest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._validate import check_argument, first_bad_index, float_alpha
from softq_ref.errors import InvalidArgumentError

__all__ = [
    "soft_value",
    "soft_policy",
    "soft_value_and_policy",
    "policy_entropy",
    "policy_kl",
]

FloatArray = NDArray[np.float64]


def _as_q(Q: ArrayLike, name: str = "Q") -> FloatArray:
    try:
        q = np.asarray(Q, dtype=np.float64)
    except (TypeError, ValueError) as exc:  # a GPU tensor, a ragged list, text
        detail = " ".join(str(exc).split())[:80]
        raise InvalidArgumentError(
            f"{name} cannot be read as a float64 NumPy array ({detail}); pass numbers, a NumPy "
            "array or a CPU tensor"
        ) from None
    if q.ndim == 0:
        raise InvalidArgumentError(f"{name} must have an action axis, got a scalar")
    idx = first_bad_index(~np.isfinite(q))
    if idx is not None:
        raise InvalidArgumentError(
            f"{name}{list(idx)} is {float(q[idx])!r}; every entry must be finite"
        )
    return q


def _action_axis(axis: Any, q: FloatArray, name: str = "Q") -> int:
    """``axis`` as an index in ``0..q.ndim-1``; the axis must have at least one action."""
    check_argument(
        isinstance(axis, int | np.integer) and not isinstance(axis, bool | np.bool_),
        f"axis must be an integer, got {axis!r}",
    )
    check_argument(
        -q.ndim <= axis < q.ndim,
        f"axis {axis} is out of range for {name} of shape {q.shape} ({q.ndim} dimensions)",
    )
    k = int(axis) % q.ndim
    check_argument(q.shape[k] > 0, f"{name} has no actions (axis {axis} of shape {q.shape} is 0)")
    return k


def _log_prior(prior: ArrayLike | None, shape: tuple[int, ...], axis: int) -> FloatArray | None:
    """``log mu`` broadcast to ``shape``, the action ``axis`` moved last (``-inf`` where ``mu = 0``)."""
    if prior is None:
        return None
    mu = np.asarray(prior, dtype=np.float64)
    try:
        mu = np.broadcast_to(mu, shape)
    except ValueError:
        raise InvalidArgumentError(
            f"prior of shape {np.shape(prior)} does not match Q of shape {shape}"
        ) from None
    idx = first_bad_index(~np.isfinite(mu) | (mu < 0))
    if idx is not None:
        raise InvalidArgumentError(
            f"prior{list(idx)} is {float(mu[idx])!r}; weights must be finite and >= 0"
        )
    mu = np.moveaxis(mu, axis, -1)
    idx = first_bad_index(~(mu > 0).any(axis=-1))
    if idx is not None:
        where = "" if axis == len(shape) - 1 else f" along axis {axis}"
        raise InvalidArgumentError(
            f"prior{list(idx)} has no positive weight{where} (every action excluded)"
        )
    with np.errstate(divide="ignore"):
        return np.ascontiguousarray(np.log(mu))


def lse_kernel(
    q: FloatArray, alpha: float, log_mu: FloatArray | None
) -> tuple[FloatArray, FloatArray]:
    """Soft value and soft-greedy policy along the last axis (inputs already validated).

    A documented internal name: the float64 solvers and bounds call it directly
    on ``numpy.longdouble`` arrays. ``log_mu`` is ``log mu`` (``-inf`` where
    ``mu = 0``) or None for the counting measure.

    Step by step, for ``alpha > 0``:

    1. ``m = max{Q_a : mu_a > 0}`` (finite). Shifting by ``m`` first means that
       ``(Q_a - m) / alpha <= 0`` for the available actions, so nothing
       overflows however small ``alpha`` is; the difference ``Q_a - m`` may
       round to ``-inf`` only when it is below ``-1.8e308``, and then
       ``exp`` of it is 0, as it should be.
    2. ``z_a = (Q_a - m) / alpha + log mu_a``, with ``z_a = -inf`` where
       ``mu_a = 0``: such actions get exactly zero weight.
    3. ``k = argmax z``; ``s = sum_{a != k} exp(z_a - z_k)`` lies in
       ``[0, A - 1]``, so it cannot overflow.
    4. ``V = m + alpha * (z_k + log1p(s))``. Using ``log1p`` keeps full
       relative accuracy when ``s`` is tiny (one action dominating), which is
       the point of Blanchard, Higham & Higham (2021), Algorithm 2.
    5. ``pi_a = exp(z_a - z_k) / (1 + s)``, which sums to one up to rounding.

    For ``alpha = 0`` the value is ``m`` exactly and the policy is uniform over
    the available actions with ``Q_a = m`` (ties are exact comparisons).
    """
    available = np.ones(q.shape, dtype=bool) if log_mu is None else np.isfinite(log_mu)
    masked = np.where(available, q, -np.inf)
    m = masked.max(axis=-1, keepdims=True)
    if alpha == 0.0:
        ties = masked == m
        policy = ties / ties.sum(axis=-1, keepdims=True)
        return m[..., 0].copy(), policy.astype(np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        # (Q - m) is <= 0 where available; it is -inf (never NaN) where masked.
        z = (masked - m) / alpha
        if log_mu is not None:
            z = z + log_mu
        k = np.argmax(z, axis=-1)[..., None]
        zk = np.take_along_axis(z, k, axis=-1)
        w = np.exp(z - zk)  # in [0, 1], exactly 1 at k (and -inf - finite = -inf -> 0)
        s = w.sum(axis=-1, keepdims=True) - 1.0  # sum over a != k; w_k is exactly 1
        s = np.maximum(s, 0.0)
        value = m + alpha * (zk + np.log1p(s))
        policy = w / (1.0 + s)
    return value[..., 0], policy


def soft_value_and_policy(
    Q: ArrayLike, alpha: float, prior: ArrayLike | None = None, *, axis: int = -1
) -> tuple[FloatArray, FloatArray]:
    r"""Soft value and soft-greedy policy of a Q-table, in one pass.

    Parameters
    ----------
    Q : array_like, shape (..., A)
        Q-values, the actions along ``axis`` (the last by default). Every entry
        finite. Anything :func:`numpy.asarray` reads is accepted: lists, NumPy
        arrays, CPU tensors of PyTorch or JAX (a GPU tensor must be moved to
        the CPU first).
    alpha : float
        Temperature ``alpha >= 0`` (a float, an int, an exact string such as
        ``"0.1"``, or a Fraction, rounded to the nearest double).
    prior : array_like or None, optional
        The reference measure ``mu >= 0``, broadcast against ``Q`` (the same
        layout, actions along ``axis``); None is the counting measure (all
        ones). Every row needs positive mass.
    axis : int, optional
        The action axis, as in :func:`scipy.special.logsumexp` (default -1).

    Returns
    -------
    V : numpy.ndarray of float64, shape of ``Q`` without ``axis``
        ``alpha * log sum_a mu[..., a] exp(Q[..., a] / alpha)``; a 0-d array
        for a single row.
    policy : numpy.ndarray of float64, shape of ``Q``
        ``mu[..., a] exp((Q[..., a] - V) / alpha)`` along ``axis``, summing to
        1 up to rounding.

    The results are always NumPy float64 arrays, whatever ``Q`` was: convert
    them back if needed (``torch.from_numpy(V)``, ``jax.numpy.asarray(V)``).

    Raises
    ------
    InvalidArgumentError
        For a non-finite entry of ``Q``, a negative or non-finite ``alpha``, a
        prior that is negative, does not broadcast or has a row without mass;
        the message names the first offending index and its value.

    Notes
    -----
    The soft value and soft-greedy policy of Haarnoja et al. (2017), Theorems
    1 and 2 (docs/conventions.md section 1; derived in
    ``proofs/03_soft_bellman.ipynb``). ``alpha = 0`` gives the hard maximum over
    the actions with ``mu > 0`` and the uniform policy over the maximisers. The
    evaluation is the shifted log-sum-exp of Blanchard, Higham & Higham (2021),
    step by step in :func:`lse_kernel`; it never overflows for finite input.

    References
    ----------
    T. Haarnoja, H. Tang, P. Abbeel, S. Levine, "Reinforcement Learning with Deep
    Energy-Based Policies", ICML 2017.
    P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing the
    log-sum-exp and softmax functions", IMA J. Numer. Anal. 41 (2021).

    Examples
    --------
    >>> V, pi = soft_value_and_policy([[0.0, 0.0]], 1.0)
    >>> float(V[0]), pi.tolist()
    (0.6931471805599453, [[0.5, 0.5]])
    """
    a, _ = float_alpha(alpha)
    q = _as_q(Q)
    k = _action_axis(axis, q)
    # The kernel works along the last axis of a contiguous array, so that every axis
    # gives bit for bit what the last axis gives on the transposed table.
    log_mu = _log_prior(prior, q.shape, k)
    value, policy = lse_kernel(np.ascontiguousarray(np.moveaxis(q, k, -1)), a, log_mu)
    return value, np.moveaxis(policy, -1, k)


def soft_value(
    Q: ArrayLike, alpha: float, prior: ArrayLike | None = None, *, axis: int = -1
) -> FloatArray:
    r"""Soft value ``V = alpha * log sum_a mu * exp(Q / alpha)`` over the action axis.

    Parameters
    ----------
    Q : array_like, shape (..., A)
        Q-values, the actions along ``axis``; any array :func:`numpy.asarray`
        reads (lists, NumPy arrays, CPU tensors).
    alpha : float
        Temperature ``alpha >= 0``.
    prior : array_like or None, optional
        Reference measure ``mu`` (default: all ones), in the layout of ``Q``.
    axis : int, optional
        The action axis (default -1, the last), as in :func:`scipy.special.logsumexp`.

    Returns
    -------
    numpy.ndarray of float64, shape of ``Q`` without ``axis``
        The soft value; ``max_{a: mu > 0} Q`` for ``alpha = 0``. Always a NumPy
        array, whatever ``Q`` was.

    Raises
    ------
    InvalidArgumentError
        As :func:`soft_value_and_policy`.

    Notes
    -----
    The right-hand side of the soft Bellman equation, Haarnoja et al. (2017),
    Theorem 2. ``max_{mu > 0} (Q + alpha log mu) <= V <= max Q + alpha log sum mu``
    (docs/conventions.md section 1). See :func:`soft_value_and_policy` for the
    method and references.

    Examples
    --------
    >>> float(soft_value([1.0, 1.0], 0.0)), float(soft_value([1e8, 0.0], 1e-12))
    (1.0, 100000000.0)
    >>> soft_value([[1.0, 2.0], [1.0, 2.0]], 0.0, axis=0).tolist()  # actions along axis 0
    [1.0, 2.0]
    """
    return soft_value_and_policy(Q, alpha, prior, axis=axis)[0]


def soft_policy(
    Q: ArrayLike, alpha: float, prior: ArrayLike | None = None, *, axis: int = -1
) -> FloatArray:
    r"""Soft-greedy policy ``pi = mu * exp((Q - V) / alpha)`` over the action axis.

    Parameters
    ----------
    Q : array_like, shape (..., A)
        Q-values, the actions along ``axis``; any array :func:`numpy.asarray`
        reads (lists, NumPy arrays, CPU tensors).
    alpha : float
        Temperature ``alpha >= 0``.
    prior : array_like or None, optional
        Reference measure ``mu`` (default: all ones), in the layout of ``Q``.
    axis : int, optional
        The action axis (default -1, the last).

    Returns
    -------
    numpy.ndarray of float64, shape of ``Q``
        The policy, summing to 1 along ``axis``; for ``alpha = 0`` uniform over
        the maximising actions with ``mu > 0``. Always a NumPy array.

    Raises
    ------
    InvalidArgumentError
        As :func:`soft_value_and_policy`.

    Notes
    -----
    Haarnoja et al. (2017), Theorem 1. It is also the gradient of
    :func:`soft_value` with respect to ``Q``.

    Examples
    --------
    >>> soft_policy([2.0, 1.0, 2.0], 0.0).tolist()
    [0.5, 0.0, 0.5]
    """
    return soft_value_and_policy(Q, alpha, prior, axis=axis)[1]


def _as_policy(policy: ArrayLike) -> FloatArray:
    p = np.asarray(policy, dtype=np.float64)
    idx = first_bad_index(~np.isfinite(p) | (p < 0))
    if idx is not None:
        raise InvalidArgumentError(
            f"policy{list(idx)} is {float(p[idx])!r}; must be finite and >= 0"
        )
    return p


def policy_kl(policy: ArrayLike, prior: ArrayLike | None = None) -> FloatArray:
    r"""``KL(pi || mu)(s) = sum_a pi(a|s) log(pi(a|s) / mu[s, a])``, with ``0 log 0 = 0``.

    Parameters
    ----------
    policy : array_like, shape (..., A)
        A policy, entries finite and ``>= 0``.
    prior : array_like or None, optional
        Reference measure ``mu`` (default: all ones, the counting measure).

    Returns
    -------
    ndarray, shape (...)
        The divergence; ``+inf`` where ``pi > 0`` but ``mu = 0``.

    Raises
    ------
    InvalidArgumentError
        For a negative or non-finite entry of ``policy``.

    Notes
    -----
    With the counting measure this is minus the Shannon entropy. It is the
    quantity ``-H_mu(pi)`` of docs/conventions.md section 1.

    Examples
    --------
    >>> float(policy_kl([1.0, 0.0]))
    0.0
    """
    p = _as_policy(policy)
    mu = np.ones_like(p) if prior is None else np.broadcast_to(np.asarray(prior, float), p.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(mu)), 0.0)
    return terms.sum(axis=-1)


def policy_entropy(policy: ArrayLike, prior: ArrayLike | None = None) -> FloatArray:
    r"""``H_mu(pi)(s) = -sum_a pi(a|s) log(pi(a|s) / mu[s, a])`` (docs/conventions.md section 1).

    Parameters
    ----------
    policy : array_like, shape (..., A)
        A policy, entries finite and ``>= 0``.
    prior : array_like or None, optional
        Reference measure ``mu`` (default: all ones, the counting measure).

    Returns
    -------
    ndarray, shape (...)
        The entropy relative to ``mu``.

    Raises
    ------
    InvalidArgumentError
        For a negative or non-finite entry of ``policy``.

    Notes
    -----
    The Shannon entropy for the counting measure; minus the KL divergence to
    ``mu`` when ``mu`` is a probability vector.

    Examples
    --------
    >>> float(policy_entropy([0.5, 0.5]))  # log 2
    0.6931471805599453
    """
    return -policy_kl(policy, prior)
