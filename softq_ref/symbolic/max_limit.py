r"""The max-limit of the soft optimum and its derivative in ``alpha`` (``proofs/05_max_limit.ipynb``).

Two facts of docs/conventions.md section 1, for the counting measure:

* ``V*_0 <= V*_alpha <= V*_0 + alpha log|A| / (1 - gamma)``: the per-state
  log-sum-exp bounds ``T_0 V <= T_alpha V <= T_0 V + alpha log|A|`` and the
  monotonicity of ``T`` give, by induction over value iteration, a gap
  ``g_n`` with ``g_{n+1} = gamma g_n + alpha log|A|`` (:func:`derive_gap_recursion`);
* ``dV*_alpha / d alpha = (I - gamma P_pi)^{-1} H_mu(pi)``, ``pi = pi*_alpha``: the
  envelope identity ``d/d alpha [alpha log sum_a mu e^{q/alpha}] = H_mu(pi)`` at fixed
  ``q`` (:func:`derive_envelope`) and the implicit function theorem applied to
  ``G(V, alpha) = V - T_alpha V`` (:func:`derive_value_derivative`). With a probability
  prior ``H_mu = -KL(pi || mu) <= 0`` and ``V*`` is non-increasing in ``alpha``.

:func:`alpha_derivative` evaluates the formula at high precision from
:func:`~softq_ref.certified.solve_certified`; :func:`alpha_derivative_fd` is the central
difference of two certified solutions, the independent check.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp

from softq_ref.exact import to_fraction
from softq_ref.mdp import FiniteMDP
from softq_ref.symbolic._common import require, require_zero
from softq_ref.symbolic.newton import SymbolicMDP, symbolic_mdp

__all__ = [
    "EnvelopeDerivation",
    "derive_envelope",
    "check_envelope",
    "ValueDerivativeDerivation",
    "derive_value_derivative",
    "check_value_derivative",
    "GapRecursion",
    "derive_gap_recursion",
    "check_gap_recursion",
    "alpha_derivative",
    "alpha_derivative_fd",
]


@dataclass(frozen=True)
class EnvelopeDerivation:
    r"""``V(alpha) = alpha log sum_a mu_a exp(q_a / alpha)`` at fixed ``q`` and its derivative.

    ``dV_dalpha`` is sympy's derivative; ``entropy`` is ``H_mu(pi) = -sum_a pi_a log(pi_a / mu_a)``
    with ``pi_a = mu_a exp(q_a / alpha) / Z``.
    """

    alpha: sp.Symbol
    q: tuple[sp.Symbol, ...]
    mu: tuple[sp.Expr, ...]
    V: sp.Expr
    dV_dalpha: sp.Expr
    policy: tuple[sp.Expr, ...]
    entropy: sp.Expr


def derive_envelope(actions: int = 3, *, prior: bool = True) -> EnvelopeDerivation:
    r"""Differentiate the soft value of one state in ``alpha`` with ``q`` held fixed.

    Parameters
    ----------
    actions : int
        The number of actions.
    prior : bool
        Whether (or which) reference measure ``mu`` the derivation carries.

    Returns
    -------
    EnvelopeDerivation
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_envelope(2, prior=False)
    >>> d.V
    alpha*log(exp(q_0/alpha) + exp(q_1/alpha))
    """
    alpha = sp.Symbol("alpha", positive=True)
    q = tuple(sp.Symbol(f"q_{a}", real=True) for a in range(actions))
    mu: tuple[sp.Expr, ...] = tuple(
        sp.Symbol(f"mu_{a}", positive=True) if prior else sp.Integer(1) for a in range(actions)
    )
    Z = sum(m * sp.exp(x / alpha) for m, x in zip(mu, q, strict=True))
    V = alpha * sp.log(Z)
    policy = tuple(m * sp.exp(x / alpha) / Z for m, x in zip(mu, q, strict=True))
    entropy = -sum(p * sp.log(p / m) for p, m in zip(policy, mu, strict=True))
    return EnvelopeDerivation(alpha, q, mu, V, sp.diff(V, alpha), policy, entropy)


def check_envelope(d: EnvelopeDerivation) -> None:
    r"""Raise unless ``dV/d alpha = H_mu(pi)`` (the envelope identity), symbolically.

    Parameters
    ----------
    d : EnvelopeDerivation
        The derivation to check (a :class:`EnvelopeDerivation`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_envelope(derive_envelope(2, prior=False))
    """
    require_zero(
        d.dV_dalpha - d.entropy, "d/d alpha of alpha log sum mu e^(q/alpha) is not H_mu(pi)"
    )


@dataclass(frozen=True)
class ValueDerivativeDerivation:
    r"""The implicit function theorem for ``G(V, alpha) = V - T_alpha V = 0``.

    ``dG_dV`` (the Jacobian in ``V``) and ``dG_dalpha`` (the partial derivative in
    ``alpha`` at fixed ``V``) are sympy's derivatives; at the solution
    ``dV*/d alpha = -dG_dV^{-1} dG_dalpha``, which is ``(I - gamma P_pi)^{-1} H_mu(pi)``
    when ``dG_dV = I - gamma P_pi`` and ``dG_dalpha = -H_mu(pi)``.
    """

    mdp: SymbolicMDP
    G: sp.Matrix
    dG_dV: sp.Matrix
    dG_dalpha: sp.Matrix


def derive_value_derivative(
    states: int = 2, actions: int = 2, *, prior: bool = True
) -> ValueDerivativeDerivation:
    r"""Differentiate ``G(V, alpha) = V - T_alpha V`` for a symbolic MDP (see :mod:`.newton`).

    Parameters
    ----------
    states : int
        The number of states.
    actions : int
        The number of actions.
    prior : bool
        Whether (or which) reference measure ``mu`` the derivation carries.

    Returns
    -------
    ValueDerivativeDerivation
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_value_derivative(1, 2, prior=False)
    >>> d.dG_dV.shape, d.dG_dalpha.shape
    ((1, 1), (1, 1))
    """
    m = symbolic_mdp(states, actions, prior=prior)
    G = m.V - m.TV
    return ValueDerivativeDerivation(m, G, G.jacobian(m.V), G.diff(m.alpha))


def check_value_derivative(d: ValueDerivativeDerivation) -> None:
    r"""Raise unless ``dG/dV = I - gamma P_pi`` and ``dG/d alpha = -H_mu(pi)`` entry by entry.

    Parameters
    ----------
    d : ValueDerivativeDerivation
        The derivation to check (a :class:`ValueDerivativeDerivation`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_value_derivative(derive_value_derivative(1, 2, prior=False))
    """
    m = d.mdp
    S = m.num_states
    require_zero(d.dG_dV - (sp.eye(S) - m.gamma * m.P_pi), "dG/dV is not I - gamma P_pi")
    require_zero(d.dG_dalpha + m.entropy, "dG/d alpha at fixed V is not -H_mu(pi)")


@dataclass(frozen=True)
class GapRecursion:
    r"""The gap bound of value iteration: ``g_{n+1} = gamma g_n + c``, ``g_0 = 0``.

    ``c = alpha log|A|`` is the one-step gap between ``T_alpha`` and ``T_0``;
    ``solution`` is sympy's ``rsolve`` of the recursion, ``limit = c / (1 - gamma)``
    its limit for ``0 <= gamma < 1`` and ``slack = limit - solution``.
    """

    n: sp.Symbol
    gamma: sp.Symbol
    c: sp.Symbol
    recursion: sp.Expr
    solution: sp.Expr
    limit: sp.Expr
    slack: sp.Expr


def derive_gap_recursion() -> GapRecursion:
    r"""Solve ``g_{n+1} = gamma g_n + c`` with ``g_0 = 0`` by ``sympy.rsolve``.

    Returns
    -------
    GapRecursion
        The steps of the derivation (see the class).

    Examples
    --------
    >>> derive_gap_recursion().slack
    -c*gamma**n/(gamma - 1)
    """
    n = sp.Symbol("n", integer=True, nonnegative=True)
    gamma = sp.Symbol("gamma", positive=True)
    c = sp.Symbol("c", nonnegative=True)
    g = sp.Function("g")
    recursion = g(n + 1) - gamma * g(n) - c
    solution = sp.rsolve(recursion, g(n), {g(0): 0})
    limit = c / (1 - gamma)
    slack = sp.factor(limit - solution)
    return GapRecursion(n, gamma, c, recursion, solution, limit, slack)


def check_gap_recursion(d: GapRecursion) -> None:
    r"""Raise unless the solution solves the recursion, starts at 0, and ``limit - g_n = c gamma^n/(1-gamma)``.

    Parameters
    ----------
    d : GapRecursion
        The derivation to check (a :class:`GapRecursion`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    The slack is ``>= 0`` and tends to 0 for ``0 <= gamma < 1``, so ``g_n``
    increases to ``c / (1 - gamma)``.

    Examples
    --------
    >>> check_gap_recursion(derive_gap_recursion())
    """
    n, gamma, c = d.n, d.gamma, d.c
    require_zero(d.solution.subs(n, n + 1) - gamma * d.solution - c, "g_n does not solve it")
    require_zero(d.solution.subs(n, 0), "g_0 is not 0")
    require_zero(
        d.slack - c * gamma**n / (1 - gamma), "c/(1-gamma) - g_n is not c gamma^n/(1-gamma)"
    )


# ---------------------------------------------------------------------------
# Numerical evaluation at high precision


def _mp(x: Fraction, mp: Any) -> Any:
    return mp.mpf(x.numerator) / x.denominator


def alpha_derivative(mdp: FiniteMDP, alpha: Any, *, digits: int = 50) -> Any:
    r"""``dV*/d alpha = (I - gamma P_pi)^{-1} H_mu(pi)`` at ``pi = pi*_alpha``, in mpmath.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP; its exact inputs are used (docs/conventions.md section 2).
    alpha : Any
        The temperature (a float, an int, an exact string such as ``"1/2"`` or a Fraction).
    digits : int
        The number of significant digits of the result.

    Returns
    -------
    ndarray of mpmath.mpf, shape (S,)
        ``dV*/d alpha`` per state.

    Notes
    -----
    ``pi*`` comes from :func:`~softq_ref.certified.solve_certified` at ``digits + 10``
    digits; the entropy and the ``S x S`` solve run at ``digits + 10`` working digits
    with the exact ``P``, ``mu`` and ``gamma``. Returns a NumPy object array of mpf.
    Infinite horizon, ``alpha > 0``.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[0.0, 0.0]], 0.5)  # pi uniform: H = log 2
    >>> import mpmath
    >>> mpmath.nstr(alpha_derivative(mdp, 1, digits=20)[0], 15)  # log(2) / (1 - 1/2)
    '1.38629436111989'
    """
    import mpmath
    import numpy as np

    from softq_ref.certified import solve_certified

    a = to_fraction(alpha, "alpha")
    require(a > 0, "alpha_derivative needs alpha > 0")
    sol = solve_certified(mdp, a, digits=digits + 10)
    ex = mdp.exact
    S, A = mdp.num_states, mdp.num_actions
    mp = mpmath.mp
    with mp.workdps(digits + 10):
        g = _mp(ex.gamma, mp)
        M = mp.matrix(S, S)
        H = mp.matrix(S, 1)
        for s in range(S):
            h = mp.mpf(0)
            for a_ in range(A):
                p = mp.mpf(sol.decimals["policy"][s][a_])
                if p > 0:
                    mu = mp.mpf(1) if ex.prior is None else _mp(ex.prior[s, a_], mp)
                    h -= p * mp.log(p / mu)
            H[s] = h
            for t in range(S):
                p_pi = mp.fsum(
                    mp.mpf(sol.decimals["policy"][s][b]) * _mp(ex.transitions[s, b, t], mp)
                    for b in range(A)
                )
                M[s, t] = (1 if s == t else 0) - g * p_pi
        x = mp.lu_solve(M, H)
        return np.array([+x[s] for s in range(S)], dtype=object)


def alpha_derivative_fd(mdp: FiniteMDP, alpha: Any, *, h: Any, digits: int = 50) -> Any:
    r"""Central difference ``(V*_{alpha + h} - V*_{alpha - h}) / (2 h)`` of certified solutions.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP; its exact inputs are used (docs/conventions.md section 2).
    alpha : Any
        The temperature (a float, an int, an exact string such as ``"1/2"`` or a Fraction).
    h : Any
        The finite-difference step.
    digits : int
        The number of significant digits of the result.

    Returns
    -------
    ndarray of mpmath.mpf, shape (S,)
        The central difference per state.

    Notes
    -----
    ``alpha`` and ``h`` are read exactly (``"1/2"``, ``"1e-15"``); both solutions
    come from :func:`~softq_ref.certified.solve_certified` at ``digits`` digits,
    so the difference quotient carries an error of at most
    ``10**-digits max(1, |Q*|) / h`` from them, plus the truncation
    ``h^2 max|V'''| / 6``. Returns a NumPy object array of mpf.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[0.0, 0.0]], 0.5)  # V* = 2 alpha log 2
    >>> import mpmath
    >>> mpmath.nstr(alpha_derivative_fd(mdp, 1, h="1e-10", digits=40)[0], 15)
    '1.38629436111989'
    """
    import mpmath
    import numpy as np

    from softq_ref.certified import solve_certified

    a = to_fraction(alpha, "alpha")
    hh = to_fraction(h, "h")
    require(0 < hh < a, "alpha_derivative_fd needs 0 < h < alpha")
    up = solve_certified(mdp, a + hh, digits=digits)
    down = solve_certified(mdp, a - hh, digits=digits)
    mp = mpmath.mp
    S = mdp.num_states
    with mp.workdps(digits + 10):
        two_h = 2 * _mp(hh, mp)
        diff = [mp.mpf(up.decimals["V"][s]) - mp.mpf(down.decimals["V"][s]) for s in range(S)]
        return np.array([d / two_h for d in diff], dtype=object)
