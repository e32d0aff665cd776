"""The sparse gridworld builder: its dynamics by hand on small grids, and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from softq_ref import InvalidArgumentError, solve
from softq_ref.io import gridworld
from softq_ref.io.gridworld import ACTIONS

from mp_reference import max_abs_diff, mp_solve


def _row(mdp, s, a):
    return mdp.transitions[[s * mdp.num_actions + a], :].toarray()[0]


def test_moves_slips_walls_and_goals_by_hand():
    # 3 x 3 with a wall in the middle: states 0 1 2 / 3 . 4 / 5 6 7, goal at state 7
    mdp = gridworld(3, 3, slip=0.1, walls=[(1, 1)], goal_reward=5.0, step_reward=-1.0)
    assert mdp.is_sparse and mdp.termination
    assert (mdp.num_states, mdp.num_actions) == (8, 4)
    assert [name for name, _, _ in ACTIONS] == ["up", "right", "down", "left"]
    down_from_0 = _row(mdp, 0, 2)  # to state 3, sides: right to 1, left off the grid (stays)
    assert down_from_0.tolist() == [0.05, 0.05, 0, 0.9, 0, 0, 0, 0]
    right_from_1 = _row(mdp, 1, 1)  # to 2; sides: down into the wall, up off the grid: stays
    assert right_from_1[1] == pytest.approx(0.1, abs=2**-52) and right_from_1[2] == 0.9
    assert not _row(mdp, 7, 0).any()  # the goal ends the episode
    assert mdp.rewards[7].tolist() == [5.0] * 4 and mdp.rewards[0].tolist() == [-1.0] * 4
    sums = mdp.transitions.sum(axis=1).reshape(8, 4)
    assert np.abs(sums[:7] - 1).max() <= 2**-52 and not sums[7].any()


def test_without_slip_each_action_has_one_successor():
    mdp = gridworld(4, 5, slip=0.0)
    assert mdp.transitions.nnz == 4 * 5 * 4 - 4
    assert mdp.max_row_terms() == 1


def test_a_small_gridworld_is_solved_within_its_bound_of_the_reference():
    mdp = gridworld(
        3,
        4,
        slip=0.2,
        walls=[(1, 1)],
        goals=[(0, 3), (2, 3)],
        goal_reward={(0, 3): 1.0, (2, 3): -1.0},
        step_reward=-0.04,
        gamma=0.9,
    )
    result = solve(mdp, 0.1)
    Q, V, _ = mp_solve(mdp, 0.1, dps=40)  # mdp.exact: the dense exact copy, built on demand
    assert max_abs_diff(result.Q, Q) <= result.error_bound
    assert max_abs_diff(result.V, V) <= result.error_bound


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"rows": 0}, "rows must be a positive integer, got 0"),
        ({"slip": 1.5}, "slip is 1.5; it must be a probability in [0, 1]"),
        ({"walls": [(5, 0)]}, "walls[0] is (5, 0); outside the 3 x 3 grid"),
        ({"walls": [(2, 2)]}, "goals[0] is (2, 2); that cell is a wall"),
        ({"goals": ["x"]}, "goals[0] is 'x'; expected a cell (row, column)"),
        ({"goal_reward": {(0, 0): 1.0}}, "goal_reward has no entry for goal (2, 2)"),
    ],
)
def test_bad_arguments_name_the_argument_and_value(kwargs, needle):
    args = {"rows": 3, "cols": 3, **kwargs}
    with pytest.raises(InvalidArgumentError) as err:
        gridworld(args.pop("rows"), args.pop("cols"), **args)
    assert needle in str(err.value)
