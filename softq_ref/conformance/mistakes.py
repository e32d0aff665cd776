r"""Known mistakes in soft-RL implementations, alone and in pairs, and what error remains.

A failure is explained in three steps (docs/conformance.md, "What a failure
report contains").

1. **Exact mistakes, alone and in pairs.** Each known mistake is a wrong
   formula or a wrong reading of the inputs that real code has shipped, and
   the kit computes exactly what it produces on the failing case:

   * what the function does to its inputs (a :class:`Transform`): ``alpha``
     rounded to float32 (``torch.tensor([alpha])``), ``gamma`` rounded to
     float32, every input rounded to float32, ``P`` read in the ``(A, S, S)``
     layout;
   * which state value replaces the soft value ``V(s) = alpha log sum_a
     exp(Q(s,a)/alpha)`` (a :class:`Mistake`): the uniform-prior convention
     ``alpha log mean_a exp(Q/alpha)`` (log-mean-exp); the Boltzmann mean
     ``sum_a pi(a|s) Q(s,a)`` (entropy dropped, ``V = E_pi Q + alpha H(pi)``,
     docs/conventions.md section 1); the entropy counted twice; the
     temperature left out of the exponent, in front of the log or altogether;
     the hard max; states and actions swapped; no max-shift (overflow).

   For the solver kinds the wrong result is the fixed point of the wrong
   operator (or backward induction with it, finite horizon), and one
   **projection** maps it to what the kind returns: ``Q`` itself (``solver``,
   ``horizon-solver``), ``V`` by the same state-value formula
   (``value-solver``), ``pi`` by the soft-greedy policy (``policy-solver``). A
   new solver kind gets every diagnosis by declaring what it returns in
   :data:`SOLVER_OUTPUT`. Every mistake and transform is tried alone; when
   none reproduces the result, each pair of a transform and a formula that
   contains the best single one. The best explanation is reported with what it
   explains and what remains: "log-mean-exp explains 6.92126; 4.6e-08
   remains, which matches alpha rounded to float32".

2. **What remains, described.** An error (or the rest of one) that no exact
   mistake reproduces is described by its shape: the same constant in every
   entry (a span-based stopping rule, as in pymdptoolbox's value iteration);
   an iteration stopped early (a sup-norm rule ``max|Q_{k+1} - Q_k| < eps``
   guarantees ``|Q - Q*| <= eps*gamma/(1 - gamma)``, so the smallest ``eps``
   that explains the error is printed); float32 arithmetic, named only with
   its fingerprint (every returned number is a float32 number) and called
   "float32 size" only when the error is at least ``2**-24 * max|Q*| / 16``,
   a sixteenth of the rounding of the largest value to float32.

3. **Always reported**: the error in ulps of the largest expected value and,
   for the solver kinds, the residual of the function's own answer
   (``max|T Q - Q|``; for ``V`` the residual of the state-value equation, for
   ``pi`` the change of one soft policy-iteration step; finite horizon: of the
   backward recursion). A result at float64's floor of the wrong operator has
   a residual the size of the mistake; an iteration stopped early has an error
   of at most ``residual / (1 - gamma)``.

A candidate counts as an explanation only if it also agrees with the
function's results on the edge cases where the function was right (there the
mistake must not change the answer).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref._rounding import U64
from softq_ref.conformance.cases import Case
from softq_ref.conformance.compare import SOLVER_OUTPUTS, Expected, Outcome, Tolerance
from softq_ref.logsumexp import policy_entropy, soft_policy, soft_value

__all__ = [
    "SOLVER_OUTPUT",
    "Mistake",
    "Transform",
    "Diagnosis",
    "mistakes_for",
    "transforms_for",
    "diagnose",
]

FloatArray = NDArray[np.float64]
VMap = Callable[[FloatArray, float], FloatArray | None]

#: float32's unit roundoff 2**-24
EPS32 = 2.0**-24
#: the upper end of "float32 size": 1024 float32 units of the case's scale (float32
#: code keeps a few units per operation, a few hundred through a solver's iterations)
FLOAT32_UNITS = 1024.0
#: the lower end: an error below 2**-24 * max|value| / 16 (a sixteenth of the rounding
#: of the largest value to float32) is not float32's doing
FLOAT32_FLOOR = 1.0 / 16
#: a prediction "matches" when it reproduces the result within this many tolerances
#: (the prediction is computed with other roundings than the function's)
MATCH_SLACK = 8.0
#: a candidate that leaves less than this fraction of the error explains most of it
PARTIAL = 0.01
#: "the same constant in every entry": the spread of the error is at most this
#: fraction of its size
OFFSET_SPREAD = 0.05

#: what each solver kind returns from its Q-table (or (H, S, A) Q-tables): the projection
SOLVER_OUTPUT = SOLVER_OUTPUTS


# --- the wrong state-value and policy formulas --------------------------------


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


def _square(Q: FloatArray) -> bool:
    return Q.ndim == 2 and Q.shape[0] == Q.shape[1]


def _swapped_axes(Q: FloatArray, a: float) -> FloatArray | None:
    return soft_value(Q.T, a) if _square(Q) else None


def _swapped_policy(Q: FloatArray, a: float) -> FloatArray | None:
    return soft_policy(Q.T, a).T if _square(Q) else None


def _naive_value(Q: FloatArray, a: float) -> FloatArray:
    with np.errstate(all="ignore"):
        return np.asarray(a * np.log(np.sum(np.exp(Q / a), axis=-1)))


def _naive_policy(Q: FloatArray, a: float) -> FloatArray:
    with np.errstate(all="ignore"):
        e = np.exp(Q / a)
        return np.asarray(e / e.sum(axis=-1, keepdims=True))


def _softmax_q(Q: FloatArray, a: float) -> FloatArray:
    return soft_policy(Q, a)


@dataclass(frozen=True)
class Mistake:
    """A known wrong formula, or a mistake judged otherwise.

    ``v`` maps ``(Q, alpha)`` to the wrong state value (kinds value, operator
    and the solver kinds); ``pi`` to the policy that goes with it (kind policy,
    and the projection of ``policy-solver``). ``naive`` marks the
    no-max-shift evaluation (judged by where it overflows), ``zero`` the
    division by ``alpha = 0`` (judged by a non-finite result at ``alpha = 0``).
    The layout and float32 readings of the inputs are :class:`Transform`
    objects; float32 arithmetic is judged by what remains (module docstring).
    """

    key: str
    title: str
    v: VMap | None = None
    pi: Callable[[FloatArray, float], FloatArray | None] | None = None
    naive: bool = False
    zero: bool = False


_V_MISTAKES = [
    Mistake("log-mean-exp", "uniform-prior convention (log-mean-exp)", v=_lme, pi=_softmax_q),
    Mistake(
        "boltzmann",
        "Boltzmann-weighted mean instead of log-sum-exp (entropy dropped)",
        v=_boltzmann,
        pi=_softmax_q,
    ),
    Mistake("double-entropy", "entropy double-counted", v=_double_entropy, pi=_softmax_q),
    Mistake(
        "temperature-exponent",
        "temperature left out of the exponent",
        v=_alpha_outside_only,
        pi=lambda Q, a: soft_policy(Q, 1.0),
    ),
    Mistake(
        "temperature-outside",
        "temperature left out in front of the log",
        v=_alpha_inside_only,
        pi=_softmax_q,
    ),
    Mistake(
        "no-temperature",
        "temperature left out altogether",
        v=_no_alpha,
        pi=lambda Q, a: soft_policy(Q, 1.0),
    ),
    Mistake(
        "hard-max",
        "temperature ignored (hard max)",
        v=_hard_max,
        pi=lambda Q, a: soft_policy(Q, 0.0),
    ),
    Mistake("swapped-axes", "states and actions swapped in Q", v=_swapped_axes, pi=_swapped_policy),
]
_ALPHA_ZERO = Mistake("alpha-zero", "alpha = 0 not handled (division by alpha)", zero=True)
_NAIVE = Mistake(
    "no-max-shift",
    "no max-shift in the log-sum-exp (overflow)",
    v=_naive_value,
    pi=_naive_policy,
    naive=True,
)
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
        pi=lambda Q, a: soft_policy(Q, a).T if _square(Q) else None,
    ),
    Mistake(
        "swapped-axes",
        "normalised over the states instead of the actions",
        pi=_swapped_policy,
    ),
]
_CORRECT = Mistake("", "", v=soft_value, pi=soft_policy)


def mistakes_for(kind: str) -> list[Mistake]:
    """The formula mistakes the kit tries for ``kind``, in the order they are tried."""
    if kind == "policy":
        return [*_PI_MISTAKES, _NAIVE, _ALPHA_ZERO]
    return [*_V_MISTAKES, _NAIVE, _ALPHA_ZERO]


# --- what a function may do to its inputs ---------------------------------------


@dataclass(frozen=True)
class Inputs:
    """The inputs of a case as the function may have read them (``P`` dense, ``(S, A, S)``)."""

    alpha: float
    Q: FloatArray | None = None
    P: FloatArray | None = None
    R: FloatArray | None = None
    gamma: float = 0.0
    prior: FloatArray | None = None
    horizon: int | None = None


def _f32(x: Any) -> Any:
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def _alpha32(x: Inputs) -> Inputs | None:
    a = float(np.float32(x.alpha))
    return None if a == x.alpha else Inputs(a, x.Q, x.P, x.R, x.gamma, x.prior, x.horizon)


def _gamma32(x: Inputs) -> Inputs | None:
    g = float(np.float32(x.gamma))
    if x.P is None or g == x.gamma:
        return None
    return Inputs(x.alpha, x.Q, x.P, x.R, g, x.prior, x.horizon)


def _inputs32(x: Inputs) -> Inputs | None:
    y = Inputs(
        float(np.float32(x.alpha)),
        None if x.Q is None else _f32(x.Q),
        None if x.P is None else _f32(x.P),
        None if x.R is None else _f32(x.R),
        float(np.float32(x.gamma)),
        x.prior,
        x.horizon,
    )
    same = y.alpha == x.alpha and y.gamma == x.gamma
    for a, b in ((x.Q, y.Q), (x.P, y.P), (x.R, y.R)):
        same = same and (a is None or (b is not None and np.array_equal(a, b)))
    return None if same else y


def _layout(x: Inputs) -> Inputs | None:
    if x.P is None or x.P.shape[0] != x.P.shape[1]:
        return None
    P = np.ascontiguousarray(x.P.transpose(1, 0, 2))
    return Inputs(x.alpha, x.Q, P, x.R, x.gamma, x.prior, x.horizon)


@dataclass(frozen=True)
class Transform:
    """A wrong reading of the inputs, or a wrong layout of the output.

    ``apply`` returns the inputs as read (None: no effect here); ``post``, if
    given, maps what the kind returns to what the mistaken function returns
    (None: no effect here).
    """

    key: str
    title: str
    apply: Callable[[Inputs], Inputs | None]
    post: Callable[[FloatArray], FloatArray | None] | None = None


def _time_reversed(out: FloatArray) -> FloatArray | None:
    return out[::-1] if out.ndim == 3 and out.shape[0] > 1 else None


def _greedy(pi: FloatArray) -> FloatArray | None:
    """The uniform policy over the maximisers of ``pi`` (those of ``Q``: softmax is monotone)."""
    best = pi >= pi.max(axis=-1, keepdims=True)
    return np.asarray(best / best.sum(axis=-1, keepdims=True), dtype=np.float64)


_ALPHA32 = Transform("float32-alpha", "alpha rounded to float32", _alpha32)
_GAMMA32 = Transform("float32-gamma", "gamma rounded to float32", _gamma32)
_INPUTS32 = Transform("float32-inputs", "inputs rounded to float32", _inputs32)
_LAYOUT = Transform("layout", "transitions read in the (A, S, S) layout", _layout)
_TIME_REVERSED = Transform("time-reversed", "time axis reversed", lambda x: x, post=_time_reversed)
_GREEDY = Transform("greedy-policy", "greedy policy of Q* returned", lambda x: x, post=_greedy)
_ONE_MORE_STEP = Transform(
    "one-step-too-many",
    "one step too many (V_H = V(R), not 0)",
    lambda x: (
        None
        if x.horizon is None
        else Inputs(x.alpha, x.Q, x.P, x.R, x.gamma, x.prior, x.horizon + 1)
    ),
    post=lambda out: out[:-1] if out.ndim == 3 else None,
)
_IDENTITY = Transform("", "", lambda x: x)


def transforms_for(kind: str) -> list[Transform]:
    """The wrong readings of the inputs (and layouts of the output) the kit tries for ``kind``."""
    if kind in ("value", "policy"):
        return [_ALPHA32, _INPUTS32]
    out = [_ALPHA32, _GAMMA32, _INPUTS32, _LAYOUT]
    if kind == "horizon-solver":
        out += [_TIME_REVERSED, _ONE_MORE_STEP]
    if kind == "policy-solver":
        out.append(_GREEDY)
    return out


# --- predictions: what a candidate makes the function return ---------------------


def _dense_transitions(case: Case) -> FloatArray | None:
    mdp = case.mdp
    if mdp is None:
        return None
    S, A = mdp.num_states, mdp.num_actions
    if mdp.is_sparse:
        if S * A * S > 4_000_000:
            return None
        return np.asarray(mdp.transition_matrix().toarray(), dtype=np.float64).reshape(S, A, S)
    return np.asarray(mdp.transitions, dtype=np.float64)


def case_horizon(case: Case) -> int | None:
    """The finite horizon of a case (``horizon-solver``), or None."""
    h = getattr(case, "horizon", None)
    if h is None and case.mdp is not None:
        h = case.mdp.horizon
    return None if h is None else int(h)


def _inputs(case: Case) -> Inputs:
    mdp = case.mdp
    if mdp is None:
        return Inputs(case.alpha, case.Q)
    return Inputs(
        case.alpha,
        case.Q,
        _dense_transitions(case),
        np.asarray(mdp.rewards, dtype=np.float64),
        float(mdp.gamma),
        None if mdp.prior is None else np.asarray(mdp.prior, dtype=np.float64),
        case_horizon(case),
    )


def _vmap(m: Mistake, x: Inputs) -> Callable[[FloatArray], FloatArray | None]:
    if m is _CORRECT:
        return lambda Q: soft_value(Q, x.alpha, x.prior)
    assert m.v is not None
    v = m.v
    return lambda Q: v(Q, x.alpha)


def _backup(x: Inputs, V: FloatArray) -> FloatArray:
    assert x.P is not None and x.R is not None
    S, A = x.R.shape
    with np.errstate(all="ignore"):
        return np.asarray(x.R + x.gamma * (x.P.reshape(S * A, S) @ V).reshape(S, A))


def _fixed_point(x: Inputs, m: Mistake, start: FloatArray | None) -> FloatArray | None:
    """The fixed point of ``Q <- R + gamma P v(Q)`` (backward induction for a horizon).

    Value iteration from ``start`` until a sweep changes nothing beyond a
    quarter of float64's resolution of the values times ``1 - gamma`` (so the
    fixed point is reached to about an ulp); None if it diverges or does not
    settle (a wrong operator need not be a contraction). With ``naive`` the
    overflowing iterate is returned as it is: the overflow is the prediction.
    """
    v = _vmap(m, x)
    assert x.R is not None
    if x.horizon is not None:
        H = x.horizon
        out = np.empty((H, *x.R.shape))
        V = np.zeros(x.R.shape[0])
        for t in range(H - 1, -1, -1):
            out[t] = _backup(x, V)
            Vn = v(out[t])
            if Vn is None:
                return None
            V = Vn
        return out if (m.naive or np.isfinite(out).all()) else None
    if m is _CORRECT:
        exact = _reference_solution(x)
        if exact is not None:
            return exact
    g = x.gamma
    Q = np.array(start if start is not None and np.isfinite(start).all() else np.zeros_like(x.R))
    S, A = x.R.shape
    sweeps = int(60 / (1 - g)) + 100
    sweeps = min(sweeps, max(200, 50_000_000 // max(1, S * A * S)))
    for _ in range(sweeps):
        Vq = v(Q)
        if Vq is None:
            return None
        Qn = _backup(x, Vq)
        if not np.isfinite(Qn).all():
            return Qn if m.naive else None
        change = float(np.abs(Qn - Q).max())
        Q = Qn
        if change <= 0.25 * U64 * (1 - g) * max(1.0, float(np.abs(Q).max())):
            return Q
    return None


def _reference_solution(x: Inputs) -> FloatArray | None:
    """``Q*`` of the inputs as read, by softq_ref's solver (None if they make no FiniteMDP)."""
    from softq_ref.float64.solvers import solve
    from softq_ref.mdp import FiniteMDP

    assert x.P is not None and x.R is not None
    try:
        sums = x.P.sum(axis=-1)
        mdp = FiniteMDP(
            x.P,
            x.R,
            x.gamma,
            prior=x.prior,
            termination=bool((sums < 1).any()),
            horizon=x.horizon,
        )
        return np.asarray(solve(mdp, x.alpha).Q)
    except (ValueError, ArithmeticError):
        return None


def _project(kind: str, Q: FloatArray, x: Inputs, m: Mistake) -> FloatArray | None:
    """What a solver kind returns from its (wrong) Q-table: Q, its state value or policy."""
    out = SOLVER_OUTPUT[kind]
    if out == "Q":
        return Q
    with np.errstate(all="ignore"):
        if not np.isfinite(Q).all():
            return Q[..., 0] if out == "V" else Q
        if out == "V":
            return _vmap(m, x)(Q)
        if m is _CORRECT:
            return soft_policy(Q, x.alpha, x.prior)
        return m.pi(Q, x.alpha) if m.pi is not None else None


def _start(case: Case, got: FloatArray, exp: Expected) -> FloatArray | None:
    """Where to start the wrong operator's value iteration: the function's own Q, or the Q
    of its own V (``R + gamma P V``), if it gave one; the fixed point is the same from
    anywhere, only sooner from there."""
    out = SOLVER_OUTPUT.get(case.kind)
    if got.shape != exp.value.shape or not np.isfinite(got).all():
        return None
    if out == "Q":
        return got
    if out == "V" and case.mdp is not None and got.ndim == 1:
        x = _inputs(case)
        return _backup(x, got) if x.P is not None else None
    return None


def predict(
    case: Case, t: Transform, m: Mistake, start: FloatArray | None = None
) -> FloatArray | None:
    """What a function with mistake ``m`` reading its inputs as ``t`` returns on ``case``.

    None when the pair has no effect or no meaning here (``alpha = 0`` for a
    temperature mistake, a square-only mistake on a non-square case, a prior).
    """
    x0 = _inputs(case)
    x = t.apply(x0)
    if x is None:
        return None
    if m.zero:
        return None
    if m is not _CORRECT and (x.alpha == 0 or x.prior is not None):
        return None  # the formula mistakes are counting-measure temperature mistakes
    kind = case.kind
    try:
        with np.errstate(all="ignore"):
            if kind in ("value", "policy"):
                assert x.Q is not None
                f = m.v if kind == "value" else m.pi
                if m is _CORRECT:
                    return (soft_value if kind == "value" else soft_policy)(x.Q, x.alpha)
                return None if f is None else f(x.Q, x.alpha)
            if x.P is None:
                return None
            if kind == "operator":
                assert x.Q is not None
                V = _vmap(m, x)(x.Q)
                return None if V is None else _backup(x, V)
            if kind in SOLVER_OUTPUT:
                Q = _fixed_point(x, m, start)
                out = None if Q is None else _project(kind, Q, x, m)
                if out is None or t.post is None:
                    return out
                return t.post(out) if np.isfinite(out).all() else None
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None
    return None


# --- comparing a prediction with what the function returned ----------------------


def _distance(got: FloatArray, pred: FloatArray | None, naive: bool = False) -> float:
    """``max|got - pred|``; inf if the shapes or the non-finite entries differ.

    For the no-max-shift prediction only where it overflows matters: any
    non-finite result matches an overflowing prediction.
    """
    if pred is None or pred.shape != got.shape:
        return math.inf
    gf, pf = np.isfinite(got), np.isfinite(pred)
    if naive and not pf.all():
        return 0.0 if not gf.all() else math.inf
    if (gf != pf).any():
        return math.inf
    if not gf.any():
        return 0.0
    return float(np.abs(got[gf] - pred[gf]).max())


def _limit(exp: Expected, tolerance: Tolerance, pred: FloatArray | None) -> float:
    """How close a prediction must come: the slack times the tolerance at its own scale."""
    size = 0.0
    if pred is not None and np.isfinite(pred).any():
        size = float(np.abs(pred[np.isfinite(pred)]).max())
    return MATCH_SLACK * (exp.tol + tolerance.rtol * size)


@dataclass(frozen=True)
class _Candidate:
    transform: Transform
    mistake: Mistake
    pred: FloatArray | None
    distance: float  # max|got - pred|
    limit: float
    effect: float  # max|pred - expected|: what the candidate changes
    error: float  # max|got - expected|: what there is to explain

    @property
    def parts(self) -> list[tuple[str, str]]:
        """``(key, title)`` of each mistake in the candidate, the transform first."""
        out = []
        if self.transform is not _IDENTITY:
            out.append((self.transform.key, self.transform.title))
        if self.mistake is not _CORRECT:
            out.append((self.mistake.key, self.mistake.title))
        return out

    @property
    def matches(self) -> bool:
        """Reproduces the result, and changes the reference by more than the tolerance.

        A candidate that changes nothing (float32(alpha) when alpha is a float32
        number, or when A = 1) is no explanation even if the error is small;
        nor is one that leaves a quarter of the error.
        """
        return (
            self.distance <= self.limit
            and self.distance <= self.error / 4
            and self.effect > self.limit / MATCH_SLACK
        )


def _candidate(
    case: Case, got: FloatArray, exp: Expected, tol: Tolerance, t: Transform, m: Mistake
) -> _Candidate:
    pred = predict(case, t, m, _start(case, got, exp))
    return _Candidate(
        t,
        m,
        pred,
        _distance(got, pred, m.naive),
        _limit(exp, tol, pred),
        _distance(exp.value, pred, m.naive),
        _distance(got, exp.value),
    )


def _refuted(c: _Candidate, probes: list[tuple[Case, Outcome, Expected]], tol: Tolerance) -> bool:
    """Whether an edge case where the function was right shows that ``c`` is not its mistake."""
    for pc, po, pe in probes:
        pg = po.array
        if pg is None or pg.shape != pe.value.shape or not np.isfinite(pg).all():
            continue
        if float(np.abs(pg - pe.value).max()) > pe.tol:
            continue  # wrong there too: no evidence against the candidate
        if c.mistake.zero:
            continue
        if c.mistake is not _CORRECT and pc.alpha == 0:
            continue
        pred = predict(pc, c.transform, c.mistake, _start(pc, pg, pe))
        if pred is None:
            continue
        if _distance(pg, pred, c.mistake.naive) > _limit(pe, tol, pred):
            return True
    return False


# --- describing what remains ------------------------------------------------------


def _value_scale(exp: Expected) -> float:
    """The size of the values: max|expected| (1 for a policy)."""
    if exp.name.startswith("pi"):
        return 1.0
    v = exp.value[np.isfinite(exp.value)]
    return float(np.abs(v).max()) if v.size else 0.0


def ulps(err: float, exp: Expected) -> tuple[float, float]:
    """``err`` in units in the last place of the largest expected value; and that ulp."""
    unit = float(np.spacing(max(_value_scale(exp), np.finfo(np.float64).tiny)))
    return err / unit, unit


def _float32_numbers(got: FloatArray) -> bool:
    """Whether every entry is exactly representable in float32 (and some are not integers)."""
    with np.errstate(all="ignore"):
        same = np.array_equal(got.astype(np.float32).astype(np.float64), got)
    return bool(same and not np.array_equal(np.round(got), got))


def float32_sized(err: float, exp: Expected) -> bool:
    """Whether an error is of the size float32 arithmetic leaves (docstring, step 2)."""
    lo = FLOAT32_FLOOR * EPS32 * _value_scale(exp)
    hi = FLOAT32_UNITS * EPS32 * exp.scale + exp.bound
    return lo <= err <= hi and err > 0


def _float32_text(err: float, exp: Expected) -> str:
    vs = _value_scale(exp)
    return (
        f"{err:.3g} is {err / (EPS32 * vs):.2g} x 2**-24 (float32's unit roundoff) times "
        f"max|{exp.name}| = {vs:.6g}"
    )


def _gamma(case: Case) -> float:
    return float(case.mdp.gamma) if case.mdp is not None else 0.0


def _describe_rest(
    case: Case, got: FloatArray, exp: Expected, rest: FloatArray, limit: float
) -> list[tuple[str, str]]:
    """Keys and sentences describing an error ``rest`` that no exact mistake reproduces."""
    out: list[tuple[str, str]] = []
    if not np.isfinite(rest).all():
        return out
    err = float(np.abs(rest).max())
    if err <= limit:
        return out
    kind, g = case.kind, _gamma(case)
    if _float32_numbers(got) and float32_sized(err, exp):
        out.append(
            (
                "float32",
                f"float32 accuracy passed off as float64: {_float32_text(err, exp)}, and every "
                "returned number is exactly a float32 number, so the arithmetic was done in "
                "float32 and cast to float64 at the end",
            )
        )
        return out
    output = SOLVER_OUTPUT.get(kind)
    v = "V" if output == "V" else "Q"
    offset: tuple[float, float] | None = None
    if output in ("Q", "V") and rest.size >= 2:
        c = float(np.median(rest))
        spread = float(rest.max() - rest.min())
        if abs(c) > limit and spread <= OFFSET_SPREAD * abs(c):
            offset = (c, spread)
    span = (
        f"max({v}_k+1 - {v}_k) - min({v}_k+1 - {v}_k) < threshold, as pymdptoolbox's "
        "ValueIteration does, bounds the spread of the error, not the error"
    )
    if output in ("Q", "V") and case_horizon(case) is None and 0 < g < 1:
        eps = err * (1 - g) / g
        need = exp.tol * (1 - g) / g
        text = (
            "consistent with an iteration stopped early: a sup-norm stopping rule "
            f"max|{v}_k+1 - {v}_k| < eps guarantees |{v} - {v}*| <= eps*gamma/(1 - gamma), so "
            f"eps >= {eps:.2g} explains this error, and float64 rounding's {exp.tol:.3g} "
            f"needs eps <= {need:.2g} (or stop when max|T {v} - {v}| <= tol*(1 - gamma))"
        )
        if offset is not None:
            text += (
                f"; the error is the same constant {offset[0]:.6g} in every entry (spread "
                f"{offset[1]:.2g}), which is what a span-based rule leaves whatever its "
                f"threshold: stopping when {span}"
            )
        out.append(("early-stop", text))
        if offset is not None:
            out.append(("constant-offset", ""))
    elif offset is not None:
        out.append(
            (
                "constant-offset",
                f"off by the same constant {offset[0]:.6g} in every entry (spread "
                f"{offset[1]:.2g}): a state-independent offset",
            )
        )
    if float32_sized(err, exp):
        out.append(
            (
                "float32-sized",
                f"errors of float32 size ({_float32_text(err, exp)}): float32 somewhere in the "
                "computation, or (for an iterative method) a stopping tolerance far looser "
                "than float64 rounding",
            )
        )
    return out


# --- the residual of the function's own answer -------------------------------------


def own_residual(case: Case, got: FloatArray) -> tuple[str, float] | None:
    """The residual of a solver kind's answer in its own equation: (what, value); None if none.

    ``Q``: ``max|T Q - Q|``; ``V``: ``max|V(R + gamma P V) - V|``; ``pi``:
    ``max|pi_{Q^pi} - pi|``, one step of soft policy iteration from it (``Q^pi``
    its exact soft Q-function; ``T Q^pi - Q^pi`` would be of second order); finite
    horizon: ``max_t |Q_t - (R + gamma P V(Q_t+1))|`` with ``V(Q_H) = 0``.
    """
    output = SOLVER_OUTPUT.get(case.kind)
    mdp = case.mdp
    if output is None or mdp is None or not np.isfinite(got).all():
        return None
    from softq_ref.operators import bellman_operator, evaluate_policy, expected_next_value

    a = case.alpha
    H = case_horizon(case)
    try:
        with np.errstate(all="ignore"):
            if H is not None and output == "Q":
                if got.shape != (H, mdp.num_states, mdp.num_actions):
                    return None
                V_next = np.zeros(mdp.num_states)
                worst = 0.0
                for t in range(H - 1, -1, -1):
                    backup = mdp.rewards + mdp.gamma * expected_next_value(mdp, V_next)
                    worst = max(worst, float(np.abs(got[t] - backup).max()))
                    V_next = soft_value(got[t], a, mdp.prior)
                return "max_t |Q_t - (R + gamma*P*V(Q_t+1))|", worst
            if H is not None:
                return None
            if output == "Q":
                return "max|T Q - Q|", float(np.abs(bellman_operator(mdp, got, a) - got).max())
            if output == "V":
                Q = mdp.rewards + mdp.gamma * expected_next_value(mdp, got)
                return "max|V(R + gamma*P*V) - V|", float(
                    np.abs(soft_value(Q, a, mdp.prior) - got).max()
                )
            Qpi = evaluate_policy(mdp, got, a).Q
            return "max|pi_Q^pi - pi| (the soft-greedy policy of its own exact Q^pi)", float(
                np.abs(soft_policy(Qpi, a, mdp.prior) - got).max()
            )
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None


def _wrong_residual(case: Case, got: FloatArray, c: _Candidate) -> float | None:
    """``max|T' Q - Q|`` of a solver's own ``Q`` under the matched candidate's operator ``T'``
    (finite horizon: ``max_t |Q_t - T' Q_t+1|``, ``V(Q_H) = 0``)."""
    if SOLVER_OUTPUT.get(case.kind) != "Q":
        return None
    if c.transform.post is not None or c.mistake.naive or not np.isfinite(got).all():
        return None
    x = c.transform.apply(_inputs(case))
    if x is None or x.P is None:
        return None
    v = _vmap(c.mistake, x)
    with np.errstate(all="ignore"):
        if x.horizon is not None:
            if got.ndim != 3:
                return None
            r = 0.0
            for t in range(got.shape[0]):
                n = v(got[t + 1]) if t + 1 < got.shape[0] else np.zeros(got.shape[1])
                if n is None:
                    return None
                r = max(r, float(np.abs(got[t] - _backup(x, n)).max()))
        else:
            V = v(got)
            if V is None:
                return None
            r = float(np.abs(_backup(x, V) - got).max())
    return r if math.isfinite(r) else None


# --- the sentences of the exact mistakes ---------------------------------------------


def _sum_gamma(g: float, n: int) -> float:
    """``gamma + gamma**2 + ... + gamma**n``."""
    return sum(g**k for k in range(1, n + 1))


def _explain_mistake(m: Mistake, case: Case, got: FloatArray, exp: Expected) -> str:
    """The sentence that says what the matched formula mistake is, with this case's numbers."""
    S, A = case.shape
    a = case.alpha
    g = _gamma(case)
    kind = case.kind
    if m.key == "log-mean-exp":
        offset = float(np.median(got - exp.value)) if np.isfinite(got).all() else math.nan
        step = a * math.log(A)
        H = case_horizon(case)
        per = {
            "value": f"exactly alpha*log(A) = {step:.6g} in every state",
            "operator": f"exactly gamma*alpha*log(A) = {g * step:.6g} per step",
            "solver": f"exactly gamma*alpha*log(A)/(1 - gamma) = {g * step / (1 - g):.6g} on Q* "
            "(alpha*log(A)/(1 - gamma) on V*)"
            if g < 1
            else "",
            "value-solver": f"exactly alpha*log(A)/(1 - gamma) = {step / (1 - g):.6g} on V*"
            if g < 1
            else "",
            "policy-solver": "nothing on pi* (it only shifts V), which is why",
            "horizon-solver": f"exactly alpha*log(A)*(gamma + ... + gamma**(H-1-t)) on Q_t "
            f"(= {step * _sum_gamma(g, (H or 1) - 1):.6g} at t = 0)",
        }[kind]
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
        if kind != "policy"
        else "computes softmax(Q); the exponent must be Q/alpha",
        "temperature-outside": "computes log sum exp(Q/alpha) without the factor alpha in front",
        "no-temperature": "computes log sum exp(Q): no alpha anywhere",
        "hard-max": "returns the alpha = 0 (hard max) answer whatever alpha is",
        "temperature-inverted": "computes softmax(alpha*Q); it must be softmax(Q/alpha)",
        "transposed": "the table is [s][a]: states on the first axis, actions on the last",
        "swapped-axes": f"reduces over the first axis of the {S}x{A} table: Q is [s][a], "
        "actions are the last axis",
        "alpha-zero": "returns non-finite values at alpha = 0, where docs/conventions.md "
        "section 1 defines the soft value as the hard max and the policy as uniform over the "
        "maximising actions (leave alpha = 0 out with an --alpha-range whose LO is positive)",
        "no-max-shift": f"exp(Q/alpha) overflows to inf (or underflows to 0, log 0 = -inf) "
        f"at alpha = {a!r}; shift by max_a Q first: V = m + alpha*log sum exp((Q - m)/alpha)",
    }
    return texts[m.key]


def _explain_transform(t: Transform, case: Case) -> str:
    a, g = case.alpha, _gamma(case)
    if t is _ALPHA32:
        return (
            f"alpha = {a!r} was used as float32(alpha) = {float(np.float32(a))!r} "
            "(torch.tensor([alpha]) and np.float32(alpha) round it); keep alpha a Python "
            "float or a float64 tensor"
        )
    if t is _GAMMA32:
        return (
            f"gamma = {g!r} was used as float32(gamma) = {float(np.float32(g))!r}; keep gamma "
            "a Python float or a float64 tensor"
        )
    if t is _TIME_REVERSED:
        return (
            "got[t] is the reference's Q[H - 1 - t]: the kit indexes by time, Q[t] with H - t "
            "steps to go (Q[H - 1] = R, Q[0] the longest look-ahead; docs/conventions.md "
            "section 1)"
        )
    if t is _ONE_MORE_STEP:
        return (
            "got[t] has H + 1 - t steps to go: the recursion starts from V_H = V(R) (one "
            "backup too many, an off-by-one in the loop); it starts from V_H = 0, so that "
            "Q[H - 1] = R (docs/conventions.md section 1)"
        )
    if t is _GREEDY:
        return (
            "every row puts its mass on the actions that maximise Q*; at "
            f"alpha = {a!r} the soft-greedy policy is pi*(a|s) = exp((Q*(s,a) - V*(s))/alpha), "
            "positive on every action"
        )
    if t is _INPUTS32:
        return (
            "the inputs were rounded to float32 before a float64 computation (a float32 "
            "tensor or array on the way in); keep them float64"
        )
    return (
        "uses P[a, s, s'] for P[s, a, s']: the kit passes P of shape (S, A, S) "
        "(docs/conventions.md section 4)"
    )


def _sentence(
    c: _Candidate, case: Case, got: FloatArray, exp: Expected, titled: bool = True
) -> str:
    """``title: what it is`` for each part of a candidate (without the title: what it is)."""
    parts = []
    if c.transform is not _IDENTITY:
        text = _explain_transform(c.transform, case)
        parts.append(f"{c.transform.title}: {text}" if titled else text)
    if c.mistake is not _CORRECT:
        text = _explain_mistake(c.mistake, case, got, exp)
        parts.append(f"{c.mistake.title}: {text}" if titled else text)
    return "; ".join(parts)


def _name(c: _Candidate) -> str:
    return " and ".join(title for _, title in c.parts)


# --- the diagnosis ----------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    """The matched mistakes (first the best) and the report text.

    ``matches`` holds the keys of the exact mistakes that explain the failure
    (one, or two for a compound) followed by the keys of the descriptions of
    what remains (``constant-offset``, ``early-stop``, ``float32``,
    ``float32-sized``).
    """

    matches: tuple[str, ...]
    text: str


def _facts(case: Case, got: FloatArray, exp: Expected) -> list[str]:
    """The numbers reported for every failure: the error in ulps, the own residual."""
    if got.shape != exp.value.shape or not np.isfinite(got).all():
        return []
    err = float(np.abs(got - exp.value).max())
    n, unit = ulps(err, exp)
    line = (
        f"size: max|got - expected| = {err:.3g} = {n:.3g} ulps of max|{exp.name}| = "
        f"{_value_scale(exp):.6g} (ulp {unit:.3g})"
    )
    res = own_residual(case, got)
    if res is not None:
        line += f"; residual of your answer {res[0]} = {res[1]:.3g}"
    return [line]


def _exact_candidates(
    case: Case, got: FloatArray, exp: Expected, tolerance: Tolerance
) -> list[_Candidate]:
    """Singles first; then pairs containing the best single ones, when no single matches."""
    transforms = transforms_for(case.kind)
    formulas = [m for m in mistakes_for(case.kind) if not m.zero]
    singles = [_candidate(case, got, exp, tolerance, t, _CORRECT) for t in transforms]
    singles += [_candidate(case, got, exp, tolerance, _IDENTITY, m) for m in formulas]
    singles = [c for c in singles if c.pred is not None]
    if any(c.matches for c in singles):
        return singles
    err0 = _distance(got, exp.value)
    useful = sorted((c for c in singles if c.distance < err0), key=lambda c: c.distance)[:3]
    pairs: list[_Candidate] = []
    seen: set[tuple[str, str]] = set()
    for c in useful:
        if c.transform is not _IDENTITY:
            combos = [(c.transform, m) for m in formulas]
        else:
            combos = [(t, c.mistake) for t in transforms]
        for t, m in combos:
            if (t.key, m.key) in seen:
                continue
            seen.add((t.key, m.key))
            p = _candidate(case, got, exp, tolerance, t, m)
            if p.pred is not None:
                pairs.append(p)
    return singles + pairs


def _single_of(c: _Candidate, singles: list[_Candidate], which: str) -> _Candidate | None:
    for s in singles:
        if which == "transform" and s.transform is c.transform and s.mistake is _CORRECT:
            return s
        if which == "mistake" and s.mistake is c.mistake and s.transform is _IDENTITY:
            return s
    return None


def _select(
    candidates: list[_Candidate],
    err0: float,
    probes: list[tuple[Case, Outcome, Expected]],
    tolerance: Tolerance,
) -> _Candidate | None:
    """The best explanation not refuted by the probes: an exact match (the closest), else
    a partial one (leaving at most ``PARTIAL`` of the error), the simpler unless a pair
    leaves a quarter of what the best single one leaves (a pair always fits a little better)."""
    full = sorted((c for c in candidates if c.matches), key=lambda c: (c.distance, len(c.parts)))
    for c in full:
        if not _refuted(c, probes, tolerance):
            return c
    partial = [c for c in candidates if not c.matches and c.distance <= PARTIAL * err0]
    partial = [c for c in partial if not _refuted(c, probes, tolerance)]
    singles = sorted((c for c in partial if len(c.parts) == 1), key=lambda c: c.distance)
    pairs = sorted((c for c in partial if len(c.parts) > 1), key=lambda c: c.distance)
    if singles and (not pairs or pairs[0].distance > singles[0].distance / 4):
        return singles[0]
    return pairs[0] if pairs else None


def diagnose(
    failing: tuple[Case, Outcome, Expected],
    probes: list[tuple[Case, Outcome, Expected]],
    tolerance: Tolerance,
) -> Diagnosis:
    """Explain a failure: the best exact mistake (alone or a pair), then what remains.

    See the module docstring for the three steps. ``probes`` are the edge
    cases already run (case, what the function returned, the reference): a
    candidate that would have changed the answer on one where the function was
    right is refuted.
    """
    case, outcome, exp = failing
    got = outcome.array
    if got is None or got.shape != exp.value.shape:
        return Diagnosis((), "none: the result has no usable values (see above)")
    facts = _facts(case, got, exp)
    if case.alpha == 0 and not np.isfinite(got).all():
        return Diagnosis(
            ("alpha-zero",),
            f"matches: {_ALPHA_ZERO.title}: {_explain_mistake(_ALPHA_ZERO, case, got, exp)}",
        )
    candidates = _exact_candidates(case, got, exp, tolerance)
    err0 = _distance(got, exp.value)
    best = _select(candidates, err0, probes, tolerance)
    lines: list[str] = []
    keys: list[str] = []
    if best is None:
        rest = got - exp.value
        limit = exp.tol  # nothing explained: describe the error beyond the tolerance
    else:
        keys += [k for k, _ in best.parts]
        assert best.pred is not None
        with np.errstate(all="ignore"):
            rest = got - best.pred
        limit = best.limit
    described = _describe_rest(case, got, exp, rest, limit)
    if best is not None and best.matches and len(best.parts) == 1:
        lines.append(f"matches: {_name(best)}: {_sentence(best, case, got, exp, titled=False)}")
    elif best is not None and best.matches:
        t_single = _single_of(best, candidates, "transform")
        m_single = _single_of(best, candidates, "mistake")
        order = [best.mistake.title, best.transform.title]
        texts = [
            _explain_mistake(best.mistake, case, got, exp),
            _explain_transform(best.transform, case),
        ]
        first = m_single
        if t_single is not None and m_single is not None:
            # the dominant part first: the one that explains more on its own
            if _distance(exp.value, t_single.pred) > _distance(exp.value, m_single.pred):
                order.reverse()
                texts.reverse()
                first = t_single
        explained = _distance(exp.value, first.pred) if first is not None else math.nan
        remains = first.distance if first is not None else math.nan
        lines.append(
            f"matches: {order[0]} and {order[1]} together: {order[0]} explains "
            f"{explained:.6g}; {remains:.2g} remains, which matches {order[1]}"
        )
        lines += [f"  {title}: {text}" for title, text in zip(order, texts, strict=True)]
        if order[0] == best.mistake.title:
            keys.reverse()  # the dominant part's key first, as in the text
    elif best is not None:
        remains = float(np.abs(rest[np.isfinite(rest)]).max()) if np.isfinite(rest).any() else 0
        lines.append(
            f"partly: {_name(best)} explains {_distance(exp.value, best.pred):.6g}; "
            f"{remains:.2g} remains"
            + (", which is " + described[0][1] if described else ", which no known mistake matches")
        )
        lines.append(f"  {_sentence(best, case, got, exp)}")
        keys += [k for k, _ in described]
        described = described[1:]
    if best is None:
        if described:
            lines.append(described[0][1])
            keys += [k for k, _ in described]
            described = described[1:]
        else:
            names = ", ".join(
                [t.title for t in transforms_for(case.kind)]
                + [m.title for m in mistakes_for(case.kind)]
            )
            lines.append(
                f"no known mistake matches (tried alone and in pairs: {names}; "
                "and a constant offset, an early stop, float32 arithmetic)"
            )
    for _, text in described:
        if text:
            lines.append(f"  also: {text}")
    wrong = _wrong_residual(case, got, best) if best is not None and best.matches else None
    if wrong is not None and facts and best is not None:
        facts[-1] += f"; under the mistaken operator it is {wrong:.3g}"
        if wrong <= best.limit and case_horizon(case) is None:
            facts[-1] += ": converged, to the wrong fixed point"
        elif wrong <= best.limit:
            facts[-1] += ": the mistaken recursion, to rounding"
    lines += [f"  {f}" for f in facts]
    return Diagnosis(tuple(dict.fromkeys(keys)), "\n".join(lines))
