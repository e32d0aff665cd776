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
  On sparse transitions the Newton systems are solved by sparse LU, or by
  GMRES preconditioned with kept (exact or incomplete) LU factors, to a
  tolerance that follows the residual (inexact Newton; docs/scale.md).

All results are :class:`SolveResult`. With a finite horizon (``mdp.horizon``),
:func:`solve` runs backward induction in extended precision and returns arrays
with a leading time axis.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._linalg import NewtonSystem, identity_minus, matvec, rows_dot_extended
from softq_ref._rounding import EXTENDED, TINY, U64, UNIT_ROUNDOFF, dot_underflow, gamma_n
from softq_ref._validate import check_argument, check_mdp, first_bad_index, float_alpha
from softq_ref.errors import InvalidMDPError
from softq_ref.float64.bounds import (
    AccuratePV,
    Certificate,
    _log_prior_ext,
    certify,
    lse_allowance,
)
from softq_ref.float64.progress import Callback, Progress
from softq_ref.logsumexp import lse_kernel, soft_value_and_policy
from softq_ref.mdp import FiniteMDP
from softq_ref.operators import bellman_operator, check_q, expected_next_value, policy_transitions

__all__ = ["SolveResult", "solve", "soft_q_iteration", "soft_policy_iteration"]

FloatArray = NDArray[np.float64]

#: :func:`solve` leaves float64 Newton after a step taken from a residual below this
#: (relative to ``max(1, |V|)``): quadratic convergence puts the next iterate at float64's floor.
SWITCH_TO_EXTENDED = 1e-4


#: ``SolveResult.status``: the solver met its convergence test.
CONVERGED = 0
#: ``SolveResult.status``: the solver stopped at ``max_iterations`` (or ``refinements``) first.
ITERATION_LIMIT = 1
#: ``SolveResult.status``: the residual stopped shrinking before the convergence test was met.
STALLED = 2

#: ``solve(linear_solver="auto")`` on sparse transitions: dense LU up to this many states,
#: sparse LU (``splu``) up to :data:`SPLU_MAX_STATES`, inexact Newton-GMRES with ILU above.
#: Dense transitions always use dense LU.
DENSE_MAX_STATES = 300
#: Above this many states sparse LU's fill costs more than GMRES with incomplete LU (measured
#: on gridworlds at 10^6 states: splu holds 7.9e7 nonzeros, 2.4 GB, 18 s a factorisation; the
#: ILU 3.4e7, 12 s, its fill capped at 10 nnz(M) whatever the structure; docs/scale.md).
SPLU_MAX_STATES = 250_000
#: The linear solvers of :func:`solve`.
LINEAR_SOLVERS = ("auto", "dense", "splu", "ilu")
_METHOD_NAMES = {
    "dense": "dense LU",
    "splu": "sparse LU, GMRES with kept factors",
    "ilu": "inexact, GMRES with ILU",
}
#: The largest relative tolerance of an inexact Newton step (the forcing term's cap).
FORCING_MAX = 1e-2
#: The relative tolerance of a GMRES correction in the extended-precision refinement.
REFINE_RTOL = 1e-8

#: A float64 Newton residual that stops shrinking below this (relative to ``max(1, |V|)``)
#: is at float64's floor (about ``cond * eps * |V|``): converged as far as float64 can tell.
STALL_FLOOR = 1e-10


def _steps(n: int, what: str) -> str:
    """``"1 Newton step"``, ``"3 Newton steps"``."""
    return f"{n} {what}" + ("" if n == 1 else "s")


def _unconverged(limit: str, cert: Certificate) -> str:
    """The end of the message of a result that did not converge."""
    bound = max(cert.q_bound, cert.v_bound)
    return f"{limit}, with residual {cert.residual:.3g} (error_bound {bound:.3g})"


def _summary(x: Any) -> str:
    """An array as ``array(shape=(2, 3), dtype=float64)``; anything else as its repr."""
    if isinstance(x, np.ndarray):
        return f"array(shape={x.shape}, dtype={x.dtype})"
    return repr(x)


@dataclass(frozen=True)
class SolveResult:
    """A float64 solution of the soft Bellman equation and what is proven about it.

    ``Q[s, a]``, ``V[s]``, ``policy[s, a]`` (with a finite horizon each gains a
    leading time axis ``t = 0..H-1``). ``residual`` is an upper bound on
    ``max |T Q - Q|`` (0 for a finite horizon); ``error_bound`` an upper bound
    on ``max(|Q - Q*|, |V - V*|)`` over all entries, the float64 rounding of
    its own computation included. ``residuals`` is the history of the float64
    residual ``max |T Q_k - Q_k|`` per iteration.

    As in :class:`scipy.optimize.OptimizeResult`, ``success`` says whether the
    solver met its convergence test, ``status`` why it stopped (``0``:
    converged; ``1``: ``max_iterations`` or ``refinements`` ran out first;
    ``2``: the residual stopped shrinking before the test was met) and
    ``message`` says so in words. ``iterations`` counts the steps that
    ``max_iterations`` limits (sweeps of ``T``, float64 Newton steps, or the
    horizon ``H``), so it never exceeds ``max_iterations``;
    ``refinement_steps`` counts the extended-precision refinement steps of
    :func:`solve` (0 for the other solvers). ``error_bound`` holds whether or
    not the solver converged. The repr is compact: arrays show their shape
    only.
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
    success: bool = field(kw_only=True)
    status: int = field(kw_only=True)
    message: str = field(kw_only=True)
    refinement_steps: int = field(default=0, kw_only=True)

    def __repr__(self) -> str:
        names = (
            "success", "status", "message", "method", "iterations", "refinement_steps",
            "residual", "error_bound", "alpha", "gamma", "Q", "V", "policy",
        )  # fmt: skip
        return f"SolveResult({', '.join(f'{n}={_summary(getattr(self, n))}' for n in names)})"


def _read_alpha(alpha: Any) -> tuple[float, Fraction | None]:
    """``alpha`` as a float, and its exact value when that differs from the float."""
    a, exact = float_alpha(alpha)
    return a, (None if Fraction(a) == exact else exact)


def _infinite(mdp: FiniteMDP, what: str) -> None:
    if mdp.horizon is not None:
        raise InvalidMDPError(
            f"{what} is for the infinite horizon; this MDP has horizon={mdp.horizon}"
        )


def _check_range(mdp: FiniteMDP, values: NDArray[Any], name: str) -> None:
    """Refuse a solution that leaves the float64 range, naming the first entry that does."""
    idx = first_bad_index(~np.isfinite(np.asarray(values, dtype=np.float64)))
    if idx is not None:
        raise InvalidMDPError(
            f"the solution leaves the float64 range: {name}{list(idx)} overflows "
            f"(|values| > 1.8e308; rewards up to {float(np.abs(mdp.rewards).max()):.3g}, "
            f"gamma {mdp.gamma!r}); scale the rewards down"
        )


def _final_bound(bound: float) -> float:
    """A bound is a number or ``inf`` (with a warning), never NaN."""
    if not math.isfinite(bound):
        warnings.warn(
            "error_bound is inf: the rounding allowance overflows float64 "
            "(values near the float64 limit)",
            RuntimeWarning,
            stacklevel=3,
        )
        return math.inf
    return bound


def _result(
    mdp: FiniteMDP,
    Q: FloatArray,
    alpha: float,
    iterations: int,
    method: str,
    history: list[float],
    cert: Certificate,
    *,
    status: int,
    message: str,
    refinement_steps: int = 0,
) -> SolveResult:
    _, policy = soft_value_and_policy(Q, alpha, mdp.prior)
    return SolveResult(
        Q=Q,
        V=cert.V,
        policy=policy,
        iterations=iterations,
        residual=cert.residual,
        error_bound=_final_bound(max(cert.q_bound, cert.v_bound)),
        alpha=alpha,
        gamma=mdp.gamma,
        method=method,
        residuals=tuple(history),
        success=status == CONVERGED,
        status=status,
        message=message,
        refinement_steps=refinement_steps,
    )


def soft_q_iteration(
    mdp: FiniteMDP,
    alpha: Any,
    *,
    tol: float = 1e-12,
    max_iterations: int = 1_000_000,
    Q0: ArrayLike | None = None,
    callback: Callback | None = None,
    verbose: bool | None = None,
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
    callback : callable, optional
        ``callback(iteration, residual, elapsed)`` after each sweep, with
        ``residual = max|Q_{k+1} - Q_k|`` and the seconds since the start.
    verbose : bool or None, optional
        Progress on stderr: None (default) once the run passes 2 s and only
        when stderr is a terminal; True always; False never
        (:mod:`softq_ref.float64.progress`).

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
    check_mdp(mdp, "soft_q_iteration")
    _infinite(mdp, "soft_q_iteration")
    a, exact_alpha = _read_alpha(alpha)
    g = mdp.gamma
    Q = np.zeros((mdp.num_states, mdp.num_actions)) if Q0 is None else check_q(mdp, Q0, "Q0")
    history: list[float] = []
    factor = g / (1 - g) if g > 0 else 0.0
    k = 0
    status = ITERATION_LIMIT
    progress = Progress("soft Q-iteration", callback, verbose)
    while k < max_iterations:
        with np.errstate(over="ignore", invalid="ignore"):
            Qn = bellman_operator(mdp, Q, a)
        _check_range(mdp, Qn, "Q")
        k += 1
        delta = float(np.abs(Qn - Q).max())
        history.append(delta)
        progress.step(k, delta)
        Q = Qn
        if factor * delta <= tol * max(1.0, float(np.abs(Q).max())):
            status = CONVERGED
            break
    progress.close()
    cert = certify(mdp, Q, a, exact_alpha=exact_alpha)
    if status == CONVERGED:
        message = f"converged after {_steps(k, 'sweep')} (tol={tol:g})"
    else:
        message = _unconverged(
            f"did not converge: max_iterations={max_iterations} sweeps reached", cert
        )
    return _result(mdp, Q, a, k, "soft Q-iteration", history, cert, status=status, message=message)


def _soft_bellman_v(mdp: FiniteMDP, V: FloatArray, alpha: float) -> tuple[FloatArray, FloatArray]:
    """``T_V(V)(s) = softmax_a (R + gamma P V)`` and the soft-greedy policy, in float64."""
    if not V.any():
        return soft_value_and_policy(mdp.rewards, alpha, mdp.prior)  # P 0 = 0: skip the pass
    Q = mdp.rewards + mdp.gamma * expected_next_value(mdp, V)
    return soft_value_and_policy(Q, alpha, mdp.prior)


def _newton_matrix(mdp: FiniteMDP, pi: NDArray[Any]) -> Any:
    """The Newton matrix ``I - gamma P_pi`` (sparse for sparse ``P``)."""
    return identity_minus(mdp.gamma, policy_transitions(mdp, pi.astype(np.float64)))


def _linear_solver(mdp: FiniteMDP, linear_solver: str) -> NewtonSystem:
    """The :class:`~softq_ref._linalg.NewtonSystem` that ``linear_solver`` asks for (see solve)."""
    check_argument(
        isinstance(linear_solver, str) and linear_solver in LINEAR_SOLVERS,
        f"linear_solver is {linear_solver!r}; expected one of {', '.join(LINEAR_SOLVERS)}",
    )
    method = linear_solver
    S = mdp.num_states
    if method == "auto":
        if not mdp.is_sparse or S <= DENSE_MAX_STATES:
            method = "dense"
        else:
            method = "splu" if S <= SPLU_MAX_STATES else "ilu"
    check_argument(
        mdp.is_sparse or method == "dense",
        f"linear_solver={linear_solver!r} needs sparse transitions; this MDP's are dense "
        "(use 'dense' or 'auto')",
    )
    # Dense transitions: a fresh LU every Newton step, as before sparse input existed (the
    # dense benchmark, benchmarks/bench_solve.py, is tuned for it); sparse: factors reused.
    return NewtonSystem(method, reuse=mdp.is_sparse)


def _forcing(res: float, scale: float) -> float:
    """The relative tolerance of an inexact Newton step at residual ``res``.

    ``eta = min(FORCING_MAX, res / scale)``: loose far from the solution,
    proportional to the residual near it, which keeps Newton's quadratic
    convergence (Dembo, Eisenstat & Steihaug 1982, Theorem 3.3). A direct
    solve ignores it.
    """
    return max(min(FORCING_MAX, res / scale), 1e-14)


def _newton(
    mdp: FiniteMDP,
    alpha: float,
    V: FloatArray,
    max_iterations: int,
    history: list[float],
    system: NewtonSystem,
    progress: Progress,
    *,
    switch_at: float = 0.0,
) -> tuple[FloatArray, int, bool]:
    """Float64 (inexact) Newton on ``V = T_V(V)``.

    The Newton step solves ``(I - gamma P_pi) d = T_V(V) - V`` with ``pi``
    soft-greedy for ``V``: this is soft policy evaluation of ``pi`` written as
    a correction (``proofs/06_newton.ipynb``); ``V`` is GMRES's warm start
    (the correction starts at 0). ``system`` solves it, exactly or to the
    tolerance :func:`_forcing`. It stops after a step taken from a residual of
    at most ``switch_at * max(1, |V|)`` (the caller goes on in extended
    precision), or when the residual stops shrinking (the float64 floor, about
    ``cond * eps * |V|``). Returns ``V``, the number of steps and whether it
    converged (False: ``max_iterations`` ran out first). ``system`` keeps the
    matrix (and factors) of the last step.
    """
    best = math.inf
    solves = 0
    while True:
        TV, pi = _soft_bellman_v(mdp, V, alpha)
        r = TV - V
        res = float(np.abs(r).max())
        history.append(res)
        progress.step(len(history), res)
        scale = max(1.0, float(np.abs(V).max()))
        stalled = res >= 0.5 * best and res <= STALL_FLOOR * scale
        if res == 0.0 or stalled:
            return V, solves, True
        if solves >= max_iterations:
            return V, solves, False
        best = min(best, res)
        system.set_matrix(_newton_matrix(mdp, pi))
        with np.errstate(over="ignore", invalid="ignore"):
            V = V + system.solve(r, _forcing(res, scale)).x
        _check_range(mdp, V, "V")
        solves += 1
        if res <= switch_at * max(1.0, float(np.abs(V).max())):
            return V, solves, True


def soft_policy_iteration(
    mdp: FiniteMDP,
    alpha: Any,
    *,
    max_iterations: int = 200,
    V0: ArrayLike | None = None,
    callback: Callback | None = None,
    verbose: bool | None = None,
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
    callback : callable, optional
        ``callback(iteration, residual, elapsed)`` after each residual
        ``max|T_V(V) - V|`` is measured.
    verbose : bool or None, optional
        Progress on stderr, as in :func:`soft_q_iteration`.

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
    check_mdp(mdp, "soft_policy_iteration")
    _infinite(mdp, "soft_policy_iteration")
    a, exact_alpha = _read_alpha(alpha)
    V = np.zeros(mdp.num_states) if V0 is None else np.asarray(V0, dtype=np.float64)
    history: list[float] = []
    # exact policy evaluation: a direct solve of every Newton matrix (dense or sparse LU)
    system = NewtonSystem("splu" if mdp.is_sparse else "dense", reuse=False)
    progress = Progress("soft policy iteration", callback, verbose)
    V, k, converged = _newton(mdp, a, V, max_iterations, history, system, progress)
    progress.close()
    with np.errstate(over="ignore", invalid="ignore"):
        Q = mdp.rewards + mdp.gamma * expected_next_value(mdp, V)
    _check_range(mdp, Q, "Q")
    cert = certify(mdp, Q, a, exact_alpha=exact_alpha)
    if converged:
        status, message = CONVERGED, f"converged after {_steps(k, 'Newton step')}"
    else:
        status = ITERATION_LIMIT
        message = _unconverged(
            f"did not converge: max_iterations={max_iterations} Newton steps reached", cert
        )
    return _result(
        mdp,
        Q,
        a,
        k,
        "soft policy iteration (Newton)",
        history,
        cert,
        status=status,
        message=message,
    )


def solve(
    mdp: FiniteMDP,
    alpha: Any,
    *,
    max_iterations: int = 200,
    refinements: int = 5,
    linear_solver: str = "auto",
    callback: Callback | None = None,
    verbose: bool | None = None,
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
    linear_solver : {"auto", "dense", "splu", "ilu"}, optional
        How the Newton systems ``(I - gamma P_pi) d = r`` are solved: dense
        LU; sparse LU (SuperLU); or inexact Newton with GMRES preconditioned
        by an incomplete LU. ``"auto"`` takes dense LU for dense transitions
        and for sparse ones up to ``DENSE_MAX_STATES`` states, sparse LU up to
        ``SPLU_MAX_STATES``, ILU-GMRES above. Only the speed depends on it.
    callback : callable, optional
        ``callback(iteration, residual, elapsed)`` after each residual is
        measured (Newton and refinement steps; ``iteration`` counts both).
    verbose : bool or None, optional
        Progress on stderr: None (default) once the solve passes 2 s and only
        when stderr is a terminal; True always; False never
        (:mod:`softq_ref.float64.progress`).

    Returns
    -------
    SolveResult
        ``Q``, ``V``, ``policy`` (with a leading time axis for a finite horizon)
        and ``error_bound >= max(|Q - Q*|, |V - V*|)`` over all entries.

    Raises
    ------
    InvalidArgumentError
        For a bad ``alpha`` or ``linear_solver``.

    Notes
    -----
    Infinite horizon: Newton's method (:func:`soft_policy_iteration`) in float64
    until the residual is below ``SWITCH_TO_EXTENDED * max(1, |V|)`` (one more
    Newton step then lands at float64's floor), then up to ``refinements`` steps
    of mixed-precision iterative refinement: the residual ``T_V(V) - V`` in
    ``numpy.longdouble`` (one accurate pass over ``P``, then cheap corrections),
    the correction solved in float64 with the factors of the last Newton
    matrix, refreshed only if a step contracts the residual by less than a factor
    1000. With sparse transitions the factors of an earlier Newton matrix serve
    as the preconditioner of GMRES (restarted, right-preconditioned) on later
    ones until GMRES slows down; the ``"ilu"`` solver never factors exactly, and
    its Newton steps are inexact, each solved to the relative tolerance
    ``min(0.1, residual / max(1, |V|))`` (Dembo, Eisenstat & Steihaug 1982), the
    refinement's corrections to ``1e-8``. None of this enters the bound: it is
    computed from the final iterate alone. The answer is then accurate to a few float64 ulps rather than to
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
    check_mdp(mdp, "solve")
    a, exact_alpha = _read_alpha(alpha)
    system = _linear_solver(mdp, linear_solver)
    if mdp.horizon is not None:
        return _backward_induction(mdp, a, exact_alpha)

    history: list[float] = []
    progress = Progress("solve", callback, verbose)
    # 1. Float64 Newton. Once the residual is below SWITCH_TO_EXTENDED * |V| the step
    # just taken lands, by quadratic convergence, at float64's floor (cond * eps * |V|):
    # from there on only an extended-precision residual can tell more.
    V, k, newton_converged = _newton(
        mdp,
        a,
        np.zeros(mdp.num_states),
        max_iterations,
        history,
        system,
        progress,
        switch_at=SWITCH_TO_EXTENDED,
    )
    # 2. Iterative refinement: the residual T_V(V) - V in extended precision (one accurate
    # pass over P, then cheap corrections), the correction solved with the LU factors of the
    # last Newton matrix. Its contraction factor is about the size of the last Newton step;
    # should it contract by less than 1e3, the Newton matrix is refreshed.
    log_mu = _log_prior_ext(mdp)
    acc = AccuratePV.of(mdp, V)
    last = math.inf
    best: tuple[float, AccuratePV, NDArray[Any], NDArray[Any], FloatArray] | None = None
    fresh = False  # whether the step that led here was solved with a freshly factored matrix
    steps = 0
    status = ITERATION_LIMIT
    for _ in range(max(refinements, 0) + 1):
        Q_ext = mdp.rewards_extended() + EXTENDED(mdp.gamma) * acc.pv
        TV, pi = lse_kernel(Q_ext, a, log_mu)
        r = (TV - acc.V).astype(np.float64)
        res = float(np.abs(r).max())
        history.append(res)
        progress.step(len(history), res)
        if best is None or res < best[0]:
            best = (res, acc, Q_ext, pi, r)
        scale = max(1.0, float(np.abs(acc.V).max()))
        if res <= 2.0**-55 * (1 - mdp.gamma) * scale:
            status = CONVERGED  # V within a quarter ulp (res / (1 - gamma))
            break
        stalled = res > 0.5 * last
        if stalled and (fresh or best[0] <= STALL_FLOOR * scale):
            # No further progress: converged if at float64's floor, else stuck (even with a
            # freshly factored matrix).
            status = CONVERGED if best[0] <= STALL_FLOOR * scale else STALLED
            break
        if steps >= refinements:
            break  # the refinements ran out (status stays ITERATION_LIMIT)
        if stalled:
            # The refinement stopped contracting above float64's floor: a stale Newton matrix
            # (the policy changed since it was factored, as when float64 Newton stopped one
            # step early). Go back to the best iterate and refactor there.
            res, acc, Q_ext, pi, r = best
            system.set_matrix(_newton_matrix(mdp, pi), refactor=True)
            fresh = True
        elif system.matrix is None or res > 1e-3 * last:
            system.set_matrix(_newton_matrix(mdp, pi))  # factored anew unless reusable
            fresh = True
        else:
            fresh = False
        last = res
        step = system.solve(r, REFINE_RTOL)
        # fresh: the step solved the Newton system of this iterate as well as the solver can
        fresh = fresh and step.converged
        acc = acc.moved_to(mdp, acc.V + step.x.astype(EXTENDED))
        steps += 1
    progress.close()
    # Never worse than an iterate already evaluated: the one with the smallest residual.
    assert best is not None
    _, acc, Q_ext, _, _ = best
    with np.errstate(over="ignore"):
        Q = Q_ext.astype(np.float64)
    _check_range(mdp, Q, "Q")
    cert = certify(mdp, Q, a, exact_alpha=exact_alpha, near=acc)
    if status != CONVERGED and not newton_converged:
        status = ITERATION_LIMIT  # the refinement could not make up for too few Newton steps
    done = f"{_steps(k, 'Newton step')} and {_steps(steps, 'refinement step')}"
    if status == CONVERGED:
        message = f"converged after {done}"
    elif status == STALLED:
        message = _unconverged(f"did not converge: no progress after {done}", cert)
    else:
        limit = (
            f"refinements={refinements}" if newton_converged else f"max_iterations={max_iterations}"
        )
        message = _unconverged(f"did not converge: {limit} reached after {done}", cert)
    return _result(
        mdp,
        Q,
        a,
        k,
        f"Newton ({_METHOD_NAMES[system.method]}) + extended-precision refinement",
        history,
        cert,
        status=status,
        message=message,
        refinement_steps=steps,
    )


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
        with np.errstate(over="ignore"):
            Qs[t] = q_ext.astype(np.float64)
        _check_range(mdp, Qs[t], f"Q[{t}]")
        p_abs_v = matvec(mdp.transition_matrix(), np.abs(v_next.astype(float))).reshape(S, A)
        rho = gamma_n(terms + 4, u) * (np.abs(mdp.rewards) + g * p_abs_v)
        # underflow: the float64 product P|V| and this sum (proofs/coq/Rounding.v), the
        # rounding of Q_t, V_t and of their rounding errors to float64, 2**-1075 each
        rho = rho + mdp.reward_reduction_error() + (dot_underflow(mdp.max_row_terms()) + 16 * TINY)
        if not exact_inputs:
            lam = mdp.prior_log_rounding()
            # (+ TINY terms: exact R and gamma rounded into the subnormal range, 2**-1075 each)
            rho = rho + U64 * (np.abs(mdp.rewards) + 3 * g * p_abs_v) + g * alpha * lam
            rho = rho + TINY * (1 + p_abs_v)
        err_q = float(rho.max()) + g * row_max * err_v_next
        v_ext, _ = lse_kernel(q_ext, alpha, log_mu)
        with np.errstate(over="ignore"):
            Vs[t] = v_ext.astype(np.float64)
        _check_range(mdp, Vs[t], f"V[{t}]")
        err_v = err_q + float(lse_allowance(q_ext, v_ext, alpha, log_mu, u).max()) + h * d_alpha
        err_v += alpha * mdp.prior_log_rounding()  # the rounded prior, directly in V_t
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
        error_bound=_final_bound(bound * (1 + 8 * U64)),
        alpha=alpha,
        gamma=g,
        method="backward induction (extended precision)",
        residuals=(),
        success=True,
        status=CONVERGED,
        message=f"backward induction over the horizon of {H} steps",
    )
