"""Conversions from Gymnasium toy-text environments and pymdptoolbox."""

from __future__ import annotations

import numpy as np
import pytest
from mdptoolbox import example  # gymnasium and pymdptoolbox are in the test extra
from mdptoolbox import mdp as mtb

from softq_ref import solve
from softq_ref.io.envs import cliff_walking, from_pymdptoolbox, frozen_lake, taxi, to_pymdptoolbox

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
