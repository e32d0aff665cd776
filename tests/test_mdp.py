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
        # issue 12: inputs that crashed, hung or were misread
        ({"prior": [["1e-400", 1], [1, 1]]}, "prior[0, 0] is 1e-400; it is positive but below"),
        ({"prior": [[1, 1], [1, "1e400"]]}, "prior[1, 1] is 1e+400; it is beyond the float64"),
        ({"rewards": [[1, 0], ["-1e400", 0]]}, "rewards[1, 0] is -1e+400; it is beyond the"),
        ({"rewards": [[1, 0], [0, "1e1000000000"]]}, "rewards[1, 1] is '1e1000000000': its exp"),
        ({"rewards": [[1, 0], [0, "1" * 5000]]}, "rewards[1, 1] is a number of 5000 digits"),
        ({"rewards": [[1, 0], [0, "1/" + "3" * 1001]]}, "rewards[1, 1] is a number of 1001 digits"),
        ({"rewards": [[1, "\u0661"], [0, 0]]}, "rewards[0, 1] is '\u0661', not a number"),
        ({"rewards": [[1, "\uff11"], [0, 0]]}, "rewards[0, 1] is '\uff11', not a number"),
        ({"gamma": "0.99999999999999999999"}, "gamma is 0.99999999999999999999, which rounds to 1"),
        ({"horizon": 10**12}, "horizon is 1000000000000: with S = 2 and A = 2"),
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


def test_exact_strings_at_the_documented_limits_are_read():
    # docs/conventions.md section 2, "Limits": 1000 digits, exponents up to 1000
    mdp = FiniteMDP([[[1.0]]], [["1e-1000"]], "0." + "9" * 999, horizon=2)
    assert mdp.exact.rewards[0, 0] == Fraction(1, 10**1000)
    assert mdp.exact.gamma == 1 - Fraction(1, 10**999)
    text = "0." + "1" * 999  # 1000 digits
    assert FiniteMDP([[[1.0]]], [[text]], 0.5).exact.rewards[0, 0] == Fraction(text)


def test_a_huge_exponent_is_refused_before_any_power_is_computed():
    import time

    start = time.perf_counter()
    with pytest.raises(InvalidMDPError, match="exponent is beyond"):
        FiniteMDP([[[1.0]]], [["1e-99999999999999999999"]], 0.5)
    assert time.perf_counter() - start < 1.0  # computing 10**(10**20) would never end


def test_subnormal_exact_priors_are_carried_with_their_rounding():
    # a weight that rounds into the subnormal range is kept (bounded: prior_log_rounding)
    mdp = FiniteMDP([[[1], [1]]], [[1, 0]], 0.5, prior=[["3e-320", "1"]])
    assert 0 < mdp.prior[0, 0] < 2.0**-1022
    exact = Fraction(3, 10**320)
    lam = abs(Fraction(float(mdp.prior[0, 0])) / exact - 1)
    assert mdp.prior_log_rounding() >= float(lam) > 1e-5
