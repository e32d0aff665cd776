"""The golden catalog writer: ``softq-ref golden OUTDIR [--digits D]`` (SPEC section 4).

Layout (version 1): ``OUTDIR/index.json`` lists each case with its sizes, gamma,
alphas, its MDP file (SPEC section 3) and one certified solution file per alpha
(SPEC section 4's object for ``--digits D``). Output is deterministic: sorted
keys, fixed formatting, so regenerating gives identical bytes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from softq_ref.io.catalog import CASES, Case
from softq_ref.mdp import FiniteMDP

__all__ = ["write_catalog", "load_catalog", "add_arguments", "run", "FORMAT", "VERSION"]

FORMAT = "softq-ref golden catalog"
VERSION = 1


def _frac_str(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _mdp_dict(mdp: FiniteMDP) -> dict[str, Any]:
    # Private SPEC section 3 writer (jsonio.dumps_mdp has not landed on main):
    # exact rationals as strings, so the file denotes exactly the catalog MDP.
    ex = mdp.exact
    out: dict[str, Any] = {
        "transitions": [[[_frac_str(x) for x in row] for row in sa] for sa in ex.transitions],
        "rewards": [[_frac_str(x) for x in row] for row in ex.rewards],
        "gamma": _frac_str(ex.gamma),
        "termination": bool(mdp.termination),
    }
    if ex.prior is not None:
        out["prior"] = [[_frac_str(x) for x in row] for row in ex.prior]
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
    outdir: str | Path, *, digits: int = 30, cases: Sequence[Case] | None = None
) -> Path:
    """Write the catalog into ``outdir`` and return the path of its ``index.json``."""
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
                "gamma": _frac_str(mdp.exact.gamma),
                "alphas": list(case.alphas),
                "mdp": mdp_file,
                "solutions": solutions,
            }
        )
    index = out / "index.json"
    _dump({"format": FORMAT, "version": VERSION, "digits": digits, "cases": entries}, index)
    return index


def load_catalog() -> dict[str, Any]:
    """Read the shipped catalog index (``softq_ref/data/golden/index.json``)."""
    from importlib.resources import files

    text = files("softq_ref").joinpath("data/golden/index.json").read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``softq-ref golden``."""
    parser.add_argument("outdir", help="directory to write the catalog into")
    parser.add_argument("--digits", type=int, default=30, help="significant digits (default 30)")


def run(args: argparse.Namespace) -> int:
    """Run ``softq-ref golden``; exit code 0 on success, 2 on bad input."""
    import sys

    if args.digits < 1:
        print(f"golden: --digits must be >= 1, got {args.digits}", file=sys.stderr)
        return 2
    write_catalog(args.outdir, digits=args.digits)
    return 0
