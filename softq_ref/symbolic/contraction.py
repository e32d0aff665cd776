r"""Why soft Q-iteration converges, derived with sympy (Haarnoja et al. 2017, Theorem 3).

Derived step by step in ``proofs/04_contraction.ipynb``:

* :func:`derive_lipschitz`: the gradient of ``f(q) = alpha log sum_a mu_a exp(q_a / alpha)``
  is the soft-greedy policy, a probability vector (positive entries summing to one);
  along a segment ``q' + t d`` the derivative of ``f`` is ``sum_a pi_a d_a``, which is at
  most ``max_a |d_a|`` in absolute value; with the mean value theorem,
  ``|f(q) - f(q')| <= max_a |q_a - q'_a|``. Also ``f(q + c) = f(q) + c``.
* :func:`derive_operator_jacobian`: for a symbolic MDP the Jacobian of the soft Bellman
  operator ``T`` is ``gamma P[s, a, s'] pi(a'|s')``: non-negative with row sums
  ``gamma sum_s' P[s, a, s']``, so ``T`` is a ``gamma``-contraction in the sup norm.
* :func:`derive_error_bounds`: from ``|T Q - T Q'| <= gamma |Q - Q'|`` and the triangle
  inequality, the a-posteriori bound ``|Q - Q*| <= |T Q - Q| / (1 - gamma)``, the bound
  ``|Q_{k+1} - Q*| <= gamma / (1 - gamma) |Q_{k+1} - Q_k|`` used to stop soft
  Q-iteration, and the a-priori rate ``gamma^k``.

The numbers these facts promise are computed by :func:`softq_ref.bellman_operator`,
:func:`softq_ref.soft_q_iteration` and :func:`softq_ref.float64.bounds.certify`.

>>> d = derive_lipschitz(2)
>>> check_lipschitz(d)
>>> d.gradient[0]
mu_1*exp(q_1/alpha)/(mu_1*exp(q_1/alpha) + mu_2*exp(q_2/alpha))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from softq_ref.symbolic._common import require, require_zero

__all__ = [
    "LipschitzDerivation",
    "OperatorJacobian",
    "ErrorBound",
    "ErrorBounds",
    "derive_lipschitz",
    "check_lipschitz",
    "derive_operator_jacobian",
    "check_operator_jacobian",
    "derive_error_bounds",
    "check_error_bounds",
]


@dataclass(frozen=True)
class LipschitzDerivation:
    r"""The steps showing that the log-sum-exp is 1-Lipschitz in the sup norm.

    ``value`` is ``f(q)``; ``gradient[a] = df/dq_a``, in the simplified form
    ``mu_a exp(q_a / alpha) / Z``; ``gradient_sum`` (simplified) is 1. On the
    segment ``q(t) = x + t d`` (symbols ``x_a``, ``d_a``, ``t``):
    ``path_derivative = d f(q(t)) / dt`` and ``path_claimed = sum_a pi_a(q(t)) d_a``.
    ``p`` are the weights of a probability vector (the last one is ``1 - sum`` of
    the others), ``M`` a bound with ``|d_a| <= M``, and ``slack`` the identity
    ``M - sum_a p_a d_a = sum_a p_a (M - d_a)`` written as ``(lhs, rhs)``: each term
    on the right is ``>= 0``. ``shift`` is ``f(q + c) - f(q) - c`` before simplification.
    """

    n: int
    alpha: Any
    qs: tuple[Any, ...]
    mus: tuple[Any, ...]
    value: Any
    gradient: tuple[Any, ...]
    gradient_sum: Any
    t: Any
    xs: tuple[Any, ...]
    ds: tuple[Any, ...]
    path_derivative: Any
    path_claimed: Any
    p: tuple[Any, ...]
    M: Any
    slack: tuple[Any, Any]
    c: Any
    shift: Any


def _lse(alpha: Any, mus: Any, qs: Any) -> Any:
    return alpha * sp.log(sum(m * sp.exp(q / alpha) for m, q in zip(mus, qs, strict=True)))


def derive_lipschitz(n: int = 3) -> LipschitzDerivation:
    r"""Differentiate ``f(q) = alpha log sum_a mu_a exp(q_a / alpha)`` for ``n`` actions.

    Parameters
    ----------
    n : int
        The number of actions (or terms) of the derivation.

    Returns
    -------
    LipschitzDerivation
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_lipschitz(3)
    >>> d.gradient_sum
    1
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    alpha = sp.Symbol("alpha", positive=True)
    qs = sp.symbols(f"q_1:{n + 1}", real=True)
    mus = sp.symbols(f"mu_1:{n + 1}", positive=True)
    f = _lse(alpha, mus, qs)
    gradient = tuple(sp.simplify(sp.diff(f, q)) for q in qs)
    gradient_sum = sp.simplify(sum(gradient))
    t = sp.Symbol("t", real=True)
    xs = sp.symbols(f"x_1:{n + 1}", real=True)
    ds = sp.symbols(f"d_1:{n + 1}", real=True)
    on_path = {q: x + t * dd for q, x, dd in zip(qs, xs, ds, strict=True)}
    path_derivative = sp.diff(f.subs(on_path), t)
    path_claimed = sum(g.subs(on_path) * dd for g, dd in zip(gradient, ds, strict=True))
    free = sp.symbols(f"p_1:{n}", nonnegative=True)
    p = (*free, 1 - sum(free))
    M = sp.Symbol("M", nonnegative=True)
    slack = (
        M - sum(pa * dd for pa, dd in zip(p, ds, strict=True)),
        sum(pa * (M - dd) for pa, dd in zip(p, ds, strict=True)),
    )
    c = sp.Symbol("c", real=True)
    shift = _lse(alpha, mus, [q + c for q in qs]) - f - c
    return LipschitzDerivation(
        n=n,
        alpha=alpha,
        qs=qs,
        mus=mus,
        value=f,
        gradient=gradient,
        gradient_sum=gradient_sum,
        t=t,
        xs=xs,
        ds=ds,
        path_derivative=path_derivative,
        path_claimed=path_claimed,
        p=p,
        M=M,
        slack=slack,
        c=c,
        shift=shift,
    )


def check_lipschitz(d: LipschitzDerivation) -> None:
    """Raise :class:`~softq_ref.symbolic._common.DerivationError` unless every step holds.

    Parameters
    ----------
    d : LipschitzDerivation
        The derivation to check (a :class:`LipschitzDerivation`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_lipschitz(derive_lipschitz(2))
    """
    Z = sum(m * sp.exp(q / d.alpha) for m, q in zip(d.mus, d.qs, strict=True))
    for a, (g, m, q) in enumerate(zip(d.gradient, d.mus, d.qs, strict=True)):
        require_zero(g - m * sp.exp(q / d.alpha) / Z, f"df/dq_{a + 1} is not the softmax")
        require(g.is_positive, f"df/dq_{a + 1} is not positive")
    require_zero(d.gradient_sum - 1, "the gradient does not sum to 1")
    require_zero(d.path_derivative - d.path_claimed, "chain rule along the segment fails")
    require_zero(d.slack[0] - d.slack[1], "M - sum p d is not sum p (M - d)")
    require_zero(sum(d.p) - 1, "the weights p do not sum to 1")
    # exp of both sides: f(q + c) = f(q) + c
    require_zero(
        sp.expand(
            sp.exp((d.shift + d.value + d.c) / d.alpha)
            - sp.exp((d.value + d.c) / d.alpha).expand(power_exp=True),
            power_exp=True,
        ),
        "f(q + c) is not f(q) + c",
    )


# --- the operator ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorJacobian:
    r"""The Jacobian of the soft Bellman operator for a symbolic ``S x A`` MDP.

    ``Q`` and ``P`` (``P[s][a][s']``, positive symbols) and ``R`` are symbols;
    ``TQ`` is ``(T Q)[s, a]`` flattened in the order ``(s, a)``; ``jacobian`` is
    ``d TQ / d Q`` (``SA x SA``); ``claimed`` is ``gamma P[s, a, s'] pi(a'|s')``;
    ``row_sums`` are the simplified row sums of the Jacobian.
    """

    S: int
    A: int
    alpha: Any
    gamma: Any
    Q: Any
    P: Any
    R: Any
    TQ: Any
    jacobian: Any
    claimed: Any
    row_sums: tuple[Any, ...]


def derive_operator_jacobian(S: int = 2, A: int = 2) -> OperatorJacobian:
    r"""``d(T Q)[s, a] / dQ[s', a'] = gamma P[s, a, s'] pi_Q(a'|s')`` (counting measure).

    Parameters
    ----------
    S : int
        The number of states.
    A : int
        The number of actions.

    Returns
    -------
    OperatorJacobian
        The steps of the derivation (see the class).

    Examples
    --------
    >>> J = derive_operator_jacobian(1, 1)
    >>> J.row_sums
    (gamma*p_000,)
    """
    alpha = sp.Symbol("alpha", positive=True)
    gamma = sp.Symbol("gamma", positive=True)
    Q = sp.Matrix(S, A, lambda s, a: sp.Symbol(f"Q_{s}{a}", real=True))
    R = sp.Matrix(S, A, lambda s, a: sp.Symbol(f"r_{s}{a}", real=True))
    P = [
        [[sp.Symbol(f"p_{s}{a}{t}", positive=True) for t in range(S)] for a in range(A)]
        for s in range(S)
    ]
    V = [_lse(alpha, [1] * A, list(Q[t, :])) for t in range(S)]
    TQ = sp.Matrix(
        [
            R[s, a] + gamma * sum(P[s][a][t] * V[t] for t in range(S))
            for s in range(S)
            for a in range(A)
        ]
    )
    flatQ = [Q[s, a] for s in range(S) for a in range(A)]
    jacobian = TQ.jacobian(flatQ)
    pi = [
        [sp.exp(Q[t, b] / alpha) / sum(sp.exp(Q[t, c] / alpha) for c in range(A)) for b in range(A)]
        for t in range(S)
    ]
    claimed = sp.Matrix(
        S * A, S * A, lambda i, j: gamma * P[i // A][i % A][j // A] * pi[j // A][j % A]
    )
    row_sums = tuple(sp.simplify(sum(jacobian[i, :])) for i in range(S * A))
    return OperatorJacobian(
        S=S,
        A=A,
        alpha=alpha,
        gamma=gamma,
        Q=Q,
        P=P,
        R=R,
        TQ=TQ,
        jacobian=jacobian,
        claimed=claimed,
        row_sums=row_sums,
    )


def check_operator_jacobian(J: OperatorJacobian) -> None:
    """Raise unless the Jacobian is ``gamma P pi`` with row sums ``gamma sum_s' P``.

    Parameters
    ----------
    J : OperatorJacobian
        The Jacobian returned by :func:`derive_operator_jacobian`.

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_operator_jacobian(derive_operator_jacobian(1, 2))
    """
    require_zero(sp.simplify(J.jacobian - J.claimed), "the Jacobian of T is not gamma P pi")
    for i in range(J.S * J.A):
        s, a = divmod(i, J.A)
        require_zero(
            J.row_sums[i] - J.gamma * sum(J.P[s][a]),
            f"row ({s}, {a}) of the Jacobian does not sum to gamma sum_s' P",
        )
        for j in range(J.S * J.A):
            require(J.claimed[i, j].is_positive, f"Jacobian entry ({i}, {j}) is not positive")


# --- the error bounds --------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorBound:
    r"""One bound ``e <= bound`` obtained from the inequality ``e <= rhs`` (``rhs`` contains ``e``).

    ``moved`` is ``(e - rhs)`` rewritten as ``(1 - gamma) (e - bound)``: since
    ``1 - gamma > 0``, ``e - rhs <= 0`` is the same as ``e - bound <= 0``.
    """

    name: str
    e: Any
    rhs: Any
    moved: Any
    bound: Any


@dataclass(frozen=True)
class ErrorBounds:
    """The a-posteriori bound, the stopping bound of soft Q-iteration and the rate."""

    gamma: Any
    delta: Any
    a_posteriori: ErrorBound
    successive: ErrorBound
    k: Any
    rate: Any
    iterations_needed: Any


def _isolate(name: str, e: Any, rhs: Any, gamma: Any) -> ErrorBound:
    """Solve the linear inequality ``e <= rhs`` (coefficient of ``e`` in ``rhs`` is ``gamma``)."""
    poly = sp.Poly(sp.expand(e - rhs), e)
    require(poly.degree() == 1, f"{name}: not linear in {e}")
    lead, const = poly.all_coeffs()
    require_zero(lead - (1 - gamma), f"{name}: the coefficient of {e} is not 1 - gamma")
    bound = sp.simplify(-const / lead)
    moved = (1 - gamma) * (e - bound)
    require_zero(sp.expand(e - rhs - moved), f"{name}: rearrangement is wrong")
    return ErrorBound(name=name, e=e, rhs=rhs, moved=moved, bound=bound)


def derive_error_bounds() -> ErrorBounds:
    r"""Rearrange the triangle inequalities into the error bounds (``0 < gamma = 1 - delta < 1``).

    Returns
    -------
    ErrorBounds
        The steps of the derivation (see the class).

    Notes
    -----
    * ``|Q - Q*| <= |Q - T Q| + |T Q - T Q*| <= rho + gamma e`` gives ``e <= rho / (1 - gamma)``;
    * ``e_{k+1} <= gamma e_k <= gamma (|Q_k - Q_{k+1}| + e_{k+1})`` gives
      ``e_{k+1} <= gamma / (1 - gamma) |Q_{k+1} - Q_k|``;
    * ``|Q_{k+1} - Q_k| <= gamma^k |Q_1 - Q_0|``, so the a-posteriori bound at step ``k``
      is below ``tol`` after ``k >= log(tol (1 - gamma) / (gamma rho_0)) / log(gamma)`` steps.

    Examples
    --------
    >>> derive_error_bounds().a_posteriori.bound
    -rho/(gamma - 1)
    """
    gamma = sp.Symbol("gamma", positive=True)
    delta = sp.Symbol("delta", positive=True)  # 1 - gamma
    e, rho, dk = sp.symbols("e rho d_k", nonnegative=True)
    a_post = _isolate("a-posteriori", e, rho + gamma * e, gamma)
    succ = _isolate("successive iterates", e, gamma * (dk + e), gamma)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    rho0, tol = sp.symbols("rho_0 tol", positive=True)
    rate = gamma**k * rho0  # bound on |Q_{k+1} - Q_k|
    # smallest real k with gamma / (1 - gamma) * rate <= tol (log gamma < 0 flips the inequality)
    iterations_needed = sp.log(tol * (1 - gamma) / (gamma * rho0)) / sp.log(gamma)
    return ErrorBounds(
        gamma=gamma,
        delta=delta,
        a_posteriori=a_post,
        successive=succ,
        k=k,
        rate=rate,
        iterations_needed=iterations_needed,
    )


def check_error_bounds(b: ErrorBounds) -> None:
    """Raise unless the rearrangements and the iteration count are right.

    Parameters
    ----------
    b : ErrorBounds
        A second array.

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_error_bounds(derive_error_bounds())
    """
    g, dl = b.gamma, b.delta
    require((1 - g).subs(g, 1 - dl).is_positive, "1 - gamma is not positive for gamma = 1 - delta")
    for eb in (b.a_posteriori, b.successive):
        require_zero(sp.expand(eb.e - eb.rhs - eb.moved), f"{eb.name}: rearrangement is wrong")
        require_zero(eb.moved.subs(eb.e, eb.bound), f"{eb.name}: the bound is not the root")
    rho, dk = sp.symbols("rho d_k", nonnegative=True)
    require_zero(
        b.a_posteriori.bound - rho / (1 - g), "a-posteriori bound is not rho / (1 - gamma)"
    )
    require_zero(
        b.successive.bound - g * dk / (1 - g), "successive bound is not gamma d / (1 - gamma)"
    )
    # at k = iterations_needed the stopping bound gamma / (1 - gamma) * gamma^k rho_0 equals tol
    tol, rho0 = sp.symbols("tol rho_0", positive=True)
    at_k = g / (1 - g) * b.rate.subs(b.k, b.iterations_needed)
    require_zero(sp.simplify(sp.powsimp(at_k, force=True)) - tol, "iteration count is wrong")
