"""Conversions between :class:`FiniteMDP` and Gymnasium tables or pymdptoolbox arrays.

Gymnasium's toy-text environments expose ``env.unwrapped.P[s][a] = [(prob,
next_s, reward, terminated), ...]``. The expected reward is
``R[s, a] = sum prob * reward`` over the tuples (the same next state may appear in
several tuples with different rewards), and a terminated transition's mass is
removed from ``P`` (docs/conventions.md section 1, termination: value 0 after it).
pymdptoolbox uses ``P`` of shape ``(A, S, S)`` (or a list of ``A`` sparse
``(S, S)`` matrices) and ``R`` of shape ``(S, A)``, ``(A, S, S)`` or ``(S,)``.

Both readers return a sparse MDP (:attr:`FiniteMDP.is_sparse`) when that is
smaller (:func:`prefers_sparse`); both writers take dense and sparse MDPs. The
writers ``to_gymnasium_table`` and ``to_pymdptoolbox`` express termination in
the foreign format: a ``done`` tuple, or an absorbing zero-reward state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref._linalg import is_sparse
from softq_ref.errors import InvalidArgumentError, InvalidMDPError
from softq_ref.mdp import FiniteMDP

__all__ = [
    "from_gymnasium",
    "frozen_lake",
    "cliff_walking",
    "taxi",
    "from_pymdptoolbox",
    "to_pymdptoolbox",
    "to_gymnasium_table",
    "prefers_sparse",
    "SPARSE_MIN_ENTRIES",
]

#: Below this many dense entries ``S * A * S`` (512 KiB of float64) the readers keep
#: ``P`` dense: every path takes dense input, and the dense solvers are fast there.
SPARSE_MIN_ENTRIES = 2**16

# FiniteMDP stores sparse transitions as CSR with int64 indices: per stored entry a
# float64 value and an index, per row (S*A + 1 of them) an offset.
_CSR_BYTES_PER_ENTRY = 16
_CSR_BYTES_PER_ROW = 8


def prefers_sparse(nnz: int, num_states: int, num_actions: int) -> bool:
    """True when sparse storage of ``P`` is chosen for ``nnz`` stored probabilities.

    The readers store ``P`` as CSR when the dense array has at least
    :data:`SPARSE_MIN_ENTRIES` entries and the CSR form (16 bytes per stored
    entry, 8 per row ``(s, a)``) is smaller than the dense one (8 bytes per
    entry of ``(S, A, S)``).

    Parameters
    ----------
    nnz : int
        The number of stored (nonzero) entries of ``P``.
    num_states, num_actions : int
        ``S`` and ``A``.

    Returns
    -------
    bool

    Examples
    --------
    >>> prefers_sparse(3 * 500 * 6, 500, 6), prefers_sparse(3 * 16 * 4, 16, 4)
    (True, False)
    """
    S, A = int(num_states), int(num_actions)
    dense = S * A * S
    csr = _CSR_BYTES_PER_ENTRY * int(nnz) + _CSR_BYTES_PER_ROW * (S * A + 1)
    return dense >= SPARSE_MIN_ENTRIES and csr < 8 * dense


def _build(
    rows: list[dict[int, float]],
    r: NDArray[np.float64],
    S: int,
    A: int,
    gamma: Any,
    sparse: bool | None,
    **options: Any,
) -> FiniteMDP:
    """A FiniteMDP from the rows ``{s': P[s, a, s']}`` (index ``s*A + a``), dense or CSR."""
    nnz = sum(len(row) for row in rows)
    if sparse is None:
        sparse = prefers_sparse(nnz, S, A)
    if sparse:
        import scipy.sparse as sp

        indptr = np.zeros(S * A + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(row) for row in rows])
        cols = np.fromiter((c for row in rows for c in sorted(row)), np.int64, nnz)
        vals = np.fromiter((row[c] for row in rows for c in sorted(row)), np.float64, nnz)
        P: Any = sp.csr_array((vals, cols, indptr), shape=(S * A, S))
    else:
        P = np.zeros((S * A, S))
        for i, row in enumerate(rows):
            for c, v in row.items():
                P[i, c] = v
        P = P.reshape(S, A, S)
    return FiniteMDP(P, r, gamma, **options)


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


def _table_of(env_or_id: Any, make_kwargs: dict[str, Any]) -> tuple[Any, int, int, str | None]:
    """``(P table, S, A, name)`` of an environment, its id, or a ``P`` table itself."""
    if isinstance(env_or_id, Mapping):
        table = env_or_id
        n_s = len(table)
        if n_s == 0 or not isinstance(table.get(0), Mapping) or len(table[0]) == 0:
            raise InvalidMDPError("the P table must map each state 0..S-1 to {action: [tuples]}")
        return table, n_s, len(table[0]), None
    env = _gymnasium().make(env_or_id, **make_kwargs) if isinstance(env_or_id, str) else env_or_id
    p_table = getattr(env.unwrapped, "P", None)
    if p_table is None:
        raise InvalidMDPError("env.unwrapped has no transition table P")
    name = env.spec.id if getattr(env, "spec", None) is not None else None
    return p_table, int(env.observation_space.n), int(env.action_space.n), name


def from_gymnasium(
    env_or_id: Any, *, gamma: Any, sparse: bool | None = None, **make_kwargs: Any
) -> FiniteMDP:
    """Convert a toy-text environment, its id, or its ``P`` table to a FiniteMDP.

    Parameters
    ----------
    env_or_id : gymnasium.Env, str or dict
        An environment whose ``unwrapped`` has the table
        ``P[s][a] = [(prob, next_s, reward, terminated), ...]``, its id, or the
        table itself (a dict over the states ``0..S-1``, each a dict over the
        actions ``0..A-1``, as :func:`to_gymnasium_table` writes).
    gamma : float, int, str or Fraction
        The discount.
    sparse : bool, optional
        Store ``P`` sparse (True) or dense (False); None (default) chooses
        sparse when it is smaller (:func:`prefers_sparse`).
    **make_kwargs
        Passed to ``gymnasium.make`` with an id.

    Returns
    -------
    FiniteMDP
        With ``termination=True`` when the table has a terminated tuple, and
        the environment's id as ``name``.

    Raises
    ------
    InvalidMDPError
        If the environment has no transition table, for a malformed table
        (naming ``P[s][a]`` and the tuple), or for a bad ``gamma``.
    ImportError
        If gymnasium is needed (an id or an environment) and not installed
        (``pip install softq-ref[gym]``).

    Notes
    -----
    ``P[s, a, s']`` is the sum of ``prob`` over the non-terminated tuples to
    ``s'``, in the order of the tuples; a terminated transition's mass ends the
    episode (docs/conventions.md section 1, "Termination"). ``R[s, a]`` is the
    expected reward of a step: the reward itself when every tuple of ``(s, a)``
    has the same one (whatever the outcome, the step pays it), else
    ``sum prob * reward`` over all tuples, summed with ``math.fsum`` (the same
    next state may appear in several tuples with different rewards).

    Examples
    --------
    >>> mdp = from_gymnasium("FrozenLake-v1", gamma=0.9, is_slippery=False)
    >>> mdp.num_states, mdp.num_actions, mdp.termination
    (16, 4, True)
    >>> from_gymnasium({0: {0: [(1.0, 0, 2.0, False)]}}, gamma=0.5).rewards.tolist()
    [[2.0]]
    """
    table, n_s, n_a, name = _table_of(env_or_id, make_kwargs)
    rows: list[dict[int, float]] = []
    r = np.zeros((n_s, n_a))
    terminates = False
    for s in range(n_s):
        for a in range(n_a):
            try:
                outcomes = list(table[s][a])
            except (KeyError, IndexError, TypeError) as exc:
                raise InvalidMDPError(f"the P table has no entry P[{s}][{a}]") from exc
            row: dict[int, float] = {}
            rewards: list[float] = []
            products: list[float] = []
            for k, outcome in enumerate(outcomes):
                try:
                    prob, nxt, reward, terminated = outcome
                    prob, reward, nxt = float(prob), float(reward), int(nxt)
                except (TypeError, ValueError) as exc:
                    raise InvalidMDPError(
                        f"P[{s}][{a}][{k}] is {outcome!r}; expected a tuple "
                        f"(prob, next_state, reward, terminated)"
                    ) from exc
                rewards.append(reward)
                products.append(prob * reward)
                if terminated:
                    terminates = True
                    continue
                if not 0 <= nxt < n_s:
                    raise InvalidMDPError(
                        f"P[{s}][{a}][{k}] has next state {nxt}; it must lie in 0..{n_s - 1}"
                    )
                row[nxt] = row.get(nxt, 0.0) + prob
            rows.append(row)
            if rewards and all(x == rewards[0] for x in rewards):
                r[s, a] = rewards[0]
            else:
                r[s, a] = math.fsum(products)
    return _build(rows, r, n_s, n_a, gamma, sparse, termination=terminates, name=name)


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
    """Taxi (the newest registered of v4, v3) as a FiniteMDP, stored sparse.

    Parameters
    ----------
    gamma : float, int, str or Fraction
        The discount.

    Returns
    -------
    FiniteMDP
        See :func:`from_gymnasium` (``S * A * S = 1.5e6`` dense entries, 3000
        stored ones: sparse).

    Examples
    --------
    >>> t = taxi(gamma=0.9)
    >>> t.num_actions, t.is_sparse
    (6, True)
    """
    return from_gymnasium(_registered("Taxi-v4", "Taxi-v3"), gamma=gamma)


def _pymdptoolbox_parts(P: Any, n_name: str = "P") -> list[Any] | NDArray[np.float64]:
    """pymdptoolbox's ``P`` (or a 3-D ``R``) as an ``(A, S, S)`` array or a list of matrices."""
    if is_sparse(P):
        raise InvalidMDPError(
            f"{n_name} is one sparse matrix of shape {P.shape}; pymdptoolbox's sparse layout is "
            f"a list of A sparse (S, S) matrices, one per action"
        )
    if isinstance(P, Sequence) or (isinstance(P, np.ndarray) and P.dtype == object):
        parts = list(P)
        if any(is_sparse(m) for m in parts):
            shapes = {tuple(m.shape) for m in parts}
            if len(shapes) != 1 or len(next(iter(shapes))) != 2:
                raise InvalidMDPError(
                    f"{n_name} must be A matrices of one shape (S, S), got shapes {sorted(shapes)}"
                )
            return parts
    p = np.asarray(P if not isinstance(P, np.ndarray) or P.dtype != object else list(P))
    try:
        p = p.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidMDPError(f"{n_name} must hold numbers, got dtype {p.dtype}") from exc
    if p.ndim != 3 or p.shape[1] != p.shape[2]:
        raise InvalidMDPError(f"{n_name} must have shape (A, S, S), got {p.shape}")
    return p


def from_pymdptoolbox(P_ass: Any, R: Any, gamma: Any, *, sparse: bool | None = None) -> FiniteMDP:
    """Convert pymdptoolbox's ``P[a, s, s']`` and ``R`` ((S, A), (A, S, S) or (S,)).

    Parameters
    ----------
    P_ass : array_like, shape (A, S, S), or a list of A sparse (S, S) matrices
        pymdptoolbox's transitions ``P[a][s, s']``, dense or in its sparse
        layout (SciPy sparse matrices, one per action).
    R : array_like, shape (S, A), (A, S, S) or (S,), or a list of A (S, S) matrices
        pymdptoolbox's rewards.
    gamma : float, int, str or Fraction
        The discount.
    sparse : bool, optional
        Store ``P`` sparse (True) or dense (False); None (default) chooses
        sparse when it is smaller (:func:`prefers_sparse`).

    Returns
    -------
    FiniteMDP
        With ``P[s, a, s']`` and expected rewards ``R[s, a]``.

    Raises
    ------
    InvalidMDPError
        For arrays of other shapes, or invalid MDP data.

    Notes
    -----
    Rewards per transition ``R[a, s, s']`` are reduced to
    ``R[s, a] = sum_s' P[s, a, s'] R[a, s, s']``: by :class:`FiniteMDP` (in
    extended precision, its rounding counted in the bounds) when ``P`` stays
    dense; for sparse storage here, over the stored entries in long double and
    rounded to float64, and the MDP is the one with those rewards.

    Examples
    --------
    >>> mdp = from_pymdptoolbox([[[1.0, 0.0], [0.0, 1.0]]], [1.0, 0.0], 0.5)
    >>> mdp.num_states, mdp.num_actions, mdp.rewards.tolist()
    (2, 1, [[1.0], [0.0]])
    """
    import scipy.sparse as sp

    parts = _pymdptoolbox_parts(P_ass)
    if isinstance(parts, np.ndarray):
        n_a, n_s = parts.shape[0], parts.shape[1]
        csr = sp.csr_array(np.transpose(parts, (1, 0, 2)).reshape(n_s * n_a, n_s))
    else:
        n_a, n_s = len(parts), parts[0].shape[0]
        if parts[0].shape != (n_s, n_s):
            raise InvalidMDPError(f"P[0] must be square (S, S), got shape {parts[0].shape}")
        blocks = [sp.csr_array(m, dtype=np.float64) for m in parts]
        # row s*A + a of the (S*A, S) form is row s of action a's matrix
        csr = sp.csr_array(sp.vstack(blocks, format="csr")[_interleave(n_s, n_a)])
    csr.sum_duplicates()
    if is_sparse(R):
        R = R.toarray()
    r3: Any = None
    if isinstance(R, Sequence) or (isinstance(R, np.ndarray) and R.dtype == object):
        if len(R) == n_a and any(is_sparse(m) or np.ndim(m) == 2 for m in R):
            r3 = R
    rew = None if r3 is not None else np.asarray(R, dtype=np.float64)
    if rew is not None and rew.shape == (n_a, n_s, n_s):
        r3 = rew
    if sparse is None:
        sparse = prefers_sparse(csr.nnz, n_s, n_a)
    dense_in = isinstance(parts, np.ndarray)
    if r3 is not None and not sparse and dense_in and isinstance(r3, np.ndarray):
        r_sa: Any = np.transpose(r3, (1, 0, 2))  # FiniteMDP reduces it, with its rounding bound
    elif r3 is not None:
        r_sa = _reduce_rewards(csr, r3, n_s, n_a)
    elif rew is not None and rew.shape == (n_s,):
        r_sa = np.repeat(rew[:, None], n_a, axis=1)
    elif rew is not None and rew.shape == (n_s, n_a):
        r_sa = rew
    else:
        shape = None if rew is None else rew.shape
        raise InvalidMDPError(f"R must have shape (S,), (S, A) or (A, S, S), got {shape}")
    if sparse:
        return FiniteMDP(csr, r_sa, gamma)
    if dense_in:
        return FiniteMDP(np.transpose(parts, (1, 0, 2)), r_sa, gamma)
    return FiniteMDP(csr.toarray().reshape(n_s, n_a, n_s), r_sa, gamma)


def _interleave(n_s: int, n_a: int) -> NDArray[np.int64]:
    """Row ``s*A + a`` of the ``(S*A, S)`` form is row ``a*S + s`` of the stacked ``(A*S, S)``."""
    s, a = np.divmod(np.arange(n_s * n_a, dtype=np.int64), n_a)
    return a * n_s + s


def _reduce_rewards(csr: Any, r3: Any, n_s: int, n_a: int) -> NDArray[np.float64]:
    """``R[s, a] = sum_s' P[s, a, s'] R[a][s, s']`` over the stored entries, in long double."""
    rows = np.repeat(np.arange(n_s * n_a), np.diff(csr.indptr))
    s, a = np.divmod(rows, n_a)
    vals = np.empty(csr.nnz, dtype=np.longdouble)
    for act in range(n_a):
        m = r3[act]
        sel = a == act
        if is_sparse(m):
            got = np.asarray(_sparse_entries(m, s[sel], csr.indices[sel]), dtype=np.float64)
        else:
            m = np.asarray(m, dtype=np.float64)
            if m.shape != (n_s, n_s):
                raise InvalidMDPError(f"R[{act}] must have shape ({n_s}, {n_s}), got {m.shape}")
            got = m[s[sel], csr.indices[sel]]
        vals[sel] = got.astype(np.longdouble)
    prod = csr.data.astype(np.longdouble) * vals
    out = np.zeros(n_s * n_a, dtype=np.longdouble)
    np.add.at(out, rows, prod)
    return out.astype(np.float64).reshape(n_s, n_a)


def _sparse_entries(
    m: Any, rows: NDArray[np.int64], cols: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``m[rows[k], cols[k]]`` of a SciPy sparse matrix, as a flat float64 array."""
    import scipy.sparse as sp

    return np.asarray(sp.csr_array(m)[rows, cols], dtype=np.float64).ravel()


def _check_prior_for(mdp: FiniteMDP, where: str, *, allow_positive: bool) -> None:
    if mdp.prior is None:
        return
    zeros = np.argwhere(mdp.prior == 0)
    if len(zeros):
        s, a = (int(i) for i in zeros[0])
        raise InvalidArgumentError(
            f"{where}: prior[{s}, {a}] is 0 (action {a} unavailable in state {s}), which the "
            f"target format cannot express"
        )
    if not allow_positive:
        raise InvalidArgumentError(
            f"{where}: the MDP has a prior, which env.P cannot carry (it has no reference "
            f"measure); build the MDP without one to export it"
        )


def _csr_rows(mdp: FiniteMDP) -> Any:
    """``P`` as a CSR array ``(S*A, S)`` (a copy for dense storage)."""
    import scipy.sparse as sp

    M = mdp.transition_matrix()
    return M if mdp.is_sparse else sp.csr_array(M)


def _deficits(csr: Any) -> NDArray[np.float64]:
    """``1 - sum_s' P[s, a, s']`` per row ``s*A + a``, the sums exact (``math.fsum``), >= 0."""
    out = np.empty(csr.shape[0])
    for i in range(csr.shape[0]):
        out[i] = 1.0 - math.fsum(csr.data[csr.indptr[i] : csr.indptr[i + 1]])
    return np.maximum(out, 0.0)


def to_pymdptoolbox(mdp: FiniteMDP) -> tuple[Any, NDArray[np.float64]]:
    """Return ``(P[a, s, s'], R[s, a])`` for pymdptoolbox, with an absorbing state if needed.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP: dense, or sparse (then ``P`` is pymdptoolbox's sparse layout).

    Returns
    -------
    P : ndarray of shape (A, S', S'), or a list of A ``scipy.sparse.csr_matrix`` (S', S')
        ``P[a][s, s']``, every row summing to 1.
    R : ndarray, shape (S', A)
        The expected rewards.

    Raises
    ------
    InvalidArgumentError
        If the prior makes an action unavailable (``prior[s, a] = 0``).

    Notes
    -----
    pymdptoolbox refuses rows that sum to less than 1 ("not stochastic"). A
    terminating MDP with such rows gets one more state, ``S' = S + 1``: the
    absorbing state ``S``, with ``P[a][s, S] = 1 - sum_s' P[s, a, s']`` (the row
    sum exact, by ``math.fsum``), ``P[a][S, S] = 1`` and ``R[S, a] = 0``; else
    ``S' = S``. pymdptoolbox solves the hard problem (``alpha = 0``), and there
    the absorbing state's value is 0, so the values of the states ``0..S-1`` are
    those of ``mdp`` (docs/conventions.md section 1, "Termination": value 0 after
    termination). For ``alpha > 0`` the padded MDP is not equivalent under the
    counting measure: the absorbing state's soft value is
    ``alpha log(A) / (1 - gamma)``, not 0. It is equivalent with the prior
    that leaves one action in the absorbing state (``prior[S] = (1, 0, ..., 0)``,
    ones elsewhere). A positive prior does not change hard values and is not
    exported; a finite horizon is not part of the arrays (pass ``mdp.horizon``
    as pymdptoolbox ``FiniteHorizon``'s ``N``).

    Examples
    --------
    >>> P, R = to_pymdptoolbox(from_pymdptoolbox([[[1.0, 0.0], [0.0, 1.0]]], [1.0, 0.0], 0.5))
    >>> P.shape, R.shape
    ((1, 2, 2), (2, 1))
    >>> P, R = to_pymdptoolbox(FiniteMDP([[[0.25]]], [[1.0]], 0.5, termination=True))
    >>> P.tolist(), R.tolist()
    ([[[0.25, 0.75], [0.0, 1.0]]], [[1.0], [0.0]])
    """
    import scipy.sparse as sp

    _check_prior_for(mdp, "to_pymdptoolbox", allow_positive=True)
    S, A = mdp.num_states, mdp.num_actions
    csr = _csr_rows(mdp)
    deficit = _deficits(csr) if mdp.termination else np.zeros(S * A)
    pad = bool(np.any(deficit > 0))
    n = S + 1 if pad else S
    R = np.array(mdp.rewards)
    if pad:
        R = np.vstack([R, np.zeros((1, A))])
    if not mdp.is_sparse:
        P = np.zeros((A, n, n))
        P[:, :S, :S] = np.transpose(mdp.transitions, (1, 0, 2))
        if pad:
            P[:, :S, S] = deficit.reshape(S, A).T
            P[:, S, S] = 1.0
        return P, R
    coo = csr.tocoo()
    s, a = np.divmod(coo.row, A)
    out = []
    for act in range(A):
        sel = a == act
        rows, cols, vals = s[sel], coo.col[sel], coo.data[sel]
        if pad:
            d = deficit.reshape(S, A)[:, act]
            keep = np.flatnonzero(d > 0)
            rows = np.concatenate([rows, keep, [S]])
            cols = np.concatenate([cols, np.full(len(keep), S), [S]])
            vals = np.concatenate([vals, d[keep], [1.0]])
        out.append(sp.csr_matrix((vals, (rows, cols)), shape=(n, n)))
    return out, R


def to_gymnasium_table(
    mdp: FiniteMDP,
) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
    """Gymnasium's transition table ``{s: {a: [(prob, next_s, reward, done), ...]}}``.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP, dense or sparse, without a prior.

    Returns
    -------
    dict
        ``P[s][a]``: one tuple ``(P[s, a, s'], s', R[s, a], False)`` for each
        ``s'`` with ``P[s, a, s'] > 0`` (in increasing ``s'``), then, for a
        terminating MDP whose row sums to less than 1, the tuple
        ``(1 - sum_s' P[s, a, s'], s, R[s, a], True)``: the episode ends (its
        next state is ``s`` itself and is never used). Numbers are Python floats
        and ints, as Gymnasium's toy-text environments hold them.

    Raises
    ------
    InvalidArgumentError
        If the MDP has a prior (the table has no reference measure).

    Notes
    -----
    Every tuple of ``(s, a)`` carries the expected reward ``R[s, a]``, so a step
    sampled from the table pays ``R[s, a]`` whatever its outcome, and
    :func:`from_gymnasium` reads the table back to the same ``P`` and ``R``
    (bit for bit) and ``termination`` (set when a ``done`` tuple is written).
    The row deficit is ``1 - math.fsum(row)``, so the probabilities of each
    ``P[s][a]`` sum to 1 exactly as real numbers up to one rounding. A
    finite horizon is not part of the table (Gymnasium's ``TimeLimit`` plays
    that role).

    Examples
    --------
    >>> to_gymnasium_table(FiniteMDP([[[0.25]]], [[1.0]], 0.5, termination=True))
    {0: {0: [(0.25, 0, 1.0, False), (0.75, 0, 1.0, True)]}}
    """
    _check_prior_for(mdp, "to_gymnasium_table", allow_positive=False)
    S, A = mdp.num_states, mdp.num_actions
    csr = _csr_rows(mdp)
    deficit = _deficits(csr) if mdp.termination else np.zeros(S * A)
    table: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {}
    for s in range(S):
        table[s] = {}
        for a in range(A):
            i = s * A + a
            lo, hi = csr.indptr[i], csr.indptr[i + 1]
            reward = float(mdp.rewards[s, a])
            order = np.argsort(csr.indices[lo:hi], kind="stable")
            outcomes = [
                (float(csr.data[lo + k]), int(csr.indices[lo + k]), reward, False)
                for k in order
                if csr.data[lo + k] > 0
            ]
            if deficit[i] > 0:
                outcomes.append((float(deficit[i]), s, reward, True))
            table[s][a] = outcomes
    return table
