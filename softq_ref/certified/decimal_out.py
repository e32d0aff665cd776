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
