"""The command line with the certified solver (``softq_ref.certified``): what it prints.

``test_cli.py`` checks how the command line calls the solver; these tests
check the printed numbers against independent answers.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_cli import CONVENTIONS_EXAMPLE, OUTPUT_KEYS, run_cli, strict_json

from softq_ref.cli import main
from softq_ref.float64.solvers import solve
from softq_ref.io.jsonio import loads_problem


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(CONVENTIONS_EXAMPLE)
    return path


def _significant_digits(text: str) -> int:
    """Significant digits of a decimal string such as '-0.00123E-7' (here 3)."""
    mantissa = text.lstrip("+-").upper().split("E")[0].replace(".", "")
    return len(mantissa.lstrip("0"))


def _flat(nested: Any) -> list[Any]:
    return [x for x in np.asarray(nested, dtype=object).flat]


def test_solve_with_digits_prints_certified_strings_that_agree_with_the_float64_solver(
    spec_file: Path,
) -> None:
    proc = run_cli("solve", str(spec_file), "--digits", "30")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = strict_json(proc.stdout)
    assert list(out)[: len(OUTPUT_KEYS)] == OUTPUT_KEYS
    assert out["digits"] == 30
    assert Fraction(out["alpha"]) == Fraction(1, 10)  # the file's "0.1", exactly
    assert Fraction(out["gamma"]) == Fraction(9, 10)
    printed = {key: _flat(out[key]) for key in ("Q", "V", "policy")}
    for values in printed.values():
        for text in values:
            assert isinstance(text, str)
            # docs/conventions.md section 4: at least D significant digits (an exact zero may be "0")
            assert _significant_digits(text) >= 30 or Fraction(text) == 0, text
    bound = Fraction(out["error_bound"])
    q_max = max(abs(Fraction(x)) for x in printed["Q"])
    assert 0 < bound <= Fraction(1, 10**30) * max(1, q_max)
    # Two independent answers: |printed - exact| <= bound (certified) and
    # |float64 - exact| <= error_bound (float64 solver) for Q and V, so they
    # differ by at most the sum (exact rational arithmetic, no rounding here).
    fast = solve(loads_problem(CONVENTIONS_EXAMPLE).mdp, Fraction(1, 10))
    allowed = bound + Fraction(fast.error_bound)
    for key, arr in (("Q", fast.Q), ("V", fast.V)):
        for text, x in zip(printed[key], arr.flat, strict=True):
            assert abs(Fraction(text) - Fraction(float(x))) <= allowed, (key, text, x)


def test_fractions_gives_the_exact_hard_optimum(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["solve", str(spec_file), "--alpha", "0", "--digits", "20", "--fractions"]) == 0
    out = strict_json(capsys.readouterr().out)
    assert out["exact"] is True
    # alpha = 0 on the example of docs/conventions.md, solved by hand: state 1 can only take action 0 (prior 0 on
    # action 1), a reward-0 self-loop, so V*(1) = 0 and Q*(1, 1) = 1/2; in state 0,
    # Q*(0, 0) = 1 + 0.9 (V*(0) + V*(1)) / 2 and Q*(0, 1) = 0 + 0.9 V*(0), so with
    # V*(0) = Q*(0, 0): V*(0) = 1 / (1 - 0.45) = 20/11 and Q*(0, 1) = 18/11.
    assert [Fraction(x) for x in out["V_fractions"]] == [Fraction(20, 11), 0]
    assert [[Fraction(x) for x in row] for row in out["Q_fractions"]] == [
        [Fraction(20, 11), Fraction(18, 11)],
        [0, Fraction(1, 2)],
    ]


def test_demo_runs_and_prints_its_tables() -> None:
    proc = run_cli("demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for phrase in ["V*(s)", "pi*(swim|s)", "Certified", "alpha falls", "within bound"]:
        assert phrase in proc.stdout
    # every row of the approach table is within the bound of docs/conventions.md section 1
    assert "NO" not in proc.stdout.split()


def test_demo_example_round_trips_through_solve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "river.json"
    assert main(["demo", "--digits", "20", "--write-example", str(path)]) == 0
    capsys.readouterr()
    assert main(["solve", str(path)]) == 0
    out = strict_json(capsys.readouterr().out)
    from softq_ref.cli.demo import example_mdp

    assert out["V"] == solve(example_mdp(), Fraction(1, 10)).V.tolist()


def test_demo_reports_an_unwritable_example_path_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "no-such-dir" / "river.json"
    assert main(["demo", "--write-example", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "cannot write the file" in captured.err
