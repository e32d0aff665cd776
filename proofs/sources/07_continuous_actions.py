"""Source of ``proofs/07_continuous_actions.ipynb`` (``python proofs/build_notebooks.py 07``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 07 · Continuous actions: a quadratic $Q$ gives a Gaussian policy

With a continuous action $a \in \mathbb R$ the sum over actions becomes an integral, and the
soft value and policy of Haarnoja et al. (2017), Theorems 1 and 2, read

$$V = \alpha\log\int \mu(a)\, e^{Q(a)/\alpha}\,da, \qquad \pi^*(a) = \mu(a)\, e^{(Q(a) - V)/\alpha},$$

with the Lebesgue measure $\mu = 1$ unless stated otherwise (then the entropy is the
differential entropy). For a concave quadratic

$$Q(a) = -\tfrac{k}{2}(a - m)^2 + c, \qquad k > 0,$$

this notebook derives with sympy that $V = c + \frac{\alpha}{2}\log\frac{2\pi\alpha}{k}$ and that
$\pi^*$ is the Gaussian $\mathcal N(m, \alpha/k)$: the temperature sets the variance, the
curvature of $Q$ divides it. Two variants follow (an interval of actions, a Gaussian prior),
and every formula is checked against `softq_ref.continuous`. This is the one-dimensional case;
notebook 08 does $d$ dimensions (covariance $\alpha K^{-1}$) and maximum-entropy LQR."""
    ),
    SETUP,
    code(
        """import mpmath
import sympy as sp
from IPython.display import Math

from softq_ref.continuous import (
    box_quadratic_soft_value,
    continuous_soft_policy,
    continuous_soft_value,
    gaussian_prior_soft_policy,
    quadratic_soft_policy,
    quadratic_soft_value,
)
from softq_ref.symbolic.gaussian import (
    check_box,
    check_gaussian,
    check_gaussian_prior,
    derive_box,
    derive_gaussian,
    derive_gaussian_prior,
)"""
    ),
    md(
        r"""## 1. The integral and the Gaussian policy

Sympy integrates $e^{Q/\alpha}$ over the real line, then checks that $\alpha\log Z$ is the claimed
$V$, that $e^{(Q - V)/\alpha}$ is the $\mathcal N(m, \alpha/k)$ density, and computes the
policy's mass, mean, variance and differential entropy by integration:"""
    ),
    code(
        """d = derive_gaussian()
check_gaussian(d)  # raises DerivationError if any step fails
display(Math(r"\\int_{-\\infty}^{\\infty} e^{Q(a)/\\alpha}\\,da = " + sp.latex(d.Z)))
display(Math(r"V = \\alpha \\log Z = " + sp.latex(d.V_claimed)))
display(Math(r"\\pi^*(a) = e^{(Q(a) - V)/\\alpha} = " + sp.latex(d.normal_density)))
display(Math(r"\\int \\pi^* = " + sp.latex(d.total) + r",\\quad \\mathbb E[a] = " + sp.latex(d.mean)
             + r",\\quad \\mathrm{Var}[a] = " + sp.latex(d.variance)))  # fmt: skip
display(Math(r"H(\\pi^*) = " + sp.latex(d.entropy)))"""
    ),
    md(
        r"""`check_gaussian` also verifies the Gibbs identity of notebook 01 in this setting:
$\mathbb E_{\pi^*}[Q] + \alpha H(\pi^*) = \big(c - \tfrac{\alpha}{2}\big) + \tfrac{\alpha}{2}\log(2\pi e\,\alpha/k) = V$:
the expected $Q$ loses $\alpha/2$ to the spread of the policy, and the entropy pays it back
with interest.

As $\alpha \to 0$, $V \to c = \max Q$ (because $\alpha\log\alpha \to 0$) and the policy
concentrates on the maximiser $m$: the hard limit."""
    ),
    code(
        """assert sp.limit(d.V_claimed, d.alpha, 0, "+") == d.c
sp.Eq(sp.Limit(sp.Symbol("V"), d.alpha, 0, "+"), d.c)"""
    ),
    md(
        r"""### Numerical checks

For $k = 2.5$, $m = 0.7$, $c = -1.25$, $\alpha = 0.3$ (exact binary values of the doubles):
the sympy formula at 30 digits, the package's closed form `quadratic_soft_value` (30 digits,
mpmath) and float64 `quadratic_soft_policy`, and the package's quadrature
`continuous_soft_value` on $[m - 40\sigma, m + 40\sigma]$ (the mass outside is below
$e^{-800}$). The closed forms must agree to $10^{-28}$, float64 to $10^{-15}$ relative, the
quadrature within its own error estimate."""
    ),
    code(
        """kv, mv, cv, av = 2.5, 0.7, -1.25, 0.3


def Qf(x):
    return -mpmath.mpf(kv) / 2 * (x - mpmath.mpf(mv)) ** 2 + mpmath.mpf(cv)


exact_vals = {d.k: sp.Rational(kv), d.m: sp.Rational(mv), d.c: sp.Rational(cv), d.alpha: sp.Rational(av)}
V_sympy = d.V_claimed.xreplace(exact_vals).evalf(40)
sd = (av / kv) ** 0.5
with mpmath.workdps(40):
    V_sym = mpmath.mpf(str(V_sympy))
    V_closed = quadratic_soft_value([[kv]], [mv], cv, av, digits=30)
    quad = continuous_soft_value(Qf, av, mv - 40 * sd, mv + 40 * sd, digits=30)
    pol = quadratic_soft_policy([[kv]], [mv], cv, av)
    print("sympy     ", mpmath.nstr(V_sym, 30))
    print("closed    ", mpmath.nstr(V_closed, 30))
    print("quadrature", mpmath.nstr(quad.value, 30), " estimate", mpmath.nstr(quad.error_estimate, 3))
    print("float64   ", pol.value, " variance", pol.covariance[0, 0], " alpha/k", av / kv)
    assert abs(V_sym - V_closed) < mpmath.mpf(10) ** -28
    assert abs(V_sym - quad.value) <= quad.error_estimate + mpmath.mpf(10) ** -28
    assert abs(pol.value - V_sym) < 1e-15 * abs(V_sym)
    assert abs(pol.covariance[0, 0] - av / kv) < 1e-16 and pol.mean[0] == mv"""
    ),
    md(
        r"""The policy of the quadrature solver (`continuous_soft_policy`, normalised by its own
$V$, never told that $Q$ is quadratic) against the Gaussian density, and its variance by
quadrature:"""
    ),
    code(
        """lo, hi = mv - 40 * sd, mv + 40 * sd
pi_q = continuous_soft_policy(Qf, av, lo, hi, digits=25)
density = d.normal_density.xreplace(exact_vals)
with mpmath.workdps(30):
    for x in (0.0, 0.7, 1.1):
        gauss = mpmath.mpf(str(density.subs(d.a, sp.Rational(x)).evalf(35)))
        assert abs(pi_q(x) - gauss) < mpmath.mpf(10) ** -20
    var_q = mpmath.quad(lambda x: (x - mv) ** 2 * pi_q(x), [lo, mv, hi])
    print("variance by quadrature", mpmath.nstr(var_q, 20), "  alpha/k =", av / kv)
    assert abs(var_q - mpmath.mpf(av) / kv) < mpmath.mpf(10) ** -18"""
    ),
    md(
        r"""## 2. Variants

**Actions in an interval $[l, h]$.** Shifting to $u = a - m$, sympy gives error functions:
the policy is $\mathcal N(m, \alpha/k)$ truncated to $[l, h]$, and

$$V = c + \frac{\alpha}{2}\log\frac{2\pi\alpha}{k} + \alpha\log\big(\Phi(z_h) - \Phi(z_l)\big),
\qquad z_x = \frac{x - m}{\sqrt{\alpha/k}}.$$

The extra term is $\le 0$ and vanishes as the interval grows."""
    ),
    code(
        """b = derive_box()
check_box(b)
display(Math(r"\\int_l^h e^{Q/\\alpha}\\,da = " + sp.latex(b.Z)))
lv, hv = -0.2, 0.9  # an interval that cuts the Gaussian on both sides
box_vals = {**exact_vals, b.low: sp.Rational(lv), b.high: sp.Rational(hv)}
with mpmath.workdps(40):
    V_box = mpmath.mpf(str(b.V_claimed.xreplace(box_vals).evalf(40)))
    pkg = box_quadratic_soft_value(kv, mv, cv, av, lv, hv, digits=30)
    quad_box = continuous_soft_value(Qf, av, lv, hv, digits=30)
    print("sympy", mpmath.nstr(V_box, 25), " package", mpmath.nstr(pkg, 25))
    assert abs(V_box - pkg) < mpmath.mpf(10) ** -28
    assert abs(V_box - quad_box.value) <= quad_box.error_estimate + mpmath.mpf(10) ** -28"""
    ),
    md(
        r"""**A Gaussian reference measure** $\mu = \mathcal N(m_0, s_0^2)$ (a probability density: the
KL-regularised objective). The exponent of $\mu(a)e^{Q(a)/\alpha}$ is again a quadratic in $a$;
sympy integrates $e^{-A_2a^2 + A_1a + A_0}$ once for symbolic coefficients and substitutes.
The policy is Gaussian with precision $1/s_0^2 + k/\alpha$, i.e. variance
$\alpha/(k + \alpha/s_0^2)$, and

$$V = c - \frac{\alpha}{2}\Big[\log\Big(1 + \frac{k s_0^2}{\alpha}\Big) + \frac{(m - m_0)^2}{s_0^2 + \alpha/k}\Big] \le c.$$"""
    ),
    code(
        """gp = derive_gaussian_prior()
check_gaussian_prior(gp)
display(Math(r"V = " + sp.latex(gp.V_claimed)))
display(Math(r"\\mathrm{Var}[a] = " + sp.latex(sp.simplify(gp.variance))))
m0v, s0v = -0.5, 0.8
prior_vals = {**exact_vals, gp.m0: sp.Rational(m0v), gp.s0: sp.Rational(s0v)}
V_prior = float(gp.V_claimed.xreplace(prior_vals).evalf(30))
pkg_prior = gaussian_prior_soft_policy([[kv]], [mv], cv, av, [m0v], [[s0v**2]])
var_claim = float(gp.variance_claimed.xreplace(prior_vals))
mean_claim = float(gp.mean_claimed.xreplace(prior_vals))
print("V:", V_prior, pkg_prior.value, " mean:", mean_claim, pkg_prior.mean[0])
print("variance:", var_claim, pkg_prior.covariance[0, 0])
# float64 closed form: a few roundings of terms of size |c| + alpha * (log term) ~ 2
assert abs(V_prior - pkg_prior.value) < 1e-14
assert abs(mean_claim - pkg_prior.mean[0]) < 1e-15 and abs(var_claim - pkg_prior.covariance[0, 0]) < 1e-15

with mpmath.workdps(30):
    M0, S0 = mpmath.mpf(m0v), mpmath.mpf(s0v)
    quad_prior = continuous_soft_value(
        Qf, av, -12.0, 12.0, prior=lambda x: mpmath.npdf(x, M0, S0), digits=20
    )
    V_prior_30 = mpmath.mpf(str(gp.V_claimed.xreplace(prior_vals).evalf(30)))
    print("quadrature:", mpmath.nstr(quad_prior.value, 20), " closed form:", mpmath.nstr(V_prior_30, 20))
    assert abs(quad_prior.value - V_prior_30) <= quad_prior.error_estimate + mpmath.mpf(10) ** -25"""
    ),
    md(
        r"""(The interval $[-12, 12]$ holds all but about $e^{-60}$ of the prior's mass.)

## Summary

* $\int e^{Q/\alpha} = e^{c/\alpha}\sqrt{2\pi\alpha/k}$, so $V = c + \frac{\alpha}{2}\log\frac{2\pi\alpha}{k}$
  and $\pi^* = \mathcal N(m, \alpha/k)$; $V \to \max Q$ as $\alpha \to 0$.
* On an interval: the truncated Gaussian, $V$ in terms of $\Phi$; with a Gaussian prior
  $\mathcal N(m_0, s_0^2)$: a Gaussian policy with variance $\alpha/(k + \alpha/s_0^2)$.
* All checked against `softq_ref.continuous`: closed forms to 28 digits, quadrature within
  its error estimate.

The symbolic steps are in `softq_ref.symbolic.gaussian` (`tests/symbolic/test_symbolic_gaussian.py`);
the $d$-dimensional lemma and maximum-entropy LQR are in notebook 08."""
    ),
]
