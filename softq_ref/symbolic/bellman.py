r"""The soft value, the optimal policy and closed-form soft optima, derived with sympy.

Haarnoja et al. (2017), "Reinforcement Learning with Deep Energy-Based Policies",
Theorem 1 (the soft-greedy policy ``pi ∝ mu exp(Q / alpha)`` is optimal) and
Theorem 2 (the soft Bellman equation), for discrete actions with a reference
measure ``mu`` (docs/conventions.md section 1); derived step by step in
``proofs/03_soft_bellman.ipynb``.

* :func:`derive_soft_value`: for ``pi_a = mu_a exp(q_a / alpha) / Z`` one has
  ``E_pi[q] - alpha KL(pi || mu) = alpha log Z``, and for every other policy
  ``p`` the gap is ``alpha KL(p || pi) >= 0`` (the Gibbs identity), so
  ``V = alpha log sum_a mu_a exp(q_a / alpha)`` and ``pi = mu exp((q - V) / alpha)``.
* :func:`derive_one_state`: one state, ``n`` actions, every action returns to
  the state: ``V* = alpha log(sum_a mu_a exp(r_a / alpha)) / (1 - gamma)``.
* :func:`derive_two_state_cycle`: two states, every action of a state leads to
  the other one: a linear system, ``V*_0 = (L_0 + gamma L_1) / (1 - gamma^2)``.
* :func:`derive_stay_or_leave`: a two-state chain in which the action chooses
  the next state, solved in closed form for ``gamma = 1/2`` (a quadratic).

Each ``derive_*`` returns the steps (sympy objects) in a frozen dataclass, each
``check_*`` raises :class:`~softq_ref.symbolic._common.DerivationError` if a
step is wrong, and :func:`evaluate` turns a derived closed form into mpmath
numbers for a concrete :class:`~softq_ref.FiniteMDP`, to compare with
:func:`softq_ref.solve` and :func:`softq_ref.solve_certified`.

>>> d = derive_one_state(2)
>>> check_one_state(d)
>>> d.V[0]
-alpha*log(mu_1*exp(r_1/alpha) + mu_2*exp(r_2/alpha))/(gamma - 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from softq_ref.exact import to_fraction
from softq_ref.mdp import FiniteMDP
from softq_ref.symbolic._common import DerivationError, require, require_zero

__all__ = [
    "SoftValueDerivation",
    "ClosedFormOptimum",
    "ClosedFormValues",
    "derive_soft_value",
    "check_soft_value",
    "derive_one_state",
    "check_one_state",
    "one_state_mdp",
    "derive_two_state_cycle",
    "check_two_state_cycle",
    "two_state_cycle_mdp",
    "derive_stay_or_leave",
    "check_stay_or_leave",
    "stay_or_leave_mdp",
    "evaluate",
    "exp_log_to_pow",
    "max_abs_difference",
]


def _alpha() -> Any:
    return sp.Symbol("alpha", positive=True)


def _shift_out(alpha: Any, weights: Sequence[Any], exponents: Sequence[Any], shift: Any) -> Any:
    r"""``alpha log sum_a w_a exp((x_a + shift) / alpha)`` rewritten as ``shift + alpha log sum_a w_a exp(x_a / alpha)``.

    The rewriting is sympy's (split the exponentials, pull out the common
    factor, expand the logarithm); the result is verified by comparing the
    exponentials of both sides, which is valid since ``exp`` is injective on
    the reals.
    """
    total = sum(w * sp.exp((x + shift) / alpha) for w, x in zip(weights, exponents, strict=True))
    factored = sp.factor_terms(sp.expand(total, power_exp=True, mul=True))
    shifted = sp.expand(alpha * sp.expand_log(sp.log(factored)))
    require_zero(
        sp.expand(sp.exp(shifted / alpha) - total, power_exp=True),
        "log-sum-exp does not commute with the shift",
    )
    return shifted


def exp_log_to_pow(expr: Any) -> Any:
    """Rewrite every ``exp(c_1 log X_1 + ... + rest)`` as ``X_1**c_1 * ... * exp(rest)``.

    Parameters
    ----------
    expr : Any
        A sympy expression.

    Returns
    -------
    sympy expression
        ``expr`` rewritten.

    Notes
    -----
    Valid for positive ``X_i`` (the sums of exponentials here); sympy leaves
    ``exp(c log X)`` alone when ``c`` is symbolic, which hides cancellations.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> exp_log_to_pow(sp.exp(2 * sp.log(x) + 1))
    E*x**2
    """

    def convert(e: Any) -> Any:
        out: Any = sp.Integer(1)
        for t in sp.Add.make_args(sp.expand(e.args[0])):
            factors = sp.Mul.make_args(t)
            logs = [f for f in factors if isinstance(f, sp.log)]
            if len(logs) == 1 and logs[0].args[0].is_positive:
                c = sp.Mul(*[f for f in factors if f is not logs[0]])
                out *= logs[0].args[0] ** sp.factor(c)
            else:
                out *= sp.exp(t)
        return out

    e = sp.expand(expr, power_exp=True, mul=False, log=False, multinomial=False)
    return sp.powsimp(e.replace(lambda x: isinstance(x, sp.exp), convert))


# --- Theorems 1 and 2 at one state ------------------------------------------------------------


@dataclass(frozen=True)
class SoftValueDerivation:
    r"""The soft value of the soft-greedy policy at one state, step by step.

    Per action (``q``, ``mu``, normaliser ``Z`` and another policy's weight ``p``
    as symbols): ``policy = mu exp(q / alpha) / Z``; ``term`` is the action's
    share ``pi q - alpha pi log(pi / mu)`` of ``E_pi[q] - alpha KL(pi || mu)``
    and ``term_closed`` what it equals, ``alpha log(Z) pi``; ``gibbs_gap`` is
    ``(alpha log(Z) p - alpha p log(p / pi)) - (p q - alpha p log(p / mu))``,
    zero for every ``p``. For ``n`` actions: ``qs``, ``mus``,
    ``objective = E_pi[q] - alpha KL(pi || mu)`` with ``Z`` written out,
    ``value = alpha log sum mu exp(q / alpha)``, ``policies`` and
    ``policy_from_value = mu exp((q - value) / alpha)``.
    """

    alpha: Any
    q: Any
    mu: Any
    Z: Any
    p: Any
    policy: Any
    term: Any
    term_closed: Any
    gibbs_gap: Any
    n: int
    qs: tuple[Any, ...]
    mus: tuple[Any, ...]
    objective: Any
    value: Any
    policies: tuple[Any, ...]
    policy_from_value: tuple[Any, ...]


def derive_soft_value(n: int = 3) -> SoftValueDerivation:
    r"""Plug ``pi ∝ mu exp(q / alpha)`` into ``E_pi[q] - alpha KL(pi || mu)``.

    Parameters
    ----------
    n : int
        The number of actions (or terms) of the derivation.

    Returns
    -------
    SoftValueDerivation
        The steps of the derivation (see the class).

    Notes
    -----
    With the counting measure (``mu = 1``) the objective is
    ``E_pi[q] + alpha H(pi)``; see :func:`check_soft_value`.

    Examples
    --------
    >>> d = derive_soft_value(2)
    >>> d.value
    alpha*log(mu_1*exp(q_1/alpha) + mu_2*exp(q_2/alpha))
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    alpha = _alpha()
    q = sp.Symbol("q", real=True)
    mu, Z, p = sp.symbols("mu Z p", positive=True)
    policy = mu * sp.exp(q / alpha) / Z
    term = policy * q - alpha * policy * sp.log(policy / mu)
    term_closed = alpha * sp.log(Z) * policy
    # any policy p: its one-step objective, and alpha log Z minus alpha times its KL to pi
    gibbs_gap = (alpha * sp.log(Z) * p - alpha * p * sp.log(p / policy)) - (
        p * q - alpha * p * sp.log(p / mu)
    )
    qs = sp.symbols(f"q_1:{n + 1}", real=True)
    mus = sp.symbols(f"mu_1:{n + 1}", positive=True)
    Zn = sum(m * sp.exp(x / alpha) for m, x in zip(mus, qs, strict=True))
    policies = tuple(m * sp.exp(x / alpha) / Zn for m, x in zip(mus, qs, strict=True))
    objective = sum(
        pa * x - alpha * pa * sp.log(pa / m) for pa, x, m in zip(policies, qs, mus, strict=True)
    )
    value = alpha * sp.log(Zn)
    from_value = tuple(m * sp.exp((x - value) / alpha) for m, x in zip(mus, qs, strict=True))
    return SoftValueDerivation(
        alpha=alpha,
        q=q,
        mu=mu,
        Z=Z,
        p=p,
        policy=policy,
        term=term,
        term_closed=term_closed,
        gibbs_gap=gibbs_gap,
        n=n,
        qs=qs,
        mus=mus,
        objective=objective,
        value=value,
        policies=policies,
        policy_from_value=from_value,
    )


def check_soft_value(d: SoftValueDerivation) -> None:
    """Raise :class:`DerivationError` unless every step of :func:`derive_soft_value` holds.

    Parameters
    ----------
    d : SoftValueDerivation
        The derivation to check (a :class:`SoftValueDerivation`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_soft_value(derive_soft_value(2))
    """
    require_zero(d.term - d.term_closed, "per-action term is not alpha log(Z) pi")
    require_zero(d.gibbs_gap, "Gibbs identity fails")
    require_zero(sum(d.policies) - 1, "the soft-greedy policy does not sum to 1")
    require(all(pa.is_positive for pa in d.policies), "the soft-greedy policy is not positive")
    require_zero(d.objective - d.value, "E_pi[q] - alpha KL(pi || mu) is not the log-sum-exp")
    ones = dict.fromkeys(d.mus, 1)
    entropy_form = sum(
        pa * x - d.alpha * pa * sp.log(pa) for pa, x in zip(d.policies, d.qs, strict=True)
    )
    require_zero(
        (entropy_form - d.value).subs(ones), "E_pi[q] + alpha H(pi) is not the log-sum-exp"
    )
    for k, (pa, pv) in enumerate(zip(d.policies, d.policy_from_value, strict=True)):
        require_zero(pa - pv, f"pi_{k + 1} is not mu exp((q - V) / alpha)")


# --- closed-form optima -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedFormOptimum:
    r"""A soft optimum in closed form, with the steps that led to it.

    ``alpha``, ``gamma`` (a symbol, or a Rational when fixed), ``rewards`` (a
    matrix of symbols ``R[s, a]``), ``prior`` (a matrix of symbols, or None for
    the counting measure), ``unknowns`` (the symbols ``V_s``),
    ``equations`` (the soft Bellman equations ``V_s = alpha log sum_a mu exp((R +
    gamma P V) / alpha)`` as written), ``reduced`` (the same equations after
    the shift, in the form that was solved), and the closed forms ``V`` (S x 1),
    ``Q`` and ``policy`` (S x A).
    """

    name: str
    alpha: Any
    gamma: Any
    rewards: Any
    prior: Any
    unknowns: tuple[Any, ...]
    equations: tuple[Any, ...]
    reduced: tuple[Any, ...]
    V: Any
    Q: Any
    policy: Any
    next_state: tuple[tuple[int, ...], ...]
    _compiled: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def compiled(self, which: str, args: Sequence[Any]) -> Any:
        """``sympy.lambdify(args, list(self.<which>), "mpmath")``, built once and kept."""
        key = f"{which}:{args}"
        if key not in self._compiled:
            M = getattr(self, which)
            self._compiled[key] = sp.lambdify(list(args), list(M), modules="mpmath")
        return self._compiled[key]


def _bellman_rhs(d_alpha: Any, gamma: Any, R: Any, mu: Any, succ: Any, V: Any, s: int) -> Any:
    """``alpha log sum_a mu[s, a] exp((R[s, a] + gamma V[succ[s][a]]) / alpha)``."""
    A = R.shape[1]
    w = [1] * A if mu is None else [mu[s, a] for a in range(A)]
    return d_alpha * sp.log(
        sum(w[a] * sp.exp((R[s, a] + gamma * V[succ[s][a]]) / d_alpha) for a in range(A))
    )


def _finish(
    name: str,
    alpha: Any,
    gamma: Any,
    R: Any,
    mu: Any,
    unknowns: tuple[Any, ...],
    reduced: tuple[Any, ...],
    V: Any,
    succ: tuple[tuple[int, ...], ...],
) -> ClosedFormOptimum:
    S, A = R.shape
    Q = sp.Matrix(S, A, lambda s, a: R[s, a] + gamma * V[succ[s][a]])
    w = sp.ones(S, A) if mu is None else mu
    policy = sp.Matrix(
        S, A, lambda s, a: sp.simplify(exp_log_to_pow(w[s, a] * sp.exp((Q[s, a] - V[s]) / alpha)))
    )
    equations = tuple(
        sp.Eq(unknowns[s], _bellman_rhs(alpha, gamma, R, mu, succ, unknowns, s)) for s in range(S)
    )
    return ClosedFormOptimum(
        name=name,
        alpha=alpha,
        gamma=gamma,
        rewards=R,
        prior=mu,
        unknowns=unknowns,
        equations=equations,
        reduced=reduced,
        V=V,
        Q=Q,
        policy=policy,
        next_state=succ,
    )


def _check_common(d: ClosedFormOptimum, what: str) -> None:
    """The closed forms satisfy the soft Bellman equations; the policy rows sum to one."""
    S = d.V.shape[0]
    at_solution = dict(zip(d.unknowns, list(d.V), strict=True))
    for s in range(S):
        # exp of both sides: equal exponentials of reals means equal reals
        lhs = exp_log_to_pow(sp.exp(d.V[s] / d.alpha))
        rhs = exp_log_to_pow(sp.exp(d.equations[s].rhs.subs(at_solution) / d.alpha))
        require_zero(
            sp.powsimp(sp.expand(lhs - rhs)),
            f"{what}: V_{s} does not satisfy the soft Bellman equation",
        )
        require_zero(
            sum(d.policy[s, :]) - 1, f"{what}: the optimal policy at state {s} does not sum to 1"
        )
        require(
            all(p.is_positive for p in d.policy[s, :]),
            f"{what}: the optimal policy at state {s} is not positive",
        )


def derive_one_state(n: int = 3) -> ClosedFormOptimum:
    r"""One state, ``n`` actions, each returning to the state; prior ``mu`` (symbols).

    Parameters
    ----------
    n : int
        The number of actions (or terms) of the derivation.

    Returns
    -------
    ClosedFormOptimum
        The steps of the derivation (see the class).

    Notes
    -----
    The soft Bellman equation ``V = alpha log sum_a mu_a exp((r_a + gamma V) / alpha)``
    is linear in ``V`` after the shift: ``V = gamma V + alpha log sum_a mu_a
    exp(r_a / alpha)``, so ``V* = alpha log(sum_a mu_a exp(r_a / alpha)) / (1 - gamma)``
    and ``pi*_a = mu_a exp(r_a / alpha) / sum_b mu_b exp(r_b / alpha)``, whatever ``gamma``.

    Examples
    --------
    >>> derive_one_state(1).V[0]
    (-alpha*log(mu_1) - r_1)/(gamma - 1)
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    alpha = _alpha()
    gamma = sp.Symbol("gamma", positive=True)
    R = sp.Matrix([sp.symbols(f"r_1:{n + 1}", real=True)])
    mu = sp.Matrix([sp.symbols(f"mu_1:{n + 1}", positive=True)])
    V0 = sp.Symbol("V", real=True)
    rhs = _shift_out(alpha, list(mu), list(R), gamma * V0)
    reduced = (sp.Eq(V0, rhs),)
    (sol,) = sp.solve(reduced[0], V0)
    return _finish("one state", alpha, gamma, R, mu, (V0,), reduced, sp.Matrix([sol]), ((0,) * n,))


def check_one_state(d: ClosedFormOptimum) -> None:
    """Raise :class:`DerivationError` unless the one-state closed form is right.

    Parameters
    ----------
    d : ClosedFormOptimum
        The derivation to check (a :class:`ClosedFormOptimum`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_one_state(derive_one_state(2))
    """
    _check_common(d, "one state")
    n = d.rewards.shape[1]
    Z = sum(d.prior[0, a] * sp.exp(d.rewards[0, a] / d.alpha) for a in range(n))
    require_zero(d.V[0] - d.alpha * sp.log(Z) / (1 - d.gamma), "V* is not the claimed closed form")
    for a in range(n):
        claimed = d.prior[0, a] * sp.exp(d.rewards[0, a] / d.alpha) / Z
        require_zero(d.policy[0, a] - claimed, f"pi*_{a + 1} is not mu exp(r / alpha) / Z")
    require(not d.policy.has(d.gamma), "the one-state optimal policy depends on gamma")


def one_state_mdp(
    rewards: Sequence[Any], gamma: Any, prior: Sequence[Any] | None = None
) -> FiniteMDP:
    """The MDP of :func:`derive_one_state`: one state, every action returns to it.

    Parameters
    ----------
    rewards : Sequence[Any]
        The rewards ``R[s, a]``.
    gamma : Any
        The discount.
    prior : Sequence[Any] | None
        Whether (or which) reference measure ``mu`` the derivation carries.

    Returns
    -------
    FiniteMDP
        The MDP, with the exact values given.

    Examples
    --------
    >>> one_state_mdp(["1", "1/2"], "1/2").num_actions
    2
    """
    n = len(rewards)
    return FiniteMDP(
        [[[1]] * n], [list(rewards)], gamma, prior=None if prior is None else [list(prior)]
    )


def derive_two_state_cycle(n: int = 2) -> ClosedFormOptimum:
    r"""Two states, ``n`` actions each; every action of state ``s`` leads to ``1 - s``.

    Parameters
    ----------
    n : int
        The number of actions (or terms) of the derivation.

    Returns
    -------
    ClosedFormOptimum
        The steps of the derivation (see the class).

    Notes
    -----
    Counting measure. With ``L_s = alpha log sum_a exp(R[s, a] / alpha)`` the
    equations become ``V_0 = L_0 + gamma V_1``, ``V_1 = L_1 + gamma V_0``, so
    ``V*_0 = (L_0 + gamma L_1) / (1 - gamma^2)``.

    Examples
    --------
    >>> d = derive_two_state_cycle(1)
    >>> d.V[0]
    (-gamma*r_11 - r_01)/(gamma**2 - 1)
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    alpha = _alpha()
    gamma = sp.Symbol("gamma", positive=True)
    R = sp.Matrix(2, n, lambda s, a: sp.Symbol(f"r_{s}{a + 1}", real=True))
    V = sp.symbols("V_0 V_1", real=True)
    succ = ((1,) * n, (0,) * n)
    reduced = tuple(
        sp.Eq(V[s], _shift_out(alpha, [1] * n, list(R[s, :]), gamma * V[1 - s])) for s in range(2)
    )
    # name the two soft maxima L_s, solve the linear system, then write them out again
    L = sp.symbols("L_0 L_1", real=True)
    lse = [alpha * sp.log(sum(sp.exp(R[s, a] / alpha) for a in range(n))) for s in range(2)]
    linear = [sp.Eq(V[s], gamma * V[1 - s] + L[s]) for s in range(2)]
    for s in range(2):
        require_zero(reduced[s].rhs - linear[s].rhs.subs(L[s], lse[s]), "unexpected shift form")
    sol = sp.solve(linear, V, dict=True)
    require(len(sol) == 1, "the cycle's linear system has no unique solution")
    Vs = sp.Matrix([sol[0][v].subs(dict(zip(L, lse, strict=True))) for v in V])
    return _finish("two-state cycle", alpha, gamma, R, None, V, reduced, Vs, succ)


def check_two_state_cycle(d: ClosedFormOptimum) -> None:
    """Raise :class:`DerivationError` unless the cycle's closed form is right.

    Parameters
    ----------
    d : ClosedFormOptimum
        The derivation to check (a :class:`ClosedFormOptimum`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_two_state_cycle(derive_two_state_cycle(1))
    """
    _check_common(d, "two-state cycle")
    n = d.rewards.shape[1]
    L = [d.alpha * sp.log(sum(sp.exp(d.rewards[s, a] / d.alpha) for a in range(n))) for s in (0, 1)]
    g = d.gamma
    for s in (0, 1):
        claimed = (L[s] + g * L[1 - s]) / (1 - g**2)
        require_zero(d.V[s] - claimed, f"V*_{s} is not (L_s + gamma L_(1-s)) / (1 - gamma^2)")


def two_state_cycle_mdp(rewards: Sequence[Sequence[Any]], gamma: Any) -> FiniteMDP:
    """The MDP of :func:`derive_two_state_cycle`: ``rewards`` is ``R[s][a]`` for two states.

    Parameters
    ----------
    rewards : Sequence[Sequence[Any]]
        The rewards ``R[s, a]``.
    gamma : Any
        The discount.

    Returns
    -------
    FiniteMDP
        The MDP, with the exact values given.

    Examples
    --------
    >>> two_state_cycle_mdp([[0, 1], [2, 3]], 0.5).num_states
    2
    """
    n = len(rewards[0])
    P = [[[0, 1]] * n, [[1, 0]] * n]
    return FiniteMDP(P, [list(r) for r in rewards], gamma)


def derive_stay_or_leave() -> ClosedFormOptimum:
    r"""Two states, two actions, ``gamma = 1/2``: in state 0 ``stay`` (reward ``r_s``)
    or ``leave`` for state 1 (reward ``r_l``); state 1 is absorbing (rewards ``u_1, u_2``).

    Returns
    -------
    ClosedFormOptimum
        The steps of the derivation (see the class).

    Notes
    -----
    Counting measure. State 1 is the one-state MDP: ``V*_1 = 2 alpha log Z_1``,
    ``Z_1 = exp(u_1 / alpha) + exp(u_2 / alpha)``. At state 0, with ``y = exp(V_0 /
    (2 alpha))``, ``B = exp(r_s / alpha)`` and ``C = exp(r_l / alpha) Z_1``, the soft
    Bellman equation reads ``y^2 = B y + C``: its positive root gives
    ``V*_0 = 2 alpha log((B + sqrt(B^2 + 4 C)) / 2)``, ``pi*(stay) = B / y``,
    ``pi*(leave) = C / y^2``.

    Examples
    --------
    >>> d = derive_stay_or_leave()
    >>> d.policy[0, 0]
    2*exp(r_s/alpha)/(sqrt(exp(2*r_s/alpha) + 4*exp((r_l + u_1)/alpha) + 4*exp((r_l + u_2)/alpha)) + exp(r_s/alpha))
    """
    alpha = _alpha()
    gamma = sp.Rational(1, 2)
    r_s, r_l, u1, u2 = sp.symbols("r_s r_l u_1 u_2", real=True)
    R = sp.Matrix([[r_s, r_l], [u1, u2]])
    V = sp.symbols("V_0 V_1", real=True)
    succ = ((0, 1), (1, 1))
    # state 1 on its own: the one-state MDP
    red1 = sp.Eq(V[1], _shift_out(alpha, [1, 1], [u1, u2], gamma * V[1]))
    (V1,) = sp.solve(red1, V[1])
    Z1 = sp.exp(u1 / alpha) + sp.exp(u2 / alpha)
    require_zero(V1 - 2 * alpha * sp.log(Z1), "V*_1 is not 2 alpha log Z_1")
    V1 = 2 * alpha * sp.log(Z1)
    # state 0: exp(V_0 / alpha) = exp(r_s / alpha) y + exp(r_l / alpha) exp(V_1 / (2 alpha))
    y = sp.Symbol("y", positive=True)
    B = sp.exp(r_s / alpha)
    C = sp.exp(r_l / alpha) * Z1
    require_zero(sp.exp((r_l + gamma * V1) / alpha) - C, "exp((r_l + V_1 / 2) / alpha) is not C")
    red0 = sp.Eq(y**2, B * y + C)
    roots = sp.solve(red0, y)
    # the product of the two roots is -C < 0: exactly one is positive, and that is y
    require(len(roots) == 2, f"expected two roots of y^2 = B y + C, got {roots}")
    require_zero(sp.expand(roots[0] * roots[1] + C), "the product of the roots is not -C")
    positive = [r for r in roots if r.is_positive]
    require(len(positive) == 1, f"expected one positive root of y^2 = B y + C, got {roots}")
    V0 = 2 * alpha * sp.log(positive[0])
    return _finish(
        "stay or leave",
        alpha,
        gamma,
        R,
        None,
        V,
        (red0, red1),
        sp.Matrix([V0, V1]),
        succ,
    )


def check_stay_or_leave(d: ClosedFormOptimum) -> None:
    """Raise :class:`DerivationError` unless the stay-or-leave closed form is right.

    Parameters
    ----------
    d : ClosedFormOptimum
        The derivation to check (a :class:`ClosedFormOptimum`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Examples
    --------
    >>> check_stay_or_leave(derive_stay_or_leave())
    """
    _check_common(d, "stay or leave")
    require(d.gamma == sp.Rational(1, 2), "the stay-or-leave closed form is for gamma = 1/2")
    r_s, r_l, u1, u2 = d.rewards
    a = d.alpha
    B = sp.exp(r_s / a)
    C = sp.exp(r_l / a) * (sp.exp(u1 / a) + sp.exp(u2 / a))
    y = (B + sp.sqrt(B**2 + 4 * C)) / 2
    require_zero(d.V[0] - 2 * a * sp.log(y), "V*_0 is not 2 alpha log y")
    require_zero(d.policy[0, 0] - B / y, "pi*(stay) is not B / y")
    require_zero(d.policy[0, 1] - C / y**2, "pi*(leave) is not C / y^2")


def stay_or_leave_mdp(r_stay: Any, r_leave: Any, u: Sequence[Any]) -> FiniteMDP:
    """The MDP of :func:`derive_stay_or_leave` (``gamma = 1/2``).

    Parameters
    ----------
    r_stay : Any
        The reward for staying.
    r_leave : Any
        The reward for leaving.
    u : Sequence[Any]
        The probability of the transition (a symbol when None).

    Returns
    -------
    FiniteMDP
        The MDP, with the exact values given.

    Examples
    --------
    >>> stay_or_leave_mdp(0, "1/2", [1, 0]).exact.gamma
    Fraction(1, 2)
    """
    P = [[[1, 0], [0, 1]], [[0, 1], [0, 1]]]
    return FiniteMDP(P, [[r_stay, r_leave], list(u)], "1/2")


# --- numbers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedFormValues:
    """A closed form evaluated for one MDP: object arrays of mpmath ``mpf``."""

    Q: Any
    V: Any
    policy: Any
    digits: int


def _rational(x: Any, where: str) -> Any:
    f = to_fraction(x, where)
    return sp.Rational(f.numerator, f.denominator)


def evaluate(
    d: ClosedFormOptimum, mdp: FiniteMDP, alpha: Any, *, digits: int = 50
) -> ClosedFormValues:
    r"""The closed forms of ``d`` at the exact inputs of ``mdp`` and ``alpha``, to ``digits`` digits.

    Parameters
    ----------
    d : ClosedFormOptimum
        The derivation to check (a :class:`ClosedFormOptimum`).
    mdp : FiniteMDP
        The MDP; its exact inputs are used (docs/conventions.md section 2).
    alpha : Any
        The temperature (a float, an int, an exact string such as ``"1/2"`` or a Fraction).
    digits : int
        The number of significant digits of the result.

    Returns
    -------
    ClosedFormValues
        ``Q*``, ``V*``, ``pi*`` of the closed forms, as mpmath numbers.

    Notes
    -----
    The rewards, prior and ``gamma`` are read from ``mdp.exact`` (docs/conventions.md section
    2: a float is its exact binary value), so the numbers are the soft optimum
    of exactly that MDP; they are evaluated with mpmath (``sympy.lambdify``)
    at ``digits + 20`` digits and rounded to ``digits``: the closed forms are
    short sums, products, logarithms and square roots of positive terms, whose
    rounding errors stay far below the 20 guard digits. The structure of ``mdp`` must be the one
    derived (same shape and successor states).

    Examples
    --------
    >>> d = derive_one_state(2)
    >>> v = evaluate(d, one_state_mdp([0, 0], "1/2"), 1, digits=20)
    >>> import mpmath
    >>> mpmath.nstr(v.V[0], 20)  # 2 log 2
    '1.3862943611198906188'
    """
    import mpmath

    ex = mdp.exact
    S, A = d.Q.shape
    if (mdp.num_states, mdp.num_actions) != (S, A):
        raise DerivationError(f"mdp has shape {(mdp.num_states, mdp.num_actions)}, not {(S, A)}")
    for s in range(S):
        for a in range(A):
            row = [int(p != 0) for p in ex.transitions[s, a]]
            if row != [int(k == d.next_state[s][a]) for k in range(S)]:
                raise DerivationError(f"mdp does not go from ({s}, {a}) to {d.next_state[s][a]}")
    subs: dict[Any, Any] = {d.alpha: _rational(alpha, "alpha")}
    if isinstance(d.gamma, sp.Symbol):
        subs[d.gamma] = _rational(ex.gamma, "gamma")
    elif sp.Rational(ex.gamma.numerator, ex.gamma.denominator) != d.gamma:
        raise DerivationError(f"mdp has gamma = {ex.gamma}, the closed form is for {d.gamma}")
    for s in range(S):
        for a in range(A):
            subs[d.rewards[s, a]] = _rational(ex.rewards[s, a], "rewards")
            if d.prior is not None:
                mu = 1 if ex.prior is None else ex.prior[s, a]
                subs[d.prior[s, a]] = _rational(mu, "prior")
    if subs[d.alpha] == 0:
        raise DerivationError("the closed forms are for alpha > 0")

    args = list(subs)
    guard = 20  # extra digits: the closed forms are short, cancellation-free expressions

    def num(which: str) -> Any:
        M = getattr(d, which)
        f = d.compiled(which, args)
        out = np.empty(len(M), dtype=object)
        with mpmath.workdps(digits + guard):
            vals = [mpmath.mpf(v.p) / v.q for v in subs.values()]
            out[:] = [+x for x in f(*vals)]
        with mpmath.workdps(digits):
            out[:] = [+x for x in out]  # round to the requested precision
        return out.reshape(M.shape)

    V = num("V").reshape(S)
    return ClosedFormValues(Q=num("Q"), V=V, policy=num("policy"), digits=digits)


def max_abs_difference(a: Any, b: Any, *, digits: int = 80) -> Any:
    """``max |a - b|`` over all entries, as an mpmath ``mpf`` computed at ``digits`` digits.

    Parameters
    ----------
    a : Any
        A first array.
    b : Any
        A second array.
    digits : int
        The number of significant digits of the result.

    Returns
    -------
    mpmath.mpf
        ``max |a - b|``.

    Notes
    -----
    Entries may be mpf, floats (their exact binary value), ints or decimal
    strings (the ``decimals`` of a :class:`~softq_ref.CertifiedSolution`).

    Examples
    --------
    >>> import mpmath
    >>> mpmath.nstr(max_abs_difference(["0.1", "2"], [0.1, 2]), 5)
    '5.5511e-18'
    """
    import mpmath

    with mpmath.workdps(digits):
        x = np.asarray(a, dtype=object).ravel()
        y = np.asarray(b, dtype=object).ravel()
        if x.shape != y.shape:
            raise ValueError(f"shapes differ: {np.shape(a)} and {np.shape(b)}")
        return max(
            (abs(mpmath.mpf(u) - mpmath.mpf(v)) for u, v in zip(x, y, strict=True)),
            default=mpmath.mpf(0),
        )
