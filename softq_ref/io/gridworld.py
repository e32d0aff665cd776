"""A slippery gridworld with sparse transitions: the standard test bed for large MDPs.

``gridworld(rows, cols, slip=0.1, walls=(), goals=None, goal_reward=1.0,
step_reward=0.0, gamma=0.99)`` builds the MDP directly in CSR form (shape
``(S*A, S)``, row ``s*A + a``): at most three successors per ``(s, a)``, so
``nnz <= 3 S A`` and construction is O(S) in time and memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from softq_ref._validate import check_argument, positive_int
from softq_ref.mdp import FiniteMDP

__all__ = ["gridworld", "ACTIONS"]

#: The actions, in order: their names and (row, column) moves.
ACTIONS: tuple[tuple[str, int, int], ...] = (
    ("up", -1, 0),
    ("right", 0, 1),
    ("down", 1, 0),
    ("left", 0, -1),
)


def _cells(value: Iterable[Any], name: str, rows: int, cols: int) -> list[tuple[int, int]]:
    out = []
    for i, cell in enumerate(value):
        ok = (
            isinstance(cell, tuple | list)
            and len(cell) == 2
            and all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in cell)
        )
        check_argument(ok, f"{name}[{i}] is {cell!r}; expected a cell (row, column)")
        r, c = int(cell[0]), int(cell[1])
        check_argument(
            0 <= r < rows and 0 <= c < cols,
            f"{name}[{i}] is {cell!r}; outside the {rows} x {cols} grid",
        )
        out.append((r, c))
    return out


def gridworld(
    rows: int,
    cols: int,
    *,
    slip: float = 0.1,
    walls: Iterable[tuple[int, int]] = (),
    goals: Iterable[tuple[int, int]] | None = None,
    goal_reward: float | Mapping[tuple[int, int], float] = 1.0,
    step_reward: float = 0.0,
    gamma: Any = 0.99,
) -> FiniteMDP:
    """A ``rows x cols`` slippery gridworld as a sparse :class:`~softq_ref.FiniteMDP`.

    Parameters
    ----------
    rows, cols : int
        The grid's size; the states are the cells that are not walls, numbered
        row by row (cell ``(r, c)`` is state ``r * cols + c`` without walls).
    slip : float, optional
        With probability ``1 - slip`` a move goes where it is meant to; with
        ``slip / 2`` each it goes to one of the two sides. A move into a wall or
        off the grid stays put. ``0 <= slip <= 1``.
    walls : iterable of (row, column), optional
        Blocked cells.
    goals : iterable of (row, column), optional
        Goal cells (default: the bottom-right corner). A goal ends the episode:
        every action there earns its ``goal_reward`` and leads nowhere
        (``termination=True``).
    goal_reward : float or mapping {(row, column): float}, optional
        The reward for an action in a goal: one for all goals, or one per goal.
    step_reward : float, optional
        The reward of every action outside the goals.
    gamma : float, str or Fraction, optional
        The discount.

    Returns
    -------
    FiniteMDP
        Sparse (``is_sparse``), ``A = 4`` actions in the order of :data:`ACTIONS`.

    Raises
    ------
    InvalidArgumentError
        For a bad size, ``slip`` or cell, naming the argument and the value.

    Examples
    --------
    >>> mdp = gridworld(2, 3, slip=0.0, walls=[(0, 1)])
    >>> mdp.num_states, mdp.num_actions, mdp.is_sparse
    (5, 4, True)
    """
    rows = positive_int(rows, "rows")
    cols = positive_int(cols, "cols")
    check_argument(
        isinstance(slip, int | float) and math.isfinite(slip) and 0 <= slip <= 1,
        f"slip is {slip!r}; it must be a probability in [0, 1]",
    )
    wall = np.zeros((rows, cols), dtype=bool)
    for r, c in _cells(walls, "walls", rows, cols):
        wall[r, c] = True
    goal_cells = _cells([(rows - 1, cols - 1)] if goals is None else goals, "goals", rows, cols)
    for i, (r, c) in enumerate(goal_cells):
        check_argument(not wall[r, c], f"goals[{i}] is {(r, c)!r}; that cell is a wall")
    check_argument(not wall.all(), "walls cover the whole grid; no state is left")
    index = np.full((rows, cols), -1, dtype=np.int64)
    index[~wall] = np.arange(int((~wall).sum()))
    S, A = int((~wall).sum()), len(ACTIONS)
    rr, cc = np.nonzero(~wall)  # state s is cell (rr[s], cc[s])
    is_goal = np.zeros(S, dtype=bool)
    R = np.full((S, A), float(step_reward))
    for r, c in goal_cells:
        s = index[r, c]
        is_goal[s] = True
        if isinstance(goal_reward, Mapping):
            check_argument((r, c) in goal_reward, f"goal_reward has no entry for goal {(r, c)!r}")
            R[s] = float(goal_reward[(r, c)])
        else:
            R[s] = float(goal_reward)
    trip_rows, trip_cols, trip_p = [], [], []
    live = np.flatnonzero(~is_goal)
    for a, (_, dr, dc) in enumerate(ACTIONS):
        # intended move, then the two sides (perpendicular moves)
        for (mr, mc), p in (((dr, dc), 1.0 - slip), ((dc, dr), slip / 2), ((-dc, -dr), slip / 2)):
            if p == 0.0:
                continue
            r2, c2 = rr[live] + mr, cc[live] + mc
            inside = (r2 >= 0) & (r2 < rows) & (c2 >= 0) & (c2 < cols)
            r2, c2 = np.where(inside, r2, rr[live]), np.where(inside, c2, cc[live])
            blocked = wall[r2, c2]
            target = np.where(blocked, live, index[r2, c2])
            trip_rows.append(live * A + a)
            trip_cols.append(target)
            trip_p.append(np.full(live.size, p))
    import scipy.sparse as sp

    P = sp.csr_array(
        (np.concatenate(trip_p), (np.concatenate(trip_rows), np.concatenate(trip_cols))),
        shape=(S * A, S),
    )
    P.sum_duplicates()  # a blocked side move and "stay" land on the same cell
    return FiniteMDP(
        P,
        R,
        gamma,
        termination=True,
        name=f"gridworld {rows}x{cols}",
        description=f"slip {slip}, {int(wall.sum())} walls, goals {goal_cells}",
    )
