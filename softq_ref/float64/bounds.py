r"""A-posteriori error bounds for float64 Q-tables that really hold.

For any Q-table ``Q`` the contraction property of the soft Bellman operator
(Haarnoja et al. 2017, Theorem 3; ``proofs/04_contraction.ipynb``) gives

.. math::  \|Q - Q^*\|_\infty \le \frac{\|T Q - Q\|_\infty}{1 - L},

where ``L = gamma * max_{s,a} sum_s' P[s, a, s']`` (which is ``gamma``
without termination, up to the rounding of the rows). To make this an upper
bound *as computed*, :func:`certify` evaluates the residual ``T Q - Q`` in
extended precision (``numpy.longdouble``: 64-bit significand, unit roundoff
``u = 2**-64`` on x86-64) and adds an a-priori allowance for every rounding in
that evaluation, for the float64 rounding of the inputs when they were given
exactly (strings, fractions) and for the rounding of ``alpha``. The allowance
uses the standard bounds of Higham, *Accuracy and Stability of Numerical
Algorithms* (2002), section 3.1: a sum of ``n`` products has error at most
``gamma_n * sum |terms|`` with ``gamma_n = n u / (1 - n u)``. The log-sum-exp
allowance assumes the C library's ``expl``/``log1pl`` are accurate to a few
units in the last place (glibc documents at most 2 ulp on x86-64); it is a
generous multiple of what the analysis needs.

Where ``longdouble`` is no wider than float64 (e.g. on some ARM and Windows
builds) the same analysis is carried out with float64's ``u``: the bound still
holds, it is only larger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref._linalg import matvec, rows_dot_extended
from softq_ref._rounding import EXTENDED, TINY, U64, UNIT_ROUNDOFF, dot_underflow, gamma_n
from softq_ref.logsumexp import lse_kernel
from softq_ref.mdp import FiniteMDP

__all__ = ["Certificate", "certify", "EXTENDED", "UNIT_ROUNDOFF"]

FloatArray = NDArray[np.float64]


def _max_row_sum_bound(mdp: FiniteMDP) -> float:
    """An upper bound on ``max_{s,a} sum_s' P[s, a, s']`` (the float64 sum, widened by gamma_S)."""
    return mdp.max_row_sum_float() * (1 + gamma_n(mdp.max_row_terms(), U64))


#: columns per float64 block in :func:`accurate_pv`; the blocks' rounding is gamma_8 ~ 9e-16
BLOCK = 8


def accurate_pv(mdp: FiniteMDP, V: NDArray[Any]) -> tuple[NDArray[Any], FloatArray]:
    """``(P V)[s, a]`` to about 1e-18 relative, with a rigorous bound on its error.

    ``V`` (float64 or longdouble) is split as ``V_hi + V_lo`` with ``V_hi``
    its float64 rounding. ``P V_hi`` is summed in float64 over blocks of
    :data:`BLOCK` columns (each block's error is at most
    ``gamma_BLOCK * sum_block P |V|``; Higham 2002, eq. 3.5), and the block
    sums are added in ``longdouble``; ``P V_lo`` is tiny and is added in
    float64. This costs about one ``einsum`` pass over ``P`` and avoids a
    ``longdouble`` copy of ``P``. Returns the value (longdouble) and the
    error bound (float64, entrywise).

    For sparse transitions each row is one dot product of its ``k`` stored
    entries, every product and sum in ``longdouble``
    (:func:`softq_ref._linalg.rows_dot_extended`): within ``gamma_{k+1}`` (unit
    roundoff of longdouble) times the exact ``P|V|`` of the row, whatever
    the order of the additions (see that function); the computed ``|P||V|`` is
    within the same factor of the exact one, hence ``err = gamma_{k+1} *
    computed / (1 - gamma_{k+1})``, times ``1 + 8 u64`` for the float64
    arithmetic of the bound itself.
    """
    S, A = mdp.num_states, mdp.num_actions
    if mdp.is_sparse:
        value, absval = rows_dot_extended(mdp.transitions, np.asarray(V))
        g_k = gamma_n(np.asarray(mdp.row_terms()).ravel() + 1, UNIT_ROUNDOFF)
        err_sp = g_k * absval.astype(np.float64) / (1 - g_k) * (1 + 8 * U64)
        return value.reshape(S, A), err_sp.reshape(S, A)
    P2 = mdp.transitions.reshape(S * A, S)
    v_hi = np.asarray(V, dtype=np.float64)
    full = S - S % BLOCK
    nb = full // BLOCK
    parts = np.einsum(
        "kji,ji->kj", P2[:, :full].reshape(S * A, nb, BLOCK), v_hi[:full].reshape(nb, BLOCK)
    )
    total = parts.sum(axis=1, dtype=EXTENDED)
    if full < S:
        total = total + (P2[:, full:] @ v_hi[full:]).astype(EXTENDED)
    extended_input = np.asarray(V).dtype != np.float64
    if extended_input:
        v_lo = (np.asarray(V, dtype=EXTENDED) - v_hi.astype(EXTENDED)).astype(np.float64)
        p_abs, lo = matvec(P2, np.abs(v_hi)), matvec(P2, v_lo)
    else:
        p_abs = matvec(P2, np.abs(v_hi))
    p_abs = p_abs * (1 + gamma_n(S, U64))  # an upper bound on the exact P|V_hi|
    err = gamma_n(BLOCK + 1, U64) * p_abs + gamma_n(nb + 2, UNIT_ROUNDOFF) * p_abs
    if extended_input:
        total = total + lo.astype(EXTENDED)
        # |v_lo| <= U64 |v_hi| entrywise, so sum P |v_lo| <= U64 * p_abs
        err = err + gamma_n(S + 1, U64) * U64 * p_abs + UNIT_ROUNDOFF * np.abs(lo)
    # Underflow (proofs/coq/Rounding.v, dot_error_binary64): the float64 products P V_hi and
    # P v_lo each add at most dot_underflow(S) when their terms are subnormal; rounding v_lo
    # to float64 adds <= 2**-1075 per entry, so <= rowsum * 2**-1075 <= TINY to P v_lo; the
    # float64 evaluation of this bound (and the underestimate of P|V_hi| it uses) a few TINY.
    underflow = dot_underflow(S) * (2 if extended_input else 1) + 8 * TINY
    err = err * (1 + 8 * U64) + underflow
    return total.reshape(S, A), err.reshape(S, A)


@dataclass(frozen=True)
class AccuratePV:
    """``P V`` for an extended-precision ``V``, with an entrywise error bound.

    Built once by :func:`accurate_pv` (one blocked pass over ``P``); moving to a
    nearby ``V'`` with :meth:`moved_to` costs one float64 product ``P (V' - V)``,
    whose rounding is tiny because ``V' - V`` is: a bound on it (and on the
    rounding of ``V' - V`` to float64) is added to the running bound.
    :meth:`widened_to` moves without any product, for ``V'`` within ulps of ``V``.
    """

    V: NDArray[Any]
    pv: NDArray[Any]
    err: FloatArray

    @classmethod
    def of(cls, mdp: FiniteMDP, V: NDArray[Any]) -> AccuratePV:
        pv, err = accurate_pv(mdp, V)
        return cls(np.asarray(V, dtype=EXTENDED), pv, err)

    def moved_to(self, mdp: FiniteMDP, V_new: NDArray[Any]) -> AccuratePV:
        """``P V_new`` and its error bound, by a correction from ``P V`` (see the class).

        One float64 product ``P d`` with ``d = V_new - V`` rounded to float64.
        Its rounding, at most ``gamma_S P|d|``, and the effect of rounding
        ``d``, are bounded through the largest row sum of ``P`` by
        ``rowsum * (gamma_{S+1} max|d| + max|d_ext - d|)``: a bound that is
        negligible next to ``err`` for the small corrections of refinement.
        """
        S, A = mdp.num_states, mdp.num_actions
        P2 = mdp.transition_matrix()
        d_ext = np.asarray(V_new, dtype=EXTENDED) - self.V
        d = d_ext.astype(np.float64)
        d_round = float(np.abs((d_ext - d.astype(EXTENDED)).astype(np.float64)).max())
        step = matvec(P2, d)
        rows = _max_row_sum_bound(mdp)
        terms = mdp.max_row_terms()  # S for dense storage, the most nonzeros of a row for sparse
        step_err = rows * (gamma_n(terms + 1, U64) * float(np.abs(d).max()) + d_round)
        # underflow: the product P d (dot_underflow(terms)), d_round and this sum in float64
        err = (
            self.err
            + step_err
            + (UNIT_ROUNDOFF * (np.abs(step) + np.abs(self.pv.astype(np.float64).ravel()))).reshape(
                S, A
            )
        ) * (1 + 4 * U64) + (dot_underflow(S) + 8 * TINY)
        pv = self.pv + step.astype(EXTENDED).reshape(S, A)
        return AccuratePV(np.asarray(V_new, dtype=EXTENDED), pv, err)

    def widened_to(self, mdp: FiniteMDP, V_new: NDArray[Any]) -> AccuratePV:
        """``P V`` kept as the value for ``P V_new``, with the error widened to cover it.

        ``|P V_new - P V| <= rowsum * max|V_new - V|``: no pass over ``P`` at
        all, for a ``V_new`` within a few ulps of ``V`` (as in :func:`certify`
        after :func:`softq_ref.solve`).
        """
        gap = float(np.abs(np.asarray(V_new, dtype=EXTENDED) - self.V).max())
        rows = _max_row_sum_bound(mdp)
        # + 4 TINY: the float64 rounding of gap (down by <= 2**-1075) and of this sum
        err = (self.err + rows * gap * (1 + 4 * U64)) * (1 + 4 * U64) + 4 * TINY
        return AccuratePV(np.asarray(V_new, dtype=EXTENDED), self.pv, err)


def _log_prior_ext(mdp: FiniteMDP) -> NDArray[Any] | None:
    if mdp.prior is None:
        return None
    with np.errstate(divide="ignore"):
        return np.log(mdp.prior.astype(EXTENDED))


def prior_entropy_range(mdp: FiniteMDP) -> float:
    """``h`` with ``|H_mu(pi)(s)| <= h`` for every policy with ``KL(pi || mu) < inf``.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP (its prior ``mu``, or the counting measure).

    Returns
    -------
    float
        ``log A`` for the counting measure, else ``max(|log min_{mu > 0} mu|, |log sum mu|)``.

    Notes
    -----
    ``H_mu(pi) = log sum_a mu_a - KL(pi || mu / sum mu)`` lies in
    ``[log min_{mu>0} mu, log sum mu]``. It bounds the derivative of ``V`` in
    ``alpha``.

    Examples
    --------
    >>> prior_entropy_range(FiniteMDP([[[1.0], [1.0]]], [[0.0, 0.0]], 0.5))  # log 2
    0.6931471805599453
    """
    if mdp.prior is None:
        return math.log(mdp.num_actions)
    mu = mdp.prior
    pos = np.where(mu > 0, mu, np.inf)
    lo = float(np.log(pos.min(axis=1)).min())
    hi = float(np.log(mu.sum(axis=1)).max())
    return max(abs(lo), abs(hi))


def lse_allowance(
    Q: NDArray[Any], V: NDArray[Any], alpha: float, log_mu: NDArray[Any] | None, u: float
) -> NDArray[Any]:
    """A-priori bound on the rounding error of the kernel's ``V(s)`` at unit roundoff ``u``.

    Parameters
    ----------
    Q : ndarray, shape (..., A)
        The Q-values given to the kernel.
    V : ndarray, shape (...)
        The kernel's values.
    alpha : float
        The temperature.
    log_mu : ndarray or None
        ``log mu`` (``-inf`` where ``mu = 0``), or None for the counting measure.
    u : float
        The unit roundoff of the arithmetic (``U64`` or ``UNIT_ROUNDOFF``).

    Returns
    -------
    ndarray, shape (...)
        An upper bound on ``|computed V - exact V|`` per entry.

    Notes
    -----
    ``V = m + alpha * (z_k + log1p(s))`` with ``z_a = (Q_a - m)/alpha + log mu_a``.
    The error of each ``z_a`` is at most ``3u|z_a|``; it moves ``V`` by at
    most ``alpha * max_a |z_a| * 3u`` (the weights are a probability vector),
    and ``alpha |z_a| <= |Q_a - m| + alpha |log mu_a| <= 2 max|Q| + alpha
    max|log mu|``. The exponentials, the sum of ``A`` terms in ``[0, 1]`` and
    ``log1p`` add ``(A + 6) u`` relative to ``1 + s``, i.e. ``alpha (A + 6) u``
    absolute; the final additions ``u (|m| + |V| + alpha |z_k| + alpha log A)``.
    The result is that sum multiplied by 4 for safety. It assumes the C
    library's ``exp`` and ``log1p`` accurate to a few ulps (glibc: at most 2).

    Examples
    --------
    >>> import numpy as np
    >>> float(lse_allowance(np.array([0.0, 0.0]), np.log(2.0), 1.0, None, 2.0**-53)) < 1e-14
    True
    """
    A = Q.shape[-1]
    qmax = np.abs(Q).max(axis=-1).astype(np.float64)
    lmu = 0.0
    if log_mu is not None:
        finite = np.where(np.isfinite(log_mu), np.abs(log_mu), 0.0)
        lmu = finite.max(axis=-1).astype(np.float64)
    v = np.abs(np.asarray(V, dtype=np.float64))
    # 3 (2 qmax + alpha lmu) + alpha (A + 6) + (qmax + v + alpha (lmu + log A + 1)), times 4u,
    # with u multiplied in first so that values near the float64 limit do not overflow
    c = 4.0 * u
    return (7 * c) * qmax + c * v + (c * alpha) * (4 * lmu + (A + 7 + math.log(A)))


@dataclass(frozen=True)
class Certificate:
    """What :func:`certify` proves about a float64 Q-table.

    ``residual``: upper bound on ``max |T Q - Q|``; ``contraction``: the
    factor ``L``; ``q_bound``: upper bound on ``max |Q - Q*|``; ``v_bound``:
    upper bound on ``max |V - V*|`` for the returned float64 ``V``. ``V`` is
    the soft value of ``Q`` rounded to float64.
    """

    residual: float
    contraction: float
    q_bound: float
    v_bound: float
    V: FloatArray


def certify(
    mdp: FiniteMDP,
    Q: FloatArray,
    alpha: float,
    *,
    exact_alpha: Any = None,
    near: AccuratePV | None = None,
) -> Certificate:
    """Certify a float64 Q-table of an infinite-horizon MDP: a proven bound on ``|Q - Q*|``.

    Parameters
    ----------
    mdp : FiniteMDP
        An MDP with the infinite horizon.
    Q : ndarray, shape (S, A)
        The float64 Q-table to certify.
    alpha : float
        The temperature, as a double.
    exact_alpha : Fraction, optional
        The exact temperature when it differs from ``alpha``: adds the effect of
        the difference, ``|dQ*/d alpha| <= gamma h / (1 - gamma)`` with ``h``
        from :func:`prior_entropy_range`.
    near : AccuratePV, optional
        An accurate ``P V`` at a ``V`` within a few ulps of the soft value of
        ``Q`` (the solver's last iterate): it stands for ``P V_Q``, its error
        widened by ``rowsum * max|V_Q - V|``, instead of a fresh product.

    Returns
    -------
    Certificate
        ``residual >= max|T Q - Q|``, the contraction factor ``L``,
        ``q_bound >= max|Q - Q*|`` and ``v_bound >= max|V - V*|`` for the
        returned float64 ``V``; infinite bounds when ``L >= 1``.

    Notes
    -----
    ``|Q - Q*| <= |T Q - Q| / (1 - L)`` with ``L = gamma * max row sum of P``.
    The residual is evaluated in extended precision with an a-priori allowance
    for every rounding (see the module docstring), so the bound holds as
    computed. It depends on the run (BLAS, threads): docs/conventions.md
    section 5. With sparse transitions every product of a row of ``P`` with a
    vector has as many terms as the row has stored nonzeros
    (:meth:`~softq_ref.FiniteMDP.row_terms`), and the allowance counts those,
    not ``S``. The bound applied is machine-checked in Coq: ``soft_error_bound``
    in ``proofs/coq/Bellman.v`` (its rounding allowance is not).

    References
    ----------
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
    SIAM (2002), section 3.1.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0]]], [[1.0]], 0.5)
    >>> import numpy as np
    >>> cert = certify(mdp, np.array([[2.0]]), 0.0)  # Q* = 1 / (1 - 0.5) = 2
    >>> cert.contraction > 0.5, cert.q_bound < 1e-14  # L: gamma, widened by the row-sum rounding
    (True, True)
    """
    S, A = mdp.num_states, mdp.num_actions
    u = UNIT_ROUNDOFF
    g = mdp.gamma
    log_mu = _log_prior_ext(mdp)
    q_ext = Q.astype(EXTENDED)
    v_ext, _ = lse_kernel(q_ext, alpha, log_mu)
    eps_v = lse_allowance(Q, v_ext, alpha, log_mu, u)
    acc = AccuratePV.of(mdp, v_ext) if near is None else near.widened_to(mdp, v_ext)
    r_ext = mdp.rewards_extended()
    tq = r_ext + EXTENDED(g) * acc.pv
    resid = np.abs((tq - q_ext).astype(np.float64))
    # Rounding in the residual evaluation: P V (accurate_pv's bound), the multiplication by
    # gamma, the addition of R and the subtraction of Q; the kernel's allowance eps_V carried
    # by P; with exact (non-float) inputs, the float64 rounding of P, R, gamma and mu. The
    # terms proportional to P|V| and P eps_V are nonnegative and share one product with P,
    # whose own rounding (and that of the weights) is covered by 1 + gamma_{S+4}.
    exact_inputs = not mdp.float_source()
    # (an exact gamma is off by <= U64 g + 2**-1075 in float64: the TINY term)
    c_abs_v = g * (gamma_n(4, u) + (3 * U64 if exact_inputs else 0.0)) + (
        TINY if exact_inputs else 0.0
    )
    # A row's product has as many terms as the row has stored entries: S when dense,
    # its nonzeros when sparse (row_terms; their maximum where one constant serves all rows).
    c_eps = g * (1 + gamma_n(mdp.max_row_terms() + 2, U64))
    weights = c_abs_v * np.abs(v_ext.astype(np.float64)) + c_eps * eps_v
    p_terms = matvec(mdp.transition_matrix(), weights).reshape(S, A)
    allowance = g * acc.err + p_terms * (1 + gamma_n(mdp.row_terms() + 4, U64))
    allowance = allowance + gamma_n(4, u) * (np.abs(mdp.rewards) + np.abs(Q))
    allowance = allowance + mdp.reward_reduction_error()
    if exact_inputs:
        # float64 P, R, gamma, mu are roundings of the exact input: each off by <= U64 relative
        # float64 R and gamma are roundings of the exact input (off by <= U64 relative, + TINY:
        # 2**-1075 absolute for a reward rounded into the subnormal range). A rounded prior moves
        # every soft value V(s') by <= alpha * lam, lam = max |log(mu_float / mu)|.
        lam = mdp.prior_log_rounding()
        allowance = allowance + U64 * np.abs(mdp.rewards) + g * alpha * lam + TINY
    row_max = mdp.max_row_sum_float()
    L = g * row_max * (1 + (mdp.max_row_terms() + 4) * U64)
    if L >= 1:
        return Certificate(math.inf, L, math.inf, math.inf, v_ext.astype(np.float64))
    # Underflow: rounding the residual to float64 (resid), the float64 product P * weights
    # (dot_underflow(S)) and the float64 sums of this allowance, each <= 2**-1075 absolute.
    allowance = allowance + (dot_underflow(S) + 16 * TINY)
    residual = float((resid + allowance).max()) * (1 + 4 * U64)
    q_bound = residual / (1 - L) * (1 + 4 * U64) + TINY
    # the rounded prior also enters V = V_Q directly: |V_Q(mu_float) - V_Q(mu)| <= alpha * lam
    v_extra = alpha * mdp.prior_log_rounding() * (1 + 4 * U64)
    if exact_alpha is not None:
        # Q*(alpha) moves by at most gamma h |d alpha| / (1 - L); V_Q(s) by h |d alpha| more
        h_dalpha = abs(float(Fraction(exact_alpha) - Fraction(alpha))) * prior_entropy_range(mdp)
        q_bound += g * h_dalpha / (1 - L) * (1 + 4 * U64)
        v_extra += h_dalpha * (1 + 4 * U64)
    V = v_ext.astype(np.float64)
    v_round = np.abs((V.astype(EXTENDED) - v_ext).astype(np.float64))
    v_bound = q_bound + v_extra + float((eps_v + v_round).max()) * (1 + 4 * U64) + 4 * TINY
    return Certificate(residual, L, q_bound, v_bound, V)
