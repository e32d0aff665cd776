"""The certified solver's iteration: the float64 start and Newton on the grid.

Part of :mod:`softq_ref.certified` (see its docstring for the method).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref.certified.arith import _round_shift, context_scope, make_context
from softq_ref.certified.grid import _grid_to_float, _Problem, _round_div, _to_grid
from softq_ref.errors import InvalidArgumentError
from softq_ref.mdp import FiniteMDP

ObjArray = NDArray[Any]  # object arrays (ints, Fractions, mpf)
_DIRECT_SOLVE_MAX_STATES = 16  # flint: one arb_mat solve per Newton step up to this size
_MAX_NEWTON_STEPS = 2000


# --------------------------------------------------------------------------------------
# The float64 start and the Newton iteration
# --------------------------------------------------------------------------------------


def _float_start(mdp: FiniteMDP, alpha: Fraction, start: Any) -> NDArray[np.float64]:
    """The float64 Q-table that Newton starts from (``start``, or the float64 solver's)."""
    if start is None:
        from softq_ref.float64.solvers import solve

        if not math.isfinite(_float_or_inf(alpha)):
            # alpha beyond the float range: start from zero (soft policy iteration
            # converges from anywhere; only the number of steps depends on the start)
            return np.zeros((mdp.num_states, mdp.num_actions))
        start = solve(mdp, alpha)
    Q = getattr(start, "Q", start)
    Q = np.asarray(Q, dtype=np.float64)
    if Q.shape[-2:] != (mdp.num_states, mdp.num_actions) or not np.isfinite(Q).all():
        raise InvalidArgumentError(
            f"start must be a finite Q-table of shape {(mdp.num_states, mdp.num_actions)}, "
            f"got shape {Q.shape}"
        )
    return Q


def _log2_ratio(x: Fraction, y: Fraction) -> float:
    """``log2(x / y)`` for positive Fractions of any size."""
    return (
        math.log2(x.numerator)
        - math.log2(x.denominator)
        - math.log2(y.numerator)
        + math.log2(y.denominator)
    )


def _float_or_inf(x: Fraction) -> float:
    try:
        return float(x)
    except OverflowError:
        return math.inf


def _lse_bits(prob: _Problem) -> int:
    """Bits of ``alpha * (log A + |log mu| + 1)``, the size of the log-sum-exp's offset."""
    if prob.alpha == 0:
        return 0
    extra = math.log2(math.log(prob.A) + prob.mu_spread_bits + 1.0)
    return max(0, math.ceil(prob.alpha_log2 + extra))


def _bits(x: float) -> int:
    """``ceil(log2(max(1, x)))``."""
    return max(0, math.ceil(math.log2(max(1.0, x))))


def _scaled_floats(units: list[int]) -> tuple[NDArray[np.float64], int]:
    """Integers as floats times ``2**e`` (``e`` = the largest bit length), for float64 solves."""
    e = max(x.bit_length() for x in units)
    return np.array([_grid_to_float(x, e) for x in units]), e


def _inner_solve(
    prob: _Problem,
    r: list[int],
    pi_grid: ObjArray,
    Minv: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    F: int,
) -> list[int]:
    """Solve ``(I - gamma P_pi) x = r`` on the grid ``2**-F`` by mixed-precision refinement.

    ``x <- x + M64^{-1} (r - (I - gamma P_pi) x)`` with the residual in exact
    integer arithmetic (``P_pi`` from ``P`` and the policy on the grid) and the
    correction from the float64 inverse ``M64^{-1}`` (``Minv``: applies it; the LU
    factors of the sparse ``M64`` for sparse transitions): each step gains about
    ``-log2(cond * 2**-53)`` bits, with no log-sum-exp to evaluate (Wilkinson's
    iterative refinement; Higham, "Accuracy and Stability of Numerical
    Algorithms", 2nd ed., chapter 12).
    """
    S, A = prob.S, prob.A
    G, P_lo, _, _ = prob.pmat(F)
    gn, gd = prob.g.numerator, prob.g.denominator
    x = [0] * S
    res = list(r)
    last = max(abs(v) for v in res).bit_length()
    pi_rows = [[int(p) for p in row] for row in pi_grid.tolist()]
    for _ in range(_MAX_NEWTON_STEPS):
        if last <= 2:
            break
        rf, e = _scaled_floats(res)
        x = [xi + _to_grid(float(d), e) for xi, d in zip(x, Minv(rf), strict=True)]
        W = P_lo.dot(np.array(x, dtype=object)).tolist()
        # pi on a coarser grid 2**-k suffices: the error sum_a |d pi_a| |W_a| 2**-G is then
        # below A * 2**-16 grid units (|W_a| 2**-G <= max |x| < 2**(k - 16))
        k = min(F, max(abs(v) for v in x).bit_length() + 16)
        den = gd << (G + k)
        new = []
        for s in range(S):
            acc = sum(
                (p >> (F - k)) * w for p, w in zip(pi_rows[s], W[s * A : (s + 1) * A], strict=True)
            )
            new.append(r[s] - x[s] + _round_div(gn * acc, den))
        bits = max(abs(v) for v in new).bit_length()
        if bits >= last - 4:
            break  # no progress: the float64 inverse cannot do better at this grid
        res, last = new, bits
    return x


def _float_inverse(
    prob: _Problem, pi: NDArray[np.float64], P64: Any, g64: float
) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """``b -> (I - gamma P_pi)^{-1} b`` in float64, for the refinement of :func:`_inner_solve`.

    Dense: the explicit inverse. Sparse: the sparse LU factors of ``I - gamma P_pi``
    (:mod:`softq_ref._linalg`, SuperLU), never a dense ``(S, S)`` matrix. Only the
    convergence speed of the refinement depends on this; its residuals are exact.
    """
    if prob.sparse:
        from softq_ref._linalg import identity_minus, lu_factor, lu_solve, policy_matrix

        lu = lu_factor(identity_minus(g64, policy_matrix(P64, pi, prob.A)))
        return lambda b: lu_solve(lu, b)
    S = prob.S
    Minv = np.linalg.inv(np.eye(S) - g64 * np.einsum("sa,sat->st", pi, P64))
    return lambda b: Minv @ b


def _direct_solve_flint(
    prob: _Problem, r: list[int], pi_grid: ObjArray, F: int, prec: int
) -> list[int]:
    """Solve ``(I - gamma P_pi) x = r`` on the grid with one flint ``arb_mat`` solve.

    For small ``S`` (``S**3`` high-precision operations in C) this is cheaper
    than the refinement iterations of :func:`_inner_solve`. The integer matrix
    ``gd 2**(F+G) I - gn sum_a pi[s, a] P[s, a, :]`` (``gamma = gn / gd``, ``pi``
    and ``P`` on their grids) is ``gd 2**(F+G) (I - gamma P_pi)``.
    """
    from softq_ref.certified.arith import _import_flint

    flint = _import_flint()
    S, A = prob.S, prob.A
    G, P_lo, _, _ = prob.pmat(F)
    gn, gd = prob.g.numerator, prob.g.denominator
    P_int = P_lo.M.tolist()
    scale = gd << (F + G)
    M = []
    for s in range(S):
        row = [0] * S
        for a in range(A):
            p = int(pi_grid[s, a])
            if p:
                for t, x in enumerate(P_int[s * A + a]):
                    row[t] -= gn * p * x
        row[s] += scale
        M.append(row)
    saved = flint.ctx.prec
    try:
        flint.ctx.prec = prec
        x = flint.arb_mat(M).solve(flint.arb_mat([[v * scale] for v in r]))
        out = []
        for i in range(S):
            man, exp = x[i, 0].mid().man_exp()
            out.append(_round_shift(int(man), int(exp)))
    finally:
        flint.ctx.prec = saved
    return out


def _newton(
    prob: _Problem, V: ObjArray, F: int, F_target: int, scale_bits: int, steps: list[int]
) -> tuple[ObjArray, int]:
    """Newton steps ``V <- V + (I - gamma P_pi)^{-1} (T V - V)`` until ``V`` is on target.

    This is soft policy iteration (improvement step: Haarnoja et al. 2017, Theorem 1) written
    as Newton's method for ``T V = V`` with ``T V(s) = alpha log sum_a mu
    exp((R + gamma P V)(s, a) / alpha)``, whose Jacobian is ``gamma P_pi``.
    The residual is computed on the grid ``2**-F`` (high precision); the
    linear system is solved to the same resolution by mixed-precision
    refinement (:func:`_inner_solve`), so the convergence is quadratic and
    ``F`` about doubles each step until ``F_target``. Returns ``V`` on the
    grid ``2**-F_target`` and ``F_target``.
    """
    S = prob.S
    P64 = prob.mdp.transitions
    g64 = float(prob.g)
    # rounding noise in the corrections, in grid units: ~ a few units / (1 - L)
    log_noise = 3.0 - math.log2(float(1 - prob.L))
    prev_acc = -math.inf
    while True:
        ctx = make_context(prob.backend, prob.prec_for(F, scale_bits), rigorous=False)
        with context_scope(ctx):
            Q = prob.q_point(V, F)
            TV, _, pol = prob.lse(ctx, Q, F, want_pi=True)
        assert pol is not None
        pi, pi_grid = pol
        r = [int(x) for x in TV - V]
        x = None
        if prob.backend == "flint" and S <= _DIRECT_SOLVE_MAX_STATES and not prob.sparse:
            try:
                x = _direct_solve_flint(prob, r, pi_grid, F, prob.prec_for(F, scale_bits))
            except ZeroDivisionError:
                # the policy on the grid 2**-F is too coarse for the matrix (F near 0 for
                # values near 1e100 and few digits: pi = 1/2 rounds to 1): solve as below
                x = None
        if x is None:
            x = _inner_solve(prob, r, pi_grid, _float_inverse(prob, pi, P64, g64), F)
        V = V + np.array(x, dtype=object)
        steps[0] += 1
        top = max(abs(v) for v in x)
        log_units = math.log2(top) if top else -math.inf
        # Bits of absolute accuracy of V before this step: the correction's size (a zero
        # correction says only that the error is below one grid unit).
        acc = F - max(log_units, 0.0)
        quadratic = acc >= 1.8 * prev_acc - 16
        if F >= F_target and (log_units <= log_noise or (quadratic and 2 * acc - 64 >= F)):
            return V, F
        if steps[0] > _MAX_NEWTON_STEPS:
            raise RuntimeError(
                f"the high-precision Newton iteration did not converge in {_MAX_NEWTON_STEPS} "
                f"steps (last correction 2**{log_units - F:.1f})"
            )
        prev_acc = acc
        # Quadratic convergence: this step about doubled the accurate bits (up to the
        # grid's resolution), and the next one should double them again.
        acc_after = min(F - 4.0, 2 * acc - 24)
        F_new = min(F_target, max(F + 16, math.floor(2 * acc_after) + 32))
        if F_new > F:
            V = np.array([int(v) << (F_new - F) for v in V], dtype=object)
            F = F_new
