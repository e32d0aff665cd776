"""Exact decimal printing for the certified solver (docs/conventions.md sections 2 and 4).

:class:`DecimalFormat` is the printed format of high-precision output and
rounds exact rationals into it, half to even: the one decimal printer of the
certified solver. (Exact inputs such as ``alpha`` and ``gamma`` are written
back by :func:`softq_ref.exact.fraction_text`.)
"""

from __future__ import annotations

import decimal
import functools
import math
from fractions import Fraction

__all__ = ["DecimalFormat"]


@functools.lru_cache(maxsize=4096)
def _pow10(k: int) -> int:
    return 10**k


def _exponent_nd(n: int, d: int) -> int:
    """``floor(log10(n / d))`` for positive integers (estimated, then checked exactly)."""
    e = math.floor(math.log10(n) - math.log10(d))

    def below(e: int) -> bool:  # n / d < 10**e, exactly
        return n * _pow10(-e) < d if e < 0 else n < d * _pow10(e)

    while below(e):
        e -= 1
    while not below(e + 1):
        e += 1
    return e


# --------------------------------------------------------------------------------------
# The high-precision output format and correct rounding into it
# --------------------------------------------------------------------------------------


class DecimalFormat:
    """The decimals that the certified solver prints for ``digits`` requested digits.

    With ``n = digits + 2`` and the scale exponent ``E = floor(log10(max(1,
    max|Q*|)))``, a value ``x`` with ``10**e <= |x| < 10**(e + 1)`` is printed
    as a multiple of ``10**-k`` with ``k = n - 1 - min(e, E)``: ``n``
    significant digits below ``10**E``, a fixed quantum ``10**(E - n + 1)`` at
    and above it. Every printed value is the exact value rounded to the
    nearest such decimal, ties to the even last digit (docs/conventions.md section 2), so
    ``|printed - exact| <= half_unit = 5 * 10**(E - n)``, which is at most
    ``10**-digits * max(1, max|Q*|)`` (docs/conventions.md section 4).

    >>> fmt = DecimalFormat(digits=3, scale_exponent=3)
    >>> fmt.round(Fraction(2, 3)), fmt.round(Fraction(-12345, 10)), fmt.round(Fraction(10**5, 3))
    ((False, 66667, 5), (True, 12345, 1), (False, 333333, 1))
    >>> [fmt.text(fmt.round(x)) for x in (Fraction(2, 3), Fraction(10**5, 3))], fmt.half_unit
    (['0.66667', '33333.3'], Fraction(1, 20))
    """

    def __init__(self, digits: int, scale_exponent: int) -> None:
        self.digits = digits
        self.n = digits + 2
        self.E = scale_exponent
        self.half_unit = Fraction(5) * Fraction(10) ** (scale_exponent - self.n)

    def decimals(self, e: int) -> int:
        """``k``: the quantum ``10**-k`` of the values ``10**e <= |x| < 10**(e + 1)``."""
        return self.n - 1 - min(e, self.E)

    def round(self, x: Fraction) -> tuple[bool, int, int]:
        """``x`` rounded into the format: ``(negative, q, k)``, the value ``(-1)**negative * q * 10**-k``.

        Canonical: ``k`` is the quantum of the rounded value's own decade (a
        rounding that carries into the next decade, 9.99... -> 10.0..., takes
        that decade's quantum), so equal values give equal triples.
        """
        return self.round_nd(x.numerator, x.denominator)

    def round_nd(self, num: int, den: int) -> tuple[bool, int, int]:
        """:meth:`round` of ``num / den`` (``den > 0``; need not be in lowest terms)."""
        if num == 0:
            return False, 0, 0
        n, d = abs(num), den
        e = _exponent_nd(n, d)
        k = self.decimals(e)
        top, bottom = (n * _pow10(k), d) if k >= 0 else (n, d * _pow10(-k))
        q, r = divmod(top, bottom)
        if 2 * r > bottom or (2 * r == bottom and q % 2 == 1):
            q += 1
        if q == _pow10(self.n) and e < self.E:  # carried into the next decade: its quantum
            q //= 10
            k -= 1
        return num < 0, q, k

    @staticmethod
    def text(value: tuple[bool, int, int]) -> str:
        """The printed text of ``(negative, q, k)``, as ``str(Decimal)`` writes it.

        >>> DecimalFormat.text((False, 66667, 5)), DecimalFormat.text((True, 12, -8))
        ('0.66667', '-1.2E+9')
        """
        neg, q, k = value
        if q == 0:
            return "0"
        digits = str(q) if q.bit_length() < 13000 else str(decimal.Decimal(q))
        e = len(digits) - 1 - k  # the decimal exponent of the value
        sign = "-" if neg else ""
        if k >= 0 and e >= -6:
            if e >= 0:
                whole, frac = digits[: e + 1], digits[e + 1 :]
                return sign + whole + ("." + frac if frac else "")
            return sign + "0." + "0" * (-e - 1) + digits
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}E{'+' if e > 0 else '-'}{abs(e)}"

    @staticmethod
    def value(value: tuple[bool, int, int]) -> Fraction:
        """The exact rational that ``(negative, q, k)`` denotes."""
        neg, q, k = value
        x = Fraction(q, _pow10(k)) if k >= 0 else Fraction(q * _pow10(-k))
        return -x if neg else x
