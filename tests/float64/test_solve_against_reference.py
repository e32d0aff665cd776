"""The float64 solver against the independent 60-digit reference, at realistic sizes.

``tests/mp_reference.py`` solves the soft Bellman equation in plain mpmath from the
exact inputs; nothing of the package is shared beyond reading the input. The MDPs
reach ``S = 24``, ``A = 6`` (a few draws per run, ``strategies.sizes``) and pinned
cases with ``S`` from 40 to 100, so the blocked products of ``accurate_pv``
(``S >= 8``), its remainder columns and several refreshes of the LU factors meet
the reference, with termination, priors with zeros and finite horizons. Q, V and
the policy are all compared.

Tolerances (derived in ``helpers.assert_matches_reference``, not taken from the package):

* ``|Q - Q*|, |V - V*| <= error_bound``: the claim under test, plus the reference's
  own error (``mp_reference.reference_error``, about ``1e-60``).
* the policy is the kernel applied to the float64 ``Q``: ``pi_Q / pi*`` lies in
  ``exp([-2 B, 2 B] / alpha)`` (``|Q - Q*| <= B`` and ``|V_Q - V*| <= B``, the
  log-sum-exp being 1-Lipschitz), and the kernel's own rounding of ``pi`` is at most
  ``(A + 8) eps`` per entry (an exponent with error ``3 u |z|`` moves ``pi_a`` by
  ``pi_a 3 u |z| <= 3 u / e``; the sum and the division ``(A + 2) u``). For
  ``alpha = 0`` the policy is uniform over the float argmax, which lies in the set of
  actions within ``2 B`` of the best ``Q*``.
* the bound is worth something: a float64 answer is a rounding of a value a few
  ulps from ``Q*``, so its residual is a few ulps of ``max(|Q|, |R|, alpha log A)``;
  ``error_bound`` may not exceed :func:`float64_budget`.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref import FiniteMDP, evaluate_policy
from softq_ref.strategies import mdps, sizes, temperatures

from helpers import EPS, assert_matches_reference
from mp_reference import mp_solve

big = mdps(
    states=sizes(1, 24),
    actions=sizes(1, 6, small=3),
    gamma=(0.0, 0.99),
    prior=st.booleans(),
    termination=st.booleans(),
    rewards_3d=st.booleans(),
)


@settings(max_examples=30)
@given(big, temperatures(1e-3, 1e3))
def test_solve_matches_the_sixty_digit_reference_in_q_v_and_policy(mdp, alpha):
    assert_matches_reference(mdp, alpha)


@settings(max_examples=20)
@given(
    mdps(
        states=sizes(1, 24),
        actions=sizes(1, 6, small=3),
        gamma=(0.0, 1.0),
        prior=st.booleans(),
        termination=st.booleans(),
        horizon=(1, 6),
    ),
    temperatures(1e-3, 1e3),
)
@example(FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 1.0, prior=[[0.25, 0.75]], horizon=3), 1.0)
def test_finite_horizon_matches_the_sixty_digit_reference_in_q_v_and_policy(mdp, alpha):
    assert_matches_reference(mdp, alpha)


def _random_mdp(S: int, A: int, gamma: float, seed: int, *, sparse: int = 0, **kw) -> FiniteMDP:
    """A random dense (or ``sparse``-successor) MDP with rewards in [-10, 10]."""
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    if sparse:
        keep = np.zeros((S, A, S), bool)
        for s in range(S):
            for a in range(A):
                keep[s, a, rng.choice(S, size=sparse, replace=False)] = True
        P = np.where(keep, P, 0.0)
    P /= P.sum(axis=2, keepdims=True)
    R = np.round(rng.uniform(-10, 10, (S, A)), 3)
    return FiniteMDP(P, R, gamma, **kw)


def _prior(S: int, A: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mu = rng.integers(0, 4, (S, A)).astype(float)
    mu[:, 0] += 1  # a positive weight in every row; zeros elsewhere
    return mu / mu.sum(axis=1, keepdims=True)


def test_forty_states_with_a_prior_with_zeros_and_termination():
    mdp = _random_mdp(40, 3, 0.95, 1)
    P = mdp.transitions * np.where(np.arange(40)[:, None, None] % 5 == 0, 0.5, 1.0)
    mdp = FiniteMDP(P, mdp.rewards, 0.95, prior=_prior(40, 3, 2), termination=True)
    assert_matches_reference(mdp, 0.3)


def test_sixty_seven_states_at_gamma_099_refactor_the_newton_matrix():
    """67 = 8 * 8 + 3: eight full blocks and a remainder in ``accurate_pv``."""
    assert_matches_reference(_random_mdp(67, 2, 0.99, 3, sparse=4), 0.05)


def test_one_hundred_states_hard_max():
    assert_matches_reference(_random_mdp(100, 2, 0.9, 4, sparse=3), 0.0)


def test_finite_horizon_with_fifty_states_and_a_prior():
    mdp = _random_mdp(50, 3, 1.0, 5, sparse=5, prior=_prior(50, 3, 6), horizon=4)
    assert_matches_reference(mdp, 0.7)


@settings(max_examples=20)
@given(
    mdps(
        states=sizes(1, 12),
        actions=(1, 4),
        gamma=(0.0, 1.0),
        prior=st.booleans(),
        termination=st.booleans(),
        horizon=(1, 5),
    ),
    temperatures(1e-3, 1e3),
)
def test_finite_horizon_evaluate_policy_of_the_optimal_policy_is_the_reference_value(mdp, alpha):
    """Evaluating the reference's own optimal policies step by step gives ``V*`` (each
    step of backward induction is exact for them), to within the float64 rounding of
    ``H`` steps: per step ``(A + S + 4) u`` times the scale, accumulated over ``H``."""
    Q, V, pi = mp_solve(mdp, alpha, dps=30)
    H, S, A = mdp.horizon, mdp.num_states, mdp.num_actions
    pols = np.array([[[float(p) for p in row] for row in step] for step in pi])
    ev = evaluate_policy(mdp, pols, alpha)
    Vr = np.array([[float(v) for v in step] for step in V])
    scale = max(1.0, float(np.abs(Vr).max()), alpha * (math.log(A) + 20))
    # pi rounded to float64 (u per entry) moves the entropy term by at most
    # alpha * u * A * (|log pi| + 1) <= alpha * u * A * 40 where pi > 1e-17, and the rest less
    tol = H * ((A + S + 8) * EPS * scale + alpha * A * 40 * EPS)
    assert np.abs(ev.V - Vr).max() <= tol
    assert ev.V.shape == (H, S)


@st.composite
def exact_text_mdps(draw):
    """MDPs whose rewards and discount are decimal strings, read exactly (``"0.1"`` is one
    tenth, not its double): the float64 solver solves their roundings and must bound the
    difference."""
    base = draw(mdps(states=sizes(1, 12), actions=(1, 4), prior=st.booleans()))
    S, A = base.num_states, base.num_actions
    ks = draw(st.lists(st.integers(-9999, 9999), min_size=S * A, max_size=S * A))
    R = [[f"{ks[s * A + a]}e-3" for a in range(A)] for s in range(S)]
    g = draw(st.sampled_from(["0", "0.1", "0.7", "0.95"]))
    return FiniteMDP(base.transitions, R, g, prior=base.prior)


@settings(max_examples=20)
@given(exact_text_mdps(), temperatures(1e-3, 1e3))
@example(FiniteMDP([[[1.0]]], [["0.1"]], "0"), 0.0)
@example(FiniteMDP([[[1.0], [1.0]]], [["0.1", "0.3"]], "0"), 1.0)
def test_exact_decimal_rewards_and_discount_are_within_the_bound(mdp, alpha):
    assert_matches_reference(mdp, alpha)
