r"""The log-sum-exp with temperature: conjugacy, derivatives, bounds, limits (``proofs/02``).

``V(Q) = alpha log sum_{i=1}^n exp(Q_i / alpha)`` is the soft value of one
state (Haarnoja et al. 2017, Theorem 2; :func:`softq_ref.soft_value`). This
module derives with sympy, for a fixed number of actions ``n``:

* the Gibbs variational identity ``p.Q + alpha H(p) = V - alpha KL(p || pi)``
  for every ``p`` in the simplex, so ``V`` is the convex conjugate of the
  negative entropy ``alpha sum p log p`` and ``pi = softmax(Q / alpha)`` attains it;
* ``grad V = pi`` and ``Hess V = (diag(pi) - pi pi^T) / alpha``, whose
  quadratic form is ``Var_pi(v) / alpha >= 0``;
* ``max Q <= V <= max Q + alpha log n`` and the limits ``alpha -> 0+`` (the
  max) and ``alpha -> oo`` (``V - alpha log n -> mean Q``).

Derived in ``proofs/02_log_sum_exp.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from softq_ref.symbolic._common import require, require_zero

__all__ = [
    "LogSumExp",
    "derive_log_sum_exp",
    "check_log_sum_exp",
    "GibbsVariational",
    "derive_gibbs_variational",
    "check_gibbs_variational",
    "LogSumExpLimits",
    "derive_log_sum_exp_limits",
    "check_log_sum_exp_limits",
]


def _check_n(n: int) -> None:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")


@dataclass(frozen=True)
class LogSumExp:
    """``V``, its softmax, gradient and Hessian for ``n`` symbolic action values."""

    n: int
    Q: tuple[sp.Symbol, ...]
    alpha: sp.Symbol
    value: sp.Expr
    policy: tuple[sp.Expr, ...]
    gradient: tuple[sp.Expr, ...]
    hessian: sp.Matrix
    hessian_formula: sp.Matrix
    v: tuple[sp.Symbol, ...]
    quadratic_form: sp.Expr
    variance: sp.Expr


def derive_log_sum_exp(n: int) -> LogSumExp:
    r"""Differentiate ``V = alpha log sum exp(Q_i / alpha)`` twice with sympy.

    Parameters
    ----------
    n : int
        The number of actions (or terms) of the derivation.

    Returns
    -------
    LogSumExp
        The steps of the derivation (see the class).

    Notes
    -----
    ``policy`` is the softmax ``exp(Q_i/alpha) / sum_j exp(Q_j/alpha)``;
    ``hessian_formula`` is ``(diag(pi) - pi pi^T) / alpha``; ``quadratic_form``
    is ``v^T Hess v`` and ``variance`` is ``sum_i pi_i (v_i - pi.v)^2 / alpha``.

    Examples
    --------
    >>> d = derive_log_sum_exp(2)
    >>> d.gradient[0]
    exp(Q1/alpha)/(exp(Q1/alpha) + exp(Q2/alpha))
    """
    _check_n(n)
    Q = sp.symbols(f"Q1:{n + 1}", real=True)
    v = sp.symbols(f"v1:{n + 1}", real=True)
    alpha = sp.Symbol("alpha", positive=True)
    Z = sp.Add(*(sp.exp(qi / alpha) for qi in Q))
    value = alpha * sp.log(Z)
    policy = tuple(sp.exp(qi / alpha) / Z for qi in Q)
    gradient = tuple(sp.diff(value, qi) for qi in Q)
    hessian = sp.hessian(value, Q)
    pvec = sp.Matrix(policy)
    hessian_formula = (sp.diag(*policy) - pvec * pvec.T) / alpha
    vvec = sp.Matrix(v)
    quadratic_form = (vvec.T * hessian_formula * vvec)[0, 0]
    mean = sp.Add(*(pi * vi for pi, vi in zip(policy, v, strict=True)))
    variance = sp.Add(*(pi * (vi - mean) ** 2 for pi, vi in zip(policy, v, strict=True))) / alpha
    return LogSumExp(
        n=n,
        Q=Q,
        alpha=alpha,
        value=value,
        policy=policy,
        gradient=gradient,
        hessian=hessian,
        hessian_formula=hessian_formula,
        v=v,
        quadratic_form=quadratic_form,
        variance=variance,
    )


def _require_zero_in_exponentials(
    expr: sp.Expr | sp.MatrixBase, Q: tuple[sp.Symbol, ...], alpha: sp.Symbol, message: str
) -> None:
    """Raise unless ``expr`` is zero as a rational function of ``z_i = exp(Q_i / alpha)``.

    Every ``exp(Q_i / alpha)`` (and its powers, which sympy writes ``exp(k Q_i / alpha)``)
    is replaced by a positive symbol ``z_i``; if no ``Q_i`` is left, the result is a
    rational function of ``z``, ``alpha`` and ``v``, and ``cancel`` decides exactly whether
    it is zero. Zero as a rational function means zero for every value put back in, so the
    test is sound, and much faster than ``simplify`` on the exponentials.
    """
    z = sp.symbols(f"z1:{len(Q) + 1}", positive=True)
    replace = {sp.exp(qi / alpha): zi for qi, zi in zip(Q, z, strict=True)}
    items = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
    for k, item in enumerate(items):
        rational = sp.sympify(item).subs(replace)
        where = f" (entry {k})" if len(items) > 1 else ""
        require(
            not (rational.free_symbols & set(Q)),
            f"{message}{where}: exp(Q_i/alpha) not all replaced in {rational}",
        )
        require(sp.cancel(sp.together(rational)) == 0, f"{message}{where}: {item} is not 0")


def check_log_sum_exp(d: LogSumExp) -> None:
    """Raise unless ``grad V = pi``, ``Hess V`` is the formula, and ``v^T H v = Var/alpha``.

    Parameters
    ----------
    d : LogSumExp
        The derivation to check (a :class:`LogSumExp`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    Also checks ``sum pi = 1`` and each ``pi_i > 0`` (sympy's sign inference).
    """
    Q, alpha = d.Q, d.alpha
    for k, (g, p) in enumerate(zip(d.gradient, d.policy, strict=True)):
        _require_zero_in_exponentials(g - p, Q, alpha, f"gradient component {k} is the softmax")
        require(p.is_positive, f"softmax component {k} is positive")
    _require_zero_in_exponentials(sp.Add(*d.policy) - 1, Q, alpha, "softmax sums to one")
    _require_zero_in_exponentials(
        d.hessian - d.hessian_formula, Q, alpha, "Hessian (diag(pi) - pi pi^T)/alpha"
    )
    _require_zero_in_exponentials(
        d.quadratic_form - d.variance, Q, alpha, "quadratic form is Var_pi(v)/alpha"
    )
    require(d.variance.is_nonnegative, "Var_pi(v)/alpha is >= 0 (Hessian PSD)")


@dataclass(frozen=True)
class GibbsVariational:
    """``p.Q + alpha H(p) = V - alpha KL(p || pi)`` for an arbitrary ``p`` in the simplex."""

    n: int
    Q: tuple[sp.Symbol, ...]
    p: tuple[sp.Expr, ...]
    alpha: sp.Symbol
    value: sp.Expr
    policy: tuple[sp.Expr, ...]
    regularised: sp.Expr
    kl: sp.Expr
    residual: sp.Expr


def derive_gibbs_variational(n: int) -> GibbsVariational:
    r"""The Gibbs variational identity, with ``p_n = 1 - p_1 - ... - p_{n-1}``.

    Parameters
    ----------
    n : int
        The number of actions (or terms) of the derivation.

    Returns
    -------
    GibbsVariational
        The steps of the derivation (see the class).

    Notes
    -----
    ``regularised = sum p_i Q_i - alpha sum p_i log p_i`` and
    ``kl = sum p_i log(p_i / pi_i)``; ``residual`` is
    ``regularised - (V - alpha kl)`` after expanding the logarithms, which
    sympy reduces to 0. As ``KL >= 0`` with equality only at ``p = pi``,
    ``V = max_p (p.Q + alpha H(p))``: the convex conjugate of ``alpha sum p log p``
    restricted to the simplex.

    Examples
    --------
    >>> derive_gibbs_variational(3).residual
    0
    """
    _check_n(n)
    Q = sp.symbols(f"Q1:{n + 1}", real=True)
    free = sp.symbols(f"p1:{n}", positive=True)
    p = (*free, 1 - sp.Add(*free))
    alpha = sp.Symbol("alpha", positive=True)
    Z = sp.Add(*(sp.exp(qi / alpha) for qi in Q))
    value = alpha * sp.log(Z)
    policy = tuple(sp.exp(qi / alpha) / Z for qi in Q)
    pn = sp.Symbol(f"p{n}", positive=True)  # stands for 1 - sum(free) inside the logs
    p_sym = (*free, pn)
    regularised = sp.Add(*(pi * qi for pi, qi in zip(p_sym, Q, strict=True))) - alpha * sp.Add(
        *(pi * sp.log(pi) for pi in p_sym)
    )
    kl = sp.Add(*(pi * sp.log(pi / wi) for pi, wi in zip(p_sym, policy, strict=True)))
    raw = sp.expand(sp.expand_log(regularised - (value - alpha * kl), force=True))
    residual = sp.simplify(raw.subs(pn, p[-1]))
    return GibbsVariational(
        n=n,
        Q=Q,
        p=p,
        alpha=alpha,
        value=value,
        policy=policy,
        regularised=regularised,
        kl=kl,
        residual=residual,
    )


def check_gibbs_variational(d: GibbsVariational) -> None:
    """Raise unless the identity's residual is exactly zero.

    Parameters
    ----------
    d : GibbsVariational
        The derivation to check (a :class:`GibbsVariational`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).
    """
    require_zero(d.residual, "p.Q + alpha H(p) - (V - alpha KL(p||pi))")


@dataclass(frozen=True)
class LogSumExpLimits:
    """Bounds and limits of ``V`` for ``n`` values.

    For ``alpha -> 0+`` the values are written ``Q_1`` (a largest one) and
    ``Q_i = Q_1 - d_i`` with gaps ``d_i > 0``; for ``alpha -> oo`` they are
    ``Q_1, ..., Q_n`` and ``t = 1 / alpha``.
    """

    n: int
    Q1: sp.Symbol
    d: tuple[sp.Symbol, ...]
    alpha: sp.Symbol
    partition: sp.Expr
    value: sp.Expr
    excess: sp.Expr
    excess_argument: sp.Expr
    upper_bound_excess: sp.Expr
    gap: sp.Symbol
    term_limit_zero: sp.Expr
    argument_limit_zero: sp.Expr
    limit_zero: sp.Expr
    squeeze_limit_zero: sp.Expr
    t: sp.Symbol
    Q: tuple[sp.Symbol, ...]
    mean_form: sp.Expr
    x: sp.Symbol
    term_series: sp.Expr
    moment_series: sp.Expr
    mean_form_series: sp.Expr
    limit_infinity: sp.Expr
    mean: sp.Expr
    variance: sp.Expr


def derive_log_sum_exp_limits(n: int) -> LogSumExpLimits:
    r"""``V - max Q = alpha log(1 + sum_{i>1} exp(-d_i/alpha))`` and the two limits.

    Parameters
    ----------
    n : int
        The number of actions (or terms) of the derivation.

    Returns
    -------
    LogSumExpLimits
        The steps of the derivation (see the class).

    Notes
    -----
    **Bounds.** With gaps ``d_i >= 0`` each ``exp(-d_i/alpha)`` lies in ``(0, 1]``, so
    the argument of the log lies in ``[1, n]``: ``max Q <= V <= max Q + alpha log n``.

    **alpha -> 0+.** sympy's ``limit`` of the whole excess did not return within
    20 s for ``n = 3, 4, 5`` (sympy 1.14; ``n = 2`` takes 0.2 s), so the limit is
    taken on one generic term and assembled:
    ``exp(-d/alpha) -> 0`` for a gap ``d > 0`` (``sympy.limit``), hence by linearity
    the argument tends to ``1 + (n-1)*0 = 1``, and the excess, a product of
    ``alpha -> 0`` and ``log(argument) -> log 1 = 0``, tends to 0. Independently,
    the squeeze ``0 <= excess <= alpha log n`` with ``alpha log n -> 0``
    (``sympy.limit``) gives the same limit and also covers ties (``d_i = 0``).

    **alpha -> oo.** Put ``alpha = 1/t``: ``V - alpha log n = log(M(t)) / t`` with
    ``M(t) = (1/n) sum_i exp(t Q_i)``. The series of one generic term,
    ``exp(t x) = 1 + t x + t^2 x^2 / 2 + O(t^3)``, summed by linearity, gives
    ``M = 1 + t m_1 + t^2 m_2 / 2 + O(t^3)`` with ``m_1``, ``m_2`` the mean of ``Q`` and
    of ``Q^2``; then ``sympy.series`` gives ``log(M)/t = m_1 + t (m_2 - m_1^2)/2 + O(t^2)``
    and ``sympy.limit`` of that at ``t -> 0+`` is the mean. Every sympy call here
    works on expressions whose size does not grow with ``n`` except through
    linear sums, so the cost stays bounded.

    Examples
    --------
    >>> d = derive_log_sum_exp_limits(3)
    >>> d.limit_zero, d.limit_infinity
    (0, Q1/3 + Q2/3 + Q3/3)
    """
    _check_n(n)
    Q1 = sp.Symbol("Q1", real=True)
    d = sp.symbols(f"d2:{n + 1}", positive=True)
    alpha = sp.Symbol("alpha", positive=True)
    Qs = (Q1, *(Q1 - di for di in d))
    partition = sp.Add(*(sp.exp(qi / alpha) for qi in Qs))
    value = alpha * sp.log(partition)
    excess_argument = 1 + sp.Add(*(sp.exp(-di / alpha) for di in d))
    excess = alpha * sp.log(excess_argument)
    # Each term is at most exp(0) = 1, so the argument is at most n.
    upper_bound_excess = alpha * sp.log(n)

    gap = sp.Symbol("d", positive=True)
    term_limit_zero = sp.limit(sp.exp(-gap / alpha), alpha, 0, "+")
    argument_limit_zero = 1 + (n - 1) * term_limit_zero
    limit_zero = sp.limit(alpha, alpha, 0, "+") * sp.log(argument_limit_zero)
    squeeze_limit_zero = sp.limit(upper_bound_excess, alpha, 0, "+")

    t = sp.Symbol("t", positive=True)
    Q = sp.symbols(f"Q1:{n + 1}", real=True)
    mean_form = sp.log(sp.Add(*(sp.exp(t * qi) for qi in Q)) / n) / t
    x = sp.Symbol("x", real=True)
    term_series = sp.series(sp.exp(t * x), t, 0, 3)
    poly = term_series.removeO()
    mean = sp.Add(*Q) / n
    moment_series = sp.Add(*(poly.subs(x, qi) for qi in Q)) / n + sp.O(t**3)
    m1, m2 = sp.symbols("m1 m2", real=True)
    generic = sp.series(sp.log(1 + t * m1 + t**2 * m2 / 2) / t, t, 0, 2)
    mean_form_series = generic.subs({m1: mean, m2: sp.Add(*(qi**2 for qi in Q)) / n})
    limit_infinity = sp.limit(mean_form_series.removeO(), t, 0, "+")
    variance = sp.Add(*((qi - mean) ** 2 for qi in Q)) / n
    return LogSumExpLimits(
        n=n,
        Q1=Q1,
        d=d,
        alpha=alpha,
        partition=partition,
        value=value,
        excess=excess,
        excess_argument=excess_argument,
        upper_bound_excess=upper_bound_excess,
        gap=gap,
        term_limit_zero=term_limit_zero,
        argument_limit_zero=argument_limit_zero,
        limit_zero=limit_zero,
        squeeze_limit_zero=squeeze_limit_zero,
        t=t,
        Q=Q,
        mean_form=mean_form,
        x=x,
        term_series=term_series,
        moment_series=moment_series,
        mean_form_series=mean_form_series,
        limit_infinity=limit_infinity,
        mean=mean,
        variance=variance,
    )


def check_log_sum_exp_limits(d: LogSumExpLimits) -> None:
    """Raise unless the factorisation, the bounds, both limits and the series hold.

    Parameters
    ----------
    d : LogSumExpLimits
        The derivation to check (a :class:`LogSumExpLimits`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).
    """
    # sum_i exp(Q_i/alpha) = exp(Q_1/alpha) * (1 + sum exp(-d_i/alpha)); both factors are
    # positive, so alpha log of the product is Q_1 + alpha log(argument).
    require_zero(
        sp.expand(sp.powsimp(sp.expand(d.partition - sp.exp(d.Q1 / d.alpha) * d.excess_argument))),
        "sum exp(Q_i/alpha) = exp(max Q/alpha) (1 + sum exp(-d_i/alpha))",
    )
    require((d.excess_argument - 1).is_nonnegative, "log argument >= 1, so V >= max Q")
    # exp(-d_i/alpha) <= exp(0) = 1 term by term (exp is increasing), so the argument is <= n:
    for di in d.d:
        require((-di / d.alpha).is_nonpositive, f"-{di}/alpha <= 0")
    require(d.upper_bound_excess == d.alpha * sp.log(d.n), "excess <= alpha log n")
    require(d.term_limit_zero == 0, "exp(-d/alpha) -> 0 as alpha -> 0+ for d > 0")
    require(d.argument_limit_zero == 1, "log argument -> 1 as alpha -> 0+")
    require(d.limit_zero == 0, "excess -> 0 as alpha -> 0+")
    require(d.squeeze_limit_zero == 0, "alpha log n -> 0 as alpha -> 0+")
    # The change of variables: alpha log sum exp(Q/alpha) - alpha log n at alpha = 1/t.
    alpha, t, x = d.alpha, d.t, d.x
    original = alpha * sp.log(sp.Add(*(sp.exp(qi / alpha) for qi in d.Q))) - alpha * sp.log(d.n)
    require_zero(
        sp.expand_log(original.subs(alpha, 1 / t) - d.mean_form, force=True),
        "alpha = 1/t substitution",
    )
    require_zero(
        d.term_series.removeO() - (1 + t * x + t**2 * x**2 / 2), "series of exp(t x) to t^2"
    )
    require(d.term_series.getO() == sp.O(t**3), "remainder of exp(t x) is O(t^3)")
    second_moment = sp.Add(*(qi**2 for qi in d.Q)) / d.n
    require_zero(
        sp.expand(d.moment_series.removeO() - (1 + t * d.mean + t**2 * second_moment / 2)),
        "M(t) = 1 + t mean(Q) + t^2 mean(Q^2)/2 + O(t^3)",
    )
    require(d.mean_form_series.getO() == sp.O(t**2), "remainder of log(M)/t is O(t^2)")
    require_zero(
        sp.expand(d.mean_form_series.removeO() - d.mean - t * d.variance / 2),
        "log(M)/t = mean Q + t Var(Q)/2 + O(t^2)",
    )
    require_zero(d.limit_infinity - d.mean, "V - alpha log n -> mean Q as alpha -> oo")
