r"""Certified high-precision solutions: any number of digits, each with a proven bound.

:func:`solve_certified` returns ``Q*``, ``V*`` and ``pi*`` of a finite MDP
(SPEC section 1) to ``digits`` significant decimals, with an ``error_bound``
that is *proven* to hold for every printed entry, the rounding of the
printout included, and that satisfies
``error_bound <= 10**(-digits) * max(1, max|Q*|)`` (SPEC section 4).

How (``alpha > 0``, infinite horizon):

1. Inputs are exact rationals (SPEC section 2; :attr:`FiniteMDP.exact`), so
   the answer depends on the input only, never on a working precision.
2. Values live on a fixed-point grid ``X * 2**-F``, with integers ``X``; the
   products ``sum_s' P[s, a, s'] V[s']`` are exact integer dot products.
3. Newton's method on ``T V = V`` (this is soft policy iteration, whose
   improvement step is Haarnoja et al. 2017, Theorem 1) from the float64
   solution, at rising precision: ``V <- V + (I - gamma P_pi)^{-1} (T V - V)``.
   The residual is computed on the grid; the linear system is solved to the
   grid's resolution by mixed-precision iterative refinement (exact integer
   residuals, float64 corrections), so the convergence is quadratic, the
   log-sum-exp is evaluated about ``log2(D / 16)`` times, and no
   high-precision LU decomposition is ever formed.
4. Certification: the residual ``|T Q - Q|`` at the final ``Q`` is enclosed
   with outward rounding (integer floor/ceil for the linear part, interval
   arithmetic for the log-sum-exp: mpmath's ``mpi`` or flint's arb), and
   ``|Q - Q*| <= |T Q - Q| / (1 - L)`` with ``L = gamma * max_{s,a} sum_s'
   P[s, a, s']`` computed exactly: ``T`` is an ``L``-contraction in the sup
   norm because the log-sum-exp is 1-Lipschitz (Haarnoja et al. 2017,
   Theorem 2; ``proofs/``). ``V* = V_{Q*}`` lies in ``V_Q`` widened by the same
   bound (the log-sum-exp commutes with shifts and is monotone), and
   ``pi* = mu exp((Q* - V*) / alpha)`` is ``pi_Q`` times a factor in
   ``exp([-2 B, 2 B] / alpha)``, ``B`` the bound on ``|Q - Q*|``.
5. Printing: each entry is the correctly rounded decimal of the enclosure's
   midpoint with at least ``digits + 2`` significant digits; its rounding
   error is computed exactly and added. If the total misses the target the
   grid is refined and steps 3-4 repeat.

``alpha = 0`` is solved exactly by policy iteration in rational arithmetic
(:mod:`softq_ref._exact_policy`); the result says ``exact = True`` and
carries the fractions. (With the mpmath back end and more than 60 states the
rational solves get slow: then steps 2-4 run with the hard maximum, and the
policy is certified by gaps ``> 2 B`` between the best action and the others;
only if some state's maximiser stays ambiguous, as with exact ties, does the
solver fall back to rationals.) A finite horizon is backward induction in
interval arithmetic (the widths are the bound), exact for ``alpha = 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref._arith import (
    context_scope,
    flint_available,
    make_context,
)
from softq_ref._certified_grid import _ceil_div, _Problem, _to_grid
from softq_ref._certified_newton import (
    _bits,
    _float_or_inf,
    _float_start,
    _log2_ratio,
    _lse_bits,
    _newton,
)
from softq_ref._certified_print import (
    _Enclosure,
    _max_abs_lower,
    _mids_and_radii,
    _nested,
    _over,
    _print_all,
    _print_grid,
    _to_mpf,
)
from softq_ref._decimal_out import fraction_text, round_up
from softq_ref.errors import InvalidMDPError
from softq_ref.exact import to_fraction
from softq_ref.mdp import FiniteMDP

__all__ = ["CertifiedSolution", "solve_certified"]

ObjArray = NDArray[Any]  # object arrays (ints, Fractions, mpf)

_LOG2_10 = math.log2(10.0)
_MAX_REFINEMENTS = 6
_EXACT_MAX_STATES = 60  # alpha = 0 without flint: exact rational solves up to this size


@dataclass(frozen=True)
class CertifiedSolution:
    """A certified high-precision solution (see :func:`solve_certified`).

    ``Q[s, a]``, ``V[s]``, ``policy[s, a]`` are NumPy object arrays of mpmath
    ``mpf`` at the working precision (with a finite horizon each gains a
    leading time axis ``t = 0..H-1``). ``error_bound`` (a Fraction, the
    printed value, rounded up) is a proven upper bound on
    ``|printed - exact|`` over every entry of the decimal strings in
    ``decimals`` (``"Q"``, ``"V"``, ``"policy"``), which carry at least
    ``digits`` significant digits. ``exact`` is True when ``Q*`` was computed
    exactly in rational arithmetic; ``fractions`` then holds ``Q*``, ``V*``
    and ``pi*`` as Fractions (object arrays), else None.
    """

    Q: ObjArray
    V: ObjArray
    policy: ObjArray
    error_bound: Fraction
    digits: int
    alpha: Fraction
    gamma: Fraction
    iterations: int
    exact: bool
    fractions: dict[str, ObjArray] | None
    horizon: int | None
    backend: str
    working_bits: int
    decimals: dict[str, Any] = field(repr=False)
    error_bound_text: str = field(repr=False, default="")

    def to_spec_dict(self, *, fractions: bool = False) -> dict[str, Any]:
        """The JSON object of SPEC section 4 for ``--digits D``.

        ``"Q"``, ``"V"``, ``"policy"`` as nested lists of decimal strings,
        ``"error_bound"`` (a decimal string, rounded up), ``"digits"``,
        ``"alpha"``, ``"gamma"`` (exact texts), ``"iterations"`` and
        ``"exact"``. With ``fractions=True`` and an exact result also
        ``"Q_fractions"``, ``"V_fractions"``, ``"policy_fractions"`` as
        ``"p/q"`` strings (omitted when the result is not exact).
        """
        out: dict[str, Any] = {
            "Q": self.decimals["Q"],
            "V": self.decimals["V"],
            "policy": self.decimals["policy"],
            "error_bound": self.error_bound_text,
            "digits": self.digits,
            "alpha": fraction_text(self.alpha),
            "gamma": fraction_text(self.gamma),
            "iterations": self.iterations,
            "exact": self.exact,
        }
        if fractions and self.fractions is not None:
            for key in ("Q", "V", "policy"):
                out[f"{key}_fractions"] = _nested(self.fractions[key], _frac_str)
        return out


def _frac_str(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


def _finish(
    mids: dict[str, tuple[ObjArray, ObjArray]],
    digits: int,
    q_abs_lower: Fraction,
    **kw: Any,
) -> tuple[CertifiedSolution | None, Fraction, Fraction]:
    """Print; return the solution if the bound meets the target, plus bound and target."""
    scale = max(Fraction(1), q_abs_lower)
    target = scale / Fraction(10) ** digits
    grid_bits = kw.pop("grid_bits", None)
    if grid_bits is None:
        texts, worst = _print_all(mids, digits, scale)
        values = {key: mids[key][0] for key in mids}
    else:
        texts, worst = _print_grid(mids, grid_bits, digits, scale)
        values = {key: _over(mids[key][0], grid_bits) for key in mids}
    eb_text, eb = round_up(worst, 3)
    if eb > target:
        return None, eb, target
    prec = kw.pop("working_bits")
    sol = CertifiedSolution(
        Q=_to_mpf(values["Q"], prec),
        V=_to_mpf(values["V"], prec),
        policy=_to_mpf(values["policy"], prec),
        error_bound=eb,
        digits=digits,
        decimals=texts,
        error_bound_text=eb_text,
        working_bits=prec,
        **kw,
    )
    return sol, eb, target


# --------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------


def _pick_backend(backend: str) -> str:
    if backend == "auto":
        return "flint" if flint_available() else "mpmath"
    if backend == "flint":
        from softq_ref._arith import _import_flint

        _import_flint()
        return "flint"
    if backend == "mpmath":
        return "mpmath"
    raise ValueError(f'backend must be "auto", "mpmath" or "flint", got {backend!r}')


def solve_certified(
    mdp: FiniteMDP,
    alpha: Any,
    *,
    digits: int,
    backend: str = "auto",
    start: Any = None,
) -> CertifiedSolution:
    r"""``Q*``, ``V*``, ``pi*`` to ``digits`` significant digits with a proven ``error_bound``.

    Solves the soft Bellman equation ``Q = R + gamma P V_Q`` with
    ``V_Q(s) = alpha log sum_a mu[s, a] exp(Q[s, a] / alpha)`` (Haarnoja et al.
    2017, Theorems 1-2; SPEC section 1) for the exact rational inputs of
    ``mdp`` (SPEC section 2). ``alpha`` may be a float (its exact binary
    value), an int, a string (``"0.1"``, ``"1/10"``) or a Fraction.
    ``backend``: ``"mpmath"``, ``"flint"`` (python-flint, the ``fast`` extra)
    or ``"auto"`` (flint when installed). ``start``: an optional float64
    Q-table (or a result with ``.Q``) to start Newton from; by default
    :func:`softq_ref.solvers.solve`.

    The method is in the module docstring. The returned ``error_bound``
    bounds ``|printed - exact|`` for every entry of ``decimals`` and is
    ``<= 10**(-digits) * max(1, max|Q*|)``; for ``alpha = 0`` the result is
    exact (``exact = True``, ``fractions`` set).
    Its bound ``|Q - Q*| <= |T Q - Q| / (1 - L)`` is machine-checked in Coq
    (``soft_error_bound``, ``proofs/coq/Bellman.v``), its ``V*`` enclosure too
    (``lse_monotone``, ``lse_shift``, ``proofs/coq/LogSumExp.v``).

    >>> mdp = FiniteMDP([[[1.0]]], [[1.0]], "1/2")
    >>> sol = solve_certified(mdp, 0, digits=20)
    >>> sol.exact, sol.decimals["Q"], sol.fractions["Q"][0, 0]
    (True, [['2.000000000000000000000']], Fraction(2, 1))
    >>> sol = solve_certified(FiniteMDP([[[1.0], [1.0]]], [[0.0, 0.0]], 0), 1, digits=25)
    >>> sol.decimals["V"][0], sol.error_bound < Fraction(1, 10**25)
    ('0.693147180559945309417232121', True)
    """
    if isinstance(digits, bool) or not isinstance(digits, int | np.integer) or digits < 1:
        raise InvalidMDPError(f"digits must be an integer >= 1, got {digits!r}")
    digits = int(digits)
    a = to_fraction(alpha, "alpha")
    if a < 0:
        raise InvalidMDPError(f"alpha is {fraction_text(a)}; it must be >= 0")
    be = _pick_backend(backend)
    prob = _Problem(mdp, a, be)
    common = {
        "alpha": a,
        "gamma": prob.g,
        "horizon": mdp.horizon,
        "backend": be,
    }
    if a == 0:
        if mdp.horizon is None and be == "mpmath" and prob.S > _EXACT_MAX_STATES:
            # rational solves with sympy get slow: certify the argmax instead, and go
            # exact only when some state's maximiser cannot be told apart (ties)
            if prob.L >= 1:
                raise InvalidMDPError(
                    f"gamma * (largest row sum of transitions) = {float(prob.L)!r} is not below 1"
                )
            try:
                return _solve_soft(prob, digits, start, common)
            except _AmbiguousArgmax:
                pass
        return _solve_exact(prob, digits, start, common)
    if mdp.horizon is not None:
        return _solve_horizon(prob, digits, common)
    if prob.L >= 1:
        raise InvalidMDPError(
            f"gamma * (largest row sum of transitions) = {float(prob.L)!r} is not below 1: "
            "the soft Bellman operator is not a contraction for these exact inputs"
        )
    return _solve_soft(prob, digits, start, common)


def _solve_exact(
    prob: _Problem, digits: int, start: Any, common: dict[str, Any]
) -> CertifiedSolution:
    from softq_ref._exact_policy import (
        argmax_policy,
        exact_backward_induction,
        exact_policy_iteration,
    )

    mdp = prob.mdp
    if mdp.horizon is not None:
        Q, V, pi = exact_backward_induction(prob.P, prob.R, prob.g, prob.avail, mdp.horizon)
        iterations = mdp.horizon
    else:
        if prob.L >= 1:
            raise InvalidMDPError(
                f"gamma * (largest row sum of transitions) = {float(prob.L)!r} is not below 1"
            )
        Qf = _float_start(mdp, prob.alpha, start)
        masked = np.where(prob.avail, Qf, -np.inf)
        first = [int(np.argmax(row)) for row in masked]
        Q, iterations = exact_policy_iteration(
            prob.P, prob.R, prob.g, prob.avail, first, prob.backend
        )
        Vl, pi = argmax_policy(Q, prob.avail)
        V = np.empty(prob.S, dtype=object)
        V[:] = Vl
    zeros = {k: np.full(v.shape, Fraction(0), dtype=object) for k, v in (("Q", Q), ("V", V))}
    zeros["policy"] = np.full(pi.shape, Fraction(0), dtype=object)
    mids = {"Q": (Q, zeros["Q"]), "V": (V, zeros["V"]), "policy": (pi, zeros["policy"])}
    qmax = max((abs(x) for x in Q.flat), default=Fraction(0))
    bits = max(64, math.ceil(digits * _LOG2_10) + 64 + _bits(float(qmax)))
    sol, eb, target = _finish(
        mids,
        digits,
        qmax,
        working_bits=bits,
        iterations=iterations,
        exact=True,
        fractions={"Q": Q, "V": V, "policy": pi},
        **common,
    )
    # Exact values rounded to digits + 2 significant digits always meet the target.
    assert sol is not None, (eb, target)
    return sol


def _targets(prob: _Problem, digits: int, scale: float, extra_bits: int) -> int:
    """Grid bits ``F`` so that the bounds come out well below ``10**-digits * scale``."""
    budget_bits = digits * _LOG2_10 - math.log2(max(1.0, scale))
    # the policy moves by up to ~4 |Q - Q*| / alpha: log2(4 / alpha) more bits
    pol = max(0.0, 2.0 - prob.alpha_log2) if prob.alpha > 0 else 0.0
    return max(8, math.ceil(budget_bits + pol + extra_bits + 8))


def _solve_soft(
    prob: _Problem, digits: int, start: Any, common: dict[str, Any]
) -> CertifiedSolution:
    from softq_ref.logsumexp import soft_value

    mdp = prob.mdp
    Qf = _float_start(mdp, prob.alpha, start)
    scale = max(1.0, float(np.abs(Qf).max()))
    alpha = _float_or_inf(prob.alpha)
    Vf = soft_value(Qf, alpha, mdp.prior) if math.isfinite(alpha) else np.zeros(prob.S)
    scale_bits = max(_bits(max(scale, float(np.abs(Vf).max()))), _lse_bits(prob)) + 2
    contraction_bits = math.ceil(-math.log2(float(1 - prob.L))) if prob.L > 0 else 0
    F_target = _targets(prob, digits, scale, contraction_bits + 4)
    # The float64 start has about 50 correct bits; Newton's first step can double them.
    F = max(0, min(F_target, 116 - _bits(scale)))
    V = np.array([_to_grid(float(x), F) for x in Vf], dtype=object)
    steps = [0]
    for _ in range(_MAX_REFINEMENTS):
        V, F = _newton(prob, V, F, F_target, scale_bits, steps)
        enc = _certify_soft(prob, V, F, scale_bits)
        mids = {
            "Q": _mids_and_radii(*enc.Q, enc.F),
            "V": _mids_and_radii(*enc.V, enc.F),
            "policy": _mids_and_radii(*enc.pi, enc.F),
        }
        sol, eb, target = _finish(
            mids,
            digits,
            _max_abs_lower(*enc.Q, enc.F),
            grid_bits=enc.F + 1,
            working_bits=prob.prec_for(F, scale_bits),
            iterations=steps[0],
            exact=False,
            fractions=None,
            **common,
        )
        if sol is not None:
            return sol
        # refine the grid by the missing bits (and a margin) and continue Newton
        missing = math.ceil(_log2_ratio(eb, target)) + 8
        F_target += missing
        V = np.array([int(x) << (F_target - F) for x in V], dtype=object)
        F = F_target
    raise RuntimeError(
        f"could not certify {digits} digits (bound {float(eb):.3e} > target {float(target):.3e})"
    )


def _certify_soft(prob: _Problem, V: ObjArray, F: int, scale_bits: int) -> _Enclosure:
    """Proven enclosures of ``Q*``, ``V*``, ``pi*`` around the candidate ``Q = R + gamma P V``."""
    Q = prob.q_point(V, F)  # the candidate: exact grid values
    ctx = make_context(prob.backend, prob.prec_for(F, scale_bits), rigorous=True)
    with context_scope(ctx):
        V_lo, V_hi, pol = prob.lse(ctx, Q, F, want_pi=True)
        assert pol is not None
        TQ_lo, TQ_hi = prob.q_box(V_lo, V_hi, F)
        eps = 0
        for q, lo, hi in zip(Q.flat, TQ_lo.flat, TQ_hi.flat, strict=True):
            eps = max(eps, int(hi) - int(q), int(q) - int(lo))
        # |Q - Q*| <= eps / (1 - L), rounded up to whole grid units
        Ln, Ld = prob.L.numerator, prob.L.denominator
        B = _ceil_div(eps * Ld, Ld - Ln)
        Q_lo, Q_hi = Q - B, Q + B
        Vs_lo, Vs_hi = V_lo - B, V_hi + B
        if prob.alpha == 0:
            pi_lo, pi_hi = _certified_argmax(prob, Q, B, F)
            return _Enclosure(F, (Q_lo, Q_hi), (Vs_lo, Vs_hi), (pi_lo, pi_hi))
        # pi*_a = pi_a(Q) * exp(((Q*_a - Q_a) - (V* - V_Q)) / alpha), and both differences
        # lie in [-B, B] (the log-sum-exp is 1-Lipschitz in the sup norm): one factor
        # exp([-2B, 2B] / alpha) for every entry.
        an, ad = prob.alpha.numerator, prob.alpha.denominator
        one = 1 << F
        pi_lo = np.zeros(Q.shape, dtype=object)
        pi_hi = np.zeros(Q.shape, dtype=object)
        pi_hi[prob.avail] = one
        if 2 * B * ad <= prob.threshold(ctx.prec) * (an << F):  # else: only 0 <= pi <= 1
            factor = ctx.exp(ctx.span(-2 * B * ad, 2 * B * ad, an << F))
            for idx, p in np.ndenumerate(pol[2]):
                if p is not None:
                    x = ctx.mul(p, factor)
                    pi_lo[idx] = min(max(ctx.floor_scaled(x, F), 0), one)
                    pi_hi[idx] = max(min(ctx.ceil_scaled(x, F), one), 0)
        _tighten_by_sum(pi_lo, pi_hi, one)
    return _Enclosure(F, (Q_lo, Q_hi), (Vs_lo, Vs_hi), (pi_lo, pi_hi))


def _tighten_by_sum(lo: ObjArray, hi: ObjArray, one: int) -> None:
    """Intersect each ``[lo, hi]`` with ``1 - sum_{b != a} [lo_b, hi_b]`` (in place).

    ``pi*(. | s)`` sums to exactly 1 (``one`` on the grid), so a dominant
    action's probability is enclosed as tightly as the small ones are.
    """
    for idx in np.ndindex(lo.shape[:-1]):
        lo_row, hi_row = lo[idx], hi[idx]
        tot_lo, tot_hi = sum(int(x) for x in lo_row), sum(int(x) for x in hi_row)
        for a in range(lo.shape[-1]):
            new_lo = max(int(lo_row[a]), one - (tot_hi - int(hi_row[a])))
            new_hi = min(int(hi_row[a]), one - (tot_lo - int(lo_row[a])))
            lo_row[a], hi_row[a] = new_lo, new_hi


class _AmbiguousArgmax(Exception):
    """``alpha = 0``: two actions are within the certified bound of each other."""


def _certified_argmax(prob: _Problem, Q: ObjArray, B: int, F: int) -> tuple[ObjArray, ObjArray]:
    """``alpha = 0``: the policy ``pi*`` exactly, when every state's maximiser is certain.

    With ``|Q - Q*| <= B`` (grid units), an action ``a`` with
    ``Q[s, a] - B > Q[s, b] + B`` for every other available ``b`` is the unique
    maximiser of ``Q*[s, .]``, so ``pi*`` is its indicator. When some state
    has two candidates within ``2B`` (a tie, or a gap below the resolution),
    raise :class:`_AmbiguousArgmax`.
    """
    S, A = prob.S, prob.A
    one = 1 << F
    pi = np.zeros((S, A), dtype=object)
    for s in range(S):
        acts = [a for a in range(A) if prob.avail[s, a]]
        m = max(Q[s, a] for a in acts)
        cand = [a for a in acts if Q[s, a] >= m - 2 * B]
        if len(cand) != 1:
            raise _AmbiguousArgmax(f"state {s}: actions {cand} within 2 * bound")
        pi[s, cand[0]] = one
    return pi, pi.copy()


def _solve_horizon(prob: _Problem, digits: int, common: dict[str, Any]) -> CertifiedSolution:
    """Backward induction ``Q_t = R + gamma P V_{t+1}``, ``V_H = 0``, in interval arithmetic."""
    from softq_ref.solvers import solve

    mdp = prob.mdp
    H = mdp.horizon
    assert H is not None
    est = solve(mdp, prob.alpha)
    scale = max(1.0, float(np.abs(est.Q).max()))
    scale_bits = max(_bits(max(scale, float(np.abs(est.V).max()))), _lse_bits(prob)) + 2
    F = _targets(prob, digits, scale, _bits(4.0 * H) + 4)
    S, A = prob.S, prob.A
    for _ in range(_MAX_REFINEMENTS):
        ctx = make_context(prob.backend, prob.prec_for(F, scale_bits), rigorous=True)
        Qb = [np.empty((H, S, A), dtype=object) for _ in range(2)]
        Vb = [np.empty((H, S), dtype=object) for _ in range(2)]
        pb = [np.empty((H, S, A), dtype=object) for _ in range(2)]
        with context_scope(ctx):
            V_lo = np.zeros(S, dtype=object)
            V_hi = V_lo
            for t in range(H - 1, -1, -1):
                Q_lo, Q_hi = prob.q_box(V_lo, V_hi, F)
                V_lo = prob.lse(ctx, Q_lo, F)[0]
                V_hi = prob.lse(ctx, Q_hi, F)[1]
                p_lo, p_hi = prob.policy_box(ctx, Q_lo, Q_hi, V_lo, V_hi, F)
                _tighten_by_sum(p_lo, p_hi, 1 << F)
                Qb[0][t], Qb[1][t], Vb[0][t], Vb[1][t] = Q_lo, Q_hi, V_lo, V_hi
                pb[0][t], pb[1][t] = p_lo, p_hi
        mids = {
            "Q": _mids_and_radii(Qb[0], Qb[1], F),
            "V": _mids_and_radii(Vb[0], Vb[1], F),
            "policy": _mids_and_radii(pb[0], pb[1], F),
        }
        sol, eb, target = _finish(
            mids,
            digits,
            _max_abs_lower(Qb[0], Qb[1], F),
            grid_bits=F + 1,
            working_bits=prob.prec_for(F, scale_bits),
            iterations=H,
            exact=False,
            fractions=None,
            **common,
        )
        if sol is not None:
            return sol
        F += math.ceil(_log2_ratio(eb, target)) + 8
    raise RuntimeError(
        f"could not certify {digits} digits (bound {float(eb):.3e} > target {float(target):.3e})"
    )
