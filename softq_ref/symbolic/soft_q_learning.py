r"""The estimators of soft Q-learning and SVGD, step by step (``proofs/09_soft_q_learning.ipynb``).

Haarnoja et al. (2017), "Reinforcement Learning with Deep Energy-Based Policies",
Section 3.2, turn the soft Bellman equation into a learning algorithm with three
pieces; this module derives the facts behind each with sympy, and each ``check_*``
raises :class:`~softq_ref.symbolic._common.DerivationError` on a wrong step.

1. The importance-sampled soft value ``V_hat = alpha log Z_hat``,
   ``Z_hat = (1/n) sum_i w_i``, ``w = mu exp(Q/alpha) / q``, ``a_i ~ q``
   (:func:`softq_ref.importance_sampled_soft_value`):
   :func:`derive_importance_weights` (``E_q[w] = Z``; ``w = Z`` for every
   action when ``q = pi*``; ``E_q[(w/Z - 1)^2] = chi2(pi* || q)``; for ``n = 1``
   the bias is exactly ``-alpha KL(q || pi*)``), :func:`derive_bias_expansion`
   (``E[V_hat] - V = -alpha chi2 / (2n) + alpha (kappa_3/3 - 3 chi2^2/4) / n^2 +
   O(n^-3)`` from the series of ``log(1 + x)`` and the cumulants of a mean) and
   :func:`derive_gaussian_chi_square` (``chi2`` between two normal densities, finite
   if and only if ``2 s_q^2 > s_p^2``).
2. The soft Q target and ``J_Q`` (:func:`softq_ref.soft_q_target`,
   :func:`softq_ref.soft_q_loss`): :func:`derive_semi_gradient`, for a tabular
   ``Q``: the gradient with the target held fixed is ``-d (T Q_bar - Q)``, the
   gradient through the target adds ``gamma P pi`` terms, and the expected
   semi-gradient update ``Q + eta d (T Q - Q)`` has ``T Q = Q`` as its fixed
   point and contracts by ``1 - eta d (1 - gamma)``.
3. SVGD (Liu & Wang, "Stein Variational Gradient Descent", NeurIPS 2016;
   :func:`softq_ref.continuous.svgd`): :func:`derive_kl_derivative` (the derivative of
   ``KL(T_eps # q || p)`` along ``T_eps(x) = x + eps phi(x)`` is
   ``-E_q[phi (log p)' + phi']``, Liu & Wang, Theorem 3.1) and
   :func:`derive_svgd_direction` (for phi in the RKHS of the Gaussian kernel
   this derivative is ``-<phi, phi*>_H``, so ``phi*`` is the steepest-descent
   direction, along which the KL falls at the rate ``||phi*||_H^2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from softq_ref.symbolic._common import require, require_zero

__all__ = [
    "ImportanceWeights",
    "derive_importance_weights",
    "check_importance_weights",
    "BiasExpansion",
    "derive_bias_expansion",
    "check_bias_expansion",
    "GaussianChiSquare",
    "derive_gaussian_chi_square",
    "check_gaussian_chi_square",
    "SemiGradient",
    "derive_semi_gradient",
    "check_semi_gradient",
    "KLDerivative",
    "derive_kl_derivative",
    "check_kl_derivative",
    "SVGDDirection",
    "derive_svgd_direction",
    "check_svgd_direction",
]


# ---------------------------------------------------------------------------
# 1. The importance-sampled soft value


@dataclass(frozen=True)
class ImportanceWeights:
    r"""Importance weights of one state with ``A`` discrete actions.

    ``q`` is the proposal (``q_{A-1} = 1 - sum`` of the others), ``w_a = mu_a
    exp(Q_a/alpha) / q_a``, ``Z = sum_a mu_a exp(Q_a/alpha)``, ``policy`` the
    soft-greedy ``pi*_a = mu_a exp(Q_a/alpha) / Z``. Derived: ``expected_weight =
    E_q[w]``; ``weights_at_policy`` the ``w_a`` with ``q = pi*``; ``second_moment
    = E_q[(w/Z - 1)^2]``; ``one_sample_bias = E_q[alpha log w] - alpha log Z``
    (the bias of ``V_hat`` for ``n = 1``). Claimed: ``chi2 = sum_a pi*_a^2 / q_a - 1``
    and ``kl = KL(q || pi*) = sum_a q_a log(q_a / pi*_a)``.
    """

    alpha: sp.Symbol
    Q: tuple[sp.Symbol, ...]
    mu: tuple[sp.Symbol, ...]
    q: tuple[sp.Expr, ...]
    Z: sp.Expr
    w: tuple[sp.Expr, ...]
    policy: tuple[sp.Expr, ...]
    expected_weight: sp.Expr
    weights_at_policy: tuple[sp.Expr, ...]
    second_moment: sp.Expr
    chi2: sp.Expr
    one_sample_bias: sp.Expr
    kl: sp.Expr


def derive_importance_weights(actions: int = 3) -> ImportanceWeights:
    r"""Expectations of the importance weights under ``q``, by summing over the actions.

    Parameters
    ----------
    actions : int
        The number of actions.

    Returns
    -------
    ImportanceWeights
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_importance_weights(2)
    >>> check_importance_weights(d)  # silent when every step holds
    >>> d.w[0]
    mu_0*exp(Q_0/alpha)/q_0
    """
    alpha = sp.Symbol("alpha", positive=True)
    Q = tuple(sp.Symbol(f"Q_{a}", real=True) for a in range(actions))
    mu = tuple(sp.Symbol(f"mu_{a}", positive=True) for a in range(actions))
    free = [sp.Symbol(f"q_{a}", positive=True) for a in range(actions - 1)]
    q = (*free, 1 - sum(free))  # a probability vector
    e = tuple(m * sp.exp(x / alpha) for m, x in zip(mu, Q, strict=True))
    Z = sum(e)
    w = tuple(ea / qa for ea, qa in zip(e, q, strict=True))
    policy = tuple(ea / Z for ea in e)
    expected_weight = sum(qa * wa for qa, wa in zip(q, w, strict=True))
    at_policy = tuple(wa.subs(dict(zip(q[:-1], policy[:-1], strict=True))) for wa in w)
    # with q_{A-1} = 1 - sum q: substituting the first A-1 entries makes the last one pi*_{A-1}
    second = sum(qa * (wa / Z - 1) ** 2 for qa, wa in zip(q, w, strict=True))
    chi2 = sum(p**2 / qa for p, qa in zip(policy, q, strict=True)) - 1
    one_sample = sum(qa * alpha * sp.log(wa) for qa, wa in zip(q, w, strict=True))
    one_sample -= alpha * sp.log(Z)
    kl = sum(qa * sp.log(qa / p) for qa, p in zip(q, policy, strict=True))
    return ImportanceWeights(
        alpha, Q, mu, q, Z, w, policy, expected_weight, at_policy, second, chi2, one_sample, kl
    )


def check_importance_weights(d: ImportanceWeights) -> None:
    r"""Raise unless the four facts of the importance weights hold symbolically.

    Parameters
    ----------
    d : ImportanceWeights
        The derivation to check (a :class:`ImportanceWeights`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    ``E_q[w] = Z`` (so ``Z_hat`` is unbiased); ``w_a = Z`` for every ``a`` when
    ``q = pi*`` (so ``V_hat = V`` for every sample); ``E_q[(w/Z - 1)^2] =
    chi2(pi* || q)``; ``E_q[alpha log w] - alpha log Z = -alpha KL(q || pi*)``
    (Jensen's gap for ``n = 1``, ``<= 0``). Example: see :func:`derive_importance_weights`.
    """
    require_zero(d.expected_weight - d.Z, "E_q[w] is not Z: Z_hat would be biased")
    for a, wa in enumerate(d.weights_at_policy):
        require_zero(wa - d.Z, f"with q = pi*, the weight of action {a} is not Z")
    require_zero(d.second_moment - d.chi2, "E_q[(w/Z - 1)^2] is not chi2(pi* || q)")
    gap = sp.expand_log(d.one_sample_bias + d.alpha * d.kl, force=True)
    require_zero(gap, "the one-sample bias is not -alpha KL(q || pi*)")


@dataclass(frozen=True)
class BiasExpansion:
    r"""``E[log(1 + X)]`` for the mean ``X = (1/n) sum xi_i`` of i.i.d. ``xi``, ``E xi = 0``.

    ``xi = w/Z - 1``, so ``Z_hat / Z = 1 + X`` and ``E[V_hat] - V = alpha E[log(1 + X)]``.
    ``sigma2 = E xi^2 = chi2(pi* || q)``, ``kappa[k]`` the ``k``-th cumulant of ``xi``
    (``kappa[2] = sigma2``). ``moments[j] = E[X^j]``, from the cumulants ``kappa_k /
    n^(k-1)`` of ``X`` through the series of the moment generating function;
    ``log_series`` is ``log(1 + x)`` to ``x^order_x``; ``expansion`` is
    ``sum_j c_j E[X^j]`` in powers of ``epsilon = 1/n``; ``coefficients[k]`` its
    coefficient of ``epsilon^k`` for ``k <= order``; ``leading_powers[j]`` the lowest
    power of ``epsilon`` in ``E[X^j]`` (``None`` for ``E[X] = 0``).
    """

    n: sp.Symbol
    epsilon: sp.Symbol
    sigma2: sp.Symbol
    kappa: dict[int, sp.Expr]
    order: int
    moments: dict[int, sp.Expr]
    log_series: sp.Expr
    expansion: sp.Expr
    coefficients: dict[int, sp.Expr]
    leading_powers: dict[int, int | None]


def derive_bias_expansion(order: int = 2) -> BiasExpansion:
    r"""Expand ``E[log(1 + X)]`` in ``1/n`` to ``order`` with sympy's ``series``.

    Parameters
    ----------
    order : int
        The order of the expansion in ``1/n``.

    Returns
    -------
    BiasExpansion
        The steps of the derivation (see the class).

    Notes
    -----
    A product of cumulants ``kappa_{k_1} ... kappa_{k_r}`` in ``E[X^j]`` (``sum k =
    j``, every ``k >= 2``) carries ``n^-(j - r)`` and ``r <= j/2``, so ``E[X^j] =
    O(n^-ceil(j/2))``: the terms ``j <= 2 order`` of the log series give every
    coefficient up to ``n^-order``; the moments up to ``j = 2 order + 2`` are
    computed to check that the next ones start at ``n^-(order+1)``.

    Examples
    --------
    >>> d = derive_bias_expansion()
    >>> d.coefficients[1]
    -sigma2/2
    """
    n = sp.Symbol("n", positive=True)
    epsilon = sp.Symbol("epsilon", positive=True)
    t, x = sp.symbols("t x")
    sigma2 = sp.Symbol("sigma2", positive=True)
    top = 2 * order + 2
    kappa: dict[int, sp.Expr] = {2: sigma2}
    kappa.update({k: sp.Symbol(f"kappa_{k}", real=True) for k in range(3, top + 1)})
    # cumulant generating function of X = mean of n i.i.d. copies of xi (E xi = 0)
    cgf = sum(kappa[k] * t**k / (sp.factorial(k) * n ** (k - 1)) for k in range(2, top + 1))
    mgf = sp.series(sp.exp(cgf), t, 0, top + 1).removeO()
    moments = {j: sp.expand(sp.factorial(j) * mgf.coeff(t, j)) for j in range(1, top + 1)}
    log_series = sp.series(sp.log(1 + x), x, 0, 2 * order + 1).removeO()
    expansion = sp.expand(
        sum(log_series.coeff(x, j) * moments[j] for j in range(1, 2 * order + 1)).subs(
            n, 1 / epsilon
        )
    )
    coefficients = {k: sp.factor(expansion.coeff(epsilon, k)) for k in range(0, order + 1)}
    leading: dict[int, int | None] = {}
    for j, m in moments.items():
        e = sp.expand(m.subs(n, 1 / epsilon))
        leading[j] = None if e == 0 else min(sp.Poly(e, epsilon).monoms())[0]
    return BiasExpansion(
        n, epsilon, sigma2, kappa, order, moments, log_series, expansion, coefficients, leading
    )


def check_bias_expansion(d: BiasExpansion) -> None:
    r"""Raise unless ``E log(1 + X) = -sigma2/(2n) + (kappa_3/3 - 3 sigma2^2/4)/n^2 + ...``.

    Parameters
    ----------
    d : BiasExpansion
        The derivation to check (a :class:`BiasExpansion`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    Also checks the premises: ``E X = 0``, ``E X^2 = sigma2 / n``, the log series
    is the Taylor series of ``log(1 + x)``, and ``E X^j = O(n^-ceil(j/2))`` for every
    computed ``j``, so that the dropped terms (``j > 2 order``) start at ``n^-(order+1)``.

    Examples
    --------
    >>> check_bias_expansion(derive_bias_expansion())
    """
    require(d.moments[1] == 0, "E[X] is not 0: the mean of centred variables")
    require_zero(d.moments[2] - d.sigma2 / d.n, "E[X^2] is not sigma2 / n")
    x = d.log_series.free_symbols.pop()
    for j in range(1, 2 * d.order + 1):
        require_zero(
            d.log_series.coeff(x, j) - sp.Integer(-1) ** (j + 1) / j,
            f"the x^{j} coefficient of the log series is not (-1)^(j+1)/j",
        )
    for j, p in d.leading_powers.items():
        if j > 1:
            require(p == (j + 1) // 2, f"E[X^{j}] is not of order n^-{(j + 1) // 2}")
    require(
        all(p >= d.order + 1 for j, p in d.leading_powers.items() if j > 2 * d.order and p),
        "a dropped term of the log series contributes at the retained orders",
    )
    require_zero(d.coefficients[0], "E log(1 + X) has an n-independent term")
    require_zero(d.coefficients[1] + d.sigma2 / 2, "the 1/n coefficient is not -chi2/2")
    if d.order >= 2:
        c2 = d.kappa[3] / 3 - 3 * d.sigma2**2 / 4
        require_zero(d.coefficients[2] - c2, "the 1/n^2 coefficient is not kappa_3/3 - 3 chi2^2/4")


@dataclass(frozen=True)
class GaussianChiSquare:
    r"""``chi2(N(m_p, s_p^2) || N(m_q, s_q^2)) = int p^2/q - 1`` with ``s_q^2 = s_p^2/2 + delta``.

    ``p^2 / q = exp(-A a^2 + B a + C)``; ``A`` is derived (it is ``delta /
    (s_p^2 s_q^2)``, positive exactly when ``delta > 0``, i.e. ``2 s_q^2 > s_p^2``: the
    condition for a finite ``chi2``). ``gauss_integral`` is sympy's ``int exp(-A a^2 + B
    a) da`` for ``A > 0``; ``integral`` the result with the coefficients substituted;
    ``claimed = s_q^2 / (s_p sqrt(2 s_q^2 - s_p^2)) exp((m_p - m_q)^2 / (2 s_q^2 - s_p^2))``.
    """

    m_p: sp.Symbol
    m_q: sp.Symbol
    s_p: sp.Symbol
    delta: sp.Symbol
    s_q: sp.Expr
    A: sp.Expr
    gauss_integral: sp.Expr
    integral: sp.Expr
    claimed: sp.Expr
    chi2: sp.Expr


def derive_gaussian_chi_square() -> GaussianChiSquare:
    r"""Integrate ``p^2 / q`` for two normal densities.

    Returns
    -------
    GaussianChiSquare
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_gaussian_chi_square()
    >>> check_gaussian_chi_square(d)
    >>> sp.factor(d.A)
    2*delta/(s_p**2*(2*delta + s_p**2))
    """
    a = sp.Symbol("a", real=True)
    m_p, m_q = sp.symbols("m_p m_q", real=True)
    s_p, delta = sp.symbols("s_p delta", positive=True)
    s_q = sp.sqrt(s_p**2 / 2 + delta)
    A_, B_ = sp.Symbol("A", positive=True), sp.Symbol("B", real=True)
    gauss = sp.simplify(sp.integrate(sp.exp(-A_ * a**2 + B_ * a), (a, -sp.oo, sp.oo)))

    def log_pdf(m: sp.Expr, s: sp.Expr) -> sp.Expr:
        return -((a - m) ** 2) / (2 * s**2) - sp.log(2 * sp.pi * s**2) / 2

    exponent = sp.Poly(sp.expand(2 * log_pdf(m_p, s_p) - log_pdf(m_q, s_q)), a)
    A = -exponent.coeff_monomial(a**2)
    B = exponent.coeff_monomial(a)
    C = exponent.coeff_monomial(1)
    integral = sp.exp(C) * gauss.subs({A_: A, B_: B})
    v = 2 * s_q**2 - s_p**2
    claimed = s_q**2 / (s_p * sp.sqrt(v)) * sp.exp((m_p - m_q) ** 2 / v)
    return GaussianChiSquare(m_p, m_q, s_p, delta, s_q, A, gauss, integral, claimed, claimed - 1)


def check_gaussian_chi_square(d: GaussianChiSquare) -> None:
    r"""Raise unless sympy's Gaussian integral and ``int p^2/q`` are the claimed closed forms.

    Parameters
    ----------
    d : GaussianChiSquare
        The derivation to check (a :class:`GaussianChiSquare`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    Example: see :func:`derive_gaussian_chi_square`.
    """
    A_, B_ = sp.Symbol("A", positive=True), sp.Symbol("B", real=True)
    require_zero(
        d.gauss_integral - sp.sqrt(sp.pi / A_) * sp.exp(B_**2 / (4 * A_)),
        "int exp(-A a^2 + B a) da is not sqrt(pi/A) exp(B^2/(4A))",
    )
    require_zero(
        d.A - d.delta / (d.s_p**2 * d.s_q**2), "the a^2 coefficient is not -delta/(s_p^2 s_q^2)"
    )
    require_zero(
        sp.expand_log(sp.log(d.integral) - sp.log(d.claimed), force=True),
        "int p^2/q is not s_q^2/(s_p sqrt(2 s_q^2 - s_p^2)) exp((m_p - m_q)^2/(2 s_q^2 - s_p^2))",
    )


# ---------------------------------------------------------------------------
# 2. The soft Q target and J_Q


@dataclass(frozen=True)
class SemiGradient:
    r"""``J_Q`` of a tabular ``Q = theta`` with the target built from ``theta_bar``.

    ``J = sum_{s,a} d[s,a] (target[s,a] - theta[s,a])^2 / 2``, ``target = R + gamma P
    V_{theta_bar}`` (the exact expectation over ``s'``; ``d > 0`` the sampling
    weights), counting measure. Derived: ``grad_fixed`` (``dJ/dtheta`` with
    ``theta_bar`` a separate symbol), ``grad_through`` (``d/dtheta`` of ``J`` with
    ``theta_bar = theta`` substituted first), ``update_jacobian`` of the expected
    semi-gradient update ``U(theta) = theta - eta grad_fixed|_{theta_bar = theta}``
    (entries flattened row-major).
    """

    alpha: sp.Symbol
    gamma: sp.Symbol
    eta: sp.Symbol
    theta: sp.Matrix
    theta_bar: sp.Matrix
    R: sp.Matrix
    d: sp.Matrix
    P: dict[tuple[int, int, int], sp.Expr]
    target_bar: sp.Matrix
    target: sp.Matrix
    policy: sp.Matrix
    J: sp.Expr
    grad_fixed: sp.Matrix
    grad_through: sp.Matrix
    update: sp.Matrix
    update_jacobian: sp.Matrix


def derive_semi_gradient(states: int = 2, actions: int = 2) -> SemiGradient:
    r"""Differentiate ``J_Q`` with the target held fixed and through the target.

    Parameters
    ----------
    states : int
        The number of states.
    actions : int
        The number of actions.

    Returns
    -------
    SemiGradient
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_semi_gradient(1, 2)
    >>> check_semi_gradient(d)
    """
    S, A = states, actions
    alpha, gamma, eta = sp.symbols("alpha gamma eta", positive=True)
    theta = sp.Matrix(S, A, lambda s, a: sp.Symbol(f"theta_{s}{a}", real=True))
    theta_bar = sp.Matrix(S, A, lambda s, a: sp.Symbol(f"thetabar_{s}{a}", real=True))
    R = sp.Matrix(S, A, lambda s, a: sp.Symbol(f"r_{s}{a}", real=True))
    d = sp.Matrix(S, A, lambda s, a: sp.Symbol(f"d_{s}{a}", positive=True))
    P: dict[tuple[int, int, int], sp.Expr] = {}
    for s in range(S):
        for a in range(A):
            free = [sp.Symbol(f"p_{s}{a}{t}", positive=True) for t in range(S - 1)]
            for t, p in enumerate((*free, 1 - sum(free))):
                P[s, a, t] = p  # rows sum to 1

    def V(M: sp.Matrix, s: int) -> sp.Expr:
        return alpha * sp.log(sum(sp.exp(M[s, b] / alpha) for b in range(A)))

    def target(M: sp.Matrix) -> sp.Matrix:
        return sp.Matrix(
            S, A, lambda s, a: R[s, a] + gamma * sum(P[s, a, t] * V(M, t) for t in range(S))
        )

    def pi(M: sp.Matrix) -> sp.Matrix:
        return sp.Matrix(
            S,
            A,
            lambda s, b: sp.exp(M[s, b] / alpha) / sum(sp.exp(M[s, c] / alpha) for c in range(A)),
        )

    target_bar = target(theta_bar)
    J = sum(d[s, a] * (target_bar[s, a] - theta[s, a]) ** 2 / 2 for s in range(S) for a in range(A))
    grad_fixed = sp.Matrix(S, A, lambda s, a: sp.diff(J, theta[s, a]))
    same = dict(zip(theta_bar, theta, strict=True))
    J_same = J.subs(same)
    grad_through = sp.Matrix(S, A, lambda s, a: sp.diff(J_same, theta[s, a]))
    update = theta - eta * grad_fixed.subs(same)
    flat = list(update)
    jac = sp.Matrix([[sp.diff(u, v) for v in theta] for u in flat])
    return SemiGradient(
        alpha, gamma, eta, theta, theta_bar, R, d, P, target_bar, target(theta), pi(theta),
        J, grad_fixed, grad_through, update, jac,
    )  # fmt: skip


def check_semi_gradient(g: SemiGradient) -> None:
    r"""Raise unless the gradient facts of ``J_Q`` hold symbolically.

    Parameters
    ----------
    g : SemiGradient
        The derivation to check (a :class:`SemiGradient`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    * with the target fixed, ``dJ/dtheta = -d (T theta_bar - theta)``: the
      semi-gradient that soft Q-learning follows;
    * through the target, ``dJ/dtheta[t, b]`` gains ``gamma sum_{s,a} d[s,a]
      (T theta - theta)[s,a] P[s,a,t] pi(b|t)`` (the gradient of ``V`` is ``pi``);
    * the expected update is ``U(theta) = theta + eta d (T theta - theta)``, so
      ``U(theta) = theta`` iff ``T theta = theta`` (``eta d > 0``): the soft Bellman
      fixed point;
    * each row of ``dU/dtheta`` sums to ``1 - eta d (1 - gamma)`` (its entries are
      ``>= 0`` when ``eta d <= 1``): ``U`` is a sup-norm contraction.

    Example: see :func:`derive_semi_gradient`.
    """
    S, A = g.theta.shape
    semi = -g.d.multiply_elementwise(g.target_bar - g.theta)
    require_zero(g.grad_fixed - semi, "dJ/dtheta with the target fixed is not -d (T Q_bar - Q)")
    residual = g.target - g.theta
    extra = sp.Matrix(
        S,
        A,
        lambda t, b: (
            -sum(
                g.d[s, a] * residual[s, a] * g.gamma * g.P[s, a, t] * g.policy[t, b]
                for s in range(S)
                for a in range(A)
            )
        ),
    )
    same = dict(zip(g.theta_bar, g.theta, strict=True))
    require_zero(
        g.grad_through - semi.subs(same) + extra,
        "the gradient through the target is not the semi-gradient plus the gamma P pi term",
    )
    require_zero(
        g.update - g.theta - g.eta * g.d.multiply_elementwise(residual),
        "the expected update is not theta + eta d (T theta - theta)",
    )
    dflat = list(g.d)
    for i in range(S * A):
        require_zero(
            sum(g.update_jacobian.row(i)) - (1 - g.eta * dflat[i] * (1 - g.gamma)),
            f"row {i} of dU/dtheta does not sum to 1 - eta d (1 - gamma)",
        )


# ---------------------------------------------------------------------------
# 3. SVGD


@dataclass(frozen=True)
class KLDerivative:
    r"""``KL(T_eps # q || p)`` along ``T_eps(x) = x + eps phi(x)``, written over ``x ~ q``.

    The density of ``T_eps # q`` at ``T_eps(x)`` is ``q(x) / T_eps'(x)`` (``T_eps`` is
    increasing for small ``eps``), so ``KL = E_q[log q(x) - log T_eps'(x) - log
    p(T_eps(x))]``; ``integrand`` is the bracket and ``derivative`` sympy's
    ``d/d eps`` of it at ``eps = 0``.
    """

    x: sp.Symbol
    epsilon: sp.Symbol
    log_p: sp.Function
    log_q: sp.Function
    phi: sp.Function
    integrand: sp.Expr
    derivative: sp.Expr


def derive_kl_derivative() -> KLDerivative:
    r"""Differentiate the KL integrand along the perturbation, for unknown ``p``, ``q``, ``phi``.

    Returns
    -------
    KLDerivative
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_kl_derivative()
    >>> check_kl_derivative(d)
    >>> d.derivative
    -phi(x)*Derivative(log_p(x), x) - Derivative(phi(x), x)
    """
    x, eps = sp.symbols("x epsilon", real=True)
    log_p, log_q, phi = sp.Function("log_p"), sp.Function("log_q"), sp.Function("phi")
    T = x + eps * phi(x)
    integrand = log_q(x) - sp.log(sp.diff(T, x)) - log_p(T)
    derivative = sp.diff(integrand, eps).subs(eps, 0).doit()
    return KLDerivative(x, eps, log_p, log_q, phi, integrand, derivative)


def check_kl_derivative(d: KLDerivative) -> None:
    r"""Raise unless ``d/d eps KL = -E_q[phi (log p)' + phi']`` pointwise (Liu & Wang, Theorem 3.1).

    Parameters
    ----------
    d : KLDerivative
        The derivation to check (a :class:`KLDerivative`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    Example: see :func:`derive_kl_derivative`.
    """
    x = d.x
    stein = d.phi(x) * sp.diff(d.log_p(x), x) + sp.diff(d.phi(x), x)
    require_zero(d.derivative + stein, "d/d eps of the KL integrand is not -(phi (log p)' + phi')")


@dataclass(frozen=True)
class SVGDDirection:
    r"""The KL derivative in the RKHS of ``k(x, y) = exp(-(x - y)^2 / h)``, ``q`` empirical.

    ``q`` puts mass ``1/n`` on the particles ``x_j`` with scores ``g_j = (log
    p)'(x_j)``. ``direction`` is ``phi*(z) = (1/n) sum_j [k(x_j, z) g_j + d/dx_j k(x_j,
    z)]`` as derived with sympy's ``diff``; ``package_form`` the same with ``d/dx_j k(x_j, z)
    = -2 (x_j - z)/h k(x_j, z)`` written out, as ``softq_ref.continuous.svgd`` computes it. For a
    test function ``phi_c = sum_m c_m k(y_m, .)``: ``rate_test = D(phi_c)``, the KL
    derivative ``-(1/n) sum_j [g_j phi(x_j) + phi'(x_j)]``, and ``inner_test =
    <phi_c, phi*>_H = sum_m c_m phi*(y_m)`` (reproducing property); ``rate_direction
    = D(phi*)`` and ``norm2 = ||phi*||_H^2 = (1/n^2) sum_{i,j} [g_i g_j k + g_i d_2 k +
    g_j d_1 k + d_1 d_2 k](x_i, x_j)``; ``stein_kernel(u, v)`` is that bracket (the Stein
    kernel) with the real symbols ``g_u``, ``g_v`` standing for the scores at ``u`` and ``v``.
    """

    h: sp.Symbol
    z: sp.Symbol
    particles: tuple[sp.Symbol, ...]
    scores: tuple[sp.Symbol, ...]
    kernel: sp.Lambda
    term: sp.Lambda
    direction: sp.Expr
    package_form: sp.Expr
    rate_test: sp.Expr
    inner_test: sp.Expr
    rate_direction: sp.Expr
    norm2: sp.Expr
    stein_kernel: sp.Lambda


def derive_svgd_direction(particles: int = 2, centres: int = 2) -> SVGDDirection:
    r"""Build ``phi*`` and the KL derivative along kernel test functions, Gaussian kernel, 1-D.

    Parameters
    ----------
    particles : int
        The number of particles.
    centres : int
        The number of kernel centres.

    Returns
    -------
    SVGDDirection
        The steps of the derivation (see the class).

    Examples
    --------
    >>> d = derive_svgd_direction(2, 1)
    >>> check_svgd_direction(d)
    """
    n = particles
    h = sp.Symbol("h", positive=True)
    z, u, v = sp.symbols("z u v", real=True)
    xs = sp.symbols(f"x_1:{n + 1}", real=True)
    gs = sp.symbols(f"g_1:{n + 1}", real=True)
    ys = sp.symbols(f"y_1:{centres + 1}", real=True)
    cs = sp.symbols(f"c_1:{centres + 1}", real=True)
    kernel = sp.Lambda((u, v), sp.exp(-((u - v) ** 2) / h))
    g_u, g_v = sp.symbols("g_u g_v", real=True)
    term = sp.Lambda((u, g_u, v), kernel(u, v) * g_u + sp.diff(kernel(u, v), u))
    direction = sum(term(x, g, z) for x, g in zip(xs, gs, strict=True)) / n
    package_form = (
        sum(kernel(x, z) * g - 2 * (x - z) / h * kernel(x, z) for x, g in zip(xs, gs, strict=True))
        / n
    )

    def rate(f: sp.Expr) -> sp.Expr:  # d/d eps KL(T_eps # q || p), q empirical
        return (
            -sum(g * f.subs(z, x) + sp.diff(f, z).subs(z, x) for x, g in zip(xs, gs, strict=True))
            / n
        )

    test = sum(c * kernel(y, z) for c, y in zip(cs, ys, strict=True))
    inner = sum(c * direction.subs(z, y) for c, y in zip(cs, ys, strict=True))
    k_uv = kernel(u, v)
    stein = sp.Lambda(
        (u, v),
        g_u * g_v * k_uv + g_u * sp.diff(k_uv, v) + g_v * sp.diff(k_uv, u) + sp.diff(k_uv, u, v),
    )
    norm2 = (
        sum(
            stein(xs[i], xs[j]).subs({g_u: gs[i], g_v: gs[j]}, simultaneous=True)
            for i in range(n)
            for j in range(n)
        )
        / n**2
    )
    return SVGDDirection(
        h, z, xs, gs, kernel, term, direction, package_form, rate(test), inner, rate(direction), norm2,
        stein,
    )  # fmt: skip


def check_svgd_direction(d: SVGDDirection) -> None:
    r"""Raise unless ``phi*`` is the steepest-descent direction of the KL in the RKHS.

    Parameters
    ----------
    d : SVGDDirection
        The derivation to check (a :class:`SVGDDirection`).

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    * ``D(phi) = -<phi, phi*>_H`` for every kernel test function ``phi``: by
      Cauchy-Schwarz the KL falls fastest, per unit of RKHS norm, along ``phi*``;
    * ``D(phi*) = -||phi*||_H^2 <= 0``: along ``phi*`` the KL falls at the rate of the
      squared kernelized Stein discrepancy;
    * the derived ``phi*`` is the package's formula ``(1/n) sum_j [k(x_j, z) g_j - 2
      (x_j - z)/h k(x_j, z)]``.

    Example: see :func:`derive_svgd_direction`.
    """
    require_zero(d.rate_test + d.inner_test, "the KL derivative along phi is not -<phi, phi*>_H")
    require_zero(d.rate_direction + d.norm2, "the KL derivative along phi* is not -||phi*||_H^2")
    require_zero(d.direction - d.package_form, "phi* is not the package's SVGD direction")
