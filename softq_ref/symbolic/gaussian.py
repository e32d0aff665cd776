r"""Soft value and policy of a quadratic ``Q(a)`` on the real line (``proofs/07_continuous_actions.ipynb``).

For ``Q(a) = -k (a - m)^2 / 2 + c`` with ``k > 0`` and the Lebesgue reference measure,
:func:`derive_gaussian` has sympy evaluate

``int exp(Q(a)/alpha) da = exp(c/alpha) sqrt(2 pi alpha / k)``, so
``V = c + (alpha/2) log(2 pi alpha / k)``,

and shows that ``pi*(a) = exp((Q(a) - V)/alpha)`` (Haarnoja et al. 2017, Theorem 1) is the
density of ``N(m, alpha/k)``, whose expected ``Q`` plus ``alpha`` times its differential
entropy is ``V`` again. :func:`derive_box` does the interval ``[l, h]`` (a truncated
Gaussian, error functions) and :func:`derive_gaussian_prior` a Gaussian reference measure
``N(m_0, s_0^2)``. These are the one-dimensional cases of
:func:`softq_ref.continuous.quadratic_soft_policy`,
:func:`~softq_ref.continuous.box_quadratic_soft_value` and
:func:`~softq_ref.continuous.gaussian_prior_soft_policy`; the ``d``-dimensional lemma is
in ``proofs/08_max_entropy_lqr.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from softq_ref.symbolic._common import require, require_zero

__all__ = [
    "GaussianDerivation",
    "derive_gaussian",
    "check_gaussian",
    "BoxDerivation",
    "derive_box",
    "check_box",
    "GaussianPriorDerivation",
    "derive_gaussian_prior",
    "check_gaussian_prior",
]


def _symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol, sp.Symbol, sp.Symbol]:
    a, m, c = sp.symbols("a m c", real=True)
    k, alpha = sp.symbols("k alpha", positive=True)
    return a, m, c, k, alpha


@dataclass(frozen=True)
class GaussianDerivation:
    r"""The steps for ``Q(a) = -k (a - m)^2 / 2 + c`` on the real line.

    ``Z`` is sympy's integral of ``exp(Q/alpha)`` over the real line; ``V = alpha log Z``;
    ``V_claimed = c + alpha/2 log(2 pi alpha / k)``; ``policy = exp((Q - V_claimed)/alpha)``;
    ``normal_density`` the ``N(m, alpha/k)`` density; ``total``, ``mean``, ``variance`` and
    ``entropy`` sympy's integrals of ``policy``, ``a policy``, ``(a - m)^2 policy`` and
    ``-policy log policy``; ``gibbs_value = E[Q] + alpha entropy``.
    """

    a: sp.Symbol
    m: sp.Symbol
    c: sp.Symbol
    k: sp.Symbol
    alpha: sp.Symbol
    Q: sp.Expr
    Z: sp.Expr
    V: sp.Expr
    V_claimed: sp.Expr
    policy: sp.Expr
    normal_density: sp.Expr
    total: sp.Expr
    mean: sp.Expr
    variance: sp.Expr
    entropy: sp.Expr
    gibbs_value: sp.Expr


def derive_gaussian() -> GaussianDerivation:
    r"""Integrate ``exp(Q/alpha)`` for the quadratic ``Q`` and the moments of the policy.

    Returns
    -------
    GaussianDerivation
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_gaussian()
    >>> check_gaussian(d)  # silent when every step holds
    >>> d.Z
    sqrt(2)*sqrt(pi)*sqrt(alpha)*exp(c/alpha)/sqrt(k)
    >>> d.variance
    alpha/k
    """
    a, m, c, k, alpha = _symbols()
    line = (a, -sp.oo, sp.oo)
    Q = -k * (a - m) ** 2 / 2 + c
    Z = sp.integrate(sp.exp(Q / alpha), line)
    V = alpha * sp.log(Z)
    V_claimed = c + alpha / 2 * sp.log(2 * sp.pi * alpha / k)
    policy = sp.exp((Q - V_claimed) / alpha)
    var = alpha / k
    normal = sp.exp(-((a - m) ** 2) / (2 * var)) / sp.sqrt(2 * sp.pi * var)
    log_policy = sp.expand_log(sp.log(policy), force=True)
    total = sp.simplify(sp.integrate(policy, line))
    mean = sp.simplify(sp.integrate(a * policy, line))
    variance = sp.simplify(sp.integrate((a - m) ** 2 * policy, line))
    entropy = sp.simplify(-sp.integrate(policy * log_policy, line))
    expected_q = sp.simplify(sp.integrate(Q * policy, line))
    return GaussianDerivation(
        a, m, c, k, alpha, Q, Z, V, V_claimed, policy, normal, total, mean, variance, entropy,
        expected_q + alpha * entropy,
    )  # fmt: skip


def check_gaussian(d: GaussianDerivation) -> None:
    r"""Raise unless every step of :func:`derive_gaussian` holds symbolically.

    Parameters
    ----------
    d : GaussianDerivation
        The derivation to check (a :class:`GaussianDerivation`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    ``V = V_claimed``; the policy is the ``N(m, alpha/k)`` density (total mass 1, mean
    ``m``, variance ``alpha/k``, differential entropy ``log(2 pi e alpha/k)/2``); and
    ``E_pi[Q] + alpha H(pi) = V`` (the Gibbs variational identity of notebook 01).
    Example: see :func:`derive_gaussian`.
    """
    require_zero(sp.expand_log(d.V - d.V_claimed, force=True), "alpha log Z is not V_claimed")
    require_zero(d.policy - d.normal_density, "exp((Q - V)/alpha) is not the N(m, alpha/k) density")
    require_zero(d.total - 1, "the policy does not integrate to 1")
    require_zero(d.mean - d.m, "the policy's mean is not m")
    require_zero(d.variance - d.alpha / d.k, "the policy's variance is not alpha/k")
    h = sp.log(2 * sp.pi * sp.E * d.alpha / d.k) / 2
    require_zero(sp.expand_log(d.entropy - h, force=True), "the entropy is not log(2 pi e s^2)/2")
    require_zero(sp.expand_log(d.gibbs_value - d.V_claimed, force=True), "E[Q] + alpha H != V")


@dataclass(frozen=True)
class BoxDerivation:
    r"""``Q`` on the interval ``[low, high]``: ``Z`` (sympy) and the error-function form.

    ``Z`` is computed after the shift ``u = a - m``; ``Z_claimed = exp(c/alpha)
    sqrt(pi alpha/(2k)) (erf((high - m)/sqrt(2 alpha/k)) - erf((low - m)/sqrt(2 alpha/k)))``,
    i.e. ``exp(c/alpha) sqrt(2 pi alpha/k) (Phi(z_h) - Phi(z_l))`` with ``z = (x - m)/sqrt(alpha/k)``.
    """

    low: sp.Symbol
    high: sp.Symbol
    Z: sp.Expr
    Z_claimed: sp.Expr
    V_claimed: sp.Expr


def derive_box() -> BoxDerivation:
    r"""Integrate ``exp(Q/alpha)`` over ``[low, high]``.

    Returns
    -------
    BoxDerivation
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_box()
    >>> check_box(d)
    >>> d.V_claimed.has(sp.erf)
    True
    """
    _a, m, c, k, alpha = _symbols()
    u = sp.Symbol("u", real=True)
    low, high = sp.symbols("l h", real=True)
    Z = sp.exp(c / alpha) * sp.integrate(sp.exp(-k * u**2 / (2 * alpha)), (u, low - m, high - m))
    s = sp.sqrt(2 * alpha / k)
    Z_claimed = (
        sp.exp(c / alpha)
        * sp.sqrt(sp.pi * alpha / (2 * k))
        * (sp.erf((high - m) / s) - sp.erf((low - m) / s))
    )
    V_claimed = c + alpha * sp.log(Z_claimed * sp.exp(-c / alpha))
    return BoxDerivation(low, high, Z, Z_claimed, V_claimed)


def check_box(d: BoxDerivation) -> None:
    r"""Raise unless sympy's integral equals the erf form (example: :func:`derive_box`).

    Parameters
    ----------
    d : BoxDerivation
        The derivation to check (a :class:`BoxDerivation`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).
    """
    require(not d.Z.has(sp.Integral), "sympy left the interval integral unevaluated")
    require_zero(d.Z - d.Z_claimed, "the interval integral is not the erf form")


@dataclass(frozen=True)
class GaussianPriorDerivation:
    r"""``Q`` with the reference measure ``N(m0, s0^2)`` (a probability density).

    The exponent of ``mu(a) exp(Q(a)/alpha)`` is the quadratic ``-A2 a^2 + A1 a + A0``
    (``coefficients``); sympy's integral of ``exp`` of a general such quadratic
    (``lemma``) gives ``Z`` and ``V = alpha log Z``; the policy is Gaussian with
    precision ``2 A2`` and mean ``A1/(2 A2)``. The ``*_claimed`` fields are the
    closed forms of :func:`softq_ref.continuous.gaussian_prior_soft_policy` in 1-D.
    """

    m0: sp.Symbol
    s0: sp.Symbol
    coefficients: dict[str, sp.Expr]
    lemma: sp.Expr
    V: sp.Expr
    V_claimed: sp.Expr
    mean: sp.Expr
    mean_claimed: sp.Expr
    variance: sp.Expr
    variance_claimed: sp.Expr


def derive_gaussian_prior() -> GaussianPriorDerivation:
    r"""Complete the square for ``N(a; m0, s0^2) exp(Q(a)/alpha)`` and integrate.

    Returns
    -------
    GaussianPriorDerivation
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_gaussian_prior()
    >>> check_gaussian_prior(d)
    >>> sp.simplify(d.variance)
    alpha*s_0**2/(alpha + k*s_0**2)
    """
    a, m, c, k, alpha = _symbols()
    m0 = sp.Symbol("m_0", real=True)
    s0 = sp.Symbol("s_0", positive=True)
    A2 = sp.Symbol("A_2", positive=True)
    A1, A0 = sp.symbols("A_1 A_0", real=True)
    lemma = sp.simplify(sp.integrate(sp.exp(-A2 * a**2 + A1 * a + A0), (a, -sp.oo, sp.oo)))
    exponent = sp.expand(
        -((a - m0) ** 2) / (2 * s0**2) - k * (a - m) ** 2 / (2 * alpha) + c / alpha
    )
    poly = sp.Poly(exponent, a)
    coeffs = {
        "A_2": -poly.coeff_monomial(a**2),
        "A_1": poly.coeff_monomial(a),
        "A_0": poly.coeff_monomial(1),
    }
    subs = {A2: coeffs["A_2"], A1: coeffs["A_1"], A0: coeffs["A_0"]}
    Z = lemma.xreplace(subs) / sp.sqrt(2 * sp.pi * s0**2)
    V = alpha * sp.log(Z)
    V_claimed = c - alpha / 2 * (
        sp.log(1 + k * s0**2 / alpha) + (m - m0) ** 2 / (s0**2 + alpha / k)
    )
    variance_claimed = alpha / (k + alpha / s0**2)
    mean_claimed = (k * m + alpha * m0 / s0**2) / (k + alpha / s0**2)
    return GaussianPriorDerivation(
        m0, s0, coeffs, lemma, V, V_claimed,
        coeffs["A_1"] / (2 * coeffs["A_2"]), mean_claimed,
        1 / (2 * coeffs["A_2"]), variance_claimed,
    )  # fmt: skip


def check_gaussian_prior(d: GaussianPriorDerivation) -> None:
    r"""Raise unless the lemma is ``sqrt(pi/A2) exp(A1^2/(4 A2) + A0)`` and ``V``, mean, variance match.

    Parameters
    ----------
    d : GaussianPriorDerivation
        The derivation to check (a :class:`GaussianPriorDerivation`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    Example: see :func:`derive_gaussian_prior`.
    """
    A2 = sp.Symbol("A_2", positive=True)
    A1, A0 = sp.symbols("A_1 A_0", real=True)
    lemma_claimed = sp.sqrt(sp.pi / A2) * sp.exp(A1**2 / (4 * A2) + A0)
    require_zero(d.lemma - lemma_claimed, "the Gaussian integral lemma does not hold")
    require_zero(sp.expand_log(d.V - d.V_claimed, force=True), "V with a Gaussian prior")
    require_zero(d.mean - d.mean_claimed, "the policy mean with a Gaussian prior")
    require_zero(d.variance - d.variance_claimed, "the policy variance with a Gaussian prior")
