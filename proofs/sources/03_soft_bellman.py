"""Source of ``proofs/03_soft_bellman.ipynb`` (build it with ``python proofs/build_notebooks.py 03``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 03 · The soft Bellman equation and the optimal policy (Theorems 1 and 2)

This notebook derives the two formulas at the heart of soft Q-learning (Haarnoja et al.
2017, "Reinforcement Learning with Deep Energy-Based Policies"):

* **Theorem 1** (optimal policy): the soft-greedy policy
  $\pi^*(a\mid s) = \mu(s,a)\exp\big((Q^*(s,a) - V^*(s))/\alpha\big)$ is optimal;
* **Theorem 2** (soft Bellman equation):
  $Q^*(s,a) = R(s,a) + \gamma\sum_{s'}P(s'\mid s,a)\,V^*(s')$ with
  $V^*(s) = \alpha\log\sum_a \mu(s,a)\exp(Q^*(s,a)/\alpha)$.

Then it solves the soft Bellman equation in closed form with sympy for three small MDPs
(one state; a two-state cycle; a two-state chain in which the action picks the next state)
and checks every closed form against the package's solvers, `softq_ref.solve` (float64,
with a certified `error_bound`) and `softq_ref.solve_certified` (50 digits, certified). The
symbolic steps live in `softq_ref.symbolic.bellman`; `tests/symbolic/test_symbolic_bellman.py` runs
them too.

**Conventions** ([conventions, section 1](../docs/conventions.md#1-the-mathematics)). Discrete actions, temperature $\alpha > 0$, a reference
measure $\mu(s,\cdot) \ge 0$ (the prior; all ones by default). The soft value of a policy
counts the entropy of the current step:

$$V^\pi(s) = \sum_a \pi(a\mid s)\,Q^\pi(s,a) - \alpha\,\mathrm{KL}\big(\pi(\cdot\mid s)\,\|\,\mu(s,\cdot)\big),
\qquad Q^\pi(s,a) = R(s,a) + \gamma\sum_{s'}P(s'\mid s,a)\,V^\pi(s'),$$

where $\mathrm{KL}(\pi\|\mu) = \sum_a \pi_a\log(\pi_a/\mu_a)$. With the counting measure
($\mu = 1$) the KL term is minus the Shannon entropy, so $V^\pi = \mathbb E_\pi[Q^\pi] +
\alpha\mathcal H(\pi)$, the maximum-entropy objective; with $\mu$ a probability vector it is the
KL-regularised one. At $\alpha = 0$ the soft value is the hard maximum (notebook 05)."""
    ),
    SETUP,
    code(
        """import mpmath
import numpy as np
import sympy as sp

from softq_ref import (
    FiniteMDP,
    evaluate_policy,
    policy_kl,
    soft_policy,
    soft_value,
    solve,
    solve_certified,
)
from softq_ref.symbolic import bellman"""
    ),
    md(
        r"""## 1. One state: which policy maximises $\mathbb E_\pi[q] - \alpha\,\mathrm{KL}(\pi\|\mu)$?

Fix a state and write $q_a$ for the action values. Take the candidate
$\pi_a = \mu_a e^{q_a/\alpha}/Z$ with $Z = \sum_b \mu_b e^{q_b/\alpha}$ (notebook 01 finds it
as the stationary point of the objective). Since $\log(\pi_a/\mu_a) = q_a/\alpha - \log Z$,
each action contributes

$$\pi_a q_a - \alpha\,\pi_a\log\frac{\pi_a}{\mu_a} = \alpha\log Z\;\pi_a .$$

Sympy simplifies the left-hand side per action, with $q$, $\mu$ and $Z$ as free symbols, so the
identity holds for any number of actions (`check_soft_value` below asserts it and every other
step of this section):"""
    ),
    code(
        """sv = bellman.derive_soft_value(3)
sp.Eq(sv.term, sp.simplify(sp.expand_log(sv.term)))"""
    ),
    md(
        r"""Summing over the actions and using $\sum_a \pi_a = 1$ gives
$\mathbb E_\pi[q] - \alpha\,\mathrm{KL}(\pi\|\mu) = \alpha\log Z$. For three actions, written
out in full:"""
    ),
    code(
        """display(sp.Eq(sp.Symbol(r"\\mathbb{E}_\\pi[q] - \\alpha\\,KL(\\pi\\|\\mu)"), sv.value))
pis = sp.symbols("pi_1:4")
sp.Eq(sum(pis), sp.simplify(sum(sv.policies)))"""
    ),
    md(
        r"""**Why this $\pi$ is the maximiser (the Gibbs identity).** For *any* policy $p$, using
$\log\mu_a = \log\pi_a - q_a/\alpha + \log Z$ in each term,

$$p_a q_a - \alpha\,p_a\log\frac{p_a}{\mu_a} = \alpha\log Z\;p_a - \alpha\,p_a\log\frac{p_a}{\pi_a},$$

so $\mathbb E_p[q] - \alpha\,\mathrm{KL}(p\|\mu) = \alpha\log Z - \alpha\,\mathrm{KL}(p\|\pi)$.
Since $\mathrm{KL}(p\|\pi) \ge 0$ with equality only at $p = \pi$, the soft-greedy policy is the
unique maximiser and the maximum is the log-sum-exp. Sympy checks the per-action identity
(the residual below is zero for free symbols $p, q, \mu, Z$):"""
    ),
    code("""sp.simplify(sp.expand_log(sv.gibbs_gap))"""),
    md(
        r"""So at one state

$$\max_\pi\Big(\mathbb E_\pi[q] - \alpha\,\mathrm{KL}(\pi\|\mu)\Big) = V := \alpha\log\sum_a\mu_a e^{q_a/\alpha},
\qquad \pi_a = \mu_a e^{q_a/\alpha}/Z = \mu_a\exp\big((q_a - V)/\alpha\big),$$

the last form because $Z = e^{V/\alpha}$. With $\mu = 1$ the objective is
$\mathbb E_\pi[q] + \alpha\mathcal H(\pi)$ and the maximum is $\alpha\log\sum_a e^{q_a/\alpha}$.
`check_soft_value` asserts all of this (including the entropy form and
$\pi_a = \mu_a e^{(q_a - V)/\alpha}$):"""
    ),
    code(
        """bellman.check_soft_value(sv)
V = sp.Symbol("V")
display(sp.Eq(V, sv.value))
display(*[sp.Eq(pi, p.subs(sv.value, V)) for pi, p in zip(pis, sv.policy_from_value, strict=True)])"""
    ),
    md(
        r"""## 2. From one state to the MDP

**Theorem 1 (policy improvement, hence optimality).** Given any policy $\pi$ with soft
value $Q^\pi$, let $\tilde\pi$ be soft-greedy for $Q^\pi$:
$\tilde\pi(\cdot\mid s) \propto \mu(s,\cdot)e^{Q^\pi(s,\cdot)/\alpha}$. By section 1 at every state,

$$V^\pi(s) = \mathbb E_\pi[Q^\pi(s,\cdot)] - \alpha\,\mathrm{KL}(\pi\|\mu)
\le \mathbb E_{\tilde\pi}[Q^\pi(s,\cdot)] - \alpha\,\mathrm{KL}(\tilde\pi\|\mu).$$

Expanding $Q^\pi$ on the right with its own definition and applying the same inequality at
the next state, again and again, the right-hand side tends to $V^{\tilde\pi}(s)$ (the
discount makes the remainder vanish). Hence $V^{\tilde\pi} \ge V^\pi$ and
$Q^{\tilde\pi} \ge Q^\pi$ everywhere: soft policy improvement. A policy $\pi^*$ that is
soft-greedy for its own $Q^{\pi^*}$ cannot be improved, and it beats every other policy $\pi'$:
by section 1, $Q^{\pi'} = R + \gamma P\big(\mathbb E_{\pi'}[Q^{\pi'}] - \alpha\mathrm{KL}(\pi'\|\mu)\big)
\le TQ^{\pi'}$ with the soft Bellman operator $T$ below, and applying $T$ (monotone, and a
contraction onto its fixed point $Q^{\pi^*}$, notebook 04) again and again gives
$Q^{\pi'} \le Q^{\pi^*}$. So $\pi^*$ is optimal, and
$\pi^*(a\mid s) = \mu(s,a)\exp\big((Q^*(s,a) - V^*(s))/\alpha\big)$.

**Theorem 2 (soft Bellman equation).** For $\pi^*$ the inequality is an equality, so by
section 1 $V^*(s) = \alpha\log\sum_a\mu(s,a)e^{Q^*(s,a)/\alpha}$, and the definition of
$Q^{\pi^*}$ gives

$$Q^*(s,a) = R(s,a) + \gamma\sum_{s'}P(s'\mid s,a)\,\alpha\log\sum_{a'}\mu(s',a')\,e^{Q^*(s',a')/\alpha}.$$

Notebook 04 shows that this equation has exactly one solution (the operator on the right is
a $\gamma$-contraction).

**Machine-checked in Coq.** Section 1's inequality and equality are `gibbs_upper` and
`gibbs_attains` (`proofs/coq/Gibbs.v`, notebook 02). Soft policy improvement is
`soft_policy_improvement` (`proofs/coq/Improvement.v`), for any reference measure and rows of
$P$ that may sum to less than one: `is_policy_q pi Q` says that $Q$ solves the equations of
$Q^\pi$ and $V^\pi$, and `greedy Q` is the soft-greedy policy. Instead of expanding again and
again, the proof compares once: $Q^\pi \le T_{\tilde\pi}Q^\pi$, and a sub-solution of
$T_{\tilde\pi}$ lies below its fixed point (`below_fixed_point`, `proofs/coq/Bellman.v`).

```coq
Theorem soft_policy_improvement pi Qpi Qnew :
  policy pi -> is_policy_q pi Qpi -> is_policy_q (greedy Qpi) Qnew ->
  forall s a, (s < nS)%nat -> (a < nA)%nat -> Qpi s a <= Qnew s a.
```

The existence and uniqueness of the solution of the soft Bellman equation is
`soft_fixed_point` (`proofs/coq/Bellman.v`, notebook 04).

## 3. Closed-form soft optima

The soft Bellman equation is nonlinear, but one property makes small cases solvable: the
log-sum-exp commutes with shifts, $\alpha\log\sum_a\mu_a e^{(x_a + c)/\alpha} = c +
\alpha\log\sum_a \mu_a e^{x_a/\alpha}$. When the next state does not depend on the action,
the unknown $\gamma V(s')$ is such a shift and the equations become linear.

### (a) One state, $n$ actions

Every action returns to the only state, with reward $r_a$ and prior weight $\mu_a$."""
    ),
    code(
        """one = bellman.derive_one_state(3)
display(one.equations[0], one.reduced[0])
bellman.check_one_state(one)
display(sp.Eq(sp.Symbol("V^*"), one.V[0]))
display(*[sp.Eq(sp.Symbol(f"pi^*_{a + 1}"), one.policy[0, a]) for a in range(3)])"""
    ),
    md(
        r"""$$V^* = \frac{\alpha}{1-\gamma}\log\sum_a\mu_a e^{r_a/\alpha},\qquad
Q^*_a = r_a + \gamma V^*,\qquad \pi^*_a = \frac{\mu_a e^{r_a/\alpha}}{\sum_b\mu_b e^{r_b/\alpha}}.$$

The value is the one-step soft maximum of the rewards, collected forever; the policy does not
depend on $\gamma$ at all, because every action leads to the same future.

### (b) Two states in a cycle

Every action in state $s$ leads to the other state $1-s$. Each equation shifts by
$\gamma V_{1-s}$; with $L_s = \alpha\log\sum_a e^{R(s,a)/\alpha}$ they read
$V_0 = L_0 + \gamma V_1$, $V_1 = L_1 + \gamma V_0$, and sympy solves the linear system for
symbolic rewards, $\gamma$ and $\alpha$:"""
    ),
    code(
        """cyc = bellman.derive_two_state_cycle(2)
display(*cyc.equations, *cyc.reduced)
bellman.check_two_state_cycle(cyc)
L = sp.symbols("L_0 L_1")
lse = {cyc.alpha * sp.log(sum(sp.exp(r / cyc.alpha) for r in cyc.rewards[s, :])): L[s] for s in (0, 1)}
display(*[sp.Eq(L[s], e) for e, s in zip(lse, (0, 1), strict=True)])
display(*[sp.Eq(sp.Symbol(f"V^*_{s}"), sp.factor(cyc.V[s].subs(lse))) for s in (0, 1)])"""
    ),
    md(
        r"""$V^*_0 = (L_0 + \gamma L_1)/(1-\gamma^2)$: the soft maxima of the two states,
alternating, discounted. Again $\pi^*(\cdot\mid s) \propto e^{R(s,\cdot)/\alpha}$.

### (c) A real choice: stay, or leave for an absorbing state ($\gamma = 1/2$)

In state 0 the agent may *stay* (reward $r_s$, back to state 0) or *leave* (reward $r_l$,
to state 1); state 1 is absorbing with two actions of rewards $u_1, u_2$. Now the action picks
the successor and the equation at state 0 is genuinely nonlinear:

$$V_0 = \alpha\log\Big(e^{(r_s + \gamma V_0)/\alpha} + e^{(r_l + \gamma V_1)/\alpha}\Big).$$

State 1 is case (a): $V^*_1 = \alpha\log Z_1/(1-\gamma)$, $Z_1 = e^{u_1/\alpha} + e^{u_2/\alpha}$.
For $\gamma = 1/2$ substitute $y = e^{V_0/(2\alpha)}$: with $B = e^{r_s/\alpha}$ and
$C = e^{r_l/\alpha}Z_1$ the equation is the quadratic $y^2 = By + C$. The product of its roots
is $-C < 0$, so exactly one root is positive, and $y$ is positive. (For $\gamma = 1/k$ the same
substitution gives a polynomial of degree $k$; for general $\gamma$ there is no closed form.)"""
    ),
    code(
        """sl = bellman.derive_stay_or_leave()
display(sl.equations[0], sl.reduced[0])
bellman.check_stay_or_leave(sl)
display(sp.Eq(sp.Symbol("V^*_0"), sl.V[0]))
display(sp.Eq(sp.Symbol("pi^*_stay"), sl.policy[0, 0]))
sp.Eq(sp.Symbol("pi^*_leave"), sl.policy[0, 1])"""
    ),
    md(
        r"""That is $V^*_0 = 2\alpha\log y$, $\pi^*(\text{stay}) = B/y$ and
$\pi^*(\text{leave}) = C/y^2$, which sum to one because $y^2 = By + C$.

## 4. Checks

All checks below raise if a claim fails.

**(i) Section 1 against the package's kernel.** For random action values, a random
probability prior and random policies $p$: `soft_value` equals
$\mathbb E_\pi[q] - \alpha\mathrm{KL}(\pi\|\mu)$ at the soft-greedy $\pi$ (`soft_policy`),
and the Gibbs gap $V - (\mathbb E_p[q] - \alpha\mathrm{KL}(p\|\mu))$ equals
$\alpha\mathrm{KL}(p\|\pi) \ge 0$. The tolerance is float64 rounding: a few units of
$\varepsilon$ times the size of the terms, times the number of actions."""
    ),
    code(
        """rng = np.random.default_rng(3)
eps = np.finfo(float).eps
alpha = 0.7
for _ in range(200):
    n = int(rng.integers(1, 7))
    q = rng.normal(scale=5.0, size=n)
    mu = rng.dirichlet(np.ones(n))
    V = float(soft_value(q, alpha, mu))
    pi = soft_policy(q, alpha, mu)
    tol = 16 * n * eps * (np.abs(q).max() + alpha * (1 + np.abs(np.log(mu)).max()))
    assert abs(V - (pi @ q - alpha * float(policy_kl(pi, mu)))) <= tol
    p = rng.dirichlet(np.ones(n))
    gap = V - (p @ q - alpha * float(policy_kl(p, mu)))
    assert abs(gap - alpha * float(policy_kl(p, pi))) <= tol and gap >= -tol
# the symbolic value, lambdified, agrees with soft_value
f = sp.lambdify([sv.alpha, *sv.qs, *sv.mus], sv.value)
q, mu = np.array([1.0, -2.0, 0.5]), np.array([0.2, 0.5, 0.3])
print(f(alpha, *q, *mu), float(soft_value(q, alpha, mu)))
assert abs(f(alpha, *q, *mu) - float(soft_value(q, alpha, mu))) <= 16 * eps"""
    ),
    md(
        r"""**(ii) Theorems 1 and 2 on a random MDP.** `solve` returns $Q^*$ with a certified
`error_bound`. Its soft-greedy policy, evaluated exactly by `evaluate_policy` (one linear
solve), has value $V^*$ (Theorem 1: the soft-greedy policy attains the optimum), and a soft
policy-improvement step from a random policy increases $Q^\pi$ everywhere. The allowance
`lin` covers the rounding of the linear solve, $\kappa\,\varepsilon$ with
$\kappa \le (1+\gamma)/(1-\gamma)$ in the sup norm, times the size of the values (a generous
factor 64)."""
    ),
    code(
        """S, A, gamma = 4, 3, 0.9
P = rng.dirichlet(np.ones(S), size=(S, A))
mdp = FiniteMDP(P, rng.normal(size=(S, A)), gamma, prior=rng.dirichlet(np.ones(A), size=S))
res = solve(mdp, alpha)
ev = evaluate_policy(mdp, res.policy, alpha)
scale = max(1.0, float(np.abs(res.Q).max()))
lin = 64 * (1 + gamma) / (1 - gamma) * eps * scale
print("max |V^pi* - V*| =", np.abs(ev.V - res.V).max(), " error_bound =", res.error_bound)
assert np.abs(ev.V - res.V).max() <= res.error_bound + lin
assert np.abs(ev.Q - res.Q).max() <= res.error_bound + lin

pi0 = rng.dirichlet(np.ones(A), size=S)
Q0 = evaluate_policy(mdp, pi0, alpha).Q
pi1 = soft_policy(Q0, alpha, mdp.prior)
Q1 = evaluate_policy(mdp, pi1, alpha).Q
print("improvement min(Q^pi1 - Q^pi0) =", (Q1 - Q0).min())
assert (Q1 - Q0).min() >= -2 * lin
assert (res.Q - Q1).min() >= -(res.error_bound + 2 * lin)  # and the optimum is above both"""
    ),
    md(
        r"""**(iii) The closed forms against the solvers.** Each closed form is evaluated at 70
digits (sympy's `evalf`, mpmath) for rewards given as exact fractions and
$\alpha = 1/3$, and compared with

* `solve` (float64): $\max|Q - Q^*|$ and $\max|V - V^*|$ must lie within its `error_bound`;
* `solve_certified(digits=50)`: every printed decimal of $Q$, $V$ and $\pi$ must lie within its
  certified `error_bound` (about $10^{-50}$) of the closed form. The closed form's own
  evaluation error, below $10^{-65}$, is allowed for."""
    ),
    code(
        """a_exact = "1/3"
cases = [
    (one, bellman.one_state_mdp(["1", "-1/2", "3/4"], "9/10", prior=["1/5", "1/2", "3/10"])),
    (cyc, bellman.two_state_cycle_mdp([["0", "1"], ["2", "-1/4"]], "4/5")),
    (sl, bellman.stay_or_leave_mdp("1/4", "-1/2", ["1", "3/8"])),
]
for d, m in cases:
    cf = bellman.evaluate(d, m, a_exact, digits=70)
    r = solve(m, a_exact)
    c = solve_certified(m, a_exact, digits=50)
    with mpmath.workdps(80):
        eval_err = mpmath.mpf(10) ** -65 * max(1, max(abs(x) for x in cf.Q.ravel()))
        float_gap = max(bellman.max_abs_difference(r.Q, cf.Q), bellman.max_abs_difference(r.V, cf.V))
        cert_gap = max(
            bellman.max_abs_difference(c.decimals[k], getattr(cf, k)) for k in ("Q", "V", "policy")
        )
        cert_bound = mpmath.mpf(c.error_bound.numerator) / c.error_bound.denominator
        print(f"{d.name:16s} V* = {[mpmath.nstr(v, 20) for v in cf.V]}")
        print(f"{'':16s} float64: gap {mpmath.nstr(float_gap, 3):9s} <= error_bound {r.error_bound:.3g}")
        print(f"{'':16s} 50 digits: gap {mpmath.nstr(cert_gap, 3):9s} <= error_bound {mpmath.nstr(cert_bound, 3)}")
        assert float_gap <= r.error_bound + eval_err
        assert cert_gap <= cert_bound + eval_err"""
    ),
    md(
        r"""The 50-digit gaps are below the certified bound, and not far below. That is expected:
the printed decimals are the exact values correctly rounded to 52 significant digits, so each
gap is that entry's rounding error, at most half a unit in its last place, and `error_bound`
is exactly that half unit, $5\cdot10^{-52}$ at this scale ($\max|Q^*| < 10$). With a dozen
entries, the largest of their rounding errors lands in the upper half of $[0, 5\cdot10^{-52}]$."""
    ),
    md(
        r"""## Summary

* At one state, $\max_\pi\big(\mathbb E_\pi[q] - \alpha\mathrm{KL}(\pi\|\mu)\big) =
  \alpha\log\sum_a\mu_a e^{q_a/\alpha}$, attained only at $\pi = \mu e^{(q - V)/\alpha}$; the gap of
  any other policy is $\alpha\mathrm{KL}(p\|\pi)$ (the Gibbs identity). With $\mu = 1$ this is
  $\mathbb E_\pi[q] + \alpha\mathcal H(\pi)$.
* Applied state by state this gives soft policy improvement, the optimal policy
  $\pi^* = \mu e^{(Q^* - V^*)/\alpha}$ (Theorem 1) and the soft Bellman equation (Theorem 2), as
  implemented by `softq_ref.logsumexp` and `softq_ref.operators`.
* Closed forms: one state $V^* = \frac{\alpha}{1-\gamma}\log\sum_a\mu_a e^{r_a/\alpha}$; a
  two-state cycle $V^*_0 = (L_0 + \gamma L_1)/(1-\gamma^2)$; stay-or-leave at $\gamma = 1/2$,
  $V^*_0 = 2\alpha\log\frac{B + \sqrt{B^2 + 4C}}{2}$. Each agrees with `solve` within its
  float64 `error_bound` and with `solve_certified` to 50 digits within its certified bound."""
    ),
]
