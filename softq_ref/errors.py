"""The exception types that bad input raises: one for every bad argument, one for bad MDP data.

In the manner of Hypothesis's ``InvalidArgument``: every public function
checks its arguments (with the helpers of :mod:`softq_ref._validate`) and
raises :class:`InvalidArgumentError` naming the argument, the first offending
index and the value. Bad MDP data (transitions, rewards, ``gamma``, prior,
termination, horizon, an MDP file) raises its subclass :class:`InvalidMDPError`.
Both are :class:`ValueError`. A :class:`RuntimeError` means an internal failure.
"""

from __future__ import annotations

__all__ = ["InvalidArgumentError", "InvalidMDPError"]


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
