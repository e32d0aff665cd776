r"""The entropy-regularised maximisation behind every soft value (``proofs/01``).

For a payoff ``f`` and a temperature ``lambda > 0`` the functional

.. math::

    \mathcal F[q] = \int q f - \lambda \int q \log q

has functional derivative ``f - lambda (log q + 1)``; with the normalisation
``int q = 1`` as a Lagrange multiplier its maximiser is the Gibbs density
``q* = exp(f / lambda) / Z`` with ``Z = int exp(f / lambda)``, the maximum is
``lambda log Z``, and the second variation ``-lambda int eta^2 / q`` is
negative, so the stationary point is a maximum. This is the step that turns the
maximum-entropy objective into the soft Bellman equation (Haarnoja et al. 2017,
Theorems 1 and 2). Derived in ``proofs/01_functional_derivative.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.calculus.euler import euler_equations

from softq_ref.symbolic._common import DerivationError, require, require_zero

__all__ = [
    "DiscreteGibbs",
    "ContinuousGibbs",
    "SymbolicNGibbs",
    "derive_discrete_gibbs",
    "check_discrete_gibbs",
    "derive_gibbs_symbolic_n",
    "check_gibbs_symbolic_n",
    "derive_continuous_gibbs",
    "check_continuous_gibbs",
]


@dataclass(frozen=True)
class DiscreteGibbs:
    """The maximisation of ``sum_i q_i f_i - lambda sum_i q_i log q_i`` over the simplex."""

    n: int
    f: tuple[sp.Symbol, ...]
    q: tuple[sp.Symbol, ...]
    lam: sp.Symbol
    nu: sp.Symbol
    objective: sp.Expr
    gradient: tuple[sp.Expr, ...]
    stationary: tuple[sp.Expr, ...]
    multiplier: sp.Expr
    maximiser: tuple[sp.Expr, ...]
    maximum: sp.Expr
    hessian: sp.Matrix

    @property
    def partition(self) -> sp.Expr:
        """``Z = sum_i exp(f_i / lambda)``."""
        return sp.Add(*(sp.exp(fi / self.lam) for fi in self.f))


def derive_discrete_gibbs(n: int) -> DiscreteGibbs:
    r"""Solve ``max_q sum q_i f_i - lambda sum q_i log q_i`` s.t. ``sum q_i = 1`` with sympy.

    Parameters
    ----------
    n : int
        The number of actions (or terms) of the derivation.

    Returns
    -------
    DiscreteGibbs
        The steps of the derivation (see the class).

    Notes
    -----
    Steps: the gradient ``f_i - lambda (log q_i + 1)``; the Lagrange condition
    ``gradient_i = nu`` solved for ``q_i`` (``exp((f_i - lambda - nu)/lambda)``);
    the normalisation ``sum q_i = 1`` solved for ``nu = lambda (log Z - 1)``; the
    maximiser ``exp(f_i / lambda) / Z``; the objective there (``lambda log Z``);
    the Hessian ``diag(-lambda / q_i)``. ``Z = sum_i exp(f_i / lambda)``.

    Examples
    --------
    >>> d = derive_discrete_gibbs(2)
    >>> d.maximum
    lambda*log(exp(f1/lambda) + exp(f2/lambda))
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    f = sp.symbols(f"f1:{n + 1}", real=True)
    q = sp.symbols(f"q1:{n + 1}", positive=True)
    lam = sp.Symbol("lambda", positive=True)
    nu = sp.Symbol("nu", real=True)
    objective = sp.Add(*(qi * fi for qi, fi in zip(q, f, strict=True))) - lam * sp.Add(
        *(qi * sp.log(qi) for qi in q)
    )
    gradient = tuple(sp.diff(objective, qi) for qi in q)
    # Every component of the gradient has the same form, so the Lagrange condition
    # gradient_i = nu is solved once, for a generic component, and instantiated per i.
    f_g = sp.Symbol("f", real=True)
    q_g = sp.Symbol("q", positive=True)
    generic = f_g - lam * (sp.log(q_g) + 1)
    roots = sp.solve(sp.Eq(generic, nu), q_g)
    if len(roots) != 1:
        raise DerivationError(f"expected one stationary q, got {roots}")
    stationary = []
    for g, qi, fi in zip(gradient, q, f, strict=True):
        require_zero(g - generic.subs({f_g: fi, q_g: qi}), f"gradient in {qi} has the generic form")
        stationary.append(roots[0].subs(f_g, fi))
    # Normalisation: each stationary q_i is a factor free of f_i times exp(f_i/lambda), so
    # sum_i q_i = factor * Z with Z = sum_i exp(f_i/lambda); solve factor * Z = 1 for nu
    # with Z a positive symbol (solving the n-term sum directly is slow for n = 5).
    Z = sp.Add(*(sp.exp(fi / lam) for fi in f))
    Z_s = sp.Symbol("Z", positive=True)
    factor, rest = sp.expand(roots[0], power_exp=True).as_independent(f_g)
    require_zero(rest - sp.exp(f_g / lam), "stationary q is a factor times exp(f/lambda)")
    require_zero(sp.Add(*stationary) - factor * Z, "sum of the stationary q_i is factor * Z")
    nus = sp.solve(sp.Eq(factor * Z_s, 1), nu)
    if len(nus) != 1:
        raise DerivationError(f"expected one real multiplier, got {nus}")
    multiplier = sp.simplify(nus[0]).subs(Z_s, Z)
    # Put nu back into the stationary point; sympy's form of the result is
    # checked against exp(f_i / lambda) / Z, which is then used as the maximiser.
    maximiser = tuple(sp.exp(fi / lam) / Z for fi in f)
    for s, m in zip(stationary, maximiser, strict=True):
        require_zero(s.subs(nu, multiplier) - m, "stationary point with the multiplier")
    # The objective at the maximiser, with Z kept as a symbol while the logarithms are
    # expanded (log q_i = f_i/lambda - log Z): the f_i terms cancel and lambda log Z times
    # sum_i exp(f_i/lambda) / Z is left, which is lambda log Z once Z is put back.
    at_max = objective.subs({qi: sp.exp(fi / lam) / Z_s for qi, fi in zip(q, f, strict=True)})
    at_max = sp.factor_terms(sp.expand(sp.expand_log(at_max, force=True)))
    maximum = at_max.subs(Z_s, Z)
    return DiscreteGibbs(
        n=n,
        f=f,
        q=q,
        lam=lam,
        nu=nu,
        objective=objective,
        gradient=gradient,
        stationary=tuple(stationary),
        multiplier=multiplier,
        maximiser=maximiser,
        maximum=maximum,
        hessian=sp.hessian(objective, q),
    )


def check_discrete_gibbs(d: DiscreteGibbs) -> None:
    """Raise :class:`DerivationError` unless every step of ``d`` is what the theory says.

    Parameters
    ----------
    d : DiscreteGibbs
        The derivation to check (a :class:`DiscreteGibbs`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    Checks: gradient ``= f_i - lambda (log q_i + 1)``; maximiser ``= exp(f_i /
    lambda) / Z`` and sums to one; maximum ``= lambda log Z``; Hessian diagonal
    with negative entries (strict concavity, so the stationary point is the
    unique maximum on the simplex). Also that each stationary ``q_i`` solves
    ``gradient_i = nu``.

    Examples
    --------
    >>> check_discrete_gibbs(derive_discrete_gibbs(2))  # silent: every step holds
    """
    lam, Z = d.lam, d.partition
    for fi, qi, g, s in zip(d.f, d.q, d.gradient, d.stationary, strict=True):
        require_zero(g - (fi - lam * (sp.log(qi) + 1)), f"gradient in {qi}")
        require_zero(g.subs(qi, s) - d.nu, f"stationary {qi} solves gradient = nu")
    require_zero(d.multiplier - (lam * sp.log(Z) - lam), "Lagrange multiplier")
    for fi, m in zip(d.f, d.maximiser, strict=True):
        require_zero(m - sp.exp(fi / lam) / Z, f"maximiser component for {fi}")
    require_zero(sp.Add(*d.maximiser) - 1, "maximiser sums to one")
    require_zero(d.maximum - lam * sp.log(Z), "maximum value lambda log Z")
    for i in range(d.n):
        for j in range(d.n):
            entry = d.hessian[i, j]
            if i == j:
                require_zero(entry + lam / d.q[i], f"Hessian diagonal {i}")
                require(entry.is_negative, f"Hessian diagonal {i} is negative")
            else:
                require(entry == 0, f"Hessian off-diagonal ({i}, {j}) is zero")


@dataclass(frozen=True)
class SymbolicNGibbs:
    """The same maximisation for a symbolic number ``n`` of outcomes (sympy ``Sum``/``Indexed``).

    ``S`` is a positive symbol standing for ``sum_{i=1}^n exp(f_i / lambda)``.
    """

    n: sp.Symbol
    i: sp.Symbol
    k: sp.Symbol
    f: sp.IndexedBase
    q: sp.IndexedBase
    eta: sp.IndexedBase
    lam: sp.Symbol
    nu: sp.Symbol
    eps: sp.Symbol
    S: sp.Symbol
    objective: sp.Expr
    gradient: sp.Expr
    stationary: sp.Expr
    normalisation: sp.Expr
    multiplier: sp.Expr
    maximiser: sp.Expr
    maximum: sp.Expr
    first_variation: sp.Expr
    second_variation: sp.Expr


def derive_gibbs_symbolic_n() -> SymbolicNGibbs:
    r"""The discrete derivation with ``n`` a symbol: ``F = sum_{i=1}^n (q_i f_i - lambda q_i log q_i)``.

    Returns
    -------
    SymbolicNGibbs
        The steps of the derivation (see the class).

    Notes
    -----
    Steps: sympy differentiates the indexed sum in ``q_k`` (a Kronecker delta
    under the sum; the branch ``k <= n`` is ``f_k - lambda (log q_k + 1)``); the
    Lagrange condition ``gradient = nu`` gives ``q_k = e^{-1} e^{-nu/lambda}
    e^{f_k/lambda}``; the constant factors come out of the sum, so ``sum q_i = 1``
    reads ``e^{-1} e^{-nu/lambda} S = 1`` and ``nu = lambda (log S - 1)``; the
    maximiser is ``exp(f_k/lambda) / S`` and the objective there is ``lambda log S``.
    The perturbation ``q + eps eta`` gives the first variation
    ``sum eta_i (f_i - lambda(log q_i + 1))`` and the second ``-lambda sum eta_i^2 / q_i``.

    Examples
    --------
    >>> d = derive_gibbs_symbolic_n()
    >>> d.multiplier
    lambda*(log(S) - 1)
    >>> d.second_variation
    -lambda*Sum(eta[i]**2/q[i], (i, 1, n))
    """
    n = sp.Symbol("n", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, positive=True)
    q = sp.IndexedBase("q", positive=True)
    f = sp.IndexedBase("f", real=True)
    eta = sp.IndexedBase("eta", real=True)
    lam = sp.Symbol("lambda", positive=True)
    nu = sp.Symbol("nu", real=True)
    eps = sp.Symbol("epsilon", real=True)
    S = sp.Symbol("S", positive=True)

    def summand(qi: sp.Expr) -> sp.Expr:
        return qi * f[i] - lam * qi * sp.log(qi)

    objective = sp.Sum(summand(q[i]), (i, 1, n))
    raw = sp.diff(objective, q[k]).doit()
    gradient = raw
    if isinstance(raw, sp.Piecewise):
        branch = [expr for expr, cond in raw.args if cond == sp.Le(k, n)]
        if len(branch) != 1:
            raise DerivationError(f"unexpected piecewise gradient {raw}")
        gradient = branch[0]
    roots = sp.solve(sp.Eq(gradient, nu), q[k])
    if len(roots) != 1:
        raise DerivationError(f"expected one stationary q_k, got {roots}")
    stationary = roots[0]
    # sum_i q_i: split each term into the factor free of i (it leaves the sum) and exp(f_i/lambda).
    term = sp.expand(stationary.subs(k, i), power_exp=True)
    const, rest = term.as_independent(i)
    if sp.simplify(rest - sp.exp(f[i] / lam)) != 0:
        raise DerivationError(f"stationary q_i is not const*exp(f_i/lambda): {term}")
    normalisation = const * S  # = sum_i q_i, as S = sum_i exp(f_i / lambda)
    nus = sp.solve(sp.Eq(normalisation, 1), nu)
    if len(nus) != 1:
        raise DerivationError(f"expected one real multiplier, got {nus}")
    multiplier = sp.simplify(nus[0])
    maximiser = sp.simplify(sp.expand(stationary.subs(nu, multiplier), power_exp=True))
    at_max = sp.simplify(sp.expand_log(summand(maximiser.subs(k, i)), force=True))
    c_max, r_max = at_max.as_independent(i)
    if sp.simplify(r_max - sp.exp(f[i] / lam)) != 0:
        raise DerivationError(
            f"objective term at the maximiser is not const*exp(f_i/lambda): {at_max}"
        )
    maximum = sp.simplify(c_max * S)  # sum_i c exp(f_i/lambda) = c S
    perturbed = sp.Sum(summand(q[i] + eps * eta[i]), (i, 1, n))
    first = sp.simplify(sp.diff(perturbed, eps).subs(eps, 0))
    second = sp.simplify(sp.diff(perturbed, eps, 2).subs(eps, 0))
    return SymbolicNGibbs(
        n=n,
        i=i,
        k=k,
        f=f,
        q=q,
        eta=eta,
        lam=lam,
        nu=nu,
        eps=eps,
        S=S,
        objective=objective,
        gradient=gradient,
        stationary=stationary,
        normalisation=normalisation,
        multiplier=multiplier,
        maximiser=maximiser,
        maximum=maximum,
        first_variation=first,
        second_variation=second,
    )


def check_gibbs_symbolic_n(d: SymbolicNGibbs) -> None:
    """Raise unless each step of the symbolic-``n`` derivation has the expected form and sign.

    Parameters
    ----------
    d : SymbolicNGibbs
        The derivation to check (a :class:`SymbolicNGibbs`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).
    """
    f, q, eta, lam, k, i, n, S = d.f, d.q, d.eta, d.lam, d.k, d.i, d.n, d.S
    require_zero(d.gradient - (f[k] - lam * (sp.log(q[k]) + 1)), "symbolic-n gradient")
    require_zero(d.stationary - sp.exp((f[k] - d.nu) / lam - 1), "symbolic-n stationary point")
    require_zero(d.multiplier - lam * (sp.log(S) - 1), "symbolic-n Lagrange multiplier")
    require_zero(d.maximiser - sp.exp(f[k] / lam) / S, "symbolic-n maximiser")
    require_zero(d.maximum - lam * sp.log(S), "symbolic-n maximum lambda log S")
    expected_first = sp.Sum(eta[i] * (f[i] - lam * (sp.log(q[i]) + 1)), (i, 1, n))
    require_zero(sp.simplify(d.first_variation - expected_first), "symbolic-n first variation")
    require_zero(
        d.second_variation + lam * sp.Sum(eta[i] ** 2 / q[i], (i, 1, n)),
        "symbolic-n second variation",
    )
    require(d.second_variation.is_nonpositive, "symbolic-n second variation is <= 0")


@dataclass(frozen=True)
class ContinuousGibbs:
    """The continuous case: a density ``q(x)`` and a payoff ``f(x)``."""

    x: sp.Symbol
    f: sp.Expr
    q: sp.Expr
    lam: sp.Symbol
    nu: sp.Symbol
    Z: sp.Symbol
    eps: sp.Symbol
    eta: sp.Expr
    integrand: sp.Expr
    euler_lagrange: sp.Eq
    stationary: sp.Expr
    maximiser: sp.Expr
    first_variation: sp.Expr
    second_variation: sp.Expr
    maximum_integrand: sp.Expr
    maximum: sp.Expr


def derive_continuous_gibbs() -> ContinuousGibbs:
    r"""The calculus of variations for ``F[q] = int (q f - lambda q log q) dx``.

    Returns
    -------
    ContinuousGibbs
        The steps of the derivation (see the class).

    Notes
    -----
    ``euler_equations`` on ``q f - lambda q log q - nu q`` (``nu`` the
    multiplier of ``int q = 1``) gives ``f - lambda (log q + 1) - nu = 0``, so
    ``q = exp((f - nu)/lambda - 1)``; normalising, ``q* = exp(f/lambda) / Z``.
    The perturbation ``q + eps eta`` gives the first variation
    ``eta (f - lambda (log q + 1))`` and the second ``-lambda eta^2 / q`` (per
    point, before integrating). At ``q*`` the integrand of ``F`` is
    ``lambda log Z * exp(f/lambda) / Z``, whose integral is ``lambda log Z``.

    Examples
    --------
    >>> d = derive_continuous_gibbs()
    >>> d.maximiser, d.maximum
    (exp(f(x)/lambda)/Z, lambda*log(Z))
    >>> d.second_variation
    -lambda*eta(x)**2/q(x)
    """
    x = sp.Symbol("x", real=True)
    lam = sp.Symbol("lambda", positive=True)
    nu = sp.Symbol("nu", real=True)
    Z = sp.Symbol("Z", positive=True)
    eps = sp.Symbol("epsilon", real=True)
    f = sp.Function("f", real=True)(x)
    q = sp.Function("q", positive=True)(x)
    eta = sp.Function("eta", real=True)(x)
    integrand = q * f - lam * q * sp.log(q)
    (el,) = euler_equations(integrand - nu * q, q, x)
    qs = sp.Symbol("q_s", positive=True)
    roots = sp.solve(el.lhs.subs(q, qs), qs)
    if len(roots) != 1:
        raise DerivationError(f"expected one stationary density, got {roots}")
    stationary = sp.simplify(roots[0])
    # The normalisation fixes exp(-nu/lambda - 1) = 1/Z, i.e. nu = lambda (log Z - 1).
    maximiser = sp.simplify(stationary.subs(nu, lam * (sp.log(Z) - 1)))
    perturbed = integrand.subs(q, q + eps * eta)
    first = sp.simplify(sp.diff(perturbed, eps).subs(eps, 0))
    second = sp.simplify(sp.diff(perturbed, eps, 2).subs(eps, 0))
    at_max = sp.simplify(sp.expand_log(integrand.subs(q, maximiser), force=True))
    const, rest = at_max.as_independent(x)
    if sp.simplify(rest - sp.exp(f / lam)) != 0:
        raise DerivationError(f"integrand at the maximiser is not const*exp(f/lambda): {at_max}")
    # int const * exp(f/lambda) dx = const * Z by the definition of Z.
    maximum = sp.simplify(const * Z)
    return ContinuousGibbs(
        x=x,
        f=f,
        q=q,
        lam=lam,
        nu=nu,
        Z=Z,
        eps=eps,
        eta=eta,
        integrand=integrand,
        euler_lagrange=el,
        stationary=stationary,
        maximiser=maximiser,
        first_variation=first,
        second_variation=second,
        maximum_integrand=at_max,
        maximum=maximum,
    )


def check_continuous_gibbs(d: ContinuousGibbs) -> None:
    """Raise unless the continuous derivation has each expected form and sign.

    Parameters
    ----------
    d : ContinuousGibbs
        The derivation to check (a :class:`ContinuousGibbs`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).
    """
    f, q, lam, nu, eta = d.f, d.q, d.lam, d.nu, d.eta
    require_zero(d.euler_lagrange.lhs - (f - lam * (sp.log(q) + 1) - nu), "Euler-Lagrange")
    require(d.euler_lagrange.rhs == 0, "Euler-Lagrange right-hand side is 0")
    require_zero(d.stationary - sp.exp((f - nu) / lam - 1), "stationary density")
    require_zero(d.maximiser - sp.exp(f / lam) / d.Z, "normalised maximiser")
    require_zero(d.first_variation - eta * (f - lam * (sp.log(q) + 1)), "first variation")
    require_zero(d.second_variation + lam * eta**2 / q, "second variation")
    require((-d.second_variation).is_nonnegative, "second variation is <= 0 (a maximum)")
    require_zero(d.maximum - lam * sp.log(d.Z), "maximum value lambda log Z")
