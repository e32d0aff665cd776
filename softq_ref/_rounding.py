"""Floating-point constants of the rounding-error analyses (documented internal names).

Every a-priori bound in the package (the float64 solvers' certificates in
:mod:`softq_ref.float64.bounds`, the finite-horizon backward induction, the
reduction of rewards ``R[s, a, s']`` in :class:`~softq_ref.FiniteMDP`) uses
these, so each constant is declared once.

References
----------
N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
SIAM (2002), section 3.1 (the constant ``gamma_n``) and eq. 3.5 (dot products).
``proofs/coq/Rounding.v``: ``dot_error`` and ``dot_error_binary64`` (the
underflow term of a float64 dot product, subnormals included).
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

__all__ = ["EXTENDED", "TINY", "U64", "UNIT_ROUNDOFF", "dot_underflow", "gamma_n"]

#: The extended type of the accurate residuals (``numpy.longdouble``: 64-bit significand on x86-64).
EXTENDED: type[np.floating[Any]] = np.longdouble

#: Unit roundoff of float64, ``2**-53``.
U64: float = 2.0**-53

#: Unit roundoff of :data:`EXTENDED` (``2**-64`` on x86-64; :data:`U64` where it is no wider).
UNIT_ROUNDOFF: float = float(np.finfo(np.longdouble).eps) / 2


#: The smallest positive double, ``2**-1074``. Besides its relative error (at most
#: :data:`U64`), one float64 rounding adds an absolute error of at most ``2**-1075 =
#: TINY / 2`` (subnormal results: ``fl(x) = x (1 + d) + e``, ``|e| <= 2**-1075``).
TINY: float = 2.0**-1074


def dot_underflow(n: int) -> float:
    """The underflow term of a float64 dot product of ``n`` terms: ``3 n (1 + gamma_{n+1}) 2**-1075``.

    ``proofs/coq/Rounding.v``, ``dot_error_binary64``: a float64 sum of ``n``
    products, added in order, is within ``gamma_{n+1} sum |p v| + 3 n (1 +
    gamma_{n+1}) 2**-1075`` of the exact sum, subnormals included. Returned
    rounded up to a whole multiple of :data:`TINY` (so it is exact in float64).
    A sum in blocks (each block in order, the block sums added exactly or in
    extended precision) has at most the same term: it is additive in ``n``.

    >>> dot_underflow(1) == 2 * TINY
    True
    """
    units = 1.5 * n * (1 + gamma_n(n + 1, U64))  # 3 n (1 + gamma_{n+1}) 2**-1075 / TINY
    return float(math.ceil(units * (1 + 4 * U64))) * TINY


@overload
def gamma_n(n: int, u: float) -> float: ...
@overload
def gamma_n(n: NDArray[Any], u: float) -> NDArray[np.float64]: ...


def gamma_n(n: Any, u: float) -> Any:
    """Higham's ``gamma_n = n u / (1 - n u)``: a sum of ``n`` roundings of unit roundoff ``u``.

    ``n`` may be an array of counts (one per row of a sparse matrix): elementwise.

    A sum of ``n`` products computed in floating point is within
    ``gamma_n * sum |terms|`` of the exact sum (Higham 2002, eq. 3.5).

    >>> gamma_n(2, 0.25)
    1.0
    """
    nu = n * u
    return nu / (1 - nu)
