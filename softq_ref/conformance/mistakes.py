r"""Known mistakes in soft-RL implementations, and which one a failure matches.

Each mistake is a wrong formula that real code has shipped. For a failing case
the kit computes what each wrong formula returns (for the solver: whether the
result is a fixed point of the wrong operator) and reports those that match
what the function returned, on the failing case and on every edge case where
the function returned an array of the right shape. The state-value variants
(what replaces the soft value ``V(s) = alpha log sum_a exp(Q(s,a)/alpha)``):

* uniform-prior convention: ``alpha log mean_a exp(Q/alpha)`` (log-mean-exp),
  lower by ``alpha log A`` per step; ``alpha log(A)/(1-gamma)`` on ``V*``;
* Boltzmann-weighted mean ``sum_a pi(a|s) Q(s,a)``: the soft value with its
  entropy term dropped (``V = E_pi Q + alpha H(pi)``, docs/conventions.md section 1);
* entropy double-counted: ``V + alpha H(pi)``;
* temperature left out: ``alpha lse(Q)``, ``lse(Q/alpha)`` or ``lse(Q)``;
* temperature ignored: the hard ``max_a Q``;
* no max-shift: ``alpha log sum exp(Q/alpha)`` evaluated as written, which
  overflows to ``inf`` (or underflows to ``log 0 = -inf``) for small ``alpha``;
* states and actions swapped (only visible when ``S = A``);
* for the operator and solver also the ``(A, S, S)`` reading of ``P``;
* float32 accuracy returned as float64: errors of the order of float32's unit
  roundoff times the case's scale, told apart further by the fingerprint of
  float32 arithmetic (every returned number is a float32 number) or by a
  match with the reference evaluated on inputs rounded to float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from softq_ref._rounding import U64
from softq_ref.conformance.cases import Case
from softq_ref.conformance.compare import Expected, Outcome, Tolerance
from softq_ref.logsumexp import policy_entropy, soft_policy, soft_value

__all__ = ["Mistake", "mistakes_for", "diagnose"]

FloatArray = NDArray[np.float64]
VMap = Callable[[FloatArray, float], FloatArray | None]

#: float32's unit roundoff 2**-24
EPS32 = 2.0**-24
#: "float32-sized": within 1024 float32 units of the case's scale (float32 code
#: keeps a few units per operation, a few hundred through a solver's iterations)
FLOAT32_UNITS = 1024.0
#: a wrong formula "matches" when it reproduces the result within this many
#: check tolerances (the wrong formula is evaluated with other roundings)
MATCH_SLACK = 8.0


def _lme(Q: FloatArray, a: float) -> FloatArray:
    return soft_value(Q, a) - a * math.log(Q.shape[-1])


def _boltzmann(Q: FloatArray, a: float) -> FloatArray:
    return np.asarray(np.sum(soft_policy(Q, a) * Q, axis=-1))


def _double_entropy(Q: FloatArray, a: float) -> FloatArray:
    return soft_value(Q, a) + a * policy_entropy(soft_policy(Q, a))


def _alpha_outside_only(Q: FloatArray, a: float) -> FloatArray:
    return a * soft_value(Q, 1.0)  # alpha * log sum exp(Q)


def _alpha_inside_only(Q: FloatArray, a: float) -> FloatArray:
    return soft_value(Q, a) / a  # log sum exp(Q / alpha)


def _no_alpha(Q: FloatArray, a: float) -> FloatArray:
    return soft_value(Q, 1.0)


def _hard_max(Q: FloatArray, a: float) -> FloatArray:
    return np.asarray(Q.max(axis=-1))


def _swapped_axes(Q: FloatArray, a: float) -> FloatArray | None:
    return soft_value(Q.T, a) if Q.shape[0] == Q.shape[1] else None


def _naive_value(Q: FloatArray, a: float) -> FloatArray:
    with np.errstate(all="ignore"):
        return np.asarray(a * np.log(np.sum(np.exp(Q / a), axis=-1)))


def _naive_policy(Q: FloatArray, a: float) -> FloatArray:
    with np.errstate(all="ignore"):
        e = np.exp(Q / a)
        return np.asarray(e / e.sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class Mistake:
    """A known wrong formula.

    ``v`` maps ``(Q, alpha)`` to the wrong state value (kinds value, operator,
    solver); ``pi`` to the wrong policy (kind policy); ``layout`` marks the
    ``(A, S, S)`` reading of ``P`` (operator, solver); ``naive`` the
    no-max-shift evaluation (judged by where it overflows); ``float32`` the
    precision check (judged by the size of the error).
    """

    key: str
    title: str
    v: VMap | None = None
    pi: Callable[[FloatArray, float], FloatArray | None] | None = None
    layout: bool = False
    naive: bool = False
    float32: bool = False
    zero: bool = False


_V_MISTAKES = [
    Mistake("log-mean-exp", "uniform-prior convention (log-mean-exp)", v=_lme),
    Mistake(
        "boltzmann",
        "Boltzmann-weighted mean instead of log-sum-exp (entropy dropped)",
        v=_boltzmann,
    ),
    Mistake("double-entropy", "entropy double-counted", v=_double_entropy),
    Mistake("temperature-exponent", "temperature left out of the exponent", v=_alpha_outside_only),
    Mistake(
        "temperature-outside", "temperature left out in front of the log", v=_alpha_inside_only
    ),
    Mistake("no-temperature", "temperature left out altogether", v=_no_alpha),
    Mistake("hard-max", "temperature ignored (hard max)", v=_hard_max),
    Mistake("swapped-axes", "states and actions swapped in Q", v=_swapped_axes),
]
_ALPHA_ZERO = Mistake("alpha-zero", "alpha = 0 not handled (division by alpha)", zero=True)
_NAIVE = Mistake("no-max-shift", "no max-shift in the log-sum-exp (overflow)", naive=True)
_FLOAT32 = Mistake("float32", "float32 accuracy passed off as float64", float32=True)
_FLOAT32_SIZED = Mistake(
    "float32-sized",
    "errors of float32 size (float32 somewhere, or a loose stopping tolerance)",
    float32=True,
)
_LAYOUT = Mistake("layout", "transitions read in the (A, S, S) layout", layout=True)
_PI_MISTAKES = [
    Mistake(
        "temperature-exponent",
        "temperature left out of the exponent",
        pi=lambda Q, a: soft_policy(Q, 1.0),
    ),
    Mistake(
        "temperature-inverted",
        "temperature multiplied instead of divided",
        pi=lambda Q, a: soft_policy(Q, 1.0 / a),
    ),
    Mistake("hard-max", "temperature ignored (greedy policy)", pi=lambda Q, a: soft_policy(Q, 0.0)),
    Mistake(
        "transposed",
        "result transposed (returned pi[a, s])",
        pi=lambda Q, a: soft_policy(Q, a).T if Q.shape[0] == Q.shape[1] else None,
    ),
    Mistake(
        "swapped-axes",
        "normalised over the states instead of the actions",
        pi=lambda Q, a: soft_policy(Q.T, a).T if Q.shape[0] == Q.shape[1] else None,
    ),
]


def mistakes_for(kind: str) -> list[Mistake]:
    """The mistakes the kit recognises for ``kind``, in the order they are tried."""
    if kind == "policy":
        return [*_PI_MISTAKES, _ALPHA_ZERO, _NAIVE, _FLOAT32, _FLOAT32_SIZED]
    if kind == "value":
        return [*_V_MISTAKES, _ALPHA_ZERO, _NAIVE, _FLOAT32, _FLOAT32_SIZED]
    if kind in ("value-solver", "policy-solver", "horizon-solver"):
        return [_FLOAT32, _FLOAT32_SIZED]  # judged by the size of the error only
    return [*_V_MISTAKES, _LAYOUT, _ALPHA_ZERO, _NAIVE, _FLOAT32, _FLOAT32_SIZED]


def _operator(case: Case, Q: FloatArray, m: Mistake) -> FloatArray | None:
    """``R + gamma P V'`` with the wrong value map, or with ``P`` read as ``(A, S, S)``."""
    mdp = case.mdp
    assert mdp is not None
    S, A = case.shape
    P = np.asarray(mdp.transitions)
    if m.layout:
        if S != A:
            return None
        V0: FloatArray = soft_value(Q, case.alpha)
        return np.asarray(mdp.rewards + mdp.gamma * np.einsum("ast,t->sa", P, V0))
    V: FloatArray | None = None
    if m.naive:
        V = _naive_value(Q, case.alpha)
    elif m.v is not None:
        V = m.v(Q, case.alpha)
    if V is None:
        return None
    with np.errstate(all="ignore"):
        return np.asarray(mdp.rewards + mdp.gamma * (P.reshape(S * A, S) @ V).reshape(S, A))


def _wrong_result(case: Case, m: Mistake) -> FloatArray | None:
    """What the wrong formula returns on ``case`` (kinds value, policy, operator)."""
    if case.alpha == 0 and not m.layout:
        return None  # every temperature mistake needs alpha > 0
    assert case.Q is not None
    Q = case.Q
    if case.kind == "value":
        if m.naive:
            return _naive_value(Q, case.alpha)
        return m.v(Q, case.alpha) if m.v is not None else None
    if case.kind == "policy":
        if m.naive:
            return _naive_policy(Q, case.alpha)
        return m.pi(Q, case.alpha) if m.pi is not None else None
    return _operator(case, Q, m)


def _close(got: FloatArray, pred: FloatArray, tol: float, rtol: float) -> bool:
    """Entrywise: both non-finite, or both finite and within the slack tolerance."""
    if pred.shape != got.shape:
        return False
    gf, pf = np.isfinite(got), np.isfinite(pred)
    if (gf != pf).any():
        return False
    if not gf.any():
        return True
    limit = MATCH_SLACK * (tol + rtol * float(np.abs(pred[pf]).max()))
    return bool(np.abs(got[gf] - pred[pf]).max() <= limit)


def _float32_numbers(got: FloatArray) -> bool:
    """Whether every entry is exactly representable in float32 (and some are not integers)."""
    with np.errstate(all="ignore"):
        same = np.array_equal(got.astype(np.float32).astype(np.float64), got)
    return bool(same and not np.array_equal(np.round(got), got))


def _float32_inputs_match(case: Case, got: FloatArray, exp: Expected) -> bool:
    """Whether ``got`` is the reference evaluated on inputs rounded to float32 (not solver)."""
    if case.kind == "solver" or case.Q is None:
        return False
    from softq_ref.operators import bellman_operator

    Q = case.Q.astype(np.float32).astype(np.float64)
    a = float(np.float32(case.alpha))
    if case.kind == "value":
        pred = soft_value(Q, a)
    elif case.kind == "policy":
        pred = soft_policy(Q, a)
    else:
        assert case.mdp is not None
        from softq_ref.mdp import FiniteMDP

        try:
            P = case.mdp.transitions.astype(np.float32).astype(np.float64)
            R = case.mdp.rewards.astype(np.float32).astype(np.float64)
            mdp = FiniteMDP(P, R, float(np.float32(case.mdp.gamma)), termination=True)
            pred = bellman_operator(mdp, Q, a)
        except ValueError:  # rows rounded up past 1: not a float64 MDP any more
            return False
    return bool(np.abs(got - pred).max() <= MATCH_SLACK * exp.tol)


def _is_float32_sized(got: FloatArray, exp: Expected) -> bool:
    if not np.isfinite(got).all():
        return False
    err = float(np.abs(got - exp.value).max())
    return err <= FLOAT32_UNITS * EPS32 * exp.scale + exp.bound


def _consistent(
    m: Mistake,
    case: Case,
    got: FloatArray,
    exp: Expected,
    tolerance: Tolerance,
    probe: bool = False,
) -> bool | None:
    """Whether ``got`` is what mistake ``m`` produces on ``case``; None: cannot tell here."""
    if m.zero:  # judged only where alpha = 0: a non-finite result there
        return None if case.alpha != 0 else not bool(np.isfinite(got).all())
    if m.float32:
        sized = _is_float32_sized(got, exp)
        if m.key == "float32" and not probe:  # the failing case must show the fingerprint
            return sized and (_float32_numbers(got) or _float32_inputs_match(case, got, exp))
        return sized
    correct = bool(np.isfinite(got).all() and np.abs(got - exp.value).max() <= exp.tol)
    if case.kind == "solver":
        return _consistent_solver(m, case, got, exp, tolerance, correct, probe)
    pred = _wrong_result(case, m)
    if pred is None:
        return None
    if m.naive:
        # as written it equals the reference until exp overflows or underflows
        return (not correct) if not np.isfinite(pred).all() else correct
    return _close(got, pred, exp.tol, tolerance.rtol)


def _consistent_solver(
    m: Mistake,
    case: Case,
    got: FloatArray,
    exp: Expected,
    tolerance: Tolerance,
    correct: bool,
    probe: bool,
) -> bool | None:
    """A solver built on a wrong operator ``T'`` returns (close to) a fixed point of ``T'``.

    On the failing case that is the test. On a probe the function may have
    returned the right answer (then ``T'`` must agree with ``T`` there, else
    the mistake is refuted) or garbage (a wrong ``T'`` need not be a
    contraction, so its iteration may diverge: nothing can be concluded).
    """
    if case.alpha == 0 and not m.layout:
        return None
    if m.naive:
        wrong_at_optimum = _operator(case, exp.value, m)
        assert wrong_at_optimum is not None
        overflows = not np.isfinite(wrong_at_optimum).all()
        return (not np.isfinite(got).all()) if overflows else correct
    g = case.mdp.gamma if case.mdp is not None else 0.0
    # a solver converged on T' leaves a residual |T'Q - Q| of the order of one
    # step's rounding: rtol * (1 - gamma) * scale (the solver's scale carries 1/(1-gamma))
    limit = MATCH_SLACK * ((1 - g) * exp.tol + tolerance.rtol * float(np.abs(got).max()))
    if probe and correct:
        wrong = _operator(case, exp.value, m)
        return None if wrong is None else bool(np.abs(wrong - exp.value).max() <= limit)
    if not np.isfinite(got).all():
        return None
    wrong = _operator(case, got, m)
    if wrong is None:
        return None
    fixed = bool(np.abs(wrong - got).max() <= limit)
    return fixed if not probe else (True if fixed else None)


def _explain(m: Mistake, case: Case, got: FloatArray, exp: Expected) -> str:
    """The sentence that says what the matched mistake is, with this case's numbers."""
    S, A = case.shape
    a = case.alpha
    g = case.mdp.gamma if case.mdp is not None else 0.0
    offset = float(np.median(got - exp.value)) if np.isfinite(got).all() else math.nan
    if m.key == "log-mean-exp":
        step = a * math.log(A)
        total = {"value": step, "operator": g * step, "solver": g * step / (1 - g)}[case.kind]
        per = {
            "value": f"exactly alpha*log(A) = {total:.6g} in every state",
            "operator": f"exactly gamma*alpha*log(A) = {total:.6g} per step",
            "solver": f"exactly gamma*alpha*log(A)/(1 - gamma) = {total:.6g} on Q* "
            "(alpha*log(A)/(1 - gamma) on V*)",
        }[case.kind]
        return (
            f"differs from the reference by {per} (measured: {offset:.6g}): "
            "this is the uniform-prior convention, V = alpha*log(mean_a exp(Q/alpha)); "
            "the reference's counting measure (no prior) uses log-sum-exp"
        )
    texts = {
        "boltzmann": "V = sum_a pi(a|s)*Q(s,a) with pi the soft-greedy policy; the soft value "
        "is that mean plus the entropy term alpha*H(pi) (docs/conventions.md section 1)",
        "double-entropy": "V = alpha*log sum exp(Q/alpha) + alpha*H(pi): the soft value already "
        "contains the entropy once (V = E_pi[Q] + alpha*H(pi))",
        "temperature-exponent": "computes alpha*log sum exp(Q); the exponent must be Q/alpha"
        if case.kind != "policy"
        else "computes softmax(Q); the exponent must be Q/alpha",
        "temperature-outside": "computes log sum exp(Q/alpha) without the factor alpha in front",
        "no-temperature": "computes log sum exp(Q): no alpha anywhere",
        "hard-max": "returns the alpha = 0 (hard max) answer whatever alpha is",
        "temperature-inverted": "computes softmax(alpha*Q); it must be softmax(Q/alpha)",
        "transposed": "the table is [s][a]: states on the first axis, actions on the last",
        "swapped-axes": f"reduces over the first axis of the {S}x{A} table: Q is [s][a], "
        "actions are the last axis",
        "layout": "uses P[a, s, s'] for P[s, a, s']: the kit passes P of shape (S, A, S) "
        "(docs/conventions.md section 4)",
        "alpha-zero": "returns non-finite values at alpha = 0, where docs/conventions.md section 1 defines "
        "the soft value as the hard max and the policy as uniform over the maximising actions "
        "(leave alpha = 0 out with an --alpha-range whose LO is positive)",
        "no-max-shift": f"exp(Q/alpha) overflows to inf (or underflows to 0, log 0 = -inf) "
        f"at alpha = {a!r}; shift by max_a Q first: V = m + alpha*log sum exp((Q - m)/alpha)",
    }
    if m.float32:
        err = float(np.abs(got - exp.value).max())
        scale = exp.scale if exp.scale > 0 else math.inf
        size = (
            f"the error {err:.3g} is {err / (EPS32 * scale):.2g} x 2**-24 (float32's unit "
            f"roundoff) times the scale {exp.scale:.6g}, and {err / (U64 * scale):.2g} x "
            "2**-53 (float64's)"
        )
        if m.key == "float32-sized":
            return (
                size + ": float32 somewhere in the computation, or (for an iterative "
                "method) a stopping tolerance far looser than float64 rounding"
            )
        if _float32_numbers(got):
            return (
                size + ": every returned number is exactly a float32 number, so the "
                "arithmetic was done in float32 and cast to float64 at the end"
            )
        return size + ": it matches the reference evaluated on inputs rounded to float32"
    return texts[m.key]


@dataclass(frozen=True)
class Diagnosis:
    """The matched mistakes (first the best) and the report text."""

    matches: tuple[str, ...]
    text: str


def diagnose(
    failing: tuple[Case, Outcome, Expected],
    probes: list[tuple[Case, Outcome, Expected]],
    tolerance: Tolerance,
) -> Diagnosis:
    """Name the known mistakes that reproduce the failure and every probe's result.

    A mistake matches when it reproduces the function's result on the failing
    case and is consistent with its results on the probes (the edge cases)
    where the function returned an array of the right shape. Exact formulas are
    tried first; the float32 check (by error size) only when none matches.
    """
    case, outcome, exp = failing
    got = outcome.array
    if got is None or got.shape != exp.value.shape:
        return Diagnosis((), "none: the result has no usable values (see above)")
    found: list[Mistake] = []
    for m in mistakes_for(case.kind):
        if m.float32 and found:
            break  # the float32 checks go by error size: only when no formula matched
        if _consistent(m, case, got, exp, tolerance) is not True:
            continue
        ok = True
        for pc, po, pe in probes:
            pg = po.array
            if pg is None or pg.shape != pe.value.shape:
                continue
            if _consistent(m, pc, pg, pe, tolerance, probe=True) is False:
                ok = False
                break
        if ok:
            found.append(m)
    if not found:
        names = ", ".join(m.title for m in mistakes_for(case.kind))
        return Diagnosis((), f"no known mistake matches (tried: {names})")
    head = f"matches: {found[0].title}: {_explain(found[0], case, got, exp)}"
    if len(found) > 1:
        head += "\n  also consistent with: " + "; ".join(m.title for m in found[1:])
    return Diagnosis(tuple(m.key for m in found), head)
