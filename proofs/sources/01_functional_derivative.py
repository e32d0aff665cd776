"""Source of ``proofs/01_functional_derivative.ipynb`` (build: ``python proofs/build_notebooks.py 01``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 01 · The entropy-regularised maximum: a functional derivative and the Gibbs density

Every soft value in `softq_ref` rests on one optimisation problem: over probability
densities (or probability vectors) $q$, maximise

$$\mathcal F[q] = \int q(x) f(x)\,dx \;-\; \lambda \int q(x)\log q(x)\,dx ,$$

a payoff $f$ in expectation plus $\lambda > 0$ times the entropy of $q$. This notebook proves,
with sympy doing each step, that

1. the functional derivative of $\mathcal F$ is $f - \lambda(\log q + 1)$;
2. with a Lagrange multiplier $\nu$ for $\int q = 1$, the only stationary point is the Gibbs
   density $q^* = e^{f/\lambda}/Z$, $Z = \int e^{f/\lambda}$, and $\nu = \lambda(\log Z - 1)$;
3. the maximum is $\mathcal F[q^*] = \lambda \log Z = \lambda\log\int e^{f/\lambda}$;
4. the second variation is $-\lambda\int \eta^2/q < 0$, so $q^*$ is a maximum (and, $\mathcal F$
   being strictly concave, the only one).

It does so for densities on an interval (calculus of variations), for the simplex in $n = 2,
\dots, 5$ dimensions, and for a symbolic $n$. Then it checks the results numerically against
the package.

**How this is used.** With $x$ an action $a$, $f = Q(s,\cdot)$ and $\lambda = \alpha$, item 3 is the
soft value $V(s) = \alpha\log\sum_a \exp(Q(s,a)/\alpha)$ and item 2 the soft-greedy policy
$\pi(a\mid s) = \exp((Q(s,a) - V(s))/\alpha)$ of Haarnoja et al. (2017), "Reinforcement Learning
with Deep Energy-Based Policies", Theorems 1 and 2. The conventions are those of [conventions,
section 1](../docs/conventions.md#1-the-mathematics): the reference measure $\mu$ defaults to counting measure (the integral over actions
is a sum), the entropy counted in $V^\pi(s)$ is that of the current step, and $\alpha = 0$ is the
hard maximum. With a prior $\mu$ the entropy becomes $-\mathrm{KL}(q\,\|\,\mu)$ and the same
steps give $q^* \propto \mu\,e^{f/\lambda}$ (checked at the end). The code lives in
`softq_ref.symbolic.gibbs`; `tests/symbolic/test_symbolic_gibbs.py` runs the same derivations."""
    ),
    SETUP,
    code(
        """import numpy as np
import sympy as sp
from IPython.display import display

from softq_ref.symbolic.gibbs import (
    check_continuous_gibbs,
    check_discrete_gibbs,
    check_gibbs_symbolic_n,
    derive_continuous_gibbs,
    derive_discrete_gibbs,
    derive_gibbs_symbolic_n,
)"""
    ),
    md(
        r"""## 1. The functional derivative

For a functional of the form $J[q] = \int F(q(x), x)\,dx$, perturb $q$ in an arbitrary
direction $\eta$ (a test function) and expand in the step size $\varepsilon$:

$$J[q + \varepsilon\eta] = J[q] + \varepsilon\int \frac{\partial F}{\partial q}(q(x), x)\,\eta(x)\,dx
  + \frac{\varepsilon^2}{2}\int \frac{\partial^2 F}{\partial q^2}\,\eta^2\,dx + O(\varepsilon^3).$$

The function multiplying $\eta$ in the first-order term is the functional derivative,
$\delta J/\delta q(x) = \partial F/\partial q$; the quadratic term is the second variation. For
$\mathcal F$ the integrand is $F(q, x) = q f(x) - \lambda q\log q$. Sympy does the
perturbation literally (differentiate $F(q + \varepsilon\eta)$ in $\varepsilon$ at $0$) and,
separately, forms the Euler–Lagrange equation of $F - \nu q$ with `euler_equations`:"""
    ),
    code(
        """c = derive_continuous_gibbs()
display(sp.Eq(sp.Symbol("F"), c.integrand))
display(sp.Eq(sp.Symbol(r"\\delta_1"), c.first_variation))  # d/d eps at eps = 0
display(sp.Eq(sp.Symbol(r"\\delta_2"), c.second_variation))  # d^2/d eps^2 at eps = 0
c.euler_lagrange"""
    ),
    md(
        r"""So $\delta\mathcal F/\delta q = f - \lambda(\log q + 1)$: the expectation term contributes
$f$ and the entropy term $-\lambda(\log q + 1)$. The second variation, per point, is
$-\lambda\eta^2/q$; integrated, $-\lambda\int\eta^2/q < 0$ for every $\eta \ne 0$ (as $q > 0$).

## 2. The stationary density and the multiplier

The Euler–Lagrange equation $f - \lambda(\log q + 1) - \nu = 0$ is solved pointwise for $q$:"""
    ),
    code(
        """display(sp.Eq(c.q, c.stationary))
c.maximiser"""
    ),
    md(
        r"""The stationary density is $e^{(f - \nu)/\lambda - 1} = e^{-1-\nu/\lambda}\,e^{f/\lambda}$: the
constant factor is fixed by $\int q = 1$, i.e. $e^{-1-\nu/\lambda} Z = 1$, so
$\nu = \lambda(\log Z - 1)$ and $q^* = e^{f/\lambda}/Z$ (displayed above, $Z$ a positive
symbol standing for $\int e^{f/\lambda}dx$). At $q^*$, $\log q^* = f/\lambda - \log Z$, and the
integrand of $\mathcal F$ collapses:"""
    ),
    code(
        """display(sp.Eq(sp.Symbol("F^*"), c.maximum_integrand))
c.maximum"""
    ),
    md(
        r"""The $f$ terms cancel, $\lambda\log Z\cdot e^{f/\lambda}/Z$ is left, and its integral is
$\lambda \log Z$. The check function asserts every displayed step (and the sign of the second
variation) and raises `DerivationError` if one is off:"""
    ),
    code(
        """check_continuous_gibbs(c)
print("continuous case: every step checked")"""
    ),
    md(
        r"""## 3. The simplex in $n$ dimensions

For $n$ outcomes the integral is a sum and the problem is
$\max_q \sum_i q_i f_i - \lambda\sum_i q_i\log q_i$ subject to $\sum_i q_i = 1$ (the
constraint $q_i \ge 0$ never binds: the gradient of $-q\log q$ is $+\infty$ at $0$). Here
sympy works with $n$ separate symbols. For $n = 3$, each step:"""
    ),
    code(
        """d3 = derive_discrete_gibbs(3)
display(sp.Eq(sp.Symbol(r"\\mathcal{F}"), d3.objective))
display(sp.Matrix(d3.gradient).T)  # the gradient in q
display(sp.Matrix(d3.stationary).T)  # gradient_i = nu, solved for q_i
display(sp.Eq(d3.nu, d3.multiplier))  # from sum_i q_i = 1
display(sp.Matrix(d3.maximiser).T)
display(sp.Eq(sp.Symbol(r"\\mathcal{F}^*"), d3.maximum))
d3.hessian"""
    ),
    md(
        r"""The Hessian is $\mathrm{diag}(-\lambda/q_i)$: negative definite at every interior point, so
$\mathcal F$ is strictly concave on the simplex and its one stationary point is its unique
maximum. The same derivation and its checks for $n = 2, \dots, 5$:"""
    ),
    code(
        """for n in range(2, 6):
    d = derive_discrete_gibbs(n)
    check_discrete_gibbs(d)
    print(f"n = {n}: gradient, multiplier, maximiser, maximum lambda log Z, Hessian < 0: checked")"""
    ),
    md(
        r"""**Machine-checked in Coq.** The discrete maximum, with a reference measure $\mu \ge 0$ in
place of the counting measure (so $-\lambda\sum_i q_i\log q_i$ becomes $-\lambda\,\mathrm{KL}(q\,\|\,\mu)$),
is proven for every $n$ and every distribution $q \ll \mu$ (the others have
$\mathrm{KL} = +\infty$), without derivatives: `proofs/coq/Gibbs.v`, theorem `gibbs_variational`
(from `gibbs_upper`, `gibbs_distribution`, `gibbs_attains` and `gibbs_unique`). The maximum is
$\lambda\log\sum_i\mu_i e^{f_i/\lambda}$ (`lse`), attained at the Gibbs density (`gibbs`) and
only there:

```coq
Definition objective (alpha : R) (mu x pi : nat -> R) : R :=
  fsum n (fun a => pi a * x a) - alpha * KL pi mu.

Definition gibbs (alpha : R) (mu x : nat -> R) (a : nat) : R :=
  mu a * exp ((x a - lse n alpha mu x) / alpha).

Corollary gibbs_variational alpha mu x :
  0 < alpha -> measure n mu ->
  (forall pi, distribution pi -> abs_cont pi mu ->
     objective alpha mu x pi <= lse n alpha mu x) /\
  distribution (gibbs alpha mu x) /\ abs_cont (gibbs alpha mu x) mu /\
  objective alpha mu x (gibbs alpha mu x) = lse n alpha mu x /\
  (forall pi, distribution pi -> abs_cont pi mu ->
     objective alpha mu x pi = lse n alpha mu x ->
     forall a, (a < n)%nat -> pi a = gibbs alpha mu x a).
```

See `proofs/README.md` for the list of machine-checked theorems and how to check them."""
    ),
    md(
        r"""## 4. A symbolic number of outcomes

Sympy can also keep $n$ symbolic, with indexed symbols $q_i$, $f_i$ under a `Sum`.
Differentiating $\sum_{i=1}^n(q_i f_i - \lambda q_i\log q_i)$ in $q_k$ produces a Kronecker delta
under the sum; for $1 \le k \le n$ it leaves $f_k - \lambda(\log q_k + 1)$. Below, $S$ is a
positive symbol standing for $\sum_{i=1}^n e^{f_i/\lambda}$: the normalisation factors as
$e^{-1-\nu/\lambda}\,S = 1$ because constant factors leave the sum."""
    ),
    code(
        """s = derive_gibbs_symbolic_n()
display(sp.Eq(sp.Symbol(r"\\mathcal{F}"), s.objective))
display(sp.Eq(sp.Symbol(r"\\partial_{q_k}\\mathcal{F}"), s.gradient))
display(sp.Eq(s.q[s.k], s.stationary))
display(sp.Eq(sp.Sum(s.q[s.i], (s.i, 1, s.n)), s.normalisation))
display(sp.Eq(s.nu, s.multiplier))
display(sp.Eq(s.q[s.k], s.maximiser))
display(sp.Eq(sp.Symbol(r"\\mathcal{F}^*"), s.maximum))
display(sp.Eq(sp.Symbol(r"\\delta_1"), s.first_variation))
display(sp.Eq(sp.Symbol(r"\\delta_2"), s.second_variation))
check_gibbs_symbolic_n(s)
print("symbolic n: every step checked")"""
    ),
    md(
        r"""The second variation $-\lambda\sum_i \eta_i^2/q_i$ is negative for every direction
$\eta \neq 0$, in particular for the directions $\sum_i\eta_i = 0$ that stay on the simplex.

## 5. Checks against the package

The derived maximum $\lambda\log\sum_i e^{f_i/\lambda}$ must be `softq_ref.soft_value(f, lam)`
and the maximiser must be `softq_ref.soft_policy(f, lam)`. The derived formulas are evaluated
with mpmath at 50 digits on the exact binary values of the inputs; the float64 kernel is
allowed its a-priori rounding bound `softq_ref.float64.bounds.lse_allowance` for the value and
$(n + 8)\,\varepsilon_{\rm mach}$ per entry for the policy (the bound derived in
`tests/test_logsumexp.py`). Payoffs up to $10^3$ and temperatures from $10^{-3}$ to $10^3$ are
covered, so $e^{f/\lambda}$ reaches $e^{10^6}$ (mpmath has no overflow)."""
    ),
    code(
        """import mpmath
from mpmath import mp

from softq_ref import soft_policy, soft_value
from softq_ref.float64.bounds import lse_allowance

EPS = 2.0**-52
maximum = sp.lambdify((*d3.f, d3.lam), d3.maximum, modules="mpmath")
maximiser = sp.lambdify((*d3.f, d3.lam), list(d3.maximiser), modules="mpmath")

rng = np.random.default_rng(1)
worst_v, worst_p = 0.0, 0.0
for _ in range(200):
    f = rng.uniform(-1e3, 1e3, 3) * 10.0 ** rng.integers(-3, 1)
    lam = 10.0 ** rng.uniform(-3, 3)
    v, pi = float(soft_value(f, lam)), soft_policy(f, lam)
    allowance = float(lse_allowance(f[None, :], np.array([v]), lam, None, 2.0**-53)[0])
    with mp.workdps(50):
        args = [mp.mpf(float(x)) for x in f] + [mp.mpf(lam)]
        err_v = abs(v - maximum(*args))
        err_p = max(abs(pi[i] - qi) for i, qi in enumerate(maximiser(*args)))
    assert err_v <= allowance, (f, lam, err_v, allowance)
    assert err_p <= (3 + 8) * EPS, (f, lam, err_p)
    worst_v, worst_p = max(worst_v, float(err_v / allowance)), max(worst_p, float(err_p))
print(f"200 random (f, lambda): |soft_value - lambda log Z| <= {worst_v:.3f} x allowance")
print(f"                        |soft_policy - exp(f/lambda)/Z| <= {worst_p:.2e} (bound {11 * EPS:.2e})")"""
    ),
    md(
        r"""**Nothing beats the Gibbs point.** Evaluate the objective at 20 000 random points of the
simplex (uniform, plus points near the vertices and near $q^*$) and maximise it with a
general-purpose constrained optimiser (SciPy's SLSQP, started at the uniform distribution):
no point exceeds `soft_value`, and the optimiser converges to `soft_policy`. The gap at each
random point is exactly $\lambda\,\mathrm{KL}(p\,\|\,q^*)$ (notebook 02 proves this identity);
it is checked here in float64 within a rounding margin of $10^{-12}$ (the values are of
order 10 and each sum has three terms)."""
    ),
    code(
        """from scipy.optimize import minimize
from scipy.special import entr, rel_entr

f, lam = np.array([1.0, 2.5, -0.5]), 0.7
v, pi = float(soft_value(f, lam)), soft_policy(f, lam)


def objective(p):
    return p @ f + lam * entr(p).sum()  # entr(p) = -p log p, and 0 at p = 0


points = np.concatenate(
    [
        rng.dirichlet(np.ones(3), 10_000),
        rng.dirichlet(np.full(3, 0.05), 5_000),  # near the vertices and edges
        rng.dirichlet(200 * pi, 5_000),  # near q*
    ]
)
values = points @ f + lam * entr(points).sum(axis=1)
gaps = v - values
kl = rel_entr(points, pi).sum(axis=1)
print(f"max over 20000 points: {values.max():.15f}   soft_value: {v:.15f}")
assert values.max() <= v + 1e-12
assert np.abs(gaps - lam * kl).max() <= 1e-12

res = minimize(
    lambda p: -objective(p),
    np.full(3, 1 / 3),
    method="SLSQP",
    bounds=[(0.0, 1.0)] * 3,
    constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1}],
    options={"ftol": 1e-15, "maxiter": 200},
)
print("SLSQP:", res.x, -res.fun, "  soft_policy:", pi)
assert res.success and -res.fun <= v + 1e-12
# Near the maximum F drops quadratically, F(p) = V - lam KL(p || q*) ~ V - lam |p - q*|^2 / 2,
# so an optimiser stopped at ftol = 1e-15 is within about sqrt(2e-15 / lam) of q*.
assert np.abs(res.x - pi).max() <= 1e-6 and v - (-res.fun) <= 1e-12"""
    ),
    md(
        r"""**With a prior.** Replacing the entropy by $-\mathrm{KL}(q\,\|\,\mu)$, i.e. maximising
$\sum_i q_i f_i - \lambda\sum_i q_i\log(q_i/\mu_i)$, adds $\lambda\log\mu_i$ to the payoff: the same
derivation with $f_i + \lambda\log\mu_i$ gives $q^* \propto \mu_i e^{f_i/\lambda}$ and the maximum
$\lambda\log\sum_i\mu_i e^{f_i/\lambda}$, which is `soft_value(f, lam, prior=mu)` ([conventions, section 1](../docs/conventions.md#1-the-mathematics))."""
    ),
    code(
        """mu = np.array([0.2, 0.3, 0.5])
v_mu, pi_mu = float(soft_value(f, lam, mu)), soft_policy(f, lam, mu)
log_mu = np.log(mu)[None, :]
allowance = float(lse_allowance(f[None, :], np.array([v_mu]), lam, log_mu, 2.0**-53)[0])
with mp.workdps(50):
    args = [mp.mpf(float(x)) + lam * mp.log(mp.mpf(float(m))) for x, m in zip(f, mu, strict=True)]
    exact_v = maximum(*args, mp.mpf(lam))
    exact_p = maximiser(*args, mp.mpf(lam))
print("soft_value with prior:", v_mu, "  derived:", mpmath.nstr(exact_v, 17))
assert abs(v_mu - exact_v) <= allowance
assert max(abs(pi_mu[i] - exact_p[i]) for i in range(3)) <= 11 * EPS
kl_points = rng.dirichlet(np.ones(3), 5_000)
values_mu = kl_points @ f - lam * rel_entr(kl_points, mu).sum(axis=1)
assert values_mu.max() <= v_mu + 1e-12"""
    ),
    md(
        r"""**The continuous case.** Take $f(x) = \sin 3x + x/2$ on $[0, 2]$ and $\lambda = 1/2$. The
derived maximum $\lambda\log\int_0^2 e^{f/\lambda}dx$ (one mpmath quadrature) must equal the
package's `softq_ref.continuous.continuous_soft_value` (its own adaptive quadrature, with
an error estimate), and $\mathcal F[q^*]$, computed by quadrature from the definition of
$\mathcal F$, must equal it too. Perturbing $q^*$ along $\eta = q^*(\cos x - \mathbb E_{q^*}\cos)$,
which keeps $\int q = 1$, lowers $\mathcal F$, and the second difference in $\varepsilon$
matches the derived second variation $-\lambda\int\eta^2/q^*$."""
    ),
    code(
        """from softq_ref.continuous import continuous_soft_value

lam_c, lo, hi = 0.5, 0.0, 2.0


def f_c(x):
    return mpmath.sin(3 * x) + x / 2


with mp.workdps(30):
    Z = mpmath.quad(lambda x: mpmath.exp(f_c(x) / lam_c), [lo, 0.5, 1.0, 1.5, hi])
    derived = lam_c * mpmath.log(Z)
    ref = continuous_soft_value(f_c, lam_c, lo, hi, digits=20)

    def qstar(x):
        return mpmath.exp(f_c(x) / lam_c) / Z

    def F(q):
        return mpmath.quad(lambda x: q(x) * f_c(x) - lam_c * q(x) * mpmath.log(q(x)), [lo, 1, hi])

    F_star = F(qstar)
    Ecos = mpmath.quad(lambda x: qstar(x) * mpmath.cos(x), [lo, 1, hi])

    def eta(x):
        return qstar(x) * (mpmath.cos(x) - Ecos)

    def F_eps(e):
        return F(lambda x: qstar(x) + e * eta(x))

    h = mpmath.mpf("1e-5")
    second = (F_eps(-h) - 2 * F_star + F_eps(h)) / h**2
    predicted = -lam_c * mpmath.quad(lambda x: eta(x) ** 2 / qstar(x), [lo, 1, hi])
    print("lambda log Z          ", mpmath.nstr(derived, 20))
    print("continuous_soft_value ", ref, " (error estimate", mpmath.nstr(ref.error_estimate, 2), ")")
    print("F[q*] by quadrature   ", mpmath.nstr(F_star, 20))
    for e in ("0.5", "0.1", "-0.1", "1e-3"):
        print(f"F[q* + {e:>4} eta] - F[q*] =", mpmath.nstr(F_eps(mpmath.mpf(e)) - F_star, 5))
        assert F_eps(mpmath.mpf(e)) < F_star
    print("second difference", mpmath.nstr(second, 12), " derived", mpmath.nstr(predicted, 12))
    assert abs(ref.value - derived) <= ref.error_estimate + mpmath.mpf(10) ** -25
    assert abs(F_star - derived) <= mpmath.mpf(10) ** -25
    # truncation of the second difference: h^2 |F''''| / 12, about 1e-11 relative here
    assert abs(second - predicted) <= mpmath.mpf(10) ** -8 * abs(predicted)"""
    ),
    md(
        r"""## Summary

* $\delta\mathcal F/\delta q = f - \lambda(\log q + 1)$; second variation $-\lambda\int\eta^2/q < 0$.
* The maximiser under $\int q = 1$ is $q^* = e^{f/\lambda}/Z$, with multiplier
  $\nu = \lambda(\log Z - 1)$; the maximum is $\lambda\log Z$. Shown for densities, for the simplex
  with $n = 2, \dots, 5$, and for a symbolic $n$.
* With $f = Q(s,\cdot)$, $\lambda = \alpha$: the soft value and the soft-greedy policy of Haarnoja
  et al. (2017), Theorems 1–2, which `soft_value` and `soft_policy` compute to within their
  rounding bounds; nothing on the simplex beats them, the gap being $\lambda\,\mathrm{KL}$.

Every claim above is asserted in this notebook; notebook 02 continues with the properties of
$\lambda\log\sum e^{f/\lambda}$ itself."""
    ),
]
