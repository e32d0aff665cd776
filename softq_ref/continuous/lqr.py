r"""Maximum-entropy (entropy-regularised) linear-quadratic control.

The problem (conventions used throughout this module):

* dynamics ``x' = A x + B u + w`` with ``w ~ N(0, W)``, state ``x`` in
  ``R^n``, action ``u`` in ``R^m``;
* reward ``r(x, u) = -(x^T Qc x + u^T Rc u)`` (no factor 1/2), ``Qc``
  symmetric positive semi-definite, ``Rc`` symmetric positive definite;
* discount ``0 <= gamma < 1``, temperature ``alpha >= 0``, and the Lebesgue
  measure on actions (differential entropy), as in Haarnoja et al. (2017),
  "Reinforcement Learning with Deep Energy-Based Policies", for continuous
  actions.

The soft value is ``V(x) = -x^T P x + v`` and, with
``H = Rc + gamma B^T P B``,

* ``P = Qc + gamma A^T P A - gamma^2 A^T P B H^{-1} B^T P A`` (the discounted
  Riccati equation: the same for every ``alpha``);
* ``pi*(u | x) = N(-K x, (alpha / 2) H^{-1})`` with ``K = gamma H^{-1} B^T P A``
  (the standard discounted LQR gain, for every ``alpha``);
* ``v = [(alpha / 2) log det(pi alpha H^{-1}) - gamma tr(P W)] / (1 - gamma)``,
  the only place where ``alpha`` enters the value.

Derived in ``proofs/08_max_entropy_lqr.ipynb`` (soft Bellman equation of
Haarnoja et al. 2017, Theorem 2, with the Gaussian integral of
``softq_ref.continuous.quadratic_soft_value``; the scalar case with sympy).
The Riccati equation is solved by the structure-preserving doubling algorithm
(Chu, Fan & Lin, "A structure-preserving doubling algorithm for
discrete-time algebraic Riccati equations", Linear Algebra Appl. 396 (2005)),
in float64 or in mpmath at any precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._validate import first_bad_index, float_alpha, positive_int
from softq_ref.continuous._checks import _symmetrized
from softq_ref.errors import InvalidArgumentError

__all__ = ["MaxEntLQRSolution", "solve_max_entropy_lqr"]

_GUARD_DIGITS = 20
_MAX_DOUBLINGS = 200


@dataclass(frozen=True)
class MaxEntLQRSolution:
    """Solution of the maximum-entropy LQR problem (see the module docstring).

    ``P`` (n, n), ``v``: the soft value ``V(x) = -x^T P x + v``; ``K`` (m, n):
    the policy mean ``-K x``; ``covariance`` (m, m) ``= (alpha/2) H^{-1}``;
    ``H = Rc + gamma B^T P B``. Float64 arrays, or (with ``digits``) object
    arrays of mpmath ``mpf`` and ``v`` an ``mpf``. ``residual`` is the largest
    entry of the Riccati residual ``|Riccati(P) - P|`` at the working
    precision; ``error_estimate`` (``digits`` only, else None) estimates the
    largest error in ``P``, ``K``, ``covariance`` and ``v`` from a second
    solve at twice the working precision (an estimate, not a certified bound).
    The problem data are kept (``A``, ``B``, ``Qc``, ``Rc``, ``W``, ``gamma``,
    ``alpha``) so that :meth:`value` and :meth:`q_value` can be evaluated.
    """

    P: NDArray[Any]
    v: Any
    K: NDArray[Any]
    covariance: NDArray[Any]
    H: NDArray[Any]
    residual: Any
    iterations: int
    error_estimate: Any
    digits: int | None
    A: NDArray[np.float64]
    B: NDArray[np.float64]
    Qc: NDArray[np.float64]
    Rc: NDArray[np.float64]
    W: NDArray[np.float64]
    gamma: float
    alpha: float

    def __repr__(self) -> str:
        """Compact: the arrays show their shape only."""
        parts = [f"{n}={getattr(self, n)!r}" for n in ("gamma", "alpha", "digits", "iterations")]
        parts += [f"v={self.v}", f"residual={self.residual}"]
        parts += [f"{n}=array(shape={getattr(self, n).shape})" for n in ("P", "K", "covariance")]
        return f"MaxEntLQRSolution({', '.join(parts)})"

    def value(self, x: ArrayLike) -> Any:
        """Soft value ``V(x) = -x^T P x + v``."""
        xx = np.asarray(x, dtype=self.P.dtype)
        return -(xx @ self.P @ xx) + self.v

    def q_value(self, x: ArrayLike, u: ArrayLike) -> Any:
        """Soft Q ``r(x, u) + gamma E[V(A x + B u + w)]``, with
        ``E[V(y + w)] = -y^T P y - tr(P W) + v``."""
        xx = np.asarray(x, dtype=self.P.dtype)
        uu = np.asarray(u, dtype=self.P.dtype)
        y = self.A.astype(self.P.dtype) @ xx + self.B.astype(self.P.dtype) @ uu
        r = -(xx @ self.Qc.astype(self.P.dtype) @ xx) - (uu @ self.Rc.astype(self.P.dtype) @ uu)
        trPW = np.trace(self.P @ self.W.astype(self.P.dtype))
        return r + self.gamma * (-(y @ self.P @ y) - trPW + self.v)


def _matrix(value: ArrayLike, name: str, shape: tuple[int | None, int | None]) -> np.ndarray:
    M = np.asarray(value, dtype=np.float64)
    if M.ndim == 0:
        M = M.reshape(1, 1)
    if M.ndim != 2 or any(s is not None and s != t for s, t in zip(shape, M.shape, strict=True)):
        want = "x".join("?" if s is None else str(s) for s in shape)
        raise InvalidArgumentError(f"{name} must have shape {want}, got {np.shape(value)}")
    idx = first_bad_index(~np.isfinite(M))
    if idx is not None:
        raise InvalidArgumentError(f"{name}{list(idx)} is {M[idx]!r}; every entry must be finite")
    return M


def _symmetric(M: np.ndarray, name: str, *, definite: bool) -> np.ndarray:
    M = _symmetrized(M, name)
    lam = float(np.linalg.eigvalsh(M).min()) if M.size else 0.0
    scale = np.abs(M).max(initial=0.0)
    if definite and lam <= 0:
        raise InvalidArgumentError(
            f"{name} must be positive definite; its smallest eigenvalue is {lam!r}"
        )
    if not definite and lam < -M.shape[0] * 8 * np.finfo(np.float64).eps * scale:
        raise InvalidArgumentError(
            f"{name} must be positive semi-definite; its smallest eigenvalue is {lam!r}"
        )
    return M


def _check(
    A: ArrayLike,
    B: ArrayLike,
    Qc: ArrayLike,
    Rc: ArrayLike,
    W: ArrayLike,
    gamma: Any,
    alpha: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
    Am = _matrix(A, "A", (None, None))
    n = Am.shape[0]
    if Am.shape[1] != n:
        raise InvalidArgumentError(f"A must be square, got shape {Am.shape}")
    Bm = np.asarray(B, dtype=np.float64)
    if Bm.ndim == 1 and Bm.shape[0] == n:
        Bm = Bm.reshape(n, 1)
    Bm = _matrix(Bm, "B", (n, None))
    m = Bm.shape[1]
    Qm = _symmetric(_matrix(Qc, "Qc", (n, n)), "Qc", definite=False)
    Rm = _symmetric(_matrix(Rc, "Rc", (m, m)), "Rc", definite=True)
    Wm = _symmetric(_matrix(W, "W", (n, n)), "W", definite=False)
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"gamma must be a real number, got {gamma!r}") from None
    if not (math.isfinite(g) and 0 <= g < 1):
        raise InvalidArgumentError(f"gamma must be in [0, 1), got {gamma!r}")
    a, _ = float_alpha(alpha)
    return Am, Bm, Qm, Rm, Wm, g, a


def _not_stabilizable() -> InvalidArgumentError:
    return InvalidArgumentError(
        "the Riccati iteration diverged: (sqrt(gamma) A, sqrt(gamma) B) must be stabilizable "
        "(and (Qc, sqrt(gamma) A) detectable) for the discounted cost to be finite"
    )


def _sda_float(
    A: np.ndarray, B: np.ndarray, Qc: np.ndarray, Rc: np.ndarray, gamma: float
) -> tuple[np.ndarray, int]:
    """Structure-preserving doubling for ``P = Qc + At^T P (I + G P)^{-1} At``.

    ``At = sqrt(gamma) A``, ``G = gamma B Rc^{-1} B^T``. Iterates (Chu, Fan &
    Lin 2005)::

        A_{k+1} = A_k (I + G_k H_k)^{-1} A_k
        G_{k+1} = G_k + A_k (I + G_k H_k)^{-1} G_k A_k^T
        H_{k+1} = H_k + A_k^T H_k (I + G_k H_k)^{-1} A_k

    from ``A_0 = At, G_0 = G, H_0 = Qc``; ``H_k`` increases to ``P``
    quadratically (``H_k`` is the value of the ``2^k``-step problem).
    """
    n = A.shape[0]
    I = np.eye(n)
    Ak = math.sqrt(gamma) * A
    Gk = gamma * B @ np.linalg.solve(Rc, B.T)
    Gk = (Gk + Gk.T) / 2
    Hk = Qc.copy()
    eps = float(np.finfo(np.float64).eps)
    with np.errstate(over="ignore", invalid="ignore"):
        return _sda_float_loop(I, Ak, Gk, Hk, eps)


def _sda_float_loop(
    I: np.ndarray, Ak: np.ndarray, Gk: np.ndarray, Hk: np.ndarray, eps: float
) -> tuple[np.ndarray, int]:
    """The iteration of :func:`_sda_float` (overflow means divergence: checked)."""
    prev_change = math.inf
    for k in range(1, _MAX_DOUBLINGS + 1):
        M = I + Gk @ Hk
        try:
            MA = np.linalg.solve(M, Ak)  # (I + G H)^{-1} A
            MG = np.linalg.solve(M, Gk)  # (I + G H)^{-1} G
        except np.linalg.LinAlgError:
            raise _not_stabilizable() from None
        H_new = Hk + Ak.T @ Hk @ MA
        Gk = Gk + Ak @ MG @ Ak.T
        Ak = Ak @ MA
        H_new = (H_new + H_new.T) / 2
        Gk = (Gk + Gk.T) / 2
        if not np.isfinite(H_new).all() or np.abs(H_new).max() > 1e300:
            raise _not_stabilizable()
        change = np.abs(H_new - Hk).max()
        Hk = H_new
        scale = np.abs(Hk).max(initial=0.0)
        if change <= 4 * eps * scale or change == 0:
            return Hk, k
        # Quadratic convergence ends in rounding noise: once the change is tiny
        # and stops decreasing, the iterate is as good as float64 makes it.
        if change <= math.sqrt(eps) * scale and change >= prev_change:
            return Hk, k
        prev_change = change
    raise _not_stabilizable()


def _sda_mp(A: Any, B: Any, Qc: Any, Rc: Any, gamma: Any, mp: Any) -> tuple[Any, int]:
    """The same doubling iteration as :func:`_sda_float` with mpmath matrices."""
    n = A.rows
    I = mp.eye(n)
    Ak = mp.sqrt(gamma) * A
    Gk = gamma * B * mp.inverse(Rc) * B.T
    Hk = Qc.copy()
    tiny = mp.ldexp(1, -mp.prec + 6)
    prev_change = mp.inf
    huge = mp.mpf(10) ** (mp.dps + 300)
    for k in range(1, _MAX_DOUBLINGS + 1):
        M = I + Gk * Hk
        try:
            Minv = mp.inverse(M)
        except ZeroDivisionError:
            raise _not_stabilizable() from None
        MA = Minv * Ak
        H_new = Hk + Ak.T * Hk * MA
        Gk = Gk + Ak * Minv * Gk * Ak.T
        Ak = Ak * MA
        H_new = (H_new + H_new.T) / 2
        Gk = (Gk + Gk.T) / 2
        scale = mp.mnorm(H_new, 1)
        if scale > huge:
            raise _not_stabilizable()
        change = mp.mnorm(H_new - Hk, 1)
        Hk = H_new
        if change <= tiny * scale:
            return Hk, k
        if change <= mp.sqrt(tiny) * scale and change >= prev_change:
            return Hk, k  # stagnated at the working precision (see _sda_float)
        prev_change = change
    raise _not_stabilizable()


def _post_float(
    P: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    Qc: np.ndarray,
    Rc: np.ndarray,
    W: np.ndarray,
    gamma: float,
    alpha: float,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray, float]:
    """From ``P``: ``H``, ``K``, ``covariance``, ``v`` and the Riccati residual."""
    H = Rc + gamma * B.T @ P @ B
    H = (H + H.T) / 2
    K = gamma * np.linalg.solve(H, B.T @ P @ A)
    Hinv = np.linalg.inv(H)
    cov = alpha / 2 * (Hinv + Hinv.T) / 2
    riccati = Qc + gamma * A.T @ P @ A - gamma * A.T @ P @ B @ K
    residual = float(np.abs((riccati + riccati.T) / 2 - P).max())
    m = H.shape[0]
    if alpha == 0:
        entropy_term = 0.0
    else:
        # (alpha/2) log det(pi alpha H^{-1}) = (alpha/2) (m log(pi alpha) - log det H)
        logdet_H = 2.0 * float(np.sum(np.log(np.diag(np.linalg.cholesky(H)))))
        entropy_term = alpha / 2 * (m * math.log(math.pi * alpha) - logdet_H)
    v = (entropy_term - gamma * float(np.trace(P @ W))) / (1 - gamma)
    return H, v, K, cov, P, residual


def _solve_mp(
    A: np.ndarray,
    B: np.ndarray,
    Qc: np.ndarray,
    Rc: np.ndarray,
    W: np.ndarray,
    gamma: float,
    alpha: float,
    dps: int,
) -> tuple[Any, Any, Any, Any, Any, Any, int]:
    """The whole solution at ``dps`` digits: (P, v, K, cov, H, residual, iterations)."""
    import mpmath

    mp = mpmath.mp
    with mp.workdps(dps):
        Am, Bm, Qm, Rm, Wm = (mp.matrix(M.tolist()) for M in (A, B, Qc, Rc, W))
        g, a = mp.mpf(gamma), mp.mpf(alpha)
        P, iterations = _sda_mp(Am, Bm, Qm, Rm, g, mp)
        H = Rm + g * Bm.T * P * Bm
        H = (H + H.T) / 2
        Hinv = mp.inverse(H)
        K = g * Hinv * (Bm.T * P * Am)
        cov = a / 2 * (Hinv + Hinv.T) / 2
        riccati = Qm + g * Am.T * P * Am - g * Am.T * P * Bm * K
        riccati = (riccati + riccati.T) / 2
        residual = max(abs(x) for x in (riccati - P))
        m = H.rows
        if a == 0:
            entropy_term = mp.zero
        else:
            L = mp.cholesky(H)
            logdet_H = 2 * mp.fsum(mp.log(L[i, i]) for i in range(m))
            entropy_term = a / 2 * (m * mp.log(mp.pi * a) - logdet_H)
        trPW = mp.fsum((P * Wm)[i, i] for i in range(P.rows))
        v = (entropy_term - g * trPW) / (1 - g)
        return P, v, K, cov, H, residual, iterations


def _to_object(M: Any) -> NDArray[Any]:
    out = np.empty((M.rows, M.cols), dtype=object)
    for i in range(M.rows):
        for j in range(M.cols):
            out[i, j] = M[i, j]
    return out


def solve_max_entropy_lqr(
    A: ArrayLike,
    B: ArrayLike,
    Qc: ArrayLike,
    Rc: ArrayLike,
    W: ArrayLike,
    gamma: float,
    alpha: float,
    *,
    digits: int | None = None,
) -> MaxEntLQRSolution:
    r"""Solve the maximum-entropy LQR problem (soft Riccati equation).

    Parameters
    ----------
    A : array_like, shape (n, n)
        Dynamics matrix.
    B : array_like, shape (n, m)
        Control matrix (a vector of length ``n`` for ``m = 1``).
    Qc : array_like, shape (n, n)
        State cost, symmetric positive semi-definite.
    Rc : array_like, shape (m, m)
        Control cost, symmetric positive definite.
    W : array_like, shape (n, n)
        Noise covariance, symmetric positive semi-definite.
    gamma : float
        Discount, ``0 <= gamma < 1``.
    alpha : float
        Temperature ``alpha >= 0``.
    digits : int, optional
        None for float64; else the number of digits of an mpmath solution.

    Returns
    -------
    MaxEntLQRSolution
        ``P``, ``v``, ``K``, ``covariance``, ``H``, the Riccati residual and the
        number of iterations (and an ``error_estimate`` with ``digits``).

    Raises
    ------
    InvalidArgumentError
        For matrices of the wrong shape, non-finite, not symmetric or not
        (semi-)definite, a bad ``gamma``, ``alpha`` or ``digits``, or a system
        that is not stabilizable.

    Notes
    -----
    Dynamics ``x' = A x + B u + w``, ``w ~ N(0, W)``; reward
    ``-(x^T Qc x + u^T Rc u)``; discount ``gamma``; temperature ``alpha``
    (differential entropy of the policy). The soft Bellman equation
    (Haarnoja et al. 2017, Theorem 2) ``V(x) = alpha log int exp(Q(x, u)/alpha) du``
    with ``Q(x, u) = r(x, u) + gamma E V(x')`` is solved by
    ``V(x) = -x^T P x + v``, where ``P`` solves the discounted Riccati equation
    ``P = Qc + gamma A^T P A - gamma^2 A^T P B H^{-1} B^T P A``,
    ``H = Rc + gamma B^T P B``, and

    ``v = [(alpha/2) log det(pi alpha H^{-1}) - gamma tr(P W)] / (1 - gamma)``.

    The soft-optimal policy is ``N(-K x, (alpha/2) H^{-1})`` with
    ``K = gamma H^{-1} B^T P A``: the standard discounted LQR gain for every
    ``alpha``, with a covariance proportional to ``alpha``. ``alpha = 0`` is
    the standard LQR (zero covariance, ``v = -gamma tr(P W) / (1 - gamma)``).
    Derivation: ``proofs/08_max_entropy_lqr.ipynb``.

    Requires ``(sqrt(gamma) A, sqrt(gamma) B)`` stabilizable and
    ``(Qc, sqrt(gamma) A)`` detectable (else ``InvalidArgumentError``).

    ``digits=None``: float64 (doubling algorithm to a relative change of a
    few eps). ``digits=D``: mpmath at ``D + 20`` digits from the exact binary
    values of the inputs, repeated at twice that precision; the entries are
    ``mpf`` and ``error_estimate`` is the largest difference between the two
    solves.

    References
    ----------
    T. Haarnoja, H. Tang, P. Abbeel, S. Levine, "Reinforcement Learning with Deep
    Energy-Based Policies", ICML 2017.

    Examples
    --------
    >>> s = solve_max_entropy_lqr([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[0.0]], 0.5, 0.0)
    >>> round(float(s.P[0, 0]), 12), round(float(s.K[0, 0]), 12)  # P = sqrt 2, K = sqrt 2 - 1
    (1.414213562373, 0.414213562373)
    """
    Am, Bm, Qm, Rm, Wm, g, a = _check(A, B, Qc, Rc, W, gamma, alpha)
    common = dict(A=Am, B=Bm, Qc=Qm, Rc=Rm, W=Wm, gamma=g, alpha=a)
    if digits is None:
        P, iterations = _sda_float(Am, Bm, Qm, Rm, g)
        H, v, K, cov, P, residual = _post_float(P, Am, Bm, Qm, Rm, Wm, g, a)
        return MaxEntLQRSolution(
            P=P,
            v=v,
            K=K,
            covariance=cov,
            H=H,
            residual=residual,
            iterations=iterations,
            error_estimate=None,
            digits=None,
            **common,  # type: ignore[arg-type]
        )
    import mpmath

    positive_int(digits, "digits")
    dps = digits + _GUARD_DIGITS
    lo = _solve_mp(Am, Bm, Qm, Rm, Wm, g, a, dps)
    hi = _solve_mp(Am, Bm, Qm, Rm, Wm, g, a, 2 * dps)
    with mpmath.mp.workdps(2 * dps):
        diffs = [abs(lo[1] - hi[1])]
        for x, y in zip(lo[:5], hi[:5], strict=True):
            if isinstance(x, mpmath.matrix):
                diffs.extend(abs(p - q) for p, q in zip(x, y, strict=True))
        err = max(diffs)
    P, v, K, cov, H, residual, iterations = hi
    return MaxEntLQRSolution(
        P=_to_object(P),
        v=v,
        K=_to_object(K),
        covariance=_to_object(cov),
        H=_to_object(H),
        residual=residual,
        iterations=iterations,
        error_estimate=err,
        digits=digits,
        **common,  # type: ignore[arg-type]
    )
