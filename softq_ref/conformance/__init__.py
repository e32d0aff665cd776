"""The conformance kit: check another implementation against softq-ref.

Seven kinds of function can be checked (docs/conventions.md section 4; NumPy
float64 arrays in, or PyTorch / JAX float64 arrays with ``array=``, ``P`` of
shape ``(S, A, S)``, counting measure, no termination):

==============  ==============================  ====================================
kind            call                            returns
==============  ==============================  ====================================
operator        ``f(P, R, gamma, alpha, Q)``    ``T Q``, shape ``(S, A)``
solver          ``f(P, R, gamma, alpha)``       ``Q*``, shape ``(S, A)``
value           ``f(Q, alpha)``                 ``V``, shape ``(S,)``
policy          ``f(Q, alpha)``                 ``pi``, shape ``(S, A)``
value-solver    ``f(P, R, gamma, alpha)``       ``V*``, shape ``(S,)``
policy-solver   ``f(P, R, gamma, alpha)``       ``pi*``, shape ``(S, A)``
horizon-solver  ``f(P, R, gamma, alpha, H)``    ``Q``, shape ``(H, S, A)``; ``Q[t]``
                                                has ``H - t`` steps to go
==============  ==============================  ====================================

With ``rewards="state"`` the function gets ``R[s]`` of shape ``(S,)``
instead of ``R[s, a]``.

The kit first runs fixed edge cases (each chosen to expose a known mistake),
then the user's own MDP files (``mdp_files``), then lets Hypothesis search
random MDPs and Q-tables; the first failure is
shrunk, saved as JSON, and reported with the expected and returned values at
the worst entry, a command that replays it, and the known mistake it matches.
Exceptions, NaN, wrong shapes and dtypes in the function under test are
reported as failures; they never crash the kit.

From the command line::

    softq-ref check mymodule:soft_value --kind value

From a test suite (raises ``AssertionError`` with the report)::

    from softq_ref.conformance import check_value
    check_value(my_soft_value, examples=200, seed=0)
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import math
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from softq_ref._validate import check_argument
from softq_ref.conformance.arrays import ARRAYS, require
from softq_ref.conformance.cases import KINDS, SIGNATURES, Case, SearchSpace
from softq_ref.conformance.compare import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    Expected,
    Failure,
    Outcome,
    Tolerance,
    call,
    compare,
    reference,
    worst_entry_lines,
)
from softq_ref.conformance.mistakes import diagnose

__all__ = [
    "KINDS",
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
    "ConformanceReport",
    "check",
    "check_operator",
    "check_solver",
    "check_value",
    "check_policy",
    "check_value_solver",
    "check_policy_solver",
    "check_horizon_solver",
    "add_arguments",
    "run",
    "main",
]

DEFAULT_SAVE_DIR = "softq-failures"
#: the largest discount tried by default (1 for horizon-solver, which allows gamma = 1)
DEFAULT_GAMMA_MAX = 0.95
#: the largest sizes tried by default (most draws are small: softq_ref.strategies.sizes)
DEFAULT_MAX_STATES, DEFAULT_MAX_ACTIONS = 12, 6
#: the largest horizon of a random horizon-solver case by default
DEFAULT_MAX_HORIZON = 12
#: the values of ``rewards``: R[s, a] (default) or R[s]
REWARDS = ("state-action", "state")


@dataclass(frozen=True)
class ConformanceReport:
    """The outcome of a check: ``ok``, the report ``text``, and what was found.

    ``counterexample`` is the saved file (None if it conforms or saving was
    off); ``diagnosis`` the keys of the matched known mistakes; ``examples``
    how many cases were run; ``worst_ratio`` the largest ``|got - expected| /
    tolerance`` seen over conforming cases.
    """

    ok: bool
    kind: str
    target: str
    text: str
    examples: int
    worst_ratio: float
    counterexample: Path | None = None
    failure: Failure | None = None
    diagnosis: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.text


class _Found(Exception):
    """Raised inside the Hypothesis test to mark a failing case."""


def _fmt_array(a: np.ndarray) -> str:
    return np.array2string(a, precision=17, floatmode="unique", separator=", ", max_line_width=96)


def _target_name(fn: Callable[..., Any]) -> str | None:
    """``module:qualname`` if ``fn`` can be imported back by that name."""
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not mod or not qual or "<" in qual or mod == "__main__":
        return None
    return f"{mod}:{qual}"


def _reproduce_line(
    kind: str,
    target: str | None,
    path: Path,
    tolerance: Tolerance,
    options: tuple[tuple[str, str, str], ...] = (),
) -> tuple[str, str]:
    """The replay command and its Python line; ``options`` are ``(flag, value, keyword)``
    triples of the options that shape the probes (temperatures, discounts, rewards, arrays)."""
    opts, kw = "", ""
    for name in ("rtol", "atol"):
        value = getattr(tolerance, name)
        if value != {"rtol": DEFAULT_RTOL, "atol": DEFAULT_ATOL}[name]:
            opts += f" --{name} {value!r}"
            kw += f", {name}={value!r}"
    for flag, value, keyword in options:
        opts += f" {flag} {value}"
        kw += f", {keyword}"
    p = shlex.quote(str(path))
    cli = (
        f"softq-ref check {shlex.quote(target)} --kind {kind}{opts} --replay {p}"
        if target
        else "(the function is not importable by name; use the Python line)"
    )
    py = f'softq_ref.conformance.check(fn, "{kind}"{kw}, replay={str(path)!r})'
    return cli, py


@dataclass
class _Runner:
    """Runs ``fn`` on a case and compares; keeps the largest ratio of a passing case."""

    fn: Callable[..., Any]
    tolerance: Tolerance
    array: str = "numpy"
    worst: float = 0.0

    def __call__(self, case: Case) -> tuple[Outcome, Expected, Failure | None]:
        exp = reference(case, self.tolerance)
        out = call(self.fn, case, self.array)
        fail, ratio = compare(case, exp, out)
        if fail is None:
            self.worst = max(self.worst, ratio)
        return out, exp, fail


@dataclass(frozen=True)
class _Counterexample:
    """A failing case, what ``fn`` returned, what was expected, and how it was found."""

    case: Case
    outcome: Outcome
    expected: Expected
    failure: Failure
    how: str


def _failure_text(
    target: str,
    kind: str,
    found: _Counterexample,
    diagnosis: str,
    saved: Path | None,
    reproduce: tuple[str, str] | None,
    tolerance: Tolerance,
    *,
    save_hint: bool = False,
) -> str:
    case, outcome, exp, failure = found.case, found.outcome, found.expected, found.failure
    how_found = found.how
    lines = [
        f"FAIL: {target} does not conform (kind {kind}: {SIGNATURES[kind]})",
        f"counterexample ({how_found}): {case.describe()}",
    ]
    if saved is not None:
        lines.append(f"  saved to {saved}")
    elif save_hint:
        lines.append(
            "  not saved (pass save_dir=DIR to check() to save it and get a replay command)"
        )
    lines.append(f"problem: {failure.summary}")
    lines += worst_entry_lines(failure, exp, tolerance)
    if exp.value.size <= 16:
        lines.append(f"  expected: {_fmt_array(exp.value)}".replace("\n", "\n            "))
        if outcome.array is not None and outcome.array.size <= 16:
            lines.append(f"  got:      {_fmt_array(outcome.array)}".replace("\n", "\n            "))
    lines.append(f"diagnosis: {diagnosis}")
    if reproduce is not None:
        lines += ["reproduce:", f"  {reproduce[0]}", f"  or in Python: {reproduce[1]}"]
    return "\n".join(lines)


def _unexpressible_text(refused: Sequence[tuple[str, str]]) -> list[str]:
    return [f"  not expressible, left out: {path}: {why}" for path, why in refused]


def check(
    fn: Callable[..., Any],
    kind: str,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    examples: int = 100,
    seed: int | None = None,
    alpha_range: tuple[float, float] = (1e-3, 1e3),
    alpha: float | None = None,
    gamma_min: float = 0.0,
    gamma_max: float | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    max_actions: int = DEFAULT_MAX_ACTIONS,
    max_horizon: int = DEFAULT_MAX_HORIZON,
    rewards: str = "state-action",
    mdp_files: Sequence[str | os.PathLike[str]] = (),
    array: str = "numpy",
    save_dir: str | os.PathLike[str] | None = None,
    replay: str | os.PathLike[str] | None = None,
    target: str | None = None,
) -> ConformanceReport:
    """Check ``fn`` of the given ``kind`` against the reference; never raises for ``fn``'s faults.

    Parameters
    ----------
    fn : callable
        The implementation under test, called as the table of
        docs/conventions.md section 4 says for ``kind``.
    kind : str
        One of :data:`KINDS` (``"operator"``, ``"solver"``, ``"value"``, ...).
    rtol, atol : float, optional
        Tolerances (default :data:`DEFAULT_RTOL`, :data:`DEFAULT_ATOL`; see
        :mod:`softq_ref.conformance.compare` for the scale each kind uses).
    examples : int, optional
        Hypothesis' ``max_examples`` after the edge cases.
    seed : int, optional
        Makes the search reproducible.
    alpha_range : (float, float), optional
        The temperatures to try; ``lo = 0`` adds ``alpha = 0``; ``lo = hi``
        fixes the temperature (every edge case then runs at it).
    alpha : float, optional
        One temperature only, the same as ``alpha_range=(alpha, alpha)``:
        ``alpha=0`` checks a hard-only solver on every edge case at ``alpha = 0``.
    gamma_min, gamma_max : float, optional
        The discounts to try (default ``[0, 0.95]``; ``[0, 1]`` for
        ``horizon-solver``, the only kind that allows ``gamma = 1``). Edge
        cases outside the range run at its nearest end.
    max_states, max_actions : int, optional
        The largest sizes of random cases (default 12 and 6; most draws are
        small).
    max_horizon : int, optional
        The largest horizon ``H`` of random cases of ``horizon-solver`` (default 12).
    rewards : {"state-action", "state"}, optional
        ``"state"`` passes rewards ``R[s]`` of shape ``(S,)``; the reference
        solves the MDP with ``R[s, a] = R[s]``.
    mdp_files : sequence of paths, optional
        The user's own MDP files (docs/conventions.md section 3), run after the
        edge cases; a file the signature cannot carry (a prior, termination, a
        horizon for another kind) is listed in the report with the reason.
    array : {"numpy", "torch", "jax"}, optional
        The arrays ``fn`` gets: NumPy float64 arrays, or float64 PyTorch
        tensors or JAX arrays (imported when asked for).
    save_dir : str, os.PathLike or None, optional
        Where a counterexample is written, with a command that replays it.
        Opt-in: by default (None) nothing is written; the command line
        (``softq-ref check``) saves to ``./softq-failures/`` unless told otherwise.
    replay : str or os.PathLike, optional
        Run only the case saved in that file.
    target : str, optional
        How to name ``fn`` in the report (default its module and name).

    Returns
    -------
    ConformanceReport
        ``ok``, the report ``text``, the ``diagnosis`` of a known mistake, the
        saved ``counterexample`` and the ``failure``.

    Raises
    ------
    InvalidArgumentError
        For bad options (or ``array`` naming a library that is not installed).
    InvalidMDPError
        For a bad replay or MDP file. Faults of ``fn`` never raise: they are reported.

    Notes
    -----
    The edge cases of :func:`softq_ref.conformance.cases.edge_cases` run
    first, then the cases of ``mdp_files``, then Hypothesis' random search;
    the smallest failing case is saved as an MDP file with a one-line command
    that replays it, and :func:`softq_ref.conformance.mistakes.diagnose` names
    the known mistake it matches, if any (docs/conformance.md).

    Examples
    --------
    >>> from softq_ref import soft_value
    >>> report = check(soft_value, "value", examples=10, seed=0)
    >>> report.ok, report.text.splitlines()[0]
    (True, 'OK: softq_ref.logsumexp:soft_value conforms (kind value: f(Q, alpha) -> V of shape (S,))')
    >>> report = check(lambda Q, alpha: Q.max(axis=-1), "value")  # writes no file
    >>> report.counterexample is None
    True
    >>> report.ok, report.diagnosis
    (False, ('hard-max',))
    """
    from softq_ref.conformance.cases import Q_KINDS, user_cases

    check_argument(kind in KINDS, f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    check_argument(callable(fn), f"the function under test is not callable: {fn!r}")
    check_argument(
        isinstance(examples, int) and examples >= 1,
        f"examples must be an integer >= 1, got {examples!r}",
    )
    check_argument(
        rewards in REWARDS, f"rewards must be one of {', '.join(REWARDS)}, got {rewards!r}"
    )
    state_rewards = rewards == "state"
    check_argument(
        not (state_rewards and kind in Q_KINDS),
        f"rewards='state' needs a kind with an MDP; kind {kind} takes a Q-table only",
    )
    check_argument(
        not (mdp_files and kind in Q_KINDS),
        f"MDP files need a kind with an MDP; kind {kind} takes a Q-table only",
    )
    require(array)  # a clear error now if the library is missing
    tolerance = Tolerance(
        DEFAULT_RTOL if rtol is None else float(rtol), DEFAULT_ATOL if atol is None else float(atol)
    )
    if alpha is not None:
        check_argument(
            isinstance(alpha, int | float) and math.isfinite(alpha) and alpha >= 0,
            f"alpha must be a finite number >= 0, got {alpha!r}",
        )
        alpha_range = (float(alpha), float(alpha))
    if gamma_max is None:
        gamma_max = 1.0 if kind == "horizon-solver" else DEFAULT_GAMMA_MAX
    check_argument(
        kind == "horizon-solver" or gamma_max < 1,
        f"gamma-max must lie in [0, 1) for kind {kind} (only horizon-solver allows gamma = 1), "
        f"got {gamma_max!r}",
    )
    space = SearchSpace(
        alpha_range=(float(alpha_range[0]), float(alpha_range[1])),
        gamma_max=float(gamma_max),
        gamma_min=float(gamma_min),
        max_states=max_states,
        max_actions=max_actions,
        max_horizon=max_horizon,
        state_rewards=state_rewards,
    )
    importable = target or _target_name(fn)
    shown: str = importable or str(getattr(fn, "__qualname__", repr(fn)))
    options = _cli_options(space, kind, array)

    edges = space.edges(kind)
    files, refused = user_cases(list(mdp_files), kind, space) if mdp_files else ([], [])
    runner = _Runner(fn, tolerance, array)
    runs = [(c, *runner(c)) for c in [*edges, *files]]
    probes = [(c, o, e) for c, o, e, _ in runs]

    found: _Counterexample | None = None
    n_search = 0
    if replay is not None:
        from softq_ref.conformance.cases import load_case

        case = load_case(replay, kind, state_rewards=state_rewards)
        out, exp, fail = runner(case)
        if fail is not None:
            found = _Counterexample(case, out, exp, fail, f"replay of {replay}")
    else:
        found = next(
            (_Counterexample(c, o, e, f, c.label) for c, o, e, f in runs if f is not None), None
        )
        if found is None:
            found, n_search = _search(kind, space, examples, seed, runner)
    n = len(edges) + len(files) + n_search + (1 if replay is not None else 0)
    worst = runner.worst
    if found is None:
        yours = f", {len(files)} cases of your MDP files" if mdp_files else ""
        what = (
            f"only the replayed case {replay}: it passes now"
            if replay
            else (
                f"{len(edges)} edge cases{yours} and {n_search} Hypothesis examples "
                f"({space.describe(kind)})"
            )
        )
        text = "\n".join(
            [
                f"OK: {shown} conforms (kind {kind}: {SIGNATURES[kind]})",
                f"  checked {what}",
                *_unexpressible_text(refused),
                f"  largest |got - expected| was {worst:.3g} of the tolerance "
                f"(rtol {tolerance.rtol:.3g}, atol {tolerance.atol:.3g})",
            ]
        )
        return ConformanceReport(True, kind, shown, text, n, worst)

    case = found.case
    diag = _diagnose(
        (case, found.outcome, found.expected), [p for p in probes if p[0] is not case], tolerance
    )
    saved: Path | None = None
    if replay is not None:
        saved = Path(replay)
    elif save_dir is not None:
        from softq_ref.conformance.cases import save_case

        note = f"counterexample for softq-ref check {shown} --kind {kind}"
        try:
            saved = save_case(case, save_dir, note)
        except OSError as exc:
            found = replace(found, how=f"{found.how}; could not be saved: {exc}")
    reproduce = _reproduce_line(kind, importable, saved, tolerance, options) if saved else None
    text = _failure_text(
        shown,
        kind,
        found,
        diag.text,
        None if replay else saved,
        reproduce,
        tolerance,
        save_hint=replay is None and save_dir is None,
    )
    if refused:
        text += "\n" + "\n".join(_unexpressible_text(refused))
    return ConformanceReport(False, kind, shown, text, n, worst, saved, found.failure, diag.matches)


Probe = tuple[Case, Outcome, Expected]


def _diagnose(failing: Probe, probes: list[Probe], tolerance: Tolerance) -> Any:
    """:func:`~softq_ref.conformance.mistakes.diagnose`, for every kind: the solver kinds'
    results are judged through their projection of a wrong ``Q*`` (value, policy, time axis)."""
    return diagnose(failing, probes, tolerance)


def _cli_options(space: SearchSpace, kind: str, array: str) -> tuple[tuple[str, str, str], ...]:
    """The options a replay needs to run the same probes: ``(flag, value, keyword)``."""
    out: list[tuple[str, str, str]] = []
    lo, hi = space.alpha_range
    if space.fixed_alpha is not None:
        out.append(("--alpha", repr(lo), f"alpha={lo!r}"))
    elif (lo, hi) != (1e-3, 1e3):
        out.append(("--alpha-range", f"{lo!r} {hi!r}", f"alpha_range=({lo!r}, {hi!r})"))
    if space.gamma_min > 0:
        out.append(("--gamma-min", repr(space.gamma_min), f"gamma_min={space.gamma_min!r}"))
    default_max = 1.0 if kind == "horizon-solver" else DEFAULT_GAMMA_MAX
    if space.gamma_max != default_max:
        out.append(("--gamma-max", repr(space.gamma_max), f"gamma_max={space.gamma_max!r}"))
    if space.state_rewards:
        out.append(("--rewards", "state", 'rewards="state"'))
    if array != "numpy":
        out.append(("--array", array, f'array="{array}"'))
    return tuple(out)


def _search(
    kind: str,
    space: SearchSpace,
    examples: int,
    seed: int | None,
    run_case: Callable[[Case], tuple[Outcome, Expected, Failure | None]],
) -> tuple[_Counterexample | None, int]:
    """Let Hypothesis look for a failing case; return the shrunk one (or None) and the count."""
    import hypothesis
    from hypothesis import HealthCheck, Verbosity, given, settings

    from softq_ref.conformance.cases import case_strategy

    failures: list[tuple[Case, Outcome, Expected, Failure]] = []
    count = 0

    def attempt(case: Case) -> None:
        nonlocal count
        count += 1
        out, exp, fail = run_case(case)
        if fail is not None:
            failures.append((case, out, exp, fail))
            raise _Found(fail.what)

    test = given(case_strategy(kind, space))(attempt)
    test = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)
    sink = io.StringIO()
    label = "found by Hypothesis and shrunk" + (f" (seed {seed})" if seed is not None else "")
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            test()
    except _Found:
        pass
    except Exception as exc:  # Flaky and friends: the last recorded failure still stands
        if not failures:
            raise
        if "Flaky" in type(exc).__name__:
            label = label.replace(" and shrunk", "")
            label += "; the function is not deterministic: this case passed on a second run"
    if not failures:
        return None, count
    # Hypothesis replays the shrunk example last; its failure is the last one recorded
    case, out, exp, fail = failures[-1]
    shrunk = replace(case, label=label)
    return _Counterexample(shrunk, out, exp, fail, label), count


def _raise_if_failed(report: ConformanceReport) -> ConformanceReport:
    if not report.ok:
        raise AssertionError(report.text)
    return report


_CHECKER_DOC = """Check ``{call}``; raise AssertionError with the report if it fails.

Parameters
----------
fn : callable
    The implementation under test (docs/conventions.md section 4).
**options
    The keyword options of :func:`check`.

Returns
-------
ConformanceReport
    The report, when ``fn`` conforms.

Raises
------
AssertionError
    If ``fn`` does not conform; the message is the whole report.

Examples
--------
For a pytest suite::

    def test_my_{kind}_conforms():
        check_{kind}(my_{kind}, seed=0)
"""


def _checker(kind: str, call: str) -> Callable[..., ConformanceReport]:
    """The pytest entry point ``check_<kind>``: :func:`check`, raising if ``fn`` fails."""

    def checker(fn: Callable[..., Any], **options: Any) -> ConformanceReport:
        return _raise_if_failed(check(fn, kind, **options))

    name = kind.replace("-", "_")
    checker.__name__ = checker.__qualname__ = f"check_{name}"
    checker.__doc__ = _CHECKER_DOC.format(call=call, kind=name)
    return checker


check_operator = _checker("operator", "fn(P, R, gamma, alpha, Q) -> T Q")
check_solver = _checker("solver", "fn(P, R, gamma, alpha) -> Q*")
check_value = _checker("value", "fn(Q, alpha) -> V")
check_policy = _checker("policy", "fn(Q, alpha) -> pi")
check_value_solver = _checker("value-solver", "fn(P, R, gamma, alpha) -> V*")
check_policy_solver = _checker("policy-solver", "fn(P, R, gamma, alpha) -> pi*")
check_horizon_solver = _checker("horizon-solver", "fn(P, R, gamma, alpha, H) -> Q[t], t < H")


# --- command line ------------------------------------------------------------


class _Unusable(Exception):
    """The check cannot run (exit status 2)."""


def _parse_alpha_range(values: Sequence[str] | None) -> tuple[float, float]:
    if not values:
        return (1e-3, 1e3)
    parts = [p for v in values for p in v.replace(",", " ").split()]
    if len(parts) != 2:
        raise _Unusable(f"--alpha-range needs LO HI (or LO,HI), got {' '.join(values)!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise _Unusable(f"--alpha-range needs two numbers, got {' '.join(values)!r}") from None
    return lo, hi


def _load_function(target: str) -> Callable[..., Any]:
    """Import ``MODULE:FUNCTION`` (MODULE may be a dotted name or a path to a .py file)."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise _Unusable(f"expected MODULE:FUNCTION, got {target!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules in the current directory
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise _Unusable(f"no such file: {module_name}")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise _Unusable(f"cannot load {module_name}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except _Unusable:
        raise
    except BaseException as exc:  # an import may raise anything, SystemExit included
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _Unusable(
            f"cannot import {module_name!r}: {type(exc).__name__}: {exc}".splitlines()[0]
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise _Unusable(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise _Unusable(f"{target} is a {type(obj).__name__}, not a function")
    return obj


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``softq-ref check`` arguments to ``parser``."""
    parser.add_argument(
        "target",
        metavar="MODULE:FUNCTION",
        help="the function to check (MODULE may be a path to a .py file)",
    )
    parser.add_argument(
        "--kind",
        required=True,
        choices=KINDS,
        help="what the function computes; see docs/conventions.md section 4",
    )
    parser.add_argument(
        "--rtol",
        type=float,
        default=None,
        help=f"tolerance relative to the case's scale (default {DEFAULT_RTOL:.3g})",
    )
    parser.add_argument(
        "--atol", type=float, default=None, help=f"absolute tolerance (default {DEFAULT_ATOL:g})"
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=100,
        metavar="N",
        help="Hypothesis examples after the edge cases (default 100)",
    )
    parser.add_argument("--seed", type=int, default=None, help="make the search reproducible")
    parser.add_argument(
        "--alpha-range",
        nargs="+",
        metavar="LO HI",
        default=None,
        help="temperatures to try (default 1e-3 1e3; LO = 0 adds alpha = 0)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=None,
        metavar="A",
        help="one temperature only, every edge case at it: '--alpha 0' checks a hard-only "
        "solver (the same as --alpha-range A A)",
    )
    parser.add_argument(
        "--gamma-min",
        type=float,
        default=0.0,
        help="smallest discount to try (default 0; e.g. 0.1 for a solver that rejects gamma = 0)",
    )
    parser.add_argument(
        "--gamma-max",
        type=float,
        default=None,
        help=f"largest discount to try (default {DEFAULT_GAMMA_MAX:g}; 1 for horizon-solver)",
    )
    parser.add_argument(
        "--max-states",
        type=int,
        default=DEFAULT_MAX_STATES,
        metavar="N",
        help=f"largest number of states of a random case (default {DEFAULT_MAX_STATES})",
    )
    parser.add_argument(
        "--max-actions",
        type=int,
        default=DEFAULT_MAX_ACTIONS,
        metavar="N",
        help=f"largest number of actions of a random case (default {DEFAULT_MAX_ACTIONS})",
    )
    parser.add_argument(
        "--max-horizon",
        type=int,
        default=DEFAULT_MAX_HORIZON,
        metavar="H",
        help=f"largest horizon of a random horizon-solver case (default {DEFAULT_MAX_HORIZON})",
    )
    parser.add_argument(
        "--rewards",
        choices=REWARDS,
        default="state-action",
        help="'state' passes rewards R[s] of shape (S,) instead of R[s, a] (default state-action)",
    )
    parser.add_argument(
        "--mdp",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help="your own MDP files (JSON, docs/conventions.md section 3) to check on too",
    )
    parser.add_argument(
        "--array",
        choices=ARRAYS,
        default="numpy",
        help="pass float64 arrays of this library (torch, jax: needs it installed; default numpy)",
    )
    parser.add_argument(
        "--save-dir",
        default=DEFAULT_SAVE_DIR,
        help=f"where counterexamples go (default ./{DEFAULT_SAVE_DIR}/)",
    )
    parser.add_argument(
        "--replay", metavar="FILE", default=None, help="run only the case saved in FILE"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``softq-ref check``: 0 conforms, 1 counterexample (report on stdout), 2 cannot run."""
    from softq_ref.errors import InvalidMDPError

    try:
        try:
            import hypothesis  # noqa: F401
        except ImportError:
            raise _Unusable(
                "softq-ref check needs Hypothesis: pip install 'softq-ref[test]'"
            ) from None
        alpha_range = _parse_alpha_range(args.alpha_range)
        if args.alpha is not None and args.alpha_range:
            raise _Unusable("give --alpha or --alpha-range, not both")
        if args.replay is not None and not Path(args.replay).is_file():
            raise _Unusable(f"--replay: no such file: {args.replay}")
        for path in args.mdp:
            if not Path(path).is_file():
                raise _Unusable(f"--mdp: no such file: {path}")
        require(args.array)  # before the import of the function, which may need it too
        fn = _load_function(args.target)
        report = check(
            fn,
            args.kind,
            rtol=args.rtol,
            atol=args.atol,
            examples=args.examples,
            seed=args.seed,
            alpha_range=alpha_range,
            alpha=args.alpha,
            gamma_min=args.gamma_min,
            gamma_max=args.gamma_max,
            max_states=args.max_states,
            max_actions=args.max_actions,
            max_horizon=args.max_horizon,
            rewards=args.rewards,
            mdp_files=args.mdp,
            array=args.array,
            save_dir=args.save_dir,
            replay=args.replay,
            target=args.target,
        )
    except (_Unusable, ValueError, InvalidMDPError) as exc:
        # InvalidMDPError is a ValueError: a bad replay file; ValueError: bad options
        print(f"softq-ref check: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    print(report.text)
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``softq-ref check`` as a standalone program (``python -m softq_ref.conformance``)."""
    parser = argparse.ArgumentParser(
        prog="softq-ref check",
        description="Check an implementation of the soft Bellman operator, solver, soft value "
        "or soft-greedy policy against softq-ref (docs/conventions.md section 4).",
    )
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else 2
    return run(args)
