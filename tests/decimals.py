"""Reading and re-rounding printed decimals exactly, written independently of the package.

Printed decimals may have exponents far beyond what a Fraction can hold
(``1.5E-18212349997617072599`` is a correct policy entry at ``alpha = 1e-12``),
so values are kept as ``(negative, q, k)``, the number ``(-1)**negative * q * 10**-k``,
and every operation works on digit strings and small powers of ten only.

The printed format (docs/conventions.md): with ``n = digits + 2`` and the scale
exponent ``E``, a value in the decade ``e`` is a multiple of ``10**-(n - 1 - min(e, E))``,
rounded half to even.
"""

from __future__ import annotations

import re
from fractions import Fraction

Dec = tuple[bool, int, int]

_NUMBER = re.compile(r"^(-?)(\d+)(?:\.(\d+))?(?:E([+-]\d+))?$")


def parse(text: str) -> Dec:
    """``"-1.25E-3"`` -> ``(True, 125, 5)``; ``"0"`` -> ``(False, 0, 0)``."""
    m = _NUMBER.match(text)
    assert m, text
    sign, whole, frac, exp = m.groups()
    frac = frac or ""
    q = int(whole + frac)
    k = len(frac) - int(exp or 0)
    return sign == "-", q, k


def decade(x: Dec) -> int:
    """``floor(log10 |x|)`` of a nonzero value."""
    return len(str(x[1])) - 1 - x[2]


def to_fraction(x: Dec) -> Fraction:
    """Exact value (only for moderate exponents)."""
    neg, q, k = x
    assert abs(k) < 10_000, "exponent too large for a Fraction"
    v = Fraction(q, 10**k) if k >= 0 else Fraction(q * 10**-k)
    return -v if neg else v


def reround(x: Dec, digits: int, E: int) -> Dec:
    """Round the exact decimal ``x`` into the format (half to even), canonically."""
    neg, q, k = x
    if q == 0:
        return False, 0, 0
    n = digits + 2
    e = decade(x)
    kk = n - 1 - min(e, E)
    if kk >= k:  # representable: only rescale
        return neg, q * 10 ** (kk - k), kk
    div = 10 ** (k - kk)
    qq, r = divmod(q, div)
    if 2 * r > div or (2 * r == div and qq % 2 == 1):
        qq += 1
    if qq == 10**n and e < E:  # carried into the next decade: its (coarser) quantum
        qq //= 10
        kk -= 1
    return neg, qq, kk


def shift_half_unit(x: Dec, direction: int) -> Dec:
    """``x + direction * (half of x's own last unit)``, exactly (as a finer decimal)."""
    neg, q, k = x
    signed = (-q if neg else q) * 10 + 5 * direction
    return signed < 0, abs(signed), k + 1


def correctly_rounded_from(finer: str, digits: int, E: int) -> Dec | None:
    """What a correctly rounded ``digits``-digit printout must be, given the correctly
    rounded finer printout ``finer`` of the same exact value; None when the finer
    printout leaves it open (the exact value is within its half unit of a boundary)."""
    x = parse(finer)
    if x[1] == 0:
        return False, 0, 0
    lo = reround(shift_half_unit(x, -1), digits, E)
    hi = reround(shift_half_unit(x, +1), digits, E)
    return lo if lo == hi else None


def scale_exponent(error_bound: str, digits: int) -> int:
    """``E`` from a printed non-zero ``error_bound = 5 * 10**(E - digits - 2)``."""
    neg, q, k = parse(error_bound)
    assert not neg and q == 5, error_bound
    return digits + 2 - k


def round_fraction(x: Fraction, digits: int, E: int) -> Dec:
    """The exact rational ``x`` correctly rounded into the format (integer arithmetic)."""
    if x == 0:
        return False, 0, 0
    n = digits + 2
    num, den = abs(x.numerator), x.denominator
    e = exponent(x)
    k = n - 1 - min(e, E)
    a, b = (num * 10**k, den) if k >= 0 else (num, den * 10**-k)
    q, r = divmod(a, b)
    if 2 * r > b or (2 * r == b and q % 2 == 1):
        q += 1
    if q == 10**n and e < E:
        q //= 10
        k -= 1
    return x < 0, q, k


def exponent(x: Fraction) -> int:
    """``floor(log10 |x|)`` of a nonzero rational, exactly."""
    num, den = abs(x.numerator), x.denominator

    def below(e: int) -> bool:  # num / den < 10**e
        return num * 10**-e < den if e < 0 else num < den * 10**e

    e = len(str(num)) - len(str(den))
    while below(e):
        e -= 1
    while not below(e + 1):
        e += 1
    return e
