"""Progress of the float64 solvers: ``callback`` per iteration, ``verbose`` on stderr, ``--quiet``.

Time is not waited for: the 2 s threshold (``progress.AFTER_SECONDS``) is set
to 0 where a test needs a "long" solve, and ``progress.stderr_is_terminal`` is
replaced to play a terminal.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softq_ref.float64.progress as progress
from softq_ref import FiniteMDP, soft_policy_iteration, soft_q_iteration, solve
from softq_ref.cli import main
from softq_ref.errors import InvalidArgumentError
from softq_ref.io import gridworld
from softq_ref.strategies import mdps, temperatures

SOLVERS = {
    "solve": lambda mdp, alpha, **kw: solve(mdp, alpha, **kw),
    "soft_q_iteration": lambda mdp, alpha, **kw: soft_q_iteration(mdp, alpha, tol=1e-10, **kw),
    "soft_policy_iteration": lambda mdp, alpha, **kw: soft_policy_iteration(mdp, alpha, **kw),
}


@pytest.fixture
def plain(monkeypatch):
    """Plain lines even where tqdm is installed."""
    monkeypatch.setitem(sys.modules, "tqdm", None)


@pytest.fixture
def terminal(monkeypatch):
    """stderr plays a terminal, and every solve counts as long."""
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(progress, "AFTER_SECONDS", 0.0)


@settings(max_examples=25, deadline=None)
@given(
    mdps(states=(1, 8), gamma=(0.0, 0.95), termination=st.booleans()),
    temperatures(1e-2, 1e2),
    st.sampled_from(sorted(SOLVERS)),
)
def test_callback_sees_every_residual_of_the_history_in_order(mdp, alpha, name):
    seen = []
    result = SOLVERS[name](mdp, alpha, callback=lambda *args: seen.append(args))
    assert [k for k, _, _ in seen] == list(range(1, len(seen) + 1))
    assert [res for _, res, _ in seen] == list(result.residuals)
    elapsed = [t for _, _, t in seen]
    assert all(0 <= a <= b for a, b in zip(elapsed, elapsed[1:], strict=False))
    assert all(isinstance(k, int) and isinstance(r, float) for k, r, _ in seen)


def test_sparse_paths_call_back_too():
    mdp = gridworld(12, 12, slip=0.1, step_reward=-1.0, goal_reward=10.0)
    for path in ("splu", "ilu"):
        seen: list[tuple[int, float, float]] = []
        r = solve(mdp, 0.1, linear_solver=path, callback=lambda *a, seen=seen: seen.append(a))
        assert [res for _, res, _ in seen] == list(r.residuals)
        # a residual before each Newton step, then one before each refinement step and after
        assert len(seen) == r.iterations + r.refinement_steps + 1


def _one_state() -> FiniteMDP:
    return FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.9)


def test_verbose_true_reports_every_iteration_on_stderr(capsys, plain):
    r = solve(_one_state(), 1.0, verbose=True)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == len(r.residuals)
    assert err[0].startswith("solve: iteration 1, residual ")
    assert err[-1].endswith(" s")


def test_default_reports_only_to_a_terminal_after_the_threshold(capsys, monkeypatch, plain):
    solve(_one_state(), 1.0)  # fast, and stderr is not a terminal
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "AFTER_SECONDS", 0.0)
    soft_q_iteration(_one_state(), 1.0)  # "long", but stderr is still not a terminal
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    soft_q_iteration(_one_state(), 1.0)
    err = capsys.readouterr().err.splitlines()
    # at most one line a second, and the last state at the end
    assert 1 <= len(err) <= 3
    assert err[-1].startswith("soft Q-iteration: iteration ")


def test_verbose_false_never_reports(capsys, terminal, plain):
    solve(_one_state(), 1.0, verbose=False)
    soft_policy_iteration(_one_state(), 1.0, verbose=False)
    assert capsys.readouterr().err == ""


def test_tqdm_is_used_when_installed(capsys, terminal, monkeypatch):
    made = []

    class FakeBar:
        def __init__(self, **kw):
            self.n = kw.get("initial", 0)
            made.append(self)
            self.closed = False

        def update(self, k):
            self.n += k

        def set_postfix(self, **kw):
            self.postfix = kw

        def close(self):
            self.closed = True

    fake = type(sys)("tqdm")
    fake.tqdm = FakeBar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", fake)
    r = solve(_one_state(), 1.0)
    assert len(made) == 1 and made[0].closed
    assert made[0].n == len(r.residuals)
    assert capsys.readouterr().err == ""  # the bar writes, not print


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"callback": 3}, "callback is 3; expected a function"),
        ({"verbose": "yes"}, "verbose is 'yes'; expected True, False or None"),
    ],
)
def test_bad_callback_or_verbose_is_refused(kw, match):
    with pytest.raises(InvalidArgumentError, match=match):
        solve(_one_state(), 1.0, **kw)


def test_cli_quiet_silences_progress(tmp_path, capsys, terminal, plain):
    path = tmp_path / "mdp.json"
    path.write_text('{"transitions": [[[1], [1]]], "rewards": [[1, 0]], "gamma": 0.9}')
    assert main(["solve", str(path), "--alpha", "1"]) == 0
    out = capsys.readouterr()
    assert "solve: iteration 1, residual" in out.err
    assert main(["solve", str(path), "--alpha", "1", "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert np.isfinite(float(out.out.split('"error_bound": ')[1].split(",")[0]))
