"""The kinds value-solver, policy-solver and horizon-solver, the options of a check, and
``softq-ref golden --check`` (issue 14).

Each new kind passes a correct float64 implementation written here (value
iteration, backward induction on ``scipy.special.logsumexp``) and fails a wrong
one with its diagnosis. Each option is shown to do what it says: ``alpha=0``
runs every edge case at ``alpha = 0``, ``gamma_min`` keeps the discounts at or
above it, ``rewards="state"`` passes ``R[s]``, ``mdp_files`` adds the user's
files and lists those the signature cannot carry, ``array="torch"`` passes
float64 tensors. The golden check passes a correct solver and fails a wrong
one with the catalog case, the reason for every case left out, and the
diagnosis.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import textwrap

import numpy as np
import pytest
from scipy.special import logsumexp

from softq_ref import FiniteMDP, solve
from softq_ref.cli import main as cli_main
from softq_ref.conformance import (
    DEFAULT_RTOL,
    add_arguments,
    check,
    check_horizon_solver,
    check_policy_solver,
    check_value_solver,
    run,
)
from softq_ref.conformance.cases import edge_cases
from softq_ref.conformance.compare import Tolerance, reference
from softq_ref.conformance.golden import check_golden
from softq_ref.errors import InvalidArgumentError
from softq_ref.io import dumps_mdp

#: Hypothesis examples per check (after the edge cases): the file runs in well under a minute
EXAMPLES = 20


# --- correct float64 implementations -------------------------------------------


def _full(R, A):
    return np.repeat(R[:, None], A, axis=1) if R.ndim == 1 else R


def _v(Q, alpha):
    return alpha * logsumexp(Q / alpha, axis=-1) if alpha > 0 else Q.max(axis=-1)


def value_iteration(P, R, gamma, alpha):
    """``Q <- T Q`` until it stops changing (or ``40 / (1 - gamma)`` sweeps)."""
    R = _full(R, P.shape[1])
    Q = np.zeros_like(R)
    for _ in range(int(40 / (1 - gamma)) + 10):
        Qn = R + gamma * np.einsum("sat,t->sa", P, _v(Q, alpha))
        if np.array_equal(Qn, Q):
            break
        Q = Qn
    return Q


def value_solver(P, R, gamma, alpha):
    return _v(value_iteration(P, R, gamma, alpha), alpha)


def policy_solver(P, R, gamma, alpha):
    """pi* = softmax(Q*/alpha); at alpha = 0 a one-hot argmax (any optimal choice conforms)."""
    Q = value_iteration(P, R, gamma, alpha)
    if alpha == 0:
        pi = np.zeros_like(Q)
        pi[np.arange(Q.shape[0]), Q.argmax(axis=-1)] = 1.0
        return pi
    z = Q / alpha
    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


def backward_induction(P, R, gamma, alpha, H, dtype=np.float64):
    """Q[t] = R + gamma P V(Q[t+1]), V after the last step 0; Q[t] has H - t steps to go."""
    P, R = P.astype(dtype), _full(R, P.shape[1]).astype(dtype)
    g, a = dtype(gamma), dtype(alpha)
    S, A = R.shape
    Q = np.zeros((H, S, A), dtype=dtype)
    V = np.zeros(S, dtype=dtype)
    for t in range(H - 1, -1, -1):
        Q[t] = R + g * np.einsum("sat,t->sa", P, V)
        V = _v(Q[t], a).astype(dtype)
    return Q.astype(np.float64)


# --- wrong ones ------------------------------------------------------------------


def lme_value_solver(P, R, gamma, alpha):
    """Value iteration on the log-MEAN-exp (the uniform-prior convention)."""
    A = P.shape[1]
    V = np.zeros(P.shape[0])
    for _ in range(int(40 / (1 - gamma)) + 10):
        Q = R + gamma * np.einsum("sat,t->sa", P, V)
        V = alpha * (logsumexp(Q / alpha, axis=-1) - np.log(A))
    return V


def greedy_policy_solver(P, R, gamma, alpha):
    """The greedy policy of Q*: the soft-greedy one only at alpha = 0."""
    return policy_solver(P, R, gamma, 0.0) if alpha > 0 else policy_solver(P, R, gamma, alpha)


def time_reversed_horizon_solver(P, R, gamma, alpha, H):
    """Q indexed by the steps to go instead of the time."""
    return backward_induction(P, R, gamma, alpha, H)[::-1]


def one_step_too_many_horizon_solver(P, R, gamma, alpha, H):
    """Q[t] with H + 1 - t steps to go (an off-by-one in the loop: V_H = V(R), not 0)."""
    return backward_induction(P, R, gamma, alpha, H + 1)[:H]


@pytest.mark.parametrize(
    ("kind", "fn"),
    [
        ("value-solver", value_solver),
        ("policy-solver", policy_solver),
        ("horizon-solver", backward_induction),
    ],
)
def test_correct_solvers_of_the_new_kinds_conform_with_margin(kind, fn, tmp_path):
    report = check(fn, kind, examples=EXAMPLES, seed=0, save_dir=tmp_path)
    assert report.ok, report.text
    assert report.worst_ratio < 0.125, report.text
    checker = {
        "value-solver": check_value_solver,
        "policy-solver": check_policy_solver,
        "horizon-solver": check_horizon_solver,
    }[kind]
    assert checker(fn, examples=5, seed=0).ok
    # with alpha = 0 included too (the one-hot argmax policy conforms at alpha = 0)
    assert check(fn, kind, examples=5, seed=1, alpha_range=(0.0, 10.0)).ok


@pytest.mark.parametrize(
    ("kind", "fn", "key", "phrase"),
    [
        (
            "value-solver",
            lme_value_solver,
            "log-mean-exp",
            "exactly alpha*log(A)/(1 - gamma) = 7.69029 on V*",  # the wrong Q* projected
        ),
        ("policy-solver", greedy_policy_solver, "hard-max", "temperature ignored (hard max)"),
        (
            "horizon-solver",
            time_reversed_horizon_solver,
            "time-reversed",
            "Q[t] with H - t steps to go",
        ),
    ],
)
def test_wrong_solvers_of_the_new_kinds_fail_with_their_diagnosis(kind, fn, key, phrase, tmp_path):
    report = check(fn, kind, examples=EXAMPLES, seed=0, save_dir=tmp_path)
    assert not report.ok
    assert report.diagnosis[:1] == (key,), report.text
    assert phrase in report.text
    # the saved case replays to the same failure
    again = check(fn, kind, replay=report.counterexample)
    assert not again.ok and again.failure == report.failure


def lme_horizon_solver(P, R, gamma, alpha, H):
    """Backward induction on the log-MEAN-exp (the uniform-prior convention)."""
    S, A = R.shape
    Q = np.zeros((H, S, A))
    V = np.zeros(S)
    for t in range(H - 1, -1, -1):
        Q[t] = R + gamma * np.einsum("sat,t->sa", P, V)
        V = alpha * (logsumexp(Q[t] / alpha, axis=-1) - np.log(A))
    return Q


def test_a_horizon_solver_on_a_wrong_value_map_is_diagnosed_step_by_step():
    report = check(lme_horizon_solver, "horizon-solver", examples=5)
    assert not report.ok and report.diagnosis == ("log-mean-exp",), report.text
    assert "alpha*log(A)*(gamma + ... + gamma**(H-1-t)) on Q_t" in report.text
    assert re.search(r"under the mistaken operator it is \S+: the mistaken recursion", report.text)


def test_an_off_by_one_horizon_fails():
    report = check(one_step_too_many_horizon_solver, "horizon-solver", examples=5)
    assert not report.ok and report.failure.what == "values", report.text
    # named as what it is, not taken for a reversed time axis
    assert report.diagnosis == ("one-step-too-many",), report.text
    assert "V_H = V(R)" in report.text


def test_horizon_solver_tolerance_admits_float64_and_refuses_float32():
    """Backward induction rounds ``rho = eps*(|R| + gamma*(|Q| + alpha log A))`` per step,
    amplified by ``sum_{k<H} gamma**k``: float64 stays below 1/8 of the tolerance on every
    edge case, float32 exceeds it 10**4 times over (unit roundoffs 2**29 apart)."""
    for case in edge_cases("horizon-solver"):
        exp = reference(case, Tolerance())
        f64 = backward_induction(*case.arguments())
        assert np.abs(f64 - exp.value).max() <= exp.tol / 8, case.label
        if case.alpha in (0.7, 2.5) and case.horizon > 1:  # decimals that are not binary
            f32 = backward_induction(*case.arguments(), dtype=np.float32)
            assert np.abs(f32 - exp.value).max() >= 1e4 * exp.tol, case.label


# --- options -----------------------------------------------------------------------


def test_alpha_zero_runs_every_edge_case_at_alpha_zero():
    seen = []

    def hard_value(Q, alpha):
        seen.append(alpha)
        return Q.max(axis=-1)

    report = check(hard_value, "value", alpha=0.0, examples=10, seed=0)
    assert report.ok, report.text
    assert "checked 6 edge cases" in report.text and "alpha = 0 only" in report.text
    assert set(seen) == {0.0} and len(seen) == 16
    # --alpha-range 0 0 is the same, and no longer refused
    assert check(hard_value, "value", alpha_range=(0.0, 0.0), examples=10, seed=0).text == (
        report.text
    )


def test_alpha_zero_checks_a_hard_only_solver_that_refuses_soft_temperatures():
    def hard_only(P, R, gamma, alpha):
        if alpha != 0:
            raise ValueError("only alpha = 0")
        return value_iteration(P, R, gamma, 0.0)

    assert not check(hard_only, "solver", examples=5).ok
    report = check(hard_only, "solver", alpha=0.0, examples=EXAMPLES, seed=0)
    assert report.ok, report.text
    # the 7 solver edge cases at alpha = 0: gamma = 0.99 is above gamma-max, and the two
    # that differed from others only in alpha run once
    assert "checked 4 edge cases" in report.text, report.text


def test_gamma_min_keeps_every_discount_at_or_above_it():
    seen = []

    def rejects_small_gamma(P, R, gamma, alpha):
        seen.append(gamma)
        if gamma < 0.5:
            raise ValueError("gamma must be >= 0.5")
        return value_iteration(P, R, gamma, alpha)

    report = check(rejects_small_gamma, "solver", gamma_min=0.5, examples=EXAMPLES, seed=0)
    assert report.ok, report.text
    assert min(seen) >= 0.5 and "0.5 <= gamma <= 0.95" in report.text
    seen.clear()
    report = check(rejects_small_gamma, "solver", examples=EXAMPLES, seed=0)
    assert not report.ok and "gamma must be >= 0.5" in report.text


def test_sizes_go_up_to_max_states_and_max_actions():
    shapes = []

    def spy(Q, alpha):
        shapes.append(Q.shape)
        return np.asarray(alpha * logsumexp(Q / alpha, axis=-1))

    assert check(spy, "value", examples=100, seed=0, max_states=7, max_actions=5).ok
    # beyond the edge cases' 3 and the old cap of 4, never beyond the maximum
    assert 4 < max(s for s, _ in shapes) <= 7 and 3 < max(a for _, a in shapes) <= 5
    shapes.clear()
    assert check(spy, "value", examples=40, seed=0, max_states=2, max_actions=2).ok
    assert max(max(shape) for shape in shapes) <= 3  # the edge cases have up to 3


def state_reward_solver(P, R, gamma, alpha):
    """A solver whose rewards are R[s] (it refuses R[s, a])."""
    if R.ndim != 1:
        raise ValueError(f"rewards must have shape (S,), got {R.shape}")
    return value_iteration(P, R, gamma, alpha)


def test_rewards_state_passes_state_rewards():
    report = check(state_reward_solver, "solver", rewards="state", examples=EXAMPLES, seed=0)
    assert report.ok, report.text
    assert "rewards R[s]" in report.text
    assert not check(state_reward_solver, "solver", examples=5).ok
    assert check(backward_induction, "horizon-solver", rewards="state", examples=5).ok

    def adds_reward_twice(P, R, gamma, alpha):
        return state_reward_solver(P, R, gamma, alpha) + R[:, None]

    wrong = check(adds_reward_twice, "solver", rewards="state", examples=5, save_dir=None)
    assert not wrong.ok and "rewards R[s]" in wrong.text
    with pytest.raises(ValueError, match="needs a kind with an MDP"):
        check(value_solver, "value", rewards="state")


def _write_mdp(path, mdp, alpha=None):
    path.write_text(dumps_mdp(mdp, alpha=alpha))
    return path


def test_mdp_files_are_checked_and_unexpressible_ones_listed_with_the_reason(tmp_path):
    rng = np.random.default_rng(7)
    P = rng.random((7, 2, 7))
    P /= P.sum(axis=2, keepdims=True)
    mine = _write_mdp(tmp_path / "mine.json", FiniteMDP(P, rng.standard_normal((7, 2)), 0.9), 0.3)
    prior = _write_mdp(
        tmp_path / "prior.json",
        FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5, prior=[[0.5, 0.5]]),
    )
    report = check(value_iteration, "solver", mdp_files=[mine, prior], examples=5, seed=0)
    assert report.ok, report.text
    assert "1 cases of your MDP files" in report.text
    assert f"not expressible, left out: {prior}: it has a prior" in report.text

    def wrong_on_seven_states(P, R, gamma, alpha):
        return value_iteration(P, R, gamma, alpha) + (P.shape[0] == 7) * 1e-6

    bad = check(wrong_on_seven_states, "solver", mdp_files=[mine], max_states=4, save_dir=tmp_path)
    assert not bad.ok
    assert f"counterexample (your MDP file {mine}, alpha = 0.3)" in bad.text
    assert check(value_iteration, "solver", replay=bad.counterexample).ok


def test_mdp_files_need_the_right_kind_and_state_rewards_need_state_reward_files(tmp_path):
    plain = _write_mdp(tmp_path / "plain.json", FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5))
    horizon = _write_mdp(
        tmp_path / "h.json", FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 1.0, horizon=3)
    )
    report = check(backward_induction, "horizon-solver", mdp_files=[plain, horizon], examples=5)
    assert report.ok, report.text
    assert f"{plain}: it has no finite horizon" in report.text
    report = check(state_reward_solver, "solver", rewards="state", mdp_files=[plain], examples=5)
    assert report.ok and f"{plain}: its rewards depend on the action" in report.text


def test_array_torch_passes_float64_tensors():
    torch = pytest.importorskip("torch")

    def torch_value(Q, alpha):  # torch.logsumexp refuses NumPy arrays
        return alpha * torch.logsumexp(Q / alpha, dim=-1)

    def torch_solver(P, R, gamma, alpha):
        assert P.dtype == R.dtype == torch.float64
        Q = torch.zeros_like(R)
        for _ in range(int(40 / (1 - gamma)) + 10):
            Q = R + gamma * torch.einsum("sat,t->sa", P, torch_value(Q, alpha))
        return Q

    assert not check(torch_value, "value", examples=5).ok  # NumPy arrays: it raises
    assert check(torch_value, "value", array="torch", examples=EXAMPLES, seed=0).ok
    assert check(torch_solver, "solver", array="torch", examples=EXAMPLES, seed=0).ok

    def float32_tensor(Q, alpha):
        return torch_value(Q.float(), alpha)

    bad = check(float32_tensor, "value", array="torch", examples=5)
    assert not bad.ok and bad.failure.what == "dtype"


def test_array_names_what_to_install_when_the_library_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax raises ImportError
    with pytest.raises(InvalidArgumentError, match=r"--array jax needs JAX.*pip install jax"):
        check(value_solver, "value-solver", array="jax")


# --- the command line ------------------------------------------------------------

IMPL = textwrap.dedent(
    """
    import numpy as np
    from scipy.special import logsumexp

    def _v(Q, alpha):
        return alpha * logsumexp(Q / alpha, axis=-1) if alpha > 0 else Q.max(axis=-1)

    def solver(P, R, gamma, alpha):
        if R.ndim == 1:
            R = np.repeat(R[:, None], P.shape[1], axis=1)
        Q = np.zeros_like(R)
        for _ in range(int(40 / (1 - gamma)) + 10):
            Qn = R + gamma * np.einsum("sat,t->sa", P, _v(Q, alpha))
            if np.array_equal(Qn, Q):
                break
            Q = Qn
        return Q

    def lme(P, R, gamma, alpha):
        Q = np.zeros_like(R)
        for _ in range(int(40 / (1 - gamma)) + 10):
            V = alpha * (logsumexp(Q / alpha, axis=-1) - np.log(Q.shape[1])) if alpha else Q.max(-1)
            Q = R + gamma * np.einsum("sat,t->sa", P, V)
        return Q

    def hard(Q, alpha):
        assert alpha == 0
        return Q.max(axis=-1)
    """
)


@pytest.fixture
def impl(tmp_path, monkeypatch):
    (tmp_path / "kindimpl.py").write_text(IMPL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("kindimpl", None)
    return tmp_path


def cli(argv):
    parser = argparse.ArgumentParser(prog="softq-ref check")
    add_arguments(parser)
    return run(parser.parse_args(argv))


def test_cli_options_of_a_check(impl, capsys):
    assert cli(["kindimpl:hard", "--kind", "value", "--alpha", "0", "--examples", "5"]) == 0
    assert "6 edge cases" in capsys.readouterr().out
    argv = ["kindimpl:solver", "--kind", "solver", "--examples", "5", "--rewards", "state"]
    assert cli([*argv, "--gamma-min", "0.2", "--max-states", "3", "--max-actions", "2"]) == 0
    out = capsys.readouterr().out
    assert "0.2 <= gamma <= 0.95, S <= 3, A <= 2, rewards R[s]" in out
    mdp = _write_mdp(impl / "m.json", FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5), 1.0)
    assert cli(["kindimpl:lme", "--kind", "solver", "--mdp", str(mdp), "--examples", "5"]) == 1
    assert "log-mean-exp" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--alpha", "0", "--alpha-range", "0", "1"], "not both"),
        (["--mdp", "nope.json"], "--mdp: no such file: nope.json"),
        (["--gamma-max", "1"], "only horizon-solver allows gamma = 1"),
        (["--gamma-min", "0.99"], "gamma-min must lie in"),
        (["--max-states", "0"], "max-states must be an integer >= 1"),
    ],
)
def test_cli_refuses_bad_options_with_one_line(impl, capsys, argv, message):
    assert cli(["kindimpl:solver", "--kind", "solver", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_the_reproduce_line_carries_the_options_a_replay_needs(impl, capsys):
    argv = ["kindimpl:lme", "--kind", "solver", "--rewards", "state", "--examples", "5"]
    # lme takes R[s, a]; with state rewards it broadcasts R[s] wrongly or raises: a failure
    assert cli(argv) == 1
    line = capsys.readouterr().out.split("reproduce:\n")[1].splitlines()[0]
    assert "--rewards state --replay softq-failures/" in line
    argv = ["kindimpl:lme", "--kind", "solver", "--alpha", "0.5", "--gamma-min", "0.25"]
    assert cli([*argv, "--examples", "5"]) == 1
    out = capsys.readouterr().out
    line = out.split("reproduce:\n")[1].splitlines()[0].strip()
    assert "--alpha 0.5 --gamma-min 0.25 --replay softq-failures/" in line
    assert cli(shlex.split(line)[2:]) == 1  # the replay runs the same probes: same report
    again = capsys.readouterr().out
    assert again.split("diagnosis:")[1] == out.split("diagnosis:")[1]


# --- softq-ref golden --check ---------------------------------------------------


def test_golden_check_passes_a_correct_solver_and_lists_what_it_leaves_out():
    report = check_golden(value_iteration, "solver")
    assert report.ok, report.text
    assert len(report.passed) == 20 and not report.failed
    reasons = dict(report.unexpressible)
    assert set(reasons) == {"prior-zeros", "termination", "gridworld", "cliff"}
    assert reasons["prior-zeros"].startswith("it has a prior")
    assert "the missing mass ends the episode" in reasons["cliff"]
    for name in ("prior-zeros", "termination", "gridworld", "cliff"):
        assert f"NOT EXPRESSIBLE {name}: " in report.text
    for kind, fn in [("value-solver", value_solver), ("policy-solver", policy_solver)]:
        assert check_golden(fn, kind).ok


def test_golden_check_of_value_and_policy_kinds_uses_the_catalogs_q_star():
    def value(Q, alpha):
        return _v(Q, alpha)

    report = check_golden(value, "value")
    assert report.ok, report.text
    # only the prior is beyond f(Q, alpha): termination does not change V(Q)
    assert dict(report.unexpressible).keys() == {"prior-zeros"}


def test_golden_check_fails_a_wrong_solver_with_the_case_and_the_diagnosis(impl, capsys):
    code = cli_main(["golden", "--check", "kindimpl:lme", "--kind", "solver"])
    out = capsys.readouterr()
    assert code == 1, out.err
    assert out.out.startswith("FAIL: golden catalog check of kindimpl:lme")
    assert "  FAIL bandit alpha=1/10 (S = 1, A = 3, gamma = 0.9, alpha = 0.1)" in out.out
    assert "  PASS bandit alpha=0 " in out.out  # log-mean-exp is right at alpha = 0
    assert "  NOT EXPRESSIBLE termination: it terminates" in out.out
    assert "diagnosis: matches: uniform-prior convention (log-mean-exp)" in out.out
    assert "(golden catalog, 30 certified digits)" in out.out
    assert cli_main(["golden", "--check", "kindimpl:solver", "--kind", "solver"]) == 0


def test_golden_check_exit_2_when_nothing_can_be_checked_or_it_cannot_run(impl, capsys):
    assert cli_main(["golden", "--check", "kindimpl:solver", "--kind", "horizon-solver"]) == 2
    out = capsys.readouterr()
    assert "NOT EXPRESSIBLE random-3: it has no finite horizon" in out.out
    assert out.err.count("\n") == 1 and "no catalog case can be expressed" in out.err
    assert cli_main(["golden", "--check", "kindimpl:solver"]) == 2
    assert "--check needs --kind" in capsys.readouterr().err
    assert cli_main(["golden", "--check", "nowhere:f", "--kind", "solver"]) == 2
    assert cli_main(["golden"]) == 2
    assert "required: outdir" in capsys.readouterr().err


def test_saved_horizon_counterexample_is_an_mdp_file_with_its_horizon(tmp_path):
    report = check(time_reversed_horizon_solver, "horizon-solver", examples=5, save_dir=tmp_path)
    obj = json.loads(report.counterexample.read_text())
    assert obj["horizon"] == 5 and obj["alpha"] == 0.7
    r = solve(FiniteMDP(obj["transitions"], obj["rewards"], obj["gamma"], horizon=5), 0.7)
    assert r.Q.shape == (5, 3, 3)


# --- the tolerance model admits the error it is derived from, and not much more ------


def _step_rounding(P, R, gamma, alpha, Q):
    """``max|R| + gamma*(max|Q| + alpha*log(A))``: what one Bellman step's rounding is
    proportional to (docs/conformance.md, "How close is close enough")."""
    return float(np.abs(R).max()) + gamma * (float(np.abs(Q).max()) + alpha * np.log(P.shape[1]))


def _drifting_horizon_solver(units):
    """Backward induction that errs by ``units * rtol`` of one step's scale at every step,
    always upwards: the worst case of the model, ``e_t = rho + gamma*e_(t+1)``."""

    def solver(P, R, gamma, alpha, H):
        Q0 = backward_induction(P, R, gamma, alpha, H)
        c = units * DEFAULT_RTOL * _step_rounding(P, R, gamma, alpha, Q0)
        Q = np.zeros_like(Q0)
        V = np.zeros(P.shape[0])
        for t in range(H - 1, -1, -1):
            Q[t] = R + gamma * np.einsum("sat,t->sa", P, V) + c
            V = _v(Q[t], alpha)
        return Q

    return solver


def _drifting_solver(units):
    """Value iteration on ``T Q + c``, ``c = units * rtol`` of one step's scale: its fixed
    point is ``Q* + c/(1 - gamma)``, the contraction's worst case."""

    def solver(P, R, gamma, alpha):
        Q0 = value_iteration(P, R, gamma, alpha)
        return Q0 + units * DEFAULT_RTOL * _step_rounding(P, R, gamma, alpha, Q0) / (1 - gamma)

    return solver


def _tilted_policy_solver(units):
    """pi* from ``Q*`` with its first action raised by ``units * rtol * scale(Q*)``: a solver
    error of that size moved into the policy."""

    def solver(P, R, gamma, alpha):
        Q = value_iteration(P, R, gamma, alpha)
        Q[:, 0] += units * DEFAULT_RTOL * _step_rounding(P, R, gamma, alpha, Q) / (1 - gamma)
        z = Q / alpha
        return np.exp(z - logsumexp(z, axis=-1, keepdims=True))

    return solver


@pytest.mark.parametrize(
    ("kind", "make", "allowed"),
    [
        ("horizon-solver", _drifting_horizon_solver, 0.9),
        ("solver", _drifting_solver, 0.9),
        ("policy-solver", _tilted_policy_solver, 0.9),
    ],
)
def test_the_tolerance_admits_the_worst_error_of_its_model(kind, make, allowed):
    """An implementation that errs by 0.9 of the modelled allowance, all in one direction,
    conforms (on the edge cases, where the scales are known); at 1.5 times the allowance
    the solver kinds fail, so the tolerance is not looser than its derivation."""
    report = check(make(allowed), kind, examples=1, seed=0, alpha_range=(1e-3, 1e3))
    assert report.ok, report.text
    if kind != "policy-solver":  # the policy's allowance is a bound, not attained
        assert not check(make(1.5), kind, examples=1, seed=0).ok


def test_max_horizon_bounds_the_random_horizons():
    horizons = []

    def spy(P, R, gamma, alpha, H):
        horizons.append(H)
        return backward_induction(P, R, gamma, alpha, H)

    assert check(spy, "horizon-solver", examples=60, seed=0, max_horizon=3).ok
    edge = {5, 1, 8, 10, 60, 4}  # the edge cases' horizons
    random = horizons[len(edge_cases("horizon-solver")) - 1 :]  # alpha = 0's case is out
    assert random and max(random) <= 3 and min(random) >= 1
    assert set(horizons[: len(horizons) - len(random)]) <= edge
