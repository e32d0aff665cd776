"""Source of ``proofs/05_max_limit.ipynb`` (build it with ``python proofs/build_notebooks.py 05``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 05 · The max-limit: how the soft optimum depends on the temperature

The soft optimum interpolates between the standard (hard) optimum at $\alpha = 0$ and
ever more random behaviour as $\alpha$ grows. This notebook proves two facts that pin the
dependence down, for the counting measure on $|A|$ actions:

1. **Sandwich.** $V^*_0 \le V^*_\alpha \le V^*_0 + \dfrac{\alpha \log|A|}{1-\gamma}$ in every
   state, so $V^*_\alpha \to V^*_0$ as $\alpha \to 0$ at rate $O(\alpha)$.
2. **Derivative.** $\dfrac{dV^*_\alpha}{d\alpha} = (I - \gamma P_{\pi^*})^{-1} H_\mu(\pi^*)$,
   the discounted entropy the optimal policy collects from each state. It lies in
   $[0, \log|A|/(1-\gamma)]$, so $V^*_\alpha$ is non-decreasing in $\alpha$ (and 1 follows again
   by integration). With a probability prior, $H_\mu = -\mathrm{KL}(\pi\,\|\,\mu) \le 0$ and
   $V^*_\alpha$ is non-increasing instead.

It then checks both numerically against `softq_ref.solve` and the certified solver, plots
$V^*_\alpha$ against $\alpha$ with the two bounds, and checks that `solve(mdp, 0)` is the hard
optimum.

**Conventions** ([conventions, section 1](../docs/conventions.md#1-the-mathematics)): $Q_V(s,a) = R(s,a) + \gamma\sum_{s'}P(s'\mid s,a)V(s')$,
$(T_\alpha V)(s) = \alpha\log\sum_a\mu(s,a)e^{Q_V(s,a)/\alpha}$, $(T_0V)(s) = \max_a Q_V(s,a)$;
$V^*_\alpha$ is the fixed point of $T_\alpha$ (Haarnoja et al. 2017, Theorem 2);
$\pi^*(a\mid s) = \mu(s,a)e^{(Q^*(s,a) - V^*(s))/\alpha}$ (Theorem 1);
$H_\mu(\pi)(s) = -\sum_a\pi(a\mid s)\log\frac{\pi(a\mid s)}{\mu(s,a)}$, the entropy of the current
step; $P_\pi(s,s') = \sum_a\pi(a\mid s)P(s'\mid s,a)$."""
    ),
    SETUP,
    code(
        """import io
import itertools
import math

import mpmath
import numpy as np
import sympy as sp
from IPython.display import Image, Math
from matplotlib.figure import Figure

from softq_ref import FiniteMDP, evaluate_policy, solve
from softq_ref.certified import solve_certified
from softq_ref.symbolic.max_limit import (
    alpha_derivative,
    alpha_derivative_fd,
    check_envelope,
    check_gap_recursion,
    check_value_derivative,
    derive_envelope,
    derive_gap_recursion,
    derive_value_derivative,
)"""
    ),
    md(
        r"""## 1. The sandwich, by induction

**One step.** For any values $V$ and each state, the log-sum-exp bounds of notebook 02,
$\max_a q_a \le \alpha\log\sum_a e^{q_a/\alpha} \le \max_a q_a + \alpha\log|A|$, applied to
$q = Q_V(s,\cdot)$ give

$$T_0 V \;\le\; T_\alpha V \;\le\; T_0 V + c, \qquad c = \alpha\log|A|.$$

**Two properties of $T_0$** (and of $T_\alpha$): it is *monotone*, $V \le W \Rightarrow T_0V \le T_0W$
(because $Q_V$ is monotone in $V$ as $P \ge 0$, and so is the maximum), and it *shifts*:
$T_0(V + k\mathbf 1) = T_0V + \gamma k\mathbf 1$ for a constant $k$ (rows of $P$ sum to one).

**Induction.** Start soft value iteration at the hard optimum, $V_0 = V^*_0$, and let
$V_{n+1} = T_\alpha V_n$. Suppose $V^*_0 \le V_n \le V^*_0 + g_n\mathbf 1$ (true for $n = 0$ with
$g_0 = 0$). Then

$$V_{n+1} = T_\alpha V_n \ge T_0 V_n \ge T_0 V^*_0 = V^*_0,\qquad
V_{n+1} \le T_0 V_n + c \le T_0(V^*_0 + g_n\mathbf 1) + c = V^*_0 + (\gamma g_n + c)\mathbf 1.$$

So the gap obeys $g_{n+1} = \gamma g_n + c$. Sympy solves the recursion:"""
    ),
    code(
        """gap = derive_gap_recursion()
check_gap_recursion(gap)  # solves the recursion, g_0 = 0, slack = c gamma^n / (1 - gamma)
display(Math(r"g_n = " + sp.latex(sp.factor(gap.solution))))
display(Math(r"\\frac{c}{1-\\gamma} - g_n = " + sp.latex(gap.slack)))"""
    ),
    md(
        r"""The slack is non-negative, so $g_n \le c/(1-\gamma)$ for every $n$. Since $T_\alpha$ is a
$\gamma$-contraction (Theorem 3, notebook 04), $V_n \to V^*_\alpha$, and the inequalities pass to
the limit:

$$V^*_0 \;\le\; V^*_\alpha \;\le\; V^*_0 + \frac{\alpha\log|A|}{1-\gamma}.$$

For $Q$ the same argument gives $Q^*_0 \le Q^*_\alpha \le Q^*_0 + \gamma\alpha\log|A|/(1-\gamma)$
(one factor $\gamma$, since $Q = R + \gamma PV$). With a general prior the one-step bounds read
$\max_a(q_a + \alpha\log\mu_a) \le \alpha\log\sum_a\mu_a e^{q_a/\alpha} \le \max_a q_a + \alpha\log\sum_a\mu_a$
([conventions, section 1](../docs/conventions.md#1-the-mathematics)) and the same induction applies with those constants.

**Machine-checked in Coq** (`proofs/coq/LogSumExp.v`): the one-step bounds with a general prior
(`lse_lower`, `lse_upper`), and the limit $\alpha \to 0^+$ of the soft value of one state, the
hard maximum over the actions with $\mu_a > 0$ (`lse_to_hardmax`; `hardmax` is that maximum,
`hardmax_spec`). The induction over soft value iteration above is not in Coq.

```coq
Corollary lse_to_hardmax mu x :
  measure mu ->
  forall eps, 0 < eps ->
  exists delta, 0 < delta /\
  forall alpha, 0 < alpha < delta -> Rabs (lse alpha mu x - hardmax mu x) < eps.
```

## 2. The derivative in $\alpha$

**At fixed $q$ (envelope identity).** For one state,
$\frac{d}{d\alpha}\,\alpha\log\sum_a\mu_a e^{q_a/\alpha} = \log Z - \frac{1}{\alpha}\sum_a\pi_a q_a$,
and since $\log(\pi_a/\mu_a) = q_a/\alpha - \log Z$ this is exactly $H_\mu(\pi)$. It is also the
envelope theorem: the soft value is $\max_\pi\big(\sum_a\pi_a q_a + \alpha H_\mu(\pi)\big)$
(notebook 01), and the derivative of a maximum in a parameter is the partial derivative at the
maximiser. Sympy, with three actions and a prior:"""
    ),
    code(
        """env = derive_envelope(2, prior=True)  # displayed with two actions, Z abbreviated
Z = sum(m * sp.exp(x / env.alpha) for m, x in zip(env.mu, env.q, strict=True))
abbrev = {Z: sp.Symbol("Z")}
deriv = sp.simplify(env.dV_dalpha).xreplace(abbrev)
entropy = sp.simplify(sp.expand_log(env.entropy, force=True)).xreplace(abbrev)
display(Math(r"\\frac{dV}{d\\alpha} = " + sp.latex(deriv)))
display(Math(r"H_\\mu(\\pi) = " + sp.latex(entropy)))
check_envelope(env)  # dV/dalpha - H_mu(pi) simplifies to 0
check_envelope(derive_envelope(3, prior=True))
print("d/dalpha [alpha log sum mu exp(q/alpha)] = H_mu(pi): verified")"""
    ),
    md(
        r"""**Through the Bellman equation.** $V^*_\alpha$ is the solution of
$G(V,\alpha) = V - T_\alpha V = 0$. Its Jacobian in $V$ is $I - \gamma P_\pi$ (notebook 06), which is
invertible, so by the implicit function theorem $\alpha \mapsto V^*_\alpha$ is smooth for
$\alpha > 0$ and

$$\frac{dV^*_\alpha}{d\alpha} = -\Big(\frac{\partial G}{\partial V}\Big)^{-1}\frac{\partial G}{\partial\alpha}
= (I - \gamma P_{\pi^*})^{-1} H_\mu(\pi^*),$$

because at fixed $V$ the only $\alpha$-dependence of $T_\alpha V$ is the one of the envelope
identity: $\partial G/\partial\alpha = -H_\mu(\pi)$. Sympy, for a symbolic MDP with two states,
two actions and a prior:"""
    ),
    code(
        """vd = derive_value_derivative(2, 2, prior=True)
check_value_derivative(vd)  # dG/dV = I - gamma P_pi and dG/dalpha = -H_mu(pi), entrywise
short = {vd.mdp.Q[s, a]: sp.Symbol(f"Q_{{{s}{a}}}") for s in range(2) for a in range(2)}
dG0 = vd.dG_dalpha[0].xreplace(short)
display(Math(r"\\frac{\\partial G_0}{\\partial\\alpha} = " + sp.latex(dG0)))
print("implicit function theorem: dV*/dalpha = (I - gamma P_pi)^(-1) H_mu(pi)")"""
    ),
    md(
        r"""**Consequences.** $(I - \gamma P_\pi)^{-1} = \sum_n \gamma^n P_\pi^n$ is entrywise non-negative
with row sums $1/(1-\gamma)$, so $dV^*_\alpha/d\alpha$ is a discounted average of the entropies
$H_\mu(\pi^*)(s')$ along the optimal chain: the *discounted entropy* collected from each state.

* Counting measure: $0 \le H \le \log|A|$, hence $0 \le dV^*_\alpha/d\alpha \le \log|A|/(1-\gamma)$.
  $V^*_\alpha$ is non-decreasing, and integrating from $0$ (where $V^*_\alpha$ is continuous by the
  sandwich) gives the sandwich a second time.
* Probability prior: $H_\mu = -\mathrm{KL}(\pi\,\|\,\mu) \le 0$, so $V^*_\alpha$ is non-increasing.

## 3. Numerical checks

The MDP: three states, three actions, $\gamma = 0.8$, the counting measure."""
    ),
    code(
        """P = np.array(
    [
        [[0.6, 0.4, 0.0], [0.0, 0.5, 0.5], [0.2, 0.2, 0.6]],
        [[1.0, 0.0, 0.0], [0.3, 0.3, 0.4], [0.0, 0.1, 0.9]],
        [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]],
    ]
)
R = np.array([[1.0, 0.5, 0.0], [0.0, 0.8, 1.2], [-0.5, 0.3, 0.9]])
mdp = FiniteMDP(P, R, 0.8)
S, A, g = 3, 3, 0.8"""
    ),
    md(
        r"""(a) **`solve(mdp, 0)` is the hard optimum.** The hard optimum is the entrywise maximum of
$V^\pi = (I - \gamma P_\pi)^{-1}r_\pi$ over the $|A|^{|S|} = 27$ deterministic policies (one
policy attains it in every state). Brute force, against `solve` (float64, certified bound) and
`solve_certified` (exact policy iteration in rational arithmetic for $\alpha = 0$):"""
    ),
    code(
        """best = np.full(S, -np.inf)
for choice in itertools.product(range(A), repeat=S):
    P_pi = P[np.arange(S), choice]
    r_pi = R[np.arange(S), choice]
    best = np.maximum(best, np.linalg.solve(np.eye(S) - g * P_pi, r_pi))
hard = solve(mdp, 0)
exact = solve_certified(mdp, 0, digits=30)
V0_exact = np.array([float(v) for v in exact.fractions["V"]])
print("brute force   ", best)
print("solve(mdp, 0) ", hard.V, " error bound", hard.error_bound)
print("exact         ", exact.fractions["V"])
# The brute force is 27 well-conditioned 3x3 solves (cond <= (1+g)/(1-g) = 9): 1e-13 is
# about 50 times its rounding bound. solve carries its certified bound.
assert np.abs(best - V0_exact).max() < 1e-13
assert np.abs(hard.V - V0_exact).max() <= hard.error_bound
assert exact.exact"""
    ),
    md(
        r"""(b) **The sandwich** for a range of temperatures, with each solution's certified error
bound allowed on both sides:"""
    ),
    code(
        """V0 = hard.V
width = math.log(A) / (1 - g)
for alpha in [1e-6, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 50.0]:
    r = solve(mdp, alpha)
    e = r.error_bound + hard.error_bound
    assert np.all(V0 <= r.V + e) and np.all(r.V <= V0 + alpha * width + e)
    print(f"alpha={alpha:<6g} (V - V0) / (alpha log|A| / (1 - gamma)) = {(r.V - V0) / (alpha * width)}")"""
    ),
    md(
        r"""The ratio stays in $[0, 1]$. For small $\alpha$ it tends to $0$ here because the hard
optimum is unique in every state, so the optimal policy's entropy vanishes as $\alpha \to 0$;
for large $\alpha$ the policy tends to uniform, the entropy to $\log|A|$, and the ratio to $1$.

(c) **The derivative.** $(I - \gamma P_{\pi^*})^{-1}H_\mu(\pi^*)$ at 60 digits (`alpha_derivative`)
against the central difference $(V^*_{\alpha+h} - V^*_{\alpha-h})/(2h)$ of two certified
60-digit solutions with the exact $\alpha = 1/2$ and $h = 10^{-20}$ (`alpha_derivative_fd`).
The difference quotient is off by the truncation $h^2\max|V'''|/6$ and at most
$10^{-60}\max(1,|Q^*|)/h = O(10^{-40})$ from the solutions; they must agree to $10^{-30}$."""
    ),
    code(
        """dV = alpha_derivative(mdp, "1/2", digits=60)
dV_fd = alpha_derivative_fd(mdp, "1/2", h="1e-20", digits=60)
with mpmath.workdps(60):
    gap_fd = max(abs(x - y) for x, y in zip(dV, dV_fd, strict=True))
    print("formula  ", [mpmath.nstr(x, 25) for x in dV])
    print("central  ", [mpmath.nstr(x, 25) for x in dV_fd])
    print("max |difference| =", mpmath.nstr(gap_fd, 3))
    assert gap_fd < mpmath.mpf(10) ** -30
    assert all(0 <= x <= width for x in dV)"""
    ),
    md(
        r"""The same quantity in float64 with the package's own policy evaluation: the soft value of
$\pi^*$ in the MDP with **zero rewards** at temperature $1$ is $(I - \gamma P_\pi)^{-1}H_\mu(\pi)$
([conventions, section 1](../docs/conventions.md#1-the-mathematics)'s $V^\pi$ with $r = 0$, $\alpha = 1$). It agrees with the 60-digit value to
$10^{-13}$ (float64 solve plus the float64 policy, each accurate to a few ulps)."""
    ),
    code(
        """pi_half = solve(mdp, 0.5).policy
zero_reward = FiniteMDP(P, np.zeros((S, A)), 0.8)
dV_float = evaluate_policy(zero_reward, pi_half, 1.0).V
print("evaluate_policy:", dV_float)
assert max(abs(float(x) - y) for x, y in zip(dV, dV_float, strict=True)) < 1e-13"""
    ),
    md(
        r"""(d) **With a probability prior** the derivative is minus a discounted KL divergence, so
$V^*_\alpha$ decreases in $\alpha$:"""
    ),
    code(
        """mu = np.array([[0.5, 0.25, 0.25], [0.2, 0.2, 0.6], [1 / 3, 1 / 3, 1 / 3]])
mdp_kl = FiniteMDP(P, R, 0.8, prior=mu)
dV_kl = alpha_derivative(mdp_kl, "1/2", digits=40)
dV_kl_fd = alpha_derivative_fd(mdp_kl, "1/2", h="1e-12", digits=40)
with mpmath.workdps(40):
    print("formula", [mpmath.nstr(x, 15) for x in dV_kl])
    print("central", [mpmath.nstr(x, 15) for x in dV_kl_fd])
    # truncation h^2 |V'''| / 6 with h = 1e-12, plus 1e-40 / h = 1e-28 from the solutions
    assert max(abs(x - y) for x, y in zip(dV_kl, dV_kl_fd, strict=True)) < mpmath.mpf(10) ** -18
    assert all(x <= 0 for x in dV_kl)
sols = [solve(mdp_kl, a) for a in (0.0, 0.25, 0.5, 1.0, 4.0)]
for r1, r2 in itertools.pairwise(sols):  # V* decreases along the grid, up to the certified errors
    assert np.all(r2.V <= r1.V + r1.error_bound + r2.error_bound)
print("V*_alpha(0) for alpha = 0, 0.25, 0.5, 1, 4:", [round(float(r.V[0]), 6) for r in sols])"""
    ),
    md(
        r"""## 4. The picture

$V^*_\alpha(s)$ for the three states (solid), with the lower bound $V^*_0(s)$ (dashed) and the
upper bound $V^*_0(s) + \alpha\log 3/(1-\gamma)$ (dotted), computed by `solve` on a grid of
temperatures. Each curve starts on its lower bound with slope equal to the entropy of the hard
policy (zero here), bends up, and becomes parallel to the upper bound as the policy approaches
uniform."""
    ),
    code(
        """alphas = np.linspace(0.0, 3.0, 61)
results = [solve(mdp, a) for a in alphas]
curves = np.array([r.V for r in results])
fig = Figure(figsize=(7, 4.2))
ax = fig.subplots()
for s, colour in zip(range(S), ["tab:blue", "tab:orange", "tab:green"], strict=True):
    ax.plot(alphas, curves[:, s], color=colour, label=f"$V^*_\\\\alpha({s})$")
    ax.plot(alphas, np.full_like(alphas, V0[s]), "--", color=colour, lw=1)
    ax.plot(alphas, V0[s] + alphas * width, ":", color=colour, lw=1.2)
ax.set_xlabel(r"temperature $\\alpha$")
ax.set_ylabel("soft optimal value")
ax.set_title(r"$V^*_0 \\leq V^*_\\alpha \\leq V^*_0 + \\alpha \\log|A| / (1-\\gamma)$")
ax.legend(loc="upper left")
ax.grid(alpha=0.3)
buf = io.BytesIO()
fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
# every plotted point lies between its bounds, up to the certified errors of the solutions
e = max(r.error_bound for r in results) + hard.error_bound
assert np.all(curves >= V0 - e) and np.all(curves <= V0 + alphas[:, None] * width + e)
Image(buf.getvalue())"""
    ),
    md(
        r"""## Summary

* $V^*_0 \le V^*_\alpha \le V^*_0 + \alpha\log|A|/(1-\gamma)$: one-step log-sum-exp bounds,
  monotonicity and the gap recursion $g_{n+1} = \gamma g_n + \alpha\log|A|$.
* $dV^*_\alpha/d\alpha = (I - \gamma P_{\pi^*})^{-1}H_\mu(\pi^*)$, the discounted entropy; with a
  probability prior it is minus the discounted KL divergence.
* `solve(mdp, 0)` is the hard optimum; the derivative formula matches a 60-digit central
  difference to $10^{-30}$ and `evaluate_policy` to $10^{-13}$.

The symbolic steps are in `softq_ref.symbolic.max_limit`, tested in
`tests/symbolic/test_symbolic_max_limit.py`; the sandwich and the monotonicity are also asserted on
random MDPs in `tests/test_theorems.py`."""
    ),
]
