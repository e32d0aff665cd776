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
    ExactMatrix,
    context_scope,
    flint_available,
    make_context,
)
from softq_ref._decimal_out import decimal_exponent, fraction_text, round_decimal, round_up
from softq_ref.errors import InvalidMDPError
from softq_ref.exact import to_fraction
from softq_ref.mdp import FiniteMDP

__all__ = ["CertifiedSolution", "solve_certified"]

ObjArray = NDArray[Any]  # object arrays (ints, Fractions, mpf)

_LOG2_10 = math.log2(10.0)
_MAX_REFINEMENTS = 6
_MAX_NEWTON_STEPS = 2000
_DIRECT_SOLVE_MAX_STATES = 16  # flint: one arb_mat solve per Newton step up to this size
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


def _nested(arr: ObjArray, fn: Any) -> Any:
    """Nested lists of ``fn(entry)`` over an object array of any shape."""
    if arr.ndim == 1:
        return [fn(x) for x in arr]
    return [_nested(arr[i], fn) for i in range(arr.shape[0])]


# --------------------------------------------------------------------------------------
# The problem in exact form and on the fixed-point grid
# --------------------------------------------------------------------------------------


def _floor_div(n: int, d: int) -> int:
    return n // d


def _ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


def _round_div(n: int, d: int) -> int:
    return (2 * n + d) // (2 * d)


def _to_grid(x: float, F: int) -> int:
    """``round(x * 2**F)`` for a float ``x``, exactly (no overflow for large ``F``)."""
    if x == 0.0 or not math.isfinite(x):
        if not math.isfinite(x):
            raise ArithmeticError(f"non-finite Newton correction {x!r}")
        return 0
    m, e = math.frexp(x)
    mi = int(m * 2.0**53)
    shift = e - 53 + F
    if shift >= 0:
        return mi << shift
    return (mi + (1 << (-shift - 1))) >> -shift


def _grid_to_float(n: int, F: int) -> float:
    """``n * 2**-F`` as a float (0 on underflow; no overflow for the values used)."""
    b = n.bit_length()
    if b > 900:
        k = b - 64
        return math.ldexp(float(n >> k), k - F)
    return math.ldexp(float(n), -F)


class _Problem:
    """Exact inputs, the grid representations of ``P``, and the shared kernels."""

    def __init__(self, mdp: FiniteMDP, alpha: Fraction, backend: str) -> None:
        ex = mdp.exact
        self.mdp = mdp
        self.S, self.A = mdp.num_states, mdp.num_actions
        self.P: ObjArray = ex.transitions
        self.R: ObjArray = ex.rewards
        self.mu: ObjArray | None = ex.prior
        self.g: Fraction = ex.gamma
        self.alpha = alpha
        # log2(alpha) for any size of alpha (a float would overflow for "1e-400")
        self.alpha_log2 = (
            math.log2(alpha.numerator) - math.log2(alpha.denominator) if alpha > 0 else -math.inf
        )
        self.backend = backend
        S, A = self.S, self.A
        self.avail = (
            np.ones((S, A), dtype=bool)
            if self.mu is None
            else np.array([[x > 0 for x in row] for row in self.mu], dtype=bool)
        )
        self._pmats: dict[int, tuple[int, ExactMatrix, ExactMatrix, bool]] = {}
        self._dyadic: tuple[int, ObjArray] | None = self._dyadic_p(mdp)
        if self._dyadic is not None:
            G, ints = self._dyadic
            rowsum = Fraction(max(sum(row) for row in ints.tolist()), 1 << G)
        else:
            rowsum = max(sum(self.P[s, a], Fraction(0)) for s in range(S) for a in range(A))
        self.L = self.g * rowsum  # exact Lipschitz constant of T in the sup norm
        self._rn = [x.numerator for x in self.R.ravel().tolist()]
        self._rd = [x.denominator for x in self.R.ravel().tolist()]
        # the prior: log-sum-exp weights and the spread max mu / min positive mu
        if self.mu is not None:
            pos = [x for x in self.mu.ravel().tolist() if x > 0]
            self.mu_spread_bits = max(1, math.ceil(math.log2(float(max(pos) / min(pos))) + 1))
        else:
            self.mu_spread_bits = 0

    @staticmethod
    def _dyadic_p(mdp: FiniteMDP) -> tuple[int, ObjArray] | None:
        """``(G, P * 2**G)`` as exact integers (shape ``(S * A, S)``) when ``P`` is dyadic.

        Float64 inputs are read from their bits (``frexp``); other exact inputs
        qualify when every denominator is a power of two. None otherwise.
        """
        S, A = mdp.num_states, mdp.num_actions
        src = np.asarray(mdp.source()["transitions"])
        if src.dtype != object:
            m, e = np.frexp(np.asarray(src, dtype=np.float64).reshape(S * A, S))
            mant = (m * 2.0**53).astype(np.int64)  # exact: P = mant * 2**(e - 53)
            nz = mant != 0
            G = int((53 - e[nz]).max()) if nz.any() else 0
            shift = np.where(nz, G - 53 + e, 0)
            ints = np.empty((S * A, S), dtype=object)
            ints[:] = [
                [int(a) << int(b) for a, b in zip(ra, rb, strict=True)]
                for ra, rb in zip(mant.tolist(), shift.tolist(), strict=True)
            ]
            return G, ints
        flat = mdp.exact.transitions.reshape(S * A, S)
        dens = [x.denominator for x in flat.ravel().tolist()]
        if not all(d & (d - 1) == 0 for d in dens):
            return None
        G = max(d.bit_length() - 1 for d in dens)
        ints = np.empty((S * A, S), dtype=object)
        ints[:] = [[(x.numerator << G) // x.denominator for x in row] for row in flat.tolist()]
        return G, ints

    # ---- P on a grid 2**-G: exact for dyadic inputs, else rounded down and up ----
    def pmat(self, F: int) -> tuple[int, ExactMatrix, ExactMatrix, bool]:
        """``(G, P_lo, P_hi, exact)``: integer matrices with ``P_lo <= P * 2**G <= P_hi``."""
        if self._dyadic is not None and self._dyadic[0] <= F + 64:
            G, key = self._dyadic[0], -1
            if key not in self._pmats:
                m = ExactMatrix(self._dyadic[1], self.backend)
                self._pmats[key] = (G, m, m, True)
            return self._pmats[key]
        G = F + 64
        key = G
        if key not in self._pmats:
            S, A = self.S, self.A
            flat = self.P.reshape(S * A, S)
            lo = np.empty(flat.shape, dtype=object)
            hi = np.empty(flat.shape, dtype=object)
            exact = True
            for idx, x in np.ndenumerate(flat):
                n = x.numerator << G
                lo[idx] = n // x.denominator
                hi[idx] = -((-n) // x.denominator)
                exact = exact and lo[idx] == hi[idx]
            m_lo = ExactMatrix(lo, self.backend)
            m_hi = m_lo if exact else ExactMatrix(hi, self.backend)
            self._pmats[key] = (G, m_lo, m_hi, exact)
        return self._pmats[key]

    def q_of_w(self, W: ObjArray, F: int, G: int, rnd: Any) -> ObjArray:
        """``R + gamma * W * 2**-G`` on the grid ``2**-F``, rounded by ``rnd``."""
        gn, gd = self.g.numerator, self.g.denominator
        out = np.empty(len(self._rn), dtype=object)
        for i, (rn, rd, w) in enumerate(zip(self._rn, self._rd, W, strict=True)):
            out[i] = rnd(((rn * gd) << (F + G)) + rd * gn * w, (rd * gd) << G)
        return out.reshape(self.S, self.A)

    def q_point(self, V: ObjArray, F: int) -> ObjArray:
        """``R + gamma P V`` rounded to the grid (for Newton; not rigorous)."""
        G, P_lo, _, _ = self.pmat(F)
        return self.q_of_w(P_lo.dot(V), F, G, _round_div)

    def q_box(self, V_lo: ObjArray, V_hi: ObjArray, F: int) -> tuple[ObjArray, ObjArray]:
        """Integers with ``Q_lo <= (R + gamma P V) * 2**F <= Q_hi`` for all ``V`` in the box."""
        G, P_lo, P_hi, exact = self.pmat(F)
        if exact:
            W_lo = P_lo.dot(V_lo)
            W_hi = W_lo if V_hi is V_lo else P_lo.dot(V_hi)
        else:
            pos = np.vectorize(lambda x: max(x, 0), otypes=[object])
            neg = np.vectorize(lambda x: min(x, 0), otypes=[object])
            W_lo = P_lo.dot(pos(V_lo)) + P_hi.dot(neg(V_lo))
            W_hi = P_hi.dot(pos(V_hi)) + P_lo.dot(neg(V_hi))
        return self.q_of_w(W_lo, F, G, _floor_div), self.q_of_w(W_hi, F, G, _ceil_div)

    # ---- the log-sum-exp on the grid ----
    def prec_for(self, F: int, scale_bits: int) -> int:
        return max(F, 0) + scale_bits + 64

    def threshold(self, prec: int) -> int:
        """``T`` with ``exp(-T) < 2**-(prec + 10)`` (times the prior's spread)."""
        return (prec + 10) * 7 // 10 + 1 + self.mu_spread_bits

    def lse(
        self, ctx: Any, Q: ObjArray, F: int, want_pi: bool = False
    ) -> tuple[ObjArray, ObjArray, tuple[NDArray[np.float64], ObjArray, ObjArray] | None]:
        """``V(s) = alpha log sum_a mu exp(Q / alpha)`` on the grid: ``(V_lo, V_hi, pi)``.

        With an interval context, ``V_lo <= V * 2**F <= V_hi`` is proven; with a
        point context both are the rounded value. Shift by the largest
        available ``Q`` first (so that every exponent is ``<= 0``), terms
        whose exponent is below ``-T`` are enclosed by ``[0, mu exp(-T)]``
        without evaluating them (Blanchard, Higham & Higham 2021, for the
        shift; SPEC section 1 for the convention). ``pi`` (point contexts,
        ``want_pi``) is the soft-greedy policy ``mu exp((Q - V) / alpha)``: in
        float64, on the grid ``2**-F`` (point contexts, for the Jacobian), and
        as enclosures (None where ``mu = 0``).
        """
        if self.alpha == 0:
            return self._hard_max(Q, F, want_pi)
        S, A = self.S, self.A
        an, ad = self.alpha.numerator, self.alpha.denominator
        den = an << F
        T = self.threshold(ctx.prec)
        tiny = ctx.exp(ctx.ratio(-T, 1))
        alpha_c = ctx.ratio(an, ad)
        V_lo = np.empty(S, dtype=object)
        V_hi = np.empty(S, dtype=object)
        pi = np.zeros((S, A)) if want_pi else None
        pi_grid = np.zeros((S, A), dtype=object)
        pi_enc = np.full((S, A), None, dtype=object)
        mu = self.mu
        for s in range(S):
            acts = [a for a in range(A) if self.avail[s, a]]
            m = max(Q[s, a] for a in acts)
            total = None
            terms = []
            for a in acts:
                n = (Q[s, a] - m) * ad
                if n < -T * den:
                    term = tiny
                    if mu is not None:
                        term = ctx.mul(term, ctx.ratio(mu[s, a].numerator, mu[s, a].denominator))
                    term = ctx.below(term)
                else:
                    term = ctx.exp(ctx.ratio(n, den))
                    if mu is not None:
                        term = ctx.mul(term, ctx.ratio(mu[s, a].numerator, mu[s, a].denominator))
                terms.append(term)
                total = term if total is None else ctx.add(total, term)
            lv = ctx.mul(ctx.log(total), alpha_c)
            V_lo[s] = m + ctx.floor_scaled(lv, F)
            V_hi[s] = m + ctx.ceil_scaled(lv, F)
            if pi is not None:
                for a, term in zip(acts, terms, strict=True):
                    p = ctx.div(term, total)
                    pi[s, a] = ctx.to_float(p)
                    pi_grid[s, a] = ctx.floor_scaled(p, F)
                    pi_enc[s, a] = p
        return V_lo, V_hi, None if pi is None else (pi, pi_grid, pi_enc)

    def _hard_max(
        self, Q: ObjArray, F: int, want_pi: bool
    ) -> tuple[ObjArray, ObjArray, tuple[NDArray[np.float64], ObjArray, ObjArray] | None]:
        """``alpha = 0``: ``V = max_{a: mu > 0} Q`` (exact on the grid) and the uniform
        policy over the maximisers (for the Newton step; certified separately)."""
        S, A = self.S, self.A
        V = np.empty(S, dtype=object)
        pi = np.zeros((S, A))
        pi_grid = np.zeros((S, A), dtype=object)
        for s in range(S):
            acts = [a for a in range(A) if self.avail[s, a]]
            V[s] = max(Q[s, a] for a in acts)
            ties = [a for a in acts if Q[s, a] == V[s]]
            for a in ties:
                pi[s, a] = 1.0 / len(ties)
                pi_grid[s, a] = (1 << F) // len(ties)
        return V, V, (pi, pi_grid, np.full((S, A), None, dtype=object)) if want_pi else None

    def policy_box(
        self, ctx: Any, Q_lo: ObjArray, Q_hi: ObjArray, V_lo: ObjArray, V_hi: ObjArray, F: int
    ) -> tuple[ObjArray, ObjArray]:
        """Integers with ``pi_lo <= pi * 2**F <= pi_hi``, for ``pi = mu exp((Q - V)/alpha)``.

        Valid for every ``(Q, V)`` in the boxes given (so for ``(Q*, V*)``
        whenever they enclose it); clipped to ``[0, 1]``.
        """
        S, A = self.S, self.A
        an, ad = self.alpha.numerator, self.alpha.denominator
        den = an << F
        T = self.threshold(ctx.prec)
        tiny = ctx.exp(ctx.ratio(-T, 1))
        one = 1 << F
        lo = np.zeros((S, A), dtype=object)
        hi = np.zeros((S, A), dtype=object)
        for s in range(S):
            for a in range(A):
                if not self.avail[s, a]:
                    continue  # mu = 0: pi = 0 exactly
                n_lo = (Q_lo[s, a] - V_hi[s]) * ad
                n_hi = (Q_hi[s, a] - V_lo[s]) * ad
                if n_hi < -T * den:
                    x = ctx.below(tiny)
                else:
                    e_lo = ctx.exp(ctx.ratio(n_lo, den)) if n_lo >= -T * den else None
                    e_hi = ctx.exp(ctx.ratio(n_hi, den))
                    x = _hull(ctx, e_lo, e_hi)
                if self.mu is not None:
                    m = self.mu[s, a]
                    x = ctx.mul(x, ctx.ratio(m.numerator, m.denominator))
                lo[s, a] = min(max(ctx.floor_scaled(x, F), 0), one)
                hi[s, a] = max(min(ctx.ceil_scaled(x, F), one), 0)
        return lo, hi


def _hull(ctx: Any, lo: Any, hi: Any) -> Any:
    """The enclosure ``[lo.lower, hi.upper]`` (``lo`` None: from 0)."""
    if lo is None:
        return ctx.below(hi)
    if isinstance(hi, tuple):  # mpmath intervals (lo, hi)
        return (lo[0], hi[1])
    return lo.union(hi)


# --------------------------------------------------------------------------------------
# The float64 start and the Newton iteration
# --------------------------------------------------------------------------------------


def _float_start(mdp: FiniteMDP, alpha: Fraction, start: Any) -> NDArray[np.float64]:
    """The float64 Q-table that Newton starts from (``start``, or the float64 solver's)."""
    if start is None:
        from softq_ref.solvers import solve

        if not math.isfinite(_float_or_inf(alpha)):
            # alpha beyond the float range: start from zero (soft policy iteration
            # converges from anywhere; only the number of steps depends on the start)
            return np.zeros((mdp.num_states, mdp.num_actions))
        start = solve(mdp, alpha)
    Q = getattr(start, "Q", start)
    Q = np.asarray(Q, dtype=np.float64)
    if Q.shape[-2:] != (mdp.num_states, mdp.num_actions) or not np.isfinite(Q).all():
        raise InvalidMDPError(
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
    prob: _Problem, r: list[int], pi_grid: ObjArray, Minv: NDArray[np.float64], F: int
) -> list[int]:
    """Solve ``(I - gamma P_pi) x = r`` on the grid ``2**-F`` by mixed-precision refinement.

    ``x <- x + M64^{-1} (r - (I - gamma P_pi) x)`` with the residual in exact
    integer arithmetic (``P_pi`` from ``P`` and the policy on the grid) and the
    correction from the float64 inverse ``M64^{-1}``: each step gains about
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
        x = [xi + _to_grid(float(d), e) for xi, d in zip(x, Minv @ rf, strict=True)]
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


def _direct_solve_flint(
    prob: _Problem, r: list[int], pi_grid: ObjArray, F: int, prec: int
) -> list[int]:
    """Solve ``(I - gamma P_pi) x = r`` on the grid with one flint ``arb_mat`` solve.

    For small ``S`` (``S**3`` high-precision operations in C) this is cheaper
    than the refinement iterations of :func:`_inner_solve`. The integer matrix
    ``gd 2**(F+G) I - gn sum_a pi[s, a] P[s, a, :]`` (``gamma = gn / gd``, ``pi``
    and ``P`` on their grids) is ``gd 2**(F+G) (I - gamma P_pi)``.
    """
    from softq_ref._arith import _import_flint

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
            out.append(_round_shift_int(int(man), int(exp)))
    finally:
        flint.ctx.prec = saved
    return out


def _round_shift_int(man: int, shift: int) -> int:
    """``man * 2**shift`` rounded to an integer."""
    if shift >= 0:
        return man << shift
    return (man + (1 << (-shift - 1))) >> -shift


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
        pi, pi_grid, _ = pol
        r = [int(x) for x in TV - V]
        if prob.backend == "flint" and S <= _DIRECT_SOLVE_MAX_STATES:
            x = _direct_solve_flint(prob, r, pi_grid, F, prob.prec_for(F, scale_bits))
        else:
            Minv = np.linalg.inv(np.eye(S) - g64 * np.einsum("sa,sat->st", pi, P64))
            x = _inner_solve(prob, r, pi_grid, Minv, F)
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


# --------------------------------------------------------------------------------------
# Enclosures -> printed decimals and the error bound
# --------------------------------------------------------------------------------------


@dataclass
class _Enclosure:
    """Integer bounds on the grid ``2**-F`` for ``Q*``, ``V*``, ``pi*`` (any shape)."""

    F: int
    Q: tuple[ObjArray, ObjArray]
    V: tuple[ObjArray, ObjArray]
    pi: tuple[ObjArray, ObjArray]


def _mids_and_radii(lo: ObjArray, hi: ObjArray, F: int) -> tuple[ObjArray, ObjArray]:
    """``(lo + hi, hi - lo)``: midpoints and radii on the grid ``2**-(F + 1)``."""
    mid = np.empty(lo.shape, dtype=object)
    rad = np.empty(lo.shape, dtype=object)
    for idx in np.ndindex(lo.shape):
        mid[idx] = int(lo[idx]) + int(hi[idx])
        rad[idx] = int(hi[idx]) - int(lo[idx])
    return mid, rad


def _print_grid(
    parts: dict[str, tuple[ObjArray, ObjArray]], j: int, digits: int, scale: Fraction
) -> tuple[dict[str, Any], Fraction]:
    """:func:`_print_all` for midpoints and radii given as integers on the grid ``2**-j``.

    The error of each entry (radius plus the exact rounding error of its
    printout) is rounded up to the grid ``2**-(j + 8)``, in integers.
    """
    from softq_ref._decimal_out import _exponent_nd, round_nd

    scale_exp = decimal_exponent(scale)
    worst = 0
    texts: dict[str, Any] = {}
    for key, (mid, rad) in parts.items():
        out = np.empty(mid.shape, dtype=object)
        for idx in np.ndindex(mid.shape):
            n, r = int(mid[idx]), int(rad[idx])
            err = r << 8
            if n == 0:
                out[idx] = "0"
            else:
                e = _exponent_nd(abs(n), 1 << j)
                sig = digits + 2 + max(0, e - scale_exp)
                out[idx], q, k = round_nd(n, 1 << j, sig, e)
                # |q 10**-k - |n| 2**-j| in units of 2**-(j + 8), rounded up
                if k >= 0:
                    err += _ceil_div(abs((q << j) - abs(n) * 10**k) << 8, 10**k)
                else:
                    err += abs(((q * 10**-k) << j) - abs(n)) << 8
            worst = max(worst, err)
        texts[key] = _nested(out, str)
    return texts, Fraction(worst, 1 << (j + 8))


def _print_all(
    parts: dict[str, tuple[ObjArray, ObjArray]], digits: int, scale: Fraction
) -> tuple[dict[str, Any], Fraction]:
    """Decimal strings of the midpoints and ``max(radius + |printed - midpoint|)``."""
    scale_exp = decimal_exponent(scale)
    worst = Fraction(0)
    texts: dict[str, Any] = {}
    for key, (mid, rad) in parts.items():
        out = np.empty(mid.shape, dtype=object)
        for idx in np.ndindex(mid.shape):
            x: Any = mid[idx]
            sig = digits + 2
            if x != 0:
                sig += max(0, decimal_exponent(x) - scale_exp)
            text, printed = round_decimal(x, sig)
            out[idx] = text
            worst = max(worst, rad[idx] + abs(printed - x))
        texts[key] = _nested(out, str)
    return texts, worst


def _to_mpf(arr: ObjArray, prec: int) -> ObjArray:
    """Fractions -> mpmath ``mpf`` rounded to ``prec`` bits (dyadics without a division)."""
    import mpmath
    from mpmath import libmp

    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        x: Any = arr[idx]
        if isinstance(x, _Dyadic):
            out[idx] = mpmath.mp.make_mpf(libmp.from_man_exp(x.n, -x.j, prec, "n"))
            continue
        n, d = x.numerator, x.denominator
        if d & (d - 1) == 0:
            raw = libmp.from_man_exp(n, 1 - d.bit_length(), prec, "n")
        else:
            raw = libmp.from_rational(n, d, prec, "n")
        out[idx] = mpmath.mp.make_mpf(raw)
    return out


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


class _Dyadic:
    """``n * 2**-j`` without normalising (for :func:`_to_mpf`)."""

    __slots__ = ("n", "j")

    def __init__(self, n: int, j: int) -> None:
        self.n, self.j = n, j


def _over(arr: ObjArray, j: int) -> ObjArray:
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = _Dyadic(int(arr[idx]), j)
    return out


def _max_abs_lower(lo: ObjArray, hi: ObjArray, F: int) -> Fraction:
    """``max |x|`` over the entries, a lower bound valid for every point of the boxes."""
    best = 0
    for x, y in zip(lo.flat, hi.flat, strict=True):
        a, b = int(x), int(y)
        if a > 0:
            best = max(best, a)
        elif b < 0:
            best = max(best, -b)
    return Fraction(best, 1 << F)


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
