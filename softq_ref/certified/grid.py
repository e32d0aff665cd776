"""The certified solver's problem: exact inputs, the fixed-point grid, interval hulls.

Part of :mod:`softq_ref.certified` (see its docstring for the method).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref.certified.arith import ExactMatrix, SparseExactMatrix
from softq_ref.certified.printing import Log10Box, RationalBox
from softq_ref.mdp import FiniteMDP

ObjArray = NDArray[Any]  # object arrays (ints, Fractions, mpf)


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


Rows = list[list[dict[int, Fraction]]]  # P[s][a] as {s': P[s, a, s']} over the nonzeros


def _exact_inputs(mdp: FiniteMDP) -> tuple[ObjArray, ObjArray | None, Fraction]:
    """``R``, ``mu``, ``gamma`` exactly, without the dense ``P`` of :attr:`FiniteMDP.exact`
    for sparse transitions (whose rewards are ``[S][A]``, so nothing needs reducing)."""
    if not mdp.is_sparse:
        ex = mdp.exact
        return ex.rewards, ex.prior, ex.gamma
    src = mdp.source()

    def exact(arr: Any) -> ObjArray:
        if arr.dtype == object:
            return np.asarray(arr, dtype=object)
        out = np.empty(arr.size, dtype=object)
        out[:] = [Fraction(x) for x in arr.ravel().tolist()]
        return out.reshape(arr.shape)

    mu = None if src["prior"] is None else exact(src["prior"])
    return exact(src["rewards"]), mu, src["gamma"]


class _SparseInts:
    """Integers ``P * 2**G`` of sparse transitions: the CSR structure and one Python int per
    stored entry."""

    def __init__(self, indptr: Any, indices: Any, values: list[int]) -> None:
        self.indptr = indptr
        self.indices = indices
        self.values = values


def _int_rows(ints: Any) -> list[list[int]]:
    """The rows of a dense integer object array, or of :class:`_SparseInts` (nonzeros)."""
    if isinstance(ints, _SparseInts):
        ptr = ints.indptr.tolist()
        return [ints.values[ptr[r] : ptr[r + 1]] for r in range(len(ptr) - 1)]
    rows: list[list[int]] = ints.tolist()
    return rows


def _sparse_dyadic(mdp: FiniteMDP) -> tuple[int, _SparseInts] | None:
    """:meth:`_Problem._dyadic_p` for sparse transitions, over the stored entries only."""
    csr = mdp.transitions
    if mdp.float_source():
        m, e = np.frexp(np.asarray(csr.data, dtype=np.float64))
        mant = (m * 2.0**53).astype(np.int64)  # exact: P = mant * 2**(e - 53)
        nz = mant != 0
        G = int((53 - e[nz]).max()) if nz.any() else 0
        shift = np.where(nz, G - 53 + e, 0)
        vals = [int(a) << int(b) for a, b in zip(mant.tolist(), shift.tolist(), strict=True)]
        return G, _SparseInts(csr.indptr, csr.indices, vals)
    exact = mdp.exact_sparse_values().tolist()
    if not all(x.denominator & (x.denominator - 1) == 0 for x in exact):
        return None
    G = max((x.denominator.bit_length() - 1 for x in exact), default=0)
    vals = [(x.numerator << G) // x.denominator for x in exact]
    return G, _SparseInts(csr.indptr, csr.indices, vals)


class _Problem:
    """Exact inputs, the grid representations of ``P``, and the shared kernels.

    Sparse transitions stay sparse: ``P`` is kept as its rows over the
    nonzeros (:meth:`rows`), the integer matrices of :meth:`pmat` are sparse,
    and the dense exact ``P`` (:attr:`P`) is built only if asked for.
    """

    def __init__(self, mdp: FiniteMDP, alpha: Fraction, backend: str) -> None:
        self.mdp = mdp
        self.sparse = mdp.is_sparse
        self.S, self.A = mdp.num_states, mdp.num_actions
        self.R, self.mu, self.g = _exact_inputs(mdp)
        self._rows: Rows | None = None
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
        self._pmats: dict[int, tuple[int, Any, Any, bool]] = {}
        self._dyadic: tuple[int, Any] | None = self._dyadic_p(mdp)
        if self._dyadic is not None:
            G, ints = self._dyadic
            rowsum = Fraction(max(sum(row) for row in _int_rows(ints)), 1 << G)
        else:
            rowsum = max(sum(row.values(), Fraction(0)) for st in self.rows() for row in st)
        self.L = self.g * rowsum  # exact Lipschitz constant of T in the sup norm
        self._rn = [x.numerator for x in self.R.ravel().tolist()]
        self._rd = [x.denominator for x in self.R.ravel().tolist()]
        # the prior: log-sum-exp weights and the spread max mu / min positive mu
        if self.mu is not None:
            pos = [x for x in self.mu.ravel().tolist() if x > 0]
            spread = max(pos) / min(pos)  # log2 of the integers: a float would overflow (1e-309)
            log2_spread = math.log2(spread.numerator) - math.log2(spread.denominator)
            self.mu_spread_bits = max(1, math.ceil(log2_spread + 1))
        else:
            self.mu_spread_bits = 0

    @property
    def P(self) -> ObjArray:
        """The exact ``P`` as a dense ``[S][A][S]`` object array (built on first use for sparse
        transitions: only the rational solves of ``alpha = 0`` need it)."""
        return self.mdp.exact.transitions

    def rows(self) -> Rows:
        """``P[s][a]`` as ``{s': P[s, a, s']}`` over the nonzeros, exactly (cached)."""
        if self._rows is None:
            S, A = self.S, self.A
            if self.sparse:
                csr = self.mdp.transitions
                ptr, cols = csr.indptr.tolist(), csr.indices.tolist()
                vals = self.mdp.exact_sparse_values().tolist()
                flat = [
                    {cols[k]: vals[k] for k in range(ptr[r], ptr[r + 1]) if vals[k] != 0}
                    for r in range(S * A)
                ]
            else:
                flat = [
                    {t: x for t, x in enumerate(row) if x != 0}
                    for row in self.P.reshape(S * A, S).tolist()
                ]
            self._rows = [flat[s * A : (s + 1) * A] for s in range(S)]
        return self._rows

    @staticmethod
    def _dyadic_p(mdp: FiniteMDP) -> tuple[int, Any] | None:
        """``(G, P * 2**G)`` as exact integers (shape ``(S * A, S)``) when ``P`` is dyadic.

        Float64 inputs are read from their bits (``frexp``); other exact inputs
        qualify when every denominator is a power of two. None otherwise. For
        sparse transitions the integers are a :class:`_SparseInts` (the
        nonzeros only).
        """
        S, A = mdp.num_states, mdp.num_actions
        if mdp.is_sparse:
            return _sparse_dyadic(mdp)
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
    def pmat(self, F: int) -> tuple[int, Any, Any, bool]:
        """``(G, P_lo, P_hi, exact)``: integer matrices with ``P_lo <= P * 2**G <= P_hi``."""
        if self._dyadic is not None and self._dyadic[0] <= F + 64:
            G, key = self._dyadic[0], -1
            if key not in self._pmats:
                ints = self._dyadic[1]
                m = (
                    SparseExactMatrix(ints.indptr, ints.indices, ints.values)
                    if isinstance(ints, _SparseInts)
                    else ExactMatrix(ints, self.backend)
                )
                self._pmats[key] = (G, m, m, True)
            return self._pmats[key]
        G = F + 64
        key = G
        if key not in self._pmats and self.sparse:
            csr = self.mdp.transitions
            vals = self.mdp.exact_sparse_values().tolist()
            lo_v = [(x.numerator << G) // x.denominator for x in vals]
            hi_v = [-((-x.numerator << G) // x.denominator) for x in vals]
            exact = lo_v == hi_v
            s_lo = SparseExactMatrix(csr.indptr, csr.indices, lo_v)
            s_hi = s_lo if exact else SparseExactMatrix(csr.indptr, csr.indices, hi_v)
            self._pmats[key] = (G, s_lo, s_hi, exact)
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
    ) -> tuple[ObjArray, ObjArray, tuple[NDArray[np.float64], ObjArray] | None]:
        """``V(s) = alpha log sum_a mu exp(Q / alpha)`` on the grid: ``(V_lo, V_hi, pi)``.

        With an interval context, ``V_lo <= V * 2**F <= V_hi`` is proven; with a
        point context both are the rounded value. Shift by the largest
        available ``Q`` first (so that every exponent is ``<= 0``), terms
        whose exponent is below ``-T`` are enclosed by ``[0, mu exp(-T)]``
        without evaluating them (Blanchard, Higham & Higham 2021, for the
        shift; docs/conventions.md section 1 for the convention). ``pi`` (point contexts,
        ``want_pi``) is the soft-greedy policy ``mu exp((Q - V) / alpha)``: in
        float64 and on the grid ``2**-F`` (for Newton's Jacobian).
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
        return V_lo, V_hi, None if pi is None else (pi, pi_grid)

    def _hard_max(
        self, Q: ObjArray, F: int, want_pi: bool
    ) -> tuple[ObjArray, ObjArray, tuple[NDArray[np.float64], ObjArray] | None]:
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
        return V, V, (pi, pi_grid) if want_pi else None

    def policy_box(
        self, ctx: Any, z_lo: int, z_hi: int, F: int, s: int, a: int
    ) -> RationalBox | Log10Box:
        """An enclosure of ``pi = mu[s, a] exp(z / alpha)`` for ``z`` in ``[z_lo, z_hi] * 2**-F``
        (``z = Q(s, a) - V(s)``), relative to ``pi``'s size: exact rational ends from one
        interval exponential, or, for entries below ``exp(-T)`` (``T`` about the working
        precision in bits), :meth:`policy_log10`. Clipped to ``[0, 1]``."""
        an, ad = self.alpha.numerator, self.alpha.denominator
        den = an << F
        if z_lo * ad < -self.threshold(ctx.prec) * den:
            return self.policy_log10(ctx, z_lo, z_hi, F, s, a)
        # pi <= 1 bounds z / alpha <= log(1 / mu) < K: clip the upper end there, so that a wide
        # enclosure of z (rewards 1e300, alpha 1e-300) never asks for exp of a huge number
        K = 1
        if self.mu is not None and self.mu[s, a] < 1:
            K = 2 + self.mu[s, a].denominator.bit_length() - self.mu[s, a].numerator.bit_length()
        hi_num = min(z_hi * ad, max(z_lo * ad, K * den))
        x = ctx.exp(ctx.span(z_lo * ad, hi_num, den))
        if self.mu is not None and self.mu[s, a] != 1:
            m = self.mu[s, a]
            x = ctx.mul(x, ctx.ratio(m.numerator, m.denominator))
        lo, hi = ctx.endpoints(x)
        return RationalBox(max(lo, Fraction(0)), min(hi, Fraction(1)))

    def policy_log10(self, ctx: Any, z_lo: int, z_hi: int, F: int, s: int, a: int) -> Log10Box:
        """An enclosure of ``log10 pi`` for ``pi = mu[s, a] exp(z / alpha)``, ``z`` in
        ``[z_lo, z_hi] * 2**-F`` (``z = Q(s, a) - V(s)``), clipped at 0 since ``pi <= 1``.

        For policy entries too small for :meth:`policy_box`: in log space their
        accuracy is still relative, so ``exp(-10**12)`` is as well determined as
        ``0.5``.
        """
        an, ad = self.alpha.numerator, self.alpha.denominator
        w = ctx.span(z_lo * ad, z_hi * ad, an << F)
        if self.mu is not None and self.mu[s, a] != 1:
            m = self.mu[s, a]
            w = ctx.add(w, ctx.log(ctx.ratio(m.numerator, m.denominator)))
        w = ctx.div(w, ctx.log(ctx.ratio(10, 1)))
        lo, hi = ctx.endpoints(w)
        return Log10Box(lo, min(hi, Fraction(0)))
