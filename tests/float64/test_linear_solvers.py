"""The linear solvers of ``solve``: each path, forced on small MDPs, proves a bound that holds.

``solve(linear_solver=...)`` picks dense LU, sparse LU (with its factors kept
as GMRES's preconditioner on later Newton matrices) or inexact Newton-GMRES
with an incomplete LU. Whatever the path, the bound is a-posteriori, so each
path's ``error_bound`` must hold against the 50-digit reference
(``tests/mp_reference.py``), and must stay as tight as a float64 answer allows
(``helpers.float64_budget``): an inner solve that stops early shows up as a
larger bound, never as a wrong one.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import softq_ref.float64.solvers as solvers
from softq_ref import FiniteMDP, solve
from softq_ref._linalg import NewtonSystem, gmres, identity_minus, lu_factor, lu_solve
from softq_ref.errors import InvalidArgumentError
from softq_ref.io import gridworld
from softq_ref.strategies import mdps, temperatures

from helpers import float64_budget, sparse_copy
from mp_reference import max_abs_diff, mp_solve

SPARSE_PATHS = ("dense", "splu", "ilu")


def _check_against_reference(mdp: FiniteMDP, reference_mdp: FiniteMDP, alpha, path: str) -> None:
    r = solve(mdp, alpha, linear_solver=path)
    Q, V, _ = mp_solve(reference_mdp, alpha, dps=50, start=r.V)
    assert max_abs_diff(r.Q, Q) <= r.error_bound, path
    assert max_abs_diff(r.V, V) <= r.error_bound, path
    assert r.success, r.message
    assert r.error_bound <= float64_budget(reference_mdp, r, float(alpha)), (path, r.error_bound)


@settings(max_examples=40, deadline=None)
@given(
    mdps(states=(2, 12), prior=st.booleans(), termination=st.booleans(), gamma=(0.0, 0.99)),
    temperatures(1e-3, 1e3),
    st.sampled_from(SPARSE_PATHS),
)
@example(mdp=FiniteMDP([[[0.5, 0.5]], [[0.0, 1.0]]], [[1.0], [-1.0]], 0.99), alpha=0.1, path="ilu")
def test_every_path_is_within_its_bound_of_the_reference(mdp, alpha, path):
    _check_against_reference(sparse_copy(mdp), mdp, alpha, path)


def _grid(n: int, walls=()) -> FiniteMDP:
    return gridworld(n, n, slip=0.1, walls=walls, step_reward=-1.0, goal_reward=10.0, gamma=0.99)


@pytest.mark.parametrize("path", SPARSE_PATHS)
@pytest.mark.parametrize("alpha", [0.0, 0.1, 2.0])
def test_every_path_holds_on_a_gridworld_with_termination_and_walls(path, alpha):
    # 7 x 7 = 49 cells minus 3 walls: the goal terminates, the walls make slipping stay put
    mdp = _grid(7, walls=[(1, 1), (2, 4), (5, 2)])
    src = mdp.source()
    S, A = mdp.num_states, mdp.num_actions
    dense = FiniteMDP(
        src["transitions"].toarray().reshape(S, A, S),
        src["rewards"],
        src["gamma"],
        termination=True,
    )
    _check_against_reference(mdp, dense, alpha, path)


@pytest.mark.parametrize("path", SPARSE_PATHS)
def test_paths_agree_on_a_larger_gridworld(path):
    # 30 x 30: the Newton steps of "splu" reuse factors, those of "ilu" are inexact
    mdp = _grid(30)
    ref = solve(mdp, 0.1, linear_solver="splu")
    r = solve(mdp, 0.1, linear_solver=path)
    assert np.abs(r.Q - ref.Q).max() <= r.error_bound + ref.error_bound
    assert r.error_bound <= 1e-12 * float(np.abs(r.Q).max())
    assert {"dense": "dense LU", "splu": "sparse LU", "ilu": "ILU"}[path] in r.method


def test_auto_picks_by_size(monkeypatch):
    picked = []
    real = NewtonSystem.__init__

    def spy(self, method, **kw):
        picked.append(method)
        real(self, method, **kw)

    monkeypatch.setattr(NewtonSystem, "__init__", spy)
    small = _grid(5)  # 25 states: dense LU
    solve(small, 0.1)
    monkeypatch.setattr(solvers, "DENSE_MAX_STATES", 10)
    solve(small, 0.1)
    monkeypatch.setattr(solvers, "SPLU_MAX_STATES", 20)
    solve(small, 0.1)
    dense_input = FiniteMDP(
        small.source()["transitions"].toarray().reshape(25, 4, 25),
        small.rewards,
        0.99,
        termination=True,
    )
    solve(dense_input, 0.1)  # dense transitions: dense LU whatever the size
    assert picked == ["dense", "splu", "ilu", "dense"]


def test_bad_linear_solver_is_refused():
    mdp = _grid(3)
    with pytest.raises(InvalidArgumentError, match="linear_solver is 'lu'; expected one of"):
        solve(mdp, 0.1, linear_solver="lu")
    dense = FiniteMDP([[[1.0]]], [[1.0]], 0.5)
    with pytest.raises(InvalidArgumentError, match="needs sparse transitions"):
        solve(dense, 0.1, linear_solver="ilu")


def test_a_loose_inner_tolerance_shows_in_the_bound_not_in_its_truth(monkeypatch):
    # The refinement's GMRES told to stop at 10% and the Newton phase at 50%: the answer is
    # worse, and the bound says so (it still holds against the reference).
    mdp = _grid(6)
    monkeypatch.setattr(solvers, "REFINE_RTOL", 0.5)
    monkeypatch.setattr(solvers, "FORCING_MAX", 0.5)
    r = solve(mdp, 0.1, linear_solver="ilu", refinements=1)
    src = mdp.source()
    S = mdp.num_states
    dense = FiniteMDP(
        src["transitions"].toarray().reshape(S, 4, S), src["rewards"], 0.99, termination=True
    )
    Q, _, _ = mp_solve(dense, 0.1, dps=40, start=r.V)
    assert max_abs_diff(r.Q, Q) <= r.error_bound


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 60), st.floats(0.0, 0.999), st.integers(0, 2**32 - 1))
def test_gmres_meets_its_tolerance_on_newton_matrices(S, gamma, seed):
    rng = np.random.default_rng(seed)
    P = sp.random_array((S, S), density=min(1.0, 3 / S), rng=rng, format="csr")
    P = sp.csr_array(P + sp.identity(S) * 1e-3)
    P = sp.csr_array(P.multiply(1 / P.sum(axis=1)[:, None]))
    M = identity_minus(gamma, P)
    b = rng.normal(size=S)
    exact = lu_solve(lu_factor(M), b)
    for rtol in (1e-2, 1e-10):
        out = gmres(M, b, lambda v: v, rtol=rtol, restart=7, max_iterations=10 * S)
        assert out.converged
        true = np.linalg.norm(b - M @ out.x) / np.linalg.norm(b)
        # the reported residual is recomputed from x: it is the true one (up to rounding)
        assert true <= rtol * (1 + 1e-6) + 1e-14
        assert abs(true - out.relative_residual) <= 1e-12
    # a perfect preconditioner (exact LU) converges in one product
    out = gmres(M, b, lambda v: lu_solve(lu_factor(M), v), rtol=1e-10)
    assert out.iterations <= 2
    assert np.abs(out.x - exact).max() <= 1e-8 * max(1.0, float(np.abs(exact).max()))


def test_newton_system_reuses_factors_until_gmres_slows():
    mdp = _grid(12)
    pi1 = np.full((mdp.num_states, 4), 0.25)
    pi2 = np.tile([0.7, 0.1, 0.1, 0.1], (mdp.num_states, 1))
    M1 = solvers._newton_matrix(mdp, pi1)
    M2 = solvers._newton_matrix(mdp, pi2)
    system = NewtonSystem("splu")
    system.set_matrix(M1)
    assert system.factorisations == 1
    b = np.ones(mdp.num_states)
    assert system.solve(b, 1e-8).iterations == 0  # direct: the factors are M1's
    system.set_matrix(M2)
    assert system.factorisations == 1  # kept
    out = system.solve(b, 1e-8)
    assert out.converged and out.iterations > 0  # GMRES on M2, preconditioned by M1's LU
    assert np.linalg.norm(b - M2 @ out.x) <= 1e-8 * np.linalg.norm(b) * (1 + 1e-6)
    system.stale = True
    system.set_matrix(M2)
    assert system.factorisations == 2
    no_reuse = NewtonSystem("splu", reuse=False)
    no_reuse.set_matrix(M1)
    no_reuse.set_matrix(M2)
    assert no_reuse.factorisations == 2


@settings(max_examples=15, deadline=None)
@given(
    mdps(states=(2, 8), horizon=(1, 6), gamma=(0.0, 1.0), termination=st.booleans()),
    temperatures(1e-2, 1e2),
    st.sampled_from(("auto", *SPARSE_PATHS)),
)
def test_finite_horizon_on_sparse_input_holds_whatever_the_linear_solver(mdp, alpha, path):
    # backward induction needs no linear solve: every linear_solver gives the same answer
    r = solve(sparse_copy(mdp), alpha, linear_solver=path)
    Qs, Vs, _ = mp_solve(mdp, alpha, dps=50)
    assert r.Q.shape == (mdp.horizon, mdp.num_states, mdp.num_actions)
    assert max_abs_diff(r.Q, Qs) <= r.error_bound
    assert max_abs_diff(r.V, Vs) <= r.error_bound


def test_ilu_falls_back_to_exact_lu_when_the_incomplete_factorisation_fails(monkeypatch):
    import scipy.sparse.linalg as sla

    def singular(*args, **kwargs):
        raise RuntimeError("Factor is exactly singular")

    monkeypatch.setattr(sla, "spilu", singular)
    mdp = _grid(8)
    r = solve(mdp, 0.1, linear_solver="ilu")
    ref = solve(mdp, 0.1, linear_solver="splu")
    assert r.success
    assert np.abs(r.Q - ref.Q).max() <= r.error_bound + ref.error_bound
