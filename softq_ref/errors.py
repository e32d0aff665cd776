"""The exception types: one for every bad argument, one for bad MDP data, one for an undecided digit.

In the manner of Hypothesis's ``InvalidArgument``: every public function
checks its arguments (with the helpers of :mod:`softq_ref._validate`) and
raises :class:`InvalidArgumentError` naming the argument, the first offending
index and the value. Bad MDP data (transitions, rewards, ``gamma``, prior,
termination, horizon, an MDP file) raises its subclass :class:`InvalidMDPError`.
Both are :class:`ValueError`. :class:`UndecidedRoundingError` says that the
certified solver cannot decide a correctly rounded digit. A
:class:`RuntimeError` means an internal failure.
"""

from __future__ import annotations

__all__ = ["InvalidArgumentError", "InvalidMDPError", "UndecidedRoundingError"]


class InvalidArgumentError(ValueError):
    """Raised for every invalid argument to softq-ref (a :class:`ValueError`).

    The message names the argument, the first offending index and the
    offending value, e.g. ``Q[1] is nan; every entry must be finite`` or
    ``alpha is -1; the temperature must be >= 0``.
    """


class InvalidMDPError(InvalidArgumentError):
    """Raised for invalid MDP data: transitions, rewards, gamma, prior, termination, horizon.

    The message names the argument (or JSON key), the first offending index
    and the offending value, e.g.
    ``transitions[2, 1, :] sums to 0.9, not 1 (pass termination=True ...)``.
    It subclasses :class:`InvalidArgumentError` and so :class:`ValueError`:
    ``except ValueError`` catches it.
    """


class UndecidedRoundingError(ArithmeticError):
    """The certified solver cannot decide a correctly rounded digit.

    Raised when an entry's proven enclosure still contains a rounding
    boundary (a decimal midpoint of the printed format, or zero) after the
    largest refinement: the exact value may be that boundary, which no
    enclosure of positive width can decide. Asking for another number of
    digits moves the boundaries.
    """
