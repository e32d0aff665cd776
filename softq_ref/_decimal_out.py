"""Exact decimal printing for the certified solver (SPEC sections 2 and 4).

Every printed number is the correctly rounded decimal (round half to even)
of an exact rational; the rounding error is computed exactly, so that the
certified ``error_bound`` can include it.
"""

from __future__ import annotations

import decimal
import functools
import math
from fractions import Fraction

__all__ = ["round_decimal", "round_up", "fraction_text", "decimal_exponent"]

_INT_DIGITS_MAX = 4000  # below Python's default limit on int -> str conversion (4300)


def _context(prec: int, rounding: str) -> decimal.Context:
    return decimal.Context(
        prec=prec, rounding=rounding, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN
    )


def _divide(x: Fraction, prec: int, rounding: str) -> decimal.Decimal:
    ctx = _context(prec, rounding)
    return ctx.divide(decimal.Decimal(x.numerator), decimal.Decimal(x.denominator))


def decimal_exponent(x: Fraction) -> int:
    """``floor(log10 |x|)`` for ``x != 0`` (exactly: estimated, then checked in integers).

    >>> decimal_exponent(Fraction(1, 1000)), decimal_exponent(Fraction(999, 1000))
    (-3, -1)
    """
    return _exponent_nd(abs(x.numerator), x.denominator)


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


def round_decimal(x: Fraction, significant: int) -> tuple[str, Fraction]:
    """``x`` rounded to ``significant`` digits: its text and the exact printed value.

    >>> round_decimal(Fraction(1, 3), 5)
    ('0.33333', Fraction(33333, 100000))
    >>> round_decimal(Fraction(2), 5)[0], round_decimal(Fraction(-1, 10**9), 3)[0]
    ('2.0000', '-1.00E-9')
    >>> round_decimal(Fraction(0), 5)
    ('0', Fraction(0, 1))
    """
    if x == 0:
        return "0", Fraction(0)
    if significant <= _INT_DIGITS_MAX:
        return _round_int(x, significant)
    d = _divide(x, significant, decimal.ROUND_HALF_EVEN)
    # pad with zeros so that exactly `significant` digits are shown ("2" -> "2.0000")
    quantum = decimal.Decimal((0, (1,), d.adjusted() - significant + 1))
    d = d.quantize(quantum, context=_context(significant + 2, decimal.ROUND_HALF_EVEN))
    return str(d), Fraction(d)


def _round_int(x: Fraction, significant: int) -> tuple[str, Fraction]:
    """:func:`round_decimal` in integer arithmetic (the same text as ``str(Decimal)``)."""
    text, q, k = round_nd(x.numerator, x.denominator, significant)
    printed = Fraction(q) * (Fraction(1, 10**k) if k >= 0 else 10**-k)
    return text, -printed if x < 0 else printed


def round_nd(n: int, d: int, significant: int, exponent: int | None = None) -> tuple[str, int, int]:
    """``n / d`` (``n != 0``, ``d > 0``) rounded half-even to ``significant`` digits.

    Returns the text (as ``str(Decimal)`` writes it) and ``q >= 0``, ``k`` such
    that the printed value is ``sign(n) * q * 10**-k``. ``exponent``, if known,
    is ``floor(log10 |n / d|)``.
    """
    sign = "-" if n < 0 else ""
    n = abs(n)
    e = _exponent_nd(n, d) if exponent is None else exponent
    k = significant - 1 - e  # |x| * 10**k has `significant` digits before the point
    num, den = (n * _pow10(k), d) if k >= 0 else (n, d * _pow10(-k))
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    if q == 10**significant:  # the rounding carried into a new digit
        q //= 10
        e += 1
        k -= 1
    # str(int) refuses more than 4300 digits (CPython's default limit); Decimal does not
    digits = str(q) if significant <= _INT_DIGITS_MAX else str(decimal.Decimal(q))
    if -6 <= e < significant:
        if e >= 0:
            text = digits[: e + 1] + ("." + digits[e + 1 :] if e + 1 < len(digits) else "")
        else:
            text = "0." + "0" * (-e - 1) + digits
    else:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mant}E{'+' if e > 0 else '-'}{abs(e)}"
    return sign + text, q, k


def round_up(x: Fraction, significant: int = 3) -> tuple[str, Fraction]:
    """``x >= 0`` rounded up to ``significant`` digits (for error bounds).

    >>> round_up(Fraction(1, 3), 2)
    ('0.34', Fraction(17, 50))
    """
    if x == 0:
        return "0", Fraction(0)
    d = _divide(x, significant, decimal.ROUND_CEILING)
    return str(d), Fraction(d)


def fraction_text(x: Fraction) -> str:
    """An exact text for ``x``: a terminating decimal when there is one, else ``"p/q"``.

    >>> fraction_text(Fraction(1, 10)), fraction_text(Fraction(1, 3)), fraction_text(Fraction(2))
    ('0.1', '1/3', '2')
    """
    q = x.denominator
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1:
        return f"{x.numerator}/{x.denominator}"
    if x.denominator == 1:
        return str(x.numerator)
    digits = len(str(abs(x.numerator))) + max(twos, fives) + 2
    d = _divide(x, digits, decimal.ROUND_HALF_EVEN)
    assert Fraction(d) == x
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


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
    nearest such decimal, ties to the even last digit (SPEC section 2), so
    ``|printed - exact| <= half_unit = 5 * 10**(E - n)``, which is at most
    ``10**-digits * max(1, max|Q*|)`` (SPEC section 4).

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
        if x == 0:
            return False, 0, 0
        n, d = abs(x.numerator), x.denominator
        e = _exponent_nd(n, d)
        k = self.decimals(e)
        num, den = (n * _pow10(k), d) if k >= 0 else (n, d * _pow10(-k))
        q, r = divmod(num, den)
        if 2 * r > den or (2 * r == den and q % 2 == 1):
            q += 1
        if q == _pow10(self.n) and e < self.E:  # carried into the next decade: its quantum
            q //= 10
            k -= 1
        return x < 0, q, k

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
