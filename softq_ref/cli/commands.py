"""The ``softq-ref`` command line (docs/conventions.md section 4).

``main(argv)`` parses the arguments and runs one subcommand; it returns the
exit status (0 success, 2 bad input or bad usage) instead of exiting, so it
can be called from tests. Bad input never shows a traceback: it prints one
line, ``softq-ref: error: FILE: key[index] ...``, on stderr and nothing on
stdout.

Adding a subcommand is one function that declares its arguments, one that
runs it and returns the exit status, and one :class:`Command` entry in
:data:`COMMANDS`. Each run function imports what it needs (``check`` runs
:mod:`softq_ref.conformance`, ``golden`` :mod:`softq_ref.io.golden`), so that
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NoReturn

from softq_ref.errors import InvalidArgumentError, InvalidMDPError, UndecidedRoundingError

if TYPE_CHECKING:
    from softq_ref.io.jsonio import MDPProblem
    from softq_ref.mdp import FiniteMDP

__all__ = ["main", "Command", "COMMANDS"]

PROG = "softq-ref"

_DESCRIPTION = """\
softq-ref computes the ground truth of maximum-entropy (soft) reinforcement
learning on a finite MDP: the soft-optimal Q*, V* and policy pi* at a
temperature alpha, in float64 with an error bound, or to any number of
certified digits.

Conventions (Haarnoja et al. 2017, docs/conventions.md section 1): P[s, a, s'] is the
probability of moving from state s to s' under action a;
  V(s)    = alpha * log sum_a mu[s,a] * exp(Q[s,a] / alpha)
  pi(a|s) = mu[s,a] * exp((Q[s,a] - V(s)) / alpha)
  Q[s,a]  = R[s,a] + gamma * sum_s' P[s,a,s'] * V(s')
where mu is the prior (all ones unless the file gives one); alpha = 0 is the
ordinary (hard) MDP."""

_EPILOG = """\
examples:
  softq-ref demo                                  a worked example, start here
  softq-ref solve mdp.json --alpha 0.1            float64 solution as JSON
  softq-ref solve mdp.json --alpha 1/10 --digits 30
                                                  30 certified digits
  softq-ref solve --help                          the MDP file format

Numbers are exact: a JSON number is the double it denotes, a string such as
"0.1" or "1/3" is that exact rational. The JSON MDP format is described in
'softq-ref solve --help', docs/cli.md and docs/conventions.md section 3."""

_SOLVE_DESCRIPTION = """\
Solve the MDP in FILE (JSON, format below) at temperature alpha and print one
JSON object on stdout:

  {"Q": [[...]], "V": [...], "policy": [[...]], "error_bound": ...,
   "digits": D, "alpha": ..., "gamma": ..., "iterations": n}

Without --digits the float64 solver runs: every number is a JSON number
(repr, which round-trips), "digits" is null, "alpha" and "gamma" are the
doubles the solver used, and error_bound is an upper bound on |Q - Q*| and
|V - V*| over all entries, for the exact MDP of the file (the rounding of the
inputs and of alpha to float64 included; the policy is not covered).
With --digits D the certified solver runs: every number is a decimal string
with at least D significant digits, the exact value correctly rounded (half
to even; D + 2 significant digits, a fixed number of decimals above the scale
10**E of max|Q*|), and error_bound = 5E(E-D-2), half a unit in the last place
at that scale (0 when every decimal is exact), which bounds |printed - exact|
over every printed entry of Q, V and policy. This output depends on the input
alone: the same bytes on every machine. The float64 bound is not: it is what
this run proved, and varies with the BLAS and the thread count."""

_SOLVE_EPILOG = """\
the MDP file (docs/conventions.md section 3) is one JSON object:
  {
    "transitions": [[[0.5, 0.5], [1, 0]], [[0, 1], [0, 1]]],
    "rewards": [["1", "0"], ["0", "1/2"]],
    "gamma": "9/10",
    "prior": [[1, 1], [1, 0]],
    "termination": false,
    "alpha": "0.1"
  }
  transitions  P[s][a][s'], shape [S][A][S], each row summing to 1 (required)
  rewards      R[s][a], or R[s][a][s'] (reduced to sum_s' P R) (required)
  gamma        the discount, 0 <= gamma < 1 (required)
  prior        mu[s][a] >= 0, each row with positive mass; 0 = unavailable
  termination  true lets rows of P sum to less than 1 (the rest ends the
               episode); default false
  horizon      a finite horizon H >= 1 (an extension; then gamma = 1 is allowed)
  alpha        the temperature; --alpha wins over it
  name, description   free text
Other keys are an error. A JSON number is the double it denotes; a string is
exact ("0.1" is one tenth, "1/3" a third, "-2.5e-3").

examples:
  softq-ref solve mdp.json                     alpha from the file
  softq-ref solve mdp.json --alpha 0           the hard (standard) MDP
  softq-ref solve mdp.json --digits 50         50 certified digits
  cat mdp.json | softq-ref solve - --alpha 1/3
exit status: 0 solved, 2 bad input (one line on stderr naming the file, the
key and the first offending index)."""

_DEMO_DESCRIPTION = """\
Solve a built-in three-state example and print a readable summary: the soft
optimal values V* and policy pi* with their certified error bound, and a
table of how the soft optimum approaches the hard one as alpha falls to 0,
beside the bound alpha*log(A)/(1 - gamma) of docs/conventions.md section 1."""

_DEMO_EPILOG = """\
examples:
  softq-ref demo
  softq-ref demo --alpha 1/2 --digits 40
  softq-ref demo --write-example river.json && softq-ref solve river.json
  softq-ref demo --plot river.png"""


class _UsageError(Exception):
    """A command-line usage error, reported as one line with status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block) and status 2."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28, width=80)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


# ------------------------------------------------------------------- solve


def _configure_solve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the MDP, a JSON file ('-' reads stdin)")
    parser.add_argument(
        "--alpha",
        metavar="A",
        help="the temperature alpha >= 0, read exactly ('0.1', '1/3', '0'); "
        'default: the file\'s "alpha"',
    )
    parser.add_argument(
        "--digits",
        metavar="D",
        type=_positive_int,
        help="use the certified solver and print at least D significant digits",
    )
    parser.add_argument(
        "--fractions",
        action="store_true",
        help="with --digits, when the solution is exact (alpha = 0): also print Q, V and "
        'policy as exact fractions "p/q" (keys Q_fractions, V_fractions, policy_fractions)',
    )


def _read_problem(file: str) -> MDPProblem:
    """Load FILE ('-' is stdin); unreadable files become InvalidMDPError."""
    from softq_ref.io.jsonio import load_problem, loads_problem

    if file == "-":
        return loads_problem(sys.stdin.buffer.read(), source="<stdin>")
    try:
        return load_problem(file)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidMDPError(f"{file}: cannot read the file: {reason}") from None


def _float64_spec_dict(mdp: FiniteMDP, alpha: Fraction) -> dict[str, Any]:
    """Solve in float64 and return docs/conventions.md section 4's object with JSON numbers.

    The exact ``alpha`` goes to the solver, whose ``error_bound`` then covers
    the rounding of ``alpha`` and of the MDP's inputs to float64.
    """
    from softq_ref.float64.solvers import solve

    result = solve(mdp, alpha)
    return {
        "Q": result.Q.tolist(),
        "V": result.V.tolist(),
        "policy": result.policy.tolist(),
        "error_bound": float(result.error_bound),
        "digits": None,
        "alpha": float(result.alpha),
        "gamma": float(mdp.gamma),
        "iterations": int(result.iterations),
    }


def _run_solve(args: argparse.Namespace) -> int:
    from softq_ref._validate import read_alpha

    if args.fractions and args.digits is None:
        raise _UsageError("--fractions needs --digits (the float64 output has no fractions)")
    problem = _read_problem(args.file)
    if args.alpha is not None:
        alpha = read_alpha(args.alpha, "--alpha")
    elif problem.alpha is not None:
        alpha = problem.alpha
    else:
        raise InvalidMDPError(
            f'{args.file}: no temperature: give --alpha A or an "alpha" key in the file'
        )
    try:
        if args.digits is None:
            out = _float64_spec_dict(problem.mdp, alpha)
        else:
            from softq_ref.certified import solve_certified

            solution = solve_certified(problem.mdp, alpha, digits=args.digits)
            out = solution.to_spec_dict(fractions=args.fractions)
    except InvalidArgumentError as exc:  # e.g. a combination a solver does not support
        raise type(exc)(f"{args.file}: {exc}") from None
    print(json.dumps(out, allow_nan=False))
    return 0


# -------------------------------------------------------------------- demo


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--alpha", metavar="A", default="1/10", help="the temperature (default 1/10)"
    )
    parser.add_argument(
        "--digits",
        metavar="D",
        type=_positive_int,
        default=30,
        help="certified digits for V* and pi* (default 30)",
    )
    parser.add_argument(
        "--write-example",
        metavar="PATH",
        help="also write the example MDP as JSON to PATH, for 'softq-ref solve PATH'",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw pi*, the residuals and V* against alpha into FILE (.png, .pdf, .svg; "
        "needs the plot extra)",
    )


def _run_demo(args: argparse.Namespace) -> int:
    from softq_ref.cli.demo import run_demo

    try:
        return run_demo(
            alpha=args.alpha, digits=args.digits, write_example=args.write_example, plot=args.plot
        )
    except ImportError as exc:  # only --plot needs an extra
        raise _UsageError(str(exc)) from None
    except OSError as exc:  # --write-example or --plot writes
        reason = exc.strerror or type(exc).__name__
        path = exc.filename or args.write_example or args.plot
        raise InvalidMDPError(f"{path}: cannot write the file: {reason}") from None
    except ValueError as exc:  # matplotlib: an image format it does not know
        if args.plot is None or isinstance(exc, InvalidArgumentError):
            raise
        raise _UsageError(f"--plot {args.plot}: {exc}") from None


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line summary, help texts, argument set-up and runner."""

    summary: str
    description: str
    epilog: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: The subcommands, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {
    "solve": Command(
        "solve an MDP file: float64, or certified with --digits",
        _SOLVE_DESCRIPTION,
        _SOLVE_EPILOG,
        _configure_solve,
        _run_solve,
    ),
    "demo": Command(
        "solve a built-in example and print a readable summary",
        _DEMO_DESCRIPTION,
        _DEMO_EPILOG,
        _configure_demo,
        _run_demo,
    ),
}


def _configure_check(parser: argparse.ArgumentParser) -> None:
    from softq_ref import conformance

    conformance.add_arguments(parser)


def _run_check(args: argparse.Namespace) -> int:
    from softq_ref import conformance

    return int(conformance.run(args))


def _configure_golden(parser: argparse.ArgumentParser) -> None:
    from softq_ref.conformance import golden as golden_check
    from softq_ref.io import golden

    golden.add_arguments(parser)
    golden_check.add_arguments(parser)


def _run_golden(args: argparse.Namespace) -> int:
    if getattr(args, "check", None) is not None:
        from softq_ref.conformance import golden as golden_check

        return int(golden_check.run(args))
    from softq_ref.io import golden

    return int(golden.run(args))


COMMANDS["check"] = Command(
    "test another implementation against the reference",
    "Drive Hypothesis-drawn MDPs and Q-tables through MODULE:FUNCTION and the reference "
    "(exit 0: conforms; 1: counterexample found, shown and saved; 2: could not be run).",
    "example:\n  softq-ref check mysoftq:soft_value --kind value",
    _configure_check,
    _run_check,
)
COMMANDS["golden"] = Command(
    "write the golden catalog, or check a function against it",
    "Write each catalog MDP (docs/conventions.md section 3) beside its certified solutions at "
    "several alpha; or, with --check, run a function of a kind on every catalog case that kind "
    "can express (exit 0: all pass; 1: a case fails, reported with its diagnosis; 2: could "
    "not be run). Cases the kind cannot express are listed with the reason.",
    "examples:\n  softq-ref golden catalog/ --digits 30\n"
    "  softq-ref golden --check mysoftq:soft_value_iteration --kind value-solver",
    _configure_golden,
    _run_golden,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``softq-ref`` with every registered subcommand."""
    from softq_ref import __version__

    parser = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=cmd.summary,
            description=cmd.description,
            epilog=cmd.epilog,
            formatter_class=_formatter,
        )
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    return parser


def _error(message: str) -> None:
    # One line, whatever the message contains (docs/conventions.md section 4).
    line = " ".join(message.split())
    print(f"{PROG}: error: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``softq-ref`` with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    0: success; 2: bad input or usage, reported as one line on stderr.

    >>> main(["solve", "no-such-file.json", "--alpha", "0.1"])  # stderr: ... cannot read ...
    2
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
        run = getattr(args, "_run", None)
        if run is None:
            parser.print_help()
            return 0
        return int(run(args))
    except (_UsageError, InvalidArgumentError) as exc:
        _error(str(exc))
        return 2
    except UndecidedRoundingError as exc:  # a correct digit could not be decided
        _error(str(exc))
        return 1
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else 0
    except BrokenPipeError:  # stdout closed early, e.g. 'softq-ref demo | head -3'
        # Python's documented recipe: point stdout at devnull so the flush at exit is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
