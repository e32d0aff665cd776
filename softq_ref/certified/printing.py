"""The certified solver's output: proven enclosures, correctly rounded to decimals.

Part of :mod:`softq_ref.certified` (see its docstring for the method).

Every printed decimal is the *exact* value rounded into
:class:`~softq_ref.certified.decimal_out.DecimalFormat` (round half to even). The
solver proves an enclosure of each exact value; when every point of the
enclosure rounds to the same decimal (rounding is monotone, so checking the
two endpoints suffices), that decimal is the correctly rounded exact value,
whatever the enclosure's width. When some enclosure still straddles a
rounding boundary, :func:`correctly_rounded` says how many more bits it
needs, and the solver refines and tries again (Ziv's strategy, as MPFR and
CRlibm use it: Ziv, "Fast evaluation of elementary mathematical functions
with correctly rounded last bit", ACM TOMS 17(3), 1991). So the printout is a
function of the input alone, never of the run's float64 start, BLAS or back
end.

An entry is given as one of:

* a :class:`~fractions.Fraction`: the exact value (exact rational solutions,
  structurally exact entries such as ``pi = 0`` where ``mu = 0``);
* a :class:`GridBox`: integers ``lo <= x * 2**F <= hi``;
* a :class:`RationalBox`: exact rationals ``lo <= x <= hi`` (policy entries);
* a :class:`Log10Box`: ``lo <= log10(x) <= hi`` with exact rationals, for
  policy entries so small (``exp(-10**400)``) that their value has no
  practical binary form; they still get relative accuracy.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref.certified.decimal_out import DecimalFormat, _exponent_nd

ObjArray = NDArray[Any]  # object arrays (ints, Fractions, mpf, boxes)

_MARGIN_BITS = 12  # aim for enclosures 2**-12 of a quantum wide: few entries undecided
_LOG2_10 = math.log2(10.0)
_MAX_ROUNDING_BITS = 1 << 20  # the conversion 10**frac(w) never needs more (see _round_log10)


def _nested(arr: ObjArray, fn: Any) -> Any:
    """Nested lists of ``fn(entry)`` over an object array of any shape."""
    if arr.ndim == 1:
        return [fn(x) for x in arr]
    return [_nested(arr[i], fn) for i in range(arr.shape[0])]


@dataclass(frozen=True)
class GridBox:
    """A proven enclosure ``lo * 2**-F <= x <= hi * 2**-F`` (integers ``lo <= hi``)."""

    lo: int
    hi: int
    F: int


@dataclass(frozen=True)
class RationalBox:
    """A proven enclosure ``lo <= x <= hi`` with exact rationals (policy entries)."""

    lo: Fraction
    hi: Fraction


@dataclass(frozen=True)
class Log10Box:
    """A proven enclosure ``lo <= log10(x) <= hi`` of a positive ``x`` (exact rationals)."""

    lo: Fraction
    hi: Fraction


@dataclass
class Enclosures:
    """Entry-by-entry enclosures of ``Q*``, ``V*`` and ``pi*`` (object arrays, any shape)."""

    Q: ObjArray
    V: ObjArray
    policy: ObjArray

    def items(self) -> list[tuple[str, ObjArray]]:
        return [("Q", self.Q), ("V", self.V), ("policy", self.policy)]


@dataclass(frozen=True)
class Printout:
    """The correctly rounded decimals (nested lists of strings) and their format.

    ``exact`` is True when every entry was known exactly and printed without
    rounding (each decimal *is* the exact value).
    """

    texts: dict[str, Any]
    fmt: DecimalFormat
    exact: bool


@dataclass(frozen=True)
class Shortfall:
    """Some entries straddle a rounding boundary: ``bits`` more bits are likely to decide them.

    ``entries`` lists ``(key, index)`` of the undecided entries; ``zero`` says
    whether some of them enclose zero (they may be exactly zero, which no
    enclosure of positive width can ever decide).
    """

    bits: int
    entries: list[tuple[str, tuple[int, ...]]]
    zero: bool


def _abs_range(x: Any) -> tuple[Fraction, Fraction]:
    """Lower and upper bounds on ``|x|`` for an entry of ``Q``."""
    if isinstance(x, Fraction):
        return abs(x), abs(x)
    assert isinstance(x, GridBox)
    den = 1 << x.F
    top = Fraction(max(abs(x.lo), abs(x.hi)), den)
    if x.lo <= 0 <= x.hi:
        return Fraction(0), top
    return Fraction(min(abs(x.lo), abs(x.hi)), den), top


def _decade(x: Fraction) -> int:
    """``floor(log10(max(1, x)))`` for ``x >= 0``."""
    return 0 if x < 1 else _exponent_nd(x.numerator, x.denominator)


def _scale_exponent(Q: ObjArray) -> tuple[int | None, int]:
    """``E = floor(log10(max(1, max|Q*|)))``, or ``(None, bits)`` while the enclosures
    leave it open (``max|Q*|`` within reach of a power of ten)."""
    lo = hi = Fraction(0)
    # boxes on one grid are compared in integers; then the rest (exact values, other grids)
    grids = [x for x in Q.flat if isinstance(x, GridBox)]
    rest = [x for x in Q.flat if not isinstance(x, GridBox)]
    if grids and len({x.F for x in grids}) == 1:
        tops = [max(abs(x.lo), abs(x.hi)) for x in grids]
        bottoms = [0 if x.lo <= 0 <= x.hi else min(abs(x.lo), abs(x.hi)) for x in grids]
        den = 1 << grids[0].F
        lo, hi = Fraction(max(bottoms), den), Fraction(max(tops), den)
    else:
        rest += grids
    for x in rest:
        a, b = _abs_range(x)
        lo, hi = max(lo, a), max(hi, b)
    e_lo, e_hi = _decade(lo), _decade(hi)
    if e_lo == e_hi:
        return e_lo, 0
    # the enclosure of max|Q*| holds 10**e_hi: refine until its width is far below that
    width = hi - lo
    return None, max(1, math.ceil(_log2(width) - e_hi * _LOG2_10) + 2 * _MARGIN_BITS)


def _log2(x: Fraction) -> float:
    return math.log2(x.numerator) - math.log2(x.denominator)


def _round_grid(x: GridBox, fmt: DecimalFormat) -> tuple[tuple[bool, int, int] | None, int]:
    """The correct rounding of every point of the box, or ``(None, bits needed)``."""
    den = 1 << x.F
    lo = fmt.round_nd(x.lo, den)
    if x.lo == x.hi:
        return lo, 0
    hi = fmt.round_nd(x.hi, den)
    if lo == hi:  # (a box holding 0 never gets here: its ends round to opposite signs)
        return lo, 0
    # bits to shrink the width (x.hi - x.lo) 2**-F to 2**-margin of the smaller quantum
    k = max(lo[2], hi[2])
    return None, max(1, math.ceil(math.log2(x.hi - x.lo) - x.F + k * _LOG2_10) + _MARGIN_BITS)


def _round_rational(x: RationalBox, fmt: DecimalFormat) -> tuple[tuple[bool, int, int] | None, int]:
    """The correct rounding of every point of the box, or ``(None, bits needed)``."""
    lo = fmt.round(x.lo)
    if x.lo == x.hi:
        return lo, 0
    hi = fmt.round(x.hi)
    if lo == hi:
        return lo, 0
    k = max(lo[2], hi[2])
    return None, max(1, math.ceil(_log2(x.hi - x.lo) + k * _LOG2_10) + _MARGIN_BITS)


def _round_log10(x: Log10Box, fmt: DecimalFormat) -> tuple[tuple[bool, int, int] | None, int]:
    """The correct rounding of ``10**w`` for every ``w`` in the box, or ``(None, bits)``.

    Each endpoint ``w`` (an exact rational) is rounded on its own: with
    ``e = floor(w)``, ``10**w`` lies in the decade ``e`` and its printed value
    is ``round(10**(w - e + n - 1)) * 10**-k`` (``k = n - 1 - e`` since
    ``10**w <= 1 <= 10**E``); the power is enclosed in outward-rounded
    interval arithmetic (``mpmath.libmp``) at a precision raised until the
    rounding is decided. The endpoints are exact, so this always ends (10**w
    is irrational unless ``w`` is an integer, and then it is exact).
    """
    lo = _round_pow10(x.lo, fmt)
    if x.lo == x.hi:
        return lo, 0
    hi = _round_pow10(x.hi, fmt)
    if lo == hi:
        return lo, 0
    # relative width of 10**w is about ln(10) (hi - lo); a quantum is 10**-(n - 1) of it
    rel = _log2(x.hi - x.lo) + math.log2(math.log(10.0))
    return None, max(1, math.ceil(rel + (fmt.n - 1) * _LOG2_10) + _MARGIN_BITS)


def _round_pow10(w: Fraction, fmt: DecimalFormat) -> tuple[bool, int, int]:
    from mpmath import libmp

    e = math.floor(w)
    if e > fmt.E:
        raise RuntimeError("internal: a policy entry above 1")  # pi* <= 1 <= 10**E: not reached
    k = fmt.decimals(e)
    t = w - e + (fmt.n - 1)  # 10**t in [10**(n - 1), 10**n)
    if t.denominator == 1:  # an integer power of ten, exactly
        return False, 10 ** (fmt.n - 1), fmt.decimals(e)
    prec = math.ceil(fmt.n * _LOG2_10) + 64
    while prec <= _MAX_ROUNDING_BITS:
        ln10 = _ln10(prec)
        tt = (
            libmp.from_rational(t.numerator, t.denominator, prec, "f"),
            libmp.from_rational(t.numerator, t.denominator, prec, "c"),
        )
        y_lo, y_hi = libmp.mpi_exp(libmp.mpi_mul(tt, ln10, prec), prec)
        half = libmp.mpf_shift(libmp.fone, -1)
        q_lo = int(libmp.to_int(libmp.mpf_add(y_lo, half, prec + 8, "f"), "f"))
        q_hi = int(libmp.to_int(libmp.mpf_add(y_hi, half, prec + 8, "c"), "f"))
        if q_lo == q_hi:
            if q_lo == 10**fmt.n:  # carried into the next decade
                return False, q_lo // 10, fmt.decimals(e + 1)
            return False, q_lo, k
        prec *= 2
    raise ArithmeticError(f"could not round 10**{float(w)!r}")  # pragma: no cover


@functools.lru_cache(maxsize=32)
def _ln10(prec: int) -> Any:
    """An enclosure of ``log(10)`` at ``prec`` bits (mpmath intervals)."""
    from mpmath import libmp

    return libmp.mpi_log((libmp.from_int(10), libmp.from_int(10)), prec)


def correctly_rounded(enc: Enclosures, digits: int) -> Printout | Shortfall:
    """The correctly rounded printout of the exact values, or what is missing for it."""
    E, bits = _scale_exponent(enc.Q)
    if E is None:
        return Shortfall(bits, [], zero=False)
    fmt = DecimalFormat(digits, E)
    texts: dict[str, Any] = {}
    missing: list[tuple[str, tuple[int, ...]]] = []
    need, zero, exact = 0, False, True
    for key, arr in enc.items():
        out = np.empty(arr.shape, dtype=object)
        for idx, x in np.ndenumerate(arr):
            if isinstance(x, Fraction):
                value: tuple[bool, int, int] | None = fmt.round(x)
                more = 0
                exact = exact and fmt.value(fmt.round(x)) == x
            elif isinstance(x, GridBox):
                value, more = _round_grid(x, fmt)
                zero = zero or (value is None and x.lo <= 0 <= x.hi)
                exact = False
            elif isinstance(x, RationalBox):
                value, more = _round_rational(x, fmt)
                exact = False
            else:
                value, more = _round_log10(x, fmt)
                exact = False
            if value is None:
                missing.append((key, idx))
                need = max(need, more)
                continue
            out[idx] = fmt.text(value)
        texts[key] = None if missing else _nested(out, str)
    if missing:
        return Shortfall(need, missing, zero)
    return Printout(texts, fmt, exact)


def enclosure_width(enc: Enclosures) -> Fraction:
    """The largest width ``hi - lo`` of an entry's enclosure (policy: rounded up)."""
    import mpmath

    worst = Fraction(0)
    for _, arr in enc.items():
        for x in arr.flat:
            if isinstance(x, GridBox):
                worst = max(worst, Fraction(x.hi - x.lo, 1 << x.F))
            elif isinstance(x, RationalBox):
                worst = max(worst, x.hi - x.lo)
            elif isinstance(x, Log10Box) and x.hi > x.lo:
                with mpmath.workprec(64):
                    w = mpmath.mpf(10) ** _mpf(x.hi) - mpmath.mpf(10) ** _mpf(x.lo)
                    w *= 1 + mpmath.mpf(2) ** -50  # covers the rounding of this estimate
                    worst = max(worst, Fraction(*mpmath.libmp.to_rational(w._mpf_)))
    return worst


def _mpf(x: Fraction) -> Any:
    import mpmath

    return mpmath.mpf(x.numerator) / x.denominator


def points(enc: Enclosures, prec: int) -> dict[str, ObjArray]:
    """A point inside each enclosure as an mpmath ``mpf`` of ``prec`` bits (its midpoint;
    for a policy entry ``10**w`` at the midpoint ``w``), for Python callers."""
    import mpmath
    from mpmath import libmp

    out: dict[str, ObjArray] = {}
    with mpmath.workprec(prec):
        for key, arr in enc.items():
            res = np.empty(arr.shape, dtype=object)
            for idx, y in np.ndenumerate(arr):
                if isinstance(y, GridBox):
                    raw = libmp.from_man_exp(y.lo + y.hi, -(y.F + 1), prec, "n")
                    res[idx] = mpmath.mp.make_mpf(raw)
                elif isinstance(y, RationalBox):
                    res[idx] = _mpf((y.lo + y.hi) / 2)
                elif isinstance(y, Log10Box):
                    res[idx] = mpmath.mpf(10) ** _mpf((y.lo + y.hi) / 2)
                else:
                    res[idx] = _mpf(y)
            out[key] = res
    return out
