"""The hard problem (``alpha = 0``) solved exactly in rational arithmetic.

With ``alpha = 0`` every input is rational (docs/conventions.md section 2), and so is the
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


Rows = list[list[dict[int, Fraction]]]  # P[s][a] as {s': P[s, a, s']} over the nonzeros


def _q_of_v(
    P: NDArray[Any] | Rows, R: NDArray[Any], g: Fraction, V: list[Fraction], Pf: Any = None
) -> NDArray[Any]:
    """``Q[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] V[s']`` exactly.

    ``P``: the dense exact array, or its rows over the nonzeros (``P[s][a]`` a dict
    ``{s': P[s, a, s']}``). ``Pf``: ``P`` as a flint ``fmpq_mat`` (:func:`_flint_p`) to
    multiply with, or None.
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
    if isinstance(P, list):
        for s in range(S):
            for a in range(A):
                Q[s, a] = R[s, a] + g * sum((p * V[t] for t, p in P[s][a].items()), Fraction(0))
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
    P: NDArray[Any] | Rows, R: NDArray[Any], g: Fraction, avail: NDArray[np.bool_], horizon: int
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Finite horizon, ``alpha = 0``: ``Q_t = R + gamma P V_{t+1}``, ``V_H = 0``, exactly.

    ``P`` as for :func:`_q_of_v` (dense, or rows over the nonzeros).

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


# --------------------------------------------------------------------------------------
# alpha > 0: the entries that are rational for structural reasons
# --------------------------------------------------------------------------------------

Entry = tuple[int, ...]

#: The most states of the closed set ``X`` of :func:`structural_exact` solved in rationals
#: (a dense ``|X| x |X|`` system); ``X`` with zero rewards needs no solve at any size.
STRUCTURAL_SOLVE_MAX_STATES = 2000


def _mass(mu: NDArray[Any] | None, avail: NDArray[np.bool_], s: int) -> Fraction:
    """``sum_a mu[s, a]`` (the counting measure when ``mu`` is None)."""
    if mu is None:
        return Fraction(int(avail[s].sum()))
    return sum((mu[s, a] for a in range(mu.shape[1]) if avail[s, a]), Fraction(0))


def _uniform_rows(P: Rows, R: NDArray[Any], avail: NDArray[np.bool_], s: int) -> bool:
    """True when every available action of ``s`` has the same reward and transition row."""
    acts = [a for a in range(R.shape[1]) if avail[s, a]]
    return all(R[s, a] == R[s, acts[0]] and P[s][a] == P[s][acts[0]] for a in acts[1:])


def _tie_policy(
    mu: NDArray[Any] | None, avail: NDArray[np.bool_], s: int, out: dict[Entry, Fraction]
) -> None:
    """``pi(. | s) = mu / sum mu``: the soft-greedy policy where all available ``Q`` are equal."""
    m = _mass(mu, avail, s)
    for a in range(avail.shape[1]):
        w = (Fraction(1) if mu is None else mu[s, a]) if avail[s, a] else Fraction(0)
        out[(s, a)] = w / m


def structural_exact(
    P: Rows,
    R: NDArray[Any],
    g: Fraction,
    mu: NDArray[Any] | None,
    avail: NDArray[np.bool_],
    backend: str,
) -> dict[str, dict[Entry, Fraction]]:
    """The entries of ``Q*``, ``V*``, ``pi*`` (``alpha > 0``) that are rational for structural
    reasons, exactly: ``{"Q": {(s, a): q}, "V": {(s,): v}, "policy": {(s, a): p}}``.

    A state whose available actions all have the same ``Q*`` has
    ``V*(s) = Q*(s, a) + alpha log sum_a mu[s, a]`` and ``pi*(. | s) = mu / sum mu``.
    When moreover ``sum_a mu[s, a] = 1`` (one available action of weight 1; a
    probability prior) the log vanishes and ``V*`` satisfies a *linear*
    equation. On the largest set ``X`` of such states that no available action
    leaves (termination is allowed), ``V*`` is therefore the solution of
    ``V = R + gamma P V`` on ``X``, which is rational and is computed exactly;
    the candidate is checked (every available action of every state of ``X``
    gives the same ``Q``), and states that fail are dropped until it holds.
    (With zero rewards on ``X`` the solution is 0 and no system is solved;
    otherwise ``X`` of more than :data:`STRUCTURAL_SOLVE_MAX_STATES` states is
    not solved, and no value there is exact.)
    It solves the soft Bellman equation on the closed set ``X``, so it is
    ``V*`` there (the fixed point is unique). Then ``Q*(s, a)`` is rational for
    every pair whose successors all lie in ``X`` (every pair if ``gamma = 0``), and ``pi*(. | s)`` is
    ``mu / sum mu`` wherever the available actions' ``Q*`` are provably equal
    (their exact values agree, or their rewards and rows are identical).

    Typical cases: an absorbing goal with zero reward under a probability
    prior (``V* = Q* = 0``), one-action states, zero rewards everywhere with a
    probability prior, Markov reward processes (``A = 1``). The certified
    solver needs these values exactly: an entry that is exactly a rounding
    boundary (zero above all) has no enclosure of positive width that decides
    its rounding.
    """
    S, A = R.shape
    succ = [[set(P[s][a]) for a in range(A)] for s in range(S)]
    X = {s for s in range(S) if _mass(mu, avail, s) == 1}
    V: dict[int, Fraction] = {}
    while X:
        closed = False
        while not closed:  # the largest subset of X that no available action leaves
            leave = {s for s in X if any(succ[s][a] - X for a in range(A) if avail[s, a])}
            X -= leave
            closed = not leave
        if not X:
            break
        order = sorted(X)
        first = {s: next(a for a in range(A) if avail[s, a]) for s in order}
        rhs = [R[s, first[s]] for s in order]
        if not any(rhs):
            sol = [Fraction(0)] * len(order)  # V = gamma P V on X: V = 0 (unique fixed point)
        elif len(order) > STRUCTURAL_SOLVE_MAX_STATES:
            break  # a dense rational solve this large would not end: no exact values here
        else:
            pos = {s: i for i, s in enumerate(order)}
            M = [[Fraction(0)] * len(order) for _ in order]
            for s in order:
                a = first[s]
                M[pos[s]][pos[s]] += 1
                for t in succ[s][a]:
                    M[pos[s]][pos[t]] -= g * P[s][a][t]
            sol = _solve(M, rhs, backend)
        V = dict(zip(order, sol, strict=True))
        bad = {
            s
            for s in order
            for a in range(A)
            if avail[s, a] and R[s, a] + g * sum(P[s][a][t] * V[t] for t in succ[s][a]) != V[s]
        }
        if not bad:
            break
        X -= bad
        V = {}
    out: dict[str, dict[Entry, Fraction]] = {"Q": {}, "V": {}, "policy": {}}
    for s, v in V.items():
        out["V"][(s,)] = v
    for s in range(S):
        for a in range(A):
            if g == 0:
                out["Q"][(s, a)] = R[s, a]
            elif succ[s][a] <= V.keys():
                out["Q"][(s, a)] = R[s, a] + g * sum(
                    (P[s][a][t] * V[t] for t in succ[s][a]), Fraction(0)
                )
        acts = [a for a in range(A) if avail[s, a]]
        qs = [out["Q"].get((s, a)) for a in acts]
        if (None not in qs and len(set(qs)) == 1) or _uniform_rows(P, R, avail, s):
            _tie_policy(mu, avail, s, out["policy"])
    return out


def structural_exact_horizon(
    P: Rows,
    R: NDArray[Any],
    g: Fraction,
    mu: NDArray[Any] | None,
    avail: NDArray[np.bool_],
    horizon: int,
) -> dict[str, dict[Entry, Fraction]]:
    """:func:`structural_exact` for a finite horizon (keys ``(t, s[, a])``), by backward
    induction from ``V_H = 0``: ``Q_t(s, a)`` is rational when ``V_{t+1}`` is at every
    successor, ``V_t(s)`` when all available ``Q_t(s, .)`` are rational and equal and
    ``sum_a mu[s, a] = 1``, and ``pi_t(. | s) = mu / sum mu`` when they are equal."""
    S, A = R.shape
    succ = [[sorted(P[s][a]) for a in range(A)] for s in range(S)]
    out: dict[str, dict[Entry, Fraction]] = {"Q": {}, "V": {}, "policy": {}}
    nxt: dict[int, Fraction] = dict.fromkeys(range(S), Fraction(0))
    for t in range(horizon - 1, -1, -1):
        cur: dict[int, Fraction] = {}
        for s in range(S):
            for a in range(A):
                if all(u in nxt for u in succ[s][a]):
                    q = R[s, a] + g * sum((P[s][a][u] * nxt[u] for u in succ[s][a]), Fraction(0))
                    out["Q"][(t, s, a)] = q
            qs = [out["Q"].get((t, s, a)) for a in range(A) if avail[s, a]]
            equal = None not in qs and len(set(qs)) == 1
            if equal or _uniform_rows(P, R, avail, s):
                pol: dict[Entry, Fraction] = {}
                _tie_policy(mu, avail, s, pol)
                for (s_, a), p in pol.items():
                    out["policy"][(t, s_, a)] = p
            if equal and _mass(mu, avail, s) == 1:
                cur[s] = qs[0]  # type: ignore[assignment]
                out["V"][(t, s)] = cur[s]
        nxt = cur
    return out
