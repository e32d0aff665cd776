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

Sparse transitions (a SciPy CSR array of shape ``(S*A, S)``,
:attr:`softq_ref.FiniteMDP.is_sparse`) go through the same functions: products
by SciPy's CSR kernels, linear solves by sparse LU (``scipy.sparse.linalg.splu``,
SuperLU). This module is the one interface between the solvers and a linear-
algebra backend: another backend (PETSc, say) is added here, not in the solvers.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "is_sparse",
    "matvec",
    "lu_factor",
    "lu_solve",
    "solve",
    "identity_minus",
    "policy_matrix",
    "rows_dot_extended",
]


def is_sparse(M: Any) -> bool:
    """True for a SciPy sparse array or matrix (without importing SciPy when it is not loaded)."""
    sp = sys.modules.get("scipy.sparse")
    return sp is not None and bool(sp.issparse(M))


def matvec(M: Any, x: NDArray[Any]) -> NDArray[np.float64]:
    """``M @ x`` for a C-contiguous float64 matrix ``M`` (``dgemv``, no copy of ``M``) or a CSR one.

    For CSR each row is summed over its stored entries only, in order (a dot
    product of ``nnz`` terms).
    """
    if is_sparse(M):
        return np.asarray(M @ np.asarray(x, dtype=np.float64), dtype=np.float64)
    from scipy.linalg.blas import dgemv

    return dgemv(1.0, M.T, np.ascontiguousarray(x, dtype=np.float64), trans=1)


def lu_factor(M: Any) -> Any:
    """The LU factors of a square float64 matrix (``scipy.linalg.lu_factor``; sparse: ``splu``).

    A sparse ``M`` must be strictly diagonally dominant by rows (the solvers' ``I - gamma P_pi``):
    it is factored without pivoting.
    """
    if is_sparse(M):
        from scipy.sparse.linalg import splu

        # The solvers' matrices I - gamma P_pi are strictly diagonally dominant by rows, so
        # elimination needs no pivoting (growth factor <= 2; Higham 2002, section 9.5): keep
        # the diagonal pivots and order for A + A^T, whose fill on gridworlds is half that
        # of the default COLAMD (measured: 5.0e6 against 8.9e6 at 300 x 300, 30% faster).
        # Only speed depends on this: every bound is a-posteriori.
        return splu(M.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0)
    from scipy.linalg import lu_factor as factor

    return factor(M, check_finite=False)


def lu_solve(lu: Any, b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``M^{-1} b`` from the factors of :func:`lu_factor`."""
    if hasattr(lu, "solve"):  # SuperLU, from a sparse matrix
        return np.asarray(lu.solve(np.asarray(b, dtype=np.float64)), dtype=np.float64)
    from scipy.linalg import lu_solve as back_substitute

    return back_substitute(lu, b, check_finite=False)


def solve(M: Any, b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``M^{-1} b`` (one factorisation, used once)."""
    return lu_solve(lu_factor(M), b)


def identity_minus(c: float, M: Any) -> Any:
    """``I - c M`` for a square dense or sparse ``M`` (sparse stays sparse, CSC)."""
    if is_sparse(M):
        import scipy.sparse as sp

        return (sp.identity(M.shape[0], format="csc") - c * M).tocsc()
    out = -c * M
    out[np.diag_indices_from(out)] += 1.0
    return out


def policy_matrix(P2: Any, weights: NDArray[np.float64], num_actions: int) -> Any:
    """``P_pi[s, s'] = sum_a w[s, a] P2[s*A + a, s']`` for a CSR ``P2`` (a CSR ``(S, S)``)."""
    import scipy.sparse as sp

    S = P2.shape[1]
    rows = np.repeat(np.arange(P2.shape[0]) // num_actions, np.diff(P2.indptr))
    data = P2.data * np.repeat(np.ravel(weights), np.diff(P2.indptr))
    return sp.csr_array((data, (rows, P2.indices)), shape=(S, S))


def rows_dot_extended(M: Any, v: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    """``M v`` and ``|M| |v|`` for a CSR ``M``, each product and sum in ``numpy.longdouble``.

    Row ``i`` is a dot product of its ``nnz_i`` stored entries; each is within
    ``gamma_{nnz_i + 1}`` (unit roundoff of longdouble) of exact, relative to
    the exact ``|M| |v|``: ``proofs/coq/Rounding.v`` (``dot_error``) proves it
    for the recursive sum, and Higham (2002, section 4.2 and eq. 3.5) gives
    ``gamma_{nnz_i}`` for any order of the additions (NumPy's ``reduceat`` may
    sum pairwise). Empty rows give 0 exactly.
    """
    ext = np.longdouble
    vv = np.asarray(v, dtype=ext)
    prod = M.data.astype(ext) * vv[M.indices]
    counts = np.diff(M.indptr)
    starts = M.indptr[:-1][counts > 0]
    value = np.zeros(M.shape[0], dtype=ext)
    absval = np.zeros(M.shape[0], dtype=ext)
    if starts.size:
        value[counts > 0] = np.add.reduceat(prod, starts)
        absval[counts > 0] = np.add.reduceat(np.abs(prod), starts)
    return value, absval
