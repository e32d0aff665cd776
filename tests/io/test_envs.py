"""Conversions from Gymnasium toy-text environments and pymdptoolbox."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse
from hypothesis import assume, given
from hypothesis import strategies as st
from mdptoolbox import example  # gymnasium and pymdptoolbox are in the test extra
from mdptoolbox import mdp as mtb
from mdptoolbox import util as mtb_util

import softq_ref as sq
from softq_ref import FiniteMDP, InvalidArgumentError, solve
from softq_ref.io.envs import (
    SPARSE_MIN_ENTRIES,
    cliff_walking,
    from_gymnasium,
    from_pymdptoolbox,
    frozen_lake,
    prefers_sparse,
    taxi,
    to_gymnasium_table,
    to_pymdptoolbox,
)
from softq_ref.strategies import mdps, temperatures

from helpers import sparse_copy

EPS = float(np.finfo(np.float64).eps)


@pytest.mark.parametrize("map_name,size", [("4x4", 16), ("8x8", 64)])
@pytest.mark.parametrize("slippery", [True, False])
def test_frozen_lake_converts_with_terminal_mass_removed(
    map_name: str, size: int, slippery: bool
) -> None:
    mdp = frozen_lake(map_name, slippery, gamma=0.9)
    assert (mdp.num_states, mdp.num_actions) == (size, 4)
    sums = mdp.transitions.sum(axis=2)
    assert np.all(sums <= 1 + 1e-12)  # 1e-12: float rows of at most three 1/3 terms
    assert np.any(sums < 1) and mdp.termination


def test_cliff_walking_and_taxi_shapes() -> None:
    assert (cliff_walking(gamma=0.9).num_states, cliff_walking(gamma=0.9).num_actions) == (48, 4)
    t = taxi(gamma=0.9)
    assert (t.num_states, t.num_actions) == (500, 6)


def test_non_slippery_frozen_lake_start_value_is_gamma_to_the_fifth() -> None:
    # Map SFFF/FHFH/FFFH/HFFG: the shortest hole-free path from S(0) to G(15) takes 6
    # moves (e.g. down, down, right, down, right, right); the only reward is 1 on the
    # 6th move, so V*(0) = gamma**5 at alpha = 0.
    res = solve(frozen_lake("4x4", False, gamma=0.9), 0.0)
    assert abs(res.V[0] - 0.9**5) <= res.error_bound + 4 * EPS


def test_alpha_zero_agrees_with_pymdptoolbox_policy_iteration_on_forest() -> None:
    P, R = example.forest()
    gamma = 0.96
    mdp = from_pymdptoolbox(P, R, gamma)
    res = solve(mdp, 0.0)
    pi = mtb.PolicyIteration(P, R, gamma)
    pi.run()
    assert tuple(res.policy.argmax(axis=1)) == tuple(pi.policy)
    # pymdptoolbox evaluates its policy with np.linalg.solve on I - gamma P_pi: a backward
    # stable solve, error <= cond * S * eps * |V| with cond_inf <= (1+gamma)/(1-gamma).
    v = np.asarray(pi.V)
    lin_solve = (1 + gamma) / (1 - gamma) * mdp.num_states * EPS * np.max(np.abs(v))
    assert np.max(np.abs(v - res.V)) <= res.error_bound + lin_solve


def test_pymdptoolbox_value_iteration_value_is_far_from_optimal_on_forest() -> None:
    # Its span stopping rule certifies an epsilon-optimal policy, not V: V stays far off.
    P, R = example.forest()
    res = solve(from_pymdptoolbox(P, R, 0.96), 0.0)
    vi = mtb.ValueIteration(P, R, 0.96)
    vi.run()
    assert tuple(vi.policy) == tuple(res.policy.argmax(axis=1))
    assert np.max(np.abs(np.asarray(vi.V) - res.V)) > 1.0


def test_pymdptoolbox_round_trip() -> None:
    P, R = example.forest()
    p2, r2 = to_pymdptoolbox(from_pymdptoolbox(P, R, 0.9))
    assert np.array_equal(p2, P) and np.array_equal(r2, R)


# --- Foreign containers (issue 15, point 2): one line, under 300 characters, naming the adapter.


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(InvalidArgumentError) as info:
        call()
    text = str(info.value)
    assert "\n" not in text and len(text) < 300, text
    return text


def test_gymnasiums_p_table_or_env_passed_to_finite_mdp_points_to_from_gymnasium() -> None:
    import gymnasium

    env = gymnasium.make("FrozenLake-v1")
    for transitions in (env.unwrapped.P, env):
        text = _message(lambda t=transitions: FiniteMDP(t, np.zeros((16, 4)), 0.9))
        assert "softq_ref.io.from_gymnasium(env, gamma=...)" in text
    # ... and the adapter it names takes that environment.
    assert from_gymnasium(env, gamma=0.9).num_states == 16


def test_pymdptoolbox_arrays_passed_to_finite_mdp_point_to_from_pymdptoolbox() -> None:
    P, R = example.forest(S=3)  # P[a, s, s'] of shape (2, 3, 3)
    text = _message(lambda: FiniteMDP(P, R, 0.9))
    assert "got shape (2, 3, 3)" in text
    assert "softq_ref.io.from_pymdptoolbox(P, R, gamma)" in text
    assert from_pymdptoolbox(P, R, 0.9).num_states == 3


@pytest.mark.parametrize("shape", [(3, 2, 2, 1), (2, 3, 4), (3, 3)])
def test_shapes_that_are_not_pymdptoolboxs_get_no_pymdptoolbox_hint(shape: tuple[int]) -> None:
    text = _message(lambda: FiniteMDP(np.zeros(shape), np.zeros((3, 2)), 0.9))
    assert "must have shape (S, A, S)" in text and "pymdptoolbox" not in text


def test_a_square_pymdptoolbox_array_is_read_as_s_a_s_without_a_hint() -> None:
    # A == S: (A, S, S) and (S, A, S) cannot be told apart by shape; the rows decide.
    P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    assert FiniteMDP(P, np.zeros((2, 2)), 0.9).num_states == 2


SOLVERS = {
    "solve": lambda m: solve(m, 0.1),
    "soft_q_iteration": lambda m: sq.soft_q_iteration(m, 0.1),
    "soft_policy_iteration": lambda m: sq.soft_policy_iteration(m, 0.1),
    "solve_certified": lambda m: sq.solve_certified(m, 0.1, digits=5),
    "bellman_operator": lambda m: sq.bellman_operator(m, np.zeros((3, 2)), 0.1),
    "policy_operator": lambda m: sq.policy_operator(m, np.zeros((3, 2)), np.ones((3, 2)) / 2, 0.1),
    "evaluate_policy": lambda m: sq.evaluate_policy(m, np.ones((3, 2)) / 2, 0.1),
}


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_a_tuple_instead_of_an_mdp_gets_a_message_naming_the_constructor(name: str) -> None:
    P, R = example.forest(S=3)
    text = _message(lambda: SOLVERS[name]((P, R, 0.9)))
    assert text.startswith(f"{name}: mdp is a tuple, not a FiniteMDP;")
    assert "softq_ref.FiniteMDP(P, R, gamma)" in text
    assert "softq_ref.io.from_pymdptoolbox(P, R, gamma)" in text


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_a_gymnasium_env_or_table_instead_of_an_mdp_points_to_from_gymnasium(name: str) -> None:
    import gymnasium

    env = gymnasium.make("FrozenLake-v1")
    for thing in (env, env.unwrapped.P):
        text = _message(lambda t=thing: SOLVERS[name](t))
        assert "softq_ref.io.from_gymnasium(env, gamma=...)" in text


def test_a_foreign_object_inside_the_data_is_named_in_a_short_message() -> None:
    text = _message(lambda: FiniteMDP([[[{"p": list(range(10_000))}]]], [[0.0]], 0.9))
    assert text.startswith("transitions[0, 0, 0] is {'p': [0, 1, 2") and "of type dict" in text


@pytest.mark.parametrize(
    ("alpha", "percent"), [(0.0, 89), (0.003, 90), (0.01, 51), (0.1, 2)]
)  # the README's "Choosing alpha"
def test_frozen_lake_8x8_success_rate_of_the_soft_optimum_is_what_the_readme_says(
    alpha: float, percent: int
) -> None:
    mdp = frozen_lake("8x8", gamma=0.99)
    res = solve(mdp, alpha)
    assert res.success
    # P(reaching the goal) under pi*: the only reward is 1 on entering the goal, after which
    # the episode ends, so it is the undiscounted expected return x = r_pi + P_pi x.
    P_pi = np.einsum("sa,sat->st", res.policy, mdp.transitions)
    r_pi = np.einsum("sa,sa->s", res.policy, mdp.rewards)
    x = np.linalg.solve(np.eye(mdp.num_states) - P_pi, r_pi)
    assert round(100 * x[0]) == percent


# --- Exports and sparse reading (issue 14: adapters; issue 13: adapters produce sparse).


def _dense(mdp: FiniteMDP) -> np.ndarray:
    """``P[s, a, s']`` as a dense array, whatever the storage."""
    S, A = mdp.num_states, mdp.num_actions
    if mdp.is_sparse:
        return mdp.transitions.toarray().reshape(S, A, S)
    return np.asarray(mdp.transitions)


def _deficit(mdp: FiniteMDP) -> np.ndarray:
    """``1 - sum_s' P[s, a, s']`` with the row sum exact (math.fsum), shape (S, A)."""
    P = _dense(mdp)
    return np.array(
        [[1.0 - math.fsum(P[s, a]) for a in range(P.shape[1])] for s in range(P.shape[0])]
    )


def _fake_env(table: dict, S: int, A: int) -> SimpleNamespace:
    """What from_gymnasium reads of a toy-text environment, without gymnasium."""
    return SimpleNamespace(
        unwrapped=SimpleNamespace(P=table),
        observation_space=SimpleNamespace(n=S),
        action_space=SimpleNamespace(n=A),
        spec=SimpleNamespace(id="Fake-v0"),
    )


def _solve_both(a: FiniteMDP, b: FiniteMDP, alpha: float):
    ra, rb = solve(a, alpha), solve(b, alpha)
    assert ra.success and rb.success
    return ra, rb


@given(
    mdps(termination=st.booleans(), rewards_3d=st.booleans()), st.sampled_from([None, True, False])
)
def test_gymnasium_table_reads_back_to_the_same_mdp(mdp: FiniteMDP, sparse: bool | None) -> None:
    table = to_gymnasium_table(mdp)
    back = from_gymnasium(table, gamma=mdp.gamma, sparse=sparse)
    assert np.array_equal(_dense(back), _dense(mdp))
    assert np.array_equal(back.rewards, mdp.rewards)
    assert back.gamma == mdp.gamma
    assert back.termination == bool(mdp.termination and np.any(_deficit(mdp) > 0))
    if sparse is not None:
        assert back.is_sparse == sparse
    # the same through an environment object that holds the table
    env = _fake_env(table, mdp.num_states, mdp.num_actions)
    again = from_gymnasium(env, gamma=mdp.gamma)
    assert np.array_equal(_dense(again), _dense(mdp)) and again.name == "Fake-v0"


@given(mdps(termination=st.booleans()))
def test_gymnasium_table_has_the_env_p_format_with_done_tuples_for_termination(
    mdp: FiniteMDP,
) -> None:
    S, A = mdp.num_states, mdp.num_actions
    table = to_gymnasium_table(mdp)
    P, deficit = _dense(mdp), _deficit(mdp)
    assert sorted(table) == list(range(S))
    for s in range(S):
        assert sorted(table[s]) == list(range(A))
        for a in range(A):
            outcomes = table[s][a]
            for prob, nxt, reward, done in outcomes:
                assert type(prob) is float and type(nxt) is int and type(reward) is float
                assert type(done) is bool and prob > 0 and 0 <= nxt < S
                assert reward == mdp.rewards[s, a]
            kept = [o for o in outcomes if not o[3]]
            assert [o[1] for o in kept] == sorted(np.flatnonzero(P[s, a]))
            ends = [o for o in outcomes if o[3]]
            if mdp.termination and deficit[s, a] > 0:
                assert ends == [(deficit[s, a], s, float(mdp.rewards[s, a]), True)]
                # fsum(row) is within half an ulp of the exact sum; 1 - fsum(row) is exact
                # for a sum in [1/2, 1] (Sterbenz) and within half an ulp of 1 below: the
                # probabilities of P[s][a] sum to 1 within two half-ulps of 1, 2**-52.
                total = math.fsum(o[0] for o in outcomes)
                assert abs(total - 1.0) <= 2.0**-52
            else:
                assert ends == []


def test_a_terminating_row_becomes_a_done_tuple_with_the_missing_mass() -> None:
    mdp = FiniteMDP(
        [[[0.5, 0.25], [0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]]],
        [[2.0, -1.0], [0.0, 3.0]],
        0.9,
        termination=True,
    )
    assert to_gymnasium_table(mdp) == {
        0: {
            0: [(0.5, 0, 2.0, False), (0.25, 1, 2.0, False), (0.25, 0, 2.0, True)],
            1: [(1.0, 0, -1.0, True)],
        },
        1: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 0, 3.0, False)]},
    }


def test_from_gymnasium_takes_the_expected_reward_over_tuples() -> None:
    # Two tuples to the same next state with rewards 1 and 3: P = 1, R = 2.
    mixed = {0: {0: [(0.5, 0, 1.0, False), (0.5, 0, 3.0, False)]}}
    mdp = from_gymnasium(mixed, gamma=0.5)
    assert _dense(mdp).tolist() == [[[1.0]]] and mdp.rewards.tolist() == [[2.0]]
    assert not mdp.termination
    # Ten tuples of 0.1 sum to 0.9999999999999999 in float64, and sum 0.1 * 0.7 to
    # 0.7000000000000001; every outcome pays 0.7, so the expected reward is 0.7 exactly.
    same = {0: {0: [(0.1, 0, 0.7, False)] * 10}}
    assert from_gymnasium(same, gamma=0.5).rewards.tolist() == [[0.7]]
    assert sum(0.1 * 0.7 for _ in range(10)) != 0.7


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({0: {0: [(1.0, 0, 0.0, False)]}, 1: {}}, "the P table has no entry P[1][0]"),
        (
            {0: {0: [(1.0, 0, 0.0)]}},
            "P[0][0][0] is (1.0, 0, 0.0); expected a tuple (prob, next_state, reward, terminated)",
        ),
        ({0: {0: [(1.0, 3, 0.0, False)]}}, "P[0][0][0] has next state 3; it must lie in 0..0"),
        ({}, "the P table must map each state 0..S-1 to {action: [tuples]}"),
        ({0: {0: [(0.5, 0, 0.0, False)]}}, "transitions[0, 0, :] sums to 0.5, not 1"),
    ],
)
def test_a_malformed_gymnasium_table_is_refused_naming_the_entry(table: dict, message: str) -> None:
    text = _message(lambda: from_gymnasium(table, gamma=0.5))
    assert message in text, text


def test_exports_refuse_a_prior_they_cannot_carry() -> None:
    zero = FiniteMDP([[[1.0], [1.0]]], [[0.0, 1.0]], 0.5, prior=[[1.0, 0.0]])
    for export in (to_gymnasium_table, to_pymdptoolbox):
        text = _message(lambda f=export: f(zero))
        assert f"{export.__name__}: prior[0, 1] is 0 (action 1 unavailable in state 0)" in text
    positive = FiniteMDP([[[1.0], [1.0]]], [[0.0, 1.0]], 0.5, prior=[[0.5, 0.5]])
    assert "env.P cannot carry" in _message(lambda: to_gymnasium_table(positive))
    P, R = to_pymdptoolbox(positive)  # hard values do not depend on a positive prior
    assert P.shape == (2, 1, 1)


@given(mdps(termination=True, states=(1, 4), actions=(1, 3)))
def test_pymdptoolbox_export_of_a_terminating_mdp_adds_an_absorbing_state(mdp: FiniteMDP) -> None:
    S, A = mdp.num_states, mdp.num_actions
    P, R = to_pymdptoolbox(mdp)
    deficit = _deficit(mdp)
    pad = bool(np.any(deficit > 0))
    n = S + 1 if pad else S
    assert P.shape == (A, n, n) and R.shape == (n, A)
    mtb_util.check(P, R)  # pymdptoolbox's own test: rows sum to 1 within 10 ulps of 1
    assert np.array_equal(P[:, :S, :S], np.transpose(_dense(mdp), (1, 0, 2)))
    assert np.array_equal(R[:S], mdp.rewards)
    if pad:
        assert np.array_equal(P[:, :S, S], deficit.T) and np.all(P[:, S, S] == 1.0)
        assert np.all(R[S] == 0.0)


@given(
    mdps(termination=True, states=(1, 4), actions=(1, 3)), temperatures(max_value=10.0, zero=False)
)
def test_the_absorbing_state_keeps_hard_values_and_soft_ones_only_with_one_action(
    mdp: FiniteMDP, alpha: float
) -> None:
    S, A = mdp.num_states, mdp.num_actions
    P, R = to_pymdptoolbox(mdp)
    padded = from_pymdptoolbox(P, R, mdp.gamma)
    assume(padded.num_states == S + 1)
    # alpha = 0: the absorbing state is worth 0 and the other states keep their values.
    hard, hard_padded = _solve_both(mdp, padded, 0.0)
    bound = hard.error_bound + hard_padded.error_bound
    assert np.max(np.abs(hard_padded.V[:S] - hard.V)) <= bound
    assert abs(hard_padded.V[S]) <= hard_padded.error_bound
    # alpha > 0 under the counting measure: the absorbing state is worth
    # alpha log(A) / (1 - gamma) (V = alpha log A + gamma V), not 0.
    soft, soft_padded = _solve_both(mdp, padded, alpha)
    absorbing = alpha * math.log(A) / (1 - mdp.gamma)
    assert abs(soft_padded.V[S] - absorbing) <= soft_padded.error_bound + 4 * EPS * absorbing
    # ... and with one action left there (prior row e_0) the padded MDP is equivalent.
    prior = np.ones((S + 1, A))
    prior[S, 1:] = 0.0
    one = FiniteMDP(np.transpose(P, (1, 0, 2)), R, mdp.gamma, prior=prior)
    soft_one = solve(one, alpha)
    assert np.max(np.abs(soft_one.V[:S] - soft.V)) <= soft.error_bound + soft_one.error_bound
    assert abs(soft_one.V[S]) <= soft_one.error_bound


@given(mdps(termination=st.booleans(), states=(1, 4), actions=(1, 3)))
def test_pymdptoolbox_export_of_a_sparse_mdp_is_its_sparse_layout(mdp: FiniteMDP) -> None:
    dense_P, dense_R = to_pymdptoolbox(mdp)
    P, R = to_pymdptoolbox(sparse_copy(mdp))
    assert isinstance(P, list) and len(P) == mdp.num_actions
    assert all(isinstance(m, scipy.sparse.csr_matrix) for m in P)  # pymdptoolbox's P[a] * V
    assert np.array_equal(np.stack([m.toarray() for m in P]), dense_P)
    assert np.array_equal(R, dense_R)
    mtb_util.check(P, R)


@given(
    mdps(termination=st.booleans(), rewards_3d=st.booleans()), st.sampled_from([None, True, False])
)
def test_pymdptoolbox_round_trip_dense_and_sparse(mdp: FiniteMDP, sparse: bool | None) -> None:
    assume(not (mdp.termination and np.any(_deficit(mdp) > 0)))  # no absorbing state added
    for P, R in (to_pymdptoolbox(mdp), to_pymdptoolbox(sparse_copy(_expected(mdp)))):
        back = from_pymdptoolbox(P, R, mdp.gamma, sparse=sparse)
        assert np.array_equal(_dense(back), _dense(mdp))
        assert np.array_equal(back.rewards, mdp.rewards)
        if sparse is not None:
            assert back.is_sparse == sparse


def _expected(mdp: FiniteMDP) -> FiniteMDP:
    """The MDP with its expected rewards ``R[s, a]`` (what the sparse path takes)."""
    src = mdp.source()
    return FiniteMDP(src["transitions"], mdp.rewards, src["gamma"], termination=mdp.termination)


@given(mdps(rewards_3d=True, states=(1, 4), actions=(1, 3)))
def test_pymdptoolbox_rewards_per_transition_reduce_alike_dense_and_sparse(mdp: FiniteMDP) -> None:
    P = np.transpose(_dense(mdp), (1, 0, 2))
    R3 = np.transpose(np.asarray(mdp.reward_transitions, dtype=np.float64), (1, 0, 2))
    dense = from_pymdptoolbox(P, R3, mdp.gamma, sparse=False)
    listed = from_pymdptoolbox(
        [scipy.sparse.csr_matrix(m) for m in P], [scipy.sparse.csr_matrix(m) for m in R3], mdp.gamma
    )
    assert np.array_equal(_dense(listed), _dense(dense))
    # Both sum the products in long double (64-bit significand) and round once: they differ
    # by at most the reduction error FiniteMDP allows for its own sum, plus one rounding.
    gap = np.abs(listed.rewards - dense.rewards)
    allowed = dense.reward_reduction_error() + EPS * np.abs(dense.rewards)
    assert np.all(gap <= allowed), (gap, allowed)


def test_readers_store_sparse_when_it_is_smaller() -> None:
    assert SPARSE_MIN_ENTRIES == 2**16
    # S * A * S = 65536 entries (the threshold) with S nonzeros per row: dense is smaller.
    assert not prefers_sparse(128 * 4 * 128, 128, 4)
    assert prefers_sparse(3 * 128 * 4, 128, 4)
    assert not prefers_sparse(3 * 127 * 4, 127, 4)  # 64516 dense entries: below the threshold
    P, R = example.forest(S=200, is_sparse=True)  # a list of 2 sparse (200, 200) matrices
    forest = from_pymdptoolbox(P, R, 0.9)
    assert forest.is_sparse and forest.transitions.nnz == sum(m.nnz for m in P)
    dense_read = from_pymdptoolbox(*example.forest(S=200), 0.9)
    assert dense_read.is_sparse
    assert np.array_equal(dense_read.transitions.toarray(), forest.transitions.toarray())
    assert not from_pymdptoolbox(*example.forest(S=20), 0.9).is_sparse
    assert taxi(gamma=0.9).is_sparse and not frozen_lake(gamma=0.9).is_sparse


def test_taxi_sparse_and_dense_agree_with_pymdptoolbox_policy_iteration_through_the_export() -> (
    None
):
    mdp = taxi(gamma=0.9)
    P, R = to_pymdptoolbox(mdp)  # a list of sparse matrices, 501 states (one absorbing)
    pi = mtb.PolicyIteration(P, R, 0.9)
    pi.run()
    res = solve(mdp, 0.0)
    v = np.asarray(pi.V)
    # pymdptoolbox solves (I - gamma P_pi) V = r_pi with spsolve: error within
    # cond_inf * n * eps * |V| with cond_inf <= (1 + gamma) / (1 - gamma).
    lin_solve = (1 + 0.9) / (1 - 0.9) * len(v) * EPS * np.max(np.abs(v))
    assert abs(v[-1]) <= lin_solve
    assert np.max(np.abs(v[:-1] - res.V)) <= res.error_bound + lin_solve


@pytest.mark.parametrize("make", [lambda: frozen_lake("4x4", gamma=0.9), lambda: taxi(gamma=0.9)])
def test_gymnasium_environments_survive_the_table_round_trip(make: Callable[[], FiniteMDP]) -> None:
    mdp = make()
    back = from_gymnasium(to_gymnasium_table(mdp), gamma=0.9)
    assert back.is_sparse == mdp.is_sparse and back.termination
    assert np.array_equal(_dense(back), _dense(mdp))
    assert np.array_equal(back.rewards, mdp.rewards)
