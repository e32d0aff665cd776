"""Source of ``proofs/02_log_sum_exp.ipynb`` (build it with ``python proofs/build_notebooks.py 02``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 02 · Log-sum-exp: conjugate of negative entropy, softmax gradient, bounds and limits

For action values $Q_1, \dots, Q_n$ and a temperature $\alpha > 0$ the soft value of one state is

$$V(Q) = \alpha\log\sum_{i=1}^n e^{Q_i/\alpha}$$

(Haarnoja et al. 2017, "Reinforcement Learning with Deep Energy-Based Policies", Theorem 2;
`softq_ref.soft_value`). This notebook derives with sympy, and then checks against the
package, that

1. $V$ is the **convex conjugate of the negative entropy** on the simplex (the Gibbs
   variational principle): $V(Q) = \max_{p\in\Delta_n}\big(p\cdot Q - \alpha\sum_i p_i\log p_i\big)$,
   with the exact gap $\alpha\,\mathrm{KL}(p\,\|\,\pi)$ and the maximiser $\pi = \mathrm{softmax}(Q/\alpha)$;
2. its **gradient** is the softmax $\pi$ (`softq_ref.soft_policy`);
3. its **Hessian** is $(\mathrm{diag}(\pi) - \pi\pi^\top)/\alpha$, positive semidefinite
   ($v^\top H v = \mathrm{Var}_\pi(v)/\alpha$);
4. the **bounds** $\max_i Q_i \le V \le \max_i Q_i + \alpha\log n$;
5. the **limits** $V \to \max_i Q_i$ as $\alpha\to 0^+$ and $V - \alpha\log n \to \frac1n\sum_i Q_i$ as
   $\alpha\to\infty$, with the next term $\mathrm{Var}(Q)/(2\alpha)$.

Conventions as in [conventions, section 1](../docs/conventions.md#1-the-mathematics): counting measure (no prior), last axis = actions,
$\alpha = 0$ is the hard maximum. Notebook 01 derived $V$ as the value of the
entropy-regularised maximisation; here it is studied as a function of $Q$. The code is in
`softq_ref.symbolic.lse`; `tests/symbolic/test_symbolic_lse.py` runs the same derivations."""
    ),
    SETUP,
    code(
        """import math

import mpmath
import numpy as np
import sympy as sp
from IPython.display import display
from mpmath import mp

from softq_ref import soft_policy, soft_value
from softq_ref.float64.bounds import lse_allowance
from softq_ref.symbolic.lse import (
    check_gibbs_variational,
    check_log_sum_exp,
    check_log_sum_exp_limits,
    derive_gibbs_variational,
    derive_log_sum_exp,
    derive_log_sum_exp_limits,
)

EPS, U64 = 2.0**-52, 2.0**-53


def allowance(q, v, alpha):
    \"\"\"The kernel's a-priori rounding bound on soft_value (softq_ref.float64.bounds.lse_allowance).\"\"\"
    return float(lse_allowance(q[None, :], np.array([v]), alpha, None, U64)[0])"""
    ),
    md(
        r"""## 1. The Gibbs variational principle

Take any $p$ in the simplex ($p_n = 1 - p_1 - \dots - p_{n-1}$) and $\pi_i = e^{Q_i/\alpha}/Z$,
$Z = \sum_j e^{Q_j/\alpha}$. Since $\log\pi_i = Q_i/\alpha - \log Z$,

$$\alpha\,\mathrm{KL}(p\,\|\,\pi) = \alpha\sum_i p_i\log p_i - \sum_i p_i Q_i + \alpha\log Z\sum_i p_i ,$$

and with $\sum_i p_i = 1$ this is the identity
$p\cdot Q + \alpha H(p) = V(Q) - \alpha\,\mathrm{KL}(p\,\|\,\pi)$. Sympy expands both sides for
$n = 3$ (and the check repeats it for $n = 1, \dots, 5$) and finds the difference to be exactly 0:"""
    ),
    code(
        """g = derive_gibbs_variational(3)
display(sp.Eq(sp.Symbol(r"p \\cdot Q + \\alpha H(p)"), g.regularised))
display(sp.Eq(sp.Symbol(r"\\mathrm{KL}(p \\| \\pi)"), g.kl))
display(sp.Eq(sp.Symbol("residual"), g.residual))
for n in range(1, 6):
    check_gibbs_variational(derive_gibbs_variational(n))
print("p.Q + alpha H(p) = V - alpha KL(p || pi): exact for n = 1..5")"""
    ),
    md(
        r"""As $\mathrm{KL}(p\,\|\,\pi) \ge 0$ with equality only at $p = \pi$ (Gibbs' inequality),

$$V(Q) = \max_{p\in\Delta_n}\Big(p\cdot Q - \alpha\sum_i p_i\log p_i\Big),$$

attained only at $p = \pi$. Writing $\phi(p) = \alpha\sum_i p_i\log p_i$ on the simplex ($+\infty$
off it), this says $V = \phi^*$, the convex conjugate (Legendre–Fenchel transform) of the
negative entropy. As $\phi$ is convex and lower semicontinuous, the conjugate of $V$ is $\phi$
again: for $p$ in the interior of the simplex the supremum of $p\cdot Q - V(Q)$ over $Q$ is
attained at $Q = \alpha\log p$ (where $\nabla V = p$, by section 2), and there it equals
$\phi(p)$. Sympy confirms the value at that point:"""
    ),
    code(
        """p = sp.symbols("p1:4", positive=True)
alpha = sp.Symbol("alpha", positive=True)
Q_at = [alpha * sp.log(pi) for pi in p]
V_at = alpha * sp.log(sp.Add(*(sp.exp(qi / alpha) for qi in Q_at)))  # alpha log(p1 + p2 + p3)
phi = alpha * sp.Add(*(pi * sp.log(pi) for pi in p))
value_at = sp.Add(*(pi * qi for pi, qi in zip(p, Q_at, strict=True))) - V_at
display(sp.Eq(sp.Symbol(r"p \\cdot Q - V(Q)"), value_at))
# On the simplex p1 + p2 + p3 = 1, so the last term vanishes and what is left is phi(p).
on_simplex = (value_at - phi).subs(p[2], 1 - p[0] - p[1])
assert sp.simplify(on_simplex) == 0"""
    ),
    md(
        r"""**Machine-checked in Coq** (`proofs/coq/Gibbs.v`), for every $n$ and any reference measure
$\mu \ge 0$ with positive mass ($\mu = 1$ is the case above; `objective` is
$p\cdot Q - \alpha\,\mathrm{KL}(p\,\|\,\mu)$, `lse` is $\alpha\log\sum_i\mu_i e^{Q_i/\alpha}$): every
distribution $p \ll \mu$ is below $V$ (`gibbs_upper`, by $\log y \le y - 1$ term by term), and
the soft-greedy policy attains it (`gibbs_attains`):

```coq
Theorem gibbs_upper alpha mu x pi :
  0 < alpha -> measure n mu -> distribution pi -> abs_cont pi mu ->
  objective alpha mu x pi <= lse n alpha mu x.

Theorem gibbs_attains alpha mu x :
  0 < alpha -> measure n mu ->
  objective alpha mu x (gibbs alpha mu x) = lse n alpha mu x.
```"""
    ),
    md(
        r"""## 2. Gradient and Hessian

Differentiating $V$ once gives the softmax; twice, the matrix $(\mathrm{diag}(\pi) - \pi\pi^\top)/\alpha$.
For $n = 3$:"""
    ),
    code(
        """d = derive_log_sum_exp(3)
display(sp.Eq(sp.Symbol("V"), d.value))
display(sp.Eq(sp.Symbol(r"\\partial V / \\partial Q_1"), d.gradient[0]))
z = sp.symbols("z1:4", positive=True)  # z_i = exp(Q_i / alpha), to print the Hessian compactly
to_z = {sp.exp(qi / d.alpha): zi for qi, zi in zip(d.Q, z, strict=True)}
display(sp.Eq(sp.Symbol("H"), sp.simplify(d.hessian.subs(to_z)), evaluate=False))
sp.simplify(d.hessian_formula.subs(to_z))"""
    ),
    md(
        r"""The two matrices (sympy's Hessian, then the formula) agree entry by entry. For a direction
$v$, $v^\top H v = \big(\sum_i\pi_i v_i^2 - (\sum_i\pi_i v_i)^2\big)/\alpha = \mathrm{Var}_\pi(v)/\alpha \ge 0$:
the Hessian is positive semidefinite, so $V$ is convex, and its null direction is the constant
vector ($V(Q + c\mathbf 1) = V(Q) + c$). The check proves all of this exactly for $n = 1, \dots, 4$,
testing each identity as a rational function of $z_i = e^{Q_i/\alpha}$ (zero as a rational function
means zero for every $Q$):"""
    ),
    code(
        """for n in range(1, 5):
    check_log_sum_exp(derive_log_sum_exp(n))
print("grad V = softmax, Hess V = (diag(pi) - pi pi^T)/alpha, v^T H v = Var_pi(v)/alpha >= 0: n = 1..4")"""
    ),
    md(
        r"""## 3. Bounds

Let $Q_1$ be a largest value and $d_i = Q_1 - Q_i \ge 0$ the gaps. Factoring $e^{Q_1/\alpha}$ out of $Z$,

$$V = Q_1 + \alpha\log\Big(1 + \sum_{i\ge 2} e^{-d_i/\alpha}\Big).$$

Each $e^{-d_i/\alpha}$ lies in $(0, 1]$, so the argument of the logarithm lies in $[1, n]$, which is

$$\max_i Q_i \;\le\; V \;\le\; \max_i Q_i + \alpha\log n ,$$

with equality on the right exactly when all $Q_i$ are equal."""
    ),
    code(
        """lim = derive_log_sum_exp_limits(4)
display(sp.Eq(sp.Symbol("V"), lim.value))
display(sp.Eq(sp.Symbol("V - Q_1"), lim.excess))
lim.upper_bound_excess"""
    ),
    md(
        r"""**Machine-checked in Coq** (`proofs/coq/LogSumExp.v`, `lse_lower` and `lse_upper`), with a
reference measure: $Q_a + \alpha\log\mu_a \le V$ for every action with $\mu_a > 0$, and
$V \le m + \alpha\log\sum_a\mu_a$ for any $m$ above $Q$ on those actions. With $\mu = 1$ these are
the two bounds above.

```coq
Theorem lse_lower alpha mu x a :
  0 < alpha -> measure mu -> (a < n)%nat -> 0 < mu a ->
  x a + alpha * ln (mu a) <= lse alpha mu x.

Theorem lse_upper alpha mu x m :
  0 < alpha -> measure mu ->
  (forall a, (a < n)%nat -> 0 < mu a -> x a <= m) ->
  lse alpha mu x <= m + alpha * ln (fsum n mu).
```"""
    ),
    md(
        r"""## 4. The limits

**$\alpha \to 0^+$.** Sympy's `limit` of the whole excess $\alpha\log(1 + \sum_i e^{-d_i/\alpha})$
did not return within 20 s for $n = 3, 4, 5$ (sympy 1.14; for $n = 2$ it takes 0.2 s), so the
limit is assembled from pieces sympy settles at once: for one generic gap
$d > 0$, $e^{-d/\alpha} \to 0$; by linearity the argument tends to $1 + (n-1)\cdot 0 = 1$; the excess is
the product of $\alpha \to 0$ and $\log(\text{argument}) \to \log 1 = 0$, so it tends to $0$.
Independently, the bounds squeeze it: $0 \le V - \max Q \le \alpha\log n \to 0$, which also covers
ties ($d_i = 0$)."""
    ),
    code(
        """display(sp.Eq(sp.Limit(sp.exp(-lim.gap / lim.alpha), lim.alpha, 0, "+"), lim.term_limit_zero))
display(sp.Eq(sp.Symbol(r"\\lim_{\\alpha \\to 0^+} (1 + \\sum_i e^{-d_i/\\alpha})"), lim.argument_limit_zero))
display(sp.Eq(sp.Limit(lim.excess, lim.alpha, 0, "+"), lim.limit_zero))
sp.Eq(sp.Limit(lim.upper_bound_excess, lim.alpha, 0, "+"), lim.squeeze_limit_zero)"""
    ),
    md(
        r"""**Machine-checked in Coq** (`proofs/coq/LogSumExp.v`, `lse_hardmax_limit`): the squeeze, for
any reference measure, with ties: if $m$ is the hard maximum of $Q$ over the actions with
$\mu_a > 0$ (`is_hardmax`), then $|V_\alpha - m| \le \alpha K$ and $V_\alpha \to m$ as $\alpha \to 0^+$.

```coq
Theorem lse_hardmax_limit mu x m :
  measure mu -> is_hardmax mu x m ->
  forall eps, 0 < eps ->
  exists delta, 0 < delta /\
  forall alpha, 0 < alpha < delta -> Rabs (lse alpha mu x - m) < eps.
```"""
    ),
    md(
        r"""**$\alpha\to\infty$.** Put $t = 1/\alpha$. Then $V - \alpha\log n = \log M(t)/t$ with
$M(t) = \frac1n\sum_i e^{tQ_i}$, the moment generating function of $Q$ under the uniform
distribution. One generic term has the series $e^{tx} = 1 + tx + t^2x^2/2 + O(t^3)$; summed,
$M = 1 + t\,m_1 + t^2 m_2/2 + O(t^3)$ with $m_1$, $m_2$ the means of $Q$ and of $Q^2$. Sympy's
`series` then gives $\log M/t = m_1 + t\,(m_2 - m_1^2)/2 + O(t^2)$, and its `limit` at $t\to 0^+$
is $m_1$. (For a fixed small $n$, sympy's `limit` of the whole of $\log M/t$ also returns
promptly; it is the last line below, for $n = 4$.)"""
    ),
    code(
        """t = lim.t
display(sp.Eq(sp.Symbol(r"V - \\alpha \\log n"), lim.mean_form))
display(sp.Eq(sp.exp(t * lim.x), lim.term_series))
display(sp.Eq(sp.Symbol("M(t)"), lim.moment_series))
display(sp.Eq(sp.Symbol(r"\\log M(t) / t"), lim.mean_form_series))
direct = sp.limit(lim.mean_form, t, 0, "+")  # n = 4: returns promptly (not so at alpha -> 0+)
assert sp.simplify(direct - lim.limit_infinity) == 0
sp.Eq(sp.Limit(lim.mean_form, t, 0, "+"), direct)"""
    ),
    md(
        r"""So $V = \alpha\log n + \bar Q + \mathrm{Var}(Q)/(2\alpha) + O(\alpha^{-2})$ (uniform mean and
variance): the soft value of a very hot policy is the average action value plus the entropy of
the uniform distribution. A sharper, exact statement follows from convexity: $\log M$ is convex
with second derivative the variance of $Q$ under the tilted distribution, at most
$(\max Q - \min Q)^2/4$ (Popoviciu), so
$0 \le V - \alpha\log n - \bar Q \le (\max Q - \min Q)^2/(8\alpha)$.

The checks for several $n$ (every step stays small whatever $n$; the tests include $n = 8$):"""
    ),
    code(
        """for n in (1, 2, 3, 5):
    check_log_sum_exp_limits(derive_log_sum_exp_limits(n))
print("factorisation, bounds, alpha -> 0+ and alpha -> oo (series to O(t^2)): checked for n = 1, 2, 3, 5")
# For n = 2 sympy's limit of the whole expression does return, and agrees:
l2 = derive_log_sum_exp_limits(2)
assert sp.limit(l2.excess, l2.alpha, 0, "+") == 0
assert sp.simplify(sp.limit(l2.mean_form, l2.t, 0, "+") - l2.mean) == 0"""
    ),
    md(
        r"""## 5. Checks against the package

**Gradient.** (a) The derived gradient, evaluated at 50 digits, against `soft_policy`: per entry
within $(n + 8)\,\varepsilon_{\rm mach}$ (the kernel's policy bound, derived in
`tests/test_logsumexp.py`). (b) A central finite difference of the float64 `soft_value` with
step $h = 10^{-4}$ against `soft_policy`: the truncation error is at most
$h^2\max|V'''|/6$ with $|\partial_i^3 V| = |\pi_i(1-\pi_i)(1-2\pi_i)|/\alpha^2 \le 1/(6\sqrt3\,\alpha^2)$, and
rounding adds at most $2\,\mathrm{allowance}/(2h)$."""
    ),
    code(
        """grad_fn = sp.lambdify((*d.Q, d.alpha), list(d.gradient), modules="mpmath")
rng = np.random.default_rng(2)
worst_a, worst_b = 0.0, 0.0
for _ in range(100):
    q = rng.uniform(-10, 10, 3)
    a = 10.0 ** rng.uniform(-1, 1)
    pi = soft_policy(q, a)
    with mp.workdps(50):
        exact = grad_fn(*(mp.mpf(float(x)) for x in q), mp.mpf(a))
        err_a = max(abs(pi[i] - exact[i]) for i in range(3))
    assert err_a <= (3 + 8) * EPS
    h = 1e-4
    v0 = float(soft_value(q, a))
    fd = np.empty(3)
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        qp, qm = q + e, q - e  # divide by the step actually taken (exact by Sterbenz)
        fd[i] = (float(soft_value(qp, a)) - float(soft_value(qm, a))) / (qp[i] - qm[i])
    # Truncation; rounding of the two values (the shifted rows are at most h larger, so the
    # allowance at q times 1 + 1e-3 covers them) over the step >= 2h (1 - 1e-12); and the
    # midpoint of the rounded step is off q by <= eps |q|, moving pi by <= eps |q| / (4 alpha).
    bound = (
        h**2 / (36 * math.sqrt(3) * a**2)
        + 1.001 * allowance(q, v0, a) / h
        + EPS * np.abs(q).max() / a
    )
    err_b = np.abs(fd - pi).max()
    assert err_b <= bound, (q, a, err_b, bound)
    worst_a, worst_b = max(worst_a, float(err_a)), max(worst_b, err_b / bound)
print(f"derived gradient vs soft_policy: max error {worst_a:.1e} (bound {11 * EPS:.1e})")
print(f"finite differences vs soft_policy: max error {worst_b:.2f} x its bound")"""
    ),
    md(
        r"""**Hessian.** $(\mathrm{diag}(\pi) - \pi\pi^\top)/\alpha$ built from `soft_policy` against the
derived Hessian at 50 digits, and its eigenvalues: the smallest is $0$ (the constant vector)
up to rounding, the others positive."""
    ),
    code(
        """hess_fn = sp.lambdify((*d.Q, d.alpha), d.hessian, modules="mpmath")
q, a = np.array([0.3, -1.2, 2.0]), 0.8
pi = soft_policy(q, a)
H = (np.diag(pi) - np.outer(pi, pi)) / a
with mp.workdps(50):
    exact = hess_fn(*(mp.mpf(float(x)) for x in q), mp.mpf(a))
    err = max(abs(H[i, j] - exact[i, j]) for i in range(3) for j in range(3))
# pi is within 11 eps per entry; the products and the division add a few eps more.
tol = (3 * 11 + 3) * EPS / a
eig = np.linalg.eigvalsh(H)
print("max |H - derived| =", mpmath.nstr(err, 3), "  eigenvalues:", eig)
assert err <= tol and eig.min() >= -3 * tol and np.abs(H @ np.ones(3)).max() <= 3 * tol"""
    ),
    md(
        r"""**Bounds on extreme inputs.** $\max Q \le V \le \max Q + \alpha\log n$ for values up to
$\pm 10^{300}$ and $\alpha$ from $10^{-300}$ to $10^{300}$, within the kernel's rounding
allowance; all-equal values attain the upper bound."""
    ),
    code(
        """cases = [
    (np.array([1e300, -1e300]), 1e-300),
    (np.array([1e300, 1e300, 1e300]), 1e300),
    (np.array([-1e-300, 0.0, 1e-300]), 1e-300),
    (np.array([5.0, 5.0, 5.0, 5.0]), 1e12),
    (np.array([1e8, -1e8, 3.0]), 1e-12),
    (np.array([0.0, 1e-12, 2e-12]), 1e12),
]
for q, a in cases:
    v = float(soft_value(q, a))
    tol = allowance(q, v, a)
    upper = q.max() + a * math.log(len(q))
    print(f"alpha={a:<8.0e} max={q.max():<10.3g} V={v:<24.17g} max + alpha log n={upper:.17g}")
    assert q.max() - tol <= v <= upper * (1 + EPS) + tol"""
    ),
    md(
        r"""**The limits, numerically.** At $\alpha = 10^{-12}$: $V - \max Q = \alpha\log S$ with
$S = \sum_i e^{-d_i/\alpha}$, so $0 \le V - \max Q \le \alpha(S - 1)$; for gaps much larger than
$\alpha$ this is $0$ to double precision and `soft_value` returns the maximum. At $\alpha = 10^{12}$:
$0 \le V - \alpha\log n - \bar Q \le (\max Q - \min Q)^2/(8\alpha)$. Finally, in mpmath at
$\alpha = 10, 100, 1000$: $\log M(t)$ is the cumulant generating function $\sum_j \kappa_j t^j/j!$, so
the remainder after $\mathrm{Var}(Q)/(2\alpha)$ is $\kappa_3/(6\alpha^2) + \kappa_4/(24\alpha^3) + O(\alpha^{-4})$."""
    ),
    code(
        """q = np.array([1.0, 0.5, -2.0, 3.0])
n = len(q)
v_small = float(soft_value(q, 1e-12))
with mp.workdps(50):
    S = mp.fsum(mp.exp(-(mp.mpf(q.max()) - mp.mpf(float(x))) / mp.mpf(1e-12)) for x in q)
    excess_bound = float(1e-12 * (S - 1))
print("alpha = 1e-12: V =", v_small, " max Q =", q.max(), " derived excess bound:", excess_bound)
assert q.max() <= v_small <= q.max() + excess_bound + allowance(q, v_small, 1e-12)

a = 1e12
v_big = float(soft_value(q, a))
excess = v_big - a * math.log(n)
tol = allowance(q, v_big, a) + 2 * U64 * (a * math.log(n) + abs(v_big))
spread = (q.max() - q.min()) ** 2 / (8 * a)
print("alpha = 1e12: V - alpha log n =", excess, " mean Q =", q.mean(), " +/-", tol)
assert q.mean() - tol <= excess <= q.mean() + spread + tol

with mp.workdps(50):
    qs = [mp.mpf(float(x)) for x in q]
    mean = mp.fsum(qs) / n
    k2, k3, m4 = (mp.fsum((x - mean) ** j for x in qs) / n for j in (2, 3, 4))
    k4 = m4 - 3 * k2**2  # the cumulants of Q under the uniform distribution
    print(f"kappa_3 / 6 = {mpmath.nstr(k3 / 6, 5)}")
    for a in (10, 100, 1000):
        am = mp.mpf(a)
        V = am * mp.log(mp.fsum(mp.exp(x / am) for x in qs))
        rem = V - am * mp.log(n) - mean - k2 / (2 * am)
        rem4 = rem - k3 / (6 * am**2) - k4 / (24 * am**3)
        print(
            f"alpha = {a:>4}: remainder after Var/(2 alpha) = {mpmath.nstr(rem, 5):>11},"
            f" x alpha^2 = {mpmath.nstr(rem * am**2, 5)};"
            f" after the kappa_4 term, x alpha^4 = {mpmath.nstr(rem4 * am**4, 5)}"
        )
        # The remainder is O(alpha^-2) with coefficient -> kappa_3/6, and after the kappa_3 and
        # kappa_4 terms it is O(alpha^-4): that coefficient stays bounded (about 0.2 here).
        assert abs(rem * am**2 - k3 / 6) <= 2 * abs(k4) / (24 * am)  # twice the next term
        assert abs(rem4) * am**4 < 1"""
    ),
    md(
        r"""## Summary

* $V(Q) = \alpha\log\sum_i e^{Q_i/\alpha} = \max_{p\in\Delta}\big(p\cdot Q + \alpha H(p)\big)$, the gap being
  $\alpha\,\mathrm{KL}(p\,\|\,\pi)$: the convex conjugate of $\alpha\sum p\log p$ on the simplex.
* $\nabla V = \pi = \mathrm{softmax}(Q/\alpha)$ (`soft_policy`), $\nabla^2 V = (\mathrm{diag}\,\pi - \pi\pi^\top)/\alpha \succeq 0$.
* $\max Q \le V \le \max Q + \alpha\log n$; $V \to \max Q$ as $\alpha\to 0^+$ and
  $V = \alpha\log n + \bar Q + \mathrm{Var}(Q)/(2\alpha) + O(\alpha^{-2})$ as $\alpha\to\infty$.

Each claim is asserted above, symbolically by `softq_ref.symbolic.lse` and numerically
against `softq_ref.soft_value` and `softq_ref.soft_policy`."""
    ),
]
