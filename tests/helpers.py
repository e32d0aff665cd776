"""Shared assertion helpers for the property tests (each tolerance derived and explained)."""

from __future__ import annotations

import math

import numpy as np

from softq_ref import FiniteMDP
from softq_ref.float64.bounds import lse_allowance
from softq_ref.logsumexp import soft_value

EPS = 2.0**-52
U64 = 2.0**-53


def operator_rounding(mdp: FiniteMDP, Q: np.ndarray, alpha: float) -> float:
    """A-priori bound on the float64 rounding of one evaluation of ``T Q``.

    ``V_Q`` carries the kernel's allowance (``bounds.lse_allowance``); ``P V``
    with ``S`` terms has error ``gamma_S * P|V|`` (Higham 2002, eq. 3.5); the
    multiplication by ``gamma`` and the addition of ``R`` two more roundings.
    """
    S = mdp.num_states
    V = soft_value(Q, alpha, mdp.prior)
    with np.errstate(divide="ignore"):
        log_mu = None if mdp.prior is None else np.log(mdp.prior)
    eps_v = lse_allowance(Q, V, alpha, log_mu, U64)
    gS = (S + 3) * U64 / (1 - (S + 3) * U64)
    pv_abs = float(np.abs(V).max()) * float(mdp.transitions.sum(axis=2).max())
    return gS * (float(np.abs(mdp.rewards).max()) + mdp.gamma * pv_abs) + mdp.gamma * float(
        eps_v.max()
    ) * (1 + gS)


def linear_solve_tolerance(mdp: FiniteMDP, scale: float) -> float:
    """Forward-error bound for values obtained by one float64 LU solve of ``I - gamma P_pi``.

    ``cond_inf(I - gamma P_pi) <= (1 + gamma) / (1 - gamma)``; partial-pivoting
    LU has backward error about ``n * eps`` in practice (Higham 2002, ch. 9);
    with the right-hand side's own rounding, ``4 (S + A) eps cond * scale``.
    """
    g = mdp.gamma
    cond = (1 + g) / (1 - g)
    return 4 * (mdp.num_states + mdp.num_actions) * EPS * cond * max(1.0, scale)


def entropy_range(mdp: FiniteMDP) -> float:
    """``log A`` for the counting measure (the bound on the entropy per step)."""
    return math.log(mdp.num_actions)


def sparse_copy(mdp: FiniteMDP, *, as_list: bool = False) -> FiniteMDP:
    """The same MDP with sparse transitions (CSR ``(S*A, S)``, or a list of A ``(S, S)``).

    For MDPs with float64 inputs and rewards ``[S][A]`` (what the sparse path takes).
    """
    import scipy.sparse as sp

    src = mdp.source()
    S, A = mdp.num_states, mdp.num_actions
    P = np.asarray(src["transitions"], dtype=np.float64)
    if as_list:
        trans = [sp.csr_matrix(P[:, a, :]) for a in range(A)]
    else:
        trans = sp.csr_array(P.reshape(S * A, S))
    return FiniteMDP(
        trans,
        src["rewards"],
        src["gamma"],
        prior=src["prior"],
        termination=src["termination"],
        horizon=src["horizon"],
    )
