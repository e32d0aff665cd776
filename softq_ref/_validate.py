"""Argument checking, in one place: one error type, one checker, one alpha reader.

In the manner of Hypothesis's ``check_argument``/``InvalidArgument``: every
public function validates its arguments with these helpers, and every bad
argument raises :class:`~softq_ref.errors.InvalidArgumentError` (a
``ValueError``) with a message that names the argument, the first offending
index and the value; bad MDP data raises its subclass
:class:`~softq_ref.InvalidMDPError`. These names are internal to the package
(documented, not exported).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref.errors import InvalidArgumentError
from softq_ref.exact import short_text, to_fraction

__all__ = [
    "check_argument",
    "check_mdp",
    "GYMNASIUM_ADAPTER",
    "PYMDPTOOLBOX_ADAPTER",
    "first_bad_index",
    "read_alpha",
    "float_alpha",
    "positive_int",
]

#: The adapters to name when data come from another library (``softq_ref.io.envs``).
GYMNASIUM_ADAPTER = "softq_ref.io.from_gymnasium(env, gamma=...)"
PYMDPTOOLBOX_ADAPTER = "softq_ref.io.from_pymdptoolbox(P, R, gamma)"


def check_argument(condition: Any, message: str) -> None:
    """Raise :class:`InvalidArgumentError` with ``message`` unless ``condition`` holds.

    >>> check_argument(1 > 0, "never shown")
    >>> check_argument(False, "step_size must be > 0, got -1")
    Traceback (most recent call last):
    ...
    softq_ref.errors.InvalidArgumentError: step_size must be > 0, got -1
    """
    if not condition:
        raise InvalidArgumentError(message)


def first_bad_index(bad: NDArray[np.bool_] | np.bool_) -> tuple[int, ...] | None:
    """The index (in C order) of the first ``True`` entry of ``bad``, or None if there is none.

    >>> first_bad_index(np.array([[False, False], [False, True]]))
    (1, 1)
    >>> first_bad_index(np.zeros(3, dtype=bool)) is None
    True
    """
    if not bad.any():
        return None
    return tuple(int(i) for i in np.argwhere(np.asarray(bad))[0])


def read_alpha(value: Any, where: str = "alpha") -> Fraction:
    """The exact value of a temperature (``docs/conventions.md``, "Numbers in"); refuses ``< 0``.

    A float is its exact binary value, a string such as ``"0.1"`` or ``"1/3"``
    is exact; NaN and infinities are refused. ``where`` names the argument in
    the error (``"alpha"``, ``"--alpha"``).

    >>> read_alpha("0.1"), read_alpha("1/3"), read_alpha(0)
    (Fraction(1, 10), Fraction(1, 3), Fraction(0, 1))
    """
    alpha = to_fraction(value, where, error=InvalidArgumentError)
    if alpha < 0:
        raise InvalidArgumentError(f"{where} is {_shown(value)}; the temperature must be >= 0")
    return alpha


def _shown(value: Any) -> str:
    """``value`` for a message: as given if a string, else a short text of its exact value."""
    if isinstance(value, str):
        return value if len(value) <= 40 else value[:20] + "..." + value[-10:]
    if isinstance(value, float | np.floating):
        return repr(float(value))
    try:
        return short_text(to_fraction(value, "value", error=InvalidArgumentError))
    except InvalidArgumentError:  # pragma: no cover - called on numbers only
        return repr(value)


def float_alpha(value: Any, where: str = "alpha") -> tuple[float, Fraction]:
    """:func:`read_alpha` and its nearest double (for the float64 code), refusing overflow.

    >>> float_alpha("1/10")
    (0.1, Fraction(1, 10))
    """
    exact = read_alpha(value, where)
    try:
        a = float(exact)
    except OverflowError:
        a = math.inf
    if not math.isfinite(a):
        raise InvalidArgumentError(f"{where} is {_shown(value)}; too large for float64")
    return a, exact


def positive_int(value: Any, name: str) -> int:
    """``value`` as an ``int >= 1`` (booleans refused), naming ``name`` in the error.

    >>> positive_int(3, "digits")
    3
    """
    check_argument(
        not isinstance(value, bool | np.bool_)
        and isinstance(value, int | np.integer)
        and value >= 1,
        f"{name} must be a positive integer, got {value!r}",
    )
    return int(value)


def check_mdp(mdp: Any, where: str) -> None:
    """Refuse anything but a :class:`~softq_ref.FiniteMDP`, saying how to build one.

    ``where`` names the function (``"solve"``). A tuple such as ``(P, R, gamma)``,
    a Gymnasium environment or its ``P`` table gets a pointer to the constructor or
    the adapter that fits.

    >>> check_mdp(([[[1.0]]], [[0.0]], 0.9), "solve")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    softq_ref.errors.InvalidArgumentError: solve: mdp is a tuple, not a FiniteMDP; build one with ...
    """
    from softq_ref.mdp import FiniteMDP  # here: softq_ref.mdp imports this module

    if isinstance(mdp, FiniteMDP):
        return
    if isinstance(mdp, dict) or hasattr(mdp, "unwrapped"):
        hint = f"for a Gymnasium environment use {GYMNASIUM_ADAPTER}"
    else:
        hint = (
            "build one with softq_ref.FiniteMDP(P, R, gamma) (P[s, a, s'] of shape (S, A, S)), "
            f"or from pymdptoolbox's P[a, s, s'] with {PYMDPTOOLBOX_ADAPTER}"
        )
    raise InvalidArgumentError(f"{where}: mdp is a {type(mdp).__name__}, not a FiniteMDP; {hint}")
