r"""The learning pieces of soft Q-learning, as reference computations.

Haarnoja et al. (2017), "Reinforcement Learning with Deep Energy-Based
Policies", Section 3.2, fit a soft Q-function from samples. For a given Q
(a table or any function of the action) and a batch of samples, this module
computes exactly what such an implementation should compute:

* :func:`importance_sampled_soft_value`: the soft value estimated with a
  proposal ``q`` (Section 3.2),

  ``V_hat = alpha log( (1/n) sum_i mu(a_i) exp(Q(a_i)/alpha) / q(a_i) )``,
  ``a_i ~ q`` independent;

* :func:`soft_q_target`: the target ``r + gamma E[V(s')]`` (Section 3.2), given
  values of the next states (samples, or all successors with their
  probabilities); :func:`soft_q_target_from_table` forms ``V(s')`` from a
  Q-table with :func:`softq_ref.soft_value`;
* :func:`soft_q_loss`: ``J_Q = mean 1/2 (target - Q)^2``.

Statistics of the estimate (asserted in ``tests/continuous/test_learning.py``), with
``Z = int mu exp(Q/alpha)`` and ``w = mu exp(Q/alpha) / q``:

* the inner average ``Z_hat = (1/n) sum w_i`` is unbiased, ``E[Z_hat] = Z``;
* ``V_hat = alpha log Z_hat`` is exact (zero variance) when ``q = pi*``,
  because then every ``w_i = Z``;
* it is consistent (``Z_hat -> Z`` almost surely as ``n`` grows);
* it is biased downward for finite ``n`` (Jensen: ``E log Z_hat <= log Z``),
  and by a second-order expansion of ``log`` around ``Z``,
  ``E[V_hat] - V = -alpha chi2(pi* || q) / (2 n) + O(1/n^2)``, where
  ``chi2(pi* || q) = Var_q(w) / Z^2`` is the chi-square divergence.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._validate import first_bad_index, float_alpha
from softq_ref.errors import InvalidArgumentError
from softq_ref.logsumexp import soft_value

__all__ = [
    "importance_sampled_soft_value",
    "soft_q_target",
    "soft_q_target_from_table",
    "soft_q_loss",
]

FloatArray = NDArray[np.float64]


def _finite(x: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    idx = first_bad_index(~np.isfinite(arr))
    if idx is not None:
        raise InvalidArgumentError(f"{name}{list(idx)} is {float(arr[idx])!r}; must be finite")
    return arr


def _gamma(gamma: Any) -> float:
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"gamma must be a real number, got {gamma!r}") from None
    if not (math.isfinite(g) and 0 <= g <= 1):
        raise InvalidArgumentError(f"gamma must be in [0, 1], got {gamma!r}")
    return g


def importance_sampled_soft_value(
    q_values: ArrayLike,
    log_proposal: ArrayLike,
    alpha: float,
    *,
    prior: ArrayLike | None = None,
) -> FloatArray:
    r"""Importance-sampled soft value, ``alpha log mean_i mu(a_i) exp(Q(a_i)/alpha) / q(a_i)``.

    Parameters
    ----------
    q_values : array_like, shape (..., n)
        ``Q(s, a_i)`` at ``n`` samples on the last axis.
    log_proposal : array_like, shape (..., n)
        ``log q(a_i)``, the proposal's log density (or log probability).
    alpha : float
        Temperature ``alpha >= 0``.
    prior : array_like, optional
        ``mu(a_i)``, the reference measure at the samples (default 1).

    Returns
    -------
    ndarray, shape (...)
        The estimate of ``V(s)``.

    Raises
    ------
    InvalidArgumentError
        For shapes that do not match, an empty sample axis, a non-finite entry or
        a bad ``alpha``.

    Notes
    -----
    Haarnoja et al. (2017), Section 3.2: ``V(s) = alpha log E_q[exp(Q(s, a)/alpha) / q(a)]``,
    estimated with the samples ``a_1..a_n ~ q`` on the last axis:
    ``q_values[..., i] = Q(s, a_i)`` and ``log_proposal[..., i] = log q(a_i)``
    (a log density for continuous actions, a log probability for discrete
    ones). ``prior[..., i] = mu(a_i)`` is the reference measure at the samples
    (default 1: the Lebesgue measure, or the counting measure for discrete
    actions, as in docs/conventions.md section 1).

    Computed in log space with the package's one log-sum-exp kernel:
    ``V_hat = soft_value(Q - alpha log q, alpha, prior) - alpha log n``; no
    ``exp(Q/alpha)`` or ``1/q`` is ever formed, so nothing overflows.
    ``alpha = 0`` gives ``max_i Q(a_i)`` (over ``mu > 0``), the limit.

    Statistics (see the module docstring; tested): exact when ``q = pi*``,
    consistent, biased downward by ``alpha chi2(pi* || q) / (2 n) + O(1/n^2)``.

    References
    ----------
    T. Haarnoja, H. Tang, P. Abbeel, S. Levine, "Reinforcement Learning with Deep
    Energy-Based Policies", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal(5)  # q = N(0, 1) = pi* for Q(a) = -a^2/2, alpha = 1
    >>> log_q = -a**2 / 2 - 0.5 * np.log(2 * np.pi)
    >>> round(float(importance_sampled_soft_value(-a**2 / 2, log_q, 1.0)), 13)  # log sqrt(2 pi)
    0.9189385332047
    """
    a, _ = float_alpha(alpha)
    q = _finite(q_values, "q_values")
    lq = _finite(log_proposal, "log_proposal")
    if q.ndim == 0 or q.shape[-1] == 0:
        raise InvalidArgumentError(f"q_values needs a non-empty sample axis, got shape {q.shape}")
    try:
        q, lq = np.broadcast_arrays(q, lq)
    except ValueError:
        raise InvalidArgumentError(
            f"log_proposal of shape {np.shape(log_proposal)} does not match "
            f"q_values of shape {np.shape(q_values)}"
        ) from None
    n = q.shape[-1]
    # Fold the importance weight 1/q into the exponent: Q/alpha - log q = (Q - alpha log q)/alpha.
    z = q - a * lq if a > 0 else q
    return np.asarray(soft_value(z, a, prior) - a * math.log(n), dtype=np.float64)


def soft_q_target(
    rewards: ArrayLike,
    next_values: ArrayLike,
    gamma: float,
    *,
    probabilities: ArrayLike | None = None,
    terminals: ArrayLike | None = None,
) -> FloatArray:
    r"""Soft Q target ``r + gamma E[V(s')]`` (Haarnoja et al. 2017, Section 3.2).

    Parameters
    ----------
    rewards : array_like, shape (...)
        The batch of rewards.
    next_values : array_like, shape (..., k) or (...)
        ``V(s')`` for ``k`` successors per batch entry.
    gamma : float
        Discount, ``0 <= gamma <= 1``.
    probabilities : array_like, shape (..., k), optional
        Weights of the successors (default: equal weights).
    terminals : array_like of bool, shape (...), optional
        Transitions that end the episode (no bootstrap).

    Returns
    -------
    ndarray, shape (...)
        The targets ``r + gamma E[V(s')]``.

    Raises
    ------
    InvalidArgumentError
        For shapes that do not match, non-finite entries, negative probabilities
        or a bad ``gamma``.

    Notes
    -----
    ``rewards`` has the batch shape ``(...)``; ``next_values`` has shape
    ``(..., k)``: ``k`` values ``V(s')`` per batch entry, averaged with equal
    weights (``k`` sampled next states; ``k = 1`` is the usual one-sample
    target) or with ``probabilities`` of the same shape (all successors with
    their transition probabilities: the exact expectation, which is the soft
    Bellman operator of docs/conventions.md section 1). ``next_values`` of the batch shape
    (no ``k`` axis) is read as ``k = 1``. ``terminals`` (bool, batch shape)
    marks transitions that end the episode: no bootstrap there.

    Examples
    --------
    >>> soft_q_target([1.0, 0.0], [[2.0, 4.0], [1.0, 1.0]], 0.5, terminals=[False, True]).tolist()
    [2.5, 0.0]
    """
    g = _gamma(gamma)
    r = _finite(rewards, "rewards")
    v = _finite(next_values, "next_values")
    if v.shape == r.shape:
        v = v[..., None]
    if v.ndim == 0 or v.shape[:-1] != r.shape or v.shape[-1] == 0:
        raise InvalidArgumentError(
            f"next_values must have shape {r.shape} or {r.shape} + (k,), got {v.shape}"
        )
    if probabilities is None:
        expected = v.mean(axis=-1)
    else:
        p = _finite(probabilities, "probabilities")
        if p.shape != v.shape:
            raise InvalidArgumentError(
                f"probabilities must have the shape of next_values {v.shape}, got {p.shape}"
            )
        idx = first_bad_index(p < 0)
        if idx is not None:
            raise InvalidArgumentError(
                f"probabilities{list(idx)} is {float(p[idx])!r}; must be >= 0"
            )
        expected = (p * v).sum(axis=-1)
    if terminals is not None:
        t = np.asarray(terminals, dtype=bool)
        if t.shape != r.shape:
            raise InvalidArgumentError(f"terminals must have shape {r.shape}, got {t.shape}")
        expected = np.where(t, 0.0, expected)
    return np.asarray(r + g * expected, dtype=np.float64)


def soft_q_target_from_table(
    Q: ArrayLike,
    alpha: float,
    rewards: ArrayLike,
    next_states: ArrayLike,
    gamma: float,
    *,
    prior: ArrayLike | None = None,
    terminals: ArrayLike | None = None,
) -> FloatArray:
    r"""Sampled soft Q target ``r_j + gamma V_Q(s'_j)`` for a Q-table ``Q[s, a]``.

    Parameters
    ----------
    Q : array_like, shape (S, A)
        The Q-table.
    alpha : float
        Temperature ``alpha >= 0``.
    rewards : array_like, shape (...)
        The batch of rewards.
    next_states : array_like of int, shape (...) or (..., k)
        Indices of the next states.
    gamma : float
        Discount, ``0 <= gamma <= 1``.
    prior : array_like, shape (S, A), optional
        Reference measure ``mu`` (default all ones).
    terminals : array_like of bool, shape (...), optional
        Transitions that end the episode.

    Returns
    -------
    ndarray, shape (...)
        The sampled targets.

    Raises
    ------
    InvalidArgumentError
        For a ``Q`` that is not a table, next states that are not state indices,
        or as :func:`soft_q_target`.

    Notes
    -----
    ``V_Q(s') = alpha log sum_a mu[s', a] exp(Q[s', a]/alpha)`` is
    :func:`softq_ref.soft_value` (Haarnoja et al. 2017, Theorem 2);
    ``next_states`` holds integer state indices of shape ``rewards.shape`` or
    ``rewards.shape + (k,)`` (then averaged, as in :func:`soft_q_target`).
    Its expectation over ``s' ~ P[s, a, .]`` is the soft Bellman operator
    ``(T Q)[s, a]``.

    Examples
    --------
    >>> soft_q_target_from_table([[0.0, 0.0], [1.0, 1.0]], 0.0, [0.5], [1], 0.9).tolist()
    [1.4]
    """
    Qt = _finite(Q, "Q")
    if Qt.ndim != 2:
        raise InvalidArgumentError(f"Q must be a table Q[s, a], got shape {Qt.shape}")
    V = soft_value(Qt, alpha, prior)
    s_next = np.asarray(next_states)
    if s_next.dtype.kind not in "iu":
        raise InvalidArgumentError(f"next_states must be integer state indices, got {s_next.dtype}")
    idx = first_bad_index((s_next < 0) | (s_next >= Qt.shape[0]))
    if idx is not None:
        raise InvalidArgumentError(
            f"next_states{list(idx)} is {int(s_next[idx])}, not a state of Q (0..{Qt.shape[0] - 1})"
        )
    return soft_q_target(rewards, V[s_next], gamma, terminals=terminals)


def soft_q_loss(targets: ArrayLike, q_values: ArrayLike) -> float:
    r"""``J_Q = mean 1/2 (target - Q)^2`` over the batch (Haarnoja et al. 2017, Section 3.2).

    Parameters
    ----------
    targets : array_like, shape (...)
        The targets (constants).
    q_values : array_like, shape (...)
        The Q-values of the batch, the shape of ``targets``.

    Returns
    -------
    float
        ``mean 1/2 (target - Q)^2``.

    Raises
    ------
    InvalidArgumentError
        For shapes that differ, an empty batch or a non-finite entry.

    Notes
    -----
    The targets are constants (no gradient flows through them in the paper's
    algorithm); the gradient with respect to ``q_values`` is
    ``(q_values - targets) / batch_size``.

    Examples
    --------
    >>> soft_q_loss([1.0, 2.0], [0.0, 2.0])
    0.25
    """
    t = _finite(targets, "targets")
    q = _finite(q_values, "q_values")
    if t.shape != q.shape:
        raise InvalidArgumentError(
            f"targets {t.shape} and q_values {q.shape} must have the same shape"
        )
    if t.size == 0:
        raise InvalidArgumentError("the batch is empty")
    return float(np.mean(0.5 * (t - q) ** 2))
