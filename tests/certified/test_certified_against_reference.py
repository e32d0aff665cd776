"""The certified solver against the independent 60-digit reference, at realistic sizes.

Its other tests compare it with itself (more digits, the other back end), which
shares code; here every printed entry of ``Q``, ``V`` and the policy is compared
with ``tests/mp_reference.py`` (plain mpmath, nothing of the package beyond reading
the input). The only tolerances: the certified ``error_bound`` (the claim under
test: it bounds ``|printed - exact|`` for every entry, policy included) and the
reference's own error (``mp_reference.reference_error``, about ``1e-60``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from mpmath import mp

from softq_ref import FiniteMDP
from softq_ref.certified import solve_certified
from softq_ref.certified.arith import flint_available
from softq_ref.strategies import mdps, sizes, temperatures

from mp_reference import mp_solve, reference_error

DIGITS = 60
BACKEND = "flint" if flint_available() else "mpmath"


def assert_printout_matches_reference(mdp: FiniteMDP, alpha: Any, digits: int = 25) -> None:
    sol = solve_certified(mdp, alpha, digits=digits, backend=BACKEND)
    Q, V, pi = mp_solve(mdp, Fraction(alpha), dps=DIGITS)
    ref = {"Q": Q, "V": V, "policy": pi}
    with mp.workdps(DIGITS + 10):
        vs = np.asarray(V, dtype=object)
        tol = mp.mpf(sol.error_bound.numerator) / sol.error_bound.denominator
        tol += reference_error(mdp, np.array([float(x) for x in vs.ravel()]), DIGITS, alpha)
        for key in ("Q", "V", "policy"):
            printed = np.asarray(sol.decimals[key], dtype=object)
            exact = np.asarray(ref[key], dtype=object).reshape(printed.shape)
            for idx in np.ndindex(printed.shape):
                x = Fraction(printed[idx])
                err = abs(mp.mpf(x.numerator) / x.denominator - exact[idx])
                assert err <= tol, (key, idx, printed[idx], exact[idx], sol.error_bound_text)


big = mdps(
    states=sizes(1, 24),
    actions=sizes(1, 6, small=3),
    gamma=(0.0, 0.95),
    prior=st.booleans(),
    termination=st.booleans(),
    rewards_3d=st.booleans(),
)


@settings(max_examples=25)
@given(big, temperatures(1e-3, 1e3))
def test_certified_printout_matches_the_sixty_digit_reference(mdp, alpha):
    assert_printout_matches_reference(mdp, alpha)


@settings(max_examples=25)
@given(
    mdps(
        states=sizes(1, 24),
        actions=sizes(1, 6, small=3),
        gamma=(0.0, 1.0),
        prior=st.booleans(),
        termination=st.booleans(),
        horizon=(1, 5),
    ),
    temperatures(1e-3, 1e3),
)
@example(FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 1.0, prior=[[0.25, 0.75]], horizon=3), 1.0)
# V* = 0 exactly (equal Q, a probability prior; log(1/3 + 2/3) is not exact in intervals): a
# rounding boundary, printed from the exact structural values, whose policy is the prior
@example(FiniteMDP([[[1.0], [1.0]]], [[0.0, 0.0]], 1.0, prior=[["1/3", "2/3"]], horizon=2), 1.0)
@example(
    FiniteMDP(
        [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.25, 0.75]]],
        [[1.0, 0.0], [0.5, 2.0]],
        0.9,
        prior=[["1/3", "2/3"], [0.5, 0.5]],
        horizon=2,
    ),
    0.5,
)
def test_certified_finite_horizon_matches_the_sixty_digit_reference(mdp, alpha):
    assert_printout_matches_reference(mdp, alpha)


def _random_mdp(S: int, A: int, seed: int, **kw: Any) -> FiniteMDP:
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 4 / S)
    P[:, :, 0] += 0.01  # every row has mass
    P /= P.sum(axis=2, keepdims=True)
    mu = rng.integers(0, 3, (S, A)).astype(float)
    mu[:, -1] += 1
    return FiniteMDP(P, np.round(rng.uniform(-5, 5, (S, A)), 2), "9/10", prior=mu, **kw)


def test_forty_eight_states_soft():
    assert_printout_matches_reference(_random_mdp(48, 3, 7), "1/4", digits=20)


def test_forty_states_hard_max_exact():
    assert_printout_matches_reference(_random_mdp(40, 3, 8), 0, digits=20)
