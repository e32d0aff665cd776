"""The MDPs of the golden catalog: hand-made classics and seeded random MDPs.

Each case is built from exact inputs (strings such as ``"1/3"`` and ``"9/10"``)
wherever that is natural, so the catalog is exactly defined (docs/conventions.md section 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref.mdp import FiniteMDP

__all__ = ["CatalogCase", "CASES", "cases"]


def _arr(x: Any) -> NDArray[np.object_]:
    """Nested exact inputs (ints, strings such as "1/3") as an object array."""
    return np.array(x, dtype=object)


@dataclass(frozen=True)
class CatalogCase:
    """One catalog entry: a name, a one-line description, a builder and its alphas."""

    name: str
    description: str
    build: Callable[[], FiniteMDP]
    alphas: tuple[str, ...] = ("0", "1/10", "1")


def _bandit() -> FiniteMDP:
    return FiniteMDP(_arr([[[1], [1], [1]]]), _arr([["1", "1/2", "0"]]), "9/10")


def _chain() -> FiniteMDP:
    p = [[[1, 0], [0, 1]], [[1, 0], [0, 1]]]
    return FiniteMDP(_arr(p), _arr([["0", "0"], ["0", "1"]]), "9/10")


def _ties() -> FiniteMDP:
    p = [[["1/2", "1/2"], ["1/2", "1/2"]], [[1, 0], [0, 1]]]
    return FiniteMDP(_arr(p), _arr([["1", "1"], ["2", "2"]]), "1/2")


def _prior_zeros() -> FiniteMDP:
    p = [[[1, 0], [0, 1], [1, 0]], [[0, 1], [1, 0], [0, 1]]]
    r = [["0", "1", "5"], ["1", "0", "-1"]]
    mu = [["1/2", "1/2", 0], ["1/3", "1/3", "1/3"]]
    return FiniteMDP(_arr(p), _arr(r), "9/10", prior=_arr(mu))


def _termination() -> FiniteMDP:
    p = [[["1/2", "1/2"], [0, 0]], [[0, 0], [0, "9/10"]]]
    return FiniteMDP(_arr(p), _arr([["0", "1"], ["10", "1"]]), "99/100", termination=True)


def _grid(
    rows: int,
    cols: int,
    walls: set[tuple[int, int]],
    goal: tuple[int, int],
    cliff: set[tuple[int, int]],
    start: tuple[int, int],
    step: str,
) -> FiniteMDP:
    cells = [(r, c) for r in range(rows) for c in range(cols) if (r, c) not in walls]
    index = {cell: i for i, cell in enumerate(cells)}
    n = len(cells)
    moves = [(-1, 0), (0, 1), (1, 0), (0, -1)]
    p = np.zeros((n, 4, n), dtype=object)
    p[...] = Fraction(0)
    r = np.full((n, 4), Fraction(step), dtype=object)
    for cell, s in index.items():
        for a, (dr, dc) in enumerate(moves):
            if cell == goal:
                r[s, a] = Fraction(0)
                continue  # the goal ends the episode
            nxt = (cell[0] + dr, cell[1] + dc)
            if nxt not in index:
                nxt = cell
            if nxt in cliff:
                r[s, a] = Fraction(-100)
                nxt = start
            if nxt == goal:
                r[s, a] = Fraction(1)
            p[s, a, index[nxt]] = Fraction(1)
    return FiniteMDP(p, r, "19/20", termination=True)


def _gridworld() -> FiniteMDP:
    return _grid(4, 4, {(1, 1), (2, 2)}, (3, 3), set(), (0, 0), "-1/100")


def _cliff() -> FiniteMDP:
    cliff = {(3, c) for c in range(1, 5)}
    return _grid(4, 6, set(), (3, 5), cliff, (3, 0), "-1")


def _extreme() -> FiniteMDP:
    p = [[["1/2", "1/2"], [0, 1]], [[1, 0], [0, 1]]]
    return FiniteMDP(_arr(p), _arr([["1e300", "-1e300"], ["1e-300", "0"]]), "1/2")


def _random(states: int, actions: int, seed: int) -> Callable[[], FiniteMDP]:
    def build() -> FiniteMDP:
        rng = np.random.default_rng(seed)
        p = rng.random((states, actions, states))
        p /= p.sum(axis=2, keepdims=True)
        r = rng.standard_normal((states, actions))
        return FiniteMDP(p, r, "9/10")

    return build


#: Every catalog case, in catalog order (what :func:`cases` returns).
CASES: tuple[CatalogCase, ...] = (
    CatalogCase("bandit", "one state, three actions with rewards 1, 1/2, 0 (a bandit)", _bandit),
    CatalogCase("chain", "two-state chain: stay or move, reward 1 for staying in state 1", _chain),
    CatalogCase("ties", "exact ties: both actions equal in every state", _ties),
    CatalogCase("prior-zeros", "prior with a zero: an action unavailable in state 0", _prior_zeros),
    CatalogCase(
        "termination", "rows summing below 1: the missing mass ends the episode", _termination
    ),
    CatalogCase(
        "gridworld", "4x4 gridworld with two walls, goal absorbing and terminal", _gridworld
    ),
    CatalogCase("cliff", "4x6 cliff walk: stepping into the cliff costs 100 and restarts", _cliff),
    CatalogCase("extreme-rewards", "rewards of 1e300, -1e300 and 1e-300", _extreme, ("0", "1")),
    CatalogCase("random-3", "seeded random MDP, S=3, A=2 (numpy default_rng(3))", _random(3, 2, 3)),
    CatalogCase(
        "random-10", "seeded random MDP, S=10, A=3 (numpy default_rng(10))", _random(10, 3, 10)
    ),
    CatalogCase(
        "random-30", "seeded random MDP, S=30, A=4 (numpy default_rng(30))", _random(30, 4, 30)
    ),
)


def cases() -> tuple[CatalogCase, ...]:
    """All catalog cases, in catalog order."""
    return CASES
