"""Shared assertion helpers for the property tests (each tolerance derived and explained)."""

from __future__ import annotations

import math

import numpy as np
from mpmath import mp

from softq_ref import FiniteMDP
from softq_ref.float64.solvers import solve
from softq_ref.logsumexp import soft_value

from mp_reference import mp_solve, reference_error

EPS = 2.0**-52
U64 = 2.0**-53
#: the spacing of the subnormal doubles: an operation whose result underflows is off by half of it
SUBNORMAL = 2.0**-1074


def kernel_error_bound(Q, V, alpha: float, prior=None) -> np.ndarray:
    """A-priori bound on ``|soft_value(Q, alpha, prior) - exact|`` per row (derived here).

    Deliberately independent of the package's own allowance
    (``float64.bounds.lse_allowance``), so that inflating that allowance cannot make
    the tests accept a less accurate kernel. The kernel (Blanchard, Higham & Higham
    2021) computes ``V = m + alpha (z_k + log1p(s))`` with ``m = max Q`` (exact),
    ``z_a = (Q_a - m) / alpha + log mu_a``, ``k = argmax z``,
    ``s = sum_{a != k} exp(z_a - z_k)``. With ``u = 2**-53`` and libm's ``exp``, ``log``
    within 1 ulp and ``log1p`` within 2 ulp (glibc's documented maxima):

    * each ``z_a`` is off by at most ``4 u (|Q_a - m| / alpha + |log mu_a|)`` (the
      subtraction, the division, ``log mu`` and the addition, with room for second
      order); ``alpha * LSE(z)`` moves by at most ``alpha`` times the largest of them:
      ``4 u (2 max|Q| + alpha max|log mu|)``;
    * the exponent ``z_a - z_k`` is rounded (``u |z_a - z_k|``), which moves
      ``w_a = exp(z_a - z_k)`` by ``w_a u |z_a - z_k| <= u / e``: ``alpha u (A - 1) / e``;
    * each ``exp`` is off by ``2 u`` relative, the sum of ``A`` terms in ``[0, 1]`` by
      ``(A - 1) u (1 + s)`` and the subtraction of 1 by ``u s``: ``log(1 + s)`` moves by
      at most ``(A + 2) u``, times ``alpha``;
    * ``log1p(s) <= log A`` is off by ``4 u log A``, times ``alpha``;
    * the addition ``z_k + log1p``, the product by ``alpha`` and the addition of ``m``:
      ``2 u |V - m| + u |V| <= u (3 |V| + 2 max|Q|)``.

    The sum, ``u (10 max|Q| + 3 |V| + alpha (4 max|log mu| + (A - 1)(1 + 1/e) + 3 +
    4 log A))``, is doubled for the second-order terms; results near the underflow
    threshold are off by half a subnormal spacing per operation instead of ``u``
    relative, which adds ``(8 + 2 A alpha) * 2**-1074``. ``alpha = 0`` is exact (a max).
    """
    q = np.atleast_2d(np.asarray(Q, dtype=np.float64))
    v = np.abs(np.asarray(V, dtype=np.float64)).reshape(q.shape[:-1])
    A = q.shape[-1]
    if alpha == 0:
        return np.zeros(q.shape[:-1])
    if prior is None:
        qmax = np.abs(q).max(axis=-1)
        lmu = 0.0
    else:
        mu = np.broadcast_to(np.asarray(prior, dtype=np.float64), q.shape)
        qmax = np.where(mu > 0, np.abs(q), 0.0).max(axis=-1)
        with np.errstate(divide="ignore"):
            lmu = np.where(mu > 0, np.abs(np.log(np.where(mu > 0, mu, 1.0))), 0.0).max(axis=-1)
    per_alpha = 4 * lmu + (A - 1) * (1 + 1 / math.e) + 3 + 4 * math.log(A)
    first = U64 * (10 * qmax + 3 * v + alpha * per_alpha)
    return 2 * first + (8 + 2 * A * alpha) * SUBNORMAL


def operator_rounding(mdp: FiniteMDP, Q: np.ndarray, alpha: float) -> float:
    """A-priori bound on the float64 rounding of one evaluation of ``T Q``.

    ``V_Q`` carries the kernel's error (:func:`kernel_error_bound`); ``P V``
    with ``S`` terms has error ``gamma_S * P|V|`` (Higham 2002, eq. 3.5); the
    multiplication by ``gamma`` and the addition of ``R`` two more roundings.
    """
    S = mdp.num_states
    V = soft_value(Q, alpha, mdp.prior)
    eps_v = kernel_error_bound(Q, V, alpha, mdp.prior)
    gS = (S + 3) * U64 / (1 - (S + 3) * U64)
    pv_abs = float(np.abs(V).max()) * float(mdp.transitions.sum(axis=2).max())
    return gS * (float(np.abs(mdp.rewards).max()) + mdp.gamma * pv_abs) + mdp.gamma * float(
        eps_v.max()
    ) * (1 + gS)


def linear_solve_tolerance(mdp: FiniteMDP, scale: float) -> float:
    """Forward-error bound for values obtained by one float64 LU solve of ``I - gamma P_pi``.

    ``cond_inf(I - gamma P_pi) <= (1 + gamma) / (1 - gamma)``; partial-pivoting
    LU has backward error about ``n * eps`` in practice (Higham 2002, ch. 9);
    with the right-hand side's own rounding, ``4 (S + A) eps cond * scale``.
    """
    g = mdp.gamma
    cond = (1 + g) / (1 - g)
    return 4 * (mdp.num_states + mdp.num_actions) * EPS * cond * max(1.0, scale)


def entropy_range(mdp: FiniteMDP) -> float:
    """``log A`` for the counting measure (the bound on the entropy per step)."""
    return math.log(mdp.num_actions)


def sparse_copy(mdp: FiniteMDP, *, as_list: bool = False) -> FiniteMDP:
    """The same MDP with sparse transitions (CSR ``(S*A, S)``, or a list of A ``(S, S)``).

    For MDPs with float64 inputs and rewards ``[S][A]`` (what the sparse path takes).
    """
    import scipy.sparse as sp

    src = mdp.source()
    S, A = mdp.num_states, mdp.num_actions
    P = np.asarray(src["transitions"], dtype=np.float64)
    if as_list:
        trans = [sp.csr_matrix(P[:, a, :]) for a in range(A)]
    else:
        trans = sp.csr_array(P.reshape(S * A, S))
    return FiniteMDP(
        trans,
        src["rewards"],
        src["gamma"],
        prior=src["prior"],
        termination=src["termination"],
        horizon=src["horizon"],
    )


REFERENCE_DIGITS = 60


def float64_budget(mdp: FiniteMDP, result, alpha: float) -> float:
    """What a float64 answer can achieve, and so what ``error_bound`` may claim at most.

    The returned ``Q`` is the float64 rounding (``u |Q|``) of an extended-precision
    value whose residual is ``O(2**-64)`` relative; ``V_Q`` adds the kernel's float64
    rounding of ``V`` (``u |V|`` and ``u alpha`` times the log of the prior's spread
    and of ``A``); exact (non-float) inputs add the rounding of each input (``u |R|``,
    ``u alpha``). So ``|T Q - Q| <= 4 u s`` with ``s`` the largest of those scales, and
    ``|Q - Q*| <= 4 u s / (1 - gamma)``. We allow 16 u s / (1 - gamma): a factor 4
    for the extended-precision terms and the kernel. A finite horizon accumulates
    ``H`` such steps (``gamma <= 1``).
    """
    mu = mdp.prior
    lmu = 0.0 if mu is None else float(np.abs(np.log(mu[mu > 0])).max())
    s = max(
        1.0,
        float(np.abs(result.Q).max()),
        float(np.abs(result.V).max()),
        float(np.abs(mdp.rewards).max()),
        alpha * (math.log(mdp.num_actions) + lmu + 1),
    )
    if mdp.horizon is not None:
        return 16 * U64 * s * (mdp.horizon + 1)
    return 16 * U64 * s / (1 - mdp.gamma)


def _mp_abs_diff(x: float, y) -> float:
    with mp.workdps(REFERENCE_DIGITS + 10):
        return float(abs(mp.mpf(float(x)) - y))


def assert_matches_reference(mdp: FiniteMDP, alpha: float, *, budget: bool = True) -> None:
    """``solve(mdp, alpha)`` against the 60-digit reference in Q, V and the policy.

    ``|Q - Q*|, |V - V*| <= error_bound`` (plus the reference's own ~1e-60); the
    policy, the kernel applied to the float ``Q``, within ``(A + 8) eps +
    pi* expm1(2 B / alpha)`` (see ``tests/float64/test_solve_against_reference.py``),
    uniform over an argmax within ``2 B`` of the best for ``alpha = 0``; and, with
    ``budget``, ``error_bound <= float64_budget``.
    """
    r = solve(mdp, alpha)
    start = None if mdp.horizon is not None else r.V
    Q, V, pi = mp_solve(mdp, alpha, dps=REFERENCE_DIGITS, start=start)
    B = r.error_bound
    tol = B + reference_error(mdp, r.V, REFERENCE_DIGITS, alpha)
    Qa, Va, pa = np.asarray(r.Q), np.asarray(r.V), np.asarray(r.policy)
    Qr = np.asarray(Q, dtype=object).reshape(Qa.shape)
    Vr = np.asarray(V, dtype=object).reshape(Va.shape)
    pr = np.asarray(pi, dtype=object).reshape(pa.shape)
    for idx in np.ndindex(Qa.shape):
        assert _mp_abs_diff(Qa[idx], Qr[idx]) <= tol, ("Q", idx, Qa[idx], Qr[idx], B)
    for idx in np.ndindex(Va.shape):
        assert _mp_abs_diff(Va[idx], Vr[idx]) <= tol, ("V", idx, Va[idx], Vr[idx], B)
    A = mdp.num_actions
    if alpha > 0:
        # pi_Q(a) = mu_a exp((Q_a - V_Q) / alpha) with |Q_a - Q*_a| <= B and |V_Q - V*| <= B:
        # pi*(a) exp(-2 B / alpha) <= pi_Q(a) <= pi*(a) exp(2 B / alpha), in mpmath (no overflow)
        with mp.workdps(30):
            spread = mp.exp(2 * mp.mpf(tol) / mp.mpf(alpha))
            for idx in np.ndindex(pa.shape):
                lo, hi = pr[idx] / spread, min(1, pr[idx] * spread)
                x = mp.mpf(float(pa[idx]))
                kernel = (A + 8) * EPS
                assert lo - kernel <= x <= hi + kernel, ("policy", idx, pa[idx], pr[idx], B)
    else:
        rows = Qa.reshape(-1, A)
        for k, (q_row, p_row) in enumerate(zip(Qr.reshape(-1, A), pa.reshape(-1, A), strict=True)):
            avail = np.ones(A, bool) if mdp.prior is None else mdp.prior[k % mdp.num_states] > 0
            best = max(q_row[a] for a in range(A) if avail[a])
            near = [a for a in range(A) if avail[a] and best - q_row[a] <= 2 * tol]
            ties = [a for a in range(A) if avail[a] and rows[k, a] == rows[k][avail].max()]
            assert set(ties) <= set(near), ("argmax", k, ties, near)
            want = np.array([1 / len(ties) if a in ties else 0.0 for a in range(A)])
            assert np.array_equal(p_row, want), ("policy", k, p_row, want)
    if budget:
        assert B <= float64_budget(mdp, r, alpha), (B, float64_budget(mdp, r, alpha))
