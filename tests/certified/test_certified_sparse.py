"""``solve_certified`` on sparse transitions: the same bytes as dense input, never densified.

The certified printout is the exact value correctly rounded (docs/conventions.md
section 4), a function of the exact input alone; a sparse MDP and its dense copy have
the same exact input, so they must print the same bytes, whatever path each takes.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from softq_ref import FiniteMDP
from softq_ref.certified import solve_certified
from softq_ref.certified.arith import flint_available
from softq_ref.float64 import solve
from softq_ref.io import loads_mdp
from softq_ref.io.gridworld import gridworld
from softq_ref.strategies import mdps, temperatures

from helpers import sparse_copy


def _dense_copy(mdp: FiniteMDP) -> FiniteMDP:
    src = mdp.source()
    S, A = mdp.num_states, mdp.num_actions
    return FiniteMDP(
        mdp.exact.transitions
        if not mdp.float_source()
        else mdp.transitions.toarray().reshape(S, A, S),
        src["rewards"],
        src["gamma"],
        prior=src["prior"],
        termination=src["termination"],
        horizon=src["horizon"],
    )


def _same_printout(a: FiniteMDP, b: FiniteMDP, alpha, digits: int, backend: str = "mpmath"):
    sa = solve_certified(a, alpha, digits=digits, backend=backend)
    sb = solve_certified(b, alpha, digits=digits, backend=backend)
    assert json.dumps(sa.to_spec_dict(fractions=True)) == json.dumps(
        sb.to_spec_dict(fractions=True)
    )
    return sa


@given(
    mdps(
        states=(1, 5),
        actions=(1, 3),
        prior=st.booleans(),
        termination=st.booleans(),
        horizon=st.one_of(st.none(), st.integers(1, 3)),
    ),
    temperatures(1e-2, 1e2),
    st.sampled_from([12, 30]),
)
@example(FiniteMDP([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [0.0]], 0.5), 0.1, 20)
@example(  # an absorbing zero-reward goal under a probability prior: V* = 0 exactly there
    FiniteMDP(
        [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]],
        [[1.0, 0.0], [0.0, 0.0]],
        0.9,
        prior=[[0.5, 0.5], [1.0, 0.0]],
    ),
    0.3,
    25,
)
def test_sparse_and_dense_print_the_same_bytes(mdp, alpha, digits):
    _same_printout(sparse_copy(mdp), mdp, alpha, digits)


def test_exact_sparse_values_print_the_same_bytes_as_the_dense_file():
    sparse = loads_mdp(
        '{"transitions": {"shape": [2, 2, 2], "entries": [[0, 0, 0, "1/3"], [0, 0, 1, "2/3"],'
        ' [0, 1, 1, "0.9"], [1, 0, 0, "1/7"], [1, 0, 1, "6/7"], [1, 1, 1, 1]]},'
        ' "rewards": [["1", "0"], ["0", "1/2"]], "gamma": "9/10", "termination": true}'
    )
    dense = loads_mdp(
        '{"transitions": [[["1/3", "2/3"], [0, "0.9"]], [["1/7", "6/7"], [0, 1]]],'
        ' "rewards": [["1", "0"], ["0", "1/2"]], "gamma": "9/10", "termination": true}'
    )
    for alpha in ("1/10", 0):
        sol = _same_printout(sparse, dense, alpha, 30)
    assert sol.exact and sol.fractions is not None


@pytest.mark.parametrize(
    "backend",
    [
        "mpmath",
        pytest.param(
            "flint",
            marks=pytest.mark.skipif(not flint_available(), reason="python-flint not installed"),
        ),
    ],
)
def test_a_gridworld_prints_the_same_bytes_sparse_and_dense(backend):
    grid = gridworld(8, 8, slip=0.1, walls=[(3, 3), (3, 4)])
    _same_printout(grid, _dense_copy(grid), "0.1", 30, backend)


def test_alpha_zero_on_more_than_sixty_sparse_states_certifies_the_argmax():
    grid = gridworld(9, 9, slip=0.1, step_reward=-0.01)  # S = 81: gaps, no ties
    _same_printout(grid, _dense_copy(grid), 0, 20)


def test_the_dense_exact_transitions_are_never_built(monkeypatch):
    import softq_ref.mdp as mdp_module

    def refuse(*args, **kwargs):
        raise AssertionError("the dense exact P of a sparse MDP was built")

    monkeypatch.setattr(mdp_module, "_sparse_to_exact", refuse)
    grid = gridworld(12, 12, slip=0.1)
    sol = solve_certified(grid, "0.1", digits=25)
    for horizon in (None, 3):
        src = grid.source()
        m = FiniteMDP(
            src["transitions"], src["rewards"], src["gamma"], termination=True, horizon=horizon
        )
        solve_certified(m, "0.05", digits=15)
    # and the answer is the float64 one within its bound, plus the printout's half unit,
    # plus the rounding of the printed decimals to doubles (half an ulp, <= 2**-53 |Q|)
    r = solve(grid, 0.1)
    printed = np.array([[float(Fraction(x)) for x in row] for row in sol.decimals["Q"]])
    tol = r.error_bound + float(sol.error_bound) + 2.0**-53 * float(np.abs(printed).max())
    assert np.abs(printed - r.Q).max() <= tol


def test_zero_values_on_thousands_of_sparse_states_are_exact_without_a_rational_solve():
    """Zero rewards under a probability prior: ``V* = Q* = 0`` exactly and ``pi* = mu``.
    The closed set of such states is larger than any dense rational solve could take
    (``STRUCTURAL_SOLVE_MAX_STATES``); with zero rewards its solution is 0 without one."""
    import scipy.sparse as sp

    from softq_ref.certified.exact_policy import STRUCTURAL_SOLVE_MAX_STATES

    S, A = STRUCTURAL_SOLVE_MAX_STATES + 100, 2
    rows = np.repeat(np.arange(S * A), 2)  # action a: to s + 1 or to s + 7 + a, half each
    s_of = rows // A
    cols = np.where(np.arange(rows.size) % 2 == 0, s_of + 1, s_of + 7 + rows % A) % S
    P = sp.csr_array((np.full(rows.size, 0.5), (rows, cols)), shape=(S * A, S))
    # exact thirds: no enclosure of log(1/3 + 2/3) in binary intervals is the point 0
    mdp = FiniteMDP(P, np.zeros((S, A)), 0.9, prior=[["1/3", "2/3"]] * S)
    sol = solve_certified(mdp, "0.1", digits=20)
    assert {v for v in sol.decimals["V"]} == {"0"}
    assert {q for row in sol.decimals["Q"] for q in row} == {"0"}
    assert {tuple(row) for row in sol.decimals["policy"]} == {
        ("0.3333333333333333333333", "0.6666666666666666666667")
    }


def test_alpha_zero_ties_on_a_large_sparse_mdp_are_refused_with_a_reason():
    """A symmetric gridworld has exact ties between moving right and moving down on its
    diagonal: the argmax cannot be certified by gaps, and the rational solves that would
    decide it need dense matrices, beyond 500 sparse states: a clear error, not a hang."""
    from softq_ref.errors import UndecidedRoundingError

    with pytest.raises(UndecidedRoundingError, match=r"alpha = 0 on 529 sparse states: .*tie"):
        solve_certified(gridworld(23, 23), 0, digits=10)
