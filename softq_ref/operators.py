"""The soft Bellman operators and exact soft policy evaluation (float64).

All functions take a :class:`~softq_ref.FiniteMDP` and float64 arrays indexed
``Q[s, a]``, ``V[s]``, ``policy[s, a]`` (docs/conventions.md section 1), and use the one
log-sum-exp kernel of :mod:`softq_ref.logsumexp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._linalg import identity_minus, matvec, policy_matrix, solve
from softq_ref._validate import check_mdp, first_bad_index, float_alpha
from softq_ref.errors import InvalidArgumentError
from softq_ref.logsumexp import policy_entropy, soft_value
from softq_ref.mdp import FiniteMDP, row_sum_tolerance

__all__ = [
    "bellman_operator",
    "policy_operator",
    "evaluate_policy",
    "expected_next_value",
    "policy_transitions",
    "PolicyEvaluation",
]

FloatArray = NDArray[np.float64]


def check_q(mdp: FiniteMDP, Q: ArrayLike, name: str = "Q") -> FloatArray:
    """``Q`` as a finite float64 array of shape ``(S, A)``, or :class:`InvalidArgumentError`."""
    q = np.asarray(Q, dtype=np.float64)
    shape = (mdp.num_states, mdp.num_actions)
    if q.shape != shape:
        raise InvalidArgumentError(f"{name} must have shape {shape} (S, A), got {q.shape}")
    idx = first_bad_index(~np.isfinite(q))
    if idx is not None:
        raise InvalidArgumentError(f"{name}{list(idx)} is {float(q[idx])!r}; must be finite")
    return q


def check_policy(mdp: FiniteMDP, policy: ArrayLike) -> FloatArray:
    """A stochastic ``policy[s, a]`` that puts no mass on actions with ``mu = 0``."""
    p = check_q(mdp, policy, "policy")
    idx = first_bad_index(p < 0)
    if idx is not None:
        raise InvalidArgumentError(f"policy{list(idx)} is {float(p[idx])!r}; must be >= 0")
    tol = row_sum_tolerance(mdp.num_actions)
    sums = p.sum(axis=1)
    off = np.abs(sums - 1) > tol
    if off.any():
        s = int(np.argmax(off))
        raise InvalidArgumentError(f"policy[{s}, :] sums to {float(sums[s])!r}, not 1")
    if mdp.prior is not None:
        idx = first_bad_index((mdp.prior == 0) & (p > 0))
        if idx is not None:
            raise InvalidArgumentError(
                f"policy{list(idx)} is {float(p[idx])!r} but prior{list(idx)} is 0 "
                "(an unavailable action)"
            )
    return p


def expected_next_value(mdp: FiniteMDP, V: ArrayLike) -> FloatArray:
    """``(P V)[s, a] = sum_s' P[s, a, s'] V[s']``, one matrix-vector product.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP.
    V : array_like, shape (S,)
        Values of the next states.

    Returns
    -------
    ndarray, shape (S, A)
        The expected next value of each state-action pair.

    Examples
    --------
    >>> mdp = FiniteMDP([[[0.5, 0.5]], [[0.0, 1.0]]], [[0.0], [0.0]], 0.5)
    >>> expected_next_value(mdp, [2.0, 4.0]).tolist()
    [[3.0], [4.0]]
    """
    S, A = mdp.num_states, mdp.num_actions
    v = np.asarray(V, dtype=np.float64)
    return matvec(mdp.transition_matrix(), v).reshape(S, A)


def policy_transitions(mdp: FiniteMDP, policy: ArrayLike) -> FloatArray:
    """The state-to-state transitions of a policy, ``P_pi[s, s'] = sum_a pi(a|s) P[s, a, s']``.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP.
    policy : array_like, shape (S, A)
        The policy ``pi(a|s)``.

    Returns
    -------
    ndarray or SciPy CSR array, shape (S, S)
        ``P_pi``: dense for dense transitions, CSR for sparse ones
        (:attr:`FiniteMDP.is_sparse`).

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]], [[0, 0], [0, 0]], 0.5)
    >>> policy_transitions(mdp, [[0.5, 0.5], [1.0, 0.0]]).tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    p = np.asarray(policy, dtype=np.float64)
    if mdp.is_sparse:
        return policy_matrix(mdp.transitions, p, mdp.num_actions)
    return np.matmul(p[:, None, :], mdp.transitions)[:, 0, :]


def bellman_operator(mdp: FiniteMDP, Q: ArrayLike, alpha: float) -> FloatArray:
    r"""The soft Bellman optimality operator ``T``.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP (infinite or finite horizon: ``T`` is one backup either way).
    Q : array_like, shape (S, A)
        A Q-table, every entry finite.
    alpha : float
        Temperature ``alpha >= 0``.

    Returns
    -------
    ndarray, shape (S, A)
        ``(T Q)[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] V_Q(s')``.

    Raises
    ------
    InvalidArgumentError
        For a ``Q`` of the wrong shape or with a non-finite entry, or a bad ``alpha``.

    Notes
    -----
    ``V_Q(s) = alpha * log sum_a mu[s, a] exp(Q[s, a] / alpha)``
    (docs/conventions.md section 1; Haarnoja et al. 2017, Theorem 2 / eq. (6)).
    Soft Q-iteration, Theorem 3, iterates it. ``T`` is a ``gamma``-contraction
    in the sup norm (``proofs/04_contraction.ipynb``).

    References
    ----------
    T. Haarnoja, H. Tang, P. Abbeel, S. Levine, "Reinforcement Learning with Deep
    Energy-Based Policies", ICML 2017.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> bellman_operator(mdp, [[0.0, 0.0]], 0.0).tolist()
    [[1.0, 0.0]]
    """
    check_mdp(mdp, "bellman_operator")
    a, _ = float_alpha(alpha)
    q = check_q(mdp, Q)
    return mdp.rewards + mdp.gamma * expected_next_value(mdp, soft_value(q, a, mdp.prior))


def _policy_state_value(
    mdp: FiniteMDP, Q: FloatArray, policy: FloatArray, alpha: float
) -> FloatArray:
    """``sum_a pi(a|s) Q[s, a] + alpha * H_mu(pi)(s)``; the entropy term is 0 when alpha = 0."""
    v = np.einsum("sa,sa->s", policy, Q)
    if alpha > 0:
        v = v + alpha * policy_entropy(policy, mdp.prior)
    return v


def policy_operator(mdp: FiniteMDP, Q: ArrayLike, policy: ArrayLike, alpha: float) -> FloatArray:
    r"""The soft Bellman operator ``T^pi`` of a fixed policy.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP.
    Q : array_like, shape (S, A)
        A Q-table, every entry finite.
    policy : array_like, shape (S, A)
        A stochastic policy ``pi(a|s)`` with no mass on actions with ``mu = 0``.
    alpha : float
        Temperature ``alpha >= 0``.

    Returns
    -------
    ndarray, shape (S, A)
        ``(T^pi Q)[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] V(s')``.

    Raises
    ------
    InvalidArgumentError
        For a bad ``Q``, ``policy`` or ``alpha``, naming the first offending entry.

    Notes
    -----
    ``V(s) = sum_a pi(a|s) Q[s, a] + alpha * H_mu(pi)(s)``: the entropy of the
    current step is in ``V``, not in ``Q`` (docs/conventions.md section 1, the
    soft value of a policy).

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> policy_operator(mdp, [[0.0, 0.0]], [[1.0, 0.0]], 0.0).tolist()
    [[1.0, 0.0]]
    """
    check_mdp(mdp, "policy_operator")
    a, _ = float_alpha(alpha)
    q = check_q(mdp, Q)
    p = check_policy(mdp, policy)
    return mdp.rewards + mdp.gamma * expected_next_value(mdp, _policy_state_value(mdp, q, p, a))


@dataclass(frozen=True)
class PolicyEvaluation:
    """``Q^pi[s, a]`` and ``V^pi[s]`` of a fixed policy (arrays of shape (S, A) and (S,))."""

    Q: FloatArray
    V: FloatArray


def evaluate_policy(mdp: FiniteMDP, policy: ArrayLike, alpha: float) -> PolicyEvaluation:
    r"""Exact soft policy evaluation: ``Q^pi`` and ``V^pi`` of a fixed policy.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP.
    policy : array_like, shape (S, A) or (H, S, A)
        A stochastic policy; with a finite horizon either one table used at
        every step or one per step.
    alpha : float
        Temperature ``alpha >= 0``.

    Returns
    -------
    PolicyEvaluation
        ``Q`` of shape ``(S, A)`` and ``V`` of shape ``(S,)``; with a finite
        horizon ``H`` each gains a leading time axis.

    Raises
    ------
    InvalidArgumentError
        For a bad ``policy`` (shape, negative entries, rows not summing to 1,
        mass on an unavailable action) or ``alpha``.

    Notes
    -----
    ``V^pi`` solves ``(I - gamma P_pi) V = r_pi + alpha H_mu(pi)`` with
    ``r_pi(s) = sum_a pi(a|s) R[s, a]`` and ``P_pi[s, s'] = sum_a pi(a|s)
    P[s, a, s']`` (one LU solve, sparse LU for sparse transitions); then ``Q^pi = R + gamma P V^pi``
    (docs/conventions.md section 1). A finite horizon is backward induction.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> ev = evaluate_policy(mdp, [[0.5, 0.5]], 1.0)
    >>> round(float(ev.V[0]), 12)  # (0.5 + log 2) / (1 - 0.5)
    2.38629436112
    """
    check_mdp(mdp, "evaluate_policy")
    a, _ = float_alpha(alpha)
    S = mdp.num_states
    if mdp.horizon is not None:
        pol = np.asarray(policy, dtype=np.float64)
        H = mdp.horizon
        pols = np.broadcast_to(pol, (H, S, mdp.num_actions)) if pol.ndim == 2 else pol
        if pols.shape != (H, S, mdp.num_actions):
            raise InvalidArgumentError(
                f"policy must have shape (S, A) or (H, S, A) = ({H}, {S}, {mdp.num_actions}), "
                f"got {pol.shape}"
            )
        Qs = np.empty((H, S, mdp.num_actions))
        Vs = np.empty((H, S))
        v_next = np.zeros(S)
        for t in range(H - 1, -1, -1):
            p = check_policy(mdp, pols[t])
            Qs[t] = mdp.rewards + mdp.gamma * expected_next_value(mdp, v_next)
            Vs[t] = _policy_state_value(mdp, Qs[t], p, a)
            v_next = Vs[t]
        return PolicyEvaluation(Qs, Vs)
    p = check_policy(mdp, policy)
    r_pi = np.einsum("sa,sa->s", p, mdp.rewards)
    if a > 0:
        r_pi = r_pi + a * policy_entropy(p, mdp.prior)
    if mdp.is_sparse:
        M = identity_minus(mdp.gamma, policy_transitions(mdp, p))  # sparse LU
    else:
        M = np.eye(S) - mdp.gamma * policy_transitions(mdp, p)
    V = solve(M, r_pi)
    Q = mdp.rewards + mdp.gamma * expected_next_value(mdp, V)
    return PolicyEvaluation(Q, V)
