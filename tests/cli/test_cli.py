"""The ``softq-ref`` command line (docs/conventions.md section 4), mostly run as a subprocess.

Each subprocess costs an interpreter start (~0.3 s), so the subprocess tests
are the ones whose point is the process: exit status, what reaches stdout and
stderr, and the JSON printed. The rest call :func:`softq_ref.cli.main`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from softq_ref.cli import main
from softq_ref.float64.solvers import solve
from softq_ref.io.jsonio import loads_problem

ROOT = Path(__file__).resolve().parents[2]

# docs/conventions.md section 3's example, verbatim.
CONVENTIONS_EXAMPLE = """{
  "transitions": [[[0.5, 0.5], [1, 0]], [[0, 1], [0, 1]]],
  "rewards": [["1", "0"], ["0", "1/2"]],
  "gamma": "9/10",
  "prior": [[1, 1], [1, 0]],
  "termination": false,
  "alpha": "0.1"
}"""

OUTPUT_KEYS = ["Q", "V", "policy", "error_bound", "digits", "alpha", "gamma", "iterations"]


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m softq_ref ARGS`` in a fresh interpreter, importing this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "softq_ref", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def strict_json(text: str) -> Any:
    """Parse JSON refusing NaN and Infinity (which Python's json accepts by default)."""

    def refuse(literal: str) -> None:
        raise AssertionError(f"{literal} in the output")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(CONVENTIONS_EXAMPLE)
    return path


# ------------------------------------------------------------------ solve


def test_solve_on_the_spec_example_prints_spec_format_equal_to_the_float64_solver(
    spec_file: Path,
) -> None:
    proc = run_cli("solve", str(spec_file))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.count("\n") == 1  # one JSON object on one line
    out = strict_json(proc.stdout)
    assert list(out) == OUTPUT_KEYS
    # The file's alpha "0.1" is one tenth; the solver gets it exactly.
    expected = solve(loads_problem(CONVENTIONS_EXAMPLE).mdp, Fraction(1, 10))
    # repr round-trips, so the printed numbers are the solver's doubles exactly.
    assert out["Q"] == expected.Q.tolist()
    assert out["V"] == expected.V.tolist()
    assert out["policy"] == expected.policy.tolist()
    assert out["error_bound"] == expected.error_bound
    assert out["digits"] is None
    assert out["alpha"] == 0.1 and out["gamma"] == 0.9
    assert out["iterations"] == expected.iterations


def test_solve_reads_stdin_and_command_line_alpha_wins_over_the_files() -> None:
    proc = run_cli("solve", "-", "--alpha", "1/3", stdin=CONVENTIONS_EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    out = strict_json(proc.stdout)
    expected = solve(loads_problem(CONVENTIONS_EXAMPLE).mdp, Fraction(1, 3))
    assert out["alpha"] == float(Fraction(1, 3))
    assert out["V"] == expected.V.tolist()


def test_solve_in_process_matches_alpha_zero_hard_optimum(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["solve", str(spec_file), "--alpha", "0"]) == 0
    out = strict_json(capsys.readouterr().out)
    # alpha = 0: V* = max over available actions of Q*; the policy is greedy.
    Q = np.array(out["Q"])
    mu = np.array([[1, 1], [1, 0]])
    V_hard = np.where(mu > 0, Q, -np.inf).max(axis=1)
    assert np.all(np.abs(np.array(out["V"]) - V_hard) <= out["error_bound"])
    assert out["alpha"] == 0.0


def test_solve_with_a_finite_horizon_prints_a_leading_time_axis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps({**json.loads(CONVENTIONS_EXAMPLE), "horizon": 3, "gamma": 1})
    path = tmp_path / "h.json"
    path.write_text(text)
    assert main(["solve", str(path)]) == 0
    out = strict_json(capsys.readouterr().out)
    assert np.shape(out["Q"]) == (3, 2, 2) and np.shape(out["V"]) == (3, 2)
    assert out["Q"] == solve(loads_problem(text).mdp, Fraction(1, 10)).Q.tolist()


# ------------------------------------------------------- bad input: exit 2

_BASE = json.loads(CONVENTIONS_EXAMPLE)


def _variant(**changes: Any) -> str:
    obj = dict(_BASE)
    obj.update(changes)
    return json.dumps(obj)


# (file text or None for "no such file", extra arguments, what the one stderr line must say)
BAD_INPUTS = {
    "missing file": (None, [], "cannot read the file: No such file or directory"),
    "invalid JSON": ('{"gamma": 0.9,\n "rewards" 1}', [], "invalid JSON at line 2, column 12"),
    "wrong shape": (
        _variant(rewards=[["1", "0"], ["0"]]),
        [],
        "rewards[1] has 1 entry where rewards[0] has 2",
    ),
    "wrong size": (
        _variant(prior=[[1, 1, 1], [1, 0, 0]]),
        [],
        "prior[0] has 3 entries; expected 2",
    ),
    "negative probability": (
        _variant(transitions=[[[0.5, 0.5], [1, 0]], [[-0.25, 1.25], [0, 1]]]),
        [],
        "transitions[1, 0, 0] is -0.25; probabilities must be >= 0",
    ),
    "non-summing row": (
        _variant(transitions=[[[0.5, 0.5], [1, 0]], [[0, 1], ["1/3", "1/3"]]]),
        [],
        "transitions[1, 1, :] sums to 2/3, not 1",
    ),
    "gamma out of range": (_variant(gamma="1.5"), [], "gamma is 3/2; it must lie in [0, 1)"),
    "negative alpha in the file": (_variant(alpha=-1), [], "alpha is -1; the temperature"),
    "negative --alpha": (CONVENTIONS_EXAMPLE, ["--alpha=-0.5"], "--alpha is -0.5; the temperature"),
    "NaN": (
        CONVENTIONS_EXAMPLE.replace('"1/2"', "NaN"),
        [],
        "rewards[1, 1] is NaN, which is not a finite number",
    ),
    "Infinity": (
        CONVENTIONS_EXAMPLE.replace("[0.5, 0.5]", "[0.5, -Infinity]"),
        [],
        "transitions[0, 0, 1] is -Infinity, which is not a finite number",
    ),
    "overflowing literal": (
        CONVENTIONS_EXAMPLE.replace('"9/10"', "1e400"),
        [],
        "gamma is 1e400, which overflows a double",
    ),
    "prior row with no mass": (
        _variant(prior=[[1, 1], [0, 0]]),
        [],
        "prior[1, :] has no positive weight",
    ),
    "unknown key": (
        CONVENTIONS_EXAMPLE.replace('"termination"', '"terminal"'),
        [],
        "unknown key 'terminal' (did you mean 'termination'?)",
    ),
    "no alpha": (
        json.dumps({k: v for k, v in _BASE.items() if k != "alpha"}),
        [],
        'no temperature: give --alpha A or an "alpha" key',
    ),
    "bad --digits": (
        CONVENTIONS_EXAMPLE,
        ["--digits", "0"],
        "argument --digits: must be an integer >= 1",
    ),
    "--fractions without --digits": (
        CONVENTIONS_EXAMPLE,
        ["--fractions"],
        "--fractions needs --digits",
    ),
}


# Issue 12, "Inputs that crash" (findings 6-12): each was a traceback, a hang or a silent
# misreading; each must be exit 2 with one stderr line, from both solvers.
CRASHES = {
    "6: reward beyond the float64 range": (
        _variant(rewards=[["1e400", "0"], ["0", "1/2"]]),
        [],
        "rewards[0, 0] is 1e+400; it is beyond the float64 range",
    ),
    "6: prior beyond the float64 range": (
        _variant(prior=[["1e400", 1], [1, 0]]),
        [],
        "prior[0, 0] is 1e+400; it is beyond the float64 range",
    ),
    "6: alpha beyond the float64 range (float64 solver)": (
        CONVENTIONS_EXAMPLE,
        ["--alpha", "1e400"],
        "alpha is 1e+400; too large for float64",
    ),
    "7: a huge exponent in a reward": (
        _variant(rewards=[["1e1000000000", "0"], ["0", "1/2"]]),
        [],
        "rewards[0, 0] is '1e1000000000': its exponent is beyond +-1000",
    ),
    "7: a huge exponent in --alpha": (
        CONVENTIONS_EXAMPLE,
        ["--alpha=1e-1000000000"],
        "--alpha is '1e-1000000000': its exponent is beyond +-1000",
    ),
    "8: gamma that rounds to 1": (
        _variant(gamma="0.99999999999999999999"),
        [],
        "gamma is 0.99999999999999999999, which rounds to 1 in float64",
    ),
    "9: a horizon too long to keep": (
        _variant(horizon=10**12),
        [],
        "horizon is 1000000000000: with S = 2 and A = 2",
    ),
    "10: a 5000-digit integer": (
        _variant(rewards=[["1" * 5000, "0"], ["0", "1/2"]]),
        [],
        "rewards[0, 0] is a number of 5000 digits",
    ),
    "11: values beyond the float64 range": (
        _variant(rewards=[[1e308, 1e308], [1e308, 1e308]]),
        [],
        "the solution leaves the float64 range",
    ),
    "12: an Arabic-Indic digit": (
        _variant(rewards=[["\u0661", "0"], ["0", "1/2"]]),
        [],
        "rewards[0, 0] is '\u0661', not a number",
    ),
    "12: a fullwidth digit": (
        _variant(rewards=[["\uff11", "0"], ["0", "1/2"]]),
        [],
        "rewards[0, 0] is '\uff11', not a number",
    ),
}


# both solvers, except where the case names one (the certified solver takes any exact alpha)
_CRASH_RUNS = [
    (case, digits)
    for case in CRASHES
    for digits in ("", "5")
    if not (digits and "float64 solver" in case)
]


@pytest.mark.parametrize(("case", "digits"), _CRASH_RUNS)
def test_inputs_that_crashed_exit_2_with_one_stderr_line(
    case: str, digits: str, tmp_path: Path
) -> None:
    text, extra, expected = CRASHES[case]
    path = tmp_path / "mdp.json"
    path.write_text(text, encoding="utf-8")
    more = ["--digits", digits] if digits else []
    proc = run_cli("solve", str(path), *extra, *more)  # run_cli's timeout: 120 s
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_stderr_line_naming_file_key_and_index(
    case: str, tmp_path: Path
) -> None:
    text, extra, expected = BAD_INPUTS[case]
    path = tmp_path / "mdp.json"
    if text is not None:
        path.write_text(text)
    proc = run_cli("solve", str(path), *extra)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("softq-ref: error: ")
    assert expected in lines[0], lines[0]
    if not case.startswith(("bad --digits", "--fractions")):
        assert f"{path}: " in lines[0] or "--alpha" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["solve"], "the following arguments are required: FILE"),
        (["solve", "x.json", "--digits", "many"], "--digits: must be an integer >= 1, got 'many'"),
        (["solve", "x.json", "--bogus"], "unrecognized arguments: --bogus"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["check", "m:f"], "required: --kind"),
        (["golden"], "outdir"),
    ],
)
def test_usage_errors_exit_2_with_one_line_and_nothing_on_stdout(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("softq-ref: error: ")
    assert expected in lines[0], lines[0]


def test_help_explains_the_conventions_the_commands_and_the_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    for phrase in [
        "V(s)    = alpha * log sum_a mu[s,a]",
        "P[s, a, s']",
        "softq-ref demo",
        "softq-ref solve mdp.json",
        "docs/conventions.md section 3",
    ]:
        assert phrase in top
    assert main(["solve", "--help"]) == 0
    solve_help = capsys.readouterr().out
    for key in ["transitions", "rewards", "gamma", "prior", "termination", "alpha", "horizon"]:
        assert f"  {key}" in solve_help
    assert main([]) == 0  # no command: the help, not an error
    assert "commands:" in capsys.readouterr().out


# ------------------------------------------------- certified path and demo


class _Call:
    """One call of the certified solver by the CLI: its arguments and the real solution."""

    def __init__(self, alpha: Any, digits: int, solution: Any) -> None:
        self.alpha, self.digits, self.solution = alpha, digits, solution
        self.fractions: bool | None = None

    def to_spec_dict(self, *, fractions: bool = False) -> dict[str, Any]:
        self.fractions = fractions
        result: dict[str, Any] = self.solution.to_spec_dict(fractions=fractions)
        return result


@pytest.fixture
def certified_calls(monkeypatch: pytest.MonkeyPatch) -> list[_Call]:
    """Records how the CLI calls :func:`softq_ref.solve_certified`, which still does the work."""
    import softq_ref.certified as certified

    real = certified.solve_certified
    calls: list[_Call] = []

    def spy(mdp: Any, alpha: Any, *, digits: int) -> _Call:
        calls.append(_Call(alpha, digits, real(mdp, alpha, digits=digits)))
        return calls[-1]

    monkeypatch.setattr(certified, "solve_certified", spy)
    return calls


def test_digits_calls_the_certified_solver_with_the_exact_alpha_and_prints_its_dict(
    spec_file: Path,
    certified_calls: list[_Call],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["solve", str(spec_file), "--digits", "25", "--fractions"]) == 0
    (call,) = certified_calls
    assert call.alpha == Fraction(1, 10) and isinstance(call.alpha, Fraction)
    assert call.digits == 25 and call.fractions is True
    out = strict_json(capsys.readouterr().out)
    assert out == call.to_spec_dict(fractions=True)
    assert list(out)[: len(OUTPUT_KEYS)] == OUTPUT_KEYS


def test_demo_prints_tables_and_its_example_round_trips_through_solve(
    tmp_path: Path,
    certified_calls: list[_Call],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "river.json"
    assert main(["demo", "--write-example", str(path)]) == 0
    text = capsys.readouterr().out
    for phrase in ["V*(s)", "pi*(swim|s)", "Certified", "alpha falls", "within"]:
        assert phrase in text
    assert "NO" not in text.split()  # every row of the approach table is within its bound
    (call,) = certified_calls
    assert call.alpha == Fraction(1, 10) and call.digits == 30
    assert main(["solve", str(path)]) == 0
    out = strict_json(capsys.readouterr().out)
    from softq_ref.cli.demo import example_mdp

    assert out["V"] == solve(example_mdp(), Fraction(1, 10)).V.tolist()


def test_demo_reports_an_unwritable_example_path_in_one_line(
    tmp_path: Path,
    certified_calls: list[_Call],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "no-such-dir" / "river.json"
    assert main(["demo", "--write-example", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "cannot write the file" in captured.err
