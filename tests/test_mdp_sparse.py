"""Sparse FiniteMDP: the same MDP as dense input, validated the same way, never densified."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given

from softq_ref import FiniteMDP, InvalidMDPError
from softq_ref.strategies import mdps

from helpers import sparse_copy

P2 = np.array([[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
R2 = [[1.0, 0.0], [0.0, 0.5]]


def _csr(P: np.ndarray) -> sp.csr_array:
    S, A = P.shape[0], P.shape[1]
    return sp.csr_array(P.reshape(S * A, S))


@given(mdps(states=(1, 6), actions=(1, 3), prior=True, termination=True))
def test_sparse_and_dense_input_give_the_same_mdp(mdp):
    S, A = mdp.num_states, mdp.num_actions
    for sparse in (sparse_copy(mdp), sparse_copy(mdp, as_list=True)):
        assert sparse.is_sparse and not mdp.is_sparse
        assert (sparse.num_states, sparse.num_actions) == (S, A)
        assert sparse.transitions.shape == (S * A, S)
        assert np.array_equal(sparse.transitions.toarray(), mdp.transitions.reshape(S * A, S))
        assert np.array_equal(sparse.rewards, mdp.rewards)
        assert sparse.gamma == mdp.gamma and sparse.termination == mdp.termination
        assert (sparse.prior is None) == (mdp.prior is None)
        assert sparse.max_row_sum_float() == pytest.approx(mdp.max_row_sum_float(), abs=4e-16)
        assert sparse.float_source() == mdp.float_source()
        nnz = (mdp.transitions != 0).sum(axis=2)
        assert np.array_equal(sparse.row_terms(), nnz)
        assert np.array_equal(sparse.exact.transitions, mdp.exact.transitions)


@pytest.mark.parametrize(
    ("transitions", "needle"),
    [
        (_csr(P2 * [1, -1]), "transitions[0, 0, 1] is -0.5; probabilities must be >= 0"),
        (
            _csr(np.where(P2 == 1.0, np.nan, P2)),
            "transitions[0, 1, 0] is nan; every number must be finite",
        ),
        (_csr(np.where(P2 == 0.5, 0.4, P2)), "transitions[0, 0, :] sums to 0.8, not 1"),
        (_csr(np.where(P2 == 0.5, 0.6, P2)), "transitions[0, 0, :] sums to 1.2, not 1"),
        (sp.csr_array(np.eye(3)[:, :2]), "sparse transitions must have shape (S*A, S)"),
        (sp.csr_array((5, 2)), "sparse transitions must have shape (S*A, S)"),
        (sp.csr_array(np.ones((4, 2), dtype=bool)), "expected real numbers"),
        (
            [sp.csr_array(P2[:, 0, :]), sp.csr_array(np.eye(3))],
            "transitions[1] has shape (3, 3); each of the A sparse matrices must have shape (S, S)",
        ),
        ([sp.csr_array(P2[:, 0, :]), P2[:, 1, :]], "transitions[1] is a ndarray"),
        (
            sp.coo_array(
                ([0.5, 0.25, 0.25, 1, 1, 1], ([0, 0, 0, 1, 2, 3], [1, 0, 1, 0, 1, 1])), shape=(4, 2)
            ),
            "transitions[0, 0, 1] is given twice",
        ),
        (
            np.transpose(np.stack([P2[:, 0], P2[:, 0], P2[:, 1]]), (0, 1, 2)),
            "pymdptoolbox's P[a, s, s']: use softq_ref.io.from_pymdptoolbox",
        ),
    ],
)
def test_bad_sparse_input_names_the_entry(transitions, needle):
    with pytest.raises(InvalidMDPError) as err:
        FiniteMDP(
            transitions, R2 if not isinstance(transitions, np.ndarray) else [[0] * 3] * 2, 0.9
        )
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_sparse_sub_stochastic_rows_need_termination_and_empty_rows_are_sub_stochastic():
    P = P2.copy()
    P[1, 1] = 0.0  # an empty row: the episode ends
    with pytest.raises(
        InvalidMDPError, match=r"transitions\[1, 1, :\] sums to 0.0.*termination=True"
    ):
        FiniteMDP(_csr(P), R2, 0.9)
    mdp = FiniteMDP(_csr(P), R2, 0.9, termination=True)
    assert mdp.row_terms().tolist() == [[2, 1], [1, 0]]


def test_sparse_rewards_must_be_expected_rewards():
    with pytest.raises(InvalidMDPError, match=r"rewards of shape \(2, 2, 2\) with sparse"):
        FiniteMDP(_csr(P2), np.zeros((2, 2, 2)), 0.9)


def test_explicit_zeros_are_dropped_and_the_store_is_read_only():
    M = sp.coo_array(
        ([0.5, 0.5, 1.0, 0.0, 1.0, 1.0], ([0, 0, 1, 1, 2, 3], [0, 1, 0, 1, 1, 1])), shape=(4, 2)
    )
    assert M.nnz == 6
    mdp = FiniteMDP(M, R2, 0.9)
    assert mdp.transitions.nnz == 5
    with pytest.raises(ValueError):
        mdp.transitions.data[0] = 0.0


#: Construction keeps the entries, their keys and a permutation (a few int64 and float64
#: arrays of length nnz) and the row sums and pointers (a few arrays of length S*A):
#: 64 bytes per stored entry and 64 per row (s, a) bound it with room to spare (measured:
#: about 41 bytes per entry at S = 10^5). A dense (S, S) matrix would be 80 GB.
BYTES_PER_ENTRY, BYTES_PER_ROW = 64, 64


def test_construction_of_a_large_sparse_mdp_is_linear_in_its_nonzeros():
    S, A, k = 10**5, 4, 3
    rows = np.repeat(np.arange(S * A), k)
    cols = (rows // A + np.tile(np.arange(k), S * A)) % S
    P = sp.csr_array((np.full(S * A * k, 1 / 3), (rows, cols)), shape=(S * A, S))
    R = np.zeros((S, A))
    del rows, cols
    tracemalloc.start()
    try:
        mdp = FiniteMDP(P, R, 0.9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert mdp.num_states == S and mdp.transitions.nnz == S * A * k
    assert peak <= BYTES_PER_ENTRY * P.nnz + BYTES_PER_ROW * S * A, peak


def test_construction_from_entries_is_linear_in_its_nonzeros_too():
    """:class:`SparseEntries` (what the JSON reader builds): the same bound as CSR input,
    float values at ``S = 10^5`` (measured: about 49 bytes per entry); exact Fractions at
    ``S = 2000`` keep one more object array of length nnz (measured: about 108 bytes per
    entry, within twice the bound)."""
    from fractions import Fraction

    from softq_ref.mdp import SparseEntries

    for S, exact in ((10**5, False), (2000, True)):
        A, k = 4, 3
        rows = np.repeat(np.arange(S * A), k)
        cols = (rows // A + np.tile(np.arange(k), S * A)) % S
        if exact:
            vals = np.empty(rows.size, dtype=object)
            vals[:] = [Fraction(1, 3)] * rows.size
        else:
            vals = np.full(rows.size, 1 / 3)
        entries = SparseEntries(S, A, rows // A, rows % A, cols, vals)
        R = np.zeros((S, A))
        del rows, cols
        tracemalloc.start()
        try:
            mdp = FiniteMDP(entries, R, 0.9)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        nnz = S * A * k
        assert mdp.transitions.nnz == nnz and mdp.float_source() != exact
        factor = 2 if exact else 1
        assert peak <= factor * (BYTES_PER_ENTRY * nnz + BYTES_PER_ROW * S * A), (S, peak)


@pytest.mark.parametrize(
    ("s", "a", "t", "values", "needle"),
    [
        (
            [0, 0, 1, 1],
            [0, 1, 0, 1],
            [0, 1, 1, 2],
            [1.0] * 4,
            "sparse entry 3 is (s, a, t) = (1, 1, 2)",
        ),
        (
            [0, 0, 1, 1],
            [0, 1, 0, 1],
            [0, 1, 1, 1],
            ["1/2", "-1/2", 1, 1],
            "transitions[0, 1, 1] is -1/2",
        ),
        (
            [0, 0, 0, 1, 1],
            [0, 0, 1, 0, 1],
            [0, 0, 1, 1, 1],
            ["1/2"] * 2 + [1] * 3,
            "transitions[0, 0, 0] is given twice",
        ),
        (
            [0, 0, 1, 1],
            [0, 1, 0, 1],
            [0, 1, 1, 1],
            ["1/3", 1, 1, 1],
            "transitions[0, 0, :] sums to 1/3, not 1",
        ),
    ],
)
def test_bad_exact_entries_name_the_entry(s, a, t, values, needle):
    from fractions import Fraction

    from softq_ref.mdp import SparseEntries

    vals = np.empty(len(values), dtype=object)
    vals[:] = [Fraction(v) for v in values]
    entries = SparseEntries(2, 2, np.array(s), np.array(a), np.array(t), vals)
    with pytest.raises(InvalidMDPError) as err:
        FiniteMDP(entries, R2, 0.9)
    assert needle in str(err.value), str(err.value)
