"""The hard problem (``alpha = 0``) solved exactly in rational arithmetic.

With ``alpha = 0`` every input is rational (SPEC section 2), and so is the
optimum: ``Q* = R + gamma P V*`` with ``V* = (I - gamma P_pi)^{-1} R_pi`` for
an optimal deterministic policy ``pi`` (Puterman, "Markov Decision
Processes", 1994, Theorem 6.4.6 for the finite convergence of policy
iteration). Policy iteration with exact linear solves therefore returns
``Q*`` exactly; finite horizons are exact backward induction.

Linear solves use flint's ``fmpq_mat`` (back end ``"flint"``) or sympy's
``DomainMatrix`` over ``QQ`` (back end ``"mpmath"``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["exact_policy_iteration", "exact_backward_induction", "argmax_policy"]


def _solve(M: list[list[Fraction]], b: list[Fraction], backend: str) -> list[Fraction]:
    """The exact solution of ``M x = b`` (``M`` nonsingular)."""
    n = len(b)
    if backend == "flint":
        from softq_ref.certified.arith import _import_flint

        flint = _import_flint()
        Mf = flint.fmpq_mat([[flint.fmpq(x.numerator, x.denominator) for x in row] for row in M])
        bf = flint.fmpq_mat([[flint.fmpq(x.numerator, x.denominator)] for x in b])
        x = Mf.solve(bf)
        return [Fraction(int(x[i, 0].p), int(x[i, 0].q)) for i in range(n)]
    from sympy import QQ
    from sympy.polys.matrices import DomainMatrix

    Md = DomainMatrix([[QQ(x.numerator, x.denominator) for x in row] for row in M], (n, n), QQ)
    bd = DomainMatrix([[QQ(x.numerator, x.denominator)] for x in b], (n, 1), QQ)
    x = Md.lu_solve(bd).to_Matrix()
    return [Fraction(int(x[i, 0].p), int(x[i, 0].q)) for i in range(n)]


def _flint_p(P: NDArray[Any]) -> Any:
    """``P`` as a flint ``fmpq_mat`` of shape ``(S * A, S)``."""
    from softq_ref.certified.arith import _import_flint

    flint = _import_flint()
    S, A, _ = P.shape
    rows = P.reshape(S * A, S).tolist()
    return flint.fmpq_mat([[flint.fmpq(x.numerator, x.denominator) for x in row] for row in rows])


def _q_of_v(
    P: NDArray[Any], R: NDArray[Any], g: Fraction, V: list[Fraction], Pf: Any = None
) -> NDArray[Any]:
    """``Q[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] V[s']`` exactly.

    ``Pf``: ``P`` as a flint ``fmpq_mat`` (:func:`_flint_p`) to multiply with, or None.
    """
    S, A = R.shape
    Q = np.empty((S, A), dtype=object)
    if Pf is not None:
        from softq_ref.certified.arith import _import_flint

        flint = _import_flint()
        Vf = flint.fmpq_mat([[flint.fmpq(v.numerator, v.denominator)] for v in V])
        W = (Pf * Vf).entries()
        for i, w in enumerate(W):
            s, a = divmod(i, A)
            Q[s, a] = R[s, a] + g * Fraction(int(w.p), int(w.q))
        return Q
    for s in range(S):
        for a in range(A):
            row = P[s, a]
            Q[s, a] = R[s, a] + g * sum(
                (p * v for p, v in zip(row, V, strict=True) if p), Fraction(0)
            )
    return Q


def argmax_policy(Q: NDArray[Any], avail: NDArray[np.bool_]) -> tuple[list[Fraction], NDArray[Any]]:
    """``V(s) = max_{a available} Q[s, a]`` and the uniform policy over the maximisers."""
    S, A = Q.shape
    V: list[Fraction] = []
    pi = np.empty((S, A), dtype=object)
    for s in range(S):
        best = max(Q[s, a] for a in range(A) if avail[s, a])
        ties = [a for a in range(A) if avail[s, a] and Q[s, a] == best]
        V.append(best)
        for a in range(A):
            pi[s, a] = Fraction(1, len(ties)) if a in ties else Fraction(0)
    return V, pi


def exact_policy_iteration(
    P: NDArray[Any],
    R: NDArray[Any],
    g: Fraction,
    avail: NDArray[np.bool_],
    start: list[int],
    backend: str,
    max_iterations: int = 10_000,
) -> tuple[NDArray[Any], int]:
    """``Q*`` of the hard MDP by policy iteration in exact rational arithmetic.

    ``start`` is the first deterministic policy (available actions only).
    Each step evaluates the policy exactly, ``(I - gamma P_pi) V = R_pi``, and
    switches a state's action only on a strict improvement, so the values
    increase strictly and the loop ends at an optimal policy. Returns ``Q*``
    (object array of Fractions) and the number of evaluations.
    """
    S, A = R.shape
    pi = list(start)
    Pf = _flint_p(P) if backend == "flint" else None
    for it in range(1, max_iterations + 1):
        M = [
            [(Fraction(1) if s == t else Fraction(0)) - g * P[s, pi[s], t] for t in range(S)]
            for s in range(S)
        ]
        V = _solve(M, [R[s, pi[s]] for s in range(S)], backend)
        Q = _q_of_v(P, R, g, V, Pf)
        changed = False
        for s in range(S):
            best_a = max((a for a in range(A) if avail[s, a]), key=lambda a: Q[s, a])
            if Q[s, best_a] > Q[s, pi[s]]:
                pi[s] = best_a
                changed = True
        if not changed:
            return Q, it
    raise RuntimeError(f"exact policy iteration did not end within {max_iterations} steps")


def exact_backward_induction(
    P: NDArray[Any], R: NDArray[Any], g: Fraction, avail: NDArray[np.bool_], horizon: int
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Finite horizon, ``alpha = 0``: ``Q_t = R + gamma P V_{t+1}``, ``V_H = 0``, exactly.

    Returns ``Q`` ``(H, S, A)``, ``V`` ``(H, S)`` and ``policy`` ``(H, S, A)`` (uniform over
    the maximisers) as object arrays of Fractions.
    """
    S, A = R.shape
    Qs = np.empty((horizon, S, A), dtype=object)
    Vs = np.empty((horizon, S), dtype=object)
    pis = np.empty((horizon, S, A), dtype=object)
    V = [Fraction(0)] * S
    for t in range(horizon - 1, -1, -1):
        Q = _q_of_v(P, R, g, V)
        V, pi = argmax_policy(Q, avail)
        Qs[t], pis[t] = Q, pi
        Vs[t] = V
    return Qs, Vs, pis
