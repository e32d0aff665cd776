r"""Soft policy iteration is Newton's method on ``F(V) = V - T V`` (``proofs/06_newton.ipynb``).

The state-value form of the soft Bellman operator (docs/conventions.md section 1) is

``(T V)(s) = alpha log sum_a mu[s, a] exp(Q_V[s, a] / alpha)``,
``Q_V[s, a] = R[s, a] + gamma sum_s' P[s, a, s'] V(s')``.

:func:`derive_newton` builds ``T`` for a small MDP whose every entry is a sympy
symbol and differentiates it: the Jacobian of ``F`` is ``I - gamma P_pi`` with
``pi`` the soft-greedy policy of ``V`` (Haarnoja et al. 2017, Theorem 1), and
the Newton step ``V - J^{-1} F(V)`` solves the same linear system as soft
policy evaluation of ``pi``, ``(I - gamma P_pi) V^pi = r_pi + alpha H_mu(pi)``.
:func:`check_newton` verifies both identities symbolically.

:func:`newton_convergence` runs the iteration in mpmath at high precision and
measures the errors against :func:`softq_ref.certified.solve_certified`;
:func:`check_quadratic_convergence` asserts ``e_{k+1} <= C e_k^2`` with the
constant ``C = gamma^2 / (2 alpha (1 - gamma))`` proven in the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp

from softq_ref.exact import to_fraction
from softq_ref.mdp import FiniteMDP
from softq_ref.symbolic._common import require, require_zero

__all__ = [
    "SymbolicMDP",
    "symbolic_mdp",
    "NewtonDerivation",
    "derive_newton",
    "check_newton",
    "NewtonConvergence",
    "newton_constant",
    "newton_convergence",
    "check_quadratic_convergence",
]


@dataclass(frozen=True)
class SymbolicMDP:
    r"""An MDP with symbolic entries and the soft quantities of a symbolic ``V``.

    ``R[s, a]``, ``mu[s, a]`` and ``Q[s, a]`` are ``S x A`` matrices; ``P[s]`` is
    the ``A x S`` matrix ``P[s, a, s']``; ``V``, ``Z``, ``TV``, ``entropy`` and
    ``r_pi`` are ``S x 1``; ``P_pi`` is ``S x S``. With ``Z(s) = sum_a mu[s, a]
    exp(Q[s, a] / alpha)``: ``TV = alpha log Z``, ``policy = mu exp(Q / alpha) / Z``,
    ``entropy = -sum_a pi log(pi / mu)`` (``H_mu`` of docs/conventions.md section 1),
    ``P_pi[s, s'] = sum_a pi(a|s) P[s, a, s']`` and ``r_pi(s) = sum_a pi(a|s) R[s, a]``.
    """

    alpha: sp.Symbol
    gamma: sp.Symbol
    V: sp.Matrix
    R: sp.Matrix
    P: tuple[sp.Matrix, ...]
    mu: sp.Matrix
    Q: sp.Matrix
    Z: sp.Matrix
    TV: sp.Matrix
    policy: sp.Matrix
    entropy: sp.Matrix
    P_pi: sp.Matrix
    r_pi: sp.Matrix

    @property
    def num_states(self) -> int:
        return int(self.V.shape[0])

    @property
    def num_actions(self) -> int:
        return int(self.R.shape[1])


def symbolic_mdp(states: int = 2, actions: int = 2, *, prior: bool = True) -> SymbolicMDP:
    r"""A fully symbolic MDP with ``states`` states and ``actions`` actions.

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
    SymbolicMDP
        The symbols and the MDP built from them.

    Notes
    -----
    Symbols: ``alpha, gamma > 0``, rewards ``r_{s a}`` and values ``V_s`` real,
    transition probabilities ``p_{s a s'} >= 0`` and prior weights
    ``mu_{s a} > 0`` (all ones with ``prior=False``, the counting measure).
    No constraint ``sum_s' p = 1`` is imposed: the identities derived here
    hold for any non-negative ``P`` (also with termination, docs/conventions.md section 1).

    Examples
    --------
    >>> m = symbolic_mdp(1, 2, prior=False)
    >>> m.TV[0]
    alpha*log(exp((V_0*gamma*p_000 + r_00)/alpha) + exp((V_0*gamma*p_010 + r_01)/alpha))
    """
    alpha = sp.Symbol("alpha", positive=True)
    gamma = sp.Symbol("gamma", positive=True)
    V = sp.Matrix(states, 1, lambda s, _: sp.Symbol(f"V_{s}", real=True))
    R = sp.Matrix(states, actions, lambda s, a: sp.Symbol(f"r_{s}{a}", real=True))
    P = tuple(
        sp.Matrix(actions, states, lambda a, t, s=s: sp.Symbol(f"p_{s}{a}{t}", nonnegative=True))
        for s in range(states)
    )
    if prior:
        mu = sp.Matrix(states, actions, lambda s, a: sp.Symbol(f"mu_{s}{a}", positive=True))
    else:
        mu = sp.ones(states, actions)
    Q = sp.Matrix(states, actions, lambda s, a: R[s, a] + gamma * (P[s][a, :] * V)[0])
    Z = sp.Matrix(
        states, 1, lambda s, _: sum(mu[s, a] * sp.exp(Q[s, a] / alpha) for a in range(actions))
    )
    TV = Z.applyfunc(lambda z: alpha * sp.log(z))
    policy = sp.Matrix(states, actions, lambda s, a: mu[s, a] * sp.exp(Q[s, a] / alpha) / Z[s])
    entropy = sp.Matrix(
        states,
        1,
        lambda s, _: -sum(policy[s, a] * sp.log(policy[s, a] / mu[s, a]) for a in range(actions)),
    )
    P_pi = sp.Matrix(
        states,
        states,
        lambda s, t: sum(policy[s, a] * P[s][a, t] for a in range(actions)),
    )
    r_pi = sp.Matrix(states, 1, lambda s, _: sum(policy[s, a] * R[s, a] for a in range(actions)))
    return SymbolicMDP(alpha, gamma, V, R, P, mu, Q, Z, TV, policy, entropy, P_pi, r_pi)


@dataclass(frozen=True)
class NewtonDerivation:
    r"""The steps of "soft policy iteration is Newton's method".

    * ``F = V - T V`` and its ``jacobian`` (sympy's ``Matrix.jacobian`` in ``V``);
    * ``jacobian_claimed = I - gamma P_pi``;
    * ``newton_rhs = J V - F(V)``: the Newton iterate ``V_N = V - J^{-1} F(V)``
      solves ``J V_N = newton_rhs``;
    * ``evaluation_rhs = r_pi + alpha H_mu(pi)``: soft policy evaluation solves
      ``(I - gamma P_pi) V^pi = evaluation_rhs``;
    * ``policy_gibbs = mu exp((Q - T V) / alpha)``: the form of the policy in docs/conventions.md.
    """

    mdp: SymbolicMDP
    F: sp.Matrix
    jacobian: sp.Matrix
    jacobian_claimed: sp.Matrix
    newton_rhs: sp.Matrix
    evaluation_rhs: sp.Matrix
    policy_gibbs: sp.Matrix


def derive_newton(states: int = 2, actions: int = 2, *, prior: bool = True) -> NewtonDerivation:
    r"""Differentiate ``F(V) = V - T V`` for a symbolic MDP and form both linear systems.

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
    NewtonDerivation
        The steps of the derivation (see the class).

    Notes
    -----
    See :class:`NewtonDerivation`; :func:`check_newton` verifies the identities.

    Examples
    --------
    >>> d = derive_newton(1, 2, prior=False)
    >>> d.jacobian.shape, d.jacobian_claimed.shape
    ((1, 1), (1, 1))
    """
    m = symbolic_mdp(states, actions, prior=prior)
    F = m.V - m.TV
    J = F.jacobian(m.V)
    J_claimed = sp.eye(states) - m.gamma * m.P_pi
    newton_rhs = J * m.V - F
    evaluation_rhs = m.r_pi + m.alpha * m.entropy
    policy_gibbs = sp.Matrix(
        states,
        actions,
        lambda s, a: m.mu[s, a] * sp.exp((m.Q[s, a] - m.TV[s]) / m.alpha),
    )
    return NewtonDerivation(m, F, J, J_claimed, newton_rhs, evaluation_rhs, policy_gibbs)


def check_newton(d: NewtonDerivation) -> None:
    r"""Raise :class:`~softq_ref.symbolic._common.DerivationError` if a step does not hold.

    Parameters
    ----------
    d : NewtonDerivation
        The derivation to check (a :class:`NewtonDerivation`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    1. each row of the policy sums to one, and it equals ``mu exp((Q - T V)/alpha)``;
    2. ``dF/dV = I - gamma P_pi`` entry by entry;
    3. ``J V - F(V) = r_pi + alpha H_mu(pi)``: the Newton iterate and the soft
       value of the soft-greedy policy solve the same (invertible) linear system.

    Examples
    --------
    >>> check_newton(derive_newton(1, 2, prior=False))  # silent when every step holds
    """
    m = d.mdp
    for s in range(m.num_states):
        require_zero(sum(m.policy[s, :]) - 1, f"the policy of state {s} does not sum to 1")
    require_zero(m.policy - d.policy_gibbs, "pi = mu exp(Q/alpha)/Z is not mu exp((Q - TV)/alpha)")
    require_zero(d.jacobian - d.jacobian_claimed, "the Jacobian of V - TV is not I - gamma P_pi")
    require_zero(
        d.newton_rhs - d.evaluation_rhs,
        "J V - F(V) is not r_pi + alpha H(pi): the Newton step is not policy evaluation",
    )


# ---------------------------------------------------------------------------
# Quadratic convergence, measured in mpmath


def newton_constant(alpha: Any, gamma: Any) -> Fraction:
    r"""``C = gamma^2 / (2 alpha (1 - gamma))``: Newton's errors obey ``e_{k+1} <= C e_k^2``.

    Parameters
    ----------
    alpha : Any
        The temperature (a float, an int, an exact string such as ``"1/2"`` or a Fraction).
    gamma : Any
        The discount.

    Returns
    -------
    Fraction
        ``C``, exactly.

    Notes
    -----
    In the sup norm, for any ``V`` (not only near ``V*``): the Taylor remainder of
    the log-sum-exp is at most ``(range of x)^2 / (8 alpha)`` (its Hessian is the
    covariance under ``pi`` divided by ``alpha``, and a variance is at most a quarter of
    the squared range), the range of ``x = gamma P (V* - V_k)`` over actions
    is at most ``2 gamma e_k``, and ``|(I - gamma P_pi)^{-1}|_inf <= 1/(1 - gamma)``
    (``proofs/06_newton.ipynb``). Exact, as a Fraction of the exact inputs.

    Examples
    --------
    >>> newton_constant("1/2", "9/10")
    Fraction(81, 10)
    """
    a = to_fraction(alpha, "alpha")
    g = to_fraction(gamma, "gamma")
    return g * g / (2 * a * (1 - g))


@dataclass(frozen=True)
class NewtonConvergence:
    r"""Errors of Newton's method (soft policy iteration) in high precision.

    ``values[k]`` is the iterate ``V_k`` (NumPy object array of mpf),
    ``errors[k] = max_s |V_k(s) - V*(s)|`` with ``V*`` from
    :func:`~softq_ref.certified.solve_certified`; ``constant`` is ``C`` of
    :func:`newton_constant`; ``floor`` is the accuracy of the measurement (the
    certified bound of the reference plus the rounding of the iteration), below
    which errors say nothing; ``dps`` the target digits.
    """

    values: tuple[Any, ...]
    errors: tuple[Any, ...]
    constant: Fraction
    floor: Any
    dps: int

    @property
    def orders(self) -> tuple[float, ...]:
        """``log e_{k+1} / log e_k`` for the steps with ``e_k < 1`` above the floor (tends to 2)."""
        import mpmath

        out = []
        for e0, e1 in zip(self.errors, self.errors[1:], strict=False):
            if self.floor < e1 and e0 < 1:
                out.append(float(mpmath.log(e1) / mpmath.log(e0)))
        return tuple(out)


def _mp_newton_step(mdp: FiniteMDP, alpha: Any, V: Any, mp: Any) -> Any:
    """One Newton step ``V + (I - gamma P_pi)^{-1} (T V - V)`` in mpmath at the current precision."""
    import numpy as np

    ex = mdp.exact
    S, A = mdp.num_states, mdp.num_actions
    g = mp.mpf(ex.gamma.numerator) / ex.gamma.denominator

    def num(f: Fraction) -> Any:
        return mp.mpf(f.numerator) / f.denominator

    Q = [[num(ex.rewards[s, a]) + g * mp.fsum(num(ex.transitions[s, a, t]) * V[t] for t in range(S))
          for a in range(A)] for s in range(S)]  # fmt: skip
    mu = [[num(ex.prior[s, a]) if ex.prior is not None else mp.mpf(1) for a in range(A)]
          for s in range(S)]  # fmt: skip
    TV, pi = [], []
    for s in range(S):
        top = max(Q[s][a] for a in range(A) if mu[s][a] > 0)
        z = mp.fsum(mu[s][a] * mp.exp((Q[s][a] - top) / alpha) for a in range(A))
        v = top + alpha * mp.log(z)
        TV.append(v)
        pi.append([mu[s][a] * mp.exp((Q[s][a] - v) / alpha) for a in range(A)])
    M = mp.matrix(S, S)
    for s in range(S):
        for t in range(S):
            p_pi = mp.fsum(pi[s][a] * num(ex.transitions[s, a, t]) for a in range(A))
            M[s, t] = (1 if s == t else 0) - g * p_pi
    d = mp.lu_solve(M, mp.matrix([TV[s] - V[s] for s in range(S)]))
    return np.array([V[s] + d[s] for s in range(S)], dtype=object)


def newton_convergence(
    mdp: FiniteMDP, alpha: Any, *, dps: int = 100, V0: Any = None, max_steps: int = 60
) -> NewtonConvergence:
    r"""Run Newton's method (soft policy iteration) in mpmath and measure its errors.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP; its exact inputs are used (docs/conventions.md section 2).
    alpha : Any
        The temperature (a float, an int, an exact string such as ``"1/2"`` or a Fraction).
    dps : int
        The number of decimal digits of the measured errors.
    V0 : Any
        The starting values (default 0).
    max_steps : int
        The largest number of Newton steps.

    Returns
    -------
    NewtonConvergence
        The errors per step, the floor and the constant ``C``.

    Notes
    -----
    ``V_{k+1} = V_k + (I - gamma P_{pi_k})^{-1} (T V_k - V_k)`` from ``V0``
    (default 0) at ``dps + 20`` working digits with the exact inputs of ``mdp``
    and ``alpha`` (> 0; a float, ``"1/2"`` or a Fraction), until the error is
    below ``floor`` or after ``max_steps`` steps. The reference ``V*`` is
    :func:`~softq_ref.certified.solve_certified` at ``dps + 20`` digits.

    ``floor = 10**-(dps + 10) * max(1, max|V*|) / (1 - gamma)``: it exceeds the
    reference's certified error (``10**-(dps+20) max(1, |Q*|)``) and the rounding
    of a step at ``dps + 20`` digits (about ``10**-(dps+20) |V|`` per operation,
    amplified by at most ``1/(1 - gamma)`` in the linear solve) by a margin of
    over ``10**9``. Infinite horizon and ``alpha > 0``; termination (rows of
    ``P`` summing to less than 1) is allowed, the bound ``C`` holds for it too.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> run = newton_convergence(mdp, 1, dps=30)
    >>> run.errors[-1] <= run.floor, len(run.errors) <= 8
    (True, True)
    """
    import mpmath
    import numpy as np

    from softq_ref.certified import solve_certified

    a = to_fraction(alpha, "alpha")
    require(a > 0, "newton_convergence needs alpha > 0")
    ref = solve_certified(mdp, a, digits=dps + 20)
    mp = mpmath.mp
    with mp.workdps(dps + 20):
        A_ = mp.mpf(a.numerator) / a.denominator
        V_star = [+v for v in ref.V]
        scale = max(mp.mpf(1), max(abs(v) for v in V_star))
        g = mp.mpf(ref.gamma.numerator) / ref.gamma.denominator
        floor = mp.mpf(10) ** (-(dps + 10)) * scale / (1 - g)
        S = mdp.num_states
        V = np.array([mp.mpf(0)] * S if V0 is None else [mp.mpf(x) for x in V0], dtype=object)
        values, errors = [V], [max(abs(V[s] - V_star[s]) for s in range(S))]
        while errors[-1] > floor and len(values) <= max_steps:
            V = _mp_newton_step(mdp, A_, V, mp)
            values.append(V)
            errors.append(max(abs(V[s] - V_star[s]) for s in range(S)))
    return NewtonConvergence(
        tuple(values), tuple(errors), newton_constant(a, ref.gamma), floor, dps
    )


def check_quadratic_convergence(run: NewtonConvergence) -> None:
    r"""Raise unless ``e_{k+1} <= C e_k^2 + floor`` at every step and the floor is reached.

    Parameters
    ----------
    run : NewtonConvergence
        The run returned by :func:`newton_convergence`.

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> check_quadratic_convergence(newton_convergence(mdp, 1, dps=30))
    """
    import mpmath

    C = run.constant
    with mpmath.mp.workdps(run.dps + 20):
        c = mpmath.mpf(C.numerator) / C.denominator
        for k, (e0, e1) in enumerate(zip(run.errors, run.errors[1:], strict=False)):
            require(
                bool(e1 <= c * e0 * e0 + run.floor),
                f"step {k}: e_(k+1) = {mpmath.nstr(e1, 5)} > C e_k^2 = {mpmath.nstr(c * e0**2, 5)}",
            )
    require(bool(run.errors[-1] <= run.floor), "Newton did not reach the floor within max_steps")
