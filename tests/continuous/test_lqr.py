"""Maximum-entropy LQR: the soft Riccati solution against SciPy, the soft Bellman
equation, the scalar closed form and quadrature."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref.continuous import continuous_soft_value
from softq_ref.continuous.lqr import solve_max_entropy_lqr
from softq_ref.errors import InvalidArgumentError

EPS = float(np.finfo(np.float64).eps)
ALPHAS = (0.0, 1e-12, 0.5, 1e8)


def random_system(seed: int, n: int, m: int):
    """A random LQR problem: A with entries N(0, 1/n) (spectral radius about 1),
    B with entries N(0, 1), Qc = C^T C + 0.1 I, Rc = D^T D + 0.1 I, W = E E^T / n."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / math.sqrt(n)
    B = rng.standard_normal((n, m))
    C = rng.standard_normal((n, n))
    D = rng.standard_normal((m, m))
    E = rng.standard_normal((n, n))
    return A, B, C.T @ C + 0.1 * np.eye(n), D.T @ D + 0.1 * np.eye(m), E @ E.T / n


systems = st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 3))


@settings(deadline=None, max_examples=40)
# gamma >= 0.01: for gamma ~ 1e-70 SciPy's solve_discrete_are returns P = 0
# (not even >= Qc); gamma -> 0 is covered exactly by the next test instead.
@given(system=systems, gamma=st.floats(0.01, 0.99))
@example(system=(0, 3, 2), gamma=0.99)
def test_max_entropy_lqr_mean_gain_equals_standard_lqr_gain_for_every_alpha(system, gamma):
    from scipy.linalg import solve_discrete_are

    A, B, Qc, Rc, W = random_system(*system)
    sols = [solve_max_entropy_lqr(A, B, Qc, Rc, W, gamma, a) for a in ALPHAS]
    # The Riccati equation does not involve alpha: bit-for-bit the same P and K.
    for s in sols[1:]:
        np.testing.assert_array_equal(s.P, sols[0].P)
        np.testing.assert_array_equal(s.K, sols[0].K)
    # Standard discounted LQR: the undiscounted DARE for (sqrt(gamma) A, sqrt(gamma) B).
    At, Bt = math.sqrt(gamma) * A, math.sqrt(gamma) * B
    P_ref = solve_discrete_are(At, Bt, Qc, Rc)
    K_ref = np.linalg.solve(Rc + Bt.T @ P_ref @ Bt, Bt.T @ P_ref @ At)
    # Conditioning of the DARE (first-order perturbation theory): an error E in
    # the residual moves P by L^{-1}(E), L(X) = X - Ac^T X Ac the Lyapunov
    # operator of the closed loop Ac = sqrt(gamma) (A - B K). A backward-stable
    # solver leaves residual errors ~ eps (|Qc| + gamma |A|^2 |P|), so each of the
    # two solvers is within a modest multiple of `scale` of the exact P; 1e3
    # (measured worst over 600 random draws: 20 for ours, 6 for SciPy, against
    # the 30-digit solution) keeps a wide margin. K inherits cond(H) times the
    # relative error of P.
    n = A.shape[0]
    Ac = At - Bt @ K_ref
    L = np.eye(n * n) - np.kron(Ac.T, Ac.T)
    P = sols[0].P
    nP = np.linalg.norm(P_ref, 2)
    scale = (
        EPS
        * np.linalg.norm(np.linalg.inv(L), 2)
        * (np.linalg.norm(Qc, 2) + gamma * np.linalg.norm(A, 2) ** 2 * nP)
    )
    assert np.abs(P - P_ref).max() <= 1e3 * scale
    K_tol = 1e3 * scale / nP * np.linalg.cond(sols[0].H) * max(1.0, np.abs(K_ref).max())
    assert np.abs(sols[0].K - K_ref).max() <= K_tol
    # Covariance proportional to alpha: cov = (alpha / 2) H^{-1}.
    for a, s in zip(ALPHAS, sols, strict=True):
        np.testing.assert_allclose(
            s.covariance, a / 2 * np.linalg.inv(s.H), rtol=64 * EPS * np.linalg.cond(s.H), atol=0
        )


@given(system=systems, alpha=st.sampled_from(ALPHAS))
def test_zero_discount_gives_the_one_step_solution(system, alpha):
    # gamma = 0: V(x) = -x^T Qc x + alpha log int exp(-u^T Rc u / alpha) du, so
    # P = Qc, K = 0, H = Rc (exactly) and v = (alpha/2) log det(pi alpha Rc^{-1}).
    A, B, Qc, Rc, W = random_system(*system)
    s = solve_max_entropy_lqr(A, B, Qc, Rc, W, 0.0, alpha)
    np.testing.assert_array_equal(s.P, Qc)
    np.testing.assert_array_equal(s.K, np.zeros_like(B.T))
    m = Rc.shape[0]
    v = (
        0.0
        if alpha == 0
        else alpha / 2 * (m * math.log(math.pi * alpha) - np.linalg.slogdet(Rc)[1])
    )
    # rounding of the log-determinant (cond(Rc) eps per term) times alpha / 2
    tol = 16 * EPS * (abs(v) + alpha * m * np.linalg.cond(Rc))
    assert abs(s.v - v) <= tol


@settings(deadline=None, max_examples=15)
@given(
    system=systems,
    gamma=st.floats(0.0, 0.95),
    alpha=st.sampled_from([0.0, 1e-12, 1e-3, 0.7, 1e8]),
    x_seed=st.integers(0, 2**32 - 1),
)
@example(system=(1, 2, 1), gamma=0.9, alpha=1e-12, x_seed=0)
def test_soft_value_satisfies_the_soft_bellman_equation_in_high_precision(
    system, gamma, alpha, x_seed
):
    """``V(x) = alpha log int exp(Q(x, u)/alpha) du`` with ``Q = r + gamma E V(x')``.

    ``Q(x, .)`` is quadratic in ``u`` with Hessian ``-2 (Rc + gamma B^T P B)``;
    the Gaussian integral gives ``c + (alpha/2) log det(pi alpha H^{-1})`` with
    ``c`` the maximum of ``Q(x, .)``, computed here with ``q_value`` (the
    definition) at the maximiser; that also checks the constant ``v``.
    """
    A, B, Qc, Rc, W = random_system(*system)
    s = solve_max_entropy_lqr(A, B, Qc, Rc, W, gamma, alpha, digits=30)
    x = np.random.default_rng(x_seed).standard_normal(A.shape[0])
    with mpmath.workdps(50):
        x_mp = np.array([mpmath.mpf(t) for t in x], dtype=object)
        Am, Bm, Rm = (mpmath.matrix(M.tolist()) for M in (A, B, Rc))
        Pm = mpmath.matrix(s.P.tolist())
        H = Rm + gamma * Bm.T * Pm * Bm
        # grad_u Q = -2 Rc u - 2 gamma B^T P (A x + B u) = 0  <=>  H u = -gamma B^T P A x
        u_star = -(mpmath.inverse(H) * (gamma * Bm.T * Pm * Am * mpmath.matrix(x.tolist())))
        u = np.array([u_star[i] for i in range(u_star.rows)], dtype=object)
        c = s.q_value(x_mp, u)
        rhs = c
        if alpha > 0:
            m = H.rows
            rhs = c + alpha / 2 * (m * mpmath.log(mpmath.pi * alpha) - mpmath.log(mpmath.det(H)))
        lhs = s.value(x_mp)
        # The solution is good to ~30 digits (error_estimate); the terms of the
        # equation are up to |c| + |v| in size.
        scale = max(1, abs(c), abs(s.v), abs(lhs))
        assert s.error_estimate <= mpmath.mpf(10) ** -30 * scale
        assert abs(lhs - rhs) <= mpmath.mpf(10) ** -28 * scale
        # The mean of the policy is the maximiser of Q(x, .).
        Kx = s.K @ x_mp
        for i in range(len(u)):
            assert abs(u[i] + Kx[i]) <= mpmath.mpf(10) ** -28 * max(1, abs(u[i]))


@pytest.mark.parametrize(
    ("a", "b", "q", "r", "gamma"),
    [(1.0, 1.0, 1.0, 1.0, 0.5), (1.2, 0.3, 2.0, 0.5, 0.9), (-0.5, 2.0, 0.1, 3.0, 0.99)],
)
def test_scalar_riccati_matches_the_positive_root_of_its_quadratic(a, b, q, r, gamma):
    # Scalar Riccati: gamma b^2 P^2 + (r (1 - gamma a^2) - q gamma b^2) P - q r = 0
    # (derived with sympy in proofs/08_max_entropy_lqr.ipynb); P is the positive root.
    s = solve_max_entropy_lqr([[a]], [[b]], [[q]], [[r]], [[0.1]], gamma, 0.3, digits=30)
    with mpmath.workdps(50):
        A2, B2 = mpmath.mpf(a) ** 2, mpmath.mpf(b) ** 2
        g, qq, rr = mpmath.mpf(gamma), mpmath.mpf(q), mpmath.mpf(r)
        p1 = rr * (1 - g * A2) - qq * g * B2
        root = (-p1 + mpmath.sqrt(p1**2 + 4 * g * B2 * qq * rr)) / (2 * g * B2)
        assert abs(s.P[0, 0] - root) <= mpmath.mpf(10) ** -29 * root
        # K = gamma b P a / (r + gamma b^2 P)
        K = g * mpmath.mpf(b) * root * mpmath.mpf(a) / (rr + g * B2 * root)
        assert abs(s.K[0, 0] - K) <= mpmath.mpf(10) ** -29 * max(1, abs(K))
    f = solve_max_entropy_lqr([[a]], [[b]], [[q]], [[r]], [[0.1]], gamma, 0.3)
    # float64 against the 30-digit value: a few eps times the sensitivity
    # 1 / (1 - rho^2) of the scalar Riccati map (rho = sqrt(gamma) |a - b K|).
    rho = math.sqrt(gamma) * abs(a - b * float(K))
    assert abs(f.P[0, 0] - float(root)) <= 64 * EPS * float(root) / (1 - rho**2)


@pytest.mark.parametrize("alpha", [1e-6, 0.3, 5.0])
def test_scalar_soft_value_matches_quadrature_of_the_soft_bellman_equation(alpha):
    # V(x) = alpha log int exp(Q(x, u)/alpha) du, the integral done by the
    # quadrature of softq_ref.continuous over u* +- 40 standard deviations
    # (the mass outside is < 1e-340).
    s = solve_max_entropy_lqr([[1.1]], [[0.5]], [[1.0]], [[0.2]], [[0.3]], 0.9, alpha, digits=25)
    x = 0.7
    u_star = -float(s.K[0, 0]) * x
    sd = math.sqrt(float(s.covariance[0, 0]))

    def Q(u):
        return s.q_value(np.array([mpmath.mpf(x)]), np.array([u]))

    r = continuous_soft_value(Q, alpha, u_star - 40 * sd, u_star + 40 * sd, digits=20)
    with mpmath.workdps(40):
        V = s.value(np.array([mpmath.mpf(x)]))
    assert abs(r.value - V) <= r.error_estimate + mpmath.mpf(10) ** -22 * max(1, abs(V))


def test_alpha_dependent_constant_has_the_closed_form():
    # v(alpha) - v(0) = alpha / (2 (1 - gamma)) * log det(pi alpha H^{-1}); here
    # H is diagonal so det is a product (n = m = 2).
    A = np.array([[0.9, 0.2], [0.0, 0.8]])
    B = np.eye(2)
    Qc, Rc, W = np.eye(2), np.diag([1.0, 2.0]), 0.1 * np.eye(2)
    gamma = 0.9
    s0 = solve_max_entropy_lqr(A, B, Qc, Rc, W, gamma, 0.0, digits=30)
    for alpha in (1e-12, 0.25, 4.0):
        s = solve_max_entropy_lqr(A, B, Qc, Rc, W, gamma, alpha, digits=30)
        with mpmath.workdps(50):
            Hm = mpmath.matrix(s.H.tolist())
            a, g = mpmath.mpf(alpha), mpmath.mpf(gamma)
            expected = (
                a / (2 * (1 - g)) * mpmath.log(mpmath.det(mpmath.pi * a * mpmath.inverse(Hm)))
            )
            assert abs((s.v - s0.v) - expected) <= mpmath.mpf(10) ** -28 * max(1, abs(expected))
        np.testing.assert_array_equal(s.P, s0.P)


def test_float64_and_high_precision_agree():
    A, B, Qc, Rc, W = random_system(7, 4, 2)
    f = solve_max_entropy_lqr(A, B, Qc, Rc, W, 0.95, 0.3)
    h = solve_max_entropy_lqr(A, B, Qc, Rc, W, 0.95, 0.3, digits=30)
    # Same tolerance as in the SciPy comparison above.
    Ac = math.sqrt(0.95) * (A - B @ f.K)
    L = np.eye(16) - np.kron(Ac.T, Ac.T)
    Ph = h.P.astype(float)
    scale = (
        EPS
        * np.linalg.norm(np.linalg.inv(L), 2)
        * (np.linalg.norm(Qc, 2) + 0.95 * np.linalg.norm(A, 2) ** 2 * np.linalg.norm(Ph, 2))
    )
    assert np.abs(f.P - Ph).max() <= 1e3 * scale
    # v = (entropy term - gamma tr(P W)) / (1 - gamma): the error of P enters
    # through tr(P W) <= n |W| |dP|; the log det H term adds cond(H) eps.
    v_tol = (0.95 * 4 * np.abs(W).max() * 1e3 * scale + 0.3 * 4 * np.linalg.cond(f.H) * EPS) / 0.05
    assert abs(f.v - float(h.v)) <= v_tol + 4 * EPS * abs(f.v)
    assert f.residual <= 16 * EPS * np.abs(f.P).max()


@pytest.mark.parametrize("a", [0.5, 1.05, 1.054])
def test_uncontrollable_mode_near_the_stability_boundary(a):
    # x1' = a x1 + w1 cannot be influenced (B = [0, 1]^T) and is decoupled, so
    # P[0, 0] = 1 / (1 - gamma a^2) exactly (geometric series of gamma^t a^{2t}).
    # Near sqrt(gamma) a = 1 the problem is ill-conditioned: allow eps times the
    # sensitivity 1 / (1 - gamma a^2) of that series, times 64.
    import warnings

    gamma = 0.9
    A, B = np.diag([a, 0.5]), np.array([[0.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = solve_max_entropy_lqr(A, B, np.eye(2), np.eye(1), 0.1 * np.eye(2), gamma, 0.3)
    exact = 1 / (1 - gamma * a * a)
    assert abs(s.P[0, 0] - exact) <= 64 * EPS * exact * exact
    assert s.P[0, 1] == 0.0


def test_unstabilizable_mode_raises_without_warnings():
    import warnings

    gamma = 0.9
    a = 1 / math.sqrt(gamma) * (1 + 1e-9)
    A, B = np.diag([a, 0.5]), np.array([[0.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidArgumentError, match="stabilizable"):
            solve_max_entropy_lqr(A, B, np.eye(2), np.eye(1), 0.1 * np.eye(2), gamma, 0.3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(A=[[2.0]], B=[[0.0]], gamma=0.9), "stabilizable"),
        (dict(Rc=[[0.0]]), "Rc must be positive definite"),
        (dict(Qc=[[-1.0]]), "Qc must be positive semi-definite"),
        (dict(W=[[1.0, 0.0], [0.0, 1.0]]), "W must have shape 1x1"),
        (dict(A=[[1.0, 0.0]]), "A must be square"),
        (dict(gamma=1.0), "gamma"),
        (dict(alpha=-1.0), "alpha"),
        (dict(B=[[float("nan")]]), r"B\[0, 0\]"),
    ],
)
def test_bad_input_raises_invalid_argument_error(kwargs, match):
    args = dict(A=[[1.0]], B=[[1.0]], Qc=[[1.0]], Rc=[[1.0]], W=[[0.1]], gamma=0.5, alpha=1.0)
    args.update(kwargs)
    with pytest.raises(InvalidArgumentError, match=match) as err:
        solve_max_entropy_lqr(**args)
    assert type(err.value) is InvalidArgumentError  # not MDP data


@pytest.mark.parametrize("digits", [None, 30])
def test_the_repr_of_an_lqr_solution_shows_shapes_not_arrays(digits):
    n = 12
    sol = solve_max_entropy_lqr(
        0.5 * np.eye(n), np.eye(n), np.eye(n), np.eye(n), 0.1 * np.eye(n), 0.9, 0.5, digits=digits
    )
    text = repr(sol)
    assert len(text) < 400 and "\n" not in text
    assert f"P=array(shape=({n}, {n}))" in text and f"iterations={sol.iterations}" in text
