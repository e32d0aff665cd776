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

The Newton systems ``(I - gamma P_pi) d = r`` of :func:`softq_ref.solve` are
solved through :class:`NewtonSystem`: a direct solve by LU factors (dense or
sparse) when they belong to the current matrix, otherwise restarted GMRES
(:func:`gmres`) preconditioned by the factors of an earlier matrix (exact LU
kept from an earlier Newton step, or an incomplete LU, ``spilu``). That class,
:func:`matvec` and :func:`rows_dot_extended` are all the solvers need: a PETSc
backend would give the same three things (``Mat`` AIJ, ``KSP`` GMRES with
``PC`` ILU or ``hypre``; docs/scale.md).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
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
    "gmres",
    "GmresResult",
    "NewtonSystem",
    "DIRECT_METHODS",
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


@dataclass(frozen=True)
class GmresResult:
    """What :func:`gmres` returns: ``x``, the matrix-vector products taken, and whether
    ``|b - M x|_2 <= rtol |b|_2`` was met (as recomputed from ``x`` at the end)."""

    x: NDArray[np.float64]
    iterations: int
    converged: bool
    relative_residual: float


def gmres(
    M: Any,
    b: NDArray[np.float64],
    precondition: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    *,
    rtol: float,
    x0: NDArray[np.float64] | None = None,
    restart: int = 30,
    max_iterations: int = 1000,
) -> GmresResult:
    r"""Right-preconditioned restarted GMRES(m) for ``M x = b`` (Saad 2003, Algorithm 9.5).

    Minimises ``|b - M x|_2`` over ``x0 + K^-1 K_m`` with ``K^-1 = precondition``;
    the Arnoldi basis is orthogonalised by classical Gram-Schmidt applied twice
    (CGS2: Giraud, Langou, Rozloznik 2005, orthogonal to working precision), one
    ``dgemv`` pair per step, all through SciPy's BLAS (see the module
    docstring on mixing two BLAS libraries). Stops when the true residual
    ``|b - M x|_2``, recomputed at every restart, is at most ``rtol |b|_2``, or
    after ``max_iterations`` products with ``M``.

    Only the speed of the solvers depends on how well this converges: every
    bound they return is a-posteriori (the residual of the final iterate).
    """
    from scipy.linalg.blas import dgemv, dnrm2

    n = b.shape[0]
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=np.float64)
    bnorm = float(dnrm2(b))
    if bnorm == 0.0:
        return GmresResult(np.zeros(n), 0, True, 0.0)
    target = rtol * bnorm
    its = 0
    while True:
        r = b - matvec(M, x) if its or x0 is not None else b.copy()
        beta = float(dnrm2(r))
        if beta <= target or its >= max_iterations or not math.isfinite(beta):
            return GmresResult(x, its, beta <= target, beta / bnorm)
        m = min(restart, max_iterations - its)
        Vb = np.empty((m + 1, n))  # the basis, one vector per row (C order: contiguous rows)
        H = np.zeros((m + 1, m))
        Vb[0] = r / beta
        Z = np.empty((m, n))  # the preconditioned vectors K^-1 v_j (flexible GMRES's Z)
        g = np.zeros(m + 1)
        g[0] = beta
        cs, sn = np.zeros(m), np.zeros(m)
        j = 0
        while j < m:
            Z[j] = precondition(Vb[j])
            w = matvec(M, Z[j])
            its += 1
            h = dgemv(1.0, Vb[: j + 1], w)  # V_j^T w (Vb's rows are the basis)
            w = w - dgemv(1.0, Vb[: j + 1], h, trans=1)
            h2 = dgemv(1.0, Vb[: j + 1], w)  # the second pass of CGS2
            w = w - dgemv(1.0, Vb[: j + 1], h2, trans=1)
            H[: j + 1, j] = h + h2
            H[j + 1, j] = hnext = float(dnrm2(w))
            if hnext > 0.0:
                Vb[j + 1] = w / hnext
            for i in range(j):  # the Givens rotations so far, on the new column
                a, c = H[i, j], H[i + 1, j]
                H[i, j], H[i + 1, j] = cs[i] * a + sn[i] * c, -sn[i] * a + cs[i] * c
            den = math.hypot(H[j, j], H[j + 1, j])
            cs[j], sn[j] = (1.0, 0.0) if den == 0.0 else (H[j, j] / den, H[j + 1, j] / den)
            H[j, j], H[j + 1, j] = den, 0.0
            g[j + 1], g[j] = -sn[j] * g[j], cs[j] * g[j]
            j += 1
            if abs(g[j]) <= target or hnext == 0.0:  # converged, or the exact solution found
                break
        y = np.zeros(j)
        for i in range(j - 1, -1, -1):  # back substitution with the triangular H
            y[i] = (g[i] - H[i, i + 1 : j] @ y[i + 1 :]) / H[i, i] if H[i, i] != 0.0 else 0.0
        x = x + dgemv(1.0, Z[:j], y, trans=1)


#: The incomplete LU of :class:`NewtonSystem` keeps at most this many times the nonzeros of
#: its matrix (SuperLU's ``fill_factor``).
ILU_FILL = 10.0

#: Solve methods of :class:`NewtonSystem` that factor each matrix exactly.
DIRECT_METHODS = ("dense", "splu")


class NewtonSystem:
    """The Newton systems ``(I - gamma P_pi) d = r`` of one solve, and the factors kept for them.

    ``method`` is ``"dense"`` (LAPACK LU), ``"splu"`` (SuperLU, sparse ``P``)
    or ``"ilu"`` (SuperLU's incomplete LU, ``spilu``, as a preconditioner of
    GMRES). :meth:`set_matrix` installs the matrix of a new policy;
    :meth:`solve` solves with it to the relative tolerance asked for. The
    factors of an earlier matrix are reused as a preconditioner of GMRES until
    GMRES needs more than ``refresh_per_digit`` products per decimal digit of
    tolerance (or twice what it needed with fresh factors, plus one), then the
    next :meth:`set_matrix` factors anew (with ``reuse=False``, every
    :meth:`set_matrix` does). A direct method solves directly (no GMRES) while
    its factors belong to the current matrix.
    """

    def __init__(self, method: str, *, reuse: bool = True, refresh_per_digit: float = 3.0) -> None:
        self.method = method
        self.reuse = reuse
        self.refresh_per_digit = refresh_per_digit
        self.matrix: Any = None
        self.factors: Any = None
        self.current = False  # whether the factors are those of self.matrix
        self.stale = True  # whether the next set_matrix should factor anew
        self.fresh_rate = math.inf  # GMRES products per digit with fresh factors
        self.factorisations = 0
        self.products = 0  # GMRES products with the matrix, over the whole solve

    def set_matrix(self, M: Any, *, refactor: bool = False) -> None:
        """Install ``M`` (``I - gamma P_pi``); factor it if the kept factors are stale."""
        self.matrix = M
        self.current = False
        if refactor or not self.reuse or self.stale or self.factors is None:
            self._factor()

    def _factor(self) -> None:
        M = self.matrix
        self.factors = None  # let the old factors go first: two sets at once may not fit
        if self.method == "ilu":
            from scipy.sparse.linalg import spilu

            # A threshold ILU: entries below 1e-4 relative dropped, and at most ILU_FILL
            # times the nonzeros of M kept, so its memory is linear in nnz(M) whatever the
            # structure (full LU's is not). Ordered and pivoted as in lu_factor. Measured on
            # gridworlds at 10^6 states: 3.4e7 nonzeros against full LU's 7.9e7, and GMRES
            # gains 8 digits in 3 products; with drop 1e-2 (or at most 6 times the fill)
            # it needs 24. Only speed depends on this: every bound is a-posteriori.
            try:
                self.factors = spilu(
                    M.tocsc(),
                    drop_tol=1e-4,
                    fill_factor=ILU_FILL,
                    permc_spec="MMD_AT_PLUS_A",
                    diag_pivot_thresh=0.0,
                )
            except RuntimeError:  # a zero pivot after dropping: factor exactly instead
                self.factors = lu_factor(M)
        elif self.method == "splu" and not is_sparse(M):
            raise ValueError("splu needs a sparse matrix")
        else:
            if self.method == "dense" and is_sparse(M):
                M = M.toarray()
            self.factors = lu_factor(M)
        self.current = True
        self.stale = False
        self.fresh_rate = math.inf
        self.factorisations += 1

    def refactor(self) -> None:
        """Factor the current matrix now."""
        self._factor()

    def solve(self, r: NDArray[np.float64], rtol: float) -> GmresResult:
        """``d`` with ``|r - M d|_2 <= rtol |r|_2`` (exactly, up to rounding, when direct)."""
        if self.current and self.method in DIRECT_METHODS:
            return GmresResult(lu_solve(self.factors, r), 0, True, 0.0)
        fresh = self.current
        factors = self.factors
        out = gmres(self.matrix, r, lambda v: lu_solve(factors, v), rtol=rtol)
        self.products += out.iterations
        digits = max(1.0, -math.log10(max(rtol, 1e-16)))
        rate = out.iterations / digits
        if fresh:
            self.fresh_rate = rate
        limit = self.refresh_per_digit
        if self.method == "ilu":
            limit = max(limit, 2.0 * self.fresh_rate + 1.0)
        if rate > limit or not out.converged:
            self.stale = True
        return out
