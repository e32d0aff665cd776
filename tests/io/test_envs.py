"""Conversions from Gymnasium toy-text environments and pymdptoolbox."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from mdptoolbox import example  # gymnasium and pymdptoolbox are in the test extra
from mdptoolbox import mdp as mtb

import softq_ref as sq
from softq_ref import FiniteMDP, InvalidArgumentError, solve
from softq_ref.io.envs import (
    cliff_walking,
    from_gymnasium,
    from_pymdptoolbox,
    frozen_lake,
    taxi,
    to_pymdptoolbox,
)

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
