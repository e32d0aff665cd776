"""The float64 bound on sparse MDPs of 20 to 500 states, against the independent reference.

``solve`` on a sparse MDP (CSR products, sparse LU) must stay within its certified
``error_bound`` of ``tests/mp_reference.py`` (50 digits, Newton in mpmath over the
nonzeros), with termination, priors with zeros and finite horizons. The reference's own
error (``reference_error``, about ``1e-54`` relative) is added to the tolerance.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import example, given
from hypothesis import strategies as st

from softq_ref import FiniteMDP, solve
from softq_ref.strategies import sparse_mdps, temperatures

from mp_reference import max_abs_diff, mp_solve, reference_error

DPS = 50


def _ring(S: int, *, prior_zeros: bool, termination: bool) -> FiniteMDP:
    """A pinned sparse MDP: a ring of ``S`` states, 3 actions (stay, forward with a slip
    back, jump half-way), rewards ``sin(s + a)``; with ``termination`` action 2 keeps only
    3/4 of its mass; with ``prior_zeros`` action 2 is unavailable in every other state."""
    A = 3
    rows, cols, vals = [], [], []
    for s in range(S):
        for a, row in enumerate(
            [
                [(s, 1.0)],
                [((s + 1) % S, 0.875), ((s - 1) % S, 0.125)],
                [((s + S // 2) % S, 0.75 if termination else 1.0)],
            ]
        ):
            for t, p in row:
                rows.append(s * A + a)
                cols.append(t)
                vals.append(p)
    P = sp.csr_array((vals, (rows, cols)), shape=(S * A, S))
    R = np.sin(np.arange(S)[:, None] + np.arange(A)[None, :])
    mu = None
    if prior_zeros:
        mu = np.full((S, A), 0.5)
        mu[::2, 2] = 0.0
        mu[::2, :2] = 0.5
        mu[1::2] = 1 / 3
    return FiniteMDP(P, R, 0.95, prior=mu, termination=termination)


def _check(mdp: FiniteMDP, alpha: float) -> None:
    r = solve(mdp, alpha)
    start = None if mdp.horizon is not None else r.V
    Q, V, _ = mp_solve(mdp, alpha, dps=DPS, start=start)
    tol = r.error_bound + reference_error(mdp, r.V, DPS, alpha)
    assert max_abs_diff(r.Q, Q) <= tol, (max_abs_diff(r.Q, Q), r.error_bound)
    assert max_abs_diff(r.V, V) <= tol, (max_abs_diff(r.V, V), r.error_bound)


@given(
    sparse_mdps(
        states=(20, 500),
        actions=(1, 3),
        successors=(1, 4),
        gamma=(0.0, 0.99),
        prior=st.booleans(),
        termination=st.booleans(),
        horizon=st.one_of(st.none(), st.integers(1, 4)),
    ),
    temperatures(1e-3, 1e3),
)
@example(_ring(500, prior_zeros=True, termination=True), 0.1)
@example(_ring(500, prior_zeros=False, termination=False), 0.0)
@example(_ring(40, prior_zeros=True, termination=False), 1e-3)
def test_sparse_solve_is_within_its_bound_of_the_reference(mdp, alpha):
    assert mdp.is_sparse and 20 <= mdp.num_states <= 500
    _check(mdp, alpha)


def test_the_reference_resolves_values_of_order_1e_300():
    """The reference's stop is relative: values of 1e-300 get their 50 digits, not 0.

    ``V*`` is homogeneous: scaling the rewards and ``alpha`` by ``c`` scales ``Q*`` and
    ``V*`` by ``c``. The reference at ``c = 1e-300`` must agree with ``c`` times the
    reference at ``c = 1`` to 45 digits (an absolute stop at 1e-65 returned 0 here).
    """
    P = sp.csr_array(
        ([0.5, 0.5, 1.0, 0.25, 0.75, 1.0], ([0, 0, 1, 2, 2, 3], [0, 1, 1, 0, 1, 0])),
        shape=(4, 2),
    )
    R = np.array([[1.0, -2.0], [0.5, 3.0]])
    c = 1e-300
    small = FiniteMDP(P, R * c, 0.9)
    unit = FiniteMDP(P, R, 0.9)
    from mpmath import mp

    _, V1, _ = mp_solve(unit, 0.5, dps=DPS)
    _, Vc, _ = mp_solve(small, 0.5 * c, dps=DPS)
    with mp.workdps(DPS + 10):
        for v1, vc in zip(V1, Vc, strict=True):
            assert abs(vc) > 0
            # R * c and 0.5 * c are doubles within 2**-53 relative of the exact products
            assert abs(vc / (v1 * mp.mpf(c)) - 1) < 1e-15
    # exactly homogeneous inputs (powers of two): agreement to the reference's digits
    k = 2.0**-990
    _, Vk, _ = mp_solve(FiniteMDP(P, R * k, 0.9), 0.5 * k, dps=DPS)
    with mp.workdps(DPS + 10):
        for v1, vk in zip(V1, Vk, strict=True):
            assert abs(vk / (v1 * mp.mpf(k)) - 1) < mp.mpf(10) ** -45


def _exact_copy(mdp: FiniteMDP) -> FiniteMDP:
    """The sparse MDP with exact rational rows, given as :class:`SparseEntries` (as a JSON
    file gives ``"3/7"``): each stored ``p`` becomes the nearest fraction with denominator
    at most 64, and each row is scaled exactly to the row's mass (1, or 1/2 or 1/4 where
    :func:`sparse_mdps` drew termination), so most values are no double."""
    from fractions import Fraction

    from softq_ref.mdp import SparseEntries

    S, A = mdp.num_states, mdp.num_actions
    csr = mdp.transitions
    rows = np.repeat(np.arange(S * A), np.diff(csr.indptr))
    fr = [Fraction(p).limit_denominator(64) or Fraction(1, 64) for p in csr.data.tolist()]
    sums = [Fraction(0)] * (S * A)
    for r, f in zip(rows.tolist(), fr, strict=True):
        sums[r] += f
    mass = np.bincount(rows, weights=csr.data, minlength=S * A)
    vals = np.empty(csr.nnz, dtype=object)
    vals[:] = [
        f / sums[r] * Fraction(float(mass[r])).limit_denominator(4)
        for f, r in zip(fr, rows.tolist(), strict=True)
    ]
    src = mdp.source()
    return FiniteMDP(
        SparseEntries(S, A, rows // A, rows % A, csr.indices.astype(np.int64), vals),
        src["rewards"],
        src["gamma"],
        prior=src["prior"],
        termination=src["termination"],
        horizon=src["horizon"],
    )


@given(
    sparse_mdps(
        states=(20, 200),
        successors=(1, 4),
        gamma=(0.0, 0.99),
        prior=st.booleans(),
        termination=st.booleans(),
    ),
    temperatures(1e-3, 1e3),
)
def test_the_bound_covers_the_rounding_of_exact_sparse_values(mdp, alpha):
    exact = _exact_copy(mdp)
    assert exact.is_sparse and not exact.float_source()
    _check(exact, alpha)
