"""The golden catalog writer: ``softq-ref golden OUTDIR [--digits D]`` (docs/conventions.md section 4).

Layout (version 1): ``OUTDIR/index.json`` lists each case with its sizes, gamma,
alphas, its MDP file (docs/conventions.md section 3) and one certified solution file per alpha
(docs/conventions.md section 4's object for ``--digits D``). Output is deterministic: sorted
keys, fixed formatting, so regenerating gives identical bytes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from softq_ref.exact import ratio_text
from softq_ref.io.catalog import CASES, CatalogCase
from softq_ref.mdp import FiniteMDP

__all__ = ["write_catalog", "load_catalog", "add_arguments", "run", "FORMAT", "VERSION"]

FORMAT = "softq-ref golden catalog"
VERSION = 1


def _mdp_dict(mdp: FiniteMDP) -> dict[str, Any]:
    # Every number an exact rational string ("p/q"), not jsonio.dumps_mdp's doubles as
    # JSON numbers: the catalog files stay byte-identical to those shipped.
    ex = mdp.exact
    out: dict[str, Any] = {
        "transitions": [[[ratio_text(x) for x in row] for row in sa] for sa in ex.transitions],
        "rewards": [[ratio_text(x) for x in row] for row in ex.rewards],
        "gamma": ratio_text(ex.gamma),
        "termination": bool(mdp.termination),
    }
    if ex.prior is not None:
        out["prior"] = [[ratio_text(x) for x in row] for row in ex.prior]
    if mdp.name is not None:
        out["name"] = mdp.name
    if mdp.description is not None:
        out["description"] = mdp.description
    return out


def _dump(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(obj, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def _alpha_key(alpha: str) -> str:
    return alpha.replace("/", "_")


def write_catalog(
    outdir: str | Path, *, digits: int = 30, cases: Sequence[CatalogCase] | None = None
) -> Path:
    """Write the catalog into ``outdir`` and return the path of its ``index.json``.

    Parameters
    ----------
    outdir : str or Path
        The directory to write (created if needed).
    digits : int, optional
        The certified digits of every solution.
    cases : sequence of CatalogCase, optional
        The cases (default :data:`softq_ref.io.catalog.CASES`).

    Returns
    -------
    Path
        The path of the written ``index.json``.

    Raises
    ------
    OSError
        If the directory or a file cannot be written.

    Notes
    -----
    Each case's MDP is written as ``name.mdp.json`` (every number an exact
    rational string) beside one certified solution per alpha,
    ``name.alpha-A.json`` (the object of ``softq-ref solve --digits D``), and
    ``index.json`` lists them (docs/golden.md). The bytes are a function of
    ``digits`` and the cases alone: sorted keys, fixed indentation, correctly
    rounded decimals.

    Examples
    --------
    >>> import tempfile
    >>> from softq_ref.io.catalog import CASES
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     index = write_catalog(tmp, digits=10, cases=CASES[:1])
    ...     sorted(p.name for p in index.parent.iterdir())
    ['bandit.alpha-0.json', 'bandit.alpha-1.json', 'bandit.alpha-1_10.json', 'bandit.mdp.json', 'index.json']
    """
    from softq_ref.certified import solve_certified

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for case in CASES if cases is None else cases:
        mdp = case.build()
        mdp_file = f"{case.name}.mdp.json"
        _dump(_mdp_dict(mdp), out / mdp_file)
        solutions = {}
        for alpha in case.alphas:
            sol = solve_certified(mdp, Fraction(alpha), digits=digits)
            fname = f"{case.name}.alpha-{_alpha_key(alpha)}.json"
            _dump(sol.to_spec_dict(fractions=False), out / fname)
            solutions[alpha] = fname
        entries.append(
            {
                "name": case.name,
                "description": case.description,
                "states": mdp.num_states,
                "actions": mdp.num_actions,
                "gamma": ratio_text(mdp.exact.gamma),
                "alphas": list(case.alphas),
                "mdp": mdp_file,
                "solutions": solutions,
            }
        )
    index = out / "index.json"
    _dump({"format": FORMAT, "version": VERSION, "digits": digits, "cases": entries}, index)
    return index


def load_catalog() -> dict[str, Any]:
    """Read the shipped catalog index (``softq_ref/data/golden/index.json``).

    Returns
    -------
    dict
        The shipped ``index.json`` (format, version, digits and the cases).

    Examples
    --------
    >>> index = load_catalog()
    >>> index["format"], index["digits"]
    ('softq-ref golden catalog', 30)
    """
    from importlib.resources import files

    text = files("softq_ref").joinpath("data/golden/index.json").read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``softq-ref golden``."""
    parser.add_argument(
        "outdir", nargs="?", default=None, help="directory to write the catalog into"
    )
    parser.add_argument("--digits", type=int, default=30, help="significant digits (default 30)")


def run(args: argparse.Namespace) -> int:
    """Run ``softq-ref golden``; exit code 0 on success, 2 on bad input.

    Raises
    ------
    InvalidArgumentError
        Without OUTDIR (the command line reports it in one line, status 2).
    """
    import sys

    if args.outdir is None:
        from softq_ref.errors import InvalidArgumentError

        raise InvalidArgumentError(
            "the following arguments are required: outdir (the directory to write the "
            "catalog into), or --check MODULE:FUNCTION --kind KIND to check a function "
            "against the catalog"
        )
    if args.digits < 1:
        print(f"golden: --digits must be >= 1, got {args.digits}", file=sys.stderr)
        return 2
    write_catalog(args.outdir, digits=args.digits)
    return 0
