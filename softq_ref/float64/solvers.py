r"""Float64 solvers for the soft optimum, each result carrying a bound that holds.

* :func:`soft_q_iteration`: ``Q <- T Q`` (Haarnoja et al. 2017, Theorem 3),
  with the residual history; converges at rate ``gamma^k``.
* :func:`soft_policy_iteration`: Newton's method on the soft Bellman equation
  ``V = T_V(V)``; each Newton step is exact soft policy evaluation of the
  soft-greedy policy (``proofs/06_newton.ipynb``); quadratic convergence.
* :func:`solve`: Newton in float64 until the residual is small, then
  mixed-precision iterative refinement: the residual in ``numpy.longdouble``,
  the correction solved in float64 with the LU factors of the last Newton
  matrix (SciPy's ``lu_factor``; a matrix is factored only when the previous
  one no longer contracts fast). The answer is then within a few float64 ulps
  of ``Q*``, and :func:`softq_ref.float64.bounds.certify` proves how close.

All results are :class:`SolveResult`. With a finite horizon (``mdp.horizon``),
:func:`solve` runs backward induction in extended precision and returns arrays
with a leading time axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._linalg import identity_minus, lu_factor, lu_solve, matvec, rows_dot_extended
from softq_ref._rounding import EXTENDED, U64, UNIT_ROUNDOFF, gamma_n
from softq_ref._validate import float_alpha
from softq_ref.errors import InvalidMDPError
from softq_ref.float64.bounds import (
    AccuratePV,
    Certificate,
    _log_prior_ext,
    certify,
    lse_allowance,
)
from softq_ref.logsumexp import lse_kernel, soft_value_and_policy
from softq_ref.mdp import FiniteMDP
from softq_ref.operators import bellman_operator, check_q, expected_next_value, policy_transitions

__all__ = ["SolveResult", "solve", "soft_q_iteration", "soft_policy_iteration"]

FloatArray = NDArray[np.float64]

#: :func:`solve` leaves float64 Newton after a step taken from a residual below this
#: (relative to ``max(1, |V|)``): quadratic convergence puts the next iterate at float64's floor.
SWITCH_TO_EXTENDED = 1e-4


@dataclass(frozen=True)
class SolveResult:
    """A float64 solution of the soft Bellman equation and what is proven about it.

    ``Q[s, a]``, ``V[s]``, ``policy[s, a]`` (with a finite horizon each gains a
    leading time axis ``t = 0..H-1``). ``residual`` is an upper bound on
    ``max |T Q - Q|`` (0 for a finite horizon); ``error_bound`` an upper bound
    on ``max(|Q - Q*|, |V - V*|)`` over all entries, the float64 rounding of
    its own computation included. ``residuals`` is the history of the float64
    residual ``max |T Q_k - Q_k|`` per iteration.
    """

    Q: FloatArray
    V: FloatArray
    policy: FloatArray
    iterations: int
    residual: float
    error_bound: float
    alpha: float
    gamma: float
    method: str
    residuals: tuple[float, ...] = field(default=(), repr=False)


def _read_alpha(alpha: Any) -> tuple[float, Fraction | None]:
    """``alpha`` as a float, and its exact value when that differs from the float."""
    a, exact = float_alpha(alpha)
    return a, (None if Fraction(a) == exact else exact)


def _infinite(mdp: FiniteMDP, what: str) -> None:
    if mdp.horizon is not None:
        raise InvalidMDPError(
            f"{what} is for the infinite horizon; this MDP has horizon={mdp.horizon}"
        )


def _result(
    mdp: FiniteMDP,
    Q: FloatArray,
    alpha: float,
    iterations: int,
    method: str,
    history: list[float],
    cert: Certificate,
) -> SolveResult:
    _, policy = soft_value_and_policy(Q, alpha, mdp.prior)
    return SolveResult(
        Q=Q,
        V=cert.V,
        policy=policy,
        iterations=iterations,
        residual=cert.residual,
        error_bound=max(cert.q_bound, cert.v_bound),
        alpha=alpha,
        gamma=mdp.gamma,
        method=method,
        residuals=tuple(history),
    )


def soft_q_iteration(
    mdp: FiniteMDP,
    alpha: Any,
    *,
    tol: float = 1e-12,
    max_iterations: int = 1_000_000,
    Q0: ArrayLike | None = None,
) -> SolveResult:
    r"""Soft Q-iteration ``Q_{k+1} = T Q_k`` (Haarnoja et al. 2017, Theorem 3).

    Parameters
    ----------
    mdp : FiniteMDP
        An MDP with the infinite horizon.
    alpha : float, int, str or Fraction
        Temperature ``alpha >= 0``, read exactly (``"0.1"`` is one tenth); its
        rounding to float64 is included in the bound.
    tol : float, optional
        Stop when ``gamma / (1 - gamma) * |Q_{k+1} - Q_k| <= tol * max(1, max|Q|)``.
    max_iterations : int, optional
        Stop after this many sweeps at the latest.
    Q0 : array_like, shape (S, A), optional
        The starting table (default zeros).

    Returns
    -------
    SolveResult
        ``residuals[k] = max|Q_{k+1} - Q_k|``, which shrinks like ``gamma^k``;
        ``error_bound`` is certified by :func:`softq_ref.float64.certify`.

    Raises
    ------
    InvalidMDPError
        If ``mdp`` has a finite horizon.
    InvalidArgumentError
        For a bad ``alpha`` or ``Q0``.

    Notes
    -----
    ``T`` is a ``gamma``-contraction in the sup norm, so the iterates converge
    to ``Q*`` at rate ``gamma^k`` and ``|Q - Q*| <= |T Q - Q| / (1 - gamma)``
    (``proofs/04_contraction.ipynb``).

    References
    ----------
    T. Haarnoja, H. Tang, P. Abbeel, S. Levine, "Reinforcement Learning with Deep
    Energy-Based Policies", ICML 2017.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0]]], [[1.0]], 0.5)
    >>> r = soft_q_iteration(mdp, 0.0)
    >>> r.iterations, abs(float(r.Q[0, 0]) - 2.0) <= r.error_bound < 1e-11
    (40, True)
    """
    _infinite(mdp, "soft_q_iteration")
    a, exact_alpha = _read_alpha(alpha)
    g = mdp.gamma
    Q = np.zeros((mdp.num_states, mdp.num_actions)) if Q0 is None else check_q(mdp, Q0, "Q0")
    history: list[float] = []
    factor = g / (1 - g) if g > 0 else 0.0
    k = 0
    while k < max_iterations:
        Qn = bellman_operator(mdp, Q, a)
        k += 1
        delta = float(np.abs(Qn - Q).max())
        history.append(delta)
        Q = Qn
        if factor * delta <= tol * max(1.0, float(np.abs(Q).max())):
            break
    cert = certify(mdp, Q, a, exact_alpha=exact_alpha)
    return _result(mdp, Q, a, k, "soft Q-iteration", history, cert)


def _soft_bellman_v(mdp: FiniteMDP, V: FloatArray, alpha: float) -> tuple[FloatArray, FloatArray]:
    """``T_V(V)(s) = softmax_a (R + gamma P V)`` and the soft-greedy policy, in float64."""
    if not V.any():
        return soft_value_and_policy(mdp.rewards, alpha, mdp.prior)  # P 0 = 0: skip the pass
    Q = mdp.rewards + mdp.gamma * expected_next_value(mdp, V)
    return soft_value_and_policy(Q, alpha, mdp.prior)


def _newton_lu(mdp: FiniteMDP, pi: NDArray[Any]) -> Any:
    """The LU factors of the Newton matrix ``I - gamma P_pi`` (sparse LU for sparse ``P``)."""
    if mdp.is_sparse:
        return lu_factor(identity_minus(mdp.gamma, policy_transitions(mdp, pi.astype(np.float64))))
    M = -mdp.gamma * policy_transitions(mdp, pi.astype(np.float64))
    M[np.diag_indices_from(M)] += 1.0
    return lu_factor(M)


def _newton(
    mdp: FiniteMDP,
    alpha: float,
    V: FloatArray,
    max_iterations: int,
    history: list[float],
    *,
    switch_at: float = 0.0,
) -> tuple[FloatArray, Any, int]:
    """Float64 Newton on ``V = T_V(V)``.

    The Newton step solves ``(I - gamma P_pi) d = T_V(V) - V`` with ``pi``
    soft-greedy for ``V``: this is soft policy evaluation of ``pi`` written as
    a correction (``proofs/06_newton.ipynb``). It stops after a step taken from
    a residual of at most ``switch_at * max(1, |V|)`` (the caller goes on in
    extended precision), or when the residual stops shrinking (the float64
    floor, about ``cond * eps * |V|``). Returns ``V``, the LU factors of the
    last Newton matrix (None if no step was taken) and the number of steps.
    """
    best = math.inf
    solves = 0
    lu = None
    while True:
        TV, pi = _soft_bellman_v(mdp, V, alpha)
        r = TV - V
        res = float(np.abs(r).max())
        history.append(res)
        stalled = res >= 0.5 * best and res <= 1e-10 * max(1.0, float(np.abs(V).max()))
        if res == 0.0 or stalled or solves >= max_iterations:
            return V, lu, solves
        best = min(best, res)
        lu = _newton_lu(mdp, pi)
        V = V + lu_solve(lu, r)
        solves += 1
        if res <= switch_at * max(1.0, float(np.abs(V).max())):
            return V, lu, solves


def soft_policy_iteration(
    mdp: FiniteMDP,
    alpha: Any,
    *,
    max_iterations: int = 200,
    V0: ArrayLike | None = None,
) -> SolveResult:
    r"""Soft policy iteration: Newton's method on the soft Bellman equation, in float64.

    Parameters
    ----------
    mdp : FiniteMDP
        An MDP with the infinite horizon.
    alpha : float, int, str or Fraction
        Temperature ``alpha >= 0``, read exactly.
    max_iterations : int, optional
        The largest number of Newton steps (linear solves).
    V0 : array_like, shape (S,), optional
        The starting values (default zeros).

    Returns
    -------
    SolveResult
        With the float64 residual history and a certified ``error_bound``.

    Raises
    ------
    InvalidMDPError
        If ``mdp`` has a finite horizon.
    InvalidArgumentError
        For a bad ``alpha``.

    Notes
    -----
    Each step evaluates the soft-greedy policy of the current ``V`` exactly (one
    ``S x S`` linear solve). The values improve monotonically
    (``Q^{pi_{k+1}} >= Q^{pi_k}``, docs/conventions.md section 1) and converge
    quadratically (``proofs/06_newton.ipynb``), until float64 rounding (about
    ``cond(I - gamma P_pi) * eps * |Q|``) stops them; :func:`solve` goes
    further by iterative refinement.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> r = soft_policy_iteration(mdp, 1.0)
    >>> round(float(r.V[0]), 12)  # log(1 + e) / (1 - 0.5)
    2.626523375036
    """
    _infinite(mdp, "soft_policy_iteration")
    a, exact_alpha = _read_alpha(alpha)
    V = np.zeros(mdp.num_states) if V0 is None else np.asarray(V0, dtype=np.float64)
    history: list[float] = []
    V, _, k = _newton(mdp, a, V, max_iterations, history)
    Q = mdp.rewards + mdp.gamma * expected_next_value(mdp, V)
    cert = certify(mdp, Q, a, exact_alpha=exact_alpha)
    return _result(mdp, Q, a, k, "soft policy iteration (Newton)", history, cert)


def solve(
    mdp: FiniteMDP,
    alpha: Any,
    *,
    max_iterations: int = 200,
    refinements: int = 5,
) -> SolveResult:
    r"""The soft optimum ``Q*``, ``V*``, ``pi*`` in float64, with a certified ``error_bound``.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP (infinite or finite horizon).
    alpha : float, int, str or Fraction
        Temperature ``alpha >= 0``. An exact value (``"0.1"``,
        ``Fraction(1, 10)``) is rounded to float64 and the rounding is included
        in the bound.
    max_iterations : int, optional
        The largest number of float64 Newton steps.
    refinements : int, optional
        The largest number of extended-precision refinement steps.

    Returns
    -------
    SolveResult
        ``Q``, ``V``, ``policy`` (with a leading time axis for a finite horizon)
        and ``error_bound >= max(|Q - Q*|, |V - V*|)`` over all entries.

    Raises
    ------
    InvalidArgumentError
        For a bad ``alpha``.

    Notes
    -----
    Infinite horizon: Newton's method (:func:`soft_policy_iteration`) in float64
    until the residual is below ``SWITCH_TO_EXTENDED * max(1, |V|)`` (one more
    Newton step then lands at float64's floor), then up to ``refinements`` steps
    of mixed-precision iterative refinement: the residual ``T_V(V) - V`` in
    ``numpy.longdouble`` (one accurate pass over ``P``, then cheap corrections),
    the correction solved in float64 with the LU factors of the last Newton
    matrix, refreshed only if a step contracts the residual by less than a factor
    1000. The answer is then accurate to a few float64 ulps rather than to
    ``cond * eps``. The bound comes from :func:`softq_ref.float64.certify`; on
    dense random MDPs it is about ``1e-14 * max|Q*|`` at ``gamma = 0.9`` and
    ``1e-13 * max|Q*|`` at ``0.99``. It depends on the run (BLAS, threads):
    docs/conventions.md section 5.

    Finite horizon ``H``: backward induction ``Q_t = R + gamma P V_{t+1}``,
    ``V_H = 0``, in extended precision with an a-priori rounding bound.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> r = solve(mdp, 1.0)
    >>> float(r.V[0]), r.error_bound < 1e-14  # log(1 + e) / (1 - 0.5)
    (2.6265233750364456, True)
    """
    a, exact_alpha = _read_alpha(alpha)
    if mdp.horizon is not None:
        return _backward_induction(mdp, a, exact_alpha)

    history: list[float] = []
    # 1. Float64 Newton. Once the residual is below SWITCH_TO_EXTENDED * |V| the step
    # just taken lands, by quadratic convergence, at float64's floor (cond * eps * |V|):
    # from there on only an extended-precision residual can tell more.
    V, lu, k = _newton(
        mdp, a, np.zeros(mdp.num_states), max_iterations, history, switch_at=SWITCH_TO_EXTENDED
    )
    # 2. Iterative refinement: the residual T_V(V) - V in extended precision (one accurate
    # pass over P, then cheap corrections), the correction solved with the LU factors of the
    # last Newton matrix. Its contraction factor is about the size of the last Newton step;
    # should it contract by less than 1e3, the Newton matrix is refreshed.
    log_mu = _log_prior_ext(mdp)
    acc = AccuratePV.of(mdp, V)
    last = math.inf
    for _ in range(max(refinements, 0) + 1):
        Q_ext = mdp.rewards_extended() + EXTENDED(mdp.gamma) * acc.pv
        TV, pi = lse_kernel(Q_ext, a, log_mu)
        r = (TV - acc.V).astype(np.float64)
        res = float(np.abs(r).max())
        history.append(res)
        scale = max(1.0, float(np.abs(acc.V).max()))
        if res <= 2.0**-55 * (1 - mdp.gamma) * scale or res > 0.5 * last:
            break  # V within a quarter ulp (res / (1 - gamma)), or no further progress possible
        if lu is None or res > 1e-3 * last:
            lu = _newton_lu(mdp, pi)
        last = res
        acc = acc.moved_to(mdp, acc.V + lu_solve(lu, r).astype(EXTENDED))
        k += 1
    Q = Q_ext.astype(np.float64)
    cert = certify(mdp, Q, a, exact_alpha=exact_alpha, near=acc)
    return _result(mdp, Q, a, k, "Newton + extended-precision refinement", history, cert)


def _backward_induction(mdp: FiniteMDP, alpha: float, exact_alpha: Fraction | None) -> SolveResult:
    r"""Finite horizon: ``Q_t = R + gamma P V_{t+1}``, ``V_t = V_{Q_t}``, ``V_H = 0``.

    Computed in extended precision. The error bound ``e_t`` on ``Q_t`` obeys
    ``e_t <= rho_t + gamma * L_P * (e_{t+1} + eps_V(t+1))`` where ``rho_t`` is
    the rounding of one step (Higham's ``gamma_n``), ``eps_V`` the kernel's
    allowance (:func:`softq_ref.float64.bounds.lse_allowance`) and ``L_P`` the largest
    row sum of ``P``; the float64 rounding of the output is added at the end.
    """
    from softq_ref.float64.bounds import prior_entropy_range

    assert mdp.horizon is not None
    H, S, A = mdp.horizon, mdp.num_states, mdp.num_actions
    u = UNIT_ROUNDOFF
    g = mdp.gamma
    sparse = mdp.is_sparse
    P_ext = None if sparse else mdp.transitions.reshape(S * A, S).astype(EXTENDED)
    terms = mdp.row_terms()  # terms of a row's product: S dense, its nonzeros sparse
    log_mu = _log_prior_ext(mdp)
    row_max = mdp.max_row_sum_float() * (1 + (mdp.max_row_terms() + 4) * U64)
    exact_inputs = mdp.float_source()
    h = prior_entropy_range(mdp)
    d_alpha = 0.0 if exact_alpha is None else abs(float(exact_alpha - Fraction(alpha)))
    Qs = np.empty((H, S, A))
    Vs = np.empty((H, S))
    pols = np.empty((H, S, A))
    v_next = np.zeros(S, dtype=EXTENDED)
    err_v_next = 0.0  # bound on |v_next - V*_{t+1}|
    bound = 0.0
    for t in range(H - 1, -1, -1):
        if P_ext is None:
            pv = rows_dot_extended(mdp.transitions, v_next)[0].reshape(S, A)
        else:
            pv = (P_ext @ v_next).reshape(S, A)
        q_ext = mdp.rewards_extended() + EXTENDED(g) * pv
        p_abs_v = matvec(mdp.transition_matrix(), np.abs(v_next.astype(float))).reshape(S, A)
        rho = gamma_n(terms + 4, u) * (np.abs(mdp.rewards) + g * p_abs_v)
        rho = rho + mdp.reward_reduction_error()
        if not exact_inputs:
            rho = rho + U64 * (np.abs(mdp.rewards) + 3 * g * p_abs_v + g * alpha)
        err_q = float(rho.max()) + g * row_max * err_v_next
        v_ext, _ = lse_kernel(q_ext, alpha, log_mu)
        err_v = err_q + float(lse_allowance(q_ext, v_ext, alpha, log_mu, u).max()) + h * d_alpha
        Qs[t] = q_ext.astype(np.float64)
        Vs[t] = v_ext.astype(np.float64)
        _, pols[t] = soft_value_and_policy(Qs[t], alpha, mdp.prior)
        round_q = float(np.abs((Qs[t].astype(EXTENDED) - q_ext).astype(float)).max())
        round_v = float(np.abs((Vs[t].astype(EXTENDED) - v_ext).astype(float)).max())
        bound = max(bound, err_q + round_q, err_v + round_v)
        v_next = v_ext
        err_v_next = err_v
    return SolveResult(
        Q=Qs,
        V=Vs,
        policy=pols,
        iterations=H,
        residual=0.0,
        error_bound=bound * (1 + 8 * U64),
        alpha=alpha,
        gamma=g,
        method="backward induction (extended precision)",
        residuals=(),
    )
