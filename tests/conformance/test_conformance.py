"""The conformance kit (softq_ref.conformance) judges other implementations rightly.

It passes correct float64 implementations (softq_ref's own and an independent
one written here on ``scipy.special.logsumexp``), fails each deliberately
wrong implementation below with the diagnosis of its mistake, reports (and
never crashes on) functions that raise or return garbage, and keeps the exit
codes of docs/conventions.md section 4. The last sections are meta-tests of the kit's
assertion helpers: the default tolerance admits float64 and refuses float32
with a wide margin, and the comparison flags what it should.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from scipy.special import logsumexp

from softq_ref import FiniteMDP, bellman_operator, soft_policy, soft_value, solve
from softq_ref.conformance import (
    DEFAULT_RTOL,
    add_arguments,
    check,
    check_operator,
    check_policy,
    check_solver,
    check_value,
    run,
)
from softq_ref.conformance.cases import (
    SearchSpace,
    case_strategy,
    edge_cases,
    load_case,
    save_case,
)
from softq_ref.conformance.compare import Outcome, Tolerance, call, compare, reference
from softq_ref.conformance.mistakes import mistakes_for

#: Hypothesis examples per check in this file (after the edge cases): enough to
#: exercise the search, small enough for the whole file to run in well under a minute
EXAMPLES = 25


# --- an independent float64 implementation on scipy.special.logsumexp ----------


def scipy_value(Q, alpha):
    return alpha * logsumexp(Q / alpha, axis=-1)


def scipy_policy(Q, alpha):
    z = Q / alpha
    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


def scipy_operator(P, R, gamma, alpha, Q):
    return R + gamma * np.einsum("sat,t->sa", P, scipy_value(Q, alpha))


def _value_iteration(operator, P, R, gamma, alpha, dtype=np.float64):
    """``Q <- T Q`` from 0 for ``40 / (1 - gamma)`` sweeps: ``gamma**n < e**-40 ~ 4e-18``."""
    P, R = P.astype(dtype), R.astype(dtype)
    g, a = dtype(gamma), dtype(alpha)
    Q = np.zeros_like(R)
    for _ in range(int(40 / (1 - gamma)) + 10):
        Qn = operator(P, R, g, a, Q)
        if np.array_equal(Qn, Q) or not np.isfinite(Qn).all():
            return np.asarray(Qn, dtype=np.float64)
        Q = Qn
    return np.asarray(Q, dtype=np.float64)


def scipy_solver(P, R, gamma, alpha):
    return _value_iteration(scipy_operator, P, R, gamma, alpha)


# --- softq_ref's own functions, in the kit's signatures -----------------------


def own_value(Q, alpha):
    return soft_value(Q, alpha)


def own_policy(Q, alpha):
    return soft_policy(Q, alpha)


def own_operator(P, R, gamma, alpha, Q):
    return bellman_operator(FiniteMDP(P, R, gamma), Q, alpha)


def own_solver(P, R, gamma, alpha):
    return solve(FiniteMDP(P, R, gamma), alpha).Q


# --- deliberately wrong implementations (each a mistake real code has made) ---


def lme_value(Q, alpha):  # the uniform-prior convention: log-MEAN-exp
    return alpha * (logsumexp(Q / alpha, axis=-1) - np.log(Q.shape[-1]))


def boltzmann_value(Q, alpha):  # Boltzmann-weighted mean: the entropy term dropped
    return np.sum(scipy_policy(Q, alpha) * Q, axis=-1)


def double_entropy_value(Q, alpha):  # soft value plus the entropy once more
    pi = scipy_policy(Q, alpha)
    H = -np.sum(pi * np.log(np.where(pi > 0, pi, 1.0)), axis=-1)
    return scipy_value(Q, alpha) + alpha * H


def missing_temperature_value(Q, alpha):  # alpha * log sum exp(Q): no /alpha in the exponent
    return alpha * logsumexp(Q, axis=-1)


def overflowing_value(Q, alpha):  # no max-shift
    return alpha * np.log(np.sum(np.exp(Q / alpha), axis=-1))


def float32_value(Q, alpha):  # max-shifted, but float32 throughout, returned as float64
    q, a = Q.astype(np.float32), np.float32(alpha)
    m = q.max(axis=-1, keepdims=True)
    return (m[..., 0] + a * np.log(np.sum(np.exp((q - m) / a), axis=-1))).astype(np.float64)


def float32_operator(P, R, gamma, alpha, Q):  # float32 throughout, returned as float64
    P, R, Q = P.astype(np.float32), R.astype(np.float32), Q.astype(np.float32)
    g, a = np.float32(gamma), np.float32(alpha)
    m = Q.max(axis=-1, keepdims=True)
    V = m[:, 0] + a * np.log(np.sum(np.exp((Q - m) / a), axis=-1))
    return (R + g * np.einsum("sat,t->sa", P, V)).astype(np.float64)


def float32_solver(P, R, gamma, alpha):
    Q = np.zeros(R.shape, dtype=np.float32)
    for _ in range(int(40 / (1 - gamma)) + 10):
        Q = float32_operator(P, R, gamma, alpha, Q).astype(np.float32)
    return Q.astype(np.float64)


def loosely_stopped_solver(P, R, gamma, alpha):
    """Value iteration in float64 that stops when a sweep changes Q by less than 1e-6."""
    Q = np.zeros_like(R)
    while True:
        Qn = scipy_operator(P, R, gamma, alpha, Q)
        if np.abs(Qn - Q).max() < 1e-6:
            return Qn
        Q = Qn


def missing_temperature_policy(Q, alpha):
    return scipy_policy(Q, 1.0)


def overflowing_policy(Q, alpha):
    e = np.exp(Q / alpha)
    return e / e.sum(axis=-1, keepdims=True)


def float32_policy(Q, alpha):
    return scipy_policy(Q.astype(np.float32), np.float32(alpha)).astype(np.float64)


def returns_transposed(Q, alpha):  # pi[a, s] instead of pi[s, a]
    return scipy_policy(Q, alpha).T


def _operator_on(value, layout="sat"):
    def operator(P, R, gamma, alpha, Q):
        return R + gamma * np.einsum(f"{layout},t->sa", P, value(Q, alpha))

    return operator


def _solver_on(operator, dtype=np.float64):
    def solver(P, R, gamma, alpha):
        return _value_iteration(operator, P, R, gamma, alpha, dtype)

    return solver


transposed_operator = _operator_on(scipy_value, layout="ast")  # P read as (A, S, S)

WRONG = {
    "value": [
        (lme_value, "log-mean-exp", "exactly alpha*log(A)"),
        (boltzmann_value, "boltzmann", "Boltzmann-weighted mean"),
        (missing_temperature_value, "temperature-exponent", "the exponent must be Q/alpha"),
        (overflowing_value, "no-max-shift", "overflows to inf"),
        (float32_value, "float32", "exactly a float32 number"),
        (double_entropy_value, "double-entropy", "entropy double-counted"),
    ],
    "policy": [
        (missing_temperature_policy, "temperature-exponent", "softmax(Q)"),
        (overflowing_policy, "no-max-shift", "overflows to inf"),
        (float32_policy, "float32", "exactly a float32 number"),
        (returns_transposed, "transposed", "actions on the last"),
    ],
    "operator": [
        (_operator_on(lme_value), "log-mean-exp", "exactly gamma*alpha*log(A)"),
        (_operator_on(boltzmann_value), "boltzmann", "Boltzmann-weighted mean"),
        (_operator_on(missing_temperature_value), "temperature-exponent", "Q/alpha"),
        (_operator_on(overflowing_value), "no-max-shift", "overflows to inf"),
        (float32_operator, "float32", "exactly a float32 number"),
        (_operator_on(float32_value), "float32-sized", "float32 somewhere"),
        (transposed_operator, "layout", "(A, S, S) layout"),
    ],
    "solver": [
        (_solver_on(_operator_on(lme_value)), "log-mean-exp", "alpha*log(A)/(1 - gamma)"),
        (_solver_on(_operator_on(boltzmann_value)), "boltzmann", "entropy dropped"),
        (_solver_on(_operator_on(double_entropy_value)), "double-entropy", "double-counted"),
        (_solver_on(_operator_on(missing_temperature_value)), "temperature-exponent", "Q/alpha"),
        (_solver_on(_operator_on(overflowing_value)), "no-max-shift", "overflows to inf"),
        (float32_solver, "float32", "exactly a float32 number"),
        (loosely_stopped_solver, "early-stop", "an iteration stopped early"),
        (_solver_on(transposed_operator), "layout", "(A, S, S) layout"),
    ],
}
WRONG_CASES = [
    pytest.param(kind, fn, key, phrase, id=f"{kind}-{key}")
    for kind, rows in WRONG.items()
    for fn, key, phrase in rows
]
CORRECT = [
    pytest.param(kind, fn, id=f"{kind}-{fn.__name__}")
    for kind, fn in [
        ("value", scipy_value),
        ("value", own_value),
        ("policy", scipy_policy),
        ("policy", own_policy),
        ("operator", scipy_operator),
        ("operator", own_operator),
        ("solver", scipy_solver),
        ("solver", own_solver),
    ]
]
CHECKERS = {
    "value": check_value,
    "policy": check_policy,
    "operator": check_operator,
    "solver": check_solver,
}


# --- correct implementations conform -------------------------------------------


@pytest.mark.parametrize(("kind", "fn"), CORRECT)
def test_correct_float64_implementations_conform(kind, fn, tmp_path):
    report = CHECKERS[kind](fn, examples=EXAMPLES, seed=0, save_dir=tmp_path)
    assert report.ok, report.text
    assert report.text.startswith("OK:")
    # every discrepancy seen sat well inside the tolerance: the default has margin
    assert report.worst_ratio < 0.125, report.text
    assert not list(tmp_path.iterdir()), "nothing is saved when the function conforms"


def test_dividing_by_alpha_is_diagnosed_when_alpha_zero_is_asked_for(tmp_path):
    report = check(scipy_value, "value", alpha_range=(0.0, 1.0), save_dir=tmp_path)
    assert not report.ok and report.diagnosis == ("alpha-zero",), report.text
    assert check(scipy_value, "value", examples=5, alpha_range=(1e-3, 1.0)).ok


def test_own_functions_conform_with_alpha_zero_included(tmp_path):
    """``--alpha-range 0 ...`` adds the hard max, which softq_ref defines exactly."""
    for kind, fn in [("value", own_value), ("policy", own_policy), ("solver", own_solver)]:
        report = check(fn, kind, examples=10, seed=1, alpha_range=(0.0, 10.0), save_dir=tmp_path)
        assert report.ok, report.text
        assert "alpha = 0 included" in report.text


# --- wrong implementations fail, with the right diagnosis ------------------------


@pytest.mark.parametrize(("kind", "fn", "key", "phrase"), WRONG_CASES)
def test_known_mistakes_fail_with_their_diagnosis(kind, fn, key, phrase, tmp_path):
    report = check(fn, kind, examples=EXAMPLES, seed=0, save_dir=tmp_path)
    assert not report.ok
    assert report.diagnosis and report.diagnosis[0] == key, report.text
    assert phrase in report.text, report.text
    assert report.counterexample is not None and report.counterexample.is_file()
    for heading in ("FAIL:", "counterexample", "worst entry", "expected", "got", "reproduce:"):
        assert heading in report.text
    with pytest.raises(AssertionError) as info:
        CHECKERS[kind](fn, examples=EXAMPLES, seed=0, save_dir=tmp_path)
    assert str(info.value) == report.text


def test_uniform_prior_diagnosis_states_the_offset_it_measured(tmp_path):
    report = check(lme_value, "value", save_dir=tmp_path, examples=5)
    # first edge case: A = 3, alpha = 0.7, so the offset is 0.7*log(3) in every state
    assert f"exactly alpha*log(A) = {0.7 * np.log(3):.6g} in every state" in report.text
    assert f"(measured: {-0.7 * np.log(3):.6g})" in report.text


def _as_function(kind, formula):
    """A catalogued wrong state-value or policy formula, in the signature of ``kind``."""
    if kind in ("value", "policy"):
        return lambda Q, a: formula(Q, a)
    value = lambda Q, a: formula(Q, a)  # noqa: E731
    operator = _operator_on(value)
    return operator if kind == "operator" else _solver_on(operator)


@pytest.mark.parametrize("kind", ["value", "policy", "operator", "solver"])
def test_every_exact_mistake_formula_is_recognised_as_itself(kind, tmp_path):
    """Meta-test of the diagnosis: each catalogued formula, used as the function, is named."""
    for m in mistakes_for(kind):
        formula = m.pi if kind == "policy" else m.v
        if formula is None:
            continue
        if kind == "solver" and m.key == "temperature-outside":
            # lse(Q/alpha) makes T' a (gamma/alpha)-contraction only: at the first edge
            # case (gamma 0.9, alpha 0.7) value iteration diverges, and a diverging
            # solver leaves no fixed point to recognise (the kit says "no known mistake")
            continue
        fn = _as_function(kind, formula)
        report = check(fn, kind, save_dir=tmp_path, examples=5)
        assert not report.ok
        assert report.diagnosis[:1] == (m.key,), report.text


# --- the Hypothesis search, shrinking, saving and replaying ---------------------


def wrong_with_four_actions(Q, alpha):
    """Right on every edge case (they have at most 3 actions), wrong with 4 actions."""
    return soft_value(Q, alpha) + (Q.shape[1] == 4) * 0.5


def test_search_finds_and_shrinks_a_counterexample_the_edge_cases_miss(tmp_path):
    report = check(wrong_with_four_actions, "value", examples=100, seed=3, save_dir=tmp_path)
    assert not report.ok
    assert "found by Hypothesis and shrunk (seed 3)" in report.text
    assert "S = 1, A = 4" in report.text, report.text  # shrunk to one state
    assert report.diagnosis == ()
    assert "no known mistake matches" in report.text
    saved = json.loads(report.counterexample.read_text())
    assert set(saved) == {"Q", "alpha"} and np.shape(saved["Q"]) == (1, 4)


def test_a_function_that_fails_only_once_is_reported_as_not_deterministic(tmp_path):
    seen = []

    def fails_once(Q, alpha):
        V = soft_value(Q, alpha)
        if Q.shape[1] == 4 and not seen:  # wrong the first time it sees 4 actions only
            seen.append(True)
            return V + 1.0
        return V

    report = check(fails_once, "value", examples=100, seed=0, save_dir=tmp_path)
    assert not report.ok
    assert "the function is not deterministic" in report.text


def test_same_seed_gives_the_same_counterexample(tmp_path):
    a = check(wrong_with_four_actions, "value", examples=100, seed=5, save_dir=tmp_path)
    b = check(wrong_with_four_actions, "value", examples=100, seed=5, save_dir=tmp_path)
    assert a.counterexample == b.counterexample


@pytest.mark.parametrize(
    ("kind", "fn"),
    [
        ("value", lme_value),
        ("operator", transposed_operator),
        ("solver", _solver_on(_operator_on(lme_value))),
    ],
)
def test_replaying_a_saved_counterexample_reproduces_the_report(kind, fn, tmp_path):
    first = check(fn, kind, save_dir=tmp_path, examples=5)
    again = check(fn, kind, replay=first.counterexample, save_dir=tmp_path)
    assert not again.ok
    assert again.diagnosis == first.diagnosis
    assert again.failure == first.failure
    fixed = {"value": scipy_value, "operator": scipy_operator, "solver": scipy_solver}[kind]
    assert check(fixed, kind, replay=first.counterexample).ok


def test_edge_cases_follow_the_search_space():
    """Temperatures outside the range drop a case; a discount above gamma-max is lowered."""
    space = SearchSpace(alpha_range=(0.5, 10.0), gamma_max=0.5)
    kept = [space.restrict(c) for c in edge_cases("solver")]
    kept = [c for c in kept if c is not None]
    assert [c.alpha for c in kept] == [0.7, 0.7, 2.5]  # 1e-3, 1e3, 0 and gamma = 0.99 dropped
    assert all(c.mdp.gamma <= 0.5 for c in kept)
    assert "gamma lowered to 0.5" in kept[0].label
    report = check(transposed_operator, "operator", gamma_max=0.5, examples=5, save_dir=None)
    assert report.diagnosis[:1] == ("layout",) and "gamma lowered to 0.5" in report.text


def test_saved_mdp_is_spec_json_that_round_trips_exactly(tmp_path):
    case = edge_cases("operator")[0]
    path = save_case(case, tmp_path)
    obj = json.loads(path.read_text())
    assert {"transitions", "rewards", "gamma", "alpha"} <= set(obj)
    back = load_case(path, "operator")
    assert np.array_equal(back.mdp.transitions, case.mdp.transitions)  # repr floats round-trip
    assert np.array_equal(back.mdp.rewards, case.mdp.rewards)
    assert np.array_equal(back.Q, case.Q) and back.alpha == case.alpha
    assert back.mdp.gamma == case.mdp.gamma


# --- a faulty function is a failure with a clear report, never a crash ----------


def raising(Q, alpha):
    raise RuntimeError("not implemented yet")


def exiting(Q, alpha):
    sys.exit(3)


def returns_none(Q, alpha):
    return None


def returns_nan(Q, alpha):
    return np.full(Q.shape[0], np.nan)


def returns_column(Q, alpha):
    return soft_value(Q, alpha)[:, None]


def returns_float32(Q, alpha):
    return soft_value(Q, alpha).astype(np.float32)


@pytest.mark.parametrize(
    ("kind", "fn", "what", "phrase"),
    [
        ("value", raising, "raised", "RuntimeError: not implemented yet (at "),
        ("value", exiting, "raised", "SystemExit: 3"),
        ("value", returns_none, "raised", "returned NoneType of dtype object"),
        ("value", returns_nan, "non-finite", "returned 1 non-finite entry (first at V[0])"),
        ("value", returns_column, "shape", "returned shape (1, 1), expected (1,)"),
        ("value", returns_float32, "dtype", "returned dtype float32, expected float64"),
        ("policy", returns_transposed, "shape", "(transposed: (3, 1) is (A, S)"),
    ],
)
def test_faulty_functions_are_reported_not_crashed_on(kind, fn, what, phrase, tmp_path):
    # alpha in [1, 10] leaves the edge case with S = 1, A = 3 first: (3, 1) is not (1, 3)
    report = check(fn, kind, save_dir=tmp_path, examples=5, alpha_range=(1.0, 10.0))
    assert not report.ok
    assert report.failure is not None and report.failure.what == what
    assert phrase in report.text, report.text
    assert "reproduce:" in report.text


def test_the_function_gets_fresh_copies_and_cannot_corrupt_the_reference(tmp_path):
    def scribbling(Q, alpha):
        V = soft_value(Q, alpha)
        Q[...] = np.nan  # mutates its argument
        return V

    assert check(scribbling, "value", examples=EXAMPLES, seed=0, save_dir=tmp_path).ok


def test_bad_options_raise_value_error():
    with pytest.raises(ValueError, match="kind"):
        check(scipy_value, "values")
    with pytest.raises(ValueError, match="rtol"):
        check(scipy_value, "value", rtol=-1.0)
    with pytest.raises(ValueError, match="alpha range"):
        check(scipy_value, "value", alpha_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="gamma-max"):
        check(scipy_value, "operator", gamma_max=1.0)
    with pytest.raises(ValueError, match="examples"):
        check(scipy_value, "value", examples=0)


# --- the command line: exit codes 0, 1, 2 ---------------------------------------

IMPL = textwrap.dedent(
    """
    import numpy as np
    from scipy.special import logsumexp

    def value(Q, alpha):
        return alpha * logsumexp(Q / alpha, axis=-1)

    def lme(Q, alpha):
        return alpha * (logsumexp(Q / alpha, axis=-1) - np.log(Q.shape[-1]))

    NOT_A_FUNCTION = 3
    """
)


@pytest.fixture
def impl(tmp_path, monkeypatch):
    """A module ``myimpl`` in a temporary current directory."""
    (tmp_path / "myimpl.py").write_text(IMPL)
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("myimpl", "broken"):
        sys.modules.pop(name, None)
    return tmp_path


def cli(argv):
    parser = argparse.ArgumentParser(prog="softq-ref check")
    add_arguments(parser)
    return run(parser.parse_args(argv))


def test_cli_exit_0_when_the_function_conforms(impl, capsys):
    code = cli(["myimpl:value", "--kind", "value", "--examples", "10", "--seed", "0"])
    out = capsys.readouterr()
    assert code == 0, out
    assert out.out.startswith("OK: myimpl:value conforms")


def test_cli_exit_1_with_the_report_and_a_command_that_reproduces_it(impl, capsys):
    code = cli(["myimpl:lme", "--kind", "value", "--examples", "10"])
    out = capsys.readouterr()
    assert code == 1 and out.err == ""
    assert "matches: uniform-prior convention (log-mean-exp)" in out.out
    line = out.out.split("reproduce:\n")[1].splitlines()[0].strip()
    argv = shlex.split(line)
    assert argv[:2] == ["softq-ref", "check"]
    assert (impl / argv[-1]).is_file() and argv[-1].startswith("softq-failures/")
    assert cli(argv[2:]) == 1  # the copy-paste line replays the same failure
    again = capsys.readouterr().out
    assert "matches: uniform-prior convention (log-mean-exp)" in again


def test_cli_accepts_a_path_to_a_python_file_and_alpha_range_forms(impl, capsys):
    for rng in (["1e-2", "10"], ["1e-2,10"]):
        argv = [str(impl / "myimpl.py") + ":value", "--kind", "value", "--examples", "5"]
        assert cli([*argv, "--alpha-range", *rng]) == 0
        assert "alpha in [0.01, 10]" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no_colon", "--kind", "value"], "expected MODULE:FUNCTION"),
        (["not_a_module_xyz:f", "--kind", "value"], "cannot import 'not_a_module_xyz'"),
        (["broken:f", "--kind", "value"], "cannot import 'broken': ModuleNotFoundError"),
        (["myimpl:missing", "--kind", "value"], "has no attribute 'missing'"),
        (["myimpl:NOT_A_FUNCTION", "--kind", "value"], "is a int, not a function"),
        (["myimpl:value", "--kind", "value", "--alpha-range", "1"], "--alpha-range needs LO HI"),
        (["myimpl:value", "--kind", "value", "--alpha-range", "a", "b"], "two numbers"),
        (["myimpl:value", "--kind", "value", "--rtol", "-1"], "rtol must be"),
        (["myimpl:value", "--kind", "value", "--gamma-max", "1"], "gamma-max must lie in"),
        (["myimpl:value", "--kind", "value", "--examples", "0"], "examples must be"),
        (["myimpl:value", "--kind", "value", "--replay", "nope.json"], "no such file"),
    ],
)
def test_cli_exit_2_with_one_line_on_stderr_when_it_cannot_run(impl, capsys, argv, message):
    assert cli(argv) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.count("\n") == 1 and out.err.startswith("softq-ref check: ")
    assert message in out.err, out.err


def test_cli_exit_2_for_an_unreadable_replay_file(impl, capsys):
    (impl / "bad.json").write_text('{"Q": [[1.0, "x"]], "alpha": 1}')
    assert cli(["myimpl:value", "--kind", "value", "--replay", "bad.json"]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_cli_exit_2_for_an_operator_replay_without_its_q_table(impl, capsys):
    path = save_case(edge_cases("operator")[0], impl / "saved")
    path.with_name(path.name.replace(".json", ".Q.json")).unlink()
    assert cli(["myimpl:value", "--kind", "operator", "--replay", str(path)]) == 2
    assert "needs the Q-table file" in capsys.readouterr().err


def test_cli_runs_as_a_program(impl):
    """``python -m softq_ref.conformance``: exit statuses and streams as docs/conventions.md section 4 says."""
    root = str(Path(__file__).resolve().parents[2])
    env = {"PYTHONPATH": root, "PATH": "/usr/bin:/bin"}
    base = [sys.executable, "-m", "softq_ref.conformance"]
    ok = subprocess.run([*base, "myimpl:value", "--kind", "value", "--examples", "5", "--seed",
                         "0"], capture_output=True, text=True, cwd=impl, env=env)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*base, "myimpl:lme", "--kind", "value", "--examples", "5"],
                         capture_output=True, text=True, cwd=impl, env=env)  # fmt: skip
    assert bad.returncode == 1 and "FAIL: myimpl:lme" in bad.stdout and bad.stderr == ""
    gone = subprocess.run([*base, "nowhere:f", "--kind", "value"], capture_output=True,
                          text=True, cwd=impl, env=env)  # fmt: skip
    assert gone.returncode == 2 and gone.stdout == "" and gone.stderr.count("\n") == 1


# --- meta-tests of the assertion helpers ------------------------------------------


def _float32_reference(case):
    """The same formulas as the reference, evaluated on float32 (inputs and arithmetic)."""
    kind, a = case.kind, np.float32(case.alpha)
    if kind == "value":
        return float32_value(case.Q, case.alpha)
    if kind == "policy":
        return float32_policy(case.Q, case.alpha)
    args = case.arguments()
    if kind == "operator":
        return float32_operator(*args)
    return float32_solver(*args[:3], float(a))


@pytest.mark.parametrize("kind", ["value", "policy", "operator", "solver"])
def test_default_tolerance_separates_float64_from_float32_with_margin(kind):
    """On the first edge case (decimals that are not binary fractions):

    the independent float64 implementation stays below 1/8 of the tolerance,
    float32 arithmetic exceeds it at least 10**4 times over (the ratio of the
    unit roundoffs is 2**29; what is left after the constants is still huge).
    """
    case = edge_cases(kind)[0]
    exp = reference(case, Tolerance())
    f64 = {"value": scipy_value, "policy": scipy_policy, "operator": scipy_operator,
           "solver": scipy_solver}[kind](*case.arguments())  # fmt: skip
    assert np.abs(f64 - exp.value).max() <= exp.tol / 8
    assert np.abs(_float32_reference(case) - exp.value).max() >= 1e4 * exp.tol


@settings(max_examples=60, deadline=None)
@given(case_strategy("value", SearchSpace()))
def test_default_tolerance_admits_scipy_soft_value_with_margin(case):
    exp = reference(case, Tolerance())
    assert np.abs(scipy_value(*case.arguments()) - exp.value).max() <= exp.tol / 8


@settings(max_examples=30, deadline=None)
@given(case_strategy("operator", SearchSpace()))
def test_default_tolerance_admits_scipy_operator_with_margin(case):
    exp = reference(case, Tolerance())
    assert np.abs(scipy_operator(*case.arguments()) - exp.value).max() <= exp.tol / 8


def test_compare_flags_exactly_what_is_wrong():
    case = edge_cases("value")[0]
    exp = reference(case, Tolerance())
    good = Outcome(raw=exp.value, array=exp.value.copy(), dtype="float64")
    assert compare(case, exp, good) == (None, 0.0)
    nudged = exp.value.copy()
    nudged[2] += 0.5 * exp.tol  # within tolerance: conforms, at half of it
    fail, ratio = compare(case, exp, Outcome(array=nudged, dtype="float64"))
    # the nudge is rounded to the spacing of the doubles near V: that is the only slack
    ulps = float(np.spacing(np.abs(exp.value).max())) / exp.tol
    assert fail is None and ratio == pytest.approx(0.5, abs=ulps)
    nudged[1] += 3 * exp.tol  # beyond: the worst entry is the one moved furthest
    fail, ratio = compare(case, exp, Outcome(array=nudged, dtype="float64"))
    assert fail.what == "values" and fail.worst == (1,) and ratio == pytest.approx(3, abs=ulps)
    assert fail.got_at == nudged[1] and fail.expected_at == exp.value[1]
    fail, _ = compare(case, exp, Outcome(array=exp.value.copy(), dtype="float32"))
    assert fail.what == "dtype" and "within the tolerance" in fail.summary
    inf = exp.value.copy()
    inf[1] = -np.inf
    fail, _ = compare(case, exp, Outcome(array=inf, dtype="float64"))
    assert fail.what == "non-finite" and fail.worst == (1,)
    fail, _ = compare(case, exp, Outcome(error="ValueError: x"))
    assert fail.what == "raised" and "ValueError: x" in fail.summary


def test_call_never_raises_and_passes_fresh_float64_copies():
    case = edge_cases("operator")[0]
    seen = []

    def spy(*args):
        seen.append(args)
        raise KeyError("boom")

    out = call(spy, case)
    assert out.array is None and out.error.startswith("KeyError: 'boom'")
    P, R, gamma, alpha, Q = seen[0]
    assert P.dtype == R.dtype == Q.dtype == np.float64 and P.shape == (3, 3, 3)
    assert P.flags.writeable and P is not case.mdp.transitions
    assert type(gamma) is float and type(alpha) is float


def test_tolerance_scales_follow_the_conditioning_of_each_kind():
    """The scales are the formulas of the compare module's docstring, on the first edge case."""
    t = Tolerance()
    v = edge_cases("value")[0]  # Q3 with |Q| <= 2.2, alpha = 0.7, A = 3
    assert reference(v, t).scale == 2.2 + 0.7 * np.log(3)
    p = edge_cases("policy")[0]
    assert reference(p, t).scale == 1 + 2.2 / 0.7
    s = edge_cases("solver")[0]
    exp = reference(s, t)
    qmax = float(np.abs(exp.value).max())
    assert exp.scale == pytest.approx((2.0 + 0.9 * (qmax + 0.7 * np.log(3))) / (1 - 0.9))
    assert exp.tol == t.atol + DEFAULT_RTOL * exp.scale + exp.bound and exp.bound > 0


def test_the_failing_run_shown_in_the_docs_is_what_the_kit_prints(tmp_path, monkeypatch, capsys):
    """docs/conformance.md ends with a real report; rerun it and compare, word for word."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text()
    section = doc.split("## The kit on a wrong implementation")[1]
    code = section.split("```python\n")[1].split("```")[0]
    shown = section.split("```console\n")[1].split("```")[0].splitlines()
    command, report = shown[0], shown[1 : shown.index("$ echo $?")]
    (tmp_path / "mysoftq.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mysoftq", None)
    assert cli(shlex.split(command)[3:]) == 1
    assert capsys.readouterr().out.splitlines() == report


# --- Writing files is opt-in from Python (issue 15, point 7); the CLI keeps its default.


def test_check_from_python_writes_no_file_unless_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = check(lme_value, "value", examples=5)
    assert not report.ok and report.counterexample is None
    assert "  not saved (pass save_dir=DIR to check()" in report.text
    assert "reproduce:" not in report.text
    with pytest.raises(AssertionError, match="not saved"):
        check_value(lme_value, examples=5)
    assert list(tmp_path.iterdir()) == []  # nothing in the current directory
    # Asked for, the counterexample is written where it is told, with its replay command.
    saved = check(lme_value, "value", examples=5, save_dir=tmp_path / "out")
    assert saved.counterexample is not None and saved.counterexample.parent == tmp_path / "out"
    assert saved.counterexample.is_file() and "reproduce:" in saved.text
    assert "not saved" not in saved.text


def test_the_cli_still_saves_to_softq_failures_by_default(impl, capsys):
    assert cli(["myimpl:lme", "--kind", "value", "--examples", "5"]) == 1
    assert "saved to softq-failures/" in capsys.readouterr().out
    assert any((impl / "softq-failures").iterdir())
