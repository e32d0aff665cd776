"""Shared helpers of :mod:`softq_ref.symbolic`: the loud failure and the zero test."""

from __future__ import annotations

import sympy as sp

__all__ = ["DerivationError", "require", "require_zero"]


class DerivationError(AssertionError):
    """A step of a symbolic derivation did not hold.

    It subclasses :class:`AssertionError` so that a notebook check cell and a
    pytest test both report it as a failed assertion; unlike a bare ``assert``
    it is raised under ``python -O`` too.
    """


def require(condition: object, message: str) -> None:
    """Raise :class:`DerivationError` with ``message`` unless ``condition`` is exactly True.

    Parameters
    ----------
    condition : object
        The claim (a bool or a sympy relational).
    message : str
        What the claim says, for the error.

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    A sympy relational that cannot be decided is *not* True, so an undecided
    step fails instead of passing silently.
    """
    if condition is not True and condition is not sp.true:
        raise DerivationError(message)


def require_zero(expr: sp.Expr | sp.MatrixBase, message: str) -> None:
    """Raise unless ``expr`` simplifies to exactly zero (a scalar or every matrix entry).

    Parameters
    ----------
    expr : sp.Expr | sp.MatrixBase
        A sympy expression.
    message : str
        What the claim says, for the error.

    Raises
    ------
    DerivationError
        If a step does not hold (it is an :class:`AssertionError`).

    Notes
    -----
    The test is symbolic: ``sympy.simplify`` after expanding logarithms (the
    symbols carry the sign assumptions that make that valid). A numerical
    near-zero never passes.
    """
    items = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
    for k, item in enumerate(items):
        e = sp.expand_log(sp.sympify(item), force=False)
        if e == 0:
            continue
        if sp.simplify(e) == 0:
            continue
        if sp.simplify(sp.expand(sp.powsimp(e, force=False))) == 0:
            continue
        where = f" (entry {k})" if len(items) > 1 else ""
        raise DerivationError(f"{message}{where}: residual {item} does not simplify to 0")
