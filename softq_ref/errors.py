"""The exception types: bad input, and a rounding that cannot be decided."""

from __future__ import annotations

__all__ = ["InvalidMDPError", "UndecidedRoundingError"]


class InvalidMDPError(ValueError):
    """Raised for every invalid input to softq-ref.

    The message names the argument (or JSON key), the first offending index
    and the offending value, e.g.
    ``transitions[2, 1, :] sums to 0.9, not 1 (pass termination=True ...)``.
    It subclasses :class:`ValueError`, so ``except ValueError`` catches it.
    """


class UndecidedRoundingError(ArithmeticError):
    """The certified solver cannot decide a correctly rounded digit.

    Raised when an entry's proven enclosure still contains a rounding
    boundary (a decimal midpoint of the printed format, or zero) after the
    largest refinement: the exact value may be that boundary, which no
    enclosure of positive width can decide. Asking for another number of
    digits moves the boundaries.
    """
