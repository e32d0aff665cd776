"""The figures of :mod:`softq_ref.plot`: matplotlib is imported inside each function."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from softq_ref._validate import check_argument, check_mdp, float_alpha
from softq_ref.float64.solvers import SolveResult, solve
from softq_ref.mdp import FiniteMDP

__all__ = [
    "policy_map",
    "residual_history",
    "value_against_alpha",
    "FROZEN_LAKE_ACTIONS",
    "CLIFF_WALKING_ACTIONS",
]

#: FrozenLake's actions as ``(d_column, d_row)`` moves: left, down, right, up.
FROZEN_LAKE_ACTIONS: tuple[tuple[float, float], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
#: CliffWalking's actions as ``(d_column, d_row)`` moves: up, right, down, left.
CLIFF_WALKING_ACTIONS: tuple[tuple[float, float], ...] = ((0, -1), (1, 0), (0, 1), (-1, 0))


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """``(figure, axes)``: ``ax`` and its figure, or a new figure (no pyplot) with one axes."""
    if ax is not None:
        return ax.figure, ax
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("softq_ref.plot needs matplotlib: pip install 'softq-ref[plot]'") from exc
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def policy_map(
    values: ArrayLike,
    policy: ArrayLike,
    shape: tuple[int, int],
    *,
    actions: Sequence[tuple[float, float]] = FROZEN_LAKE_ACTIONS,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """``V[s]`` of a gridworld as a heatmap, with an arrow per action of length ``pi(a|s)``.

    Parameters
    ----------
    values : array_like, shape (S,)
        The values to colour, state ``s`` at row ``s // columns``, column
        ``s % columns`` (Gymnasium's toy-text numbering).
    policy : array_like, shape (S, A)
        The soft-greedy policy; each arrow's length is ``0.45 * pi(a|s)`` cells
        (arrows shorter than 0.02 of a cell are left out).
    shape : (int, int)
        ``(rows, columns)`` with ``rows * columns = S``.
    actions : sequence of (float, float), optional
        The move of each action as ``(d_column, d_row)``, rows counted downwards
        (default :data:`FROZEN_LAKE_ACTIONS`; :data:`CLIFF_WALKING_ACTIONS` for
        CliffWalking).
    ax : matplotlib Axes, optional
        Draw there (default: a new figure).
    title : str, optional
        The axes' title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into.

    Raises
    ------
    InvalidArgumentError
        For shapes that do not fit together.
    """
    V = np.asarray(values, dtype=np.float64)
    pi = np.asarray(policy, dtype=np.float64)
    check_argument(
        isinstance(shape, tuple | list)
        and len(shape) == 2
        and all(isinstance(n, int) and n >= 1 for n in shape),
        f"shape must be (rows, columns) of positive integers, got {shape!r}",
    )
    rows, cols = int(shape[0]), int(shape[1])
    check_argument(
        V.shape == (rows * cols,),
        f"values has shape {V.shape}; shape={tuple(shape)} needs ({rows * cols},)",
    )
    check_argument(
        pi.ndim == 2 and pi.shape[0] == rows * cols and pi.shape[1] == len(actions),
        f"policy has shape {pi.shape}; expected ({rows * cols}, {len(actions)}) "
        f"(states, one column per entry of actions)",
    )
    fig, axes = _axes(ax, (1.0 + 0.7 * cols, 0.6 + 0.7 * rows))
    image = axes.imshow(V.reshape(rows, cols), cmap="viridis")
    fig.colorbar(image, ax=axes, label="V(s)")
    for s in range(rows * cols):
        r, c = divmod(s, cols)
        for a, (dx, dy) in enumerate(actions):
            length = 0.45 * float(pi[s, a])
            if length >= 0.45 * 0.02:
                axes.arrow(
                    c, r, dx * length, dy * length, width=0.03, head_width=0.12,
                    length_includes_head=True, color="white", alpha=0.9,
                )  # fmt: skip
    axes.set_xticks(range(cols))
    axes.set_yticks(range(rows))
    axes.set_xlabel("column")
    axes.set_ylabel("row")
    axes.set_title(title if title is not None else "V(s) and the soft-greedy policy pi(a|s)")
    return fig


def residual_history(result: SolveResult, *, ax: Any = None) -> Any:
    """The residual of a solve per iteration on a log scale, with its proven ``error_bound``.

    Parameters
    ----------
    result : SolveResult
        From :func:`softq_ref.solve`, :func:`softq_ref.soft_q_iteration` or
        :func:`softq_ref.soft_policy_iteration`; its ``residuals`` are drawn (a
        residual of exactly 0 cannot be drawn on a log scale and is left out).
    ax : matplotlib Axes, optional
        Draw there (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into.
    """
    check_argument(
        isinstance(result, SolveResult),
        f"result must be a SolveResult, got a {type(result).__name__}",
    )
    fig, axes = _axes(ax, (6.0, 4.0))
    res = np.array(result.residuals, dtype=np.float64)
    steps = np.arange(len(res))
    positive = res > 0
    axes.semilogy(steps[positive], res[positive], "o-", label="residual of each step")
    if result.error_bound > 0:
        axes.axhline(
            result.error_bound, color="C3", linestyle="--",
            label=f"error_bound {result.error_bound:.2g} (proven)",
        )  # fmt: skip
    axes.set_xlabel("step")
    axes.set_ylabel("residual")
    axes.set_title(f"{result.method}: {'converged' if result.success else 'not converged'}")
    axes.legend(fontsize="small")
    return fig


def value_against_alpha(
    mdp: FiniteMDP, alphas: ArrayLike, *, state: int = 0, ax: Any = None
) -> Any:
    """``V*_alpha(s)`` against ``alpha``, between the max-limit bounds of the theory.

    With the counting measure (no prior), ``V*_0 <= V*_alpha <= V*_0 + alpha
    log(A) / (1 - gamma)`` (docs/conventions.md section 1); the band between
    the two is shaded. With a prior no band is drawn.

    Parameters
    ----------
    mdp : FiniteMDP
        An MDP with the infinite horizon.
    alphas : array_like of float
        The temperatures, ``>= 0``; ``alpha = 0`` is solved too.
    state : int, optional
        The state ``s`` drawn.
    ax : matplotlib Axes, optional
        Draw there (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into.
    """
    check_mdp(mdp, "value_against_alpha")
    check_argument(
        mdp.horizon is None, "value_against_alpha is for the infinite horizon; this MDP has one"
    )
    check_argument(
        isinstance(state, int) and 0 <= state < mdp.num_states,
        f"state must be an integer in 0..{mdp.num_states - 1}, got {state!r}",
    )
    grid = sorted({float_alpha(a)[0] for a in np.asarray(alphas, dtype=object).ravel()} | {0.0})
    check_argument(len(grid) >= 2, "alphas must hold at least one alpha > 0")
    values = np.array([solve(mdp, a).V[state] for a in grid])
    fig, axes = _axes(ax, (6.0, 4.0))
    x = np.array(grid)
    axes.plot(x, values, "o-", label=f"V*_alpha(s={state})")
    if mdp.prior is None:
        upper = values[0] + x * math.log(mdp.num_actions) / (1.0 - mdp.gamma)
        axes.fill_between(
            x, values[0], upper, color="C1", alpha=0.2,
            label="V*_0 <= V*_alpha <= V*_0 + alpha log(A) / (1 - gamma)",
        )  # fmt: skip
    axes.set_xlabel("alpha")
    axes.set_ylabel(f"V*(s={state})")
    axes.set_title("The soft optimum against the temperature")
    axes.legend(fontsize="small")
    return fig
