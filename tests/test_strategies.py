"""Meta-tests: the public Hypothesis strategies build what they promise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softq_ref import FiniteMDP
from softq_ref.strategies import distributions, gammas, mdps, q_tables, sizes, temperatures


@given(mdps(states=(2, 3), actions=2, gamma=(0.5, 0.6)))
def test_mdps_respect_sizes_and_gamma_range(mdp):
    assert isinstance(mdp, FiniteMDP)
    assert 2 <= mdp.num_states <= 3 and mdp.num_actions == 2
    assert 0.5 <= mdp.gamma <= 0.6
    assert mdp.prior is None and not mdp.termination and mdp.horizon is None


@given(mdps(prior=True, prior_zeros=True, termination=True, horizon=(1, 3), gamma=(0.0, 1.0)))
def test_mdps_options_are_honoured(mdp):
    assert mdp.prior is not None and mdp.prior.shape == (mdp.num_states, mdp.num_actions)
    assert np.all(mdp.prior.sum(axis=1) > 0)
    assert mdp.termination and 1 <= mdp.horizon <= 3


@given(mdps(states=st.just(2), actions=st.sampled_from([1, 4]), rewards_3d=True, reward_scale=5.0))
def test_mdps_take_strategies_for_options_and_bound_the_rewards(mdp):
    assert mdp.num_states == 2 and mdp.num_actions in (1, 4)
    assert np.abs(mdp.rewards).max() <= 5.0 * (1 + 1e-15)


@given(st.integers(1, 6).flatmap(distributions))
def test_distributions_are_probability_vectors(p):
    assert np.all(p >= 0) and abs(p.sum() - 1) <= len(p) * 2.0**-52


@given(temperatures(1e-6, 1e6))
def test_temperatures_lie_in_range_or_are_zero(alpha):
    assert alpha == 0.0 or 1e-6 <= alpha <= 1e6


@given(gammas(0.2, 0.3), q_tables(3, 2, scale=7.0))
def test_gammas_and_q_tables_respect_their_bounds(g, Q):
    assert 0.2 <= g <= 0.3
    assert Q.shape == (3, 2) and np.abs(Q).max() <= 7.0


@given(sizes(2, 24))
def test_sizes_lie_in_range(n):
    assert 2 <= n <= 24


def test_sizes_reach_the_top_of_the_range():
    from hypothesis import find

    assert find(sizes(1, 24), lambda n: n == 24) == 24


def test_strategy_arguments_are_validated_with_messages_naming_them():
    with pytest.raises(ValueError, match="need 0 <= min_value <= max_value < 1"):
        gammas(0.5, 1.0)
    with pytest.raises(ValueError, match="need 0 < min_value"):
        temperatures(0.0, 1.0)
    with pytest.raises(ValueError, match="states: min 3 exceeds max 1"):
        mdps(states=(3, 1)).example()
    with pytest.raises(ValueError, match="need 1 <= min_value <= max_value"):
        sizes(0, 3)
