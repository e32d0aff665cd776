"""The certified high-precision solver: any number of digits, each with a proven bound.

:func:`solve_certified` (in :mod:`softq_ref.certified.solver`, which describes
the method) returns a :class:`CertifiedSolution`. Its parts, private to this
subpackage: :mod:`~softq_ref.certified.grid` (the exact problem on a fixed-point
grid), :mod:`~softq_ref.certified.newton` (Newton's method at rising precision),
:mod:`~softq_ref.certified.arith` (interval arithmetic: mpmath or python-flint),
:mod:`~softq_ref.certified.exact_policy` (``alpha = 0`` in rational arithmetic),
:mod:`~softq_ref.certified.printing` and :mod:`~softq_ref.certified.decimal_out`
(enclosures to correctly rounded decimals and the printed error bound).
Importing it loads NumPy only; mpmath, sympy and flint are imported when a
solve needs them.
"""

from __future__ import annotations

from softq_ref.certified.solver import CertifiedSolution, solve_certified

__all__ = ["CertifiedSolution", "solve_certified"]
