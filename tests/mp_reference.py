"""An independent high-precision reference used by the tests (not the package's solver).

Newton's method on the soft Bellman equation written directly in mpmath at
``dps + 10`` working digits from the exact rational inputs, for the MDPs that
the tests draw (dense, up to a hundred states; sparse, up to a few thousand).
It shares no code with the package beyond reading the input (``mdp.exact``,
or for sparse transitions the stored entries and their exact values), and
it works over the nonzeros of ``P`` only.

Each Newton step solves ``(I - gamma P_pi) d = T V - V`` by iterative
refinement: the correction from a float64 sparse LU of the matrix (SciPy's
SuperLU), the residual of the system in mpmath over the nonzeros, until that
residual is ``10**-(dps + 8)`` of the right-hand side (mpmath's dense
``lu_solve`` if the refinement stalls, as it would for a matrix too
ill-conditioned for float64). Only the speed depends on the float64 factors.

Newton stops when the residual is relatively small:
``max |T V - V| <= 10**-(dps + 5) * max(max |T V|, floor)``, with
``floor = 10**-3 * size`` and ``size`` the scale of the inputs
(:func:`input_size`: the largest available reward plus ``alpha`` times
``1 + log A + max |log mu|``), below which ``dps + 10`` working digits cannot
resolve a value. The stop is relative to the values, not absolute, so values
of order ``1e-300`` are resolved to ``dps`` digits like values of order 1.
Then ``|V - V*| <= 10**-(dps + 5) * max(max |V|, floor) / (1 - gamma)`` (up to
the working precision); :func:`reference_error` states that bound for the tests
to add.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
from mpmath import mp

from softq_ref.mdp import FiniteMDP


def _mpf(x: Fraction) -> mpmath.mpf:
    return mp.mpf(x.numerator) / x.denominator


def mp_soft_value(q: list, alpha: mpmath.mpf, mu: list | None) -> tuple[mpmath.mpf, list]:
    avail = [i for i in range(len(q)) if mu is None or mu[i] > 0]
    m = max(q[i] for i in avail)
    if alpha == 0:
        ties = [i for i in avail if q[i] == m]
        return m, [mp.mpf(1) / len(ties) if i in ties else mp.mpf(0) for i in range(len(q))]
    w = [
        (mu[i] if mu is not None else 1) * mp.exp((q[i] - m) / alpha) if i in avail else mp.mpf(0)
        for i in range(len(q))
    ]
    z = mp.fsum(w)
    return m + alpha * mp.log(z), [wi / z for wi in w]


def _exact_inputs(mdp: FiniteMDP):
    """``(rows, R, mu, gamma)`` exactly: ``rows[s][a]`` a list of ``(t, P[s, a, t])`` over
    the nonzeros; ``R``, ``mu`` nested lists of Fractions (``mu`` None for all ones)."""
    S, A = mdp.num_states, mdp.num_actions
    if mdp.is_sparse:
        src = mdp.source()
        csr = mdp.transitions
        ptr, cols = csr.indptr.tolist(), csr.indices.tolist()
        vals = mdp.exact_sparse_values().tolist()
        flat = [
            [(cols[k], vals[k]) for k in range(ptr[r], ptr[r + 1]) if vals[k] != 0]
            for r in range(S * A)
        ]

        def exact(arr):
            return [[Fraction(x) for x in row] for row in np.asarray(arr).tolist()]

        R = exact(src["rewards"])
        mu = None if src["prior"] is None else exact(src["prior"])
        g = Fraction(src["gamma"])
    else:
        ex = mdp.exact
        flat = [
            [(t, x) for t, x in enumerate(row) if x != 0]
            for row in ex.transitions.reshape(S * A, S).tolist()
        ]
        R = ex.rewards.tolist()
        mu = None if ex.prior is None else ex.prior.tolist()
        g = ex.gamma
    rows = [flat[s * A : (s + 1) * A] for s in range(S)]
    return rows, R, mu, g


def input_size(mdp: FiniteMDP, alpha) -> float:
    """The scale of the inputs: ``max |R|`` over available actions plus
    ``alpha (1 + log A + max |log mu|)`` (a float; see the module docstring)."""
    _, R, mu, _ = _exact_inputs(mdp)
    A = mdp.num_actions
    avail = [(s, a) for s in range(len(R)) for a in range(A) if mu is None or mu[s][a] > 0]
    r_max = max(abs(float(R[s][a])) for s, a in avail)
    log_mu = 0.0
    if mu is not None:  # log of the integers: a weight of 1e-400 is no float
        log_mu = max(
            abs(math.log(mu[s][a].numerator) - math.log(mu[s][a].denominator)) for s, a in avail
        )
    al = Fraction(alpha)
    return r_max + float(al) * (1 + math.log(A) + log_mu)


def _solve_linear(rows, pi, g, r, dps):
    """``(I - gamma P_pi) d = r`` in mpmath: float64 sparse LU + refinement (module docstring)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    S = len(r)
    prow, pcol, pval = [], [], []
    for s in range(S):
        for a, row in enumerate(rows[s]):
            w = float(pi[s][a])
            if w:
                for t, p in row:
                    prow.append(s)
                    pcol.append(t)
                    pval.append(w * float(p))
    M64 = sp.identity(S, format="csc") - float(g) * sp.csc_array((pval, (prow, pcol)), shape=(S, S))
    lu = splu(M64.tocsc())

    def apply(d):  # (I - gamma P_pi) d over the nonzeros, in mpmath
        out = []
        for s in range(S):
            acc = mp.fsum(
                pi[s][a] * mp.fsum(p * d[t] for t, p in row)
                for a, row in enumerate(rows[s])
                if pi[s][a]
            )
            out.append(d[s] - g * acc)
        return out

    rmax = max(abs(x) for x in r)
    if rmax == 0:
        return [mp.mpf(0)] * S
    target = rmax * mp.mpf(10) ** (-(dps + 8))
    d = [mp.mpf(0)] * S
    res = list(r)
    last = rmax
    for _ in range(60):
        scale = max(abs(x) for x in res)
        if scale <= target:
            return d
        c = lu.solve(np.array([float(x / scale) for x in res]))
        d = [di + mp.mpf(float(ci)) * scale for di, ci in zip(d, c, strict=True)]
        res = [ri - mi for ri, mi in zip(r, apply(d), strict=True)]
        new = max(abs(x) for x in res)
        if new > last / 4:
            break  # stalled: float64 cannot precondition this matrix
        last = new
    M = mp.matrix(S, S)  # pragma: no cover - only for matrices too ill-conditioned for float64
    for s in range(S):
        M[s, s] = 1
        for a, row in enumerate(rows[s]):
            for t, p in row:
                M[s, t] -= g * pi[s][a] * p
    sol = mp.lu_solve(M, mp.matrix(r))
    return [sol[s] for s in range(S)]


def mp_solve(mdp: FiniteMDP, alpha: float | Fraction, dps: int = 50, start=None):
    """Return ``(Q, V, policy)`` as nested lists of mpf at ``dps`` digits."""
    S, A = mdp.num_states, mdp.num_actions
    rows_x, R_x, mu_x, g_x = _exact_inputs(mdp)
    size = input_size(mdp, alpha)
    with mp.workdps(dps + 10):
        rows = [[[(t, _mpf(p)) for t, p in row] for row in st] for st in rows_x]
        R = [[_mpf(x) for x in row] for row in R_x]
        mu = None if mu_x is None else [[_mpf(x) for x in row] for row in mu_x]
        g = _mpf(g_x)
        al = _mpf(Fraction(alpha))

        def q_of(V):
            return [
                [R[s][a] + g * mp.fsum(p * V[t] for t, p in rows[s][a]) for a in range(A)]
                for s in range(S)
            ]

        if mdp.horizon is not None:
            V = [mp.mpf(0)] * S
            Qs, Vs, pis = [], [], []
            for _ in range(mdp.horizon):
                Q = q_of(V)
                vp = [mp_soft_value(Q[s], al, None if mu is None else mu[s]) for s in range(S)]
                V = [v for v, _ in vp]
                Qs.insert(0, Q)
                Vs.insert(0, V)
                pis.insert(0, [p for _, p in vp])
            return Qs, Vs, pis
        V = [mp.mpf(0)] * S if start is None else [mp.mpf(float(v)) for v in start]
        tol = mp.mpf(10) ** (-(dps + 5))
        floor = mp.mpf(size) / 1000
        for _ in range(200):
            Q = q_of(V)
            vp = [mp_soft_value(Q[s], al, None if mu is None else mu[s]) for s in range(S)]
            TV = [v for v, _ in vp]
            r = [TV[s] - V[s] for s in range(S)]
            scale = max([floor] + [abs(v) for v in TV])
            if max(abs(x) for x in r) <= tol * scale:
                break
            d = _solve_linear(rows, [p for _, p in vp], g, r, dps)
            V = [V[s] + d[s] for s in range(S)]
        else:  # pragma: no cover - would mean the reference itself failed
            raise AssertionError("mp reference Newton did not converge")
        Q = q_of(V)
        vp = [mp_soft_value(Q[s], al, None if mu is None else mu[s]) for s in range(S)]
        return Q, [v for v, _ in vp], [p for _, p in vp]


def reference_error(mdp: FiniteMDP, V, dps: int, alpha=0) -> float:
    """An upper bound on the reference's own error at ``dps`` digits (see the module).

    Newton's stopping rule gives
    ``|V - V*| <= 10**-(dps + 5) * max(max |V|, floor) / (1 - gamma)`` (``floor`` from
    :func:`input_size`, which needs ``alpha``), and ``Q = R + gamma P V``, ``pi``
    (1-Lipschitz in ``Q / alpha``) inherit it; the ``dps + 10`` working digits add
    ``10**-(dps + 8)`` relative to ``max(max |V|, size)`` per entry, as 10 times more
    here. A finite horizon is plain backward induction: ``H`` steps of
    ``10**-(dps + 8)`` of that scale. Returned as a float; it is about ``1e-64``
    relative for ``dps = 60``, far below every float64 bound and every certified
    bound at fewer than ``dps - 10`` digits.
    """
    size = input_size(mdp, alpha)
    v_max = float(np.max(np.abs(np.asarray(V, dtype=float))))
    if mdp.horizon is not None:
        return mdp.horizon * 10.0 ** -(dps + 7) * max(v_max, size)
    return 10.0 ** -(dps + 4) * max(v_max, size / 1000) / (1 - mdp.gamma)


def max_abs_diff(a, b) -> float:
    """``max |a - b|`` over nested lists / arrays (computed in mpmath, returned as float)."""
    fa = np.asarray(a, dtype=object).ravel()
    fb = np.asarray(b, dtype=object).ravel()
    with mp.workdps(60):
        return float(
            max((abs(mp.mpf(x) - mp.mpf(y)) for x, y in zip(fa, fb, strict=True)), default=0)
        )
