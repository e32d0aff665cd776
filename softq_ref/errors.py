"""The one exception type that bad input raises."""

from __future__ import annotations

__all__ = ["InvalidMDPError"]


class InvalidMDPError(ValueError):
    """Raised for every invalid input to softq-ref.

    The message names the argument (or JSON key), the first offending index
    and the offending value, e.g.
    ``transitions[2, 1, :] sums to 0.9, not 1 (pass termination=True ...)``.
    It subclasses :class:`ValueError`, so ``except ValueError`` catches it.
    """
