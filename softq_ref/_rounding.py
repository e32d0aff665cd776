"""Floating-point constants of the rounding-error analyses (documented internal names).

Every a-priori bound in the package (the float64 solvers' certificates in
:mod:`softq_ref.float64.bounds`, the finite-horizon backward induction, the
reduction of rewards ``R[s, a, s']`` in :class:`~softq_ref.FiniteMDP`) uses
these, so each constant is declared once.

References
----------
N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
SIAM (2002), section 3.1 (the constant ``gamma_n``) and eq. 3.5 (dot products).
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

__all__ = ["EXTENDED", "U64", "UNIT_ROUNDOFF", "gamma_n"]

#: The extended type of the accurate residuals (``numpy.longdouble``: 64-bit significand on x86-64).
EXTENDED: type[np.floating[Any]] = np.longdouble

#: Unit roundoff of float64, ``2**-53``.
U64: float = 2.0**-53

#: Unit roundoff of :data:`EXTENDED` (``2**-64`` on x86-64; :data:`U64` where it is no wider).
UNIT_ROUNDOFF: float = float(np.finfo(np.longdouble).eps) / 2


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
