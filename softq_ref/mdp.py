"""Finite MDPs: the data, validated once at construction (docs/conventions.md sections 1 and 2).

``FiniteMDP(transitions, rewards, gamma, *, prior=None, termination=False,
horizon=None)`` holds ``P[s, a, s']``, the expected rewards ``R[s, a]`` (a
reward ``R[s, a, s']`` is reduced to ``sum_s' P[s, a, s'] R[s, a, s']``), the
discount, the reference measure ``mu[s, a]`` and the termination flag. The
float64 arrays that the fast solvers use are read-only attributes; the exact
rational values that the high-precision solver uses are in :attr:`exact`.

``transitions`` may also be sparse (a SciPy sparse array or matrix of shape
``(S*A, S)``, row ``s*A + a``, a list of ``A`` sparse ``(S, S)`` matrices, or
:class:`SparseEntries` with exact values): it is then stored as one CSR matrix
of shape ``(S*A, S)`` and never densified (exact values are kept per stored
entry beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._linalg import is_sparse as is_sparse_input
from softq_ref._rounding import U64, UNIT_ROUNDOFF, gamma_n
from softq_ref._validate import GYMNASIUM_ADAPTER, PYMDPTOOLBOX_ADAPTER, first_bad_index
from softq_ref.errors import InvalidMDPError
from softq_ref.exact import short_text, to_fraction

__all__ = [
    "FiniteMDP",
    "ExactMDP",
    "Renormalized",
    "SparseEntries",
    "row_sum_tolerance",
    "MAX_HORIZON_ENTRIES",
]

_EPS = 2 * U64  # float64's machine epsilon, 2**-52


def row_sum_tolerance(num_states: int) -> float:
    """How far a row of ``P`` may sum from 1: ``16 * S * eps`` (float64 eps).

    A row normalised in float64 (``p / p.sum()``) sums to 1 within about
    ``S * eps / 2``; this accepts such rows with room to spare and refuses
    anything that comes from lower precision (float32 rows are off by ~1e-7).
    The check is on the exact value of the row (docs/conventions.md section 2), so the
    high-precision solver sees the same rows that were accepted here.
    """
    return 16.0 * max(num_states, 1) * _EPS


#: The default ``tolerance`` of :meth:`FiniteMDP.from_unnormalized`: rows nearer 1 than this
#: get a pointer to it in the row-sum error.
RENORMALIZE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ExactMDP:
    """The exact rational inputs of a :class:`FiniteMDP` (object arrays of ``Fraction``).

    ``rewards`` is already reduced to ``[S][A]`` in exact arithmetic;
    ``prior`` is None for the counting measure (all ones).
    """

    transitions: NDArray[np.object_]
    rewards: NDArray[np.object_]
    prior: NDArray[np.object_] | None
    gamma: Fraction


@dataclass(frozen=True)
class SparseEntries:
    """Sparse transitions entry by entry: ``P[s[k], a[k], t[k]] = values[k]``, the rest 0.

    The input form for sparse transitions with exact values (docs/conventions.md
    section 3: the JSON reader builds it from ``{"shape": ..., "entries": ...}``).
    ``values`` is a float64 array, or an object array of ``Fraction`` (exact
    values, as ``"1/3"`` in a file); ``s``, ``a``, ``t`` are integer arrays of
    the same length with ``0 <= s, t < S`` and ``0 <= a < A``.
    :class:`FiniteMDP` validates it as any sparse input (repeated ``(s, a, t)``,
    negative values and row sums are refused there).
    """

    num_states: int
    num_actions: int
    s: NDArray[np.int64]
    a: NDArray[np.int64]
    t: NDArray[np.int64]
    values: NDArray[Any]


def _sparse_parts(transitions: Any) -> tuple[Any, Any, Any, int, int]:
    """``(row, col, data, S, A)`` of sparse ``transitions``, rows ``s*A + a`` (duplicates kept)."""
    if isinstance(transitions, SparseEntries):
        S, A = transitions.num_states, transitions.num_actions
        s_, a_, t_ = (
            np.asarray(x, dtype=np.int64) for x in (transitions.s, transitions.a, transitions.t)
        )
        bad = np.flatnonzero((s_ < 0) | (s_ >= S) | (a_ < 0) | (a_ >= A) | (t_ < 0) | (t_ >= S))
        if S < 1 or A < 1 or bad.size:
            k = int(bad[0]) if bad.size else 0
            raise InvalidMDPError(
                f"sparse entry {k} is (s, a, t) = ({s_[k]}, {a_[k]}, {t_[k]}); outside "
                f"the shape (S, A, S) = ({S}, {A}, {S})"
                if bad.size
                else f"sparse transitions need S, A >= 1, got (S, A) = ({S}, {A})"
            )
        return s_ * A + a_, t_, np.asarray(transitions.values), S, A
    if is_sparse_input(transitions):
        n_rows, S = transitions.shape
        if S < 1 or n_rows < S or n_rows % S:
            raise InvalidMDPError(
                f"sparse transitions must have shape (S*A, S) with S, A >= 1 (row s*A + a), "
                f"got shape {transitions.shape}"
            )
        coo = transitions.tocoo()
        return coo.row, coo.col, coo.data, S, n_rows // S
    mats = list(transitions)
    A = len(mats)
    S = mats[0].shape[0]
    rows, cols, data = [], [], []
    for a, m in enumerate(mats):
        if not is_sparse_input(m):
            raise InvalidMDPError(
                f"transitions[{a}] is a {type(m).__name__}; a list of transitions must hold "
                "A sparse (S, S) matrices, one per action (pymdptoolbox's layout)"
            )
        if m.shape != (S, S) or S < 1:
            raise InvalidMDPError(
                f"transitions[{a}] has shape {m.shape}; each of the A sparse matrices must "
                f"have shape (S, S) = ({S}, {S})"
            )
        coo = m.tocoo()
        rows.append(coo.row.astype(np.int64) * A + a)
        cols.append(coo.col)
        data.append(coo.data)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(data), S, A


def _read_sparse(
    transitions: Any, termination: bool
) -> tuple[Any, NDArray[np.float64], NDArray[np.object_] | None]:
    """Validate sparse transitions: the CSR matrix ``(S*A, S)``, its float64 row sums, and
    the exact values of its stored entries (Fractions, in CSR order; None for float input).

    Time O(nnz log nnz) (one sort of the entries) and memory O(nnz + S*A): no
    dense row of ``P`` is ever formed. Explicit zeros are dropped; a repeated
    ``(s, a, s')`` is an error (its value would be a rounded sum). The checks
    are those of dense input, in the same order, naming ``(s, a, s')``; for
    exact values (an object array, from :class:`SparseEntries`) they are made
    on the exact values, and the CSR matrix holds their float64 roundings.
    """
    row, col, data, S, A = _sparse_parts(transitions)
    exact_input = data.dtype == object
    if not exact_input and data.dtype.kind not in "fiu":
        raise InvalidMDPError(
            f"sparse transitions have dtype {data.dtype}; expected real numbers (float64)"
        )
    key = row.astype(np.int64) * S + col.astype(np.int64)
    order = np.argsort(key, kind="stable")
    key = key[order]
    exact: NDArray[np.object_] | None = None
    if exact_input:
        exact = np.empty(len(order), dtype=object)
        exact[:] = [to_fraction(x, "transitions") for x in data[order].tolist()]
    else:
        vals = np.asarray(data, dtype=np.float64)[order]
    del order

    def at(i: int) -> str:
        r, c = divmod(int(key[i]), S)
        return f"transitions[{r // A}, {r % A}, {c}]"

    dup = np.flatnonzero(key[1:] == key[:-1])
    if dup.size:
        raise InvalidMDPError(
            f"{at(int(dup[0]))} is given twice in the sparse transitions; each (s, a, s') "
            "may appear once"
        )
    tol = row_sum_tolerance(S)
    if exact is not None:
        for i, x in enumerate(exact.tolist()):
            if x < 0:
                raise InvalidMDPError(f"{at(i)} is {_fmt(x)}; probabilities must be >= 0")
        keep = np.array([x != 0 for x in exact.tolist()], dtype=bool)
        key, exact = key[keep], exact[keep]
        rows = key // S
        exact_sums = [Fraction(0)] * (S * A)
        for r, x in zip(rows.tolist(), exact.tolist(), strict=True):
            exact_sums[r] += x
        for r, total in enumerate(exact_sums):
            if total > 1 + tol or (not termination and total < 1 - tol):
                raise _row_sum_error(r, total, tol, A, termination)
        vals = np.array([float(x) for x in exact.tolist()], dtype=np.float64)
        exact.setflags(write=False)
    else:
        bad = np.flatnonzero(~np.isfinite(vals))
        if bad.size:
            i = int(bad[0])
            raise InvalidMDPError(f"{at(i)} is {float(vals[i])!r}; every number must be finite")
        bad = np.flatnonzero(vals < 0)
        if bad.size:
            i = int(bad[0])
            raise InvalidMDPError(f"{at(i)} is {_fmt(vals[i])}; probabilities must be >= 0")
        keep = vals != 0
        key, vals = key[keep], vals[keep]
        rows = key // S
    # the float64 sums (of the rounded values, for exact input), as for dense input
    sums = np.asarray(np.bincount(rows, weights=vals, minlength=S * A), dtype=np.float64)
    if exact is None:
        off = sums > 1 + tol if termination else np.abs(sums - 1) > tol
        if off.any():
            r = int(np.argmax(off))
            raise _row_sum_error(r, float(sums[r]), tol, A, termination)
    indptr = np.zeros(S * A + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=S * A), out=indptr[1:])
    del rows
    cols = key % S
    import scipy.sparse as sp

    csr = sp.csr_array((vals, cols, indptr), shape=(S * A, S))
    for arr in (csr.data, csr.indices, csr.indptr):
        arr.setflags(write=False)
    return csr, sums, exact


def _row_sum_error(r: int, total: Any, tol: float, A: int, termination: bool) -> InvalidMDPError:
    """The error for row ``r = s*A + a`` of sparse transitions summing to ``total``."""
    hint = (
        "" if termination or total > 1 else "; pass termination=True for rows that end the episode"
    )
    return InvalidMDPError(
        f"transitions[{r // A}, {r % A}, :] sums to {_fmt(total)}, not 1 "
        f"(tolerance {tol:.1e}){hint}"
    )


def _is_float_array(a: NDArray[Any]) -> bool:
    return a.dtype.kind in "fiu" and (a.dtype.kind == "f" or np.abs(a).max(initial=0) < 2**53)


def _read_array(value: Any, name: str) -> NDArray[Any]:
    """Read a nested list / array as float64 (if plain numbers) or exact Fractions.

    Returns a float64 array when every entry is a Python/NumPy int or float
    (their exact values are the doubles themselves), else an object array of
    :class:`Fraction`. Raises :class:`InvalidMDPError` naming ``name`` and the
    first offending index for ragged input, non-numbers, NaN and infinity.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        if value.dtype.kind == "b":
            raise InvalidMDPError(f"{name} is a boolean array; expected numbers")
        if _is_float_array(value):
            arr = np.array(value, dtype=np.float64)
            _check_finite(arr, name)
            return arr
    try:
        obj = np.array(value, dtype=object)
    except ValueError as exc:  # pragma: no cover - numpy refuses some ragged inputs
        raise InvalidMDPError(f"{name} is not a rectangular array: {exc}") from None
    for idx in np.ndindex(obj.shape):
        if isinstance(obj[idx], list | tuple | np.ndarray):
            raise InvalidMDPError(
                f"{name} is not a rectangular array: {name}{list(idx)} is a list of length "
                f"{len(obj[idx])} where its siblings are numbers or lists of another length"
            )
    if obj.size and all(
        isinstance(x, float | int | np.floating | np.integer) and not isinstance(x, bool | np.bool_)
        for x in obj.flat
    ):
        arr = obj.astype(np.float64)
        if all(isinstance(x, float | np.floating) or abs(int(x)) < 2**53 for x in obj.flat):
            _check_finite(arr, name)
            return arr
    out = np.empty(obj.shape, dtype=object)
    for idx in np.ndindex(obj.shape):
        out[idx] = to_fraction(obj[idx], f"{name}{list(idx)}")
    return out


def _check_finite(arr: NDArray[np.float64], name: str) -> None:
    idx = first_bad_index(~np.isfinite(arr))
    if idx is not None:
        raise InvalidMDPError(
            f"{name}{list(idx)} is {float(arr[idx])!r}; every number must be finite"
        )


#: The largest ``horizon * S * A``: the solvers keep ``Q``, ``V`` and the policy of every
#: time step (docs/conventions.md section 3), so a larger table would not fit in memory.
MAX_HORIZON_ENTRIES = 10**8

_DOUBLE_MAX = Fraction(np.finfo(np.float64).max)


def _fmt(x: Any) -> str:
    if isinstance(x, Fraction):
        if x.denominator < 10**6 and abs(x.numerator) < 10**15:
            return str(x)
        if 2**-1022 <= abs(x) < _DOUBLE_MAX:
            return repr(float(x))
        return short_text(x)  # beyond the double range, or subnormal: no overflow, no big str
    return repr(float(x))


def _given(text: str) -> str:
    """A string input as given, shortened to at most 40 characters for a message."""
    return text if len(text) <= 40 else text[:20] + "..." + text[-10:]


def _to_float(arr: NDArray[Any], name: str) -> NDArray[np.float64]:
    """The float64 rounding of ``arr``; an exact entry beyond the float64 range is an error."""
    if arr.dtype == object:
        for idx, x in zip(np.ndindex(arr.shape), arr.flat, strict=True):
            # a value that rounds to +-inf: |x| >= DBL_MAX + ulp(DBL_MAX) / 2
            if abs(x) >= _DOUBLE_MAX + Fraction(2) ** 970:
                raise InvalidMDPError(
                    f"{name}{list(idx)} is {_fmt(x)}; it is beyond the float64 range "
                    f"(|x| < 1.8e308) that the solvers compute in"
                )
        return np.array([float(x) for x in arr.flat], dtype=np.float64).reshape(arr.shape)
    return np.asarray(arr, dtype=np.float64)


def _log_rounding(exact: NDArray[np.object_], rounded: NDArray[np.float64]) -> float:
    """An upper bound on ``max |log(rounded / exact)|`` over the positive entries.

    For ``x > 0`` rounded to ``f > 0`` with ``d = |f - x| / x``: ``log(f / x) <= d``
    when ``f >= x``, and ``-log(f / x) <= d / (1 - d)`` when ``f < x``.
    """
    worst = Fraction(0)
    for idx in np.ndindex(exact.shape):
        x = exact[idx]
        if x > 0:
            f = Fraction(float(rounded[idx]))
            d = abs(f - x) / x
            worst = max(worst, d if f >= x else d / (1 - d))
    if worst == 0:
        return 0.0
    return max(float(worst) * (1 + 4 * U64), 2.0**-1074)


def _to_exact(arr: NDArray[Any]) -> NDArray[np.object_]:
    if arr.dtype == object:
        return arr
    out = np.empty(arr.shape, dtype=object)
    for idx, x in np.ndenumerate(arr):
        out[idx] = Fraction(float(x))
    return out


def _sparse_to_exact(csr: Any, values: NDArray[np.object_], S: int, A: int) -> NDArray[np.object_]:
    """The exact dense ``[S][A][S]`` Fractions of a CSR ``(S*A, S)`` (only when asked for)."""
    out = np.full((S * A, S), Fraction(0), dtype=object)
    for r in range(S * A):
        for k in range(csr.indptr[r], csr.indptr[r + 1]):
            out[r, csr.indices[k]] = values[k]
    return out.reshape(S, A, S)


def _exact_row_sums(p: NDArray[np.object_]) -> NDArray[np.object_]:
    sums = np.empty(p.shape[:2], dtype=object)
    for s, a in np.ndindex(p.shape[:2]):
        sums[s, a] = sum(p[s, a], Fraction(0))
    return sums


class FiniteMDP:
    """A finite MDP ``(P[s, a, s'], R[s, a], gamma, mu[s, a])``, immutable and validated.

    Parameters
    ----------
    transitions : array_like, shape (S, A, S), or sparse
        ``P[s, a, s']``; entries finite and ``>= 0``, each row ``P[s, a, :]``
        summing to 1 within :func:`row_sum_tolerance` (or to at most 1 with
        ``termination=True``: the missing mass ends the episode). Sparse: a
        SciPy sparse array or matrix of shape ``(S*A, S)`` (row ``s*A + a``),
        or a list of ``A`` sparse ``(S, S)`` matrices (pymdptoolbox's layout),
        with float64 entries, or a :class:`SparseEntries` (exact values, as a
        JSON file's ``"1/3"``), with no repeated ``(s, a, s')``; stored as CSR
        ``(S*A, S)`` in :attr:`transitions` (see :attr:`is_sparse`), never
        densified, and then ``rewards`` must have shape ``(S, A)``.
    rewards : array_like, shape (S, A) or (S, A, S)
        ``R[s, a]``, or ``R[s, a, s']``, reduced to ``sum_s' P[s, a, s'] R[s, a, s']``.
    gamma : float, int, str or Fraction
        Discount, ``0 <= gamma < 1``; with a finite ``horizon`` also ``gamma = 1``.
    prior : array_like, shape (S, A), optional
        The reference measure ``mu[s, a] >= 0``; None is the counting measure
        (all ones). Zeros mark unavailable actions; every row needs positive mass.
    termination : bool, optional
        Allow sub-stochastic rows (docs/conventions.md section 1, "Termination").
    horizon : int, optional
        A finite horizon ``H >= 1`` (backward induction from ``V_H = 0``), or
        None for the infinite discounted horizon.
    name, description : str, optional
        Labels, kept by the JSON writer.

    Raises
    ------
    InvalidMDPError
        For every violation, naming the argument, the first offending index and
        its value.

    Notes
    -----
    Numbers may be floats (taken as their exact binary value), ints, strings
    (``"0.1"``, ``"1/3"``, exact) or Fractions (docs/conventions.md section 2).
    The float64 arrays that the fast solvers use are read-only attributes; the
    exact rational values that the certified solver uses are in :attr:`exact`.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0]]], [[1.0]], 0.5)
    >>> mdp.num_states, mdp.num_actions, float(mdp.rewards[0, 0])
    (1, 1, 1.0)
    """

    __slots__ = (
        "transitions",
        "rewards",
        "gamma",
        "prior",
        "termination",
        "horizon",
        "name",
        "description",
        "_src",
        "_exact",
        "_r_ext",
        "_r_err",
        "_max_row_sum",
        "_mu_log_err",
        "_shape",
        "_row_nnz",
        "_p_exact",
    )

    transitions: Any  # NDArray (S, A, S), or a SciPy CSR array (S*A, S) for sparse input
    rewards: NDArray[np.float64]
    gamma: float
    prior: NDArray[np.float64] | None
    termination: bool
    horizon: int | None
    name: str | None
    description: str | None
    _src: tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None, Fraction]
    _exact: ExactMDP | None
    _r_ext: NDArray[Any]
    _r_err: NDArray[np.float64]
    _max_row_sum: float
    _mu_log_err: float
    _shape: tuple[int, int]
    _row_nnz: NDArray[np.int64] | None
    _p_exact: NDArray[np.object_] | None

    def __init__(
        self,
        transitions: ArrayLike,
        rewards: ArrayLike,
        gamma: Any,
        *,
        prior: ArrayLike | None = None,
        termination: bool = False,
        horizon: int | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        if not isinstance(termination, bool | np.bool_):
            raise InvalidMDPError(f"termination must be true or false, got {termination!r}")
        if horizon is not None and (
            isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1
        ):
            raise InvalidMDPError(f"horizon must be an integer >= 1 or None, got {horizon!r}")
        _refuse_foreign(transitions)
        sparse = is_sparse_input(transitions) or (
            isinstance(transitions, list | tuple) and any(is_sparse_input(m) for m in transitions)
        )
        sparse = sparse or isinstance(transitions, SparseEntries)
        p_sums: NDArray[np.float64] | None = None
        p_exact: NDArray[np.object_] | None = None
        if sparse:
            p_src, p_sums, p_exact = _read_sparse(transitions, bool(termination))
            S, A = p_src.shape[1], p_src.shape[0] // p_src.shape[1]
        else:
            p_src = _read_array(transitions, "transitions")
            if p_src.ndim != 3 or p_src.shape[0] != p_src.shape[2] or 0 in p_src.shape:
                raise InvalidMDPError(
                    f"transitions must have shape (S, A, S) with S, A >= 1, got shape "
                    f"{p_src.shape}" + _shape_hint(p_src.shape)
                )
            S, A = p_src.shape[0], p_src.shape[1]
        r_src = _read_array(rewards, "rewards")
        if sparse and r_src.shape == (S, A, S):
            raise InvalidMDPError(
                f"rewards of shape ({S}, {A}, {S}) with sparse transitions: pass the expected "
                f"rewards R[s, a] of shape ({S}, {A}) instead"
            )
        if r_src.shape not in ((S, A), (S, A, S)):
            raise InvalidMDPError(
                f"rewards must have shape ({S}, {A}) or ({S}, {A}, {S}) to match transitions, "
                f"got shape {r_src.shape}"
            )
        if horizon is not None and horizon * S * A > MAX_HORIZON_ENTRIES:
            raise InvalidMDPError(
                f"horizon is {horizon}: with S = {S} and A = {A} the solution has "
                f"horizon * S * A = {horizon * S * A} entries per table, more than the "
                f"{MAX_HORIZON_ENTRIES:.0e} the solvers can keep in memory"
            )
        g_src = to_fraction(gamma, "gamma")
        g_max_ok = g_src <= 1 if horizon is not None else g_src < 1
        if g_src < 0 or not g_max_ok:
            rng = "[0, 1] (finite horizon)" if horizon is not None else "[0, 1)"
            raise InvalidMDPError(f"gamma is {_fmt(g_src)}; it must lie in {rng}")
        if horizon is None and float(g_src) == 1.0:
            raise InvalidMDPError(
                f"gamma is {_given(gamma) if isinstance(gamma, str) else _fmt(g_src)}, which "
                f"rounds to 1 "
                f"in float64; the infinite "
                f"horizon needs a gamma whose double is below 1 (at most 1 - 2**-53)"
            )
        mu_src = None
        if prior is not None:
            mu_src = _read_array(prior, "prior")
            if mu_src.shape != (S, A):
                raise InvalidMDPError(
                    f"prior must have shape ({S}, {A}) to match transitions, got shape "
                    f"{mu_src.shape}"
                )
            self._check_prior(mu_src)
            mu64_checked = _to_float(mu_src, "prior")
            idx = first_bad_index(np.array((mu_src > 0) & (mu64_checked == 0), dtype=bool))
            if idx is not None:
                raise InvalidMDPError(
                    f"prior{list(idx)} is {_fmt(mu_src[idx])}; it is positive but below the "
                    f"float64 range (it rounds to 0, which would make the action unavailable): "
                    f"a positive weight must be at least 5e-324 (2**-1074)"
                )
        if p_sums is None:
            self._check_transitions(p_src, bool(termination))
            p64 = _to_float(p_src, "transitions")
            p64.setflags(write=False)
        else:
            p64 = p_src
        s = object.__setattr__
        s(self, "_src", (p_src, r_src, mu_src, g_src))
        s(self, "_exact", None)
        s(self, "_p_exact", p_exact)
        s(self, "_shape", (S, A))
        s(self, "_row_nnz", None if p_sums is None else np.diff(p_src.indptr).astype(np.int64))
        r_err = np.zeros((S, A))
        if r_src.ndim == 2:
            r64 = _to_float(r_src, "rewards")
            r_ext = r64.astype(np.longdouble)
        elif r_src.dtype == object or p_src.dtype == object:
            r64 = _to_float(self.exact.rewards, "rewards (reduced to [S][A])")  # correctly rounded
            r_ext = r64.astype(np.longdouble)
        else:
            # sum_s' P R in extended precision, then rounded; the rounding of the
            # extended sum is bounded by gamma_{S} * sum |P R| (Higham 2002, 3.1)
            prod = p_src.astype(np.longdouble) * r_src.astype(np.longdouble)
            r_ext = prod.sum(axis=2)
            r64 = r_ext.astype(np.float64)
            r_err = gamma_n(S + 2, UNIT_ROUNDOFF) * np.abs(prod).sum(axis=2).astype(float)
        r64.setflags(write=False)
        mu64 = None
        mu_log_err = 0.0
        if mu_src is not None:
            mu64 = _to_float(mu_src, "prior")
            mu64.setflags(write=False)
            if mu_src.dtype == object:
                mu_log_err = _log_rounding(mu_src, mu64)
        s(self, "transitions", p64)
        s(self, "rewards", r64)
        s(self, "gamma", float(g_src))
        s(self, "prior", mu64)
        s(self, "termination", bool(termination))
        s(self, "horizon", None if horizon is None else int(horizon))
        s(self, "name", name)
        s(self, "description", description)
        s(self, "_r_ext", r_ext)
        s(self, "_r_err", r_err)
        if p_sums is None:
            s(self, "_max_row_sum", float(p64.sum(axis=2).max()))
        else:
            s(self, "_max_row_sum", float(p_sums.max()))
        s(self, "_mu_log_err", mu_log_err)

    @staticmethod
    def _check_prior(mu: NDArray[Any]) -> None:
        for idx in np.ndindex(mu.shape):
            if mu[idx] < 0:
                raise InvalidMDPError(f"prior{list(idx)} is {_fmt(mu[idx])}; weights must be >= 0")
        for s in range(mu.shape[0]):
            if not any(x > 0 for x in mu[s]):
                raise InvalidMDPError(
                    f"prior[{s}, :] has no positive weight; every state needs an available action"
                )

    @staticmethod
    def _check_transitions(p: NDArray[Any], termination: bool) -> None:
        S = p.shape[0]
        if p.dtype == object:
            neg = np.array([[[x < 0 for x in row] for row in st] for st in p], dtype=bool)
        else:
            neg = p < 0
        idx = first_bad_index(neg)
        if idx is not None:
            raise InvalidMDPError(
                f"transitions{list(idx)} is {_fmt(p[idx])}; probabilities must be >= 0"
            )
        tol = row_sum_tolerance(S)
        sums = _exact_row_sums(p) if p.dtype == object else np.asarray(p.sum(axis=2), float)
        for s, a in np.ndindex(sums.shape):
            total = sums[s, a]
            if total > 1 + tol or (not termination and total < 1 - tol):
                hint = (
                    ""
                    if termination or total > 1
                    else "; pass termination=True for rows that end the episode"
                )
                if abs(total - 1) <= RENORMALIZE_TOLERANCE:
                    hint = "; FiniteMDP.from_unnormalized renormalises rows (float32 data?)"
                raise InvalidMDPError(
                    f"transitions[{s}, {a}, :] sums to {_fmt(total)}, not 1 "
                    f"(tolerance {tol:.1e}){hint}"
                )

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"FiniteMDP is immutable; cannot set {key!r}")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"FiniteMDP is immutable; cannot delete {key!r}")

    @property
    def num_states(self) -> int:
        """``S``, the number of states."""
        return self._shape[0]

    @property
    def num_actions(self) -> int:
        """``A``, the number of actions."""
        return self._shape[1]

    @property
    def is_sparse(self) -> bool:
        """True when ``transitions`` is stored sparse (CSR, shape ``(S*A, S)``, row ``s*A + a``)."""
        return self._row_nnz is not None

    def transition_matrix(self) -> Any:
        """``P`` as a matrix of shape ``(S*A, S)``, row ``s*A + a``: a view, or the CSR array.

        Internal (documented for the operators, solvers and bounds, which go
        through :mod:`softq_ref._linalg` with it).
        """
        if self._row_nnz is not None:
            return self.transitions
        S, A = self._shape
        return self.transitions.reshape(S * A, S)

    def row_terms(self) -> NDArray[np.int64] | int:
        """The number of terms in a product of a row of ``P`` with a vector.

        ``S`` for dense storage; for sparse storage the number of stored
        nonzeros of each row ``(s, a)``, an array of shape ``(S, A)``.
        Internal (documented for the rounding allowances of the float64 bounds:
        a dot product of ``n`` nonzero terms is within ``gamma_{n+1}`` of exact).
        """
        if self._row_nnz is None:
            return self._shape[0]
        return self._row_nnz.reshape(self._shape)

    def max_row_terms(self) -> int:
        """``max`` of :meth:`row_terms` (``S`` for dense storage)."""
        if self._row_nnz is None:
            return self._shape[0]
        return int(self._row_nnz.max(initial=0))

    @property
    def exact(self) -> ExactMDP:
        """The exact rational inputs (computed on first use and cached).

        Dense ``[S][A][S]`` even for sparse transitions (built only here, when
        asked for: ``S * A * S`` Fractions). Floats become the Fractions of their binary values; a reward
        ``R[s, a, s']`` is reduced in exact arithmetic.
        """
        if self._exact is None:
            p_src, r_src, mu_src, g_src = self._src
            if self.is_sparse:
                p = _sparse_to_exact(p_src, self.exact_sparse_values(), *self._shape)
            else:
                p = _to_exact(p_src)
            r = _to_exact(r_src)
            if r.ndim == 3:
                red = np.empty(r.shape[:2], dtype=object)
                for s, a in np.ndindex(red.shape):
                    red[s, a] = sum(
                        (pi * ri for pi, ri in zip(p[s, a], r[s, a], strict=True)), Fraction(0)
                    )
                r = red
            mu = None if mu_src is None else _to_exact(mu_src)
            object.__setattr__(self, "_exact", ExactMDP(p, r, mu, g_src))
        assert self._exact is not None
        return self._exact

    def exact_sparse_values(self) -> NDArray[np.object_]:
        """Sparse storage: the exact values (Fractions) of the stored entries, in CSR order.

        Internal (documented for the certified solver and the JSON writer,
        which work on the nonzeros only): entry ``k`` is ``P[s, a, t]`` for the
        ``k``-th stored entry of :attr:`transitions` (row ``s*A + a``, column
        ``t``). O(nnz) Fractions; for float input the Fractions of the doubles,
        built on each call.
        """
        if self._row_nnz is None:
            raise InvalidMDPError("exact_sparse_values is for sparse transitions only")
        if self._p_exact is not None:
            return self._p_exact
        out = np.empty(self.transitions.nnz, dtype=object)
        out[:] = [Fraction(x) for x in self.transitions.data.tolist()]
        return out

    def float_source(self) -> bool:
        """True when every input was a float64 (so the float arrays are the exact input).

        Internal (documented for the float64 bounds): tells whether the
        rounding of exact inputs to float64 must be added to a bound.
        """
        p_src, r_src, mu_src, g_src = self._src
        arrays_float = all(a is None or a.dtype != object for a in (p_src, r_src, mu_src))
        return arrays_float and self._p_exact is None and Fraction(self.gamma) == g_src

    def rewards_extended(self) -> NDArray[Any]:
        """``R[s, a]`` in ``numpy.longdouble`` (more accurate than float64 for 3-D rewards).

        Internal (documented for the float64 solvers and bounds, which compute
        residuals in extended precision).
        """
        return self._r_ext

    def reward_reduction_error(self) -> NDArray[np.float64]:
        """Bound on ``|rewards_extended() - exact reduced R|`` (0 for [S][A] float rewards).

        Internal (documented for the float64 bounds).
        """
        return self._r_err

    def prior_log_rounding(self) -> float:
        """Bound on ``max |log(prior / exact prior)|`` over the positive weights (0 if exact).

        Internal (documented for the float64 bounds): an exact prior (``"1/3"``)
        is rounded to float64, by at most ``U64`` relative in the normal range
        and by more for a subnormal weight; this moves each soft value
        ``alpha log sum mu exp(Q / alpha)`` by at most ``alpha`` times it.
        """
        return self._mu_log_err

    def max_row_sum_float(self) -> float:
        """``max_{s,a} sum_s' P[s, a, s']`` as summed in float64 (within ``gamma_S`` of exact).

        Internal (documented for the float64 bounds: the contraction factor).
        """
        return self._max_row_sum

    @property
    def reward_transitions(self) -> NDArray[Any]:
        """The rewards exactly as given (``[S][A]`` or ``[S][A][S]``; float64 or Fractions)."""
        return self._src[1]

    def source(self) -> dict[str, Any]:
        """The inputs as given (float64 arrays or Fraction arrays), for writers."""
        p_src, r_src, mu_src, g_src = self._src
        return {
            "transitions": p_src,
            "rewards": r_src,
            "gamma": g_src,
            "prior": mu_src,
            "termination": self.termination,
            "horizon": self.horizon,
            "name": self.name,
            "description": self.description,
        }

    def __repr__(self) -> str:
        extra = ", sparse" if self.is_sparse else ""
        if self.prior is not None:
            extra += ", prior=..."
        if self.termination:
            extra += ", termination=True"
        if self.horizon is not None:
            extra += f", horizon={self.horizon}"
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<FiniteMDP{label} S={self.num_states} A={self.num_actions} "
            f"gamma={self.gamma!r}{extra}>"
        )

    @classmethod
    def from_unnormalized(
        cls,
        transitions: ArrayLike,
        rewards: ArrayLike,
        gamma: Any,
        *,
        tolerance: float = RENORMALIZE_TOLERANCE,
        termination: bool = False,
        **options: Any,
    ) -> Renormalized:
        r"""Divide each row of ``P`` by its sum, build the MDP, and report how far rows moved.

        For transition tables stored in lower precision (float32 rows sum to 1
        only within about ``S * 6e-8``), which :class:`FiniteMDP` refuses. The
        rows are renormalised explicitly, never silently: the report says how
        many rows moved and by how much.

        Parameters
        ----------
        transitions : array_like of numbers, shape (S, A, S)
            ``P[s, a, s']``, finite and ``>= 0``, read as float64.
        rewards, gamma
            As for :class:`FiniteMDP`.
        tolerance : float, optional
            The largest ``|sum_s' P[s, a, s'] - 1|`` renormalised; a row further
            from 1 is an error in the data, not rounding, and is refused.
        termination : bool, optional
            With True, rows summing to less than 1 are kept (the missing mass
            ends the episode) and only rows summing to more than 1 are scaled.
        **options
            ``prior``, ``horizon``, ``name``, ``description``, as for
            :class:`FiniteMDP`.

        Returns
        -------
        Renormalized
            ``mdp`` (whose rows are the float64 quotients ``P[s, a, :] / sum``,
            exactly as docs/conventions.md section 2 reads floats), and the
            report: ``rows_moved``, ``worst_row``, ``worst_sum``,
            ``max_change``.

        Raises
        ------
        InvalidMDPError
            For a row summing to 0 or further than ``tolerance`` from 1, and
            everything :class:`FiniteMDP` refuses.

        Examples
        --------
        >>> P32 = np.array([[[0.1, 0.2, 0.7]] * 2] * 3, dtype=np.float32)
        >>> fixed = FiniteMDP.from_unnormalized(P32, np.zeros((3, 2)), 0.9)
        >>> print(fixed)  # doctest: +ELLIPSIS
        renormalised 6 of 6 rows of P; the furthest, transitions[0, 0, :], summed to 0.99999999...
        >>> fixed.max_change < 1e-8, float(abs(fixed.mdp.transitions.sum(axis=2) - 1).max()) < 1e-15
        (True, True)
        """
        if not isinstance(tolerance, float | int | np.floating) or not 0 <= tolerance < 1:
            raise InvalidMDPError(f"tolerance must be a number in [0, 1), got {tolerance!r}")
        _refuse_foreign(transitions)
        try:
            p = np.array(transitions, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidMDPError(
                "from_unnormalized reads transitions as float64; pass an array of numbers"
            ) from None
        if p.ndim != 3 or p.shape[0] != p.shape[2] or 0 in p.shape:
            raise InvalidMDPError(
                f"transitions must have shape (S, A, S) with S, A >= 1, got shape {p.shape}"
                + _shape_hint(p.shape)
            )
        _check_finite(p, "transitions")
        idx = first_bad_index(p < 0)
        if idx is not None:
            raise InvalidMDPError(
                f"transitions{list(idx)} is {_fmt(p[idx])}; probabilities must be >= 0"
            )
        sums = p.sum(axis=2)
        off = np.abs(sums - 1)
        short_ok = bool(termination) & (sums < 1)  # a short row ends the episode
        bad = first_bad_index((off > tolerance) & ~short_ok)
        if bad is not None:
            raise InvalidMDPError(
                f"transitions[{bad[0]}, {bad[1]}, :] sums to {_fmt(sums[bad])}, further from 1 "
                f"than tolerance={tolerance:g}: not a rounding error to renormalise"
            )
        scale = (sums != 1) & ~short_ok
        q = p.copy()
        q[scale] /= sums[scale][:, None]
        moved = scale & np.any(q != p, axis=2)
        worst = first_bad_index(moved & (off == off[moved].max(initial=0)))
        mdp = cls(q, rewards, gamma, termination=termination, **options)
        return Renormalized(
            mdp=mdp,
            rows_moved=int(moved.sum()),
            rows=int(moved.size),
            worst_row=None if worst is None else (worst[0], worst[1]),
            worst_sum=1.0 if worst is None else float(sums[worst]),
            max_change=float(np.abs(q - p).max()),
        )


@dataclass(frozen=True)
class Renormalized:
    """What :meth:`FiniteMDP.from_unnormalized` built, and how far it moved the rows.

    ``mdp`` is the MDP with the renormalised rows; ``rows_moved`` of the
    ``rows = S * A`` rows changed; ``worst_row`` ``(s, a)`` is the one whose sum
    ``worst_sum`` was furthest from 1 (None and 1.0 if no row moved);
    ``max_change`` is the largest change of an entry, ``max |P_new - P|``.
    ``str()`` says it in one line.
    """

    mdp: FiniteMDP
    rows_moved: int
    rows: int
    worst_row: tuple[int, int] | None
    worst_sum: float
    max_change: float

    def __str__(self) -> str:
        if self.worst_row is None:
            return f"no row of P moved: all {self.rows} rows already summed to 1"
        s, a = self.worst_row
        return (
            f"renormalised {self.rows_moved} of {self.rows} rows of P; the furthest, "
            f"transitions[{s}, {a}, :], summed to {self.worst_sum!r} "
            f"(largest change of an entry {self.max_change:.3g})"
        )


# Data from other libraries: a one-line error that names the adapter (issue 15).


def _refuse_foreign(transitions: Any) -> None:
    """Refuse Gymnasium's ``env.P`` table (a dict) or an environment, naming the adapter."""
    if isinstance(transitions, dict) or hasattr(transitions, "unwrapped"):
        what = "a dict (Gymnasium's env.P?)" if isinstance(transitions, dict) else "an environment"
        raise InvalidMDPError(
            f"transitions is {what}; FiniteMDP takes an array P[s, a, s'] of shape (S, A, S); "
            f"use {GYMNASIUM_ADAPTER}"
        )


def _shape_hint(shape: tuple[int, ...]) -> str:
    """For a shape that can only be pymdptoolbox's ``(A, S, S)``, the adapter to use."""
    if len(shape) == 3 and shape[1] == shape[2] != shape[0] and 0 not in shape:
        return (
            f", which looks like pymdptoolbox's P[a, s, s']: use {PYMDPTOOLBOX_ADAPTER}, "
            "or pass a list of A sparse (S, S) matrices"
        )
    return ""
