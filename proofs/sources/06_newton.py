"""Source of ``proofs/06_newton.ipynb`` (build it with ``python proofs/build_notebooks.py 06``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 06 · Soft policy iteration is Newton's method

Soft policy iteration alternates two steps: make the policy soft-greedy for the current
values, then evaluate that policy exactly. This notebook shows that the pair is one step of
Newton's method on the soft Bellman equation written for state values, and that it therefore
converges **quadratically**: near the solution the number of correct digits doubles with
every step. `softq_ref.float64.solvers` (`soft_policy_iteration`, `solve`) and
`softq_ref.certified.solve_certified` rely on both facts.

**Conventions** ([conventions, section 1](../docs/conventions.md#1-the-mathematics)). Finite MDP with `P[s, a, s']`, `R[s, a]`, discount
$0 \le \gamma < 1$, reference measure $\mu[s,a] > 0$, temperature $\alpha > 0$. For state values
$V$,

$$Q_V(s,a) = R(s,a) + \gamma \sum_{s'} P(s'\mid s,a)\,V(s'), \qquad
(TV)(s) = \alpha \log \sum_a \mu(s,a)\, e^{Q_V(s,a)/\alpha},$$

the soft-greedy policy of $V$ is $\pi_V(a\mid s) = \mu(s,a)\,e^{(Q_V(s,a) - (TV)(s))/\alpha}$
(Haarnoja et al. 2017, Theorem 1), and the soft value of a policy carries the entropy of the
current step, $H_\mu(\pi)(s) = -\sum_a \pi(a\mid s)\log\frac{\pi(a\mid s)}{\mu(s,a)}$:

$$V^\pi = r_\pi + \alpha H_\mu(\pi) + \gamma P_\pi V^\pi,\qquad
r_\pi(s) = \sum_a \pi(a\mid s) R(s,a),\quad P_\pi(s,s') = \sum_a \pi(a\mid s) P(s'\mid s,a).$$

The optimum $V^*$ is the zero of $F(V) = V - TV$ (Theorem 2)."""
    ),
    SETUP,
    code(
        """import mpmath
import numpy as np
import sympy as sp
from IPython.display import Math

from softq_ref import (
    FiniteMDP,
    evaluate_policy,
    soft_policy,
    soft_policy_iteration,
    soft_value,
)
from softq_ref.operators import expected_next_value, policy_transitions
from softq_ref.symbolic.newton import (
    check_newton,
    check_quadratic_convergence,
    derive_newton,
    newton_constant,
    newton_convergence,
)"""
    ),
    md(
        r"""## 1. The map $F(V) = V - TV$ for a symbolic MDP

`derive_newton(2, 2)` builds an MDP with two states and two actions whose every entry is a
symbol: rewards $r_{sa}$, transition probabilities $p_{sas'}$, prior weights $\mu_{sa}$ (here the
counting measure first, $\mu = 1$), and values $V_0, V_1$. No constraint on the row sums of $P$ is
needed for what follows. To keep the display short, $Q_V(s,a)$ is abbreviated $Q_{sa}$ after
sympy has done its work on the full expressions."""
    ),
    code(
        """d = derive_newton(2, 2, prior=False)
m = d.mdp
short = {m.Q[s, a]: sp.Symbol(f"Q_{{{s}{a}}}") for s in range(2) for a in range(2)}
display(Math("Q_{00} = " + sp.latex(m.Q[0, 0])))
display(Math("F_0 = " + sp.latex(d.F[0].xreplace(short))))"""
    ),
    md(
        r"""## 2. The Jacobian is $I - \gamma P_\pi$

Differentiate state $s$'s log-sum-exp with respect to $V(s')$ by the chain rule. The gradient of
$\alpha\log\sum_a \mu_a e^{x_a/\alpha}$ in $x$ is the softmax $\pi(\cdot\mid s)$ (notebook 02), and
$\partial Q_V(s,a)/\partial V(s') = \gamma P(s'\mid s,a)$, so

$$\frac{\partial (TV)(s)}{\partial V(s')} = \gamma \sum_a \pi_V(a\mid s)\, P(s'\mid s,a) = \gamma P_{\pi_V}(s,s'),
\qquad J_F(V) = I - \gamma P_{\pi_V}.$$

Sympy's `Matrix.jacobian` of $F$ gives (entry $(0,1)$ and $(0,0)$, factored):"""
    ),
    code(
        """display(Math("J_{01} = " + sp.latex(sp.factor(d.jacobian[0, 1].xreplace(short)))))
display(Math("J_{00} = " + sp.latex(sp.factor(d.jacobian[0, 0].xreplace(short)))))
# the claim, I - gamma P_pi, with pi = mu exp(Q/alpha) / Z
claim = d.jacobian_claimed[0, 1].xreplace(short)
display(Math(r"(I - \\gamma P_\\pi)_{01} = " + sp.latex(claim)))"""
    ),
    md(
        r"""The fractions are exactly $\pi(0\mid 0)$ and $\pi(1\mid 0)$. `check_newton` verifies every
entry symbolically (difference simplifies to $0$), together with the other identities below.

Because $P_\pi$ is (sub)stochastic, $\|\gamma P_\pi\|_\infty \le \gamma < 1$, so
$J = I - \gamma P_\pi$ is invertible with $J^{-1} = \sum_{n\ge 0}\gamma^n P_\pi^n \ge 0$ entrywise
and $\|J^{-1}\|_\infty \le 1/(1-\gamma)$ (Neumann series).

## 3. The Newton step is soft policy evaluation

Newton's iterate $V_N = V - J^{-1}F(V)$ solves $J V_N = JV - F(V) = TV - \gamma P_\pi V$. Soft
policy evaluation of the same $\pi$ solves $J V^\pi = r_\pi + \alpha H_\mu(\pi)$. The right-hand
sides agree by the Gibbs identity: $\log(\pi/\mu) = (Q_V - TV)/\alpha$ gives
$\alpha H_\mu(\pi) = TV\sum_a\pi - \sum_a \pi\,Q_V = TV - r_\pi - \gamma P_\pi V$ (as
$\sum_a \pi = 1$). With $J$ invertible, $V_N = V^{\pi_V}$: **one Newton step from $V$ is exactly
the evaluation of the soft-greedy policy of $V$**, and Newton's method is soft policy
iteration. Sympy, state 0:"""
    ),
    code(
        """# J V - F(V) is T V - gamma P_pi V:
tv_minus = m.TV[0] - m.gamma * (m.P_pi * m.V)[0]
gap = sp.simplify(d.newton_rhs[0] - tv_minus)
display(Math(r"(JV - F)_0 - (TV - \\gamma P_\\pi V)_0 = " + sp.latex(gap)))
assert gap == 0
# r_pi + alpha H_mu(pi), with log pi = (Q - TV) / alpha expanded: a pi-average of r + TV - Q
rhs_eval = sp.simplify(sp.expand_log(d.evaluation_rhs[0].xreplace(short), force=True))
display(Math(r"(r_\\pi + \\alpha H_\\mu(\\pi))_0 = " + sp.latex(rhs_eval)))
check_newton(d)  # raises DerivationError if any identity fails
print("counting measure: Jacobian, normalisation and Newton = evaluation verified")"""
    ),
    md(
        r"""The same holds with a general prior $\mu$ (symbols $\mu_{sa} > 0$, the KL-regularised case
when $\mu$ is a probability vector); `tests/symbolic/test_symbolic_newton.py` also runs the check with
one state and three actions:"""
    ),
    code(
        """check_newton(derive_newton(2, 2, prior=True))
print("with a prior: verified for 2 states x 2 actions")"""
    ),
    md(
        r"""## 4. Numerical checks against the package

(a) The symbolic Jacobian (the derivative sympy took, not the claimed form), evaluated at
numbers to 30 digits, against the package's float64 $I - \gamma P_\pi$ from
`policy_transitions(mdp, soft_policy(Q, alpha, prior))`. The entries are at most 1 in size and
each float64 entry is a few roundings away from exact, so they must agree to $10^{-14}$."""
    ),
    code(
        """dp = derive_newton(2, 2, prior=True)
mp_ = dp.mdp
P = np.array([[[0.25, 0.75], [0.5, 0.5]], [[1.0, 0.0], [0.125, 0.875]]])
R = np.array([[1.0, -0.5], [0.0, 2.0]])
mu = np.array([[0.3, 0.7], [1.0, 2.0]])
g, alpha, V = 0.9, 0.7, np.array([3.0, -1.5])
mdp = FiniteMDP(P, R, g, prior=mu)

vals = {mp_.alpha: sp.Rational(alpha), mp_.gamma: sp.Rational(g)}
for s in range(2):
    vals[mp_.V[s]] = sp.Rational(V[s])
    for a in range(2):
        vals[mp_.R[s, a]] = sp.Rational(R[s, a])
        vals[mp_.mu[s, a]] = sp.Rational(mu[s, a])
        for t in range(2):
            vals[mp_.P[s][a, t]] = sp.Rational(P[s, a, t])
J_sym = np.array(dp.jacobian.xreplace(vals).evalf(30).tolist(), dtype=float)

Q_V = R + g * expected_next_value(mdp, V)
pi = soft_policy(Q_V, alpha, mu)
J_pkg = np.eye(2) - g * policy_transitions(mdp, pi)
print(J_sym, J_pkg, sep="\\n")
assert np.abs(J_sym - J_pkg).max() < 1e-14"""
    ),
    md(
        r"""(b) One Newton step from $V$, computed three ways in float64: the Newton formula
$V + J^{-1}(TV - V)$, `evaluate_policy` of the soft-greedy policy, and one iteration of
`soft_policy_iteration` started at $V$. Each is one well-conditioned $2\times 2$ solve
($\|J\|_\infty\|J^{-1}\|_\infty \le (1+\gamma)/(1-\gamma) = 19$), so they agree to
$10^{-13}\max(1, |V|)$, a margin of about 50 over $19$ times the unit roundoff times $|V|$."""
    ),
    code(
        """TV = soft_value(Q_V, alpha, mu)
V_newton = V + np.linalg.solve(J_pkg, TV - V)
V_eval = evaluate_policy(mdp, pi, alpha).V
Q_spi = soft_policy_iteration(mdp, alpha, max_iterations=1, V0=V).Q
V_spi_Q = evaluate_policy(mdp, pi, alpha).Q
print("Newton step       ", V_newton)
print("evaluate_policy   ", V_eval)
scale = max(1.0, np.abs(V_newton).max())
assert np.abs(V_newton - V_eval).max() < 1e-13 * scale
assert np.abs(Q_spi - V_spi_Q).max() < 1e-13 * scale"""
    ),
    md(
        r"""## 5. Quadratic convergence, with a constant

Let $e_k = \|V_k - V^*\|_\infty$ and $\delta = V^* - V_k$. Since $V^* = TV^*$, the Newton update
gives

$$J_k (V_{k+1} - V^*) = -\big[TV^* - TV_k - \gamma P_{\pi_k}\delta\big],$$

a first-order Taylor remainder of $T$. At state $s$, $T$ is the log-sum-exp of
$Q_V(s,\cdot)/\alpha$, whose Hessian in $Q$ is $(\mathrm{diag}\,\pi - \pi\pi^\top)/\alpha$: the
quadratic form $x^\top(\cdot)x$ is the variance of $x$ under $\pi$ over $\alpha$, at most
$(\max x - \min x)^2/(4\alpha)$. Here $x_a = \gamma\sum_{s'}P(s'\mid s,a)\delta(s')$ has range at
most $2\gamma e_k$. The integral form of the remainder carries a factor $\tfrac12$, so the
bracket is at most $\gamma^2 e_k^2/(2\alpha)$, and with $\|J_k^{-1}\|_\infty \le 1/(1-\gamma)$:

$$e_{k+1} \le C\,e_k^2,\qquad C = \frac{\gamma^2}{2\alpha(1-\gamma)}.$$

The bound holds at every step, not only near $V^*$. It is sharp only in the worst case; the
observed ratio $e_{k+1}/e_k^2$ is usually much smaller.

The run below does Newton in mpmath at 120 digits from $V_0 = 0$ for a three-state MDP with the
exact inputs, and measures $e_k$ against `solve_certified` at 120 digits. Errors below the
**floor** $10^{-110}\max(1,|V^*|)/(1-\gamma)$ are at the level of the reference's certified
error and the working rounding, and the check allows for them."""
    ),
    code(
        """P3 = np.array(
    [
        [[0.7, 0.3, 0.0], [0.0, 0.2, 0.8]],
        [[0.5, 0.0, 0.5], [0.1, 0.9, 0.0]],
        [[0.0, 0.0, 1.0], [0.6, 0.4, 0.0]],
    ]
)
R3 = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.5]])
mdp3 = FiniteMDP(P3, R3, "9/10")
run = newton_convergence(mdp3, "1/2", dps=100)
C = newton_constant("1/2", "9/10")
print(f"C = gamma^2 / (2 alpha (1 - gamma)) = {C} ; floor = {mpmath.nstr(run.floor, 3)}")
print(" k   e_k          e_k / e_(k-1)^2   log e_k / log e_(k-1)")
for k, e in enumerate(run.errors):
    if k == 0:
        print(f"{k:2d}   {mpmath.nstr(e, 5):12s}")
        continue
    e0 = run.errors[k - 1]
    ratio = mpmath.nstr(e / e0**2, 5)
    order = f"{float(mpmath.log(e) / mpmath.log(e0)):.4f}" if e0 < 1 else "-"
    print(f"{k:2d}   {mpmath.nstr(e, 5):12s} {ratio:17s} {order}")"""
    ),
    md(
        r"""From the second step on the errors square: $10^{-5}, 10^{-12}, 10^{-27}, 10^{-55},
10^{-112}$, and the order $\log e_{k+1}/\log e_k$ tends to 2 (it is $2 + \log c/\log e_k$ for
a ratio $c$ that settles, here near $5\cdot 10^{-3}$, well below $C = 8.1$). The check:"""
    ),
    code(
        """check_quadratic_convergence(run)  # e_(k+1) <= C e_k^2 + floor at every k; floor reached
orders = run.orders
assert abs(orders[-1] - 2) < 0.1 and len(run.errors) <= 10
print("orders:", [round(o, 3) for o in orders])"""
    ),
    md(
        r"""## Summary

* $F(V) = V - TV$ has Jacobian $I - \gamma P_{\pi_V}$, $\pi_V$ the soft-greedy policy of $V$.
* The Newton step $V - J^{-1}F(V)$ is the soft value $V^{\pi_V}$: soft policy iteration *is*
  Newton's method (for $\alpha = 0$ this is the classical observation of Puterman & Brumelle
  (1979) that policy iteration is Newton's method on the piecewise-linear hard Bellman
  equation).
* Errors obey $e_{k+1} \le \frac{\gamma^2}{2\alpha(1-\gamma)}e_k^2$ at every step; in 120-digit
  arithmetic the observed errors square until they reach $10^{-112}$.

The symbolic steps are in `softq_ref.symbolic.newton` and tested in
`tests/symbolic/test_symbolic_newton.py`; the float64 solver is `softq_ref.float64.solvers._newton`."""
    ),
]
