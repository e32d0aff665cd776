"""The JSON MDP format (docs/conventions.md section 3): read exactly, written losslessly.

A file is one JSON object::

    {
      "transitions": [[[0.5, 0.5], [1, 0]], [[0, 1], [0, 1]]],
      "rewards": [["1", "0"], ["0", "1/2"]],
      "gamma": "9/10",
      "prior": [[1, 1], [1, 0]],
      "termination": false,
      "alpha": "0.1"
    }

``transitions`` is ``P[s][a][s']``, ``rewards`` is ``R[s][a]`` or
``R[s][a][s']``, ``gamma`` is required; ``prior`` (the reference measure
``mu[s][a]``), ``termination`` (default false), ``alpha``, ``name`` and
``description`` are optional. ``horizon`` (an integer ``H >= 1``, the finite
horizon of :class:`~softq_ref.FiniteMDP`) is an extension that docs/conventions.md section 3
does not list. Any other key is an error, so a misspelt key is never ignored.

Numbers follow docs/conventions.md section 2: a JSON number is the double it denotes (``0.1``
is the double nearest one tenth), a string is exact (``"0.1"`` is one tenth,
``"1/3"`` a third). Literals that denote no finite double are refused:
``NaN``, ``Infinity``, ``1e400``, and integer literals that are not exactly a
double (``9007199254740993``; write it as a string to mean it exactly).

The writer keeps every value exact: a value that is a double is written as a
JSON number (an integer, or the ``repr`` of the double, which round-trips),
any other rational as an exact string (``"0.1"``, ``"1/3"``), so
``loads_mdp(dumps_mdp(mdp))`` has the same exact values as ``mdp``. The
spelling depends on the exact value only (``0.5`` and ``"1/2"`` are both
written ``0.5``; the sign of a zero is not kept).
"""

from __future__ import annotations

import difflib
import json
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref._validate import read_alpha
from softq_ref.errors import InvalidArgumentError, InvalidMDPError
from softq_ref.exact import decimal_text, ratio_text, to_fraction
from softq_ref.mdp import FiniteMDP, SparseEntries

__all__ = [
    "MDPProblem",
    "KEYS",
    "load_mdp",
    "load_problem",
    "loads_mdp",
    "loads_problem",
    "dumps_mdp",
    "save_mdp",
    "exact_text",
]

#: The keys of the format, in the order the writer uses, with what each holds.
KEYS: dict[str, str] = {
    "name": "a short name (string)",
    "description": "free text (string)",
    "transitions": 'P[s][a][s\'], shape [S][A][S], or sparse {"shape": [S, A, S], '
    '"entries": [[s, a, s2, p], ...]}',
    "rewards": "R[s][a] or R[s][a][s']",
    "gamma": "the discount, 0 <= gamma < 1",
    "prior": "the reference measure mu[s][a] >= 0; default all ones",
    "termination": "true lets rows of P sum to less than 1; default false",
    "horizon": "a finite horizon H >= 1 (an extension); default infinite",
    "alpha": "the temperature, alpha >= 0; a command-line --alpha wins",
}
_REQUIRED = ("transitions", "rewards", "gamma")

# Integers of magnitude up to 2**53 are all exact doubles; beyond that only some are.
_EXACT_INT_LIMIT = 2**53
# A longer integer literal cannot be a finite double (the largest has 309 digits);
# checking the length first keeps int() away from Python's 4300-digit limit.
_MAX_INT_DIGITS = 310


@dataclass(frozen=True)
class MDPProblem:
    """An MDP file's contents: the MDP and the file's ``alpha`` (None if absent).

    ``alpha`` is the exact value (docs/conventions.md section 2): the string ``"0.1"`` gives
    ``Fraction(1, 10)``, the JSON number ``0.1`` the Fraction of that double.
    """

    mdp: FiniteMDP
    alpha: Fraction | None


class _Refused:
    """A JSON number literal that denotes no finite double; reported on validation."""

    __slots__ = ("text", "reason")

    def __init__(self, text: str, reason: str) -> None:
        self.text = text if len(text) <= 40 else text[:20] + "..." + text[-10:]
        self.reason = reason


def _parse_float(text: str) -> float | _Refused:
    x = float(text)  # the double nearest the literal (correctly rounded)
    if not math.isfinite(x):
        return _Refused(text, "overflows a double; every number must be finite")
    return x


def _parse_int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        return _Refused(text, "is outside the range of a double; every number must be finite")
    n = int(text)
    if abs(n) <= _EXACT_INT_LIMIT:
        return n
    try:
        exact = int(float(n)) == n
    except OverflowError:
        return _Refused(text, "is outside the range of a double; every number must be finite")
    if exact:
        return n
    return _Refused(
        text,
        f"no double equals exactly (the nearest is {float(n)!r}); "
        f'write it as a string, "{text}", to mean that integer exactly',
    )


def _parse_constant(text: str) -> _Refused:
    return _Refused(text, "is not a finite number; every number must be finite")


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidMDPError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, _Refused):
        return value.text
    return repr(value)


def _where(key: str, idx: tuple[int, ...]) -> str:
    return key + (f"[{', '.join(map(str, idx))}]" if idx else "")


def _check_scalar(value: Any, where: str) -> None:
    """A number or a number string; anything else raises naming ``where``."""
    if isinstance(value, _Refused):
        raise InvalidMDPError(f"{where} is {value.text}, which {value.reason}")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidMDPError(f"{where} is {_json_kind(value)}; expected a number")
    if isinstance(value, str):
        to_fraction(value, where)  # raises naming ``where`` if it is not a number


def _array_shape(value: Any, key: str, dims: str) -> tuple[int, ...]:
    """Check that ``value`` is a rectangular nested list of numbers; return its shape.

    Errors name ``key`` and the first offending index, e.g.
    ``transitions[1] has 3 entries where transitions[0] has 2``.
    """
    if not isinstance(value, list):
        raise InvalidMDPError(f"{key} is {_json_kind(value)}; expected a {dims} array of numbers")
    shape: list[int] = []
    probe: Any = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    if len(shape) > 3:  # no key of the format nests deeper; refuse before walking it
        raise InvalidMDPError(
            f"{key} has {len(shape)} levels of lists; expected a {dims} array of numbers"
        )

    def walk(node: Any, idx: tuple[int, ...]) -> None:
        depth = len(idx)
        if depth < len(shape):
            if not isinstance(node, list):
                first = _where(key, (0,) * depth)
                raise InvalidMDPError(
                    f"{_where(key, idx)} is {_json_kind(node)} where {first} is a list; "
                    f"expected a rectangular {dims} array"
                )
            if len(node) != shape[depth]:
                first = _where(key, (0,) * depth)
                raise InvalidMDPError(
                    f"{_where(key, idx)} has {_entries(len(node))} where {first} has "
                    f"{shape[depth]}; expected a rectangular {dims} array"
                )
            if depth == len(shape) - 1 and all(type(x) is float or type(x) is int for x in node):
                return  # the common case: a row of plain JSON numbers (fast path)
            for i, child in enumerate(node):
                walk(child, (*idx, i))
        elif isinstance(node, list):
            first = _where(key, (0,) * depth)
            raise InvalidMDPError(
                f"{_where(key, idx)} is a list where {first} is a number; "
                f"expected a rectangular {dims} array"
            )
        else:
            _check_scalar(node, _where(key, idx))

    walk(value, ())
    return tuple(shape)


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _check_dims(key: str, shape: tuple[int, ...], expected: tuple[int, ...], layout: str) -> None:
    """Name the first level at which ``shape`` differs from ``expected``."""
    if len(shape) != len(expected):
        raise InvalidMDPError(
            f"{key} has {len(shape)} levels of lists (shape {list(shape)}); expected "
            f"{len(expected)}: {layout}"
        )
    for depth, (got, want) in enumerate(zip(shape, expected, strict=True)):
        if got != want:
            raise InvalidMDPError(
                f"{_where(key, (0,) * depth)} has {_entries(got)}; expected {want}: {layout}"
            )


def _problem_from_object(obj: Any) -> MDPProblem:
    if not isinstance(obj, dict):
        raise InvalidMDPError(
            f"the top level is {_json_kind(obj)}; expected a JSON object with the keys "
            f"transitions, rewards and gamma"
        )
    for key in obj:
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidMDPError(f"unknown key {key!r}{hint}; the keys are {', '.join(KEYS)}")
    for key in _REQUIRED:
        if key not in obj:
            raise InvalidMDPError(f"the required key {key!r} is missing: {KEYS[key]}")

    transitions = obj["transitions"]
    if isinstance(transitions, dict):
        transitions = _sparse_transitions(transitions)
        S, A = transitions.num_states, transitions.num_actions
    else:
        p_shape = _array_shape(transitions, "transitions", "[S][A][S]")
        if len(p_shape) != 3 or 0 in p_shape:
            raise InvalidMDPError(
                f"transitions has shape {list(p_shape)}; expected [S][A][S] with S, A >= 1"
            )
        S, A = p_shape[0], p_shape[1]
    sizes = f"S = {S} states and A = {A} actions (from transitions)"
    if not isinstance(transitions, SparseEntries):
        _check_dims("transitions", p_shape, (S, A, S), f"[S][A][S] with {sizes}")
    r_shape = _array_shape(obj["rewards"], "rewards", "[S][A] or [S][A][S]")
    if isinstance(transitions, SparseEntries) and len(r_shape) == 3:
        raise InvalidMDPError(
            f"rewards has shape {list(r_shape)}, R[s][a][s']; with sparse transitions "
            f"rewards must be the expected rewards R[s][a], shape [{S}][{A}]"
        )
    r_expected = (S, A, S) if len(r_shape) == 3 else (S, A)
    _check_dims("rewards", r_shape, r_expected, f"[S][A] or [S][A][S] with {sizes}")
    if "prior" in obj:
        mu_shape = _array_shape(obj["prior"], "prior", "[S][A]")
        _check_dims("prior", mu_shape, (S, A), f"[S][A] with {sizes}")
    _check_scalar(obj["gamma"], "gamma")
    termination = obj.get("termination", False)
    if not isinstance(termination, bool):
        raise InvalidMDPError(f"termination is {_json_kind(termination)}; expected true or false")
    horizon = obj.get("horizon")
    if horizon is not None and (
        isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1
    ):
        raise InvalidMDPError(f"horizon is {_json_kind(horizon)}; expected an integer >= 1")
    for key in ("name", "description"):
        if key in obj and not isinstance(obj[key], str):
            raise InvalidMDPError(f"{key} is {_json_kind(obj[key])}; expected a string")
    alpha = None
    if "alpha" in obj:
        _check_scalar(obj["alpha"], "alpha")
        alpha = read_alpha(obj["alpha"], "alpha")

    mdp = FiniteMDP(
        transitions,
        obj["rewards"],
        obj["gamma"],
        prior=obj.get("prior"),
        termination=termination,
        horizon=horizon,
        name=obj.get("name"),
        description=obj.get("description"),
    )
    return MDPProblem(mdp, alpha)


_SPARSE_KEYS = ("shape", "entries")
_SPARSE_FORM = '{"shape": [S, A, S], "entries": [[s, a, s2, p], ...]}'


def _sparse_transitions(obj: dict[str, Any]) -> SparseEntries:
    """Read the sparse form of ``transitions`` (docs/conventions.md section 3), entry by entry.

    ``{"shape": [S, A, S], "entries": [[s, a, s2, p], ...]}``: entries not listed
    are 0. Errors name the entry's index ``k`` (``transitions.entries[k]``) and
    its value: a malformed entry, an index outside the shape, a ``p`` that is
    not a number or is negative, and a ``(s, a, s2)`` listed twice (both
    indices). Rows that do not sum to 1 are refused by :class:`FiniteMDP`.
    Time and memory O(number of entries): no dense row is formed.
    """
    for key in obj:
        if key not in _SPARSE_KEYS:
            raise InvalidMDPError(
                f"transitions has the unknown key {key!r}; the sparse form is {_SPARSE_FORM}"
            )
    for key in _SPARSE_KEYS:
        if key not in obj:
            raise InvalidMDPError(f"transitions has no {key!r}; the sparse form is {_SPARSE_FORM}")
    shape = obj["shape"]
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or not all(type(n) is int and n >= 1 for n in shape)
        or shape[0] != shape[2]
    ):
        raise InvalidMDPError(
            f"transitions.shape is {_json_text(shape)}; expected [S, A, S] with integers S, A >= 1"
        )
    S, A = shape[0], shape[1]
    entries = obj["entries"]
    if not isinstance(entries, list):
        raise InvalidMDPError(
            f"transitions.entries is {_json_kind(entries)}; expected a list of [s, a, s2, p]"
        )
    n = len(entries)
    idx = np.empty((3, n), dtype=np.int64)
    values: list[Any] = [None] * n
    exact = False
    limits = (S, A, S)
    for k, entry in enumerate(entries):
        where = f"transitions.entries[{k}]"
        if not isinstance(entry, list) or len(entry) != 4:
            raise InvalidMDPError(f"{where} is {_json_text(entry)}; expected [s, a, s2, p]")
        for j, (i, lim, name) in enumerate(zip(entry[:3], limits, ("s", "a", "s2"), strict=True)):
            if type(i) is not int or not 0 <= i < lim:
                raise InvalidMDPError(
                    f"{where} is {_json_text(entry)}: {name} = {_json_text(i)} is not an "
                    f"integer in [0, {lim}) (shape [{S}, {A}, {S}])"
                )
            idx[j, k] = i
        p = entry[3]
        _check_scalar(p, where + "[3]")
        if isinstance(p, str):
            p = to_fraction(p, where + "[3]")
            exact = True
        if p < 0:
            raise InvalidMDPError(
                f"{where} is {_json_text(entry)}: p = {_json_text(entry[3])} is negative; "
                "probabilities must be >= 0"
            )
        values[k] = p
    key = (idx[0] * A + idx[1]) * S + idx[2]
    order = np.argsort(key, kind="stable")
    same = np.flatnonzero(key[order][1:] == key[order][:-1])
    if same.size:
        first, second = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        s, a, t = (int(x) for x in idx[:, first])
        raise InvalidMDPError(
            f"transitions.entries[{first}] and transitions.entries[{second}] both give "
            f"(s, a, s2) = ({s}, {a}, {t}); each may appear once"
        )
    if exact:
        vals = np.empty(n, dtype=object)
        vals[:] = [Fraction(x) for x in values]
    else:
        vals = np.array(values, dtype=np.float64)
    return SparseEntries(S, A, idx[0], idx[1], idx[2], vals)


def _json_text(value: Any) -> str:
    """A JSON value as written, shortened for a one-line message."""
    try:
        text = json.dumps(value, default=lambda v: v.text if isinstance(v, _Refused) else str(v))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:40] + "..." + text[-10:]


def loads_problem(text: str | bytes, *, source: str = "<string>") -> MDPProblem:
    """Parse the JSON MDP format (docs/conventions.md section 3) from text.

    Parameters
    ----------
    text : str or bytes
        The JSON text (bytes must be UTF-8).
    source : str, optional
        What to call the text in error messages (a file name).

    Returns
    -------
    MDPProblem
        The MDP and the file's exact ``alpha`` (None if the key is absent).

    Raises
    ------
    InvalidMDPError
        For invalid JSON, an unknown or repeated key, or invalid MDP data; the
        message starts with ``source``, then names the key, the first offending
        index and its value.

    Examples
    --------
    >>> p = loads_problem('{"transitions": [[[1]]], "rewards": [["1/2"]], "gamma": 0.9,'
    ...                   ' "alpha": "0.1"}')
    >>> p.alpha, float(p.mdp.rewards[0, 0])
    (Fraction(1, 10), 0.5)
    """
    if isinstance(text, bytes):
        text = _decode(text, source)
    try:
        try:
            obj = json.loads(
                text,
                parse_float=_parse_float,
                parse_int=_parse_int,
                parse_constant=_parse_constant,
                object_pairs_hook=_object_pairs,
            )
        except json.JSONDecodeError as exc:
            raise InvalidMDPError(
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        except RecursionError:
            raise InvalidMDPError("invalid JSON: nested too deeply") from None
        return _problem_from_object(obj)
    except InvalidArgumentError as exc:  # any bad value in a file is bad MDP data
        # FiniteMDP speaks of keyword arguments; in a file they are JSON keys.
        msg = str(exc).replace("termination=True", '"termination": true')
        raise InvalidMDPError(f"{source}: {msg}") from None


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")  # a leading byte-order mark is allowed
    except UnicodeDecodeError as exc:
        raise InvalidMDPError(
            f"{source}: not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r})"
        ) from None


def loads_mdp(text: str, *, source: str = "<string>") -> FiniteMDP:
    """Parse an MDP from JSON text; the ``alpha`` key, if any, is validated, then dropped.

    Parameters
    ----------
    text : str
        The JSON text (docs/conventions.md section 3).
    source : str, optional
        What to call the text in error messages.

    Returns
    -------
    FiniteMDP
        The MDP, with the exact values of the text.

    Raises
    ------
    InvalidMDPError
        As :func:`loads_problem`.

    Examples
    --------
    >>> loads_mdp('{"transitions": [[[1]]], "rewards": [[1]], "gamma": "1/2"}').gamma
    0.5
    """
    return loads_problem(text, source=source).mdp


def load_problem(path: str | os.PathLike[str]) -> MDPProblem:
    """Read an MDP file (docs/conventions.md section 3) and its optional ``alpha``.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    MDPProblem
        The MDP and the file's exact ``alpha`` (None if absent).

    Raises
    ------
    OSError
        If the file cannot be read.
    InvalidMDPError
        If it is not a valid MDP file; the message starts with the path, then
        names the key, the first offending index and its value.

    Notes
    -----
    Numbers are read exactly (docs/conventions.md section 2): a JSON number is
    the double it denotes, a string such as ``"0.1"`` or ``"1/3"`` is exact.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    return loads_problem(data, source=os.fspath(path))


def load_mdp(path: str | os.PathLike[str]) -> FiniteMDP:
    """Read a :class:`~softq_ref.FiniteMDP` from a JSON file (docs/conventions.md section 3).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    FiniteMDP
        The MDP; the file's ``alpha``, if any, is checked and dropped (see
        :func:`load_problem`).

    Raises
    ------
    OSError
        If the file cannot be read.
    InvalidMDPError
        If it is not a valid MDP file (numbers are read exactly, unknown keys are
        refused).
    """
    return load_problem(path).mdp


# ---------------------------------------------------------------- writing


def exact_text(x: Fraction) -> str:
    """An exact string for a rational: a decimal when it terminates, else ``"p/q"``.

    A terminating decimal much longer than ``"p/q"`` is written in whichever of
    ``"p/q"`` and ``"me-k"`` is shorter. :func:`~softq_ref.exact.to_fraction`
    reads every form back exactly.

    >>> exact_text(Fraction(1, 10)), exact_text(Fraction(1, 3)), exact_text(Fraction(-5, 4))
    ('0.1', '1/3', '-1.25')
    >>> exact_text(Fraction(7)), exact_text(Fraction(1, 2**70))
    ('7', '1/1180591620717411303424')
    """
    ratio, positional = ratio_text(x), decimal_text(x)
    if positional is None or x.denominator == 1:
        return ratio
    if len(positional) <= len(ratio) + 4:  # prefer the readable form when not much longer
        return positional
    # as m * 10**-k, m the decimal's digits without the point
    k = len(positional) - positional.index(".") - 1
    sign, digits = ("-" if x < 0 else ""), positional.lstrip("-").replace(".", "").lstrip("0")
    return min(ratio, f"{sign}{digits}e-{k}", key=len)


def _is_double(x: Fraction) -> bool:
    try:
        return Fraction(float(x)) == x
    except OverflowError:
        return False


def _encode(x: Any) -> int | float | str:
    """The one JSON spelling of the exact value of ``x`` (a float or a Fraction).

    An integer of magnitude at most 2**53 is written as a JSON integer, any
    other double as its ``repr`` (which reads back as the same double), any
    other rational as :func:`exact_text`. The spelling depends only on the
    exact value, so ``-0.0`` is written as ``0`` (both are exactly zero).
    """
    if isinstance(x, Fraction):
        if x.denominator == 1 and abs(x.numerator) <= _EXACT_INT_LIMIT:
            return int(x.numerator)
        if _is_double(x):
            return float(x)
        return exact_text(x)
    f = float(x)
    if f.is_integer() and abs(f) <= _EXACT_INT_LIMIT:
        return int(f)
    return f


def _encode_array(arr: NDArray[Any]) -> list[Any]:
    out = np.empty(arr.shape, dtype=object)
    for idx, x in np.ndenumerate(arr):
        out[idx] = _encode(x)
    result: list[Any] = out.tolist()
    return result


def _dump_array(rows: list[Any]) -> str:
    """One line per state (first index), the rest of each row inline."""
    inner = ",\n    ".join(json.dumps(row, allow_nan=False) for row in rows)
    return "[\n    " + inner + "\n  ]"


def _dump_sparse(mdp: FiniteMDP) -> str:
    """The sparse form of ``transitions``, one entry ``[s, a, s2, p]`` per line."""
    S, A = mdp.num_states, mdp.num_actions
    csr = mdp.transitions
    rows = np.repeat(np.arange(S * A, dtype=np.int64), np.diff(csr.indptr))
    lines = [
        json.dumps([r // A, r % A, t, _encode(p)], allow_nan=False)
        for r, t, p in zip(
            rows.tolist(), csr.indices.tolist(), mdp.exact_sparse_values().tolist(), strict=True
        )
    ]
    body = ",\n      ".join(lines)
    entries = "[\n      " + body + "\n    ]" if lines else "[]"
    return '{\n    "shape": ' + json.dumps([S, A, S]) + ',\n    "entries": ' + entries + "\n  }"


def dumps_mdp(mdp: FiniteMDP, *, alpha: Any = None) -> str:
    """Write ``mdp`` (and optionally ``alpha``) in the JSON MDP format, losslessly.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP.
    alpha : float, int, str or Fraction, optional
        A temperature to store under ``"alpha"``.

    Returns
    -------
    str
        The JSON text, one state's row per line.

    Raises
    ------
    InvalidArgumentError
        For a bad ``alpha``.

    Notes
    -----
    Doubles are written as JSON numbers, other rationals as exact strings, so
    reading the text back gives the same exact values (docs/conventions.md
    section 2). Sparse transitions (:attr:`FiniteMDP.is_sparse`) are written in
    the sparse form ``{"shape": [S, A, S], "entries": [[s, a, s2, p], ...]}``,
    one entry per line in the order ``(s, a, s2)``, never densified.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0]]], [["1/3"]], "0.9")
    >>> print(dumps_mdp(mdp, alpha="0.1"))
    {
      "transitions": [
        [[1]]
      ],
      "rewards": [
        ["1/3"]
      ],
      "gamma": "0.9",
      "termination": false,
      "alpha": "0.1"
    }
    """
    src = mdp.source()
    fields: list[tuple[str, str]] = []
    for key in ("name", "description"):
        if src[key] is not None:
            fields.append((key, json.dumps(src[key])))
    if mdp.is_sparse:
        fields.append(("transitions", _dump_sparse(mdp)))
    else:
        fields.append(("transitions", _dump_array(_encode_array(src["transitions"]))))
    fields.append(("rewards", _dump_array(_encode_array(src["rewards"]))))
    fields.append(("gamma", json.dumps(_encode(src["gamma"]))))
    if src["prior"] is not None:
        fields.append(("prior", _dump_array(_encode_array(src["prior"]))))
    fields.append(("termination", json.dumps(bool(src["termination"]))))
    if src["horizon"] is not None:
        fields.append(("horizon", json.dumps(int(src["horizon"]))))
    if alpha is not None:
        fields.append(("alpha", json.dumps(_encode(read_alpha(alpha, "alpha")))))
    body = ",\n".join(f"  {json.dumps(key)}: {value}" for key, value in fields)
    return "{\n" + body + "\n}"


def save_mdp(mdp: FiniteMDP, path: str | os.PathLike[str], *, alpha: Any = None) -> None:
    """Write ``mdp`` to a file in the JSON MDP format (see :func:`dumps_mdp`).

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP.
    path : str or os.PathLike
        The file to write (UTF-8, with a final newline).
    alpha : float, int, str or Fraction, optional
        A temperature to store under ``"alpha"``.

    Raises
    ------
    OSError
        If the file cannot be written.
    InvalidArgumentError
        For a bad ``alpha``.
    """
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(dumps_mdp(mdp, alpha=alpha) + "\n")
