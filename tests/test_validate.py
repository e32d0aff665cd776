"""The one place for argument checking: first bad index, the alpha reader, the checker."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from softq_ref._rounding import U64, UNIT_ROUNDOFF, gamma_n
from softq_ref._validate import (
    check_argument,
    first_bad_index,
    float_alpha,
    positive_int,
    read_alpha,
)
from softq_ref.errors import InvalidArgumentError, InvalidMDPError


def test_first_bad_index_is_the_first_in_c_order_or_none() -> None:
    bad = np.zeros((2, 3, 4), dtype=bool)
    assert first_bad_index(bad) is None
    bad[1, 0, 2] = bad[1, 2, 0] = True
    assert first_bad_index(bad) == (1, 0, 2)
    assert all(isinstance(i, int) for i in first_bad_index(bad) or ())
    assert first_bad_index(np.bool_(True)) == ()


@pytest.mark.parametrize(
    ("value", "exact"),
    [(0, Fraction(0)), ("0.1", Fraction(1, 10)), ("1/3", Fraction(1, 3)), (0.5, Fraction(1, 2))],
)
def test_read_alpha_is_exact(value: object, exact: Fraction) -> None:
    assert read_alpha(value) == exact


@pytest.mark.parametrize(
    ("value", "where", "message"),
    [
        (-1, "alpha", "alpha is -1; the temperature must be >= 0"),
        ("-0.5", "--alpha", "--alpha is -0.5; the temperature must be >= 0"),
        (float("nan"), "alpha", "alpha is nan; every number must be finite"),
        ("x", "alpha", "alpha is 'x', not a number"),
        (True, "alpha", "alpha is True, a boolean"),
    ],
)
def test_a_bad_alpha_is_an_argument_error_naming_it(
    value: object, where: str, message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        read_alpha(value, where)
    assert type(err.value) is InvalidArgumentError  # not MDP data
    assert str(err.value).startswith(message)


def test_float_alpha_rounds_and_refuses_overflow() -> None:
    assert float_alpha("1/10") == (0.1, Fraction(1, 10))
    with pytest.raises(InvalidArgumentError, match="too large for float64"):
        float_alpha(10**400)


def test_check_argument_and_positive_int() -> None:
    check_argument(True, "unused")
    with pytest.raises(InvalidArgumentError, match="^no$"):
        check_argument(False, "no")
    assert positive_int(np.int64(3), "digits") == 3
    for bad in (0, -1, 2.0, True, "3"):
        with pytest.raises(InvalidArgumentError, match="digits must be a positive integer"):
            positive_int(bad, "digits")


def test_mdp_errors_are_argument_errors_and_value_errors() -> None:
    assert issubclass(InvalidMDPError, InvalidArgumentError)
    assert issubclass(InvalidArgumentError, ValueError)


def test_the_rounding_constants() -> None:
    assert U64 == 2.0**-53
    assert UNIT_ROUNDOFF <= U64
    assert gamma_n(3, U64) == 3 * U64 / (1 - 3 * U64)
