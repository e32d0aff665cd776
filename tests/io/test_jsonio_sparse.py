"""The sparse form of ``transitions`` in the JSON format (docs/conventions.md section 3).

``{"shape": [S, A, S], "entries": [[s, a, s2, p], ...]}`` is read into a sparse
:class:`FiniteMDP` with the exact values of the text, written back losslessly, and
every bad entry is refused with one line naming the file, the key, the entry's index
and its value.
"""

from __future__ import annotations

import json
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softq_ref import FiniteMDP, InvalidMDPError
from softq_ref.io import dumps_mdp, load_problem, loads_mdp, loads_problem
from softq_ref.strategies import mdps, sparse_mdps

from helpers import sparse_copy


def _sparse_text(entries, shape=(2, 2, 2), rewards=None, **extra) -> str:
    S, A = shape[0], shape[1]
    obj = {
        "transitions": {"shape": list(shape), "entries": entries},
        "rewards": rewards if rewards is not None else [[0] * A for _ in range(S)],
        "gamma": "9/10",
        **extra,
    }
    return json.dumps(obj)


GOOD = [
    [0, 0, 0, "1/3"],
    [0, 0, 1, "2/3"],
    [0, 1, 1, 1],
    [1, 0, 0, 0.5],
    [1, 0, 1, 0.5],
    [1, 1, 1, 1],
]


def _same_exact_mdp(a: FiniteMDP, b: FiniteMDP) -> None:
    """The same exact inputs (dense and sparse compared through their exact arrays)."""
    assert (a.num_states, a.num_actions) == (b.num_states, b.num_actions)
    assert np.array_equal(a.exact.transitions, b.exact.transitions)
    assert np.array_equal(a.exact.rewards, b.exact.rewards)
    assert a.exact.gamma == b.exact.gamma
    assert (a.prior is None) == (b.prior is None)
    if a.prior is not None:
        assert np.array_equal(a.exact.prior, b.exact.prior)
    assert a.termination == b.termination and a.horizon == b.horizon


def test_the_sparse_form_is_read_exactly_into_a_sparse_mdp():
    mdp = loads_mdp(_sparse_text(GOOD))
    assert mdp.is_sparse and mdp.transitions.nnz == 6
    assert mdp.exact_sparse_values().tolist()[:2] == [Fraction(1, 3), Fraction(2, 3)]
    assert not mdp.float_source()  # "1/3" is not a double: the float64 bounds add its rounding
    dense = loads_mdp(
        json.dumps(
            {
                "transitions": [[["1/3", "2/3"], [0, 1]], [[0.5, 0.5], [0, 1]]],
                "rewards": [[0, 0], [0, 0]],
                "gamma": "9/10",
            }
        )
    )
    _same_exact_mdp(mdp, dense)
    assert np.array_equal(mdp.transitions.toarray(), dense.transitions.reshape(4, 2))


@given(
    st.one_of(
        sparse_mdps(states=(1, 30), prior=st.booleans(), termination=st.booleans()),
        mdps(states=(1, 5), prior=st.booleans(), termination=st.booleans()).map(sparse_copy),
    ),
    st.booleans(),
)
def test_writing_and_reading_back_keeps_every_exact_value_and_stays_sparse(mdp, horizon):
    if horizon:
        src = mdp.source()
        mdp = FiniteMDP(
            src["transitions"],
            src["rewards"],
            src["gamma"],
            prior=src["prior"],
            termination=src["termination"],
            horizon=3,
        )
    text = dumps_mdp(mdp, alpha="0.1")
    back = loads_problem(text)
    assert back.mdp.is_sparse and back.alpha == Fraction(1, 10)
    assert np.array_equal(back.mdp.transitions.indptr, mdp.transitions.indptr)
    assert np.array_equal(back.mdp.transitions.indices, mdp.transitions.indices)
    assert back.mdp.exact_sparse_values().tolist() == mdp.exact_sparse_values().tolist()
    assert np.array_equal(back.mdp.rewards, mdp.rewards)
    assert back.mdp.termination == mdp.termination and back.mdp.horizon == mdp.horizon
    assert (back.mdp.prior is None) == (mdp.prior is None)
    if mdp.prior is not None:
        assert np.array_equal(back.mdp.prior, mdp.prior)
    assert dumps_mdp(back.mdp, alpha="0.1") == text  # one spelling per exact value


def test_exact_sparse_values_are_written_as_exact_strings():
    mdp = loads_mdp(_sparse_text(GOOD, prior=[[1, 0], [1, 1]], termination=False))
    text = dumps_mdp(mdp)
    assert '[0, 0, 0, "1/3"]' in text and "[1, 0, 0, 0.5]" in text
    assert loads_mdp(text).exact_sparse_values().tolist() == mdp.exact_sparse_values().tolist()


def test_termination_and_unlisted_rows_end_the_episode():
    entries = [[0, 0, 1, "1/2"], [1, 0, 1, 1]]  # (0, 0) keeps half its mass; (0, 1), (1, 1) none
    with pytest.raises(InvalidMDPError, match=r"transitions\[0, 0, :\] sums to 1/2, not 1"):
        loads_mdp(_sparse_text(entries))
    mdp = loads_mdp(_sparse_text(entries, termination=True))
    assert mdp.row_terms().tolist() == [[1, 0], [1, 0]]


@pytest.mark.parametrize(
    ("transitions", "needle"),
    [
        ({"shape": [2, 2, 3], "entries": []}, "transitions.shape is [2, 2, 3]; expected [S, A, S]"),
        ({"shape": [2, 0, 2], "entries": []}, "transitions.shape is [2, 0, 2]"),
        ({"shape": "2x2", "entries": []}, 'transitions.shape is "2x2"'),
        ({"shape": [2, 2, 2]}, "transitions has no 'entries'"),
        ({"shape": [2, 2, 2], "entries": [], "nnz": 6}, "transitions has the unknown key 'nnz'"),
        ({"shape": [2, 2, 2], "entries": {}}, "transitions.entries is an object; expected a list"),
        (
            {"shape": [2, 2, 2], "entries": [*GOOD[:5], [1, 1, 2, 1]]},
            "transitions.entries[5] is [1, 1, 2, 1]: s2 = 2 is not an integer in [0, 2)",
        ),
        (
            {"shape": [2, 2, 2], "entries": [[0, -1, 0, 1], *GOOD]},
            "transitions.entries[0] is [0, -1, 0, 1]: a = -1 is not an integer in [0, 2)",
        ),
        (
            {"shape": [2, 2, 2], "entries": [[0, 0.0, 0, 1], *GOOD]},
            "transitions.entries[0] is [0, 0.0, 0, 1]: a = 0.0 is not an integer",
        ),
        (
            {"shape": [2, 2, 2], "entries": [[0, 0, 0], *GOOD]},
            "transitions.entries[0] is [0, 0, 0]; expected [s, a, s2, p]",
        ),
        (
            {"shape": [2, 2, 2], "entries": [*GOOD[:3], [1, 0, 0, -0.5], [1, 0, 1, 1.5], GOOD[5]]},
            "transitions.entries[3] is [1, 0, 0, -0.5]: p = -0.5 is negative",
        ),
        (
            {"shape": [2, 2, 2], "entries": [*GOOD[:3], [1, 0, 0, "-1/2"], *GOOD[4:]]},
            'transitions.entries[3] is [1, 0, 0, "-1/2"]: p = "-1/2" is negative',
        ),
        (
            {"shape": [2, 2, 2], "entries": [*GOOD[:3], [1, 0, 0, "half"], *GOOD[4:]]},
            "transitions.entries[3][3]",
        ),
        (
            {"shape": [2, 2, 2], "entries": [*GOOD, [0, 1, 1, 0]]},
            "transitions.entries[2] and transitions.entries[6] both give (s, a, s2) = (0, 1, 1)",
        ),
        (
            {"shape": [2, 2, 2], "entries": [*GOOD[:5]]},
            "transitions[1, 1, :] sums to 0, not 1",
        ),
        (
            {"shape": [2, 2, 2], "entries": [[0, 0, 0, 0.5], *GOOD[1:]]},
            "transitions[0, 0, :] sums to 7/6, not 1",
        ),
    ],
)
def test_bad_sparse_transitions_name_the_entry_and_its_value(transitions, needle):
    text = json.dumps({"transitions": transitions, "rewards": [[0, 0], [0, 0]], "gamma": 0.9})
    with pytest.raises(InvalidMDPError) as err:
        loads_mdp(text, source="m.json")
    msg = str(err.value)
    assert msg.startswith("m.json: ") and needle in msg, msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("literal", "needle"),
    [
        ("NaN", "transitions.entries[3][3] is NaN"),
        ("-Infinity", "is -Infinity"),
        ("1e400", "1e400"),
    ],
)
def test_non_finite_probabilities_are_refused_naming_the_entry(literal, needle):
    entries = json.dumps(GOOD[:3])[:-1] + f", [1, 0, 0, {literal}], [1, 0, 1, 0.5], [1, 1, 1, 1]]"
    text = (
        '{"transitions": {"shape": [2, 2, 2], "entries": ' + entries + "}, "
        '"rewards": [[0, 0], [0, 0]], "gamma": 0.9}'
    )
    with pytest.raises(InvalidMDPError) as err:
        loads_mdp(text, source="m.json")
    assert needle in str(err.value) and "finite" in str(err.value), str(err.value)


def test_rewards_per_successor_with_sparse_transitions_are_refused_clearly():
    r3 = [[[0, 0], [0, 0]], [[0, 0], [0, 0]]]
    with pytest.raises(InvalidMDPError, match=r"rewards has shape \[2, 2, 2\], R\[s\]\[a\]\[s'\]"):
        loads_mdp(_sparse_text(GOOD, rewards=r3))


def test_prior_and_horizon_go_with_sparse_transitions():
    mdp = loads_mdp(_sparse_text(GOOD, prior=[[1, 0], ["1/2", "1/2"]], horizon=4))
    assert mdp.is_sparse and mdp.horizon == 4 and mdp.prior.tolist() == [[1, 0], [0.5, 0.5]]
    with pytest.raises(InvalidMDPError, match=r"prior\[1\] has 1 entry where prior\[0\] has 2"):
        loads_mdp(_sparse_text(GOOD, prior=[[1, 0], [1]]))


#: Reading holds the file twice (its bytes and the decoded text), the parsed JSON (a list
#: of 4 numbers per entry: about 200 bytes with the list, its float and ints, as many
#: again for the rewards' lists here), the entries' values as a Python list, a few int64 /
#: float64 arrays of length nnz (indices, keys, the permutation that sorts them) and the
#: CSR arrays: 1000 bytes per entry beyond twice the file bound it with room to spare
#: (measured: about 600 at S = 2 * 10^4, 25 MB in all). That is linear in the entries:
#: one dense row of P (S float64) is 160 kB, the whole dense P 3.2 GB.
BYTES_PER_JSON_ENTRY = 1000


def test_reading_a_large_sparse_file_is_linear_in_its_entries(tmp_path):
    S = 20_000
    rng = np.random.default_rng(1)
    nxt = rng.integers(0, S, size=S)
    entries = ",".join(
        f"[{s},0,{s},0.5],[{s},0,{t},0.5]" if t != s else f"[{s},0,{s},1]"
        for s, t in enumerate(nxt.tolist())
    )
    path = tmp_path / "big.json"
    rewards = ",".join(["[1]"] * S)
    path.write_text(
        f'{{"transitions": {{"shape": [{S}, 1, {S}], "entries": [{entries}]}}, '
        f'"rewards": [{rewards}], "gamma": 0.5}}'
    )
    tracemalloc.start()
    try:
        mdp = load_problem(path).mdp
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    nnz = mdp.transitions.nnz
    assert mdp.is_sparse and nnz >= S
    assert peak <= BYTES_PER_JSON_ENTRY * nnz + 2 * path.stat().st_size, peak
