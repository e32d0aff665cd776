"""The inputs of a conformance check: cases, the fixed edge cases, the search, the files.

A :class:`Case` is one input for the function under test: an MDP (kinds
``operator`` and ``solver``), a Q-table (kinds ``operator``, ``value`` and
``policy``) and a temperature. The kit first runs the hand-picked
:func:`edge_cases` (each chosen to expose one known mistake), then lets
Hypothesis search with :func:`case_strategy`. A failing case is written to
disk by :func:`save_case` and read back by ``--replay`` (:func:`load_case`).

File formats (all numbers are JSON numbers that round-trip, ``repr``):

* ``solver``: ``<kind>-<hash>.json`` is an MDP file in the format of docs/conventions.md
  section 3, with the ``alpha`` key; ``softq-ref solve`` reads it as it is.
* ``operator``: the same MDP file, plus ``<kind>-<hash>.Q.json`` holding
  ``{"Q": [[...]], "alpha": ...}``, the Q-table the operator was applied to.
* ``value`` and ``policy``: ``<kind>-<hash>.json`` holding
  ``{"Q": [[...]], "alpha": ...}`` (``Q[s][a]``).

The check signatures carry no prior and no termination, so every MDP here has
the counting measure (``prior`` None, the entropy-regularised objective) and
rows of ``P`` that sum to one.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref.errors import InvalidArgumentError, InvalidMDPError
from softq_ref.exact import to_fraction
from softq_ref.mdp import FiniteMDP

__all__ = [
    "KINDS",
    "SIGNATURES",
    "Case",
    "SearchSpace",
    "edge_cases",
    "case_strategy",
    "save_case",
    "load_case",
]

FloatArray = NDArray[np.float64]

KINDS = ("operator", "solver", "value", "policy")

#: what the kit calls for each kind (docs/conventions.md section 4)
SIGNATURES = {
    "operator": "f(P, R, gamma, alpha, Q) -> T Q of shape (S, A)",
    "solver": "f(P, R, gamma, alpha) -> Q* of shape (S, A)",
    "value": "f(Q, alpha) -> V of shape (S,)",
    "policy": "f(Q, alpha) -> pi of shape (S, A)",
}


@dataclass(frozen=True, eq=False)
class Case:
    """One input: ``alpha`` and, depending on the kind, an MDP and/or a Q-table."""

    kind: str
    alpha: float
    mdp: FiniteMDP | None = None
    Q: FloatArray | None = None
    label: str = "counterexample"

    @property
    def shape(self) -> tuple[int, int]:
        """``(S, A)``."""
        if self.mdp is not None:
            return (self.mdp.num_states, self.mdp.num_actions)
        assert self.Q is not None
        return (int(self.Q.shape[0]), int(self.Q.shape[1]))

    def arguments(self) -> tuple[Any, ...]:
        """Fresh writable float64 copies of the arguments, in the order of the signature."""
        a = float(self.alpha)
        if self.kind in ("value", "policy"):
            assert self.Q is not None
            return (np.array(self.Q, dtype=np.float64), a)
        assert self.mdp is not None
        P = np.array(self.mdp.transitions, dtype=np.float64)
        R = np.array(self.mdp.rewards, dtype=np.float64)
        g = float(self.mdp.gamma)
        if self.kind == "solver":
            return (P, R, g, a)
        assert self.Q is not None
        return (P, R, g, a, np.array(self.Q, dtype=np.float64))

    def describe(self) -> str:
        """A one-line summary: sizes, gamma, alpha."""
        S, A = self.shape
        parts = [f"S = {S}", f"A = {A}"]
        if self.mdp is not None:
            parts.append(f"gamma = {self.mdp.gamma!r}")
        parts.append(f"alpha = {self.alpha!r}")
        return ", ".join(parts)


@dataclass(frozen=True)
class SearchSpace:
    """Where the kit looks: the temperature range, the largest discount, the sizes.

    ``alpha_range = (lo, hi)``; ``lo = 0`` includes ``alpha = 0`` (the hard
    max of docs/conventions.md section 1, opt-in because many soft implementations divide
    by ``alpha``), positive temperatures then start at ``min(1e-3, hi)``.
    ``q_scale`` bounds the entries of random Q-tables, ``reward_scale`` the
    rewards of random MDPs (so ``|Q*| <= reward_scale / (1 - gamma)`` plus
    the entropy term).
    """

    alpha_range: tuple[float, float] = (1e-3, 1e3)
    gamma_max: float = 0.95
    max_states: int = 4
    max_actions: int = 4
    q_scale: float = 100.0
    reward_scale: float = 10.0

    def __post_init__(self) -> None:
        lo, hi = self.alpha_range
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo <= hi and hi > 0.0):
            raise InvalidArgumentError(
                f"alpha range must satisfy 0 <= LO <= HI, HI > 0, both finite; got {lo!r}, {hi!r}"
            )
        if not 0.0 <= self.gamma_max < 1.0:
            raise InvalidArgumentError(f"gamma-max must lie in [0, 1), got {self.gamma_max!r}")

    def restrict(self, case: Case) -> Case | None:
        """An edge case brought inside the search space, or None if it has no place there.

        A temperature outside the range drops the case (its temperature is its
        point); a discount above ``gamma_max`` is lowered to ``gamma_max``, so
        that the case's structure (asymmetric rows, small alpha) is still tried,
        except for the case whose point is the large discount itself.
        """
        lo, hi = self.alpha_range
        if not lo <= case.alpha <= hi:
            return None
        mdp = case.mdp
        if mdp is None or mdp.gamma <= self.gamma_max:
            return case
        if mdp.gamma >= 0.99:
            return None
        lowered = FiniteMDP(mdp.transitions, mdp.rewards, self.gamma_max)
        label = f"{case.label} (gamma lowered to {self.gamma_max:g})"
        return Case(case.kind, case.alpha, lowered, case.Q, label)

    def describe(self) -> str:
        lo, hi = self.alpha_range
        text = f"alpha in [{lo:g}, {hi:g}]"
        text += " (alpha = 0 included)" if lo == 0 else ""
        return (
            text + f", gamma <= {self.gamma_max:g}, S <= {self.max_states}, A <= {self.max_actions}"
        )


def _rows(rows: list[list[list[float]]]) -> FloatArray:
    """Transition rows as typed: decimal rows sum to 1 within a few ulps, which FiniteMDP
    accepts (:func:`softq_ref.mdp.row_sum_tolerance`); they stay readable in the saved file."""
    return np.array(rows, dtype=np.float64)


# An asymmetric 3-state, 3-action MDP: P[s, a] != P[a, s] for s != a, so that a
# reading of P as (A, S, S) gives other numbers; decimals that are not binary
# fractions, so that float32 arithmetic shows; alpha = 0.7, not 1, so that a
# missing temperature shows.
_P3 = _rows(
    [
        [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.0, 0.3, 0.7]],
        [[0.5, 0.5, 0.0], [0.2, 0.2, 0.6], [0.9, 0.0, 0.1]],
        [[0.3, 0.3, 0.4], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]],
    ]
)
_R3 = [[1.0, -0.5, 0.3], [0.0, 2.0, -1.2], [0.7, 0.1, -0.3]]
_Q3 = np.array([[0.1, -0.7, 1.3], [2.2, 0.35, -1.1], [0.0, 0.9, 0.45]])
# |Q| ~ 1e3 with alpha = 1e-3: exp(Q / alpha) overflows (row 0) and underflows to
# 0 (row 1) unless the largest entry is shifted out first.
_P2 = _rows([[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]])
_Q_BIG = np.array([[1000.0, 999.5], [-1000.0, -1000.25]])
_R_SMALL_ALPHA = [[10.0, 9.5], [-3.0, 2.0]]  # Q* ~ 1e2, Q* / alpha ~ 1e5 with alpha = 1e-3
_Q_TIES = np.array([[1.0, 1.0, 0.5], [0.2, -0.3, 0.2], [0.0, 0.0, 0.0]])


def edge_cases(kind: str) -> list[Case]:
    """The fixed cases tried before the random search, most diagnostic first."""
    m3 = FiniteMDP(_P3, _R3, 0.9)
    m3_far = FiniteMDP(_P3, _R3, 0.99)
    m2 = FiniteMDP(_P2, _R_SMALL_ALPHA, 0.9)
    m_one_action = FiniteMDP(_rows([[[0.4, 0.6]], [[1.0, 0.0]]]), [[0.3], [-2.1]], 0.8)
    m_one_state = FiniteMDP([[[1.0], [1.0], [1.0]]], [[0.1, 0.2, 0.4]], 0.6)
    q_one_action = np.array([[0.3], [-2.1]])
    q_one_state = np.array([[0.1, 0.2, 0.4]])
    q_mixed = np.array([[1.5, -2.5], [0.1, 0.2]])
    if kind in ("value", "policy"):
        return [
            Case(kind, 0.7, Q=_Q3, label="edge case: asymmetric 3x3 Q-table, alpha = 0.7"),
            Case(kind, 1e-3, Q=_Q_BIG, label="edge case: alpha = 1e-3 with |Q| ~ 1e3"),
            Case(kind, 0.7, Q=q_one_action, label="edge case: one action (A = 1)"),
            Case(kind, 2.5, Q=q_one_state, label="edge case: one state (S = 1)"),
            Case(kind, 1e3, Q=q_mixed, label="edge case: large alpha = 1e3"),
            Case(kind, 0.0, Q=_Q_TIES, label="edge case: alpha = 0 (hard max), ties"),
        ]
    if kind == "operator":
        return [
            Case(kind, 0.7, m3, _Q3, "edge case: asymmetric 3-state, 3-action MDP, alpha = 0.7"),
            Case(
                kind,
                1e-3,
                FiniteMDP(_P2, [[1.0, 0.0], [0.0, 0.5]], 0.5),
                _Q_BIG,
                "edge case: alpha = 1e-3 with |Q| ~ 1e3",
            ),
            Case(kind, 0.7, m3_far, _Q3, "edge case: gamma = 0.99"),
            Case(kind, 0.7, m_one_action, q_one_action, "edge case: one action (A = 1)"),
            Case(kind, 2.5, m_one_state, q_one_state, "edge case: one state (S = 1)"),
            Case(kind, 1e3, m2, q_mixed, "edge case: large alpha = 1e3"),
            Case(kind, 0.0, m3, _Q_TIES, "edge case: alpha = 0 (hard max), ties"),
        ]
    if kind == "solver":
        return [
            Case(kind, 0.7, m3, label="edge case: asymmetric 3-state, 3-action MDP, alpha = 0.7"),
            Case(kind, 1e-3, m2, label="edge case: alpha = 1e-3 with |Q*| ~ 1e2"),
            Case(kind, 0.7, m3_far, label="edge case: gamma = 0.99"),
            Case(kind, 0.7, m_one_action, label="edge case: one action (A = 1)"),
            Case(kind, 2.5, m_one_state, label="edge case: one state (S = 1)"),
            Case(kind, 1e3, m2, label="edge case: large alpha = 1e3"),
            Case(kind, 0.0, m3, label="edge case: alpha = 0 (hard max)"),
        ]
    raise InvalidArgumentError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def case_strategy(kind: str, space: SearchSpace) -> Any:
    """A Hypothesis strategy of :class:`Case` for ``kind`` over ``space``.

    Built on :mod:`softq_ref.strategies` (``mdps``, ``q_tables``,
    ``temperatures``), so examples shrink to one state, one action, small
    integers and ``alpha = 1``.
    """
    from hypothesis import strategies as st

    from softq_ref.strategies import mdps, q_tables, temperatures

    lo, hi = space.alpha_range
    alphas = temperatures(lo if lo > 0 else min(1e-3, hi), hi, zero=lo == 0)

    @st.composite
    def cases(draw: Any) -> Case:
        if kind in ("value", "policy"):
            S = draw(st.integers(1, space.max_states))
            A = draw(st.integers(1, space.max_actions))
            return Case(kind, draw(alphas), Q=draw(q_tables(S, A, scale=space.q_scale)))
        mdp = draw(
            mdps(
                states=(1, space.max_states),
                actions=(1, space.max_actions),
                gamma=(0.0, space.gamma_max),
                reward_scale=space.reward_scale,
            )
        )
        alpha = draw(alphas)
        if kind == "solver":
            return Case(kind, alpha, mdp)
        Q = draw(q_tables(mdp.num_states, mdp.num_actions, scale=space.q_scale))
        return Case(kind, alpha, mdp, Q)

    return cases()


# --- files -------------------------------------------------------------------


def _jsonio() -> Any:
    """The JSON reader/writer of ``softq-ref solve`` (:mod:`softq_ref.io.jsonio`) if installed."""
    try:
        return importlib.import_module("softq_ref.io.jsonio")
    except ImportError:
        return None


def _mdp_json(mdp: FiniteMDP, alpha: float, description: str) -> str:
    """docs/conventions.md section 3 text for a float MDP (counting measure, no termination)."""
    jsonio = _jsonio()
    if jsonio is not None and hasattr(jsonio, "dumps_mdp"):
        return str(jsonio.dumps_mdp(mdp, alpha=alpha)).rstrip("\n") + "\n"
    obj = {
        "transitions": mdp.transitions.tolist(),
        "rewards": mdp.rewards.tolist(),
        "gamma": float(mdp.gamma),
        "alpha": float(alpha),
        "description": description,
    }
    return json.dumps(obj) + "\n"  # json writes floats with repr: they round-trip


def _q_json(Q: FloatArray, alpha: float) -> str:
    return json.dumps({"Q": np.asarray(Q, dtype=np.float64).tolist(), "alpha": float(alpha)}) + "\n"


def save_case(case: Case, directory: str | os.PathLike[str], description: str = "") -> Path:
    """Write ``case`` under ``directory`` (created if needed); return the file to replay."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if case.kind in ("value", "policy"):
        assert case.Q is not None
        texts = {"": _q_json(case.Q, case.alpha)}
    else:
        assert case.mdp is not None
        texts = {"": _mdp_json(case.mdp, case.alpha, description)}
        if case.kind == "operator":
            assert case.Q is not None
            texts[".Q"] = _q_json(case.Q, case.alpha)
    digest = hashlib.sha256("".join(texts.values()).encode()).hexdigest()[:10]
    stem = d / f"{case.kind}-{digest}"
    for suffix, text in texts.items():
        Path(f"{stem}{suffix}.json").write_text(text)
    return Path(f"{stem}.json")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InvalidMDPError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidMDPError(f"{path}: not JSON: {exc}") from None


def _read_q_file(path: Path) -> tuple[FloatArray, float]:
    obj = _read_json(path)
    if not isinstance(obj, dict) or set(obj) != {"Q", "alpha"}:
        keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise InvalidMDPError(f'{path}: expected an object with keys "Q" and "alpha", got {keys}')
    alpha = float(to_fraction(obj["alpha"], f"{path}: alpha"))
    try:
        Q = np.array(
            [[float(to_fraction(x, f"{path}: Q")) for x in row] for row in obj["Q"]],
            dtype=np.float64,
        )
    except TypeError:
        raise InvalidMDPError(f"{path}: Q must be a list of rows of numbers") from None
    if Q.ndim != 2 or 0 in Q.shape or not np.isfinite(Q).all():
        raise InvalidMDPError(f"{path}: Q must be a non-empty finite [S][A] table")
    return Q, alpha


def _read_mdp_file(path: Path) -> tuple[FiniteMDP, float]:
    jsonio = _jsonio()
    if jsonio is not None and hasattr(jsonio, "load_problem"):
        problem = jsonio.load_problem(path)
        mdp, alpha = problem.mdp, problem.alpha
    else:
        obj = _read_json(path)
        allowed = {"transitions", "rewards", "gamma", "prior", "termination", "alpha"}
        allowed |= {"name", "description"}
        if not isinstance(obj, dict):
            raise InvalidMDPError(f"{path}: expected a JSON object (docs/conventions.md section 3)")
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise InvalidMDPError(
                f"{path}: unknown key {unknown[0]!r} (docs/conventions.md section 3)"
            )
        for key in ("transitions", "rewards", "gamma"):
            if key not in obj:
                raise InvalidMDPError(f"{path}: missing key {key!r}")
        mdp = FiniteMDP(
            obj["transitions"],
            obj["rewards"],
            obj["gamma"],
            prior=obj.get("prior"),
            termination=obj.get("termination", False),
        )
        alpha = obj.get("alpha")
    if alpha is None:
        raise InvalidMDPError(f"{path}: the file has no 'alpha'; a replay needs one")
    if mdp.prior is not None or mdp.termination or mdp.horizon is not None:
        raise InvalidMDPError(
            f"{path}: the check signatures carry no prior, termination or horizon; "
            "this file has one"
        )
    if mdp.is_sparse:
        mdp = _dense_for_the_kit(mdp, path)
    return mdp, float(to_fraction(alpha, f"{path}: alpha"))


#: The largest ``S * A * S`` of a sparse file that the kit densifies for a replay.
MAX_DENSE_ENTRIES = 10**7


def _dense_for_the_kit(mdp: FiniteMDP, path: Path) -> FiniteMDP:
    """A sparse file's MDP as dense ``P[s, a, s']``: the signatures of the kit take dense
    arrays (docs/conventions.md section 4), so the implementation under test gets one."""
    S, A = mdp.num_states, mdp.num_actions
    if S * A * S > MAX_DENSE_ENTRIES:
        raise InvalidMDPError(
            f"{path}: the check signatures take a dense P of shape (S, A, S); this sparse file "
            f"has S = {S}, A = {A}: {S * A * S} entries, more than {MAX_DENSE_ENTRIES:.0e}"
        )
    src = mdp.source()
    P = mdp.transitions.toarray().reshape(S, A, S) if mdp.float_source() else None
    return FiniteMDP(
        P if P is not None else mdp.exact.transitions,
        src["rewards"],
        src["gamma"],
        name=mdp.name,
        description=mdp.description,
    )


def load_case(path: str | os.PathLike[str], kind: str) -> Case:
    """Read a file written by :func:`save_case` (or any MDP file with ``alpha``)."""
    p = Path(path)
    label = f"replay of {p}"
    if kind in ("value", "policy"):
        Q, alpha = _read_q_file(p)
        return Case(kind, alpha, Q=Q, label=label)
    mdp, alpha = _read_mdp_file(p)
    if kind == "solver":
        return Case(kind, alpha, mdp, label=label)
    side = p.with_name(p.name.removesuffix(".json") + ".Q.json")
    if not side.exists():
        raise InvalidMDPError(f"{p}: an operator replay needs the Q-table file {side} beside it")
    Q, _ = _read_q_file(side)
    if Q.shape != (mdp.num_states, mdp.num_actions):
        raise InvalidMDPError(
            f"{side}: Q has shape {Q.shape}, the MDP needs ({mdp.num_states}, {mdp.num_actions})"
        )
    return Case(kind, alpha, mdp, Q, label=label)
