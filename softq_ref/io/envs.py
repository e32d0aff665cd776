"""Conversions from real environments to :class:`FiniteMDP` (extra ``softq-ref[gym]``).

Gymnasium's toy-text environments expose ``env.unwrapped.P[s][a] = [(prob,
next_s, reward, terminated), ...]``. The expected reward is
``R[s, a] = sum prob * reward`` over the tuples (the same next state may appear in
several tuples with different rewards), and a terminated transition's mass is
removed from ``P`` (docs/conventions.md section 1, termination: value 0 after it).
pymdptoolbox uses ``P`` of shape ``(A, S, S)`` and ``R`` of shape ``(S, A)``,
``(A, S, S)`` or ``(S,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref.errors import InvalidMDPError
from softq_ref.mdp import FiniteMDP

__all__ = [
    "from_gymnasium",
    "frozen_lake",
    "cliff_walking",
    "taxi",
    "from_pymdptoolbox",
    "to_pymdptoolbox",
]


def _gymnasium() -> Any:
    try:
        import gymnasium
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("softq_ref.io.envs needs gymnasium: pip install softq-ref[gym]") from exc
    return gymnasium


def _registered(*ids: str) -> str:
    """The first of ``ids`` (newest first) that gymnasium registers, else the oldest."""
    registry = _gymnasium().envs.registry
    return next((env_id for env_id in ids if env_id in registry), ids[-1])


def from_gymnasium(env_or_id: Any, *, gamma: Any, **make_kwargs: Any) -> FiniteMDP:
    """Convert a toy-text environment (or its id) with a ``P`` table to a FiniteMDP.

    Parameters
    ----------
    env_or_id : gymnasium.Env or str
        An environment whose ``unwrapped`` has the table
        ``P[s][a] = [(prob, next_s, reward, terminated), ...]``, or its id.
    gamma : float, int, str or Fraction
        The discount.
    **make_kwargs
        Passed to ``gymnasium.make`` with an id.

    Returns
    -------
    FiniteMDP
        With ``termination=True`` and the environment's id as ``name``.

    Raises
    ------
    InvalidMDPError
        If the environment has no transition table, or for a bad ``gamma``.
    ImportError
        If gymnasium is not installed (``pip install softq-ref[gym]``).

    Notes
    -----
    ``P[s, a, s']`` is the sum of ``prob`` over the non-terminated tuples to
    ``s'``; ``R[s, a]`` the sum of ``prob * reward`` over all tuples (the same
    next state may appear in several tuples with different rewards); a
    terminated transition's mass ends the episode (docs/conventions.md section 1).

    Examples
    --------
    >>> mdp = from_gymnasium("FrozenLake-v1", gamma=0.9, is_slippery=False)
    >>> mdp.num_states, mdp.num_actions, mdp.termination
    (16, 4, True)
    """
    env = _gymnasium().make(env_or_id, **make_kwargs) if isinstance(env_or_id, str) else env_or_id
    table = getattr(env.unwrapped, "P", None)
    if table is None:
        raise InvalidMDPError("env.unwrapped has no transition table P")
    n_s = int(env.observation_space.n)
    n_a = int(env.action_space.n)
    p = np.zeros((n_s, n_a, n_s))
    r = np.zeros((n_s, n_a))
    for s in range(n_s):
        for a in range(n_a):
            for prob, nxt, reward, terminated in table[s][a]:
                r[s, a] += prob * reward
                if not terminated:
                    p[s, a, int(nxt)] += prob
    name = env.spec.id if getattr(env, "spec", None) is not None else None
    return FiniteMDP(p, r, gamma, termination=True, name=name)


def frozen_lake(map_name: str = "4x4", is_slippery: bool = True, *, gamma: Any) -> FiniteMDP:
    """FrozenLake-v1 (``map_name`` "4x4" or "8x8") as a FiniteMDP.

    Parameters
    ----------
    map_name : str, optional
        ``"4x4"`` or ``"8x8"``.
    is_slippery : bool, optional
        The environment's slippery dynamics.
    gamma : float, int, str or Fraction
        The discount.

    Returns
    -------
    FiniteMDP
        See :func:`from_gymnasium`.

    Examples
    --------
    >>> frozen_lake("8x8", gamma=0.99).num_states
    64
    """
    return from_gymnasium("FrozenLake-v1", gamma=gamma, map_name=map_name, is_slippery=is_slippery)


def cliff_walking(*, gamma: Any) -> FiniteMDP:
    """CliffWalking (v1 on gymnasium >= 1.0, v0 before) as a FiniteMDP.

    Parameters
    ----------
    gamma : float, int, str or Fraction
        The discount.

    Returns
    -------
    FiniteMDP
        See :func:`from_gymnasium`.

    Examples
    --------
    >>> cliff_walking(gamma=0.9).num_states
    48
    """
    return from_gymnasium(_registered("CliffWalking-v1", "CliffWalking-v0"), gamma=gamma)


def taxi(*, gamma: Any) -> FiniteMDP:
    """Taxi (the newest registered of v4, v3) as a FiniteMDP.

    Parameters
    ----------
    gamma : float, int, str or Fraction
        The discount.

    Returns
    -------
    FiniteMDP
        See :func:`from_gymnasium`.

    Examples
    --------
    >>> taxi(gamma=0.9).num_actions
    6
    """
    return from_gymnasium(_registered("Taxi-v4", "Taxi-v3"), gamma=gamma)


def from_pymdptoolbox(P_ass: ArrayLike, R: ArrayLike, gamma: Any) -> FiniteMDP:
    """Convert pymdptoolbox's ``P[a, s, s']`` and ``R`` ((S, A), (A, S, S) or (S,)).

    Parameters
    ----------
    P_ass : array_like, shape (A, S, S)
        pymdptoolbox's transitions ``P[a, s, s']``.
    R : array_like, shape (S, A), (A, S, S) or (S,)
        pymdptoolbox's rewards.
    gamma : float, int, str or Fraction
        The discount.

    Returns
    -------
    FiniteMDP
        With ``P[s, a, s']`` and expected rewards ``R[s, a]``.

    Raises
    ------
    InvalidMDPError
        For arrays of other shapes, or invalid MDP data.

    Examples
    --------
    >>> mdp = from_pymdptoolbox([[[1.0, 0.0], [0.0, 1.0]]], [1.0, 0.0], 0.5)
    >>> mdp.num_states, mdp.num_actions, mdp.rewards.tolist()
    (2, 1, [[1.0], [0.0]])
    """
    p = np.asarray(P_ass, dtype=np.float64)
    if p.ndim != 3 or p.shape[1] != p.shape[2]:
        raise InvalidMDPError(f"P must have shape (A, S, S), got {p.shape}")
    n_a, n_s = p.shape[0], p.shape[1]
    rew = np.asarray(R, dtype=np.float64)
    if rew.shape == (n_s,):
        r = np.repeat(rew[:, None], n_a, axis=1)
    elif rew.shape == (n_s, n_a):
        r = rew
    elif rew.shape == (n_a, n_s, n_s):
        r = np.einsum("ast,ast->sa", p, rew)
    else:
        raise InvalidMDPError(f"R must have shape (S,), (S, A) or (A, S, S), got {rew.shape}")
    return FiniteMDP(np.transpose(p, (1, 0, 2)), r, gamma)


def to_pymdptoolbox(mdp: FiniteMDP) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return ``(P[a, s, s'], R[s, a])`` for pymdptoolbox.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP.

    Returns
    -------
    P : ndarray, shape (A, S, S)
        ``P[a, s, s']``.
    R : ndarray, shape (S, A)
        The expected rewards.

    Examples
    --------
    >>> P, R = to_pymdptoolbox(from_pymdptoolbox([[[1.0, 0.0], [0.0, 1.0]]], [1.0, 0.0], 0.5))
    >>> P.shape, R.shape
    ((1, 2, 2), (2, 1))
    """
    if mdp.is_sparse:
        raise InvalidMDPError(
            "to_pymdptoolbox does not convert sparse transitions yet (it returns a dense "
            "(A, S, S) array)"
        )
    return np.transpose(mdp.transitions, (1, 0, 2)).copy(), np.array(mdp.rewards)
