"""The dense linear algebra of the float64 solvers, all through one BLAS: SciPy's.

:func:`softq_ref.solve` keeps the LU factors of its Newton matrix for the
refinement steps, which needs SciPy (``scipy.linalg.lu_factor``); NumPy has no
LU that returns its factors. NumPy and SciPy wheels each bundle their own
OpenBLAS with its own thread pool, and the threads of one spin for a while
after each call, taking a core from the other: on a 2-core machine, alternating
NumPy's matrix-vector products with SciPy's factorisations made ``solve``
about 1.8 times slower (measured, ``S = 1000``). So every product with ``P``
and every linear solve of the float64 solvers goes through SciPy's BLAS and
LAPACK, here. SciPy is imported on first use, not with the package.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["matvec", "lu_factor", "lu_solve", "solve"]


def matvec(M: NDArray[np.float64], x: NDArray[Any]) -> NDArray[np.float64]:
    """``M @ x`` for a C-contiguous float64 matrix ``M`` (``dgemv``, no copy of ``M``)."""
    from scipy.linalg.blas import dgemv

    return dgemv(1.0, M.T, np.ascontiguousarray(x, dtype=np.float64), trans=1)


def lu_factor(M: NDArray[np.float64]) -> Any:
    """The LU factors of a square float64 matrix (``scipy.linalg.lu_factor``)."""
    from scipy.linalg import lu_factor as factor

    return factor(M, check_finite=False)


def lu_solve(lu: Any, b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``M^{-1} b`` from the factors of :func:`lu_factor`."""
    from scipy.linalg import lu_solve as back_substitute

    return back_substitute(lu, b, check_finite=False)


def solve(M: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``M^{-1} b`` (one factorisation, used once)."""
    return lu_solve(lu_factor(M), b)
