"""FiniteMDP: validation names the argument, the first offending index and the value."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given

from softq_ref import FiniteMDP, InvalidMDPError
from softq_ref.mdp import row_sum_tolerance
from softq_ref.strategies import mdps

P2 = [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]]
R2 = [[1.0, 0.0], [0.0, 0.5]]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"transitions": [[[0.5, 0.5]]]}, "transitions must have shape (S, A, S)"),
        (
            {"transitions": [[[0.5, -0.5], [1, 0]], [[0, 1], [0, 1]]]},
            "transitions[0, 0, 1] is -0.5",
        ),
        (
            {"transitions": [[[0.5, 0.4], [1, 0]], [[0, 1], [0, 1]]]},
            "transitions[0, 0, :] sums to 0.9",
        ),
        (
            {"transitions": [[[0.5, 0.6], [1, 0]], [[0, 1], [0, 1]]]},
            "transitions[0, 0, :] sums to 1.1",
        ),
        (
            {"transitions": [[[0.5, float("nan")], [1, 0]], [[0, 1], [0, 1]]]},
            "transitions[0, 0, 1] is nan",
        ),
        ({"transitions": [[[0.5, "x"], [1, 0]], [[0, 1], [0, 1]]]}, "transitions[0, 0, 1] is 'x'"),
        ({"rewards": [[1.0, 0.0]]}, "rewards must have shape (2, 2) or (2, 2, 2)"),
        ({"rewards": [[1.0, float("inf")], [0, 0]]}, "rewards[0, 1] is inf"),
        ({"gamma": 1.0}, "gamma is 1; it must lie in [0, 1)"),
        ({"gamma": -0.1}, "gamma is -0.1"),
        ({"gamma": "nan"}, "gamma is 'nan', not a number"),
        ({"prior": [[1, 1], [0, 0]]}, "prior[1, :] has no positive weight"),
        ({"prior": [[1, -1], [1, 1]]}, "prior[0, 1] is -1"),
        ({"prior": [[1, 1]]}, "prior must have shape (2, 2)"),
        ({"horizon": 0}, "horizon must be an integer >= 1"),
        ({"termination": "yes"}, "termination must be true or false"),
    ],
)
def test_every_violation_raises_invalid_mdp_error_naming_argument_index_and_value(kwargs, needle):
    args = {"transitions": P2, "rewards": R2, "gamma": 0.9, **kwargs}
    with pytest.raises(InvalidMDPError) as err:
        FiniteMDP(args.pop("transitions"), args.pop("rewards"), args.pop("gamma"), **args)
    assert needle in str(err.value)
    assert isinstance(err.value, ValueError)


def test_sub_stochastic_rows_are_allowed_only_with_termination():
    P = [[[0.5, 0.25], [1, 0]], [[0, 1], [0, 0]]]
    with pytest.raises(InvalidMDPError, match="pass termination=True"):
        FiniteMDP(P, R2, 0.9)
    assert FiniteMDP(P, R2, 0.9, termination=True).termination


def test_finite_horizon_admits_gamma_one():
    mdp = FiniteMDP(P2, R2, 1.0, horizon=3)
    assert mdp.gamma == 1.0 and mdp.horizon == 3


def test_rows_may_differ_from_one_by_float_rounding_only():
    tol = row_sum_tolerance(2)
    ok = [[[0.5, 0.5 + tol / 2], [1, 0]], [[0, 1], [0, 1]]]
    FiniteMDP(ok, R2, 0.9)
    float32_row = [[[0.3, float(np.float32(0.7))], [1, 0]], [[0, 1], [0, 1]]]
    with pytest.raises(InvalidMDPError, match=r"transitions\[0, 0, :\] sums to"):
        FiniteMDP(float32_row, R2, 0.9)


def test_strings_and_fractions_are_read_exactly():
    mdp = FiniteMDP(
        [[["1/3", "2/3"], [1, 0]], [[0, 1], [0, 1]]], [["0.1", 0], [0, "-2.5e-3"]], "9/10"
    )
    assert mdp.exact.transitions[0, 0, 0] == Fraction(1, 3)
    assert mdp.exact.rewards[0, 0] == Fraction(1, 10)
    assert mdp.exact.rewards[1, 1] == Fraction(-1, 400)
    assert mdp.exact.gamma == Fraction(9, 10)
    assert mdp.rewards[0, 0] == 0.1 and mdp.gamma == 0.9


def test_a_float_is_its_exact_binary_value():
    mdp = FiniteMDP([[[1.0]]], [[0.1]], 0.9)
    assert mdp.exact.rewards[0, 0] == Fraction(0.1) != Fraction(1, 10)


def test_three_dimensional_rewards_are_reduced_by_the_transitions():
    R3 = [[[2.0, 4.0], [8.0, 0.0]], [[0.0, 6.0], [0.0, 1.0]]]
    mdp = FiniteMDP(P2, R3, 0.9)
    assert mdp.rewards.tolist() == [[3.0, 8.0], [6.0, 1.0]]
    assert mdp.exact.rewards[0, 0] == 3


def test_mdp_is_immutable():
    mdp = FiniteMDP(P2, R2, 0.9)
    with pytest.raises(AttributeError):
        mdp.gamma = 0.5  # type: ignore[misc]
    with pytest.raises(ValueError):
        mdp.transitions[0, 0, 0] = 0.0


@given(mdps(prior=True, termination=True, rewards_3d=True))
def test_strategy_mdps_are_valid_and_their_exact_rows_sum_to_at_most_one(mdp):
    S = mdp.num_states
    for s in range(S):
        for a in range(mdp.num_actions):
            assert sum(mdp.exact.transitions[s, a]) <= 1 + row_sum_tolerance(S)
    assert mdp.rewards.shape == (S, mdp.num_actions)
