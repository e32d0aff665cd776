"""Exact reading of numbers (docs/conventions.md section 2).

A Python or NumPy float is its exact binary value; an ``int`` is exact; a
string is read exactly as a decimal (``"0.1"`` is one tenth, ``"-2.5e-3"``)
or a fraction (``"1/3"``); :class:`fractions.Fraction` and
:class:`decimal.Decimal` are exact already. NaN and infinities are refused.
"""

from __future__ import annotations

import decimal
import numbers
import re
from fractions import Fraction
from typing import Any

import numpy as np

from softq_ref.errors import InvalidArgumentError, InvalidMDPError

__all__ = [
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "to_fraction",
    "is_exact_text",
    "ratio_text",
    "decimal_text",
    "fraction_text",
    "short_text",
]

# ASCII digits only (re.ASCII): "\u0661" (Arabic-Indic one) is not the number 1.
_NUMBER_TEXT = re.compile(
    r"""^\s*[+-]?(
        \d+\s*/\s*\d+                       # p/q
      | (\d+\.?\d*|\.\d+)([eE][+-]?\d+)?   # decimal
    )\s*$""",
    re.VERBOSE | re.ASCII,
)

#: The most digits an exact string may have: in its significand, or in each of ``p``
#: and ``q`` of ``"p/q"`` (docs/conventions.md section 2, "Limits").
MAX_DIGITS = 1000
#: The largest magnitude of the decimal exponent of an exact string (``"1e1000"``).
MAX_EXPONENT = 1000


def is_exact_text(value: Any) -> bool:
    """True if ``value`` is a string that :func:`to_fraction` reads exactly."""
    return isinstance(value, str) and _NUMBER_TEXT.match(value) is not None


def to_fraction(
    value: Any, where: str = "value", *, error: type[InvalidArgumentError] = InvalidMDPError
) -> Fraction:
    """Return the exact rational value of ``value``; ``where`` names it in errors.

    ``error`` is the class raised for a value that is not a finite number:
    :class:`~softq_ref.InvalidMDPError` (MDP data) unless the caller reads
    another argument (:func:`softq_ref._validate.read_alpha` passes
    :class:`~softq_ref.InvalidArgumentError`).

    >>> to_fraction("1/3"), to_fraction("0.1"), to_fraction(0.5)
    (Fraction(1, 3), Fraction(1, 10), Fraction(1, 2))
    >>> to_fraction(0.1) == Fraction(3602879701896397, 36028797018963968)
    True
    >>> import mpmath
    >>> to_fraction(mpmath.mpf(-2.5))
    Fraction(-5, 2)
    """
    if isinstance(value, bool | np.bool_):
        raise error(f"{where} is {value!r}, a boolean; expected a number")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, float | np.floating):
        x = float(value)
        if not np.isfinite(x):
            raise error(f"{where} is {x!r}; every number must be finite")
        return Fraction(x)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise error(f"{where} is {value!r}; every number must be finite")
        return Fraction(value)
    if isinstance(value, str):
        if not is_exact_text(value):
            raise error(
                f'{where} is {value!r}, not a number (expected a decimal like "0.1" '
                f'or a fraction like "1/3")'
            )
        text = value.strip().replace(" ", "")
        _check_size(text, value, where, error)
        if "/" in text:
            num, den = text.split("/")
            if int(den) == 0:
                raise error(f"{where} is {value!r}: division by zero")
        return Fraction(text)
    # mpmath mpf: its exact binary value from the raw (sign, man, exp, bc) tuple.
    # (Not ``mpf.man_exp``: its mantissa is unsigned, so it drops the sign of negatives.)
    raw = getattr(value, "_mpf_", None)
    if raw is not None:
        sign, man, exp, _ = raw
        if not man and exp:  # +-inf or nan
            raise error(f"{where} is {value!r}; every number must be finite")
        return (-1) ** sign * Fraction(man) * Fraction(2) ** exp
    raise error(
        f"{where} is {_short_repr(value)} of type {type(value).__name__}; expected a number"
    )


def _short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` on one line, cut to ``limit`` characters (error messages stay short)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_size(text: str, value: str, where: str, error: type[InvalidArgumentError]) -> None:
    """Refuse an exact string beyond :data:`MAX_DIGITS` or :data:`MAX_EXPONENT`.

    Checked on the text, before any power of ten is computed: ``"1e1000000000"``
    would otherwise take minutes, and a 5000-digit integer exceeds Python's
    limit on int-to-str conversion.
    """
    mantissa, _, exponent = text.lower().partition("e")
    for part in mantissa.lstrip("+-").split("/"):
        digits = sum(c.isdigit() for c in part)
        if digits > MAX_DIGITS:
            raise error(
                f"{where} is a number of {digits} digits ({value[:12]}...); exact strings "
                f"have at most {MAX_DIGITS} digits (docs/conventions.md section 2)"
            )
    if exponent:
        e_digits = exponent.lstrip("+-").lstrip("0")
        if len(e_digits) > len(str(MAX_EXPONENT)) or int(e_digits or "0") > MAX_EXPONENT:
            shown = value if len(value) <= 40 else value[:20] + "..." + value[-10:]
            raise error(
                f"{where} is {shown!r}: its exponent is beyond +-{MAX_EXPONENT}, the limit "
                f"for exact strings (docs/conventions.md section 2)"
            )


def short_text(x: Fraction) -> str:
    """A short text for ``x`` in a message: ``str(x)`` if short, else 6 significant digits.

    Never converts a huge integer to a string (Python limits that to 4300
    digits) and never overflows a float.

    >>> short_text(Fraction(1, 3)), short_text(Fraction(10) ** 400), short_text(Fraction(-1, 10**30))
    ('1/3', '1e+400', '-1e-30')
    """
    if x.denominator < 10**6 and abs(x.numerator) < 10**15:
        return str(x)
    ax = abs(x)
    e = int((ax.numerator.bit_length() - ax.denominator.bit_length()) * 0.30102999566398120)
    while ax >= Fraction(10) ** (e + 1):
        e += 1
    while ax < Fraction(10) ** e:
        e -= 1
    m = round(ax / Fraction(10) ** (e - 5))
    if m >= 10**6:
        m, e = m // 10, e + 1
    digits = str(m)
    frac = digits[1:].rstrip("0")
    return f"{'-' if x < 0 else ''}{digits[0]}{'.' if frac else ''}{frac}e{e:+d}"


def ratio_text(x: Fraction) -> str:
    """``x`` as ``"p/q"``, or ``"p"`` when it is an integer: an exact text that always exists.

    >>> ratio_text(Fraction(1, 3)), ratio_text(Fraction(-4, 2))
    ('1/3', '-2')
    """
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def decimal_text(x: Fraction) -> str | None:
    """``x`` as a terminating decimal (``"0.1"``, ``"-1.25"``, ``"7"``), or None if it has none.

    The shortest positional text: no exponent, no trailing zeros.

    >>> decimal_text(Fraction(1, 10)), decimal_text(Fraction(-5, 4)), decimal_text(Fraction(1, 3))
    ('0.1', '-1.25', None)
    """
    den, twos, fives = x.denominator, 0, 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return None
    if x.denominator == 1:
        return str(x.numerator)
    k = max(twos, fives)  # the least k with x * 10**k an integer
    m = x.numerator * 10**k // x.denominator
    sign, digits = ("-" if m < 0 else ""), str(abs(m)).rjust(k + 1, "0")
    return f"{sign}{digits[:-k]}.{digits[-k:]}"


def fraction_text(x: Fraction) -> str:
    """An exact text for ``x``: its terminating decimal when there is one, else ``"p/q"``.

    >>> fraction_text(Fraction(1, 10)), fraction_text(Fraction(1, 3)), fraction_text(Fraction(2))
    ('0.1', '1/3', '2')
    """
    text = decimal_text(x)
    return ratio_text(x) if text is None else text
