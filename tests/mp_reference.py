"""An independent high-precision reference used by the tests (not the package's solver).

Newton's method on the soft Bellman equation written directly in mpmath at
``dps`` digits from the exact rational inputs (``mdp.exact``), for the MDPs
that the property tests draw (up to a hundred states). It shares no code
with the package beyond reading the input. Newton stops when the residual
``|T V - V|`` is below ``10**-(dps + 5) * max(1, |V|)`` at ``dps + 10``
working digits, so ``|V - V*| <= 10**-(dps + 5) * max(1, |V|) / (1 - gamma)``;
:func:`reference_error` states that bound for the tests to add.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
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


def mp_solve(mdp: FiniteMDP, alpha: float | Fraction, dps: int = 50, start=None):
    """Return ``(Q, V, policy)`` as nested lists of mpf at ``dps`` digits."""
    ex = mdp.exact
    S, A = mdp.num_states, mdp.num_actions
    with mp.workdps(dps + 10):
        P = [
            [[_mpf(ex.transitions[s, a, t]) for t in range(S)] for a in range(A)] for s in range(S)
        ]
        R = [[_mpf(ex.rewards[s, a]) for a in range(A)] for s in range(S)]
        mu = (
            None
            if ex.prior is None
            else [[_mpf(ex.prior[s, a]) for a in range(A)] for s in range(S)]
        )
        g = _mpf(ex.gamma)
        al = _mpf(Fraction(alpha))

        nz = [[[t for t in range(S) if P[s][a][t] != 0] for a in range(A)] for s in range(S)]

        def q_of(V):
            return [
                [R[s][a] + g * mp.fsum(P[s][a][t] * V[t] for t in nz[s][a]) for a in range(A)]
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
        for _ in range(200):
            Q = q_of(V)
            vp = [mp_soft_value(Q[s], al, None if mu is None else mu[s]) for s in range(S)]
            TV = [v for v, _ in vp]
            r = [TV[s] - V[s] for s in range(S)]
            scale = max([mp.mpf(1)] + [abs(v) for v in V])
            if max(abs(x) for x in r) <= tol * scale:
                break
            pi = [p for _, p in vp]
            M = mp.matrix(S, S)
            for s in range(S):
                for t in range(S):
                    M[s, t] = (1 if s == t else 0) - g * mp.fsum(
                        pi[s][a] * P[s][a][t] for a in range(A)
                    )
            d = mp.lu_solve(M, mp.matrix(r))
            V = [V[s] + d[s] for s in range(S)]
        else:  # pragma: no cover - would mean the reference itself failed
            raise AssertionError("mp reference Newton did not converge")
        Q = q_of(V)
        vp = [mp_soft_value(Q[s], al, None if mu is None else mu[s]) for s in range(S)]
        return Q, [v for v, _ in vp], [p for _, p in vp]


def reference_error(mdp: FiniteMDP, V, dps: int) -> float:
    """An upper bound on the reference's own error at ``dps`` digits (see the module).

    Newton's stopping rule gives ``|V - V*| <= 10**-(dps + 5) * max(1, |V|) / (1 - gamma)``
    and ``Q = R + gamma P V``, ``pi`` (1-Lipschitz in ``Q / alpha``) inherit it; the
    ``dps + 10`` working digits add ``10**-(dps + 8)`` relative per entry. A finite
    horizon is plain backward induction: ``H`` steps of ``10**-(dps + 8)`` relative.
    Returned as a float; it is about ``1e-60`` for ``dps = 60``, far below every float64
    bound and every certified bound at fewer than ``dps - 10`` digits.
    """
    import numpy as np

    scale = max(1.0, float(np.max(np.abs(np.asarray(V, dtype=float)))))
    if mdp.horizon is not None:
        return mdp.horizon * 10.0 ** -(dps + 7) * scale
    return 10.0 ** -(dps + 4) * scale / (1 - mdp.gamma)


def max_abs_diff(a, b) -> float:
    """``max |a - b|`` over nested lists / arrays (computed in mpmath, returned as float)."""
    import numpy as np

    fa = np.asarray(a, dtype=object).ravel()
    fb = np.asarray(b, dtype=object).ravel()
    with mp.workdps(60):
        return float(
            max((abs(mp.mpf(x) - mp.mpf(y)) for x, y in zip(fa, fb, strict=True)), default=0)
        )
