"""``softq-ref demo``: a worked example, solved and explained in a few tables.

The example is a three-state river. On the near bank, drifting earns a small
reward; swimming against the current may reach the far bank, where swimming
earns 1. The demo prints the certified soft optimum ``V*``, ``pi*`` at one
temperature, compares the float64 solver with it, and shows the soft optimum
approaching the hard one as ``alpha`` falls: with the counting measure
``V*_0 <= V*_alpha <= V*_0 + alpha*log(A)/(1 - gamma)`` (docs/conventions.md section 1).
"""

from __future__ import annotations

import json
import math
import textwrap
from fractions import Fraction
from typing import Any

import numpy as np

from softq_ref.mdp import FiniteMDP

__all__ = ["EXAMPLE_JSON", "example_mdp", "run_demo"]

STATE_NAMES = ("near bank", "mid-river", "far bank")
ACTION_NAMES = ("drift", "swim")

_DESCRIPTION = (
    "Drift (action 0) goes with the current toward the near bank and earns 1/10 there; "
    "swim (action 1) fights the current and earns 1 on the far bank."
)

#: The demo's MDP in the JSON MDP format (exact strings throughout).
EXAMPLE_JSON = json.dumps(
    {
        "name": "river",
        "description": _DESCRIPTION,
        "transitions": [
            [["1", "0", "0"], ["0.4", "0.6", "0"]],
            [["1", "0", "0"], ["0.1", "0.3", "0.6"]],
            [["0", "1", "0"], ["0", "0.4", "0.6"]],
        ],
        "rewards": [["0.1", "0"], ["0", "0"], ["0", "1"]],
        "gamma": "0.9",
        "alpha": "0.1",
    },
    indent=2,
)

#: Temperatures of the approach table, exact.
APPROACH_ALPHAS = ("1", "1/2", "1/5", "1/10", "1/20", "1/100", "1/1000", "0")


def example_mdp() -> FiniteMDP:
    """The demo's three-state river MDP (see :data:`EXAMPLE_JSON`).

    >>> mdp = example_mdp()
    >>> mdp.num_states, mdp.num_actions, mdp.gamma
    (3, 2, 0.9)
    """
    from softq_ref.io.jsonio import loads_mdp

    return loads_mdp(EXAMPLE_JSON, source="<demo example>")


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        lines.append(
            ("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        )
    return "\n".join(lines)


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, 79, initial_indent=indent, subsequent_indent=indent)


def _upper(x: float) -> str:
    """``x >= 0`` with two significant digits, rounded up (so it stays an upper bound)."""
    if x <= 0:
        return "0"
    exponent = math.floor(math.log10(x)) - 1
    mantissa = math.ceil(x / 10.0**exponent * (1 + 1e-12))
    return f"{mantissa * 10.0**exponent:.1e}"


def _gap_text(gap: float, slack: float, alpha: Fraction) -> str:
    """The computed gap, or an upper bound when it is below its float64 uncertainty."""
    if alpha == 0:
        return "0"
    if gap > slack:
        return f"{gap:.3e}"
    return f"< {_upper(max(gap, 0.0) + slack)}"


def run_demo(
    *,
    alpha: Any = "1/10",
    digits: int = 30,
    write_example: str | None = None,
    plot: str | None = None,
) -> int:
    """Print the demo summary on stdout; return 0.

    ``alpha`` is read exactly (``"1/10"`` is one tenth); ``digits`` is passed
    to the certified solver; ``write_example`` also saves the example MDP;
    ``plot`` also draws the soft-greedy policy, the residual history and
    ``V*`` against ``alpha`` into that image file (the ``plot`` extra).
    """
    from softq_ref._validate import read_alpha
    from softq_ref.certified import solve_certified
    from softq_ref.float64.solvers import solve
    from softq_ref.io.jsonio import exact_text, save_mdp

    alpha_q = read_alpha(alpha, "--alpha")
    mdp = example_mdp()
    S, A = mdp.num_states, mdp.num_actions
    states = [f"{s} {STATE_NAMES[s]}" for s in range(S)]
    out: list[str] = [
        f"softq-ref demo: the {mdp.name!r} MDP, S = {S} states, A = {A} actions, "
        f"gamma = {exact_text(mdp.exact.gamma)}",
        *_wrap(str(mdp.description), "  "),
        "",
    ]

    # 1. The certified soft optimum at one temperature.
    spec = solve_certified(mdp, alpha_q, digits=digits).to_spec_dict()
    out += _wrap(
        f"Soft optimum at alpha = {exact_text(alpha_q)} from the certified solver, "
        f"{digits} digits (as 'softq-ref solve FILE --digits {digits}' prints it):"
    )
    out.append(_table(["state", "V*(s)"], [[states[s], str(spec["V"][s])] for s in range(S)]))
    out.append("")
    out.append(
        _table(
            ["state", *(f"pi*({ACTION_NAMES[a]}|s)" for a in range(A))],
            [[states[s], *(str(spec["policy"][s][a]) for a in range(A))] for s in range(S)],
        )
    )
    fast = solve(mdp, alpha_q)
    v_diff = max(abs(float(spec["V"][s]) - float(fast.V[s])) for s in range(S))
    out += _wrap(
        f"Certified: every printed entry (of Q, V and pi) is within {spec['error_bound']} of "
        f"the exact value. The float64 solver's V differs from these by at most {v_diff:.1e}; "
        f"its own error bound is {_upper(float(fast.error_bound))}.",
        "  ",
    )
    out.append("")

    # 2. How V*_alpha approaches V*_0 (float64), beside the bound of docs/conventions.md section 1.
    results = [(Fraction(a), solve(mdp, Fraction(a))) for a in APPROACH_ALPHAS]
    hard = results[-1][1]
    rows = []
    all_within = True
    for a_q, res in results:
        gap = float(np.max(res.V - hard.V))
        bound = float(a_q) * math.log(A) / (1.0 - mdp.gamma)
        slack = float(res.error_bound) + float(hard.error_bound)  # float64 error of the gap
        within = -slack <= gap <= bound + slack
        all_within = all_within and within
        rows.append(
            [
                exact_text(a_q),
                *(f"{float(res.V[s]):.6f}" for s in range(S)),
                _gap_text(gap, slack, a_q),
                f"{bound:.3e}",
                "yes" if within else "NO",
            ]
        )
    out.append("As alpha falls, the soft optimum approaches the hard one (float64, 6 decimals):")
    header = ["alpha", *(f"V*(s={s})" for s in range(S))]
    header += ["max_s V*_a - V*_0", "a log(A)/(1-g)", "within bound"]
    out.append(_table(header, rows))
    if all_within:
        out += _wrap(
            "Every row satisfies 0 <= V*_alpha - V*_0 <= alpha*log(A)/(1 - gamma) "
            "(docs/conventions.md section 1), up to the float64 error bounds.",
            "  ",
        )
    else:
        out.append(
            "  A row breaks the bound of docs/conventions.md section 1: please report this as a bug."
        )
    if write_example is not None:
        save_mdp(mdp, write_example, alpha=alpha_q)
        out.append("")
        out += _wrap(
            f"The example MDP was written to {write_example}; try "
            f"'softq-ref solve {write_example} --digits 20'."
        )
    if plot is not None:
        _draw(mdp, fast, alpha_q, plot)
        out.append("")
        out.append(f"The figure was written to {plot}.")  # unwrapped: a path to copy
    print("\n".join(out))
    return 0


def _draw(mdp: FiniteMDP, result: Any, alpha: Fraction, path: str) -> None:
    """The demo's three panels: pi* over the river, the residuals of the solve, V* against alpha."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("--plot needs matplotlib: pip install 'softq-ref[plot]'") from None
    from softq_ref.plot import policy_map, residual_history, value_against_alpha

    fig = Figure(figsize=(16, 4.2), layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    policy_map(
        result.V, result.policy, (1, mdp.num_states), actions=((-1, 0), (1, 0)), ax=left,
        title=f"V* and pi* at alpha = {alpha} (left: drift, right: swim)",
    )  # fmt: skip
    residual_history(result, ax=middle)
    value_against_alpha(mdp, [float(Fraction(a)) for a in APPROACH_ALPHAS], ax=right)
    fig.savefig(path)
