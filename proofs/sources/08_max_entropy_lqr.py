"""Source of ``proofs/08_max_entropy_lqr.ipynb`` (build it with ``python proofs/build_notebooks.py 08``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 08 · Maximum-entropy LQR: the Gaussian soft value and the soft Riccati equation

This notebook derives the closed forms used by `softq_ref.continuous` (quadratic $Q$)
and `softq_ref.continuous.lqr` (entropy-regularised linear-quadratic control), then checks them
numerically. It ends with assertions that fail loudly if anything is off.

**Conventions** (those of `softq_ref.continuous.lqr`):

* actions $u \in \mathbb{R}^m$ with the Lebesgue reference measure, so the entropy is the
  differential entropy and the soft value of Haarnoja et al. (2017), Theorem 2, is
  $V(x) = \alpha \log \int \exp(Q(x,u)/\alpha)\,du$;
* dynamics $x' = A x + B u + w$, $w \sim \mathcal N(0, W)$;
* reward $r(x,u) = -(x^\top Q_c x + u^\top R_c u)$ (no factor $1/2$), discount $0 \le \gamma < 1$;
* the soft-optimal policy is $\pi^*(u\mid x) = \exp((Q(x,u) - V(x))/\alpha)$ (Theorem 1)."""
    ),
    SETUP,
    code(
        """import math

import mpmath
import numpy as np
import sympy as sp

from softq_ref.continuous import continuous_soft_value, quadratic_soft_policy, quadratic_soft_value
from softq_ref.continuous.lqr import solve_max_entropy_lqr"""
    ),
    md(
        r"""## 1. The Gaussian lemma

For $Q(a) = -\tfrac12 k (a-m)^2 + c$ with $k > 0$, the integrand $\exp(Q/\alpha)$ is an
unnormalised Gaussian. Sympy evaluates the integral:"""
    ),
    code(
        """a, m, c = sp.symbols("a m c", real=True)
k, alpha = sp.symbols("k alpha", positive=True)
Q = -k * (a - m) ** 2 / 2 + c
Z = sp.integrate(sp.exp(Q / alpha), (a, -sp.oo, sp.oo))
V = sp.simplify(alpha * sp.log(Z))
V_claimed = c + alpha / 2 * sp.log(2 * sp.pi * alpha / k)
display(sp.Eq(sp.Symbol("Z"), sp.simplify(Z)))
assert sp.simplify(sp.expand_log(V - V_claimed, force=True)) == 0
V_claimed"""
    ),
    md(
        r"""So $V = c + \frac{\alpha}{2}\log\frac{2\pi\alpha}{k}$ and
$\pi^*(a) = \exp((Q(a)-V)/\alpha)$ is the density of $\mathcal N(m, \alpha/k)$: its log is a
quadratic with second derivative $-k/\alpha$ and it integrates to one.

In $d$ dimensions, with $K$ symmetric positive definite, rotate to the eigenbasis of $K$:
the integral factorises into $d$ one-dimensional ones, with $k$ running over the
eigenvalues, so $\int \exp(Q/\alpha) = e^{c/\alpha}\prod_i \sqrt{2\pi\alpha/\lambda_i}
= e^{c/\alpha}\sqrt{\det(2\pi\alpha K^{-1})}$, and

$$V = c + \frac{\alpha}{2}\log\det(2\pi\alpha K^{-1}), \qquad \pi^* = \mathcal N(m, \alpha K^{-1}).$$

The limit $\alpha \to 0$ gives $V \to c = \max Q$ (as $\alpha\log\alpha \to 0$)."""
    ),
    code(
        """ppdf = sp.exp((Q - V_claimed) / alpha)
assert sp.simplify(sp.integrate(ppdf, (a, -sp.oo, sp.oo))) == 1
assert sp.simplify(sp.diff(sp.log(ppdf), a, 2) + k / alpha) == 0
assert sp.limit(V_claimed, alpha, 0, "+") == c

# Numerical check of the d-dimensional formula against a product of 1-D ones.
rng = np.random.default_rng(8)
U, _ = np.linalg.qr(rng.standard_normal((3, 3)))
lam = np.array([0.5, 2.0, 7.0])
K = (U * lam) @ U.T
K = (K + K.T) / 2
pol = quadratic_soft_policy(K, np.zeros(3), 1.25, 0.3)
by_eigen = 1.25 + sum(0.3 / 2 * math.log(2 * math.pi * 0.3 / l) for l in lam)
print(pol.value, by_eigen)
assert abs(pol.value - by_eigen) < 1e-13
assert np.allclose(pol.covariance @ K, 0.3 * np.eye(3), atol=1e-13)"""
    ),
    md(
        r"""## 2. The scalar maximum-entropy LQR, with sympy

Try $V(x) = -p x^2 + v$. Then
$\mathbb E[V(ax + bu + w)] = -p\big((ax+bu)^2 + W\big) + v$ and

$$Q(x,u) = -(q x^2 + r u^2) + \gamma\big(-p((ax+bu)^2 + W) + v\big).$$"""
    ),
    code(
        """x, u = sp.symbols("x u", real=True)
A_, B_ = sp.symbols("a b", real=True)
q, r, g, W, p = sp.symbols("q r gamma W p", positive=True)
v = sp.Symbol("v", real=True)

Qxu = -(q * x**2 + r * u**2) + g * (-p * ((A_ * x + B_ * u) ** 2 + W) + v)
u_star = sp.solve(sp.diff(Qxu, u), u)[0]
H = sp.simplify(-sp.diff(Qxu, u, 2) / 2)  # Q is -H (u - u*)^2 + max_u Q
display(sp.Eq(sp.Symbol("u^*"), u_star), sp.Eq(sp.Symbol("H"), H))
# Completing the square is exact: Q(x, u) = Q(x, u*) - H (u - u*)^2.
assert sp.simplify(Qxu - (Qxu.subs(u, u_star) - H * (u - u_star) ** 2)) == 0"""
    ),
    md(
        r"""$Q(x,\cdot)$ is the quadratic of section 1 with $k = 2H$, $H = r + \gamma b^2 p$, maximiser
$u^* = -\frac{\gamma a b p}{r + \gamma b^2 p}\,x$ and maximum $c(x) = Q(x, u^*)$. So

$$V(x) = c(x) + \frac{\alpha}{2}\log\frac{2\pi\alpha}{2H} = c(x) + \frac{\alpha}{2}\log\frac{\pi\alpha}{H}.$$

Matching this with $-p x^2 + v$ coefficient by coefficient gives two equations."""
    ),
    code(
        """alpha_ = sp.Symbol("alpha", positive=True)
rhs = sp.expand(sp.simplify(Qxu.subs(u, u_star))) + alpha_ / 2 * sp.log(sp.pi * alpha_ / H)
lhs = -p * x**2 + v
coeff_x2 = sp.simplify(sp.expand(rhs).coeff(x, 2) - lhs.coeff(x, 2))
coeff_x0 = sp.simplify((rhs - lhs).subs(x, 0))
assert sp.simplify(sp.expand(rhs - lhs) - (coeff_x2 * x**2 + coeff_x0)) == 0  # no x^1 term

# x^2: -(Riccati(p) - p) = 0, the discounted Riccati equation; alpha does not appear.
riccati = q + g * A_**2 * p - g**2 * A_**2 * B_**2 * p**2 / (r + g * B_**2 * p)
assert sp.simplify(coeff_x2 + (riccati - p)) == 0
assert not coeff_x2.has(alpha_)

# x^0: the constant.
v_sol = sp.solve(sp.Eq(coeff_x0, 0), v)[0]
v_claimed = (alpha_ / 2 * sp.log(sp.pi * alpha_ / H) - g * p * W) / (1 - g)
assert sp.simplify(v_sol - v_claimed) == 0
display(sp.Eq(sp.Symbol("p"), riccati), sp.Eq(v, v_claimed))"""
    ),
    md(
        r"""* The $x^2$ equation is the **discounted Riccati equation**
  $p = q + \gamma a^2 p - \gamma^2 a^2 b^2 p^2 / (r + \gamma b^2 p)$. It does not involve
  $\alpha$, so neither does $p$, nor the **mean gain** $K = \gamma a b p / (r + \gamma b^2 p)$:
  the soft-optimal policy's mean $-Kx$ is the standard LQR action for every $\alpha$.
* The $x^0$ equation gives the **constant**
  $v = \big[\tfrac{\alpha}{2}\log(\pi\alpha/H) - \gamma p W\big]/(1-\gamma)$; only it depends on
  $\alpha$. For $\alpha \to 0$ it tends to the standard LQR constant $-\gamma p W/(1-\gamma)$.
* The policy $\pi^*(u\mid x) = \exp((Q(x,u)-V(x))/\alpha)$ is $\mathcal N(-Kx, \alpha/(2H))$:
  the **covariance is proportional to $\alpha$**.

Clearing the denominator, the Riccati equation is a quadratic in $p$ with one positive root:"""
    ),
    code(
        """quad_p = sp.expand(sp.numer(sp.together(riccati - p)) * -1)
claimed = g * B_**2 * p**2 + (r * (1 - g * A_**2) - q * g * B_**2) * p - q * r
assert sp.simplify(quad_p - claimed) == 0
display(sp.Eq(claimed, 0))

# Gain and covariance.
K_gain = sp.simplify(-u_star / x)
assert not K_gain.has(alpha_)
# log pi*(u | x) = (Q(x, u) - V(x)) / alpha; V does not depend on u.
var = sp.simplify(-1 / sp.diff(Qxu / alpha_, u, 2))
assert sp.simplify(var - alpha_ / (2 * H)) == 0
K_gain, var"""
    ),
    md(
        r"""In $n$ dimensions the same steps (the Gaussian lemma with $K = 2H$,
$H = R_c + \gamma B^\top P B$) give
$P = Q_c + \gamma A^\top P A - \gamma^2 A^\top P B H^{-1} B^\top P A$,
$K = \gamma H^{-1} B^\top P A$, covariance $\frac{\alpha}{2} H^{-1}$ and
$v = \big[\tfrac{\alpha}{2}\log\det(\pi\alpha H^{-1}) - \gamma\,\mathrm{tr}(PW)\big]/(1-\gamma)$.

## 3. Numerical checks of the solver

(a) The scalar solver against the positive root of the quadratic, to 30 digits."""
    ),
    code(
        """# sp.Rational(float) is the exact binary value of the double, as the solver reads it.
vals = {s_: sp.Rational(f) for s_, f in {A_: 1.2, B_: 0.3, q: 2.0, r: 0.5, g: 0.9, W: 0.1}.items()}
root = max(sp.Poly(claimed.subs(vals), p).nroots(n=40))
sol = solve_max_entropy_lqr([[1.2]], [[0.3]], [[2.0]], [[0.5]], [[0.1]], 0.9, 0.25, digits=30)
with mpmath.workdps(40):
    err_p = abs(sol.P[0, 0] - mpmath.mpf(str(root)))
    v_exact = v_claimed.subs(vals).subs({p: root, alpha_: sp.Rational(1, 4)}).evalf(40)
    err_v = abs(sol.v - mpmath.mpf(str(v_exact)))
print("P =", mpmath.nstr(sol.P[0, 0], 30), " |P - root| =", mpmath.nstr(err_p, 3))
print("v =", mpmath.nstr(sol.v, 30), " |v - formula| =", mpmath.nstr(err_v, 3))
assert err_p < 1e-29 and err_v < 1e-28"""
    ),
    md(
        r"""(b) The soft Bellman equation at a state, with the $u$-integral done by the quadrature
of `softq_ref.continuous` (not by the Gaussian lemma): $V(x) = \alpha\log\int e^{Q(x,u)/\alpha}du$."""
    ),
    code(
        """x0 = 0.8
u0 = -float(sol.K[0, 0]) * x0
sd = math.sqrt(float(sol.covariance[0, 0]))
quad = continuous_soft_value(
    lambda uu: sol.q_value(np.array([mpmath.mpf(x0)]), np.array([uu])),
    0.25,
    u0 - 40 * sd,
    u0 + 40 * sd,
    digits=20,
)
with mpmath.workdps(40):
    V_x0 = sol.value(np.array([mpmath.mpf(x0)]))
    gap = abs(quad.value - V_x0)
print("quadrature:", quad, " solver:", mpmath.nstr(V_x0, 20), " gap:", mpmath.nstr(gap, 3))
assert gap <= quad.error_estimate + 1e-20"""
    ),
    md(
        r"""(c) Monte Carlo: run the soft-optimal policy $\mathcal N(-Kx, \alpha/(2H))$ from $x_0$ and
average $\sum_t \gamma^t\big(r(x_t,u_t) + \alpha\,\mathcal H(\pi(\cdot\mid x_t))\big)$, with the
differential entropy $\mathcal H = \tfrac12\log(2\pi e\,\sigma^2)$, truncated where
$\gamma^T < 10^{-12}$. Seeded, so the numbers below are reproducible; the check is
$|\text{mean} - V(x_0)| \le 4$ standard errors (plus the truncation, below $10^{-9}$)."""
    ),
    code(
        """rng = np.random.default_rng(2026)
a1, b1, q1, r1, w1, g1, al1 = 1.2, 0.3, 2.0, 0.5, 0.1, 0.9, 0.25
K1, s2 = float(sol.K[0, 0]), float(sol.covariance[0, 0])
ent = 0.5 * math.log(2 * math.pi * math.e * s2)
N, T = 20000, int(math.log(1e-12) / math.log(g1)) + 1
xs = np.full(N, x0)
ret = np.zeros(N)
disc = 1.0
for _ in range(T):
    us = -K1 * xs + math.sqrt(s2) * rng.standard_normal(N)
    ret += disc * (-(q1 * xs**2 + r1 * us**2) + al1 * ent)
    xs = a1 * xs + b1 * us + math.sqrt(w1) * rng.standard_normal(N)
    disc *= g1
mc, se = ret.mean(), ret.std(ddof=1) / math.sqrt(N)
V_float = float(V_x0)
z = (mc - V_float) / se
print(f"Monte Carlo {mc:.5f} +- {se:.5f} (SE), solver {V_float:.5f}, z = {z:+.2f}")
assert abs(mc - V_float) <= 4 * se + 1e-9"""
    ),
    md(
        r"""(d) The gain does not depend on $\alpha$; the constant depends on it exactly as derived;
and a two-dimensional problem satisfies the matrix soft Bellman equation through the
$d$-dimensional Gaussian lemma (`quadratic_soft_value`)."""
    ),
    code(
        """A2 = np.array([[1.0, 0.3], [-0.2, 0.9]])
B2 = np.array([[0.0], [1.0]])
Qc2, Rc2, W2, g2 = np.eye(2), np.array([[0.5]]), 0.05 * np.eye(2), 0.95
sols = {al: solve_max_entropy_lqr(A2, B2, Qc2, Rc2, W2, g2, al) for al in (0.0, 1e-12, 0.3, 10.0)}
for al, s in sols.items():
    assert np.array_equal(s.K, sols[0.0].K) and np.array_equal(s.P, sols[0.0].P)
    Hs = s.H
    dv = al / (2 * (1 - g2)) * (np.log(np.pi * al) - np.log(np.linalg.det(Hs))) if al else 0.0
    assert abs((s.v - sols[0.0].v) - dv) <= 1e-12 * max(1.0, abs(dv))
    print(f"alpha={al:<6g} K={s.K.ravel()}  v={s.v:.10f}  cov={s.covariance.ravel()}")

s = sols[0.3]
xv = np.array([0.7, -1.1])
H2 = Rc2 + g2 * B2.T @ s.P @ B2
u_opt = -np.linalg.solve(H2, g2 * B2.T @ s.P @ A2 @ xv)
c_x = s.q_value(xv, u_opt)
V_lemma = quadratic_soft_value(2 * H2, u_opt, c_x, 0.3)
print("V(x) solver", s.value(xv), " Gaussian lemma on Q(x, .)", V_lemma)
assert abs(s.value(xv) - V_lemma) <= 1e-12 * abs(V_lemma)
assert np.allclose(-s.K @ xv, u_opt, rtol=1e-12)"""
    ),
    md(
        r"""## Summary

* Quadratic $Q$: $V = c + \frac{\alpha}{2}\log\det(2\pi\alpha K^{-1})$, $\pi^* = \mathcal N(m, \alpha K^{-1})$.
* Maximum-entropy LQR: $V(x) = -x^\top P x + v$ with $P$ the **standard** discounted Riccati
  solution; policy $\mathcal N(-Kx, \frac{\alpha}{2}H^{-1})$ with the **standard** gain $K$;
  only $v$ depends on $\alpha$:
  $v = [\frac{\alpha}{2}\log\det(\pi\alpha H^{-1}) - \gamma\,\mathrm{tr}(PW)]/(1-\gamma)$.

Every claim above was checked by an `assert` in this notebook."""
    ),
]
