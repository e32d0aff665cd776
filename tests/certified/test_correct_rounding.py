"""Every printed high-precision digit is the exact value correctly rounded.

The reference here is independent of the package's solver and printer:
``tests/mp_reference.py`` (plain mpmath Newton at many more digits) and
``tests/decimals.py`` (rounding in integer arithmetic, written apart from
``softq_ref.certified.decimal_out``). Reference values are known to about
``10**-(dps - 10)`` relative (mp_reference's own residual check): where that
uncertainty straddles a rounding boundary of the printed format, the entry is
counted and only the certified bound is asserted for it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref import FiniteMDP
from softq_ref.certified import solve_certified
from softq_ref.certified.decimal_out import DecimalFormat
from softq_ref.errors import UndecidedRoundingError
from softq_ref.io.catalog import CASES
from softq_ref.strategies import mdps

import decimals
from mp_reference import mp_solve

REF_EXTRA_DIGITS = 30  # the reference runs at digits + 30 (+ 10 guard digits, mp_reference)
# mp_reference is accurate to about 10**-(dps - 10) relative; we take 10**-(dps - 15):
REF_SLACK_DIGITS = 15


def _fraction(x: Any) -> Fraction:
    """An mpf (or an int) exactly; ``mpmath.mpf(x)`` would round it to the current precision."""
    if not isinstance(x, mpmath.mpf):
        return Fraction(x)
    return Fraction(*mpmath.libmp.to_rational(x._mpf_))


def _flat(nested: Any) -> list[Any]:
    return list(np.ravel(np.array(nested, dtype=object)))


def check_against_reference(mdp: FiniteMDP, alpha: Fraction, digits: int) -> int:
    """Assert every printed entry equals the reference correctly rounded; return how many
    entries the reference could not decide (within its own uncertainty of a boundary)."""
    sol = solve_certified(mdp, alpha, digits=digits)
    dps = digits + REF_EXTRA_DIGITS + 10
    Q, V, pi = mp_solve(mdp, alpha, dps=dps)
    ref = {"Q": _flat(Q), "V": _flat(V), "policy": _flat(pi)}
    qmax = max(abs(_fraction(x)) for x in ref["Q"])
    rel = Fraction(1, 10 ** (dps - REF_SLACK_DIGITS))
    # E = floor(log10(max(1, max|Q*|))), from the reference unless it is next to 10**E
    # E: the decimal exponent of max(1, max|Q*|) rounded to digits + 2 significant digits
    # (from the reference, unless its uncertainty straddles a rounding boundary)
    relative = 10**9  # a scale no value reaches: plain significant-digit rounding
    lo_e = decimals.round_fraction(max(Fraction(1), qmax * (1 - rel)), digits, relative)
    hi_e = decimals.round_fraction(max(Fraction(1), qmax * (1 + rel)), digits, relative)
    assert sol.format is not None
    if lo_e == hi_e:
        assert sol.format.E == decimals.decade(lo_e)
    E = sol.format.E
    open_entries = 0
    for key in ("Q", "V", "policy"):
        for text, x in zip(_flat(sol.decimals[key]), ref[key], strict=True):
            f = _fraction(x)
            # Q, V: absolute error ~ rel * scale; pi = mu exp((Q - V) / alpha): relative
            # error ~ 2 * (that absolute error) / alpha (zero where mp_reference sets pi = 0)
            width = rel * max(Fraction(1), qmax)
            if key == "policy":
                width = abs(f) * width * 4 * max(1, 1 / alpha)
            if f == 0 and text == "0":
                continue  # an exact zero of the reference (termination, mu = 0), printed as 0
            lo = decimals.round_fraction(f - width, digits, E)
            hi = decimals.round_fraction(f + width, digits, E)
            if lo == hi:
                assert decimals.parse(text) == lo, (key, text, float(f))
            else:
                open_entries += 1
                got = decimals.to_fraction(decimals.parse(text))
                assert abs(got - f) <= sol.error_bound + width
    return open_entries


moderate_alphas = st.sampled_from([Fraction(1, 10), Fraction(37, 100), Fraction(1), Fraction(5)])


@settings(max_examples=30)
@given(
    mdp=mdps(
        states=(1, 4),
        actions=(1, 3),
        gamma=(0.0, 0.95),
        prior=st.booleans(),
        termination=st.booleans(),
        horizon=st.one_of(st.none(), st.none(), st.integers(1, 4)),
    ),
    alpha=moderate_alphas,
    digits=st.integers(8, 30),
)
@example(
    mdp=FiniteMDP([[[0.5, 0.5], [1, 0]], [[0, 1], [0, 1]]], [[1, 0], [0, 0.5]], 0.9),
    alpha=Fraction(1, 10),
    digits=30,
)
def test_printed_digits_are_the_reference_correctly_rounded(
    mdp: FiniteMDP, alpha: Fraction, digits: int
) -> None:
    check_against_reference(mdp, alpha, digits)


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "extreme-rewards"], ids=str)
def test_catalog_cases_print_the_reference_correctly_rounded(case: Any) -> None:
    mdp = case.build()
    undecided = sum(
        check_against_reference(mdp, Fraction(a), 30) for a in case.alphas if Fraction(a) != 0
    )
    assert undecided == 0  # 60 more digits than printed leave no entry open


# ---- entries next to a rounding boundary ----------------------------------------------


@pytest.mark.parametrize("digits", [5, 20, 31])
@pytest.mark.parametrize("side", [-1, 1])
def test_a_value_within_a_millionth_unit_of_a_midpoint_rounds_correctly(
    digits: int, side: int
) -> None:
    """One state, two actions, gamma = 1/2, alpha = 1, rewards ``c`` and ``c + 1/3``:
    ``V* = 2 (c + log(1 + e**(1/3)))`` in closed form. ``c`` is chosen (as an exact
    80-digit decimal) so that ``V*`` lies ``10**-(digits + 5)`` below or above a
    midpoint of the printed format; the printout must fall on the right side."""
    n = digits + 2
    with mpmath.workdps(120):
        L = 2 * mpmath.log(1 + mpmath.exp(mpmath.mpf(1) / 3))
        q = int(mpmath.floor(L * mpmath.mpf(10) ** (n - 1)))
        midpoint = (mpmath.mpf(q) + mpmath.mpf(1) / 2) / mpmath.mpf(10) ** (n - 1)
        target = midpoint + side * mpmath.mpf(10) ** -(digits + 5)
        c = mpmath.nstr((target - L) / 2, 80, strip_zeros=False)
        exact_c = Fraction(c)
        v_star = 2 * (mpmath.mpf(exact_c.numerator) / exact_c.denominator + L / 2)
        assert abs(v_star - midpoint) < mpmath.mpf(10) ** -(digits + 4)
        want = q + 1 if side > 0 else q
    mdp = FiniteMDP([[[1], [1]]], [[c, str(exact_c + Fraction(1, 3))]], "1/2")
    sol = solve_certified(mdp, 1, digits=digits)
    assert sol.format is not None and sol.format.E == 0
    assert decimals.parse(sol.decimals["V"][0]) == (False, want, n - 1)


def test_a_scale_within_1e_870_of_a_power_of_ten_is_decided_by_rounding() -> None:
    """``Q*(0) = -10 + gamma V*`` with ``V* ~ 1e-870`` (alpha = 1e-3, the other actions far
    below): ``max|Q*|`` is ``10 - 1e-870``, which rounds to 10 at any printed precision, so
    ``E = 1``; the exact exponent (0) would need about 2900 bits to tell apart from 1."""
    mdp = FiniteMDP([[[1.0]] * 3], [[-10.0, 0.0, -2.0]], 0.93)
    sol = solve_certified(mdp, 1e-3, digits=8)
    assert sol.format is not None and sol.format.E == 1
    assert sol.decimals["Q"][0][0] == "-10.00000000" and sol.error_bound_text == "5E-9"


def test_an_exact_tie_at_a_midpoint_rounds_half_to_even() -> None:
    """32 identical actions: ``pi* = 1/32 = 0.03125`` exactly, a midpoint at 3 significant
    digits (digits = 1); it prints 0.0312 (even), not 0.0313. Known exactly because the
    actions' rows and rewards are identical."""
    mdp = FiniteMDP([[[1.0]] * 32], [[0.25] * 32], "1/2")
    sol = solve_certified(mdp, "1/10", digits=1)
    assert set(sol.decimals["policy"][0]) == {"0.0312"}


def test_exact_zeros_print_as_zero() -> None:
    """An absorbing zero-reward state under a probability prior has ``V* = Q* = 0``
    exactly; no enclosure of positive width could decide it, the structural analysis does."""
    mdp = FiniteMDP(
        [[[0.5, 0.5], [0, 1]], [[0, 1], [0, 1]]],
        [[1, 2], [0, 0]],
        0.9,
        prior=[[0.5, 0.5], [0.25, 0.75]],
    )
    sol = solve_certified(mdp, "0.3", digits=25)
    assert sol.decimals["V"][1] == "0" and sol.decimals["Q"][1] == ["0", "0"]
    # pi* = mu there, exactly: 27 significant digits of 0.25 and 0.75
    assert sol.decimals["policy"][1] == ["0.25" + "0" * 25, "0.75" + "0" * 25]


def test_an_undecidable_symmetric_tie_raises_a_clear_error() -> None:
    """State 0 chooses among 32 mirror-image absorbing states: ``pi*(. | 0) = 1/32``
    exactly, a midpoint at digits = 1, but the rows differ, so no structural rule proves
    the tie. The solver must not guess a digit."""
    S, A = 33, 32
    P = np.zeros((S, A, S))
    for a in range(A):
        P[0, a, 1 + a] = 1.0
    for s in range(1, S):
        P[s, :, s] = 1.0
    mdp = FiniteMDP(P, np.zeros((S, A)), "1/2")
    with pytest.raises(UndecidedRoundingError, match=r"policy\[0, 0\].*another number of digits"):
        solve_certified(mdp, 1, digits=1)
    # with two more digits 1/32 = 0.03125 is representable and prints exactly
    assert solve_certified(mdp, 1, digits=3).decimals["policy"][0][0] == "0.031250"


# ---- the format itself ----------------------------------------------------------------


@given(
    x=st.fractions(max_denominator=10**12).filter(lambda f: f != 0)
    | st.builds(
        lambda n, k: Fraction(n, 10**k), st.integers(-(10**12), 10**12), st.integers(0, 40)
    ),
    digits=st.integers(1, 40),
    E=st.integers(0, 12),
)
@example(x=Fraction(999996, 100000), digits=2, E=0)  # 9.99996 -> 10.000: fixed quantum kept
@example(x=Fraction(99996, 1000000), digits=2, E=0)  # 0.099996 -> 0.1000: carries a decade
@example(x=Fraction(-99995, 10000), digits=2, E=1)  # a tie that carries: -10.00
@example(x=Fraction(12345, 10**30), digits=1, E=3)  # tiny: relative digits
def test_the_format_rounds_half_to_even_canonically(x: Fraction, digits: int, E: int) -> None:
    fmt = DecimalFormat(digits, E)
    got = fmt.round(x)
    assert got == decimals.round_fraction(x, digits, E)
    assert decimals.parse(fmt.text(got)) == got
    assert abs(fmt.value(got) - x) <= fmt.half_unit
    assert fmt.half_unit <= Fraction(1, 10**digits) * max(1, 10**E)
    if x != 0:
        assert len(str(got[1])) >= digits  # at least `digits` significant digits


def test_decimal_format_text_matches_python_decimal() -> None:
    import decimal

    for text in ["1.0000", "0.00012345", "1.2345E+10", "-123.45", "1E-7", "12.3", "5E-32"]:
        neg, q, k = decimals.parse(text)
        assert DecimalFormat.text((neg, q, k)) == str(decimal.Decimal(text))
    assert math.isclose(float(decimals.to_fraction(decimals.parse("5E-32"))), 5e-32)
