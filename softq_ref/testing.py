r"""Assertions for a library's own test suite: is this the soft optimum of this MDP?

One line in a test checks a solver's answer against the reference, with the
conformance kit's tolerance model and its diagnosis in the failure message::

    from softq_ref import FiniteMDP
    from softq_ref.testing import assert_soft_optimal

    assert_soft_optimal(my_solver(P, R, gamma, alpha), FiniteMDP(P, R, gamma), alpha)

* :func:`assert_soft_optimal`: ``Q*`` of shape ``(S, A)``;
* :func:`assert_value`: ``V*`` of shape ``(S,)``;
* :func:`assert_policy`: ``pi*`` of shape ``(S, A)``;
* finite horizon: the same functions with an MDP built with ``horizon=H``
  (or ``horizon=H`` passed here), and arrays with a leading time axis
  ``t = 0..H-1``: ``Q`` of shape ``(H, S, A)``, ``V`` of shape ``(H, S)``,
  ``pi`` of shape ``(H, S, A)`` (backward induction from ``V_H = 0``).

The tolerance model (docs/conformance.md, "The pytest helper"): a correct
float64 answer ``Q`` differs from the exact ``Q*`` by its own rounding,
about ``c * eps`` times one step's scale ``max|R| + gamma*(max|Q*| +
alpha*log(A))`` per application of the soft Bellman operator, amplified by the
contraction, ``|Q - Q*| <= |T Q - Q| / (1 - gamma)``, or, for a finite
horizon, by the ``1 + gamma + ... + gamma**(H-1)`` steps of backward induction
(``H`` at ``gamma = 1``). The reference is not exact either: its certified
``error_bound`` is added, since ``|Q - Q_ref| <= |Q - Q*| + |Q_ref - Q*|``.
So ``tolerance = atol + rtol * scale + error_bound`` with the kit's defaults
``rtol = 2**-44`` (256 units of ``eps = 2**-52``) and ``atol = 1e-300``
(gradual underflow); :mod:`softq_ref.conformance.compare` states the scale of
``V*`` and ``pi*``. ``atol = error_bound`` alone is not a tolerance for a
float64 answer: it bounds the reference's error, not the answer's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._validate import check_argument, float_alpha
from softq_ref.mdp import FiniteMDP

__all__ = ["assert_soft_optimal", "assert_value", "assert_policy"]

FloatArray = NDArray[np.float64]

_KINDS = {"Q": "solver", "V": "value-solver", "pi": "policy-solver"}
_WHAT = {
    "Q": "the soft-optimal Q*",
    "V": "the soft-optimal V*",
    "pi": "the soft-optimal policy pi*",
}


def _with_horizon(mdp: FiniteMDP, horizon: int | None) -> FiniteMDP:
    check_argument(isinstance(mdp, FiniteMDP), f"mdp must be a FiniteMDP, got {type(mdp).__name__}")
    if horizon is None or horizon == mdp.horizon:
        return mdp
    return FiniteMDP(
        mdp.transitions,
        mdp.rewards,
        mdp.gamma,
        prior=mdp.prior,
        termination=mdp.termination,
        horizon=horizon,
    )


def _assert(
    output: str,
    got: Any,
    mdp: FiniteMDP,
    alpha: Any,
    horizon: int | None,
    rtol: float | None,
    atol: float | None,
) -> None:
    from softq_ref.conformance.cases import Case
    from softq_ref.conformance.compare import (
        DEFAULT_ATOL,
        DEFAULT_RTOL,
        Outcome,
        Tolerance,
        compare,
        solution_reference,
        worst_entry_lines,
    )
    from softq_ref.conformance.mistakes import diagnose

    mdp = _with_horizon(mdp, horizon)
    a, _ = float_alpha(alpha)
    tolerance = Tolerance(
        DEFAULT_RTOL if rtol is None else float(rtol), DEFAULT_ATOL if atol is None else float(atol)
    )
    exp = solution_reference(mdp, a, output, tolerance)
    try:
        arr = np.asarray(got)
    except Exception as exc:  # anything the user passes: say what it was
        raise AssertionError(
            f"{output} is a {type(got).__name__}, not convertible to an array ({exc})"
        ) from None
    if arr.dtype.kind not in "fiu":
        raise AssertionError(f"{output} has dtype {arr.dtype}, not an array of numbers")
    with np.errstate(all="ignore"):
        outcome = Outcome(raw=got, array=arr.astype(np.float64), dtype=str(arr.dtype))
    assert outcome.array is not None
    kind = "horizon-solver" if (mdp.horizon is not None and output == "Q") else _KINDS[output]
    # (at alpha = 0, exp.allowed lets compare() accept any split of a near-tie of Q*)
    case = Case(kind, a, mdp)
    failure, _ = compare(case, exp, outcome)
    if failure is None:
        return
    S, A = mdp.num_states, mdp.num_actions
    where = f"S = {S}, A = {A}, gamma = {mdp.gamma!r}, alpha = {a!r}"
    if mdp.horizon is not None:
        where += f", horizon H = {mdp.horizon}"
    lines = [f"{output} is not {_WHAT[output]} of this MDP ({where})"]
    lines.append(f"problem: {failure.summary}")
    lines += worst_entry_lines(failure, exp, tolerance)
    diag = diagnose((case, outcome, exp), [], tolerance)
    lines.append(f"diagnosis: {diag.text}")
    raise AssertionError("\n".join(lines))


def assert_soft_optimal(
    Q: ArrayLike,
    mdp: FiniteMDP,
    alpha: Any,
    *,
    horizon: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    r"""Assert that ``Q`` is the soft-optimal ``Q*`` of ``mdp`` at temperature ``alpha``.

    ``Q*`` is the fixed point of the soft Bellman operator ``(T Q)[s,a] =
    R[s,a] + gamma sum_s' P[s,a,s'] V_Q(s')`` with ``V_Q(s) = alpha log sum_a
    mu[s,a] exp(Q[s,a]/alpha)`` (docs/conventions.md section 1); with a finite
    horizon ``H``, ``Q_t = R + gamma P V(Q_t+1)``, ``V_H = 0``.

    Parameters
    ----------
    Q : array_like, shape (S, A), or (H, S, A) with a finite horizon
        The answer under test, float64 (a float32 array fails: the contract
        is float64).
    mdp : FiniteMDP
        The MDP (its prior, termination and horizon are honoured).
    alpha : float
        Temperature ``alpha >= 0``.
    horizon : int, optional
        A finite horizon ``H`` for an MDP built without one.
    rtol, atol : float, optional
        The kit's tolerance (defaults ``2**-44``, ``1e-300``; module docstring).

    Raises
    ------
    AssertionError
        If ``Q`` differs from the reference by more than the tolerance
        anywhere, or has the wrong shape, dtype or a non-finite entry; the
        message shows the worst entry, the tolerance and how it was formed,
        and the kit's diagnosis (docs/conformance.md).
    InvalidArgumentError
        For a bad ``mdp``, ``alpha`` or tolerance.

    Examples
    --------
    >>> from softq_ref import FiniteMDP, solve
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> assert_soft_optimal(solve(mdp, 1.0).Q, mdp, 1.0)  # passes silently
    """
    _assert("Q", Q, mdp, alpha, horizon, rtol, atol)


def assert_value(
    V: ArrayLike,
    mdp: FiniteMDP,
    alpha: Any,
    *,
    horizon: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    r"""Assert that ``V`` is the soft-optimal ``V* = V_{Q*}`` of ``mdp`` at ``alpha``.

    ``V*(s) = alpha log sum_a mu[s,a] exp(Q*[s,a]/alpha)`` (docs/conventions.md
    section 1); shape ``(S,)``, or ``(H, S)`` with a finite horizon. The
    parameters and the failure message are those of
    :func:`assert_soft_optimal`.

    Examples
    --------
    >>> from softq_ref import FiniteMDP, solve
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> assert_value(solve(mdp, 1.0).V, mdp, 1.0)
    """
    _assert("V", V, mdp, alpha, horizon, rtol, atol)


def assert_policy(
    pi: ArrayLike,
    mdp: FiniteMDP,
    alpha: Any,
    *,
    horizon: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    r"""Assert that ``pi`` is the soft-optimal policy ``pi*`` of ``mdp`` at ``alpha``.

    ``pi*(a|s) = mu[s,a] exp((Q*[s,a] - V*(s))/alpha)``; at ``alpha = 0`` the
    uniform distribution over the maximising actions (docs/conventions.md
    section 1), where actions whose ``Q*`` differ by less than twice the
    tolerance on ``Q*`` count as tied: any distribution over them passes.
    Shape ``(S, A)``, or ``(H, S, A)`` with a finite horizon. The parameters
    and the failure message are those of :func:`assert_soft_optimal`.

    Examples
    --------
    >>> from softq_ref import FiniteMDP, solve
    >>> mdp = FiniteMDP([[[1.0], [1.0]]], [[1.0, 0.0]], 0.5)
    >>> assert_policy(solve(mdp, 1.0).policy, mdp, 1.0)
    """
    _assert("pi", pi, mdp, alpha, horizon, rtol, atol)
