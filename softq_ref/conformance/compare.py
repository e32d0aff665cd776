r"""The assertion helpers: reference results, tolerances from conditioning, the comparison.

The tolerance of a case is ``atol + rtol * scale (+ the reference's own bound)``,
where ``scale`` is what the rounding errors of a correct float64 computation
are proportional to (first-order error analysis, Higham, *Accuracy and
Stability of Numerical Algorithms*, 2002, ch. 3):

* ``value``: ``V = m + alpha log sum exp((Q - m)/alpha)`` loses at most a few
  units of ``eps * (max|Q| + alpha log A)`` however it is arranged, so
  ``scale = max|Q| + alpha*log(A)``.
* ``operator``: ``R + gamma P V`` adds ``eps * (|R| + gamma |V|)``, so
  ``scale = max|R| + gamma * (max|Q| + alpha*log(A))``.
* ``policy``: ``pi = exp((Q - V)/alpha)``; an error ``eps*|Q|`` in ``Q - V`` is
  divided by ``alpha`` in the exponent (the softmax's condition number), so
  ``scale = 1 + max|Q|/alpha`` (``1`` for ``alpha = 0``, where ties are exact).
* ``solver``: the per-step rounding of the operator at ``Q*`` accumulates
  through the contraction: ``|Q - Q*| <= |T Q - Q| / (1 - gamma)``, so
  ``scale = (max|R| + gamma*(max|Q*| + alpha*log(A))) / (1 - gamma)``; the
  reference's certified ``error_bound`` is added to the tolerance.
* ``value-solver``: a method iterating ``V <- T_V V`` rounds, per step,
  ``R + gamma P V`` and the log-sum-exp of that ``Q`` itself (not multiplied by
  ``gamma``), so ``scale = (max|R| + gamma*max|V*| + max|Q*| + alpha*log(A)) /
  (1 - gamma)``; the reference's bound (which covers ``V*``) is added.
* ``policy-solver``: an error ``e`` in ``Q*`` moves ``pi* = exp((Q* - V*)/alpha)``
  by a factor within ``exp(+-2e/alpha)``; with the solver's allowance
  ``e = rtol * scale(Q*)`` and the softmax's own conditioning,
  ``scale = 1 + (max|Q*| + 2*scale(Q*))/alpha``, and the reference's bound ``b``
  on ``Q*`` becomes ``min(1, exp(2b/alpha) - 1)``. At ``alpha = 0`` the optimal
  policy is discontinuous in ``Q*``: any distribution over the actions whose
  ``Q*`` lies within twice the ``Q*`` tolerance of the best conforms
  (``Expected.allowed``), so a one-hot argmax passes on near-ties.
* ``horizon-solver``: backward induction ``Q[t] = R + gamma P V(Q[t+1])`` rounds
  ``rho = eps*(max|R| + gamma*(max|Q| + alpha*log(A)))`` per step (the operator's
  scale), and an error in ``Q[t+1]`` reaches ``Q[t]`` multiplied by at most
  ``gamma`` (the log-sum-exp is 1-Lipschitz, ``P`` stochastic). So ``e_t <= rho +
  gamma*e_(t+1)``, ``e_(H-1) <= rho``, and ``e_0 <= rho * sum_{k<H} gamma**k``
  (``H`` for ``gamma = 1``, below ``1/(1 - gamma)`` otherwise):
  ``scale = (max|R| + gamma*(max_t max|Q[t]| + alpha*log(A))) * sum_{k<H} gamma**k``,
  plus the reference's bound.

:func:`solution_reference` is the one place of the solver kinds' tolerances, for the
kit and for :mod:`softq_ref.testing`; with a finite horizon the factor ``1 / (1 -
gamma)`` of ``Q*``, ``V*`` and ``pi*`` becomes ``sum_{k<H} gamma**k`` as for
``horizon-solver``.

Defaults: ``rtol = 2**-44`` (256 units of float64's ``eps = 2**-52``, about
5.7e-14) leaves room for sums over up to a few dozen terms and for the
conditioning of a linear solve (``cond(I - gamma P_pi) <= (1+gamma)/(1-gamma)``,
which the solver's scale already carries); float32 arithmetic (unit roundoff
``2**-24``, about 6e-8) errs by about 2**20 times more and fails by a wide
margin. ``atol = 1e-300`` only absorbs gradual underflow (each operation in
the subnormal range may add an absolute error of ``2**-1075``, Higham 2002,
section 2.1); it is far below any real discrepancy.
"""

from __future__ import annotations

import contextlib
import io
import math
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref._validate import first_bad_index
from softq_ref.conformance.cases import Case
from softq_ref.errors import InvalidArgumentError
from softq_ref.mdp import FiniteMDP

__all__ = [
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
    "Tolerance",
    "Expected",
    "Outcome",
    "Failure",
    "reference",
    "solution_reference",
    "worst_entry_lines",
    "call",
    "compare",
]

FloatArray = NDArray[np.float64]

#: 256 float64 units (eps = 2**-52) of the problem's scale; see the module docstring
DEFAULT_RTOL = 2.0**-44
#: absorbs gradual underflow only (2**-1075 per operation); see the module docstring
DEFAULT_ATOL = 1e-300


@dataclass(frozen=True)
class Tolerance:
    """``rtol`` (relative to the case's scale) and ``atol`` (absolute)."""

    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise InvalidArgumentError(f"{name} must be a finite number >= 0, got {v!r}")


@dataclass(frozen=True)
class Expected:
    """The reference result of a case and the tolerance a conforming result must meet.

    ``allowed`` (kind ``policy-solver`` at ``alpha = 0`` only) marks the
    actions whose ``Q*`` lies within twice the ``Q*`` tolerance of the best:
    a float64 solver cannot tell such near-ties apart, so any distribution
    over them conforms (``value`` is then the reference's uniform choice).
    """

    value: FloatArray
    scale: float
    scale_text: str
    bound: float  # the reference's own certified error bound (solvers), else 0
    tol: float  # atol + rtol * scale + bound
    source: str  # the reference function
    name: str  # "T Q", "Q*", "V", "pi", "V*", "pi*", "Q"
    allowed: NDArray[np.bool_] | None = None


def _log_actions(A: int) -> float:
    return math.log(A)


def horizon_steps(gamma: float, H: int) -> float:
    """``sum_{k<H} gamma**k``: how much one step's rounding grows over ``H`` steps of
    backward induction (``H`` for ``gamma = 1``, at most ``1/(1 - gamma)``)."""
    if gamma == 1.0:
        return float(H)
    return float(-math.expm1(H * math.log(gamma)) / (1.0 - gamma)) if gamma > 0 else 1.0


def policy_shift(x: float) -> float:
    """``min(1, exp(x) - 1)``: how far ``pi = exp((Q - V)/alpha)`` (at most 1) can move when
    ``(Q - V)/alpha`` moves by ``x``."""
    return 1.0 if x >= 1.0 else min(1.0, math.expm1(x))


def reference(case: Case, tolerance: Tolerance) -> Expected:
    """The reference result of ``case`` (softq_ref's float64 functions) and its tolerance.

    The scales are those of the module docstring (docs/conformance.md, "How
    close is close enough"); the solver kinds' come from :func:`solution_reference`.
    """
    from softq_ref.logsumexp import soft_policy, soft_value
    from softq_ref.operators import bellman_operator

    a = case.alpha
    S, A = case.shape
    ent = a * _log_actions(A)
    bound = 0.0
    allowed = None
    if case.kind == "value":
        assert case.Q is not None
        value = soft_value(case.Q, a)
        scale = float(np.abs(case.Q).max()) + ent
        text, source, name = "max|Q| + alpha*log(A)", "softq_ref.soft_value", "V"
    elif case.kind == "policy":
        assert case.Q is not None
        value = soft_policy(case.Q, a)
        scale = 1.0 + float(np.abs(case.Q).max()) / a if a > 0 else 1.0
        text = "1 + max|Q|/alpha" if a > 0 else "1 (alpha = 0: exact ties)"
        source, name = "softq_ref.soft_policy", "pi"
    elif case.kind == "operator":
        assert case.mdp is not None and case.Q is not None
        value = bellman_operator(case.mdp, case.Q, a)
        g = case.mdp.gamma
        scale = float(np.abs(case.mdp.rewards).max()) + g * (float(np.abs(case.Q).max()) + ent)
        text = "max|R| + gamma*(max|Q| + alpha*log(A))"
        source, name = "softq_ref.bellman_operator", "T Q"
    elif case.kind in SOLVER_OUTPUTS:
        assert case.mdp is not None
        return solution_reference(case.mdp, a, SOLVER_OUTPUTS[case.kind], tolerance)
    else:
        raise InvalidArgumentError(f"unknown kind {case.kind!r}")
    tol = tolerance.atol + tolerance.rtol * scale + bound
    return Expected(
        np.asarray(value, dtype=np.float64), scale, text, bound, tol, source, name, allowed
    )


#: what each solver kind returns, as :func:`solution_reference` names it
SOLVER_OUTPUTS = {"solver": "Q", "value-solver": "V", "policy-solver": "pi", "horizon-solver": "Q"}


def solution_reference(mdp: FiniteMDP, alpha: float, output: str, tolerance: Tolerance) -> Expected:
    """The soft optimum of ``mdp`` (``output``: ``"Q"``, ``"V"`` or ``"pi"``) and its tolerance.

    Infinite horizon: ``Q*``, ``V*``, ``pi*``; with ``mdp.horizon = H`` the
    same with a leading time axis ``t = 0..H-1`` (backward induction from
    ``V_H = 0``). The scales are those of the module docstring: the rounding
    of one step, amplified by ``1 / (1 - gamma)`` (the contraction) or by
    ``sum_{k<H} gamma**k`` (:func:`horizon_steps`, backward induction); the
    reference's certified ``error_bound`` is added. The one place of the
    solver kinds' tolerance model, for the kit and for :mod:`softq_ref.testing`.
    """
    from softq_ref.float64.bounds import prior_entropy_range
    from softq_ref.float64.solvers import solve

    result = solve(mdp, alpha)
    g, H = float(mdp.gamma), mdp.horizon
    q_bound = float(result.error_bound)
    ent = alpha * prior_entropy_range(mdp)
    h = "log(A)" if mdp.prior is None else "h_mu"
    r_max, q_max = float(np.abs(mdp.rewards).max()), float(np.abs(result.Q).max())
    if H is None:
        steps, steps_text = 1.0 / (1.0 - g), " / (1 - gamma)"
        star, source = "*", "softq_ref.solve"
    else:
        steps, steps_text = horizon_steps(g, H), " * sum_{k<H} gamma**k"
        star, source = "", "softq_ref.solve (backward induction)"
    q_scale = (r_max + g * (q_max + ent)) * steps
    q_text = f"(max|R| + gamma*(max|Q{star}| + alpha*{h})){steps_text}"
    allowed = None
    bound = q_bound
    if output == "Q":
        value, scale, text = result.Q, q_scale, q_text
    elif output == "V":
        # one step of V <- T_V V rounds R + gamma P V and the log-sum-exp of Q itself
        value, v_max = result.V, float(np.abs(result.V).max())
        scale = (r_max + g * v_max + q_max + ent) * steps
        text = f"(max|R| + gamma*max|V{star}| + max|Q{star}| + alpha*{h}){steps_text}"
    elif output == "pi":
        value = result.policy
        if alpha > 0:
            # an error e in Q* moves pi* = exp((Q* - V*)/alpha) by a factor within
            # exp(+-2e/alpha): the solver's allowance 2*rtol*scale(Q*) and the reference's
            # bound, divided by alpha, plus the softmax's own conditioning 1 + max|Q*|/alpha
            scale = 1.0 + (q_max + 2.0 * q_scale) / alpha
            text = f"1 + (max|Q{star}| + 2*scale(Q{star}))/alpha, scale(Q{star}) = " + q_text
            bound = policy_shift(2.0 * q_bound / alpha)
        else:
            scale, text = 1.0, f"1 (alpha = 0: any distribution over the near-ties of Q{star})"
            q_tol = tolerance.atol + tolerance.rtol * q_scale + q_bound
            allowed = result.Q >= result.Q.max(axis=-1, keepdims=True) - 2.0 * q_tol
            bound = 0.0
    else:
        raise InvalidArgumentError(f"output must be 'Q', 'V' or 'pi', got {output!r}")
    tol = tolerance.atol + tolerance.rtol * scale + bound
    name = f"{'pi' if output == 'pi' else output}{star}"
    return Expected(
        np.asarray(value, dtype=np.float64), scale, text, bound, tol, source, name, allowed
    )


@dataclass(frozen=True)
class Outcome:
    """What the function under test did with a case.

    ``raw`` is the returned object; ``array`` its float64 conversion when it is
    numeric (whatever its dtype), ``dtype`` the dtype it came with; ``error``
    the exception text when it raised (or could not be converted).
    """

    raw: Any = None
    array: FloatArray | None = None
    dtype: str | None = None
    error: str | None = None


def _exception_text(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    if len(tb) > 1:  # the last frame in the function under test (frame 0 is ours)
        f = tb[-1]
        where = f" (at {f.filename}:{f.lineno}, in {f.name})"
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else ""
    return f"{type(exc).__name__}: {first}{where}" if first else f"{type(exc).__name__}{where}"


def call(fn: Callable[..., Any], case: Case, array: str = "numpy") -> Outcome:
    """Call ``fn`` on fresh copies of the case's arguments; never raises.

    NumPy floating-point warnings are silenced during the call (an overflow
    shows in the result, which is what is judged), and whatever the function
    prints is discarded, so that the report stays readable. ``array``:
    ``"numpy"`` passes NumPy float64 arrays; ``"torch"`` and ``"jax"`` pass
    float64 tensors or arrays of that library
    (:func:`softq_ref.conformance.arrays.to_library`); the result is read back
    with ``numpy.asarray`` either way.
    """
    from softq_ref.conformance.arrays import from_library, to_library

    args = to_library(case.arguments(), array)
    sink = io.StringIO()
    try:
        with (
            np.errstate(all="ignore"),
            warnings.catch_warnings(),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            warnings.simplefilter("ignore")
            raw = fn(*args)
    except (Exception, SystemExit) as exc:  # the function under test may raise anything
        return Outcome(error=_exception_text(exc))
    try:
        arr = from_library(raw)
    except Exception as exc:
        return Outcome(
            raw=raw,
            error=f"returned {type(raw).__name__}, not convertible to an array "
            f"({_exception_text(exc)})",
        )
    if arr.dtype.kind not in "fiu":
        return Outcome(
            raw=raw,
            dtype=str(arr.dtype),
            error=f"returned {type(raw).__name__} of dtype {arr.dtype}, not an array of numbers",
        )
    with np.errstate(all="ignore"):
        return Outcome(raw=raw, array=arr.astype(np.float64), dtype=str(arr.dtype))


@dataclass(frozen=True)
class Failure:
    """Why a case fails: ``what`` in {raised, shape, non-finite, dtype, values}."""

    what: str
    summary: str
    worst: tuple[int, ...] | None = None
    expected_at: float | None = None
    got_at: float | None = None
    diff: float | None = None


def _nearest_allowed(got: FloatArray, expected: Expected) -> FloatArray:
    """The policy over the allowed actions nearest ``got``: each finite row of ``got``
    with its mass off the allowed actions removed and renormalised (the reference's row
    where no mass is left); ``|got - this|`` is then what ``got`` is off by."""
    assert expected.allowed is not None
    target = np.array(expected.value, dtype=np.float64)
    with np.errstate(all="ignore"):
        kept = np.where(expected.allowed, got, 0.0)
        mass = kept.sum(axis=-1, keepdims=True)
        rows = np.isfinite(got).all(axis=-1) & (mass[..., 0] > 0)
        target[rows] = (kept / np.where(mass > 0, mass, 1.0))[rows]
    return target


def _index_text(name: str, idx: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(str(i) for i in idx)}]"


def compare(case: Case, expected: Expected, outcome: Outcome) -> tuple[Failure | None, float]:
    """Judge an outcome; return the failure (None if it conforms) and ``max|diff| / tol``.

    Order of the checks: raised, shape, non-finite, dtype, values. A dtype
    other than float64 is a failure even when the values are close (the
    contract is float64 in, float64 out); the values are still compared.
    """
    shape = expected.value.shape
    if outcome.error is not None:
        return Failure("raised", f"the function {outcome.error}"), math.inf
    got = outcome.array
    assert got is not None
    if got.shape != shape:
        hint = ""
        S, A = case.shape
        if got.shape == shape[::-1] and len(shape) == 2:
            hint = f" (transposed: ({A}, {S}) is (A, S); is P read as (A, S, S) or Q as (A, S)?)"
        return (
            Failure("shape", f"returned shape {got.shape}, expected {shape}{hint}"),
            math.inf,
        )
    bad = ~np.isfinite(got)
    target = expected.value if expected.allowed is None else _nearest_allowed(got, expected)
    diff = np.abs(got - target)
    idx = first_bad_index(bad)
    if idx is not None:
        n = int(bad.sum())
        return (
            Failure(
                "non-finite",
                f"returned {n} non-finite entr{'y' if n == 1 else 'ies'} (first at "
                f"{_index_text(expected.name, idx)})",
                idx,
                float(expected.value[idx]),
                float(got[idx]),
                math.inf,
            ),
            math.inf,
        )
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    worst = float(diff[idx])
    ratio = worst / expected.tol if expected.tol > 0 else (math.inf if worst > 0 else 0.0)
    at = (idx, float(target[idx]), float(got[idx]), worst)
    if outcome.dtype != "float64":
        close = "within" if worst <= expected.tol else "beyond"
        close += " the tolerance"
        if outcome.dtype in ("float32", "float16", "bfloat16"):
            close += "; with JAX enable jax_enable_x64, with PyTorch use torch.float64"
        return (
            Failure(
                "dtype",
                f"returned dtype {outcome.dtype}, expected float64 (values {close})",
                *at,
            ),
            ratio,
        )
    if worst > expected.tol:
        return Failure(
            "values", "differs from the reference by more than the tolerance", *at
        ), ratio
    return None, ratio


def worst_entry_lines(failure: Failure, exp: Expected, tolerance: Tolerance) -> list[str]:
    """The report's lines on the worst entry: expected, got, the difference and the tolerance."""
    if failure.worst is None:
        return []
    name = f"{exp.name}[{', '.join(map(str, failure.worst))}]"
    return [
        f"  worst entry {name}:",
        f"    expected  {failure.expected_at!r}   ({exp.source})",
        f"    got       {failure.got_at!r}",
        f"    |got - expected| = {failure.diff:.3g}   tolerance = {exp.tol:.3g}"
        f" = atol {tolerance.atol:.3g} + rtol {tolerance.rtol:.3g} * scale {exp.scale:.6g}"
        f" [{exp.scale_text}]" + (f" + reference bound {exp.bound:.3g}" if exp.bound else ""),
    ]
