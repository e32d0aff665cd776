"""Source of ``proofs/09_soft_q_learning.ipynb`` (build it with ``python proofs/build_notebooks.py 09``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 09 · Soft Q-learning: the estimators and SVGD

Notebooks 01–08 derive the soft Bellman equation and solve it when everything is known.
Haarnoja et al. (2017), Section 3.2, turn it into a learning algorithm with three pieces,
and this notebook derives what each of them does:

1. **The importance-sampled soft value.** With samples $a_1, \dots, a_n \sim q$ from a
   proposal $q$,
   $$\hat V = \alpha\log\hat Z, \qquad \hat Z = \frac1n\sum_{i=1}^n w_i, \qquad w = \frac{\mu\, e^{Q/\alpha}}{q},$$
   estimates $V = \alpha\log Z$, $Z = \int\mu\,e^{Q/\alpha}$. $\hat Z$ is unbiased, $\hat V$ is exact
   when $q = \pi^*$, biased downward otherwise, and
   $$\mathbb E[\hat V] - V = -\frac{\alpha\,\chi^2(\pi^*\,\|\,q)}{2n} + O(n^{-2}).$$
2. **The soft Q target and $J_Q$.** The gradient of
   $J_Q(\theta) = \mathbb E\big[\tfrac12(\hat Q_{\bar\theta} - Q_\theta)^2\big]$ with the target held
   fixed is the semi-gradient the algorithm follows; in the tabular case with exact
   expectations its fixed point is the soft Bellman fixed point $Q^*$.
3. **SVGD.** To sample from $\pi^* \propto e^{Q/\alpha}$ the paper moves particles along
   $\phi^*(x) = \mathbb E_{x'\sim q}\big[k(x', x)\,\nabla\log p(x') + \nabla_{x'}k(x', x)\big]$, the
   steepest-descent direction of $\mathrm{KL}(q\,\|\,p)$ in the kernel's RKHS (Liu & Wang,
   "Stein Variational Gradient Descent", NeurIPS 2016).

Each symbolic step is done by sympy in `softq_ref.symbolic.soft_q_learning`, whose `check_*`
functions raise `DerivationError` if a step does not hold; each numerical claim is checked
against the package's `importance_sampled_soft_value`, `soft_q_target`, `soft_q_loss`,
`svgd`, `continuous_soft_value` and `solve`. The conventions (reference measure $\mu$,
temperature $\alpha$, the soft value and policy) are those of `docs/conventions.md`. All Monte
Carlo runs use fixed seeds, so the stored outputs are reproduced exactly."""
    ),
    SETUP,
    code(
        r"""import io
import itertools
import math

import mpmath
import numpy as np
import sympy as sp
from IPython.display import Image, Math, display
from matplotlib.figure import Figure

import softq_ref as sq
from softq_ref.symbolic.soft_q_learning import (
    check_bias_expansion,
    check_gaussian_chi_square,
    check_importance_weights,
    check_kl_derivative,
    check_semi_gradient,
    check_svgd_direction,
    derive_bias_expansion,
    derive_gaussian_chi_square,
    derive_importance_weights,
    derive_kl_derivative,
    derive_semi_gradient,
    derive_svgd_direction,
)

eps = float(np.finfo(np.float64).eps)"""
    ),
    md(
        r"""## 1. The importance-sampled soft value

### 1.1 Unbiased $\hat Z$, exact at $q = \pi^*$, and the exact bias for one sample

For discrete actions with proposal probabilities $q_a > 0$ wherever $\mu_a > 0$:

* $\mathbb E_q[w] = \sum_a q_a\,\mu_a e^{Q_a/\alpha}/q_a = Z$, so $\mathbb E[\hat Z] = Z$ by linearity;
* with $q = \pi^* = \mu e^{Q/\alpha}/Z$ every weight equals $Z$, so $\hat V = V$ for every sample:
  zero variance;
* $\mathbb E_q[(w/Z - 1)^2] = \sum_a \pi^{*2}_a/q_a - 1 = \chi^2(\pi^*\,\|\,q)$, the relative variance
  of one weight;
* $\log$ is concave, so Jensen's inequality gives $\mathbb E\log\hat Z \le \log\mathbb E\hat Z = \log Z$:
  $\hat V$ is biased **downward**. For one sample the gap is exact:
  $\mathbb E_q[\alpha\log w] - \alpha\log Z = -\alpha\,\mathrm{KL}(q\,\|\,\pi^*) \le 0$, zero only if
  $q = \pi^*$.

Sympy proves the four statements for three actions with symbolic $Q$, $\mu$, $q$ and $\alpha$:"""
    ),
    code(
        r"""W = derive_importance_weights(3)
check_importance_weights(W)  # raises DerivationError if a step fails
display(Math(r"\mathbb E_q[w] = " + sp.latex(W.expected_weight) + " = Z"))
display(Math(r"w_0\big|_{q = \pi^*} = " + sp.latex(sp.cancel(W.weights_at_policy[0]))))
display(Math(r"\mathbb E_q[\alpha\log w] - \alpha\log Z = -\alpha\,\mathrm{KL}(q\,\|\,\pi^*) = "
             + sp.latex(-W.alpha * W.kl)))  # fmt: skip"""
    ),
    md(
        r"""**Check with the package's estimator** (`importance_sampled_soft_value`, which computes
$\hat V$ in log space) by exact enumeration over a discrete example: four actions, counting
measure, $\alpha = 1/2$, the uniform proposal. For $n = 1$ and $n = 2$ the
expectations over all $4^n$ sample tuples are sums, so no Monte Carlo is needed:
$\mathbb E[\hat Z/Z] = 1$, $\mathbb E[\hat V_1] - V = -\alpha\,\mathrm{KL}(q\,\|\,\pi^*)$, and with
$q = \pi^*$ every tuple gives $V$. The tolerances are a few float64 roundings of the terms
$Q_a - \alpha\log q_a$ that the estimator sums."""
    ),
    code(
        r"""Qd = np.array([0.8, 0.1, -0.4, 0.5])
alpha_d = 0.5
q_d = np.full(4, 0.25)
V_d = float(sq.soft_value(Qd, alpha_d))
pi_d = sq.soft_policy(Qd, alpha_d)
chi2_d = float(np.sum(pi_d**2 / q_d) - 1)
kl_d = float(np.sum(q_d * np.log(q_d / pi_d)))
print("pi* =", pi_d.round(4), "  q =", q_d, f"  chi2(pi*||q) = {chi2_d:.6f}  KL(q||pi*) = {kl_d:.6f}")

# the derived chi2 and KL, evaluated by sympy, against the package's policy
vals = {**dict(zip(W.Q, [0.4, 0.1, -0.3], strict=True)), **dict(zip(W.mu, [1, 1, 1], strict=True)), W.alpha: 0.5}
vals.update(dict(zip(W.q[:-1], [0.2, 0.5], strict=True)))
pi3 = sq.soft_policy([0.4, 0.1, -0.3], 0.5)
q3 = np.array([0.2, 0.5, 0.3])
assert abs(float(W.chi2.subs(vals)) - float(np.sum(pi3**2 / q3) - 1)) < 1e-14
assert abs(float(W.kl.subs(vals)) - float(np.sum(q3 * np.log(q3 / pi3)))) < 1e-14


def enumerate_tuples(Q, q, alpha, n):
    # every n-tuple of actions, its probability under q, and the package's estimate
    t = np.array(list(itertools.product(range(len(Q)), repeat=n)))
    return np.prod(q[t], axis=1), sq.importance_sampled_soft_value(Q[t], np.log(q[t]), alpha)


tol = 16 * eps * (np.abs(Qd).max() + alpha_d * np.abs(np.log(q_d)).max() + abs(V_d))
for n in (1, 2):
    p, est = enumerate_tuples(Qd, q_d, alpha_d, n)
    ratio = float(p @ np.exp((est - V_d) / alpha_d))
    bias = float(p @ est) - V_d
    print(f"n = {n}: E[Z_hat/Z] = {ratio:.16f}   E[V_hat] - V = {bias:+.6f}")
    assert abs(ratio - 1) <= tol / alpha_d and bias < 0
    if n == 1:
        assert abs(bias + alpha_d * kl_d) <= tol
p, est = enumerate_tuples(Qd, pi_d, alpha_d, 2)
print("q = pi*: max |V_hat - V| over all tuples =", float(np.abs(est - V_d).max()))
assert np.abs(est - V_d).max() <= tol"""
    ),
    md(
        r"""### 1.2 The bias to second order

Write $\xi_i = w_i/Z - 1$: independent, $\mathbb E\xi = 0$, $\mathbb E\xi^2 = \sigma^2 = \chi^2(\pi^*\,\|\,q)$,
cumulants $\kappa_k$. Then $\hat Z/Z = 1 + X$ with $X = \frac1n\sum_i\xi_i$, and

$$\mathbb E[\hat V] - V = \alpha\,\mathbb E\log(1 + X).$$

The cumulants of the mean $X$ are $\kappa_k/n^{k-1}$, so a product
$\kappa_{k_1}\cdots\kappa_{k_r}$ in $\mathbb E[X^j]$ ($\sum k = j$, each $k\ge2$, hence $r \le j/2$)
carries $n^{-(j - r)}$: $\mathbb E[X^j] = O(n^{-\lceil j/2\rceil})$. The terms up to $x^4$ of
$\log(1 + x) = x - x^2/2 + x^3/3 - x^4/4 + \dots$ therefore give every coefficient up to
$n^{-2}$. Sympy computes the moments of $X$ from its cumulant generating function, takes
the series of $\log(1 + x)$, and collects powers of $\varepsilon = 1/n$:"""
    ),
    code(
        r"""B = derive_bias_expansion(order=2)
check_bias_expansion(B)
for j in range(1, 7):
    display(Math(rf"\mathbb E[X^{j}] = " + sp.latex(B.moments[j])))
display(Math(r"\log(1+x) \approx " + sp.latex(B.log_series)))
c1_sym, c2_sym = B.coefficients[1], B.coefficients[2]
display(Math(r"\mathbb E\log(1+X) = " + sp.latex(c1_sym) + r"\,\frac1n + \left("
             + sp.latex(c2_sym) + r"\right)\frac1{n^2} + O(n^{-3})"))  # fmt: skip"""
    ),
    md(
        r"""So, with $\sigma^2 = \chi^2(\pi^*\,\|\,q)$ and $\kappa_3 = \mathbb E_q[(w/Z - 1)^3]$,

$$\mathbb E[\hat V] - V = -\frac{\alpha\,\chi^2(\pi^*\,\|\,q)}{2n}
+ \frac{\alpha\,(\kappa_3/3 - 3\chi^4/4)}{n^2} + O(n^{-3}).$$

**Conditions.** The expansion averages a Taylor series of $\log$ around 1, so it needs the
moments of $w/Z$ that it uses, and needs the event where $\hat Z/Z$ is far from 1 to contribute
negligibly. Sufficient: (i) $w$ is bounded (discrete actions with $q > 0$ wherever $\mu > 0$; or
a proposal with heavier tails than $\pi^*$), so every moment is finite and, by Hoeffding's
inequality, $|\hat Z/Z - 1| > \delta$ has probability $e^{-cn}$; and (ii)
$\mathbb E_q[(\log w)^2] < \infty$, which bounds $\log\hat Z \ge \log(w_1/n)$ on that rare event
(Cauchy–Schwarz), so it adds $O(e^{-cn/2}\log n)$. If $\chi^2(\pi^*\,\|\,q) = \infty$ (a proposal
with lighter tails than $\pi^*$), the leading term is infinite and the bias is not $O(1/n)$.

For normal densities the condition is explicit. Writing $s_q^2 = s_p^2/2 + \delta$, sympy
integrates $p^2/q = e^{-Aa^2 + Ba + C}$; the coefficient $A$ is positive exactly when
$\delta > 0$:"""
    ),
    code(
        r"""G = derive_gaussian_chi_square()
check_gaussian_chi_square(G)
display(Math(r"A = " + sp.latex(sp.factor(G.A)) + r" > 0 \iff 2 s_q^2 > s_p^2"))
sq2 = sp.Symbol("s_q", positive=True)
chi2_gauss = sp.simplify((G.claimed - 1).subs(G.delta, sq2**2 - G.s_p**2 / 2))
display(Math(r"\chi^2\big(\mathcal N(m_p, s_p^2)\,\|\,\mathcal N(m_q, s_q^2)\big) = " + sp.latex(chi2_gauss)))"""
    ),
    md(
        r"""### 1.3 Monte Carlo with the package's estimator

Two examples:

* **discrete**: the four actions and the uniform proposal above ($\chi^2 = 0.541$);
* **Gaussian**: $Q(a) = -\frac k2(a - 0.3)^2$ with $\alpha = 0.5$ and $k = \alpha/0.8^2$, so that
  $\pi^* = \mathcal N(0.3, 0.8^2)$ (notebook 07), Lebesgue measure, proposal
  $q = \mathcal N(-0.2, 1.2^2)$ ($2s_q^2 = 2.88 > s_p^2 = 0.64$). $V$ comes from the package's
  quadrature `continuous_soft_value`, $\chi^2$ from the closed form above (checked against
  mpmath quadrature), the cumulants $\kappa_3$, $\kappa_4$ of $w/Z - 1$ by quadrature.

**Measuring a bias of size $10^{-4}$.** The plain mean of $\hat V - V$ over $R$ runs has a
standard error $\approx \alpha\sqrt{\chi^2/(nR)}$, larger than the bias itself for large $n$. But
$\mathbb E[\hat Z/Z] = 1$ exactly (1.1), so with $D = \hat V - V$ and
$\hat Z/Z = e^{D/\alpha}$,
$$\mathbb E[D] = \mathbb E\big[D - \alpha\,(e^{D/\alpha} - 1)\big],$$
and the right-hand side, $\approx -\alpha X^2/2$, has a standard error proportional to the
bias. This control variate is what the plot and the fit use ($R = 8000$ runs per $n$)."""
    ),
    code(
        r"""NS = (16, 32, 64, 128, 256, 512)
REPS = 8000

# Gaussian example
alpha_g, m_p, s_p, m_q, s_q = 0.5, 0.3, 0.8, -0.2, 1.2
k_g = alpha_g / s_p**2
V_g = float(sq.continuous_soft_value(lambda a: -k_g / 2 * (a - m_p) ** 2, alpha_g, m_p - 40 * s_p, m_p + 40 * s_p, digits=20).value)
assert abs(V_g - alpha_g / 2 * math.log(2 * math.pi * s_p**2)) < 1e-15  # V = alpha log(sqrt(2 pi) s_p)
chi2_g = float(chi2_gauss.subs({G.m_p: sp.Rational(m_p), G.m_q: sp.Rational(m_q), G.s_p: sp.Rational(s_p), sq2: sp.Rational(s_q)}))
with mpmath.workdps(30):
    def weight_moment(j):  # int p^j q^(1-j) = E_q[(w/Z)^j]
        f = lambda a: mpmath.npdf(a, m_p, s_p) ** j / mpmath.npdf(a, m_q, s_q) ** (j - 1)  # noqa: E731
        return mpmath.quad(f, [-mpmath.inf, m_p, mpmath.inf])
    M2, M3, M4 = weight_moment(2), weight_moment(3), weight_moment(4)
    assert abs(M2 - 1 - chi2_g) < 1e-14  # closed form vs quadrature
    # cumulants of xi = w/Z - 1 from the moments of w/Z
    kappa3_g = float(M3 - 3 * M2 + 2)
    kappa4_g = float(M4 - 4 * M3 + 6 * M2 - 3 - 3 * (M2 - 1) ** 2)

# discrete example: the cumulants of xi = w/Z - 1 exactly
xi_d = np.exp((Qd - V_d) / alpha_d) / q_d - 1
kappa3_d = float(q_d @ xi_d**3)
kappa4_d = float(q_d @ xi_d**4) - 3 * chi2_d**2

# the n^-3 coefficient, from the expansion carried one order further
B3 = derive_bias_expansion(order=3)
check_bias_expansion(B3)
assert B3.coefficients[2] == B.coefficients[2]


def c3(chi2, kappa3, kappa4):
    return float(B3.coefficients[3].subs({B3.sigma2: chi2, B3.kappa[3]: kappa3, B3.kappa[4]: kappa4}))


def draw_discrete(rng, shape):
    a = rng.integers(0, 4, size=shape)  # uniform: q_d
    return Qd[a], np.log(q_d)[a]


def draw_gaussian(rng, shape):
    a = m_q + s_q * rng.standard_normal(shape)
    return -k_g / 2 * (a - m_p) ** 2, -0.5 * ((a - m_q) / s_q) ** 2 - math.log(s_q) - 0.5 * math.log(2 * math.pi)


def measure(draw, V, alpha, seed):
    # per n: plain mean of D = V_hat - V and its SE, control-variate mean and its SE
    rng = np.random.default_rng(seed)
    rows = []
    for n in NS:
        q_values, log_q = draw(rng, (REPS, n))
        D = sq.importance_sampled_soft_value(q_values, log_q, alpha) - V
        cv = D - alpha * np.expm1(D / alpha)
        rows.append((n, D.mean(), D.std(ddof=1) / math.sqrt(REPS), cv.mean(), cv.std(ddof=1) / math.sqrt(REPS)))
    return np.array(rows)


def fit_slope(ns, bias, se):
    # weighted least squares of log(-bias) on log n; SE(log(-b)) = SE(b)/|b| (delta method)
    x, y, w = np.log(ns), np.log(-bias), (bias / se) ** 2
    X = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * y)
    return float(beta[1]), float(math.sqrt(cov[1, 1]))


examples = {
    "discrete": (draw_discrete, V_d, alpha_d, chi2_d, kappa3_d, kappa4_d, 20261130),
    "Gaussian": (draw_gaussian, V_g, alpha_g, chi2_g, kappa3_g, kappa4_g, 20261201),
}
results = {}
for name, (draw, V, alpha, chi2, kappa3, kappa4, seed) in examples.items():
    rows = measure(draw, V, alpha, seed)
    ns, bias, se = rows[:, 0], rows[:, 3], rows[:, 4]
    c1, c2 = -alpha * chi2 / 2, alpha * (kappa3 / 3 - 3 * chi2**2 / 4)
    slope, slope_se = fit_slope(ns, bias, se)
    model_slope, _ = fit_slope(ns, c1 / ns + c2 / ns**2, se)
    model_slope3, _ = fit_slope(ns, c1 / ns + c2 / ns**2 + alpha * c3(chi2, kappa3, kappa4) / ns**3, se)
    results[name] = (rows, c1, c2, slope, slope_se, model_slope, model_slope3)
    print(f"{name}: alpha = {alpha}, chi2(pi*||q) = {chi2:.6f}, kappa_3 = {kappa3:.4f}, kappa_4 = {kappa4:.4f}")
    print("     n   plain mean (SE)       control variate (SE)   -alpha chi2/(2n)   two-term model")
    for n, m, s, b, bs in rows:
        print(f"  {int(n):4d}   {m:+.2e} ({s:.1e})    {b:+.4e} ({bs:.1e})   {c1 / n:+.4e}        {c1 / n + c2 / n**2:+.4e}")
    print(f"  fitted slope of log(-bias) on log n: {slope:.4f} +- {slope_se:.4f}   (model on the same n: two terms {model_slope:.4f}, three terms {model_slope3:.4f})")
    print(f"  n * bias at n = {int(ns[-1])}: {ns[-1] * bias[-1]:.4f} +- {ns[-1] * se[-1]:.4f}   (-alpha chi2/2 = {c1:.4f})")"""
    ),
    md(
        r"""**Checks.** (i) The bias is negative at every $n$, by more than 4 standard errors.
(ii) The fitted slope agrees with the slope of the two-term model on the same $n$ and
weights within 4 standard errors of the fit; the $n^{-3}$ term (its coefficient from the
expansion carried to third order) moves the model's slope by less than a quarter of a
standard error, so the two-term model is the right target at this resolution; and the
model's slope is $-1$ up to its $O(1/n)$ correction, at most $2|c_2/c_1|/n_{\min}$. (iii) $n\cdot\text{bias}$ at the largest $n$ is $-\alpha\chi^2/2$ within
4 standard errors plus the $c_2/n$ term. A one-sided 4-SE test has a false-alarm
probability of $3\cdot10^{-5}$; with the seeds fixed the outcome is reproducible."""
    ),
    code(
        r"""for name, (rows, c1, c2, slope, slope_se, model_slope, model_slope3) in results.items():
    ns, bias, se = rows[:, 0], rows[:, 3], rows[:, 4]
    assert np.all(bias + 4 * se < 0), name
    assert abs(slope - model_slope) <= 4 * slope_se, (name, slope, slope_se, model_slope)
    assert abs(model_slope3 - model_slope) < slope_se / 4, name
    assert abs(model_slope + 1) <= 2 * abs(c2 / c1) / ns[0], name
    assert abs(ns[-1] * bias[-1] - c1) <= 4 * ns[-1] * se[-1] + abs(c2) / ns[-1], name

fig = Figure(figsize=(7, 4.2))
ax = fig.subplots()
grid_n = np.geomspace(NS[0], NS[-1], 50)
for (name, (rows, c1, c2, slope, slope_se, *_)), colour in zip(results.items(), ["tab:blue", "tab:orange"], strict=True):
    ns, bias, se = rows[:, 0], rows[:, 3], rows[:, 4]
    ax.errorbar(ns, -bias, yerr=se, fmt="o", ms=4, color=colour, label=f"{name}: slope {slope:.3f} ± {slope_se:.3f}")
    ax.plot(grid_n, -c1 / grid_n, "-", lw=1, color=colour, label=name + r": predicted $\alpha\chi^2/(2n)$")
    ax.plot(grid_n, -(c1 / grid_n + c2 / grid_n**2), ":", lw=1.2, color=colour, label=name + ": two-term model")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks(NS, [str(n) for n in NS])
ax.set_xticks([], minor=True)
ax.set_xlabel("samples $n$")
ax.set_ylabel(r"$V - \mathbb{E}[\hat V]$")
ax.set_title("downward bias of the importance-sampled soft value")
ax.legend(fontsize=8)
ax.grid(alpha=0.3, which="both")
buf = io.BytesIO()
fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
Image(buf.getvalue())"""
    ),
    md(
        r"""## 2. The soft Q target and $J_Q$

The target $\hat Q_{\bar\theta}(s, a) = r + \gamma\,\mathbb E_{s'}[V_{\bar\theta}(s')]$ is built with a copy
$\bar\theta$ of the parameters, and $J_Q(\theta) = \mathbb E_{(s,a)\sim d}\big[\frac12(\hat Q_{\bar\theta} - Q_\theta)^2\big]$.
For a tabular $Q_\theta = \theta$ and the exact expectation over $s'$ (the target is then
$(T Q_{\bar\theta})(s, a)$), sympy differentiates $J_Q$ for two states and two actions:

* with $\bar\theta$ held fixed, $\nabla_\theta J_Q = -d\odot(T Q_{\bar\theta} - Q_\theta)$: the
  **semi-gradient**, what soft Q-learning follows;
* differentiating through the target as well adds
  $\gamma\sum_{s,a} d(s,a)\,(TQ - Q)(s,a)\,P(t\mid s,a)\,\pi(b\mid t)$ to component $(t, b)$ (the
  gradient of $V$ is $\pi$, notebook 02): the two are different;
* the expected semi-gradient step is $U(Q) = Q + \eta\, d\odot(TQ - Q)$; with $\eta d > 0$ its
  fixed points are exactly the solutions of $TQ = Q$, i.e. $Q^*$ (Theorem 2, notebook 03);
* each row of $\partial U/\partial Q$ sums to $1 - \eta d(1 - \gamma)$ and its entries are
  $\ge 0$ for $\eta d \le 1$, so $U$ contracts in the sup norm by $1 - \eta\,d_{\min}(1 - \gamma)$."""
    ),
    code(
        r"""Jq = derive_semi_gradient(2, 2)
check_semi_gradient(Jq)
display(Math(r"\frac{\partial J_Q}{\partial\theta_{00}}\Big|_{\bar\theta\ \mathrm{fixed}} = " + sp.latex(sp.factor(Jq.grad_fixed[0, 0]))))
display(Math(r"\sum_j \frac{\partial U_{00}}{\partial\theta_j} = " + sp.latex(sp.factor(sp.simplify(sum(Jq.update_jacobian.row(0)))))))"""
    ),
    md(
        r"""**Check with the package.** A random MDP (4 states, 3 actions, $\gamma = 0.9$, $\alpha = 0.5$,
seeded). A batch that holds every $(s, a)$ once is the expectation under uniform $d = 1/N$,
$N = 12$. (i) The gradient of the package's `soft_q_loss` in its `q_values` argument, by
central differences, is the semi-gradient $(Q - \text{target})/N$: the loss is quadratic, so
the central difference is exact up to rounding. (ii) Iterating the expected update with the
package's `soft_q_target` (exact expectation via `probabilities=P`) and step $\eta = N/2$
($\eta d = 1/2$, contraction factor $0.95$) converges to the `solve` solution. The bound is
the contraction's: $\|Q_k - Q^*\| \le \|TQ_k - Q_k\|/(1-\gamma)$, plus `solve`'s certified
`error_bound`, plus a named allowance `ROUNDING` for the float64 evaluation of
$TQ_k - Q_k$ (16 roundings of the largest term, divided by $1 - \gamma$)."""
    ),
    code(
        r"""rng = np.random.default_rng(9)
S, A, gamma, alpha = 4, 3, 0.9, 0.5
P = rng.dirichlet(np.ones(S), size=(S, A))
R = rng.normal(size=(S, A))
mdp = sq.FiniteMDP(P, R, gamma)
N = S * A


def expected_target(Q):
    V = sq.soft_value(Q, alpha)
    return sq.soft_q_target(R, np.broadcast_to(V, (S, A, S)), gamma, probabilities=P)


# (i) the package's J_Q has the semi-gradient (Q - target)/N in q_values
Q0 = rng.normal(size=(S, A))
t0 = expected_target(Q0)
h = 1e-3
fd = np.zeros((S, A))
for s, a in np.ndindex(S, A):
    e = np.zeros((S, A))
    e[s, a] = h
    fd[s, a] = (sq.soft_q_loss(t0, Q0 + e) - sq.soft_q_loss(t0, Q0 - e)) / (2 * h)
J0 = sq.soft_q_loss(t0, Q0)
# rounding only: each loss is a mean of N squares (relative error ~ N eps), and Q0 +- h
# rounds by an ulp of Q0, which moves the loss by that times |target - Q|; divided by h
fd_tol = 8 * N * eps * (J0 + np.abs(Q0).max() * np.abs(t0 - Q0).max() + h**2) / h
print(f"max |central difference - (Q - target)/N| = {np.abs(fd - (Q0 - t0) / N).max():.2e}  (allowed {fd_tol:.1e})")
assert np.abs(fd - (Q0 - t0) / N).max() <= fd_tol

# (ii) the expected semi-gradient update converges to the soft Bellman fixed point
eta = N / 2
Q = np.zeros((S, A))
iterations, residual = 0, math.inf
while residual >= 1e-13 and iterations < 2000:
    grad = (Q - expected_target(Q)) / N
    Q = Q - eta * grad
    residual = float(np.abs(expected_target(Q) - Q).max())
    iterations += 1
ref = sq.solve(mdp, alpha)
ROUNDING = 16 * eps * (np.abs(R).max() + gamma * np.abs(ref.V).max() + np.abs(Q).max()) / (1 - gamma)
err = float(np.abs(Q - ref.Q).max())
bound = residual / (1 - gamma) + ref.error_bound + ROUNDING
print(f"{iterations} expected updates: residual {residual:.1e}; |Q - Q*_solve| = {err:.1e} <= {bound:.1e}")
assert err <= bound"""
    ),
    md(
        r"""## 3. SVGD: sampling from $\pi^* \propto e^{Q/\alpha}$

### 3.1 The derivative of the KL along a perturbation

Move every point of $x \sim q$ to $T_\varepsilon(x) = x + \varepsilon\phi(x)$. For small $\varepsilon$, $T_\varepsilon$ is
increasing, and the pushed-forward density at $T_\varepsilon(x)$ is $q(x)/T'_\varepsilon(x)$, so

$$\mathrm{KL}(T_\varepsilon{}_\#q\,\|\,p) = \mathbb E_{x\sim q}\big[\log q(x) - \log T_\varepsilon'(x) - \log p(T_\varepsilon(x))\big].$$

Sympy differentiates the bracket at $\varepsilon = 0$ for unknown functions $\log p$, $\log q$,
$\phi$ (Liu & Wang 2016, Theorem 3.1):"""
    ),
    code(
        r"""K = derive_kl_derivative()
check_kl_derivative(K)
display(Math(r"\frac{d}{d\varepsilon}\Big|_0 [\dots] = " + sp.latex(K.derivative)))"""
    ),
    md(
        r"""So $\frac{d}{d\varepsilon}\mathrm{KL}\big|_0 = -\mathbb E_q\big[\phi(x)(\log p)'(x) + \phi'(x)\big]$, the
Stein operator of $p$ applied to $\phi$ (for $p = \pi^*$, $(\log p)' = Q'/\alpha$: no normaliser needed).

### 3.2 The steepest direction in the RKHS

Take $\phi$ in the RKHS $\mathcal H$ of the Gaussian kernel $k(x, y) = e^{-(x-y)^2/h}$. By the
reproducing property $\phi(x) = \langle\phi, k(x,\cdot)\rangle$ and
$\phi'(x) = \langle\phi, \partial_x k(x,\cdot)\rangle$, so the derivative is
$-\langle\phi, \phi^*\rangle_{\mathcal H}$ with

$$\phi^*(z) = \mathbb E_{x\sim q}\big[k(x, z)(\log p)'(x) + \partial_x k(x, z)\big],$$

and by Cauchy–Schwarz the KL falls fastest per unit of RKHS norm along $\phi^*$, at the rate
$\|\phi^*\|^2_{\mathcal H}$ (the squared kernelized Stein discrepancy). For an empirical $q$ on
particles $x_j$ with scores $g_j = (\log p)'(x_j)$, sympy checks, for two particles and
kernel test functions $\phi = c_1 k(y_1, \cdot) + c_2 k(y_2, \cdot)$, that the derivative is
$-\langle\phi, \phi^*\rangle$, that along $\phi^*$ it is $-\|\phi^*\|^2$ (inner products of kernel
sections and their derivatives: $\langle\partial_u k(u,\cdot), \partial_v k(v,\cdot)\rangle = \partial_u\partial_v k(u,v)$),
and that $\phi^*$ is the formula the package implements, with
$\partial_x k(x, z) = -\frac{2(x - z)}{h}k(x, z)$ (the repulsive term that keeps the particles
apart):"""
    ),
    code(
        r"""D = derive_svgd_direction(particles=2, centres=2)
check_svgd_direction(D)
display(Math(r"\phi^*(z) = " + sp.latex(D.package_form)))
u, v, z = sp.symbols("u v z", real=True)
g_u, g_v = sp.symbols("g_u g_v", real=True)
stein_bracket = sp.expand(sp.simplify(D.stein_kernel(u, v) / D.kernel(u, v)))
display(Math(r"u_p(u, v) = k(u, v)\left[" + sp.latex(stein_bracket) + r"\right]"))"""
    ),
    md(
        r"""### 3.3 The package's `svgd` against the derivation

Target: the bimodal $Q(a) = a^2 - a^4/4$ with $\alpha = 0.5$, so
$\pi^* \propto e^{Q/\alpha}$ has modes at $\pm\sqrt2$ and $(\log\pi^*)' = (2a - a^3)/\alpha$. $V$ and
$\mathbb E_{\pi^*}[a^2]$ come from the package's quadrature `continuous_soft_value` (on $[-6, 6]$;
the mass outside is below $e^{-570}$) and a trapezoid rule on 6001 points (whose total mass
is checked to be 1 within $10^{-12}$).

**One step.** `svgd(x, grad_log_p, step, 1)` is $x + \text{step}\cdot\phi^*(x)$ with the
median bandwidth $h = \mathrm{med}^2/\log n$ (Liu & Wang 2016, Section 5). The derived $\phi^*$,
lambdified from one particle's term, must match the step to the rounding of
$(x_{\text{new}} - x)/\text{step}$."""
    ),
    code(
        r"""alpha_s = 0.5


def Q_s(a):
    return a**2 - a**4 / 4


def score(a):  # (log pi*)' = Q'/alpha
    return (2 * a - a**3) / alpha_s


quad = sq.continuous_soft_value(lambda a: a**2 - a**4 / 4, alpha_s, -6.0, 6.0, digits=20)
V_s = float(quad.value)
grid = np.linspace(-6.0, 6.0, 6001)
pi_grid = np.exp((Q_s(grid) - V_s) / alpha_s)
assert abs(np.trapezoid(pi_grid, grid) - 1) < 1e-12
second_moment = float(np.trapezoid(grid**2 * pi_grid, grid))
print(f"V = {V_s:.15f} (quadrature, error estimate {float(quad.error_estimate):.0e});  E[a^2] = {second_moment:.6f}")

term = sp.lambdify((u, g_u, z, D.h), D.term(u, g_u, z), "numpy")  # k(u, z) g + d/du k(u, z)


def phi_star(x, h):
    return term(x[:, None], score(x)[:, None], x[None, :], h).mean(axis=0)


def median_bandwidth(x):
    i, j = np.triu_indices(len(x), k=1)
    return float(np.median(np.abs(x[i] - x[j]))) ** 2 / math.log(len(x))


x0 = np.random.default_rng(3).standard_normal(50)
step = 0.02
moved = sq.svgd(x0, score, step, 1)
gap = np.abs((moved - x0) / step - phi_star(x0, median_bandwidth(x0))).max()
step_tol = 2 * eps * np.abs(x0).max() / step + 16 * eps * np.abs(score(x0)).max()
print(f"max |(svgd step - x)/step - phi*(x)| = {gap:.1e}  (allowed {step_tol:.1e})")
assert gap <= step_tol"""
    ),
    md(
        r"""**Towards $\pi^*$.** From 100 standard-normal particles, the squared Stein discrepancy
$\|\phi^*\|^2_{\mathcal H}$ (the rate at which the KL falls, 3.2; computed with the derived Stein
kernel at a fixed $h = 1$ so that the values are comparable) must fall at every checkpoint,
and the second moment must approach $\mathbb E_{\pi^*}[a^2]$: within 1% after 800 steps (the
finite-particle fixed point of SVGD is not exactly $\pi^*$; `tests/continuous/test_svgd.py` measures
its deviation at 0.1% for a similar target, and here it is 0.2%). The mean is printed but not
tested: it keeps the initial imbalance between the two modes, because SVGD moves particles
across the low-density gap between them only slowly."""
    ),
    code(
        r"""stein = sp.lambdify((u, v, g_u, g_v, D.h), D.stein_kernel(u, v), "numpy")


def stein_discrepancy(x, h=1.0):
    g = score(x)
    return float(stein(x[:, None], x[None, :], g[:, None], g[None, :], h).mean())


x = np.random.default_rng(4).standard_normal(100)
done, ksd, m2 = 0, [], []
for target_steps in (0, 10, 50, 200, 800):
    x = sq.svgd(x, score, step, target_steps - done)
    done = target_steps
    ksd.append(stein_discrepancy(x))
    m2.append(float(np.mean(x**2)))
    print(f"{done:4d} steps: ||phi*||^2 = {ksd[-1]:.3e}   mean a^2 = {m2[-1]:.4f}   (pi*: {second_moment:.4f})   mean a = {x.mean():+.4f}")
assert all(b < a for a, b in itertools.pairwise(ksd))
assert abs(m2[-1] / second_moment - 1) < 0.01"""
    ),
    md(
        r"""**The soft value from the particles.** The particles have no density of their own, so the
estimate uses their kernel density estimate
$\hat q(a) = \frac1n\sum_j\mathcal N(a;\, x_j,\, b^2)$ (Silverman's bandwidth
$b = 1.06\,\hat\sigma\, n^{-1/5}$) as the proposal of section 1: draw $M = 2000$ actions from $\hat q$
and apply `importance_sampled_soft_value`. Section 1 says how good that is: the estimate
has standard deviation $\approx\alpha\sqrt{\chi^2(\pi^*\,\|\,\hat q)/M}$ and bias
$-\alpha\chi^2(\pi^*\,\|\,\hat q)/(2M)$. As the particles move towards $\pi^*$ and become more
numerous, $\hat q$ approaches $\pi^*$ and $\chi^2(\pi^*\,\|\,\hat q)$ (trapezoid rule on the grid)
falls, so the estimate closes in on the quadrature value: its standard deviation and its
bias both shrink with $\chi^2$. (Its error at one seed goes up and down within that band; what
falls deterministically is $\chi^2$. It does not reach 0 at a fixed $n$: the kernel smoothing
of $\hat q$ and the finite-particle fixed point of SVGD leave a floor that falls with $n$.) Checks: $\chi^2$ falls with the
steps for every $n$ and with $n$ after 800 steps, and every estimate is within 4 of its
standard deviations (plus the bias) of $V$."""
    ),
    code(
        r"""M = 2000


def kde_log_density(a, x, b):
    zz = (a[:, None] - x[None, :]) / b
    return np.logaddexp.reduce(-(zz**2) / 2, axis=1) - math.log(len(x) * b * math.sqrt(2 * math.pi))


table = {}
for n in (25, 50, 100, 200):
    x = np.random.default_rng(100 + n).standard_normal(n)
    done = 0
    for target_steps in (0, 50, 200, 800):
        x = sq.svgd(x, score, step, target_steps - done)
        done = target_steps
        b = 1.06 * x.std() * n**-0.2
        chi2 = float(np.trapezoid(pi_grid**2 / np.exp(kde_log_density(grid, x, b)), grid) - 1)
        draws = np.random.default_rng(7)
        a = x[draws.integers(0, n, M)] + b * draws.standard_normal(M)
        est = float(sq.importance_sampled_soft_value(Q_s(a), kde_log_density(a, x, b), alpha_s))
        table[n, done] = (chi2, est - V_s, alpha_s * math.sqrt(chi2 / M))
print("   n  steps   chi2(pi*||q_hat)   V_hat - V    predicted sd")
for (n, steps), (chi2, diff, sd) in table.items():
    print(f"{n:4d}  {steps:5d}   {chi2:12.4f}      {diff:+.5f}     {sd:.5f}")
for n in (25, 50, 100, 200):
    chis = [table[n, s][0] for s in (0, 50, 200, 800)]
    assert all(b < a for a, b in itertools.pairwise(chis)), n
assert all(table[n2, 800][0] < table[n1, 800][0] for n1, n2 in [(25, 50), (50, 100), (100, 200)])
for chi2, diff, sd in table.values():
    assert abs(diff) <= 4 * sd + alpha_s * chi2 / (2 * M)"""
    ),
    md(
        r"""## Summary

* **Importance-sampled soft value.** $\mathbb E_q[w] = Z$ (unbiased $\hat Z$); $w \equiv Z$ when
  $q = \pi^*$ (exact $\hat V$); Jensen makes $\hat V$ biased downward, by exactly
  $\alpha\,\mathrm{KL}(q\,\|\,\pi^*)$ for one sample and by
  $\alpha\chi^2(\pi^*\,\|\,q)/(2n) + O(n^{-2})$ in general (bounded weights with
  $\mathbb E_q(\log w)^2 < \infty$ suffice; for normal densities $\chi^2 < \infty$ iff $2s_q^2 > s_p^2$).
  The package's estimator shows the $1/n$ law on a discrete and a Gaussian example, with
  fitted log-log slopes printed above.
* **$J_Q$.** With the target held fixed its gradient is the semi-gradient $-d\odot(T\bar Q - Q)$;
  the expected tabular update contracts by $1 - \eta d(1-\gamma)$ to the soft Bellman fixed
  point, which agrees with `solve` within the stated bound.
* **SVGD.** The KL derivative along $x + \varepsilon\phi(x)$ is $-\mathbb E_q[\phi(\log p)' + \phi']$; in the
  Gaussian-kernel RKHS it is $-\langle\phi, \phi^*\rangle$, so $\phi^*$ is the steepest direction and
  the KL falls at rate $\|\phi^*\|^2$. The package's `svgd` step is exactly $\phi^*$; its particles
  lower the Stein discrepancy, match $\mathbb E_{\pi^*}[a^2]$, and as a proposal they give a soft
  value estimate that approaches the quadrature value as particles and steps grow.

The symbolic steps are in `softq_ref.symbolic.soft_q_learning`
(`tests/symbolic/test_symbolic_soft_q_learning.py`, which also tests one wrong step per derivation);
the statistics of the estimator are tested in `tests/continuous/test_learning.py`, the SVGD update in
`tests/continuous/test_svgd.py`."""
    ),
]
