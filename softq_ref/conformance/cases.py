"""The inputs of a conformance check: cases, the fixed edge cases, the search, the files.

A :class:`Case` is one input for the function under test: an MDP (every kind
but ``value`` and ``policy``; with a finite horizon for ``horizon-solver``), a
Q-table (kinds ``operator``, ``value`` and ``policy``) and a temperature. The kit first runs the hand-picked
:func:`edge_cases` (each chosen to expose one known mistake), then lets
Hypothesis search with :func:`case_strategy`. A failing case is written to
disk by :func:`save_case` and read back by ``--replay`` (:func:`load_case`).

File formats (all numbers are JSON numbers that round-trip, ``repr``):

* ``solver``, ``value-solver``, ``policy-solver``, ``horizon-solver``:
  ``<kind>-<hash>.json`` is an MDP file in the format of docs/conventions.md
  section 3, with the ``alpha`` key (and ``horizon`` for ``horizon-solver``);
  ``softq-ref solve`` reads it as it is.
* ``operator``: the same MDP file, plus ``<kind>-<hash>.Q.json`` holding
  ``{"Q": [[...]], "alpha": ...}``, the Q-table the operator was applied to.
* ``value`` and ``policy``: ``<kind>-<hash>.json`` holding
  ``{"Q": [[...]], "alpha": ...}`` (``Q[s][a]``).

The check signatures carry no prior and no termination, so every MDP here has
the counting measure (``prior`` None, the entropy-regularised objective) and
rows of ``P`` that sum to one. With state rewards (``--rewards state``) the
function gets ``R`` of shape ``(S,)`` and the reference the MDP with
``R[s, a] = R[s]``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
from dataclasses import dataclass, replace
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
    "Unexpressible",
    "user_cases",
]

FloatArray = NDArray[np.float64]

#: the kinds of function the kit checks, named by what they return (docs/conventions.md section 4)
KINDS = (
    "operator",
    "solver",
    "value",
    "policy",
    "value-solver",
    "policy-solver",
    "horizon-solver",
)
#: the kinds called with a Q-table only (no MDP)
Q_KINDS = ("value", "policy")
#: the kinds whose function solves the MDP (called without a Q-table)
SOLVER_KINDS = ("solver", "value-solver", "policy-solver", "horizon-solver")

#: what the kit calls for each kind (docs/conventions.md section 4)
SIGNATURES = {
    "operator": "f(P, R, gamma, alpha, Q) -> T Q of shape (S, A)",
    "solver": "f(P, R, gamma, alpha) -> Q* of shape (S, A)",
    "value": "f(Q, alpha) -> V of shape (S,)",
    "policy": "f(Q, alpha) -> pi of shape (S, A)",
    "value-solver": "f(P, R, gamma, alpha) -> V* of shape (S,)",
    "policy-solver": "f(P, R, gamma, alpha) -> pi* of shape (S, A)",
    "horizon-solver": "f(P, R, gamma, alpha, H) -> Q of shape (H, S, A), Q[t] with H - t "
    "steps to go",
}


@dataclass(frozen=True, eq=False)
class Case:
    """One input: ``alpha`` and, depending on the kind, an MDP and/or a Q-table.

    ``state_rewards``: the function gets ``R[s]`` of shape ``(S,)``, the
    MDP's rewards being ``R[s, a] = R[s]``. For ``horizon-solver`` the MDP has
    a finite ``horizon`` (docs/conventions.md section 1).
    """

    kind: str
    alpha: float
    mdp: FiniteMDP | None = None
    Q: FloatArray | None = None
    label: str = "counterexample"
    state_rewards: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """``(S, A)``."""
        if self.mdp is not None:
            return (self.mdp.num_states, self.mdp.num_actions)
        assert self.Q is not None
        return (int(self.Q.shape[0]), int(self.Q.shape[1]))

    @property
    def horizon(self) -> int | None:
        """The finite horizon ``H`` (kind ``horizon-solver``), else None."""
        return None if self.mdp is None else self.mdp.horizon

    def rewards_argument(self) -> FloatArray:
        """``R`` as the function gets it: ``(S, A)``, or ``(S,)`` with state rewards."""
        assert self.mdp is not None
        R = np.array(self.mdp.rewards, dtype=np.float64)
        return np.array(R[:, 0]) if self.state_rewards else R

    def arguments(self) -> tuple[Any, ...]:
        """Fresh writable float64 copies of the arguments, in the order of the signature."""
        a = float(self.alpha)
        if self.kind in Q_KINDS:
            assert self.Q is not None
            return (np.array(self.Q, dtype=np.float64), a)
        assert self.mdp is not None
        P = dense_transitions(self.mdp)
        R = self.rewards_argument()
        g = float(self.mdp.gamma)
        if self.kind == "horizon-solver":
            assert self.mdp.horizon is not None
            return (P, R, g, a, int(self.mdp.horizon))
        if self.kind in SOLVER_KINDS:
            return (P, R, g, a)
        assert self.Q is not None
        return (P, R, g, a, np.array(self.Q, dtype=np.float64))

    def describe(self) -> str:
        """A one-line summary: sizes, gamma, alpha (and the horizon, state rewards)."""
        S, A = self.shape
        parts = [f"S = {S}", f"A = {A}"]
        if self.horizon is not None:
            parts.append(f"H = {self.horizon}")
        if self.mdp is not None:
            parts.append(f"gamma = {self.mdp.gamma!r}")
        parts.append(f"alpha = {self.alpha!r}")
        if self.state_rewards:
            parts.append("rewards R[s]")
        return ", ".join(parts)

    def inputs_key(self) -> tuple[Any, ...]:
        """What the function sees, for telling repeated cases apart."""
        key: tuple[Any, ...] = (self.kind, self.alpha, self.state_rewards)
        if self.mdp is not None:
            key += (
                dense_transitions(self.mdp).tobytes(),
                self.mdp.rewards.tobytes(),
                self.mdp.gamma,
                self.mdp.horizon,
            )
        if self.Q is not None:
            key += (np.asarray(self.Q).tobytes(),)
        return key


def dense_transitions(mdp: FiniteMDP) -> FloatArray:
    """A fresh float64 ``P[s, a, s']`` array, dense even when ``mdp`` stores it sparse."""
    S, A = mdp.num_states, mdp.num_actions
    P = mdp.transitions
    if mdp.is_sparse:
        return np.asarray(P.toarray(), dtype=np.float64).reshape(S, A, S)
    return np.array(P, dtype=np.float64).reshape(S, A, S)


def with_gamma(mdp: FiniteMDP, gamma: float) -> FiniteMDP:
    """``mdp`` with another discount (same rows, rewards and horizon)."""
    return FiniteMDP(mdp.transitions, mdp.rewards, gamma, horizon=mdp.horizon)


def with_state_rewards(mdp: FiniteMDP) -> FiniteMDP:
    """``mdp`` with ``R[s, a] = R[s, 0]``: the rewards of a state-reward function."""
    R = np.repeat(np.asarray(mdp.rewards)[:, :1], mdp.num_actions, axis=1)
    return FiniteMDP(mdp.transitions, R, mdp.gamma, horizon=mdp.horizon)


@dataclass(frozen=True)
class SearchSpace:
    """Where the kit looks: temperatures, discounts, sizes, the form of the rewards.

    ``alpha_range = (lo, hi)``; ``lo = 0`` includes ``alpha = 0`` (the hard
    max of docs/conventions.md section 1, opt-in because many soft implementations divide
    by ``alpha``), positive temperatures then start at ``min(1e-3, hi)``.
    ``lo = hi`` fixes the temperature: every edge case runs at it (``--alpha
    0``: hard only). Discounts lie in ``[gamma_min, gamma_max]`` (``gamma_max
    = 1`` is allowed for ``horizon-solver`` only, where it is checked).
    ``q_scale`` bounds the entries of random Q-tables, ``reward_scale`` the
    rewards of random MDPs (so ``|Q*| <= reward_scale / (1 - gamma)`` plus
    the entropy term); sizes go up to ``max_states`` and ``max_actions``
    (mostly small, :func:`softq_ref.strategies.sizes`), horizons up to
    ``max_horizon``. ``state_rewards``: rewards ``R[s]``, the same for every
    action.
    """

    alpha_range: tuple[float, float] = (1e-3, 1e3)
    gamma_max: float = 0.95
    max_states: int = 12
    max_actions: int = 6
    q_scale: float = 100.0
    reward_scale: float = 10.0
    gamma_min: float = 0.0
    max_horizon: int = 12
    state_rewards: bool = False

    def __post_init__(self) -> None:
        lo, hi = self.alpha_range
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo <= hi):
            raise InvalidArgumentError(
                f"alpha range must satisfy 0 <= LO <= HI, both finite; got {lo!r}, {hi!r}"
            )
        if not 0.0 <= self.gamma_max <= 1.0:
            raise InvalidArgumentError(
                f"gamma-max must lie in [0, 1) ([0, 1] for horizon-solver), got {self.gamma_max!r}"
            )
        if not 0.0 <= self.gamma_min <= self.gamma_max:
            raise InvalidArgumentError(
                f"gamma-min must lie in [0, gamma-max = {self.gamma_max!r}], got {self.gamma_min!r}"
            )
        for name in ("max_states", "max_actions", "max_horizon"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidArgumentError(
                    f"{name.replace('_', '-')} must be an integer >= 1, got {v!r}"
                )

    @property
    def fixed_alpha(self) -> float | None:
        """The one temperature when ``LO = HI`` (e.g. ``--alpha 0``), else None."""
        lo, hi = self.alpha_range
        return lo if lo == hi else None

    def restrict(self, case: Case) -> Case | None:
        """An edge case brought inside the search space, or None if it has no place there.

        With a fixed temperature every case runs at it. Otherwise a temperature
        outside the range drops the case (its temperature is its point). A
        discount above ``gamma_max`` is lowered to ``gamma_max`` (below
        ``gamma_min``, raised to it), so that the case's structure (asymmetric
        rows, small alpha) is still tried, except for the case whose point is
        the large discount itself. With state rewards, ``R[s, a]`` becomes
        ``R[s, 0]``.
        """
        lo, hi = self.alpha_range
        label = case.label
        if self.fixed_alpha is not None:
            if case.alpha != self.fixed_alpha:
                label += f" (alpha set to {self.fixed_alpha:g})"
            case = replace(case, alpha=self.fixed_alpha, label=label)
        elif not lo <= case.alpha <= hi:
            return None
        mdp = case.mdp
        if mdp is None:
            return case
        if mdp.gamma > self.gamma_max:
            if mdp.gamma >= 0.99:
                return None
            mdp = with_gamma(mdp, self.gamma_max)
            label += f" (gamma lowered to {self.gamma_max:g})"
        elif mdp.gamma < self.gamma_min:
            mdp = with_gamma(mdp, self.gamma_min)
            label += f" (gamma raised to {self.gamma_min:g})"
        if self.state_rewards and not case.state_rewards:
            mdp = with_state_rewards(mdp)
            label += " (rewards R[s] = R[s, 0])"
        return replace(case, mdp=mdp, label=label, state_rewards=self.state_rewards)

    def edges(self, kind: str) -> list[Case]:
        """The edge cases of ``kind`` inside this space, repeated inputs left out."""
        seen: set[tuple[Any, ...]] = set()
        out = []
        for case in map(self.restrict, edge_cases(kind)):
            if case is None:
                continue
            key = case.inputs_key()
            if key not in seen:
                seen.add(key)
                out.append(case)
        return out

    def describe(self, kind: str | None = None) -> str:
        """The space in one line (with the horizons for ``kind`` horizon-solver)."""
        lo, hi = self.alpha_range
        if self.fixed_alpha is not None:
            text = f"alpha = {lo:g} only"
        else:
            text = f"alpha in [{lo:g}, {hi:g}]"
            text += " (alpha = 0 included)" if lo == 0 else ""
        g = (
            f"{self.gamma_min:g} <= gamma <= {self.gamma_max:g}"
            if self.gamma_min > 0
            else f"gamma <= {self.gamma_max:g}"
        )
        text += f", {g}, S <= {self.max_states}, A <= {self.max_actions}"
        text += f", H <= {self.max_horizon}" if kind == "horizon-solver" else ""
        return text + (", rewards R[s]" if self.state_rewards else "")


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
    if kind in ("solver", "value-solver", "policy-solver"):
        return [
            Case(kind, 0.7, m3, label="edge case: asymmetric 3-state, 3-action MDP, alpha = 0.7"),
            Case(kind, 1e-3, m2, label="edge case: alpha = 1e-3 with |Q*| ~ 1e2"),
            Case(kind, 0.7, m3_far, label="edge case: gamma = 0.99"),
            Case(kind, 0.7, m_one_action, label="edge case: one action (A = 1)"),
            Case(kind, 2.5, m_one_state, label="edge case: one state (S = 1)"),
            Case(kind, 1e3, m2, label="edge case: large alpha = 1e3"),
            Case(kind, 0.0, m3, label="edge case: alpha = 0 (hard max)"),
        ]
    if kind == "horizon-solver":

        def h(m: FiniteMDP, H: int, gamma: float | None = None) -> FiniteMDP:
            g = m.gamma if gamma is None else gamma
            return FiniteMDP(m.transitions, m.rewards, g, horizon=H)

        return [
            Case(kind, 0.7, h(m3, 5), label="edge case: asymmetric 3-state, 3-action MDP, H = 5"),
            Case(kind, 0.7, h(m3, 1), label="edge case: H = 1 (Q[0] = R)"),
            Case(kind, 0.7, h(m3, 8, 1.0), label="edge case: gamma = 1 (undiscounted), H = 8"),
            Case(kind, 1e-3, h(m2, 10), label="edge case: alpha = 1e-3 with |Q| ~ 1e2, H = 10"),
            Case(kind, 0.7, h(m3_far, 60), label="edge case: gamma = 0.99, H = 60"),
            Case(kind, 0.7, h(m_one_action, 4), label="edge case: one action (A = 1)"),
            Case(kind, 2.5, h(m_one_state, 4), label="edge case: one state (S = 1)"),
            Case(kind, 1e3, h(m2, 4), label="edge case: large alpha = 1e3"),
            Case(kind, 0.0, h(m3, 5), label="edge case: alpha = 0 (hard max)"),
        ]
    raise InvalidArgumentError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def case_strategy(kind: str, space: SearchSpace) -> Any:
    """A Hypothesis strategy of :class:`Case` for ``kind`` over ``space``.

    Built on :mod:`softq_ref.strategies` (``mdps``, ``q_tables``,
    ``temperatures``, ``sizes``), so examples shrink to one state, one action,
    small integers and ``alpha = 1``; sizes are mostly small (three draws in
    four at most 4), so that large ones are reached without slowing the search.
    """
    from hypothesis import strategies as st

    from softq_ref.strategies import mdps, q_tables, sizes, temperatures

    lo, hi = space.alpha_range
    if space.fixed_alpha is not None:
        alphas = st.just(space.fixed_alpha)
    else:
        alphas = temperatures(lo if lo > 0 else min(1e-3, hi), hi, zero=lo == 0)
    n_states = sizes(1, space.max_states)
    n_actions = sizes(1, space.max_actions)

    @st.composite
    def cases(draw: Any) -> Case:
        if kind in Q_KINDS:
            S, A = draw(n_states), draw(n_actions)
            return Case(kind, draw(alphas), Q=draw(q_tables(S, A, scale=space.q_scale)))
        horizon = (1, space.max_horizon) if kind == "horizon-solver" else None
        mdp = draw(
            mdps(
                states=n_states,
                actions=n_actions,
                gamma=(space.gamma_min, space.gamma_max),
                reward_scale=space.reward_scale,
                horizon=horizon,
            )
        )
        if space.state_rewards:
            mdp = with_state_rewards(mdp)
        alpha = draw(alphas)
        if kind in SOLVER_KINDS:
            return Case(kind, alpha, mdp, state_rewards=space.state_rewards)
        Q = draw(q_tables(mdp.num_states, mdp.num_actions, scale=space.q_scale))
        return Case(kind, alpha, mdp, Q, state_rewards=space.state_rewards)

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
    if case.kind in Q_KINDS:
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


def _read_mdp(path: Path) -> tuple[FiniteMDP, Any]:
    """The MDP of a file (docs/conventions.md section 3) and its exact ``alpha`` (or None)."""
    jsonio = _jsonio()
    if jsonio is not None and hasattr(jsonio, "load_problem"):
        try:
            problem = jsonio.load_problem(path)
        except OSError as exc:
            raise InvalidMDPError(f"{path}: cannot read: {exc.strerror or exc}") from None
        return problem.mdp, problem.alpha
    obj = _read_json(path)
    allowed = {"transitions", "rewards", "gamma", "prior", "termination", "alpha"}
    allowed |= {"name", "description", "horizon"}
    if not isinstance(obj, dict):
        raise InvalidMDPError(f"{path}: expected a JSON object (docs/conventions.md section 3)")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidMDPError(f"{path}: unknown key {unknown[0]!r} (docs/conventions.md section 3)")
    for key in ("transitions", "rewards", "gamma"):
        if key not in obj:
            raise InvalidMDPError(f"{path}: missing key {key!r}")
    mdp = FiniteMDP(
        obj["transitions"],
        obj["rewards"],
        obj["gamma"],
        prior=obj.get("prior"),
        termination=obj.get("termination", False),
        horizon=obj.get("horizon"),
    )
    return mdp, obj.get("alpha")


#: The largest ``S * A * S`` of a (sparse) MDP that the kit densifies for the dense signatures.
MAX_DENSE_ENTRIES = 10**7


class Unexpressible(Exception):
    """An MDP that the signature of a kind cannot carry; the message says why."""


def expressible(mdp: FiniteMDP, kind: str, *, state_rewards: bool = False) -> FiniteMDP:
    """``mdp`` as a float64 MDP that ``kind``'s signature carries, or :class:`Unexpressible`.

    The signatures pass ``P``, ``R``, ``gamma`` (and ``H``) as float64 arrays:
    no prior, no termination (rows summing below 1), a horizon only for
    ``horizon-solver`` (which needs one), rewards ``R[s]`` only if they do not
    depend on the action. The returned MDP holds the float64 inputs the
    function gets, so that the reference solves exactly what it is given.
    """
    if kind in Q_KINDS:
        raise Unexpressible(f"kind {kind} takes a Q-table, not an MDP")
    if mdp.prior is not None:
        raise Unexpressible(
            "it has a prior (a reference measure mu); the signatures carry none, "
            "so the kit can only use the counting measure"
        )
    S, A = mdp.num_states, mdp.num_actions
    if S * A * S > MAX_DENSE_ENTRIES:
        raise Unexpressible(
            f"the signatures take a dense P of shape (S, A, S); S = {S}, A = {A} makes "
            f"{S * A * S} entries, more than {MAX_DENSE_ENTRIES:.0e}"
        )
    P = dense_transitions(mdp)
    if mdp.termination:
        sums = P.sum(axis=2)
        short = np.argwhere(np.abs(sums - 1.0) > 1e-12)
        if short.size:
            s, a = (int(i) for i in short[0])
            raise Unexpressible(
                f"it terminates: row P[{s}, {a}, :] sums to {float(sums[s, a])!r} < 1 (the "
                "missing mass ends the episode), which P of shape (S, A, S) with rows summing "
                "to 1 cannot carry"
            )
    if kind == "horizon-solver" and mdp.horizon is None:
        raise Unexpressible("it has no finite horizon, which kind horizon-solver needs")
    if kind != "horizon-solver" and mdp.horizon is not None:
        raise Unexpressible(
            f"it has a finite horizon H = {mdp.horizon}; check it with --kind horizon-solver"
        )
    R = np.array(mdp.rewards, dtype=np.float64)
    if state_rewards and mdp.num_actions > 1:
        differ = np.argwhere(R != R[:, :1])
        if differ.size:
            s, a = (int(i) for i in differ[0])
            raise Unexpressible(
                f"its rewards depend on the action (R[{s}, 0] = {R[s, 0]!r}, R[{s}, {a}] = "
                f"{R[s, a]!r}), which rewards R[s] of shape (S,) cannot carry"
            )
    try:
        return FiniteMDP(P, R, float(mdp.gamma), horizon=mdp.horizon)
    except ValueError as exc:  # rows of exact inputs rounded to float64 off by more than ulps
        raise Unexpressible(f"its float64 inputs are not a valid MDP: {exc}") from None


def _read_mdp_file(path: Path, kind: str, state_rewards: bool) -> tuple[FiniteMDP, float]:
    mdp, alpha = _read_mdp(path)
    if alpha is None:
        raise InvalidMDPError(f"{path}: the file has no 'alpha'; a replay needs one")
    try:
        mdp = expressible(mdp, kind, state_rewards=state_rewards)
    except Unexpressible as exc:
        raise InvalidMDPError(f"{path}: kind {kind} cannot replay it: {exc}") from None
    return mdp, float(to_fraction(alpha, f"{path}: alpha"))


def load_case(path: str | os.PathLike[str], kind: str, *, state_rewards: bool = False) -> Case:
    """Read a file written by :func:`save_case` (or any MDP file with ``alpha``)."""
    p = Path(path)
    label = f"replay of {p}"
    if kind in Q_KINDS:
        Q, alpha = _read_q_file(p)
        return Case(kind, alpha, Q=Q, label=label)
    mdp, alpha = _read_mdp_file(p, kind, state_rewards)
    if kind in SOLVER_KINDS:
        return Case(kind, alpha, mdp, label=label, state_rewards=state_rewards)
    side = p.with_name(p.name.removesuffix(".json") + ".Q.json")
    if not side.exists():
        raise InvalidMDPError(f"{p}: an operator replay needs the Q-table file {side} beside it")
    Q, _ = _read_q_file(side)
    if Q.shape != (mdp.num_states, mdp.num_actions):
        raise InvalidMDPError(
            f"{side}: Q has shape {Q.shape}, the MDP needs ({mdp.num_states}, {mdp.num_actions})"
        )
    return Case(kind, alpha, mdp, Q, label=label, state_rewards=state_rewards)


def user_cases(
    paths: list[str | os.PathLike[str]],
    kind: str,
    space: SearchSpace,
) -> tuple[list[Case], list[tuple[str, str]]]:
    """The cases of the user's MDP files (``--mdp``), and the files no case can be made of.

    Each file runs at its own ``alpha`` unless the temperature is fixed
    (``--alpha``); a file without one runs at each of the temperatures
    ``LO``, ``1`` and ``HI`` of the range (``1`` clamped into it). Kinds
    ``operator``: the Q-table is the file's ``Q*`` (so ``T Q* = Q*``).
    Returns the cases and, for every file that cannot be expressed, ``(file,
    reason)``. A file that cannot be read raises :class:`InvalidMDPError`.
    """
    cases: list[Case] = []
    refused: list[tuple[str, str]] = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise InvalidMDPError(f"{p}: no such file")
        mdp, file_alpha = _read_mdp(p)
        try:
            mdp = expressible(mdp, kind, state_rewards=space.state_rewards)
        except Unexpressible as exc:
            refused.append((str(p), str(exc)))
            continue
        if space.fixed_alpha is not None:
            alphas = [space.fixed_alpha]
        elif file_alpha is not None:
            alphas = [float(to_fraction(file_alpha, f"{p}: alpha"))]
        else:
            lo, hi = space.alpha_range
            alphas = sorted({lo, min(max(1.0, lo), hi), hi})
        for a in alphas:
            label = f"your MDP file {p}, alpha = {a!r}"
            Q = None
            if kind == "operator":
                from softq_ref.float64.solvers import solve

                Q = np.asarray(solve(mdp, a).Q, dtype=np.float64)
            cases.append(Case(kind, a, mdp, Q, label, state_rewards=space.state_rewards))
    return cases, refused
