"""softq_ref.testing: the one-line assertions a library puts in its own test suite.

Correct float64 implementations written here (on ``scipy.special.logsumexp``,
independent of softq_ref's kernel) pass on Hypothesis MDPs, infinite and
finite horizon, with priors and termination; wrong ones fail with the kit's
diagnosis; the failure message is pinned word for word once; the example of
docs/conformance.md runs as the library's own test suite would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from softq_ref import FiniteMDP
from softq_ref.conformance.compare import DEFAULT_RTOL, Tolerance, solution_reference
from softq_ref.errors import InvalidArgumentError
from softq_ref.strategies import mdps, temperatures
from softq_ref.testing import assert_policy, assert_soft_optimal, assert_value

#: a correct float64 answer stays far inside the tolerance: the default rtol is 256 units
#: of eps and a correct computation keeps a few. Measured worst over the examples below:
#: 0.0031 of the tolerance (Q), 0.0028 (V), 0.0018 (pi), 0.0025 (finite-horizon Q), over
#: 200 examples each (S <= 6, A <= 4, termination, gamma <= 0.95, or H <= 30 and gamma <= 1).
#: 1/16 leaves room for other BLAS and libm while still failing an error of 16 units.
MARGIN = 1 / 16


# --- correct float64 implementations, independent of softq_ref's kernel --------


def _log_mu(mdp):
    if mdp.prior is None:
        return None
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(mdp.prior, dtype=np.float64))


def lse_value(Q, alpha, log_mu=None):
    if log_mu is None:
        return alpha * logsumexp(Q / alpha, axis=-1)
    return alpha * logsumexp(Q / alpha + log_mu, axis=-1)


def lse_policy(Q, alpha, log_mu=None):
    z = Q / alpha if log_mu is None else Q / alpha + log_mu
    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


def value_iteration(mdp, alpha):
    """``Q <- T Q`` from 0 until a sweep changes nothing (float64's fixed point)."""
    P, R, g, lm = np.asarray(mdp.transitions), np.asarray(mdp.rewards), mdp.gamma, _log_mu(mdp)
    Q = np.zeros_like(R)
    for _ in range(int(60 / (1 - g)) + 20):
        Qn = R + g * P @ lse_value(Q, alpha, lm)
        if np.array_equal(Qn, Q):
            break
        Q = Qn
    return Q


def backward_induction(mdp, alpha):
    """``Q_t = R + gamma P V_t+1``, ``V_H = 0``: what imitation's ``mce_partition_fh`` does."""
    P, R, g, lm = np.asarray(mdp.transitions), np.asarray(mdp.rewards), mdp.gamma, _log_mu(mdp)
    H, (S, A) = mdp.horizon, R.shape
    Qs, V = np.empty((H, S, A)), np.zeros(S)
    for t in range(H - 1, -1, -1):
        Qs[t] = R + g * P @ V
        V = lse_value(Qs[t], alpha, lm)
    return Qs


def ratio(arr, mdp, alpha, output):
    exp = solution_reference(mdp, alpha, output, Tolerance())
    return float(np.abs(np.asarray(arr) - exp.value).max() / exp.tol)


# --- no false alarms ----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    mdps(states=(1, 6), actions=(1, 4), gamma=(0.0, 0.95), prior=st.booleans(), termination=True),
    temperatures(1e-2, 1e2, zero=False),
)
def test_correct_infinite_horizon_answers_pass_with_margin(mdp, alpha):
    Q = value_iteration(mdp, alpha)
    lm = _log_mu(mdp)
    V, pi = lse_value(Q, alpha, lm), lse_policy(Q, alpha, lm)
    assert_soft_optimal(Q, mdp, alpha)
    assert_value(V, mdp, alpha)
    assert_policy(pi, mdp, alpha)
    for arr, out in ((Q, "Q"), (V, "V"), (pi, "pi")):
        assert ratio(arr, mdp, alpha, out) < MARGIN


@settings(max_examples=60, deadline=None)
@given(
    mdps(
        states=(1, 6),
        actions=(1, 4),
        gamma=(0.0, 1.0),
        horizon=(1, 40),
        prior=st.booleans(),
        termination=True,
    ),
    temperatures(1e-2, 1e2, zero=False),
)
def test_correct_finite_horizon_answers_pass_with_margin(mdp, alpha):
    """Issue 14: imitation's 5.7e-14 exceeded the reference's bound; the tolerance is not it."""
    Qs = backward_induction(mdp, alpha)
    lm = _log_mu(mdp)
    Vs, pis = lse_value(Qs, alpha, lm), lse_policy(Qs, alpha, lm)
    assert_soft_optimal(Qs, mdp, alpha)
    assert_value(Vs, mdp, alpha)
    assert_policy(pis, mdp, alpha)
    for arr, out in ((Qs, "Q"), (Vs, "V"), (pis, "pi")):
        assert ratio(arr, mdp, alpha, out) < MARGIN


def test_the_horizon_can_be_given_to_the_assertion():
    mdp = FiniteMDP([[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]], [[1, 0], [0, 2]], 0.9)
    mdp_h = FiniteMDP(mdp.transitions, mdp.rewards, 0.9, horizon=5)
    Qs = backward_induction(mdp_h, 0.3)
    assert_soft_optimal(Qs, mdp, 0.3, horizon=5)
    with pytest.raises(AssertionError, match=r"returned shape \(4, 2, 2\), expected \(5, 2, 2\)"):
        assert_soft_optimal(Qs[1:], mdp, 0.3, horizon=5)


def test_hard_policy_accepts_any_split_of_a_near_tie_and_only_of_it():
    # exact tie in state 0 (both actions give 1 forever); state 1 prefers action 1 by 0.5
    mdp = FiniteMDP([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]], [[1, 1], [0, 0.5]], 0.5)
    assert_policy([[0.5, 0.5], [0.0, 1.0]], mdp, 0)
    assert_policy([[1.0, 0.0], [0.0, 1.0]], mdp, 0)  # a tie may be broken either way
    with pytest.raises(AssertionError, match=r"pi\*\[1, 0\]"):
        assert_policy([[0.5, 0.5], [0.5, 0.5]], mdp, 0)


# --- the tolerance model -----------------------------------------------------------------


def test_finite_horizon_tolerance_is_the_step_scale_times_the_discounted_steps():
    mdp = FiniteMDP([[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]], [[1, 0], [0, 2]], 0.9)
    H = 7
    mdp_h = FiniteMDP(mdp.transitions, mdp.rewards, 0.9, horizon=H)
    exp = solution_reference(mdp_h, 0.5, "Q", Tolerance())
    step = 2 + 0.9 * (float(np.abs(exp.value).max()) + 0.5 * np.log(2))
    assert exp.scale == pytest.approx(step * sum(0.9**k for k in range(H)), rel=1e-15)
    assert exp.tol == 1e-300 + DEFAULT_RTOL * exp.scale + exp.bound
    # the reference's own bound is far below what a correct float64 answer needs
    assert exp.bound < DEFAULT_RTOL * exp.scale / 16


def test_an_error_of_a_few_tolerances_fails_and_a_small_fraction_passes():
    mdp = FiniteMDP([[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]], [[1, 0], [0, 2]], 0.9)
    exp = solution_reference(mdp, 0.5, "Q", Tolerance())
    bump = np.zeros_like(exp.value)
    bump[1, 0] = 1.0
    assert_soft_optimal(exp.value + 0.5 * exp.tol * bump, mdp, 0.5)
    with pytest.raises(AssertionError, match=r"worst entry Q\*\[1, 0\]"):
        assert_soft_optimal(exp.value + 2 * exp.tol * bump, mdp, 0.5)


def test_wrong_dtype_and_bad_arguments():
    mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    exp = solution_reference(mdp, 1.0, "Q", Tolerance())
    with pytest.raises(AssertionError, match="returned dtype float32, expected float64"):
        assert_soft_optimal(exp.value.astype(np.float32), mdp, 1.0)
    with pytest.raises(AssertionError, match="dtype <U1, not an array of numbers"):
        assert_soft_optimal([["a", "b"]], mdp, 1.0)
    with pytest.raises(InvalidArgumentError, match="mdp must be a FiniteMDP"):
        assert_soft_optimal(exp.value, "mdp.json", 1.0)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        assert_soft_optimal(exp.value, mdp, -1.0)


# --- the failure message, word for word ------------------------------------------------------


def test_the_failure_message_word_for_word():
    mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    P, R = np.asarray(mdp.transitions), np.asarray(mdp.rewards)
    Q = np.zeros_like(R)
    for _ in range(200):  # the uniform-prior convention: log-MEAN-exp
        Q = R + 0.5 * P @ (logsumexp(Q, axis=-1) - np.log(2))
    with pytest.raises(AssertionError) as info:
        assert_soft_optimal(Q, mdp, 1.0)
    # docs/conformance.md shows this message for its example's known case
    doc = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text()
    shown = doc.split("`test_a_known_case` would fail with:")[1].split("```text\n")[1]
    assert shown.split("```")[0].splitlines() == str(info.value).splitlines()
    assert str(info.value).splitlines() == [
        "Q is not the soft-optimal Q* of this MDP (S = 1, A = 2, gamma = 0.5, alpha = 1.0)",
        "problem: differs from the reference by more than the tolerance",
        "  worst entry Q*[0, 1]:",
        "    expected  1.3132616875182228   (softq_ref.solve)",
        "    got       0.6201145069582774",
        "    |got - expected| = 0.693   tolerance = 2.88e-13 = atol 1e-300 + rtol 5.68e-14 * "
        "scale 5.00641 [(max|R| + gamma*(max|Q*| + alpha*log(A))) / (1 - gamma)] + reference "
        "bound 3.36e-15",
        "diagnosis: matches: uniform-prior convention (log-mean-exp): differs from the reference "
        "by exactly gamma*alpha*log(A)/(1 - gamma) = 0.693147 on Q* (alpha*log(A)/(1 - gamma) "
        "on V*) (measured: -0.693147): this is the uniform-prior convention, "
        "V = alpha*log(mean_a exp(Q/alpha)); the reference's counting measure (no prior) uses "
        "log-sum-exp",
        "  size: max|got - expected| = 0.693 = 1.56e+15 ulps of max|Q*| = 2.31326 (ulp 4.44e-16); "
        "residual of your answer max|T Q - Q| = 0.347; under the mistaken operator it is 0: "
        "converged, to the wrong fixed point",
    ]


# --- the example of docs/conformance.md, run as the library's own test suite -----------------


def test_the_documented_library_example_runs_as_its_own_test_suite(tmp_path):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text()
    section = doc.split("## In your own test suite: softq_ref.testing")[1].split("\n## ")[0]
    blocks = section.split("```python\n")[1:]
    files = {}
    for block in blocks:
        code = block.split("```")[0]
        first = code.splitlines()[0]
        assert first.startswith("# "), first
        files[first[2:].split()[0]] = code
    assert set(files) == {"mylib/soft.py", "tests/test_soft.py"}
    for name, code in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code)
    (tmp_path / "mylib" / "__init__.py").write_text("")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    env.pop("HYPOTHESIS_PROFILE", None)  # the example's own settings, as in its own suite
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_soft.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout, run.stdout
