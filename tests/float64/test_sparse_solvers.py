"""The float64 paths on sparse transitions: the same answers as dense input, bounds that hold.

The sparse copy of an MDP (``helpers.sparse_copy``) is the same MDP; its products sum
only the stored entries, so results differ from dense input by rounding only, and
each solver's certified bound must hold for both against the 50-digit reference.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from softq_ref import (
    FiniteMDP,
    bellman_operator,
    evaluate_policy,
    soft_policy_iteration,
    soft_q_iteration,
    solve,
)
from softq_ref.float64 import certify
from softq_ref.operators import expected_next_value, policy_transitions
from softq_ref.strategies import mdps, q_tables, temperatures

from helpers import linear_solve_tolerance, operator_rounding, sparse_copy
from mp_reference import max_abs_diff, mp_solve


@given(
    mdps(states=(1, 6), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-3, 1e3),
    st.data(),
)
def test_operators_agree_with_dense_input_within_their_rounding(mdp, alpha, data):
    sparse = sparse_copy(mdp)
    Q = data.draw(q_tables(mdp.num_states, mdp.num_actions))
    # each evaluation of T Q is within operator_rounding of the exact T Q (k <= S terms a row)
    tol = 2 * operator_rounding(mdp, Q, alpha)
    assert np.abs(bellman_operator(sparse, Q, alpha) - bellman_operator(mdp, Q, alpha)).max() <= tol
    V = Q.max(axis=1)
    pv_tol = 2 * (mdp.num_states + 1) * 2.0**-53 * float(np.abs(V).max()) * 1.01
    assert np.abs(expected_next_value(sparse, V) - expected_next_value(mdp, V)).max() <= pv_tol
    pi = np.full((mdp.num_states, mdp.num_actions), 1.0 / mdp.num_actions)
    P_pi = policy_transitions(sparse, pi)
    assert sp.issparse(P_pi)
    # A + 1 roundings per entry of P_pi, each entry at most 1
    assert (
        np.abs(P_pi.toarray() - policy_transitions(mdp, pi)).max()
        <= 2 * (mdp.num_actions + 1) * 2.0**-53
    )


@given(
    mdps(states=(1, 6), gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-3, 1e3),
)
def test_policy_evaluation_agrees_with_dense_input_within_the_lu_tolerance(mdp, alpha):
    sparse = sparse_copy(mdp)
    pi = solve(mdp, alpha).policy
    dense_ev, sparse_ev = evaluate_policy(mdp, pi, alpha), evaluate_policy(sparse, pi, alpha)
    scale = float(np.abs(dense_ev.Q).max())
    tol = 2 * linear_solve_tolerance(mdp, scale)
    assert np.abs(sparse_ev.V - dense_ev.V).max() <= tol
    assert np.abs(sparse_ev.Q - dense_ev.Q).max() <= tol * (1 + mdp.gamma) + tol


@settings(max_examples=60)
@given(
    mdps(prior=st.booleans(), termination=st.booleans(), gamma=(0.0, 0.99)),
    temperatures(1e-3, 1e3),
)
def test_sparse_solve_is_within_its_bound_of_the_reference_and_of_dense_solve(mdp, alpha):
    sparse = sparse_copy(mdp)
    r_sp, r_d = solve(sparse, alpha), solve(mdp, alpha)
    Q, V, _ = mp_solve(mdp, alpha, dps=50)  # the dense copy: the reference never sees CSR
    assert max_abs_diff(r_sp.Q, Q) <= r_sp.error_bound
    assert max_abs_diff(r_sp.V, V) <= r_sp.error_bound
    assert np.abs(r_sp.Q - r_d.Q).max() <= r_sp.error_bound + r_d.error_bound
    assert r_sp.error_bound <= 1e-12 * max(1.0, float(np.abs(r_sp.Q).max()))


@given(
    mdps(gamma=(0.0, 0.95), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-2, 1e2),
)
def test_sparse_iterations_reach_the_dense_fixed_point_within_their_bounds(mdp, alpha):
    sparse = sparse_copy(mdp)
    exact = solve(mdp, alpha)
    for result in (
        soft_policy_iteration(sparse, alpha),
        soft_q_iteration(sparse, alpha, tol=1e-13),
    ):
        assert np.abs(result.Q - exact.Q).max() <= result.error_bound + exact.error_bound


@given(
    mdps(horizon=(1, 5), gamma=(0.0, 1.0), prior=st.booleans(), termination=st.booleans()),
    temperatures(1e-3, 1e3),
)
def test_sparse_backward_induction_is_within_its_bound_of_the_reference(mdp, alpha):
    result = solve(sparse_copy(mdp), alpha)
    Qs, Vs, _ = mp_solve(mdp, alpha, dps=50)
    assert max_abs_diff(result.Q, Qs) <= result.error_bound
    assert max_abs_diff(result.V, Vs) <= result.error_bound


def _random_sparse_mdp(S: int, A: int, k: int, seed: int, *, prior_zeros: bool, term: bool):
    """``k`` successors per (s, a) with random probabilities (some rows lose mass if ``term``)."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(S * A), k)
    cols = np.concatenate([rng.choice(S, size=k, replace=False) for _ in range(S * A)])
    w = rng.random((S * A, k)) + 0.05
    w /= w.sum(axis=1, keepdims=True)
    if term:
        w *= rng.choice([1.0, 1.0, 0.5], size=(S * A, 1))
    P = sp.csr_array((w.ravel(), (rows, cols)), shape=(S * A, S))
    R = rng.normal(size=(S, A)) * 5
    prior = None
    if prior_zeros:
        prior = rng.random((S, A)) * (rng.random((S, A)) < 0.7)
        prior[:, 0] += 0.1
    return FiniteMDP(P, R, 0.99, prior=prior, termination=term)


@pytest.mark.parametrize(
    ("S", "seed", "prior_zeros", "term"), [(20, 1, False, False), (40, 2, True, True)]
)
@pytest.mark.parametrize("alpha", [0.0, 0.1, 3.0])
def test_sparse_bound_holds_on_larger_sparse_mdps_against_the_reference(
    S, seed, prior_zeros, term, alpha
):
    mdp = _random_sparse_mdp(S, 3, 3, seed, prior_zeros=prior_zeros, term=term)
    result = solve(mdp, alpha)
    src = mdp.source()
    dense = FiniteMDP(
        src["transitions"].toarray().reshape(S, 3, S),
        src["rewards"],
        src["gamma"],
        prior=src["prior"],
        termination=term,
    )
    Q, V, _ = mp_solve(dense, alpha, dps=40, start=result.V)
    assert max_abs_diff(result.Q, Q) <= result.error_bound
    assert max_abs_diff(result.V, V) <= result.error_bound
    cert = certify(mdp, result.Q, alpha)
    assert max_abs_diff(result.Q, Q) <= cert.q_bound
