"""The certified solver's output: enclosures to printed decimals and the error bound.

Part of :mod:`softq_ref.certified` (see its docstring for the method).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref.certified.decimal_out import decimal_exponent, round_decimal
from softq_ref.certified.grid import _ceil_div

ObjArray = NDArray[Any]  # object arrays (ints, Fractions, mpf)


def _nested(arr: ObjArray, fn: Any) -> Any:
    """Nested lists of ``fn(entry)`` over an object array of any shape."""
    if arr.ndim == 1:
        return [fn(x) for x in arr]
    return [_nested(arr[i], fn) for i in range(arr.shape[0])]


# --------------------------------------------------------------------------------------
# Enclosures -> printed decimals and the error bound
# --------------------------------------------------------------------------------------


@dataclass
class _Enclosure:
    """Integer bounds on the grid ``2**-F`` for ``Q*``, ``V*``, ``pi*`` (any shape)."""

    F: int
    Q: tuple[ObjArray, ObjArray]
    V: tuple[ObjArray, ObjArray]
    pi: tuple[ObjArray, ObjArray]


def _mids_and_radii(lo: ObjArray, hi: ObjArray, F: int) -> tuple[ObjArray, ObjArray]:
    """``(lo + hi, hi - lo)``: midpoints and radii on the grid ``2**-(F + 1)``."""
    mid = np.empty(lo.shape, dtype=object)
    rad = np.empty(lo.shape, dtype=object)
    for idx in np.ndindex(lo.shape):
        mid[idx] = int(lo[idx]) + int(hi[idx])
        rad[idx] = int(hi[idx]) - int(lo[idx])
    return mid, rad


def _print_grid(
    parts: dict[str, tuple[ObjArray, ObjArray]], j: int, digits: int, scale: Fraction
) -> tuple[dict[str, Any], Fraction]:
    """:func:`_print_all` for midpoints and radii given as integers on the grid ``2**-j``.

    The error of each entry (radius plus the exact rounding error of its
    printout) is rounded up to the grid ``2**-(j + 8)``, in integers.
    """
    from softq_ref.certified.decimal_out import _exponent_nd, round_nd

    scale_exp = decimal_exponent(scale)
    worst = 0
    texts: dict[str, Any] = {}
    for key, (mid, rad) in parts.items():
        out = np.empty(mid.shape, dtype=object)
        for idx in np.ndindex(mid.shape):
            n, r = int(mid[idx]), int(rad[idx])
            err = r << 8
            if n == 0:
                out[idx] = "0"
            else:
                e = _exponent_nd(abs(n), 1 << j)
                sig = digits + 2 + max(0, e - scale_exp)
                out[idx], q, k = round_nd(n, 1 << j, sig, e)
                # |q 10**-k - |n| 2**-j| in units of 2**-(j + 8), rounded up
                if k >= 0:
                    err += _ceil_div(abs((q << j) - abs(n) * 10**k) << 8, 10**k)
                else:
                    err += abs(((q * 10**-k) << j) - abs(n)) << 8
            worst = max(worst, err)
        texts[key] = _nested(out, str)
    return texts, Fraction(worst, 1 << (j + 8))


def _print_all(
    parts: dict[str, tuple[ObjArray, ObjArray]], digits: int, scale: Fraction
) -> tuple[dict[str, Any], Fraction]:
    """Decimal strings of the midpoints and ``max(radius + |printed - midpoint|)``."""
    scale_exp = decimal_exponent(scale)
    worst = Fraction(0)
    texts: dict[str, Any] = {}
    for key, (mid, rad) in parts.items():
        out = np.empty(mid.shape, dtype=object)
        for idx in np.ndindex(mid.shape):
            x: Any = mid[idx]
            sig = digits + 2
            if x != 0:
                sig += max(0, decimal_exponent(x) - scale_exp)
            text, printed = round_decimal(x, sig)
            out[idx] = text
            worst = max(worst, rad[idx] + abs(printed - x))
        texts[key] = _nested(out, str)
    return texts, worst


def _to_mpf(arr: ObjArray, prec: int) -> ObjArray:
    """Fractions -> mpmath ``mpf`` rounded to ``prec`` bits (dyadics without a division)."""
    import mpmath
    from mpmath import libmp

    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        x: Any = arr[idx]
        if isinstance(x, _Dyadic):
            out[idx] = mpmath.mp.make_mpf(libmp.from_man_exp(x.n, -x.j, prec, "n"))
            continue
        n, d = x.numerator, x.denominator
        if d & (d - 1) == 0:
            raw = libmp.from_man_exp(n, 1 - d.bit_length(), prec, "n")
        else:
            raw = libmp.from_rational(n, d, prec, "n")
        out[idx] = mpmath.mp.make_mpf(raw)
    return out


class _Dyadic:
    """``n * 2**-j`` without normalising (for :func:`_to_mpf`)."""

    __slots__ = ("n", "j")

    def __init__(self, n: int, j: int) -> None:
        self.n, self.j = n, j


def _over(arr: ObjArray, j: int) -> ObjArray:
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = _Dyadic(int(arr[idx]), j)
    return out


def _max_abs_lower(lo: ObjArray, hi: ObjArray, F: int) -> Fraction:
    """``max |x|`` over the entries, a lower bound valid for every point of the boxes."""
    best = 0
    for x, y in zip(lo.flat, hi.flat, strict=True):
        a, b = int(x), int(y)
        if a > 0:
            best = max(best, a)
        elif b < 0:
            best = max(best, -b)
    return Fraction(best, 1 << F)
