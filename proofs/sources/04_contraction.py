"""Source of ``proofs/04_contraction.ipynb`` (build it with ``python proofs/build_notebooks.py 04``)."""

from _cells import SETUP, code, md

CELLS = [
    md(
        r"""# 04 · The soft Bellman operator is a contraction (Theorem 3)

Soft Q-iteration repeats $Q \leftarrow TQ$ with the soft Bellman operator

$$(TQ)(s,a) = R(s,a) + \gamma\sum_{s'}P(s'\mid s,a)\,V_Q(s'),\qquad
V_Q(s) = \alpha\log\sum_a\mu(s,a)\,e^{Q(s,a)/\alpha}.$$

Haarnoja et al. (2017), Theorem 3, state that it converges to the soft optimum $Q^*$. This
notebook proves the reason, a contraction, and what follows from it for an implementation:

1. the log-sum-exp is **1-Lipschitz** in the sup norm, because its gradient is a probability
   vector (sympy) and by the mean value theorem;
2. hence $\|TQ - TQ'\|_\infty \le \gamma\,\|Q - Q'\|_\infty$: $T$ is a **$\gamma$-contraction**, with a
   unique fixed point $Q^*$ (Banach), and the rate $\gamma$ cannot be improved in general;
3. the **a-posteriori error bound** $\|Q - Q^*\|_\infty \le \|TQ - Q\|_\infty/(1-\gamma)$ for *any*
   Q-table, and the stopping rule of soft Q-iteration.

A "Checks" part then tests each claim numerically against `softq_ref.bellman_operator`,
`softq_ref.soft_q_iteration`, `softq_ref.float64.bounds.certify`, `softq_ref.solve` and the certified
high-precision solver `softq_ref.solve_certified`. The symbolic steps are in
`softq_ref.symbolic.contraction` (tested by `tests/symbolic/test_symbolic_contraction.py`).

**Conventions** ([conventions, section 1](../docs/conventions.md#1-the-mathematics)): temperature $\alpha > 0$ (for $\alpha = 0$ the hard max is
1-Lipschitz too, and everything below holds with $\max$ in place of the log-sum-exp), prior
$\mu \ge 0$ (all ones by default), $0 \le \gamma < 1$, $\|\cdot\|$ the sup norm over all
entries."""
    ),
    SETUP,
    code(
        """import matplotlib.pyplot as plt
import mpmath
import numpy as np
import sympy as sp

from softq_ref import (
    FiniteMDP,
    bellman_operator,
    soft_policy,
    soft_q_iteration,
    soft_value,
    solve,
    solve_certified,
)
from softq_ref.float64.bounds import certify
from softq_ref.symbolic import contraction"""
    ),
    md(
        r"""## 1. The log-sum-exp is 1-Lipschitz

Let $f(q) = \alpha\log\sum_a\mu_a e^{q_a/\alpha}$. Sympy differentiates it (three actions):"""
    ),
    code(
        """lip = contraction.derive_lipschitz(3)
contraction.check_lipschitz(lip)
display(*[sp.Eq(sp.Derivative(sp.Symbol("f"), q), g) for q, g in zip(lip.qs, lip.gradient, strict=True)])
print("all positive:", all(g.is_positive for g in lip.gradient))
sp.Eq(sp.Add(*[sp.Derivative(sp.Symbol("f"), q) for q in lip.qs]), lip.gradient_sum)"""
    ),
    md(
        r"""The gradient is the soft-greedy policy $\pi(q)$ (notebook 03): **positive entries that sum
to one.** Now take two Q-vectors $q', q$ and the segment $q(t) = q' + t\,d$ with $d = q - q'$.
By the chain rule, $\frac{d}{dt}f(q(t)) = \sum_a \pi_a(q(t))\,d_a$. Sympy's derivative, and its
difference from $\sum_a \pi_a(q(t))\,d_a$:"""
    ),
    code(
        """display(lip.path_derivative)
sp.simplify(lip.path_derivative - lip.path_claimed)"""
    ),
    md(
        r"""By the mean value theorem
there is a $\tau \in (0,1)$ with

$$f(q) - f(q') = \frac{d}{dt}f(q(t))\Big|_{t=\tau} = \sum_a p_a d_a, \qquad p = \pi(q(\tau)).$$

A weighted average of the $d_a$ with probability weights lies between $\min_a d_a$ and
$\max_a d_a$. Explicitly, with $M = \max_a|d_a|$: since $\sum_a p_a = 1$,
$M - \sum_a p_a d_a = \sum_a p_a(M - d_a)$, a sum of non-negative terms (and the same for
$-d$). Sympy checks the identity, with $p_3 = 1 - p_1 - p_2$:"""
    ),
    code(
        """display(sp.Eq(lip.slack[0], lip.slack[1]))
sp.expand(lip.slack[0] - lip.slack[1])"""
    ),
    md(
        r"""Hence

$$|f(q) - f(q')| \le \max_a |q_a - q'_a| .$$

A second proof, without derivatives: $f$ is monotone (positive gradient) and commutes with
constant shifts, $f(q + c) = f(q) + c$ (checked by `check_lipschitz`). With
$c = \max_a|q_a - q'_a|$ we have $q \le q' + c$, so $f(q) \le f(q') + c$, and symmetrically.
This version also covers $\alpha = 0$, where $f = \max$.

**Machine-checked in Coq** (`proofs/coq/LogSumExp.v`): this second proof, for every number of
actions and any reference measure, is `lse_monotone`, `lse_shift` and `lse_lipschitz` (and
`value_lipschitz` for every $\alpha \ge 0$, the hard maximum included):

```coq
Theorem lse_monotone alpha mu x y :
  0 < alpha -> measure mu ->
  (forall a, (a < n)%nat -> x a <= y a) -> lse alpha mu x <= lse alpha mu y.

Theorem lse_shift alpha mu x c :
  0 < alpha -> measure mu ->
  lse alpha mu (fun a => x a + c) = lse alpha mu x + c.

Theorem lse_lipschitz alpha mu x y d :
  0 < alpha -> measure mu ->
  (forall a, (a < n)%nat -> Rabs (x a - y a) <= d) ->
  Rabs (lse alpha mu x - lse alpha mu y) <= d.
```

## 2. $T$ is a $\gamma$-contraction

For two Q-tables $Q, Q'$ and every $(s,a)$,

$$|(TQ)(s,a) - (TQ')(s,a)| = \gamma\Big|\sum_{s'}P(s'\mid s,a)\big(V_Q(s') - V_{Q'}(s')\big)\Big|
\le \gamma\sum_{s'}P(s'\mid s,a)\,\|V_Q - V_{Q'}\| \le \gamma\,\|Q - Q'\|,$$

using that $P(\cdot\mid s,a)$ is a probability vector and section 1 at every $s'$. (With
termination, when a row of $P$ sums to less than one, the factor is $L = \gamma\max_{s,a}
\sum_{s'}P(s'\mid s,a)$, which is what `softq_ref.float64.bounds.certify` uses.) By Banach's fixed-point
theorem $T$ has exactly one fixed point $Q^*$, the solution of the soft Bellman equation, and
$Q_{k+1} = TQ_k$ converges to it from any start: this is Theorem 3.

**Machine-checked in Coq** (`proofs/coq/Bellman.v`, section `Soft`, for every $\alpha \ge 0$ and
rows of $P$ that may sum to less than one, or above one by rounding): `soft_contraction` with
$L = \gamma\max_{s,a}\sum_{s'}P(s'\mid s,a)$ (`gamma * rowmax`), `soft_fixed_point`, the
existence (the iterates are Cauchy) and uniqueness of $Q^*$, and `soft_q_iteration`,
$\|T^kQ - Q^*\| \le L^k\|Q - Q^*\|$:

```coq
Theorem soft_contraction Q Q' :
  dist nS nA (soft_bellman Q) (soft_bellman Q') <= gamma * rowmax * dist nS nA Q Q'.

Theorem soft_fixed_point :
  exists Qs, is_fixed_point nS nA P r gamma soft_value Qs /\
  forall Q, is_fixed_point nS nA P r gamma soft_value Q ->
  forall s a, (s < nS)%nat -> (a < nA)%nat -> Q s a = Qs s a.
```

**The rate is exactly $\gamma$ near the optimum.** Sympy computes the Jacobian of $T$ for a
symbolic MDP with two states and two actions (counting measure). It is
$\gamma\,P(s'\mid s,a)\,\pi_Q(a'\mid s')$: non-negative, with every row summing to
$\gamma\sum_{s'}P(s'\mid s,a) = \gamma$."""
    ),
    code(
        """jac = contraction.derive_operator_jacobian(2, 2)
contraction.check_operator_jacobian(jac)
display(sp.Eq(sp.Derivative(sp.Symbol("(TQ)_00"), jac.Q[1, 0]), jac.jacobian[0, 2]))
sp.Matrix(jac.row_sums)  # the row sums of the 4 x 4 Jacobian, rows (s, a) = 00, 01, 10, 11"""
    ),
    md(
        r"""So the Jacobian at $Q^*$ is $\gamma$ times a stochastic matrix, whose spectral radius is 1
(the vector of ones is an eigenvector with eigenvalue 1): the linearised error shrinks by
exactly $\gamma$ per step along that direction. Soft Q-iteration converges like $\gamma^k$, no
faster in general; Newton's method (soft policy iteration, notebook 06) is the remedy.

## 3. The error bounds

Write $e = \|Q - Q^*\|$ and $\rho = \|TQ - Q\|$ for any Q-table $Q$. The triangle inequality and
$TQ^* = Q^*$ give $e \le \|Q - TQ\| + \|TQ - TQ^*\| \le \rho + \gamma e$. Sympy moves $e$ to one side;
as $\delta = 1 - \gamma > 0$ the inequality keeps its direction:"""
    ),
    code(
        """eb = contraction.derive_error_bounds()
contraction.check_error_bounds(eb)
for b in (eb.a_posteriori, eb.successive):
    display(sp.Eq(b.e - b.rhs, b.moved), sp.Le(b.e, b.bound.subs(eb.gamma, 1 - eb.delta)))"""
    ),
    md(
        r"""* **A-posteriori bound** (first pair): $\|Q - Q^*\| \le \|TQ - Q\|/(1-\gamma)$, for any $Q$: one
  application of $T$ certifies how far a table is from the optimum. `softq_ref.float64.bounds.certify`
  evaluates exactly this, with the float rounding of the residual bounded too, and `solve`
  reports it as `error_bound`.
* **Stopping rule** (second pair): for soft Q-iteration, $e_{k+1} \le \gamma e_k \le
  \gamma(\|Q_k - Q_{k+1}\| + e_{k+1})$ gives $\|Q_{k+1} - Q^*\| \le \frac{\gamma}{1-\gamma}\|Q_{k+1} - Q_k\|$,
  the test `soft_q_iteration` uses to stop.
* **A-priori rate**: $\|Q_{k+1} - Q_k\| \le \gamma^k\|Q_1 - Q_0\|$, so the stopping bound is below
  `tol` after"""
    ),
    code("""sp.Eq(sp.Symbol("k"), eb.iterations_needed)"""),
    md(
        r"""iterations, about $\log(1/\mathrm{tol})/(1-\gamma)$ for $\gamma$ near one.

**Machine-checked in Coq** (`proofs/coq/Bellman.v`): the a-posteriori bound, with $L$ in place
of $\gamma$, is `soft_error_bound` (section `Soft`: $\alpha \ge 0$, a reference measure in every
state, $P \ge 0$, $\gamma \ge 0$, $\gamma \cdot$ `rowmax` $< 1$), and with $L = \gamma$ when no row
sums above one, `soft_error_bound_gamma`:

```coq
Theorem soft_error_bound Q Qs :
  is_fixed_point nS nA P r gamma soft_value Qs ->
  dist nS nA Q Qs <= dist nS nA (soft_bellman Q) Q / (1 - gamma * rowmax).
```

## 4. Checks

Every check raises if a claim fails. Float64 tolerances are rounding bounds, named where
they are used.

**(i) The gradient is `soft_policy`.** The sympy gradient, lambdified, against the package's
kernel at random points (relative rounding of a few ulps per entry)."""
    ),
    code(
        """rng = np.random.default_rng(4)
eps = np.finfo(float).eps
grad = sp.lambdify([lip.alpha, *lip.qs, *lip.mus], list(lip.gradient))
for _ in range(100):
    q = rng.normal(scale=3.0, size=3)
    mu = rng.uniform(0.1, 2.0, size=3)
    alpha = float(rng.uniform(0.2, 5.0))
    g = np.array(grad(alpha, *q, *mu))
    assert np.allclose(g, soft_policy(q, alpha, mu), rtol=64 * eps, atol=0)
print("gradient = soft_policy at 100 random points")"""
    ),
    md(
        r"""**(ii) 1-Lipschitz, at all scales.** For random pairs $q, q'$ (values up to $10^{8}$,
temperatures from $10^{-6}$ to $10^{4}$, random priors), `soft_value` moves by at most
$\|q - q'\|$. The allowance is the rounding of the two evaluations, a few ulps of
$\max|q| + \alpha(\log n + \max|\log\mu|)$."""
    ),
    code(
        """worst = 0.0
for _ in range(2000):
    n = int(rng.integers(1, 6))
    scale = 10.0 ** rng.uniform(-3, 8)
    q = rng.normal(scale=scale, size=n)
    q2 = q + rng.normal(scale=scale * 10.0 ** rng.uniform(-6, 0), size=n)
    alpha = 10.0 ** rng.uniform(-6, 4)
    mu = rng.uniform(0.1, 1.0, size=n)
    lhs = abs(float(soft_value(q, alpha, mu)) - float(soft_value(q2, alpha, mu)))
    dist = float(np.abs(q - q2).max())
    size = max(np.abs(q).max(), np.abs(q2).max()) + alpha * (np.log(n) + np.abs(np.log(mu)).max())
    assert lhs <= dist + 16 * eps * size, (lhs, dist)
    worst = max(worst, (lhs - 16 * eps * size) / dist)
print(f"max (|f(q) - f(q')| - rounding) / |q - q'| over 2000 pairs: {worst:.15f}")"""
    ),
    md(
        r"""**(iii) $T$ is a $\gamma$-contraction** on random MDPs (with random probability priors) and
random pairs of Q-tables, by `bellman_operator`. For $Q' = Q + c$ the ratio is exactly $\gamma$, so
the constant cannot be improved (with a single action $T$ is affine with slope $\gamma$, so the
largest ratio printed is 1). The allowance is the rounding of the two evaluations of $T$: a
few ulps of $\max|R| + \gamma\max|V|$, with $\max|V|$ at most $\max|Q| + \alpha\max|\log\mu|$."""
    ),
    code(
        """ratios = []
for _ in range(300):
    S, A = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    gamma = float(rng.uniform(0.0, 0.999))
    mdp = FiniteMDP(
        rng.dirichlet(np.ones(S), size=(S, A)),
        rng.normal(scale=10.0, size=(S, A)),
        gamma,
        prior=rng.dirichlet(np.ones(A), size=S),
    )
    alpha = 10.0 ** rng.uniform(-3, 2)
    Q1 = rng.normal(scale=100.0, size=(S, A))
    Q2 = Q1 + rng.normal(scale=10.0 ** rng.uniform(-3, 2), size=(S, A))
    lhs = np.abs(bellman_operator(mdp, Q1, alpha) - bellman_operator(mdp, Q2, alpha)).max()
    dist = np.abs(Q1 - Q2).max()
    vmax = max(np.abs(Q1).max(), np.abs(Q2).max()) + alpha * np.abs(np.log(mdp.prior)).max()
    allowance = 32 * (S + A) * eps * (np.abs(mdp.rewards).max() + gamma * vmax)
    assert lhs <= gamma * dist + allowance, (lhs, gamma * dist)
    ratios.append((lhs - allowance) / (gamma * dist) if gamma > 0 else 0.0)
print(f"max ||TQ - TQ'|| / (gamma ||Q - Q'||) over 300 pairs (rounding removed): {max(ratios):.6f}")

# tightness: a constant shift moves T Q by exactly gamma times the shift (up to rounding)
c = 1.0
shifted = bellman_operator(mdp, Q1 + c, alpha) - bellman_operator(mdp, Q1, alpha)
print("T(Q + 1) - T(Q) =", np.unique(np.round(shifted, 9)), " gamma =", round(gamma, 9))
assert np.allclose(shifted, gamma * c, atol=allowance)"""
    ),
    md(
        r"""**(iv) The rate $\gamma^k$.** Soft Q-iteration from $Q_0 = 0$ on a random MDP with
$\gamma = 0.9$; `residuals[k]` is $\|Q_{k+1} - Q_k\|$. The ratio of successive residuals is
at most $\gamma$ (contraction: $\|Q_{k+2} - Q_{k+1}\| = \|TQ_{k+1} - TQ_k\| \le \gamma\|Q_{k+1} - Q_k\|$)
and tends to $\gamma$ (the Jacobian argument of section 2), until float64 rounding takes over
near $10^{-15}$."""
    ),
    code(
        """S, A, gamma, alpha = 5, 3, 0.9, 0.5
mdp = FiniteMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)), gamma)
run = soft_q_iteration(mdp, alpha, tol=1e-14)
res = np.array(run.residuals)
clean = res[res > 1e-12]  # above the rounding floor
ratio = clean[1:] / clean[:-1]
print(f"{run.iterations} iterations; residual ratios: first {ratio[:3].round(4)}, last {ratio[-3:].round(6)}")
# each ratio <= gamma, up to the rounding of the residuals (a few ulps of max|Q| over the residual)
floor = 64 * eps * np.abs(run.Q).max()
assert np.all(clean[1:] <= gamma * clean[:-1] + floor)
assert abs(ratio[-1] - gamma) < 1e-3  # the asymptotic rate is gamma itself

fig, ax = plt.subplots(figsize=(6, 3.2))
k = np.arange(len(res))
ax.semilogy(k, res, ".", ms=4, label=r"$\\|Q_{k+1} - Q_k\\|$")
ax.semilogy(k, res[0] * gamma**k, "-", lw=1, label=r"$\\gamma^k \\|Q_1 - Q_0\\|$")
ax.set_xlabel("iteration k")
ax.legend()
ax.set_title(r"soft Q-iteration, $\\gamma = 0.9$")
fig.tight_layout()
plt.show()"""
    ),
    md(
        r"""**(v) The bounds hold against the truth.** The exact optimum comes from
`solve_certified` at 30 digits (its own certified error is below $10^{-30}$, negligible here).
For iterates $Q_k$ of soft Q-iteration we compare the true error $\|Q_k - Q^*\|$ with

* the plain a-posteriori bound $\|TQ_k - Q_k\|/(1-\gamma)$ evaluated in float64, and
* `certify(mdp, Q_k, alpha).q_bound`, the same bound with every rounding accounted for;

and at the end the `error_bound` of `solve` on random MDPs, up to $\gamma = 0.99$. The true
error must never exceed a certified bound; the ratio bound / truth shows how tight it is. Watch
the last row: once $Q_k$ is within rounding of $Q^*$, the float64 residual $TQ_k - Q_k$ can be
exactly zero while the error is not. The mathematical bound is then evaluated too coarsely to be
a bound; `certify` adds the rounding allowance and stays above the truth."""
    ),
    code(
        """exact = solve_certified(mdp, alpha, digits=30)
with mpmath.workdps(40):
    Qstar = exact.Q


def true_error(Q):
    with mpmath.workdps(40):
        return float(max(abs(mpmath.mpf(x) - y) for x, y in zip(Q.ravel(), Qstar.ravel(), strict=True)))


print(f"{'k':>4} {'true error':>12} {'|TQ-Q|/(1-g)':>13} {'certify':>12} {'certify/true':>13}")
for k in (1, 5, 20, 80, 200, 400):
    Qk = soft_q_iteration(mdp, alpha, tol=0.0, max_iterations=k).Q
    err = true_error(Qk)
    plain = np.abs(bellman_operator(mdp, Qk, alpha) - Qk).max() / (1 - gamma)
    cert = certify(mdp, Qk, alpha)
    print(f"{k:4d} {err:12.3e} {plain:13.3e} {cert.q_bound:12.3e} {cert.q_bound / err:13.3f}")
    assert err <= cert.q_bound
    if err > 1e-10:  # far above the float64 rounding of the plain bound (~1e-15 here)
        assert err <= plain

print()
for seed, S, A, g in [(1, 3, 2, 0.5), (2, 6, 3, 0.9), (3, 4, 4, 0.99), (4, 8, 2, 0.95)]:
    r_ = np.random.default_rng(seed)
    m = FiniteMDP(r_.dirichlet(np.ones(S), size=(S, A)), r_.normal(scale=5.0, size=(S, A)), g)
    sol = solve(m, 0.3)
    with mpmath.workdps(40):
        ref = solve_certified(m, 0.3, digits=30)
        err = float(
            max(abs(mpmath.mpf(x) - y) for x, y in zip(sol.Q.ravel(), ref.Q.ravel(), strict=True))
        )
    print(f"gamma={g}: solve error {err:.2e} <= error_bound {sol.error_bound:.2e}")
    assert err <= sol.error_bound"""
    ),
    md(
        r"""## Summary

* $\nabla_q\,\alpha\log\sum_a\mu_a e^{q_a/\alpha} = \pi(q)$, a probability vector; with the mean
  value theorem the log-sum-exp is 1-Lipschitz in the sup norm (and it commutes with shifts).
* $\|TQ - TQ'\| \le \gamma\|Q - Q'\|$; the Jacobian of $T$ is $\gamma P\,\pi$, a stochastic matrix
  times $\gamma$, so the rate $\gamma^k$ of soft Q-iteration is attained (Theorem 3).
* $\|Q - Q^*\| \le \|TQ - Q\|/(1-\gamma)$ for every $Q$, and
  $\|Q_{k+1} - Q^*\| \le \frac{\gamma}{1-\gamma}\|Q_{k+1} - Q_k\|$: the bounds behind
  `softq_ref.float64.bounds.certify`, `solve(...).error_bound` and the stopping rule of
  `soft_q_iteration`, each checked above against the certified optimum."""
    ),
]
