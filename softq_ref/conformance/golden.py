"""``softq-ref golden --check MODULE:FUNCTION --kind KIND``: a kind against the golden catalog.

Every case of the shipped catalog (``softq_ref/data/golden/``, docs/golden.md)
that the kind's signature can carry is run at each of its temperatures and
compared with the catalog's certified solution, under the kit's tolerance
model (:mod:`softq_ref.conformance.compare`): ``atol + rtol * scale`` with the
kind's scale, plus the catalog's own ``error_bound`` and the rounding of its
decimals (and of the inputs the function is given) to float64. A case the
signature cannot carry (a prior, termination, no finite horizon for
``horizon-solver``, rewards that depend on the action with ``rewards="state"``)
is listed with the reason, never skipped silently.

What each kind is given and compared with: the solvers get ``P``, ``R``,
``gamma``, ``alpha`` (float64, rounded from the catalog's exact inputs) and
return ``Q*``, ``V*`` or ``pi*``; ``value`` and ``policy`` get the catalog's
``Q*`` and return ``V*`` and ``pi*``; ``operator`` gets the MDP and ``Q*`` and
returns ``T Q* = Q*``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from softq_ref.conformance.cases import Q_KINDS, Case, Unexpressible, expressible
from softq_ref.conformance.compare import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    Expected,
    Failure,
    Outcome,
    Tolerance,
    call,
    compare,
    policy_shift,
    reference,
)

__all__ = ["GoldenReport", "check_golden", "add_arguments", "run"]


@dataclass(frozen=True)
class GoldenReport:
    """The outcome of a golden check.

    ``ok``: every expressible case passed (and there was one); ``text`` the
    report; ``passed`` and ``failed`` the ``(case, alpha)`` pairs run;
    ``unexpressible`` each left-out case with the reason; ``diagnosis`` the
    keys of the known mistakes matched by the first failure; ``not_selected`` the
    ``(case, alpha)`` pairs outside the temperatures asked for (``alpha`` or
    ``alpha_range``).
    """

    ok: bool
    kind: str
    target: str
    text: str
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    unexpressible: tuple[tuple[str, str], ...]
    diagnosis: tuple[str, ...] = ()
    failure: Failure | None = None
    not_selected: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.text


def _golden_dir() -> Any:
    from importlib.resources import files

    return files("softq_ref").joinpath("data/golden")


def _read(name: str) -> Any:
    return json.loads(_golden_dir().joinpath(name).read_text(encoding="utf-8"))


def _float(t: str) -> float:
    """A catalog decimal (``str(Decimal)``) correctly rounded to float64; ``"p/q"`` exactly.

    Python's ``float`` rounds a decimal string correctly, and at once even for the
    exponents of a policy's underflowing entries (``"9.6E-955447860...``")."""
    return float(Fraction(t)) if "/" in t else float(t)


def _floats(x: Any) -> np.ndarray:
    return np.vectorize(_float, otypes=[np.float64])(np.array(x, dtype=object))


def _half_ulp(x: np.ndarray) -> float:
    return 0.5 * float(np.spacing(float(np.abs(x).max()))) if x.size else 0.0


def _expected(case: Case, solution: dict[str, Any], tolerance: Tolerance) -> Expected:
    """The catalog's certified answer for ``case``, with the kit's tolerance for its kind.

    The scale (and the near-ties of ``policy-solver`` at ``alpha = 0``) are those of
    :func:`softq_ref.conformance.compare.reference`; the bound is the catalog's
    ``error_bound``, plus half an ulp for its rounding to float64, plus what the rounding
    of the catalog's ``Q*`` to float64 moves the answer by for the kinds that take it.
    """
    exp = reference(case, tolerance)
    key = {"value": "V", "value-solver": "V", "policy": "policy", "policy-solver": "policy"}
    value = _floats(solution[key.get(case.kind, "Q")])
    bound = float(Fraction(solution["error_bound"])) + _half_ulp(value)
    if case.kind in Q_KINDS or case.kind == "operator":
        assert case.Q is not None
        dq = _half_ulp(case.Q)  # the input Q is the catalog's Q* rounded to float64
        if case.kind == "value":
            bound += dq  # the soft value is 1-Lipschitz in the sup norm
        elif case.kind == "operator":
            assert case.mdp is not None
            bound += float(case.mdp.gamma) * dq  # T moves by gamma times the change of Q
        elif case.alpha > 0:
            bound += policy_shift(2 * dq / case.alpha)
    tol = tolerance.atol + tolerance.rtol * exp.scale + bound
    digits = solution.get("digits")
    return replace(
        exp,
        value=value,
        bound=bound,
        tol=tol,
        source=f"golden catalog, {digits} certified digits",
    )


@dataclass(frozen=True)
class _Run:
    name: str
    case: Case
    outcome: Outcome
    expected: Expected
    failure: Failure | None
    ratio: float


def check_golden(
    fn: Callable[..., Any],
    kind: str,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    rewards: str = "state-action",
    array: str = "numpy",
    alpha: float | None = None,
    alpha_range: tuple[float, float] | None = None,
    target: str | None = None,
) -> GoldenReport:
    """Run ``fn`` of ``kind`` on every golden-catalog case its signature can carry.

    Parameters
    ----------
    fn : callable
        The implementation, called as :func:`softq_ref.conformance.check` calls it.
    kind : str
        One of :data:`softq_ref.conformance.KINDS`.
    rtol, atol : float, optional
        The kit's tolerances (docs/conformance.md, "How close is close enough").
    rewards : {"state-action", "state"}, optional
        ``"state"`` passes ``R[s]``; catalog cases whose rewards depend on the
        action are then listed as not expressible.
    array : {"numpy", "torch", "jax"}, optional
        The arrays ``fn`` gets.
    alpha : float, optional
        Run only the catalog entries at this temperature (``0.0``: a hard-only solver).
    alpha_range : (float, float), optional
        Run only the entries with ``lo <= alpha <= hi`` (a soft solver that divides by
        ``alpha``: ``(1e-300, inf)``). The others are listed as not selected.
    target : str, optional
        How to name ``fn`` in the report.

    Returns
    -------
    GoldenReport
        ``ok`` if every expressible case passes; the text lists each case run,
        each case left out with the reason, and the first failure in full with
        its diagnosis.

    Raises
    ------
    InvalidArgumentError
        For bad options.

    Examples
    --------
    >>> from softq_ref import FiniteMDP, solve
    >>> report = check_golden(lambda P, R, g, a: solve(FiniteMDP(P, R, g), a).V, "value-solver")
    >>> report.ok, len(report.unexpressible) > 0
    (True, True)
    """
    from softq_ref._validate import check_argument
    from softq_ref.conformance import KINDS, REWARDS, _diagnose, _failure_text, _target_name
    from softq_ref.conformance import _Counterexample as Counterexample
    from softq_ref.conformance.arrays import require
    from softq_ref.conformance.cases import SIGNATURES
    from softq_ref.io.jsonio import loads_problem

    check_argument(kind in KINDS, f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    check_argument(rewards in REWARDS, f"rewards must be one of {', '.join(REWARDS)}")
    check_argument(
        not (rewards == "state" and kind in Q_KINDS),
        f"rewards='state' needs a kind with an MDP; kind {kind} takes a Q-table only",
    )
    require(array)
    check_argument(alpha is None or alpha_range is None, "give alpha or alpha_range, not both")
    lo, hi = (alpha, alpha) if alpha is not None else (alpha_range or (0.0, float("inf")))
    check_argument(
        0.0 <= lo <= hi, f"the temperatures asked for must satisfy 0 <= lo <= hi, got {lo}, {hi}"
    )
    tolerance = Tolerance(
        DEFAULT_RTOL if rtol is None else float(rtol), DEFAULT_ATOL if atol is None else float(atol)
    )
    shown = target or _target_name(fn) or str(getattr(fn, "__qualname__", repr(fn)))
    state_rewards = rewards == "state"
    index = _read("index.json")
    runs: list[_Run] = []
    refused: list[tuple[str, str]] = []
    not_selected: list[str] = []
    for entry in index["cases"]:
        name = entry["name"]
        text = _golden_dir().joinpath(entry["mdp"]).read_text(encoding="utf-8")
        mdp = loads_problem(text, source=entry["mdp"]).mdp
        try:
            if kind in Q_KINDS:
                if mdp.prior is not None:
                    raise Unexpressible("it has a prior (a reference measure mu); kind "
                                        f"{kind}'s signature f(Q, alpha) carries none")  # fmt: skip
                flat = None
            else:
                flat = expressible(mdp, kind, state_rewards=state_rewards)
        except Unexpressible as exc:
            refused.append((name, str(exc)))
            continue
        for alpha_text in entry["alphas"]:
            solution = _read(entry["solutions"][alpha_text])
            a = float(Fraction(alpha_text))
            if not lo <= a <= hi:
                not_selected.append(f"{name} alpha={alpha_text}")
                continue
            Q = _floats(solution["Q"]) if kind in (*Q_KINDS, "operator") else None
            label = f"golden case {name}, alpha = {alpha_text}"
            case = Case(kind, a, flat, Q, label, state_rewards=state_rewards)
            exp = _expected(case, solution, tolerance)
            out = call(fn, case, array)
            fail, ratio = compare(case, exp, out)
            runs.append(_Run(f"{name} alpha={alpha_text}", case, out, exp, fail, ratio))

    lines = [
        f"golden catalog check of {shown} (kind {kind}: {SIGNATURES[kind]})",
        f"  tolerance: atol {tolerance.atol:.3g} + rtol {tolerance.rtol:.3g} * scale + the "
        "catalog's error bound and its rounding to float64 (docs/conformance.md)",
    ]
    for r in runs:
        verdict = "PASS" if r.failure is None else "FAIL"
        if r.failure is None or r.failure.diff is not None:
            diff = r.failure.diff if r.failure is not None else r.ratio * r.expected.tol
            size = f"max|got - expected| = {diff:.3g}, {r.ratio:.3g} of the tolerance"
        else:
            size = r.failure.summary
        lines.append(f"  {verdict} {r.name} ({r.case.describe()}): {size}")
    for name, why in refused:
        lines.append(f"  NOT EXPRESSIBLE {name}: {why}")
    if not_selected:
        asked = f"alpha = {lo:g}" if lo == hi else f"{lo:g} <= alpha <= {hi:g}"
        lines.append(
            f"  NOT SELECTED ({asked} asked for): {len(not_selected)} "
            f"{'entry' if len(not_selected) == 1 else 'entries'}: " + ", ".join(not_selected)
        )
    failed = [r for r in runs if r.failure is not None]
    passed = [r for r in runs if r.failure is None]
    lines.append(
        f"{len(passed)} passed, {len(failed)} failed, {len(refused)} catalog cases not "
        f"expressible for kind {kind}"
    )
    diagnosis: tuple[str, ...] = ()
    first: Failure | None = None
    if failed:
        r = failed[0]
        assert r.failure is not None
        probes = [(p.case, p.outcome, p.expected) for p in runs if p is not r]
        diag = _diagnose((r.case, r.outcome, r.expected), probes, tolerance)
        diagnosis, first = tuple(diag.matches), r.failure
        found = Counterexample(r.case, r.outcome, r.expected, r.failure, r.case.label)
        detail = _failure_text(shown, kind, found, diag.text, None, None, tolerance)
        lines += ["", "first failure:", *detail.splitlines()[1:]]
    ok = bool(runs) and not failed
    head = "OK" if ok else ("FAIL" if failed else "NOTHING TO CHECK")
    lines[0] = f"{head}: {lines[0]}"
    return GoldenReport(
        ok,
        kind,
        shown,
        "\n".join(lines),
        tuple(r.name for r in passed),
        tuple(r.name for r in failed),
        tuple(refused),
        diagnosis,
        first,
        tuple(not_selected),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--check`` options to the ``softq-ref golden`` parser."""
    from softq_ref.conformance import KINDS, REWARDS
    from softq_ref.conformance.arrays import ARRAYS

    group = parser.add_argument_group(
        "checking an implementation against the catalog (instead of writing it)"
    )
    group.add_argument(
        "--check",
        metavar="MODULE:FUNCTION",
        default=None,
        help="run this function on every catalog case its kind can express",
    )
    group.add_argument("--kind", choices=KINDS, default=None, help="what the function computes")
    group.add_argument("--rtol", type=float, default=None, help="as for softq-ref check")
    group.add_argument("--atol", type=float, default=None, help="as for softq-ref check")
    group.add_argument("--rewards", choices=REWARDS, default="state-action", help="as for check")
    group.add_argument("--array", choices=ARRAYS, default="numpy", help="as for softq-ref check")
    group.add_argument(
        "--alpha",
        type=float,
        default=None,
        metavar="A",
        help="only the entries at this temperature ('--alpha 0': a hard-only solver)",
    )
    group.add_argument(
        "--alpha-range",
        nargs="+",
        metavar="LO HI",
        default=None,
        help="only the entries with LO <= alpha <= HI (e.g. '1e-300 inf' for a solver that "
        "divides by alpha); the others are listed as not selected",
    )


def run(args: argparse.Namespace) -> int:
    """``softq-ref golden --check``: 0 every expressible case passes, 1 a failure, 2 cannot run."""
    from softq_ref.conformance import _load_function, _parse_alpha_range, _Unusable

    try:
        if args.kind is None:
            raise _Unusable("--check needs --kind KIND")
        if getattr(args, "outdir", None) is not None:
            raise _Unusable(
                "give OUTDIR (write the catalog) or --check (check a function), not both"
            )
        from softq_ref.conformance.arrays import require

        require(args.array)
        if args.alpha is not None and args.alpha_range:
            raise _Unusable("give --alpha or --alpha-range, not both")
        alpha_range = _parse_alpha_range(args.alpha_range) if args.alpha_range else None
        fn = _load_function(args.check)
        report = check_golden(
            fn,
            args.kind,
            rtol=args.rtol,
            atol=args.atol,
            rewards=args.rewards,
            array=args.array,
            alpha=args.alpha,
            alpha_range=alpha_range,
            target=args.check,
        )
    except (_Unusable, ValueError) as exc:
        print(f"softq-ref golden: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    print(report.text)
    if not report.passed and not report.failed:
        print(
            f"softq-ref golden: no catalog case can be expressed for kind {args.kind} "
            "(reasons above)",
            file=sys.stderr,
        )
        return 2
    return 0 if report.ok else 1
