"""Hypothesis strategies for finite MDPs, Q-tables and temperatures (public API).

Every strategy builds valid objects by construction (rows normalised, priors
with positive mass), never by filtering, and shrinks towards small readable
examples: one state, one action, deterministic transitions, integer rewards.
Each keyword option takes either a value or a strategy for that value, as in
``hypothesis.extra.numpy``. Requires the ``test`` extra (``hypothesis``)::

    from hypothesis import given
    from softq_ref.strategies import mdps, temperatures

    @given(mdps(states=(1, 5), gamma=(0.0, 0.9)), temperatures())
    def test_my_solver(mdp, alpha): ...
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "softq_ref.strategies needs Hypothesis: pip install 'softq-ref[test]'"
    ) from exc

from softq_ref.errors import InvalidArgumentError
from softq_ref.mdp import FiniteMDP

__all__ = [
    "mdps",
    "sparse_mdps",
    "q_tables",
    "temperatures",
    "gammas",
    "distributions",
    "sizes",
]

T = TypeVar("T")


def _as_strategy(value: Any, name: str, kind: str) -> SearchStrategy[Any]:
    """A strategy from a value, a ``(lo, hi)`` range, or a strategy."""
    if isinstance(value, SearchStrategy):
        return value
    if isinstance(value, tuple):
        if len(value) != 2:
            raise InvalidArgumentError(
                f"{name} must be a value, a (min, max) pair or a strategy, got {value!r}"
            )
        lo, hi = value
        if lo > hi:
            raise InvalidArgumentError(f"{name}: min {lo!r} exceeds max {hi!r}")
        if kind == "int":
            return st.integers(int(lo), int(hi))
        return st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False)
    return st.just(value)


def gammas(min_value: float = 0.0, max_value: float = 0.95) -> SearchStrategy[float]:
    """Discount factors in ``[min_value, max_value]`` (``max_value < 1``), shrinking to 0.

    Parameters
    ----------
    min_value, max_value : float, optional
        The range, ``0 <= min_value <= max_value < 1``.

    Returns
    -------
    SearchStrategy[float]
        Discount factors, shrinking to ``min_value``.

    Raises
    ------
    InvalidArgumentError
        For a range outside ``[0, 1)``.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(gammas(0.5, 0.9), lambda g: True)
    0.5
    """
    if not 0.0 <= min_value <= max_value < 1.0:
        raise InvalidArgumentError(
            f"need 0 <= min_value <= max_value < 1, got {min_value}, {max_value}"
        )
    return st.floats(min_value, max_value, allow_nan=False)


def temperatures(
    min_value: float = 1e-3, max_value: float = 1e3, *, zero: bool = True
) -> SearchStrategy[float]:
    """Temperatures ``alpha``: 0 (if ``zero``) and positive values spread over decades.

    Parameters
    ----------
    min_value, max_value : float, optional
        The range of the positive values, ``0 < min_value <= max_value < inf``.
    zero : bool, optional
        Whether ``alpha = 0`` (the hard max) is drawn too.

    Returns
    -------
    SearchStrategy[float]
        Temperatures, shrinking to 0 (or to 1 without ``zero``).

    Raises
    ------
    InvalidArgumentError
        For a bad range.

    Notes
    -----
    Positive values are ``m * 10**e`` with ``e`` uniform over the decades of
    ``[min_value, max_value]``, so that small and large temperatures are
    drawn as often as moderate ones; they shrink towards 1.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(temperatures(), lambda a: True), find(temperatures(zero=False), lambda a: True)
    (0.0, 1.0)
    """
    if not 0.0 < min_value <= max_value < float("inf"):
        raise InvalidArgumentError(
            f"need 0 < min_value <= max_value < inf, got {min_value}, {max_value}"
        )
    lo, hi = int(np.floor(np.log10(min_value))), int(np.ceil(np.log10(max_value)))
    positive = st.builds(
        lambda e, m: float(min(max(m * 10.0**e, min_value), max_value)),
        st.integers(lo, max(lo, hi - 1)),
        st.floats(1.0, 10.0),
    )
    positive = st.one_of(st.just(float(min(max(1.0, min_value), max_value))), positive)
    return st.one_of(st.just(0.0), positive) if zero else positive


def sizes(min_value: int = 1, max_value: int = 24, *, small: int = 4) -> SearchStrategy[int]:
    """Sizes (numbers of states or actions) in ``[min_value, max_value]``, mostly small.

    Parameters
    ----------
    min_value, max_value : int, optional
        The range, ``1 <= min_value <= max_value``.
    small : int, optional
        Three draws in four lie in ``[min_value, min(small, max_value)]``; the
        fourth is uniform over the whole range. Property tests thus reach the
        large sizes (blocked products, several refactorisations) a few times
        per run while the run time stays that of small examples.

    Returns
    -------
    SearchStrategy[int]
        Sizes, shrinking to ``min_value``.

    Raises
    ------
    InvalidArgumentError
        For a bad range.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(sizes(2, 24), lambda n: n > 8) > 8
    True
    """
    if not 1 <= min_value <= max_value:
        raise InvalidArgumentError(
            f"need 1 <= min_value <= max_value, got {min_value}, {max_value}"
        )
    low = st.integers(min_value, max(min_value, min(small, max_value)))
    return st.one_of(low, low, low, st.integers(min_value, max_value))


@st.composite
def distributions(draw: Any, n: int, *, allow_zeros: bool = True) -> np.ndarray:
    """A probability vector of length ``n`` (integer weights normalised; shrinks to one-hot).

    Parameters
    ----------
    n : int
        The length.
    allow_zeros : bool, optional
        Whether entries may be 0.

    Returns
    -------
    SearchStrategy[ndarray]
        Probability vectors of length ``n``.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(distributions(3), lambda p: True).tolist()
    [1.0, 0.0, 0.0]
    """
    lo = 0 if allow_zeros else 1
    w = np.array(draw(st.lists(st.integers(lo, 8), min_size=n, max_size=n)), dtype=np.float64)
    k = draw(st.integers(0, n - 1))
    w[k] += 1.0  # at least one positive weight
    return w / w.sum()


@st.composite
def mdps(
    draw: Any,
    *,
    states: int | tuple[int, int] | SearchStrategy[int] = (1, 4),
    actions: int | tuple[int, int] | SearchStrategy[int] = (1, 3),
    gamma: float | tuple[float, float] | SearchStrategy[float] = (0.0, 0.95),
    reward_scale: float = 10.0,
    prior: bool | SearchStrategy[bool] = False,
    prior_zeros: bool = True,
    termination: bool | SearchStrategy[bool] = False,
    rewards_3d: bool | SearchStrategy[bool] = False,
    horizon: int | None | tuple[int, int] | SearchStrategy[int | None] = None,
) -> FiniteMDP:
    """A valid :class:`~softq_ref.FiniteMDP`.

    Parameters
    ----------
    states, actions : int, (int, int) or SearchStrategy[int], optional
        The sizes: a value, a ``(min, max)`` range or a strategy.
    gamma : float, (float, float) or SearchStrategy[float], optional
        The discount: a value, a range or a strategy.
    reward_scale : float, optional
        Rewards lie in ``[-reward_scale, reward_scale]`` (integers half of the
        time, so that shrunk examples read well).
    prior : bool or SearchStrategy[bool], optional
        Whether to draw a reference measure (probability rows).
    prior_zeros : bool, optional
        Whether the prior may give some actions weight 0.
    termination : bool or SearchStrategy[bool], optional
        Whether rows keep only a drawn fraction of their mass.
    rewards_3d : bool or SearchStrategy[bool], optional
        Whether rewards are given as ``R[s, a, s']``.
    horizon : int, (int, int), SearchStrategy or None, optional
        A finite horizon (then ``gamma`` may be 1), or None.

    Returns
    -------
    SearchStrategy[FiniteMDP]
        Valid MDPs by construction (normalised rows), never by filtering.

    Raises
    ------
    InvalidArgumentError
        For a bad range or sizes below 1, naming the argument.

    Notes
    -----
    ``states``, ``actions``: sizes (value, ``(min, max)`` or strategy).
    ``gamma``: discount (value, range or strategy); ``reward_scale``: rewards
    lie in ``[-reward_scale, reward_scale]`` (integers half of the time, so
    that shrunk examples read well). ``prior``: draw a reference measure
    (probability rows; with ``prior_zeros`` some actions get weight 0).
    ``termination``: rows keep only a drawn fraction of their mass.
    ``rewards_3d``: rewards given as ``R[s, a, s']``. ``horizon``: a finite
    horizon (then ``gamma`` may be 1).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(mdps(states=2, actions=(1, 3)), lambda m: m.num_actions > 1)
    <FiniteMDP S=2 A=2 gamma=0.0>
    """
    S = draw(_as_strategy(states, "states", "int"))
    A = draw(_as_strategy(actions, "actions", "int"))
    if S < 1 or A < 1:
        raise InvalidArgumentError(f"states and actions must be >= 1, got {S}, {A}")
    g = draw(_as_strategy(gamma, "gamma", "float"))
    H = draw(_as_strategy(horizon, "horizon", "int")) if horizon is not None else None
    P = np.empty((S, A, S))
    for s in range(S):
        for a in range(A):
            P[s, a] = draw(distributions(S))
    term = draw(_as_strategy(termination, "termination", "bool"))
    if term:
        keep = np.array(
            draw(st.lists(st.sampled_from([1.0, 0.5, 0.25, 0.0]), min_size=S * A, max_size=S * A))
        ).reshape(S, A, 1)
        P = P * keep
    scale = float(reward_scale)
    integer_rewards = draw(st.booleans())
    r3 = draw(_as_strategy(rewards_3d, "rewards_3d", "bool"))
    shape = (S, A, S) if r3 else (S, A)
    n = int(np.prod(shape))
    if integer_rewards:
        k = max(1, int(scale))
        vals = draw(st.lists(st.integers(-k, k), min_size=n, max_size=n))
        R = np.array(vals, dtype=np.float64).reshape(shape) * (scale / k)
    else:
        vals = draw(st.lists(st.floats(-scale, scale, allow_nan=False), min_size=n, max_size=n))
        R = np.array(vals, dtype=np.float64).reshape(shape)
    mu = None
    if draw(_as_strategy(prior, "prior", "bool")):
        mu = np.stack([draw(distributions(A, allow_zeros=prior_zeros)) for _ in range(S)])
    return FiniteMDP(P, R, g, prior=mu, termination=bool(term), horizon=H)


@st.composite
def sparse_mdps(
    draw: Any,
    *,
    states: int | tuple[int, int] | SearchStrategy[int] = (20, 200),
    actions: int | tuple[int, int] | SearchStrategy[int] = (1, 3),
    successors: int | tuple[int, int] | SearchStrategy[int] = (1, 3),
    gamma: float | tuple[float, float] | SearchStrategy[float] = (0.0, 0.95),
    reward_scale: float = 10.0,
    prior: bool | SearchStrategy[bool] = False,
    prior_zeros: bool = True,
    termination: bool | SearchStrategy[bool] = False,
    horizon: int | None | tuple[int, int] | SearchStrategy[int | None] = None,
) -> FiniteMDP:
    """A valid :class:`~softq_ref.FiniteMDP` with sparse transitions (CSR ``(S*A, S)``).

    Parameters
    ----------
    states, actions : int, (int, int) or SearchStrategy[int], optional
        The sizes: a value, a ``(min, max)`` range or a strategy.
    successors : int, (int, int) or SearchStrategy[int], optional
        The most successors of a row ``(s, a)``; each row draws between 1 and
        this many distinct successors (at most ``S``).
    gamma, reward_scale, prior, prior_zeros, termination, horizon
        As for :func:`mdps`.

    Returns
    -------
    SearchStrategy[FiniteMDP]
        Valid sparse MDPs by construction, never densified. The sizes, ``gamma``
        and the options are drawn by Hypothesis; the successors, weights (small
        integers, normalised), rewards and prior come from a NumPy generator
        seeded by a drawn integer, so that large MDPs are cheap to draw (they
        shrink through the sizes and the seed).

    Raises
    ------
    InvalidArgumentError
        For a bad range or sizes below 1, naming the argument.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(sparse_mdps(states=20), lambda m: True)
    <FiniteMDP S=20 A=1 gamma=0.0, sparse>
    """
    import scipy.sparse as sp

    S = draw(_as_strategy(states, "states", "int"))
    A = draw(_as_strategy(actions, "actions", "int"))
    k_max = draw(_as_strategy(successors, "successors", "int"))
    if S < 1 or A < 1 or k_max < 1:
        raise InvalidArgumentError(
            f"states, actions and successors must be >= 1, got {S}, {A}, {k_max}"
        )
    g = draw(_as_strategy(gamma, "gamma", "float"))
    H = draw(_as_strategy(horizon, "horizon", "int")) if horizon is not None else None
    term = draw(_as_strategy(termination, "termination", "bool"))
    use_prior = draw(_as_strategy(prior, "prior", "bool"))
    integer_rewards = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    counts = rng.integers(1, min(k_max, S) + 1, size=S * A)
    rows = np.repeat(np.arange(S * A), counts)
    cols = np.concatenate([rng.choice(S, size=int(c), replace=False) for c in counts])
    w = rng.integers(1, 9, size=rows.size).astype(np.float64)
    sums = np.bincount(rows, weights=w, minlength=S * A)
    vals = w / sums[rows]
    if term:
        keep = rng.choice(np.array([1.0, 0.5, 0.25, 0.0]), size=S * A)
        vals = vals * keep[rows]
    P = sp.csr_array((vals, (rows, cols)), shape=(S * A, S))
    scale = float(reward_scale)
    if integer_rewards:
        k = max(1, int(scale))
        R = rng.integers(-k, k + 1, size=(S, A)).astype(np.float64) * (scale / k)
    else:
        R = rng.uniform(-scale, scale, size=(S, A))
    mu = None
    if use_prior:
        lo = 0 if prior_zeros else 1
        m = rng.integers(lo, 9, size=(S, A)).astype(np.float64)
        m[np.arange(S), rng.integers(0, A, size=S)] += 1.0  # a positive weight in each row
        mu = m / m.sum(axis=1, keepdims=True)
    return FiniteMDP(P, R, g, prior=mu, termination=bool(term), horizon=H)


def q_tables(
    states: int,
    actions: int,
    *,
    scale: float = 100.0,
) -> SearchStrategy[np.ndarray]:
    """Float64 Q-tables of shape ``(states, actions)`` with entries in ``[-scale, scale]``.

    Parameters
    ----------
    states, actions : int
        The shape ``(S, A)``.
    scale : float, optional
        Entries lie in ``[-scale, scale]``.

    Returns
    -------
    SearchStrategy[ndarray]
        Finite float64 Q-tables of shape ``(S, A)``.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(q_tables(1, 2), lambda q: True).tolist()
    [[0.0, 0.0]]
    """
    n = states * actions
    return st.lists(st.floats(-scale, scale, allow_nan=False), min_size=n, max_size=n).map(
        lambda v: np.array(v, dtype=np.float64).reshape(states, actions)
    )
