"""``softq-ref solve`` on a file with sparse transitions (docs/conventions.md section 3).

The float64 solve of a sparse file agrees with the dense file's within the two bounds;
``--digits`` prints the same bytes for both (the printout is a function of the exact
input); bad sparse entries exit 2 with one line naming the file, the key and the entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_cli import strict_json

from softq_ref import FiniteMDP
from softq_ref.cli import main
from softq_ref.io import save_mdp
from softq_ref.io.gridworld import gridworld


def _files(tmp_path: Path) -> tuple[Path, Path]:
    """A 5 x 5 gridworld (with termination at the goal) as a sparse file and a dense file."""
    grid = gridworld(5, 5, slip=0.1, walls=[(2, 2)])
    S, A = grid.num_states, grid.num_actions
    src = grid.source()
    dense = FiniteMDP(
        grid.transitions.toarray().reshape(S, A, S),
        src["rewards"],
        src["gamma"],
        termination=src["termination"],
    )
    sparse_path, dense_path = tmp_path / "sparse.json", tmp_path / "dense.json"
    save_mdp(grid, sparse_path, alpha="0.1")
    save_mdp(dense, dense_path, alpha="0.1")
    assert '"entries"' in sparse_path.read_text() and '"entries"' not in dense_path.read_text()
    return sparse_path, dense_path


def test_float64_solve_of_a_sparse_file_agrees_with_the_dense_file_within_the_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sparse_path, dense_path = _files(tmp_path)
    outs = []
    for path in (sparse_path, dense_path):
        assert main(["solve", str(path)]) == 0
        outs.append(strict_json(capsys.readouterr().out))
    tol = outs[0]["error_bound"] + outs[1]["error_bound"]
    for key in ("Q", "V"):
        assert np.abs(np.array(outs[0][key]) - np.array(outs[1][key])).max() <= tol


def test_certified_solve_of_a_sparse_file_prints_the_dense_files_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sparse_path, dense_path = _files(tmp_path)
    outs = []
    for path in (sparse_path, dense_path):
        assert main(["solve", str(path), "--digits", "25"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["digits"] == 25


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            "[[0, 0, 0, 1], [0, 0, 0, 1], [1, 0, 1, 1]]",
            "transitions.entries[0] and transitions.entries[1] both give (s, a, s2) = (0, 0, 0)",
        ),
        (
            "[[0, 0, 0, 1.5], [0, 0, 1, -0.5], [1, 0, 1, 1]]",
            "transitions.entries[1] is [0, 0, 1, -0.5]: p = -0.5 is negative",
        ),
        ("[[0, 0, 0, NaN], [1, 0, 1, 1]]", "transitions.entries[0][3] is NaN"),
        (
            "[[0, 0, 2, 1], [1, 0, 1, 1]]",
            "transitions.entries[0] is [0, 0, 2, 1]: s2 = 2 is not an integer in [0, 2)",
        ),
        ("[[0, 0, 0, 0.5], [1, 0, 1, 1]]", "transitions[0, 0, :] sums to 0.5, not 1"),
    ],
)
def test_bad_sparse_files_exit_2_with_one_line_naming_the_entry(
    entries: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    head = '{"transitions": {"shape": [2, 1, 2], "entries": '
    path.write_text(head + entries + '}, "rewards": [[0], [1]], "gamma": 0.9, "alpha": 1}')
    for extra in ([], ["--digits", "10"]):
        assert main(["solve", str(path), *extra]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"softq-ref: error: {path}: ")
        assert expected in lines[0], lines[0]
