"""Arithmetic back ends for the certified solver: mpmath (libmp) and python-flint (arb).

The certified solver (:mod:`softq_ref.certified`) keeps every Q- and V-value
as an integer on a fixed-point grid ``X * 2**-F`` and does the linear algebra
(``sum_s' P[s, a, s'] V[s']``) exactly in integers. Only the elementary
functions of the log-sum-exp need floating point; they go through one of the
small "contexts" below, all with the same methods:

``ratio(n, d)``      an enclosure (interval contexts) or approximation (point
                     contexts) of the rational ``n / d``, ``d > 0``;
``span(n1, n2, d)``  an enclosure of the interval ``[n1 / d, n2 / d]``;
``exp``, ``log``, ``add``, ``mul``, ``div``;
``below(x)``         the hull ``[0, x]`` of a non-negative enclosure (point: 0);
``floor_scaled(x, F)``, ``ceil_scaled(x, F)``  integers below / above
                     every point of ``x * 2**F`` (point contexts: rounded);
``to_float(x)``;
``endpoints(x)``     the exact rational endpoints of an enclosure (interval contexts).

The interval contexts are rigorous: ``mpmath.libmp``'s ``mpi_*`` functions
(the kernel of ``mpmath.iv``, endpoints rounded outward) and flint's arb balls.
The point contexts are the same arithmetic without the radius, used only for
the Newton iterations, whose results are certified afterwards.

``exact_dot(M, v)`` multiplies an integer matrix (NumPy object array, or a
prepared flint ``fmpz_mat``) by an integer vector, exactly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["make_context", "flint_available", "ExactMatrix", "SparseExactMatrix"]

FLINT_HINT = "the flint backend needs python-flint: pip install 'softq-ref[fast]'"


def flint_available() -> bool:
    """True when ``import flint`` succeeds (the optional ``fast`` extra)."""
    try:
        import flint  # noqa: F401
    except ImportError:
        return False
    return True


def _import_flint() -> Any:
    try:
        import flint
    except ImportError as exc:
        raise ImportError(FLINT_HINT) from exc
    return flint


def _dyadic_fraction(man: int, exp: int) -> Fraction:
    """``man * 2**exp`` as an exact Fraction."""
    return Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)


def _mpf_fraction(v: Any) -> Fraction:
    """A raw finite mpf ``(sign, man, exp, bc)`` as an exact Fraction."""
    sign, man, exp, _ = v
    return _dyadic_fraction(-man if sign else man, exp)


def _floor_shift(man: int, shift: int) -> int:
    """``floor(man * 2**shift)`` for integers ``man``, ``shift``."""
    return man << shift if shift >= 0 else man >> -shift


class _Mp:
    """mpmath's raw ``mpf`` arithmetic (``mpmath.libmp``) at ``prec`` bits."""

    def __init__(self, prec: int) -> None:
        from mpmath import libmp

        self.prec = prec
        self.L = libmp


class _MpPoint(_Mp):
    """Round-to-nearest mpf arithmetic at ``prec`` bits (Newton steps only)."""

    rigorous = False

    def ratio(self, n: int, d: int) -> Any:
        return self.L.from_rational(n, d, self.prec, "n")

    def span(self, n1: int, n2: int, d: int) -> Any:
        return self.L.from_rational(n1 + n2, 2 * d, self.prec, "n")

    def exp(self, x: Any) -> Any:
        return self.L.mpf_exp(x, self.prec, "n")

    def log(self, x: Any) -> Any:
        return self.L.mpf_log(x, self.prec, "n")

    def add(self, x: Any, y: Any) -> Any:
        return self.L.mpf_add(x, y, self.prec, "n")

    def mul(self, x: Any, y: Any) -> Any:
        return self.L.mpf_mul(x, y, self.prec, "n")

    def div(self, x: Any, y: Any) -> Any:
        return self.L.mpf_div(x, y, self.prec, "n")

    def below(self, x: Any) -> Any:
        return self.L.fzero

    def _scaled(self, x: Any, F: int, rnd: str) -> int:
        return int(self.L.to_int(self.L.mpf_shift(x, F), rnd))

    def floor_scaled(self, x: Any, F: int) -> int:
        return self._scaled(x, F, "n")

    def ceil_scaled(self, x: Any, F: int) -> int:
        return self._scaled(x, F, "n")

    def to_float(self, x: Any) -> float:
        return float(self.L.to_float(x))


class _MpInterval(_Mp):
    """Outward-rounded intervals ``(lo, hi)`` of raw mpf values (``mpmath.libmp.mpi_*``)."""

    rigorous = True

    def ratio(self, n: int, d: int) -> Any:
        L, p = self.L, self.prec
        return (L.from_rational(n, d, p, "f"), L.from_rational(n, d, p, "c"))

    def span(self, n1: int, n2: int, d: int) -> Any:
        L, p = self.L, self.prec
        return (L.from_rational(n1, d, p, "f"), L.from_rational(n2, d, p, "c"))

    def exp(self, x: Any) -> Any:
        return self.L.mpi_exp(x, self.prec)

    def log(self, x: Any) -> Any:
        if self.L.mpf_le(x[0], self.L.fzero):
            raise ArithmeticError("log of an enclosure that is not positive")
        return self.L.mpi_log(x, self.prec)

    def add(self, x: Any, y: Any) -> Any:
        return self.L.mpi_add(x, y, self.prec)

    def mul(self, x: Any, y: Any) -> Any:
        return self.L.mpi_mul(x, y, self.prec)

    def div(self, x: Any, y: Any) -> Any:
        return self.L.mpi_div(x, y, self.prec)

    def below(self, x: Any) -> Any:
        return (self.L.fzero, x[1])

    @staticmethod
    def _finite(v: Any) -> Any:
        if v[1] == 0 and v[2] != 0:  # mpmath's special values: +-inf, nan
            raise ArithmeticError("an interval endpoint is not finite")
        return v

    def floor_scaled(self, x: Any, F: int) -> int:
        sign, man, exp, _ = self._finite(x[0])
        return _floor_shift(-man if sign else man, exp + F)

    def ceil_scaled(self, x: Any, F: int) -> int:
        sign, man, exp, _ = self._finite(x[1])
        return -_floor_shift(man if sign else -man, exp + F)

    def to_float(self, x: Any) -> float:
        return float(self.L.to_float(x[0]))

    def endpoints(self, x: Any) -> tuple[Fraction, Fraction]:
        """The exact rational endpoints of the enclosure ``x``."""
        return _mpf_fraction(self._finite(x[0])), _mpf_fraction(self._finite(x[1]))


class _Arb:
    """flint arb balls at ``prec`` bits; rigorous, or midpoints only (``rigorous=False``).

    flint's working precision is a global (``flint.ctx.prec``): callers enter
    :meth:`scope` around the computations, which restores it afterwards.
    """

    def __init__(self, prec: int, rigorous: bool) -> None:
        self.flint = _import_flint()
        self.prec = prec
        self.rigorous = rigorous

    def scope(self) -> _ArbScope:
        return _ArbScope(self.flint, self.prec)

    def ratio(self, n: int, d: int) -> Any:
        f = self.flint
        x = f.arb(f.fmpq(n, d))
        return x if self.rigorous else x.mid()

    def span(self, n1: int, n2: int, d: int) -> Any:
        if not self.rigorous:
            return self.ratio(n1 + n2, 2 * d)
        return self.ratio(n1, d).union(self.ratio(n2, d))

    def _point(self, x: Any) -> Any:
        return x if self.rigorous else x.mid()

    def exp(self, x: Any) -> Any:
        return self._point(x.exp())

    def log(self, x: Any) -> Any:
        if self.rigorous and not x > 0:
            raise ArithmeticError("log of an enclosure that is not positive")
        return self._point(x.log())

    def add(self, x: Any, y: Any) -> Any:
        return self._point(x + y)

    def mul(self, x: Any, y: Any) -> Any:
        return self._point(x * y)

    def div(self, x: Any, y: Any) -> Any:
        return self._point(x / y)

    def below(self, x: Any) -> Any:
        if not self.rigorous:
            return self.flint.arb(0)
        half = x.upper() / 2  # exact: a power-of-two division of an exact value
        return self.flint.arb(half, half)

    @staticmethod
    def _exact_parts(x: Any) -> tuple[int, int]:
        man, exp = x.man_exp()
        return int(man), int(exp)

    def floor_scaled(self, x: Any, F: int) -> int:
        if not self.rigorous:
            man, exp = self._exact_parts(x.mid())
            return _round_shift(man, exp + F)
        man, exp = self._exact_parts(x.lower())
        return _floor_shift(man, exp + F)

    def ceil_scaled(self, x: Any, F: int) -> int:
        if not self.rigorous:
            return self.floor_scaled(x, F)
        man, exp = self._exact_parts(x.upper())
        return -_floor_shift(-man, exp + F)

    def to_float(self, x: Any) -> float:
        return float(x.mid())

    def endpoints(self, x: Any) -> tuple[Fraction, Fraction]:
        """The exact rational endpoints of the ball ``x`` (rigorous contexts)."""
        if not x.is_finite():
            raise ArithmeticError("a ball that is not finite")
        return _dyadic_fraction(*self._exact_parts(x.lower())), _dyadic_fraction(
            *self._exact_parts(x.upper())
        )


class _ArbScope:
    def __init__(self, flint: Any, prec: int) -> None:
        self.flint, self.prec, self.saved = flint, prec, 53

    def __enter__(self) -> None:
        self.saved = self.flint.ctx.prec
        self.flint.ctx.prec = self.prec

    def __exit__(self, *exc: Any) -> None:
        self.flint.ctx.prec = self.saved


class _NoScope:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _round_shift(man: int, shift: int) -> int:
    """``man * 2**shift`` rounded to the nearest integer (ties up)."""
    if shift >= 0:
        return man << shift
    return (man + (1 << (-shift - 1))) >> -shift


def make_context(backend: str, prec: int, *, rigorous: bool) -> Any:
    """An arithmetic context of the named back end (``"mpmath"`` or ``"flint"``)."""
    if backend == "flint":
        return _Arb(prec, rigorous)
    return _MpInterval(prec) if rigorous else _MpPoint(prec)


def context_scope(ctx: Any) -> Any:
    """A ``with`` scope that sets (and restores) the back end's global precision, if any."""
    return ctx.scope() if isinstance(ctx, _Arb) else _NoScope()


class ExactMatrix:
    """An integer matrix ``M`` (rows ``S * A``, columns ``S``) for exact products ``M @ v``.

    With the flint back end the product is flint's ``fmpz_mat`` multiplication;
    otherwise NumPy's object-dtype matmul on Python integers. Both are exact.
    """

    def __init__(self, M: NDArray[np.object_], backend: str) -> None:
        self.M = M
        self.backend = backend
        self._fm: Any = None
        if backend == "flint":
            flint = _import_flint()
            self._fm = flint.fmpz_mat([[int(x) for x in row] for row in M])

    def dot(self, v: NDArray[np.object_]) -> NDArray[np.object_]:
        """``M @ v`` exactly, as an object array of Python ints."""
        if self._fm is not None:
            flint = _import_flint()
            col = flint.fmpz_mat([[int(x)] for x in v])
            out = (self._fm * col).entries()
            res = np.empty(len(out), dtype=object)
            res[:] = [int(x) for x in out]
            return res
        return np.asarray(self.M.dot(v), dtype=object)


class SparseExactMatrix:
    """A sparse integer matrix (CSR structure, one Python int per stored entry) for exact
    products ``M @ v`` over the stored entries only: O(nnz) big-integer products, never a
    dense row (the certified solver on sparse transitions)."""

    def __init__(self, indptr: NDArray[Any], indices: NDArray[Any], values: list[int]) -> None:
        self.indices = np.asarray(indices, dtype=np.int64)
        self.data = np.empty(len(values), dtype=object)
        self.data[:] = values
        ptr = np.asarray(indptr, dtype=np.int64)
        self.n_rows = len(ptr) - 1
        self.nonempty = np.diff(ptr) > 0
        self.starts = ptr[:-1][self.nonempty]

    def dot(self, v: NDArray[np.object_]) -> NDArray[np.object_]:
        """``M @ v`` exactly, as an object array of Python ints (each row summed over its
        stored entries; an empty row is 0)."""
        vv = np.empty(len(v), dtype=object)
        vv[:] = [int(x) for x in v]
        res = np.zeros(self.n_rows, dtype=object)
        res[:] = 0  # Python ints, not NumPy zeros
        if self.starts.size:
            res[self.nonempty] = np.add.reduceat(self.data * vv[self.indices], self.starts)
        return res
