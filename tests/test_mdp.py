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


# --- Rows from float32 data (issue 15, point 3): renormalised explicitly, with a report.


def _float32_rows(S: int = 5, A: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.random((S, A, S))
    return (p / p.sum(axis=2, keepdims=True)).astype(np.float32)


def test_float32_rows_are_refused_with_a_pointer_to_from_unnormalized():
    p32 = _float32_rows()
    with pytest.raises(InvalidMDPError, match=r"FiniteMDP\.from_unnormalized renormalises rows"):
        FiniteMDP(p32, np.zeros((5, 3)), 0.9)


def test_from_unnormalized_reports_how_far_the_rows_moved():
    p32 = _float32_rows()
    p = p32.astype(np.float64)
    sums = p.sum(axis=2)
    fixed = FiniteMDP.from_unnormalized(p32, np.zeros((5, 3)), 0.9)
    # The rows are the float64 quotients, and now sum to 1 within the constructor's tolerance.
    assert np.array_equal(fixed.mdp.transitions, p / sums[:, :, None])
    assert np.abs(fixed.mdp.transitions.sum(axis=2) - 1).max() <= row_sum_tolerance(5)
    # The report: which rows moved, the furthest one and its sum, the largest entry change.
    moved = np.any(fixed.mdp.transitions != p, axis=2)
    assert fixed.rows == 15 and fixed.rows_moved == int(moved.sum()) > 0
    s, a = fixed.worst_row
    assert fixed.worst_sum == sums[s, a] == sums[moved].flat[np.abs(sums[moved] - 1).argmax()]
    assert fixed.max_change == np.abs(fixed.mdp.transitions - p).max()
    assert 0 < fixed.max_change < 1e-6  # float32 rounding, not a change of the model
    text = str(fixed)
    assert "\n" not in text and text.startswith(f"renormalised {fixed.rows_moved} of 15 rows")
    assert f"transitions[{s}, {a}, :], summed to {fixed.worst_sum!r}" in text


def test_from_unnormalized_of_normalised_rows_moves_nothing_and_says_so():
    fixed = FiniteMDP.from_unnormalized(P2, R2, 0.9)
    assert fixed.rows_moved == 0 and fixed.worst_row is None and fixed.max_change == 0
    assert str(fixed) == "no row of P moved: all 4 rows already summed to 1"
    assert np.array_equal(fixed.mdp.transitions, FiniteMDP(P2, R2, 0.9).transitions)


def test_from_unnormalized_refuses_rows_that_are_not_rounding_errors():
    with pytest.raises(
        InvalidMDPError, match=r"transitions\[0, 0, :\] sums to 0.9, further from 1"
    ):
        FiniteMDP.from_unnormalized([[[0.5, 0.4], [1, 0]], [[0, 1], [0, 1]]], R2, 0.9)
    with pytest.raises(InvalidMDPError, match=r"transitions\[1, 1, :\] sums to 0.0"):
        FiniteMDP.from_unnormalized([[[0.5, 0.5], [1, 0]], [[0, 1], [0, 0]]], R2, 0.9)
    with pytest.raises(InvalidMDPError, match=r"transitions\[0, 0, 1\] is -0.5"):
        FiniteMDP.from_unnormalized([[[1.5, -0.5], [1, 0]], [[0, 1], [0, 1]]], R2, 0.9)
    with pytest.raises(InvalidMDPError, match="tolerance must be a number in"):
        FiniteMDP.from_unnormalized(P2, R2, 0.9, tolerance=-1)
    # A looser tolerance is the caller's explicit choice.
    fixed = FiniteMDP.from_unnormalized(
        [[[0.5, 0.4], [1, 0]], [[0, 1], [0, 1]]], R2, 0.9, tolerance=0.2
    )
    assert fixed.worst_row == (0, 0) and fixed.worst_sum == 0.9


def test_from_unnormalized_with_termination_keeps_short_rows_and_scales_long_ones():
    P = [[[0.5, 0.25], [0.5, 0.5 + 1e-7]], [[0.0, 1.0], [0.1, 0.0]]]
    fixed = FiniteMDP.from_unnormalized(P, R2, 0.9, termination=True)
    assert fixed.mdp.termination and fixed.rows_moved == 1 and fixed.worst_row == (0, 1)
    assert fixed.mdp.transitions[0, 0].tolist() == [0.5, 0.25]  # ends the episode w.p. 1/4
    assert fixed.mdp.transitions[1, 1].tolist() == [0.1, 0.0]
