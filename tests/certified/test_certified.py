"""The certified high-precision solver: its bounds hold, its digits are right.

Every assertion compares exact rationals: printed decimals are read back
exactly (docs/conventions.md section 2) and compared with other certified answers, with
closed forms evaluated by sympy, or with the float64 solver's own bound. The
only tolerances are the certified bounds themselves.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softq_ref import FiniteMDP, InvalidArgumentError
from softq_ref.certified import CertifiedSolution, solve_certified
from softq_ref.certified.arith import flint_available
from softq_ref.strategies import mdps, temperatures

import decimals

BACKENDS = ["mpmath"] + (["flint"] if flint_available() else [])


@pytest.fixture(autouse=True)
def _flint_precision_is_restored() -> Any:
    """The flint back end sets flint's global precision only inside a scope."""
    if not flint_available():
        yield
        return
    import flint

    before = flint.ctx.prec
    yield
    assert flint.ctx.prec == before


def printed(sol: CertifiedSolution) -> list[str]:
    """Every printed entry (Q, V, policy) in a fixed order."""
    out: list[str] = []
    for key in ("Q", "V", "policy"):
        out += [str(x) for x in np.ravel(np.array(sol.decimals[key], dtype=object))]
    return out


def assert_agree(a: CertifiedSolution, b: CertifiedSolution) -> None:
    """Two correctly rounded printouts of the same exact values agree digit for digit.

    With the same digits they are identical, bytes and bound. With more digits
    in ``b``, each entry of ``a`` is ``b``'s entry rounded to ``a``'s format, unless
    ``b``'s entry lies within its own half unit of one of ``a``'s rounding boundaries
    (then only ``|a - b| <= a.error_bound + half unit of b`` can be asserted).
    """
    if a.digits == b.digits:
        assert a.decimals == b.decimals
        assert a.error_bound_text == b.error_bound_text
        return
    assert a.digits < b.digits
    assert a.format is not None and b.format is not None
    assert a.format.E == b.format.E or a.format.E is None
    for i, (x, y) in enumerate(zip(printed(a), printed(b), strict=True)):
        want = decimals.correctly_rounded_from(y, a.digits, a.format.E)
        if want is not None:
            assert decimals.parse(x) == want, (i, x, y)
        else:
            fx, fy = (
                decimals.to_fraction(decimals.parse(x)),
                decimals.to_fraction(decimals.parse(y)),
            )
            assert abs(fx - fy) <= a.error_bound + b.error_bound, (i, x, y)


def max_abs_q(sol: CertifiedSolution) -> Fraction:
    return max(abs(Fraction(x)) for x in np.ravel(np.array(sol.decimals["Q"], dtype=object)))


# ---- extreme cases pinned with @example ----------------------------------------------

_P2 = [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.25, 0.75]]]
SCALES = FiniteMDP(_P2, [[1e8, 1e-8], [-1e-8, 3.0]], 0.9)
GAMMA_0999 = FiniteMDP(_P2, [[1.0, 0.0], [0.5, -1.0]], 0.999)
TIES = FiniteMDP(_P2, [[1.0, 1.0], [2.0, 2.0]], "1/2")
PRIOR_ZEROS = FiniteMDP(_P2, [[1.0, 5.0], [0.0, -1.0]], 0.8, prior=[[1.0, 0.0], [0.25, 0.75]])
TERMINATION = FiniteMDP(
    [[[0.5, 0.0], [0.0, 0.0]], [[0.25, 0.25], [0.0, 1.0]]],
    [[1.0, 2.0], [0.0, -1.0]],
    0.9,
    termination=True,
)
RATIONAL = FiniteMDP(
    [[["1/3", "2/3"], ["1/7", "6/7"]], [["1/2", "1/2"], [1, 0]]],
    [["1/10", "-2/3"], ["0.3", "1/9"]],
    "9/10",
)


def soft_mdps(horizons: bool = True) -> Any:
    """Small MDPs of every kind: priors (with zeros), termination, R[s, a, s'],
    and a finite horizon one time in four."""
    return mdps(
        states=(1, 3),
        actions=(1, 3),
        gamma=(0.0, 0.95),
        prior=st.booleans(),
        termination=st.booleans(),
        rewards_3d=st.booleans(),
        horizon=st.one_of(st.none(), st.none(), st.none(), st.integers(1, 4)) if horizons else None,
    )


def extreme_examples(f: Any, digits: int | None = 25) -> Any:
    """Pin the extreme cases of issue 3 (scales 1e8 and 1e-8 together, alpha = 1e-12,
    gamma = 0.999, exact ties, a prior with zeros, termination, rational inputs)."""
    extra = {} if digits is None else {"digits": digits}
    for mdp, alpha in [
        (SCALES, 1.0),
        (SCALES, 1e-12),
        (GAMMA_0999, 0.5),
        (TIES, 1e-12),
        (TIES, 2.0),
        (PRIOR_ZEROS, 0.3),
        (TERMINATION, 1.0),
        (RATIONAL, "1/3"),
    ]:
        f = example(mdp=mdp, alpha=alpha, **extra)(f)
    return f


# ---- the bounds hold ------------------------------------------------------------------


@settings(max_examples=50)
@given(mdp=soft_mdps(), alpha=temperatures(zero=False), digits=st.integers(15, 40))
@extreme_examples
def test_certified_bound_holds_against_thirty_more_digits(
    mdp: FiniteMDP, alpha: Any, digits: int
) -> None:
    """The true error (against D + 30 certified digits) never exceeds the bound, and
    the bound meets the contract ``error_bound <= 10**-D * max(1, max|Q*|)``."""
    sol = solve_certified(mdp, alpha, digits=digits, backend="mpmath")
    ref = solve_certified(mdp, alpha, digits=digits + 30, backend="mpmath")
    # every digit of sol is the correct rounding of the exact value, as far as ref tells
    assert_agree(sol, ref)
    q_star_lower = max_abs_q(ref) - ref.error_bound
    assert sol.error_bound <= Fraction(1, 10**digits) * max(Fraction(1), q_star_lower)


@settings(max_examples=40)
@given(mdp=soft_mdps(), alpha=temperatures(zero=False), digits=st.integers(15, 35))
@extreme_examples
def test_digits_and_digits_plus_twenty_agree_within_their_bounds(
    mdp: FiniteMDP, alpha: Any, digits: int
) -> None:
    backend = BACKENDS[-1]
    assert_agree(
        solve_certified(mdp, alpha, digits=digits, backend=backend),
        solve_certified(mdp, alpha, digits=digits + 20, backend=backend),
    )


# Issue 12: findings 1 and 2 (the float64 rounding of an exact prior, normal and subnormal, was
# not in the float64 bound) and 13 (inputs that crashed the certified solver).
EXACT_THIRDS_PRIOR = FiniteMDP([[[1], [1]]], [[0, 0]], 0, prior=[["1/3", "1/3"]])
SUBNORMAL_STRING_PRIOR = FiniteMDP([[[1], [1]]], [[740, 0]], 0, prior=[["3e-320", "1"]])
SUBNORMAL_PRIOR_WIDE_SPREAD = FiniteMDP([[[1], [1]]], [[1, 0]], 0.5, prior=[[1, 1e-309]])
ONE_STATE_PRIOR_WITH_A_ZERO = FiniteMDP(
    [[[1], [1], [1]]], [[1, 0, 2]], 0.5, prior=[[0.25, 0, 0.75]]
)
HORIZON_HUGE_REWARD = FiniteMDP([[[1], [1]]], [[1e300, 0]], 0.5, horizon=3)
HORIZON_HUGE_REWARD_PRIOR = FiniteMDP(
    [[[1], [1]]], [[1e300, 1e-300]], 1.0, prior=[[0.25, 1e5]], horizon=5
)


@settings(max_examples=50)
@given(mdp=soft_mdps(), alpha=temperatures(zero=True))
@lambda f: extreme_examples(f, digits=None)
@example(mdp=EXACT_THIRDS_PRIOR, alpha=1)
@example(mdp=SUBNORMAL_STRING_PRIOR, alpha=1)
@example(mdp=SUBNORMAL_PRIOR_WIDE_SPREAD, alpha=1)
@example(mdp=ONE_STATE_PRIOR_WITH_A_ZERO, alpha=1e300)
@example(mdp=HORIZON_HUGE_REWARD, alpha=1e-300)
@example(mdp=HORIZON_HUGE_REWARD_PRIOR, alpha=1e-300)
def test_float64_solver_is_within_its_own_bound_of_the_certified_answer(
    mdp: FiniteMDP, alpha: Any
) -> None:
    from softq_ref.float64.solvers import solve

    f = solve(mdp, alpha)
    sol = solve_certified(mdp, alpha, digits=30)
    tol = Fraction(f.error_bound) + sol.error_bound
    for name in ("Q", "V"):
        exact = np.ravel(np.array(sol.decimals[name], dtype=object))
        for x, y in zip(np.ravel(getattr(f, name)), exact, strict=True):
            assert abs(Fraction(float(x)) - Fraction(y)) <= tol, (name, x, y, float(tol))
    # the policy: the kernel applied to the float Q. pi_Q / pi* lies in exp([-2 B, 2 B] / alpha)
    # (|Q - Q*| <= B, |V_Q - V*| <= B), and the kernel rounds pi by at most (A + 8) eps per
    # entry (test_logsumexp's gradient test); alpha = 0: uniform over the float argmax, whose
    # actions are within 2 B of the best Q*, and one-hot where the best is 2 B clear.
    A = mdp.num_actions
    pol = np.array(sol.decimals["policy"], dtype=object).reshape(-1, A)
    q_star = np.array(sol.decimals["Q"], dtype=object).reshape(-1, A)
    for k, (p_row, p_star, q_row) in enumerate(
        zip(f.policy.reshape(-1, A), pol, q_star, strict=True)
    ):
        if Fraction(alpha) > 0:
            # in mpmath: a printed policy entry may be 1E-43429448 (too big a Fraction)
            with mpmath.workdps(30):
                fa = Fraction(alpha)
                spread = mpmath.exp(2 * mpmath.mpf(float(tol)) * fa.denominator / fa.numerator)
                eb = mpmath.mpf(float(sol.error_bound))
                kernel = (A + 8) * 2.0**-52
                for x, y in zip(p_row, p_star, strict=True):
                    y = mpmath.mpf(y)
                    lo, hi = (y - eb) / spread, min(1, (y + eb) * spread)
                    assert lo - kernel <= float(x) <= hi + kernel, (k, p_row, p_star)
        else:
            qs = [Fraction(x) for x in q_row]
            avail = [
                a
                for a in range(A)
                if mdp.prior is None or mdp.prior.reshape(-1, A)[k % mdp.num_states, a] > 0
            ]
            best = max(qs[a] for a in avail)
            near = {a for a in avail if qs[a] >= best - 2 * tol}
            assert {a for a in range(A) if p_row[a] > 0} <= near, (k, p_row, p_star)
            if len(near) == 1:
                assert [float(x) for x in p_row] == [1.0 if a in near else 0.0 for a in range(A)]


@pytest.mark.skipif(not flint_available(), reason="python-flint (the fast extra) not installed")
@settings(max_examples=40)
@given(mdp=soft_mdps(), alpha=temperatures(zero=True), digits=st.integers(15, 40))
@extreme_examples
@example(  # issue 12, 13: at values ~1e100 the grid is coarse; flint's direct solve was singular
    mdp=FiniteMDP([[[1], [1]]], [[-3, -3]], 0.5, prior=[[0.25, 0.25]]), alpha=1e100, digits=20
)
def test_mpmath_and_flint_backends_agree_within_their_bounds(
    mdp: FiniteMDP, alpha: Any, digits: int
) -> None:
    assert_agree(
        solve_certified(mdp, alpha, digits=digits, backend="mpmath"),
        solve_certified(mdp, alpha, digits=digits, backend="flint"),
    )


@pytest.mark.parametrize("alpha", ["1e-400", "1e400", 1e-300, 1e300])
@pytest.mark.parametrize("backend", BACKENDS)
def test_temperatures_at_and_beyond_the_float_range_are_certified(alpha: Any, backend: str) -> None:
    """alpha is exact (docs/conventions.md section 2): "1e-400" is not 0 and "1e400" is not infinity."""
    sol = solve_certified(SCALES, alpha, digits=25, backend=backend)
    ref = solve_certified(SCALES, alpha, digits=55, backend=backend)
    assert_agree(sol, ref)
    assert sol.error_bound <= Fraction(1, 10**25) * max(1, max_abs_q(ref) - ref.error_bound)


# ---- closed forms ---------------------------------------------------------------------


def _sym(x: Fraction) -> sympy.Rational:
    return sympy.Rational(x.numerator, x.denominator)


@settings(max_examples=50)
@given(
    rewards=st.lists(st.integers(-20, 20), min_size=1, max_size=4),
    weights=st.lists(st.integers(1, 5), min_size=4, max_size=4),
    gamma=st.fractions(0, Fraction(19, 20)),
    alpha=st.fractions(Fraction(1, 20), 20),
    digits=st.integers(10, 60),
)
def test_one_state_mdp_matches_its_closed_form_to_all_printed_digits(
    rewards: list[int], weights: list[int], gamma: Fraction, alpha: Fraction, digits: int
) -> None:
    """One state: ``V* = alpha / (1 - gamma) * log sum_a mu_a exp(R_a / alpha)``.

    (From ``V = alpha log sum_a mu_a exp((R_a + gamma V) / alpha)``.) The closed
    form is evaluated by sympy with 30 more digits than printed.
    """
    A = len(rewards)
    mu = [Fraction(w, sum(weights[:A])) for w in weights[:A]]
    mdp = FiniteMDP([[[1.0]] * A], [rewards], gamma, prior=[mu])
    sol = solve_certified(mdp, alpha, digits=digits)
    a, g = _sym(alpha), _sym(gamma)
    lse = sympy.log(
        sum(_sym(m) * sympy.exp(sympy.Integer(r) / a) for m, r in zip(mu, rewards, strict=True))
    )
    v_star = a / (1 - g) * lse
    n = digits + 30
    exact_v = Fraction(str(sympy.N(v_star, n)))
    slack = Fraction(1, 10 ** (digits + 25)) * max(1, abs(exact_v))  # sympy's own rounding
    assert abs(Fraction(sol.decimals["V"][0]) - exact_v) <= sol.error_bound + slack
    for k, r in enumerate(rewards):
        exact_q = Fraction(str(sympy.N(r + g * v_star, n)))
        assert abs(Fraction(sol.decimals["Q"][0][k]) - exact_q) <= sol.error_bound + slack
        exact_p = Fraction(str(sympy.N(_sym(mu[k]) * sympy.exp((r + g * v_star - v_star) / a), n)))
        assert abs(Fraction(sol.decimals["policy"][0][k]) - exact_p) <= sol.error_bound + slack


@settings(max_examples=40)
@given(
    rewards=st.lists(st.integers(-9, 9), min_size=4, max_size=4),
    stay=st.lists(st.fractions(0, 1, max_denominator=8), min_size=2, max_size=2),
    gamma=st.fractions(0, Fraction(9, 10), max_denominator=20),
    alpha=st.fractions(Fraction(1, 4), 4, max_denominator=8),
)
def test_two_state_chain_matches_its_closed_form(
    rewards: list[int], stay: list[Fraction], gamma: Fraction, alpha: Fraction
) -> None:
    """Two states, two actions with the same transitions ``P[s]``: then
    ``V* = (I - gamma P)^{-1} c`` with ``c_s = alpha log sum_a exp(R[s, a] / alpha)``."""
    P = [[stay[0], 1 - stay[0]], [1 - stay[1], stay[1]]]
    R = [rewards[:2], rewards[2:]]
    mdp = FiniteMDP([[P[0], P[0]], [P[1], P[1]]], R, gamma)
    digits = 40
    sol = solve_certified(mdp, alpha, digits=digits)
    a, g = _sym(alpha), _sym(gamma)
    c = sympy.Matrix(
        [a * sympy.log(sum(sympy.exp(sympy.Integer(r) / a) for r in row)) for row in R]
    )
    M = sympy.eye(2) - g * sympy.Matrix([[_sym(x) for x in row] for row in P])
    V = M.LUsolve(c)
    slack = Fraction(1, 10 ** (digits + 25)) * 100
    for s in range(2):
        exact_v = Fraction(str(sympy.N(V[s], digits + 30)))
        assert abs(Fraction(sol.decimals["V"][s]) - exact_v) <= sol.error_bound + slack


# ---- alpha = 0: exact -----------------------------------------------------------------


@settings(max_examples=40)
@given(mdp=soft_mdps(horizons=False), digits=st.integers(5, 50))
@example(mdp=TIES, digits=20)
@example(mdp=PRIOR_ZEROS, digits=20)
@example(mdp=RATIONAL, digits=20)
@example(mdp=TERMINATION, digits=20)
def test_alpha_zero_is_solved_exactly(mdp: FiniteMDP, digits: int) -> None:
    """``Q* = R + gamma P max_a Q*`` holds exactly for the returned fractions, the
    policy is uniform over the exact maximisers, and printing is the only error."""
    sol = solve_certified(mdp, 0, digits=digits, backend=BACKENDS[-1])
    assert sol.exact and sol.fractions is not None
    Q, V, pi = sol.fractions["Q"], sol.fractions["V"], sol.fractions["policy"]
    ex = mdp.exact
    S, A = mdp.num_states, mdp.num_actions
    avail = np.ones((S, A), bool) if ex.prior is None else ex.prior > 0
    for s in range(S):
        best = max(Q[s, a] for a in range(A) if avail[s, a])
        assert V[s] == best
        ties = [a for a in range(A) if avail[s, a] and Q[s, a] == best]
        assert [pi[s, a] for a in range(A)] == [
            Fraction(1, len(ties)) if a in ties else 0 for a in range(A)
        ]
        for a in range(A):
            assert Q[s, a] == ex.rewards[s, a] + ex.gamma * sum(
                p * v for p, v in zip(ex.transitions[s, a], V, strict=True)
            )
    worst = max(
        abs(Fraction(t) - x)
        for key in ("Q", "V", "policy")
        for t, x in zip(
            np.ravel(np.array(sol.decimals[key], dtype=object)),
            np.ravel(sol.fractions[key]),
            strict=True,
        )
    )
    assert worst <= sol.error_bound <= Fraction(1, 10**digits) * max(1, max_abs_q(sol))
    d = sol.to_spec_dict(fractions=True)
    assert d["exact"] is True and Fraction(d["Q_fractions"][0][0]) == Q[0, 0]


def _big_hard_mdp(S: int, ties: bool, seed: int = 0) -> FiniteMDP:
    rng = np.random.default_rng(seed)
    if ties:  # a deterministic cycle; actions 0 and 1 identical in every state
        P = np.zeros((S, 3, S))
        for s in range(S):
            P[s, 0, (s + 1) % S] = P[s, 1, (s + 1) % S] = 1.0
            P[s, 2, s] = 1.0
        R = np.tile([1.0, 1.0, 0.5], (S, 1))
    else:
        P = rng.random((S, 3, S))
        P /= P.sum(axis=2, keepdims=True)
        R = rng.standard_normal((S, 3))
    return FiniteMDP(P, R, "9/10")


def test_alpha_zero_beyond_the_exact_size_certifies_the_argmax() -> None:
    """Without flint, alpha = 0 with many states certifies a unique maximiser per state
    instead of solving in rationals (no fractions); it prints the same bytes as the
    exact rational answer."""
    mdp = _big_hard_mdp(64, ties=False)
    sol = solve_certified(mdp, 0, digits=30, backend="mpmath")
    assert sol.exact and sol.fractions is None
    pol = np.array(sol.decimals["policy"], dtype=object)
    assert all(Fraction(x) in (0, 1) for x in pol.ravel())
    assert all(sum(Fraction(x) for x in row) == 1 for row in pol)
    if flint_available():
        exact = solve_certified(mdp, 0, digits=30, backend="flint")
        assert exact.exact
        assert_agree(sol, exact)


def test_alpha_zero_ties_beyond_the_exact_size_fall_back_to_exact() -> None:
    """Exact ties cannot be certified by gaps: the solver then solves in rationals."""
    mdp = _big_hard_mdp(64, ties=True)
    sol = solve_certified(mdp, 0, digits=20, backend="mpmath")
    assert sol.exact and sol.fractions is not None
    # V* = 1 / (1 - 0.9) = 10 in every state, via actions 0 and 1 with equal weight
    assert all(v == 10 for v in sol.fractions["V"])
    assert all(list(row) == [Fraction(1, 2), Fraction(1, 2), 0] for row in sol.fractions["policy"])


# ---- finite horizon -------------------------------------------------------------------


@settings(max_examples=50)
@given(
    mdp=mdps(
        states=(1, 3),
        actions=(1, 3),
        gamma=(0.0, 1.0),
        horizon=(1, 5),
        prior=st.booleans(),
        termination=st.booleans(),
    )
)
def test_finite_horizon_alpha_zero_is_exact_backward_induction(mdp: FiniteMDP) -> None:
    """``Q_t = R + gamma P V_{t+1}``, ``V_t = max_a Q_t``, ``V_H = 0``, exactly."""
    sol = solve_certified(mdp, 0, digits=20)
    assert sol.exact and sol.fractions is not None and sol.iterations == mdp.horizon
    Q, V = sol.fractions["Q"], sol.fractions["V"]
    ex = mdp.exact
    H, S, A = Q.shape
    assert H == mdp.horizon
    avail = np.ones((S, A), bool) if ex.prior is None else ex.prior > 0
    for t in range(H):
        nxt = V[t + 1] if t + 1 < H else [Fraction(0)] * S
        for s in range(S):
            assert V[t, s] == max(Q[t, s, a] for a in range(A) if avail[s, a])
            for a in range(A):
                assert Q[t, s, a] == ex.rewards[s, a] + ex.gamma * sum(
                    p * v for p, v in zip(ex.transitions[s, a], nxt, strict=True)
                )


@settings(max_examples=40)
@given(
    mdp=mdps(
        states=(1, 3),
        actions=(1, 3),
        gamma=(0.0, 1.0 - 1e-9),
        horizon=(1, 4),
        prior=st.booleans(),
        termination=st.booleans(),
    ),
    alpha=temperatures(zero=True),
)
@example(mdp=FiniteMDP(_P2, [[1e8, 1e-8], [0.0, 1.0]], 1, horizon=3), alpha=1e-12)
def test_finite_horizon_bound_holds_against_thirty_more_digits(mdp: FiniteMDP, alpha: Any) -> None:
    sol = solve_certified(mdp, alpha, digits=20)
    ref = solve_certified(mdp, alpha, digits=50)
    H, S, A = mdp.horizon, mdp.num_states, mdp.num_actions
    assert np.array(sol.decimals["Q"], dtype=object).shape == (H, S, A)
    assert np.array(sol.decimals["V"], dtype=object).shape == (H, S)
    assert_agree(sol, ref)


# ---- the JSON object, printing, precision scoping, bad input --------------------------


@given(
    x=st.fractions(max_denominator=10**30).filter(lambda f: f != 0)
    | st.builds(
        lambda n, k: Fraction(n, 2**k), st.integers(-(10**40), 10**40), st.integers(0, 200)
    ).filter(lambda f: f != 0),
    significant=st.integers(3, 60),
)
def test_relative_rounding_matches_python_decimal(x: Fraction, significant: int) -> None:
    """Below the scale the format is ``significant`` digits, half to even, exactly what
    ``decimal`` prints (the scale is put out of reach here)."""
    import decimal

    from softq_ref.certified.decimal_out import DecimalFormat

    ctx = decimal.Context(prec=significant, rounding=decimal.ROUND_HALF_EVEN)
    d = ctx.divide(decimal.Decimal(x.numerator), decimal.Decimal(x.denominator))
    d = d.quantize(decimal.Decimal((0, (1,), d.adjusted() - significant + 1)), context=ctx)
    fmt = DecimalFormat(significant - 2, 10**6)
    value = fmt.round(x)
    assert fmt.text(value) == str(d)
    assert fmt.value(value) == Fraction(d)


def test_spec_dict_has_the_section_4_keys_and_a_rounded_up_bound() -> None:
    sol = solve_certified(RATIONAL, "1/10", digits=30)
    d = sol.to_spec_dict()
    assert set(d) == {
        "Q",
        "V",
        "policy",
        "error_bound",
        "digits",
        "alpha",
        "gamma",
        "iterations",
        "exact",
    }
    assert d["alpha"] == "0.1" and d["gamma"] == "0.9" and d["digits"] == 30
    assert d["exact"] is False and "Q_fractions" not in sol.to_spec_dict(fractions=True)
    assert Fraction(d["error_bound"]) == sol.error_bound
    for key in ("Q", "V", "policy"):
        for text in np.ravel(np.array(d[key], dtype=object)):
            digits = text.lstrip("-0.").split("E")[0].replace(".", "")
            assert len(digits) >= 30, text


def test_working_precision_does_not_leak_or_matter() -> None:
    """mpmath's global precision is untouched, and it does not change the answer."""
    first = solve_certified(SCALES, 1e-12, digits=25).to_spec_dict()
    with mpmath.workdps(5):
        second = solve_certified(SCALES, 1e-12, digits=25).to_spec_dict()
        assert mpmath.mp.dps == 5
    assert first == second


def test_flint_backend_without_flint_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "flint", None)  # makes `import flint` fail
    with pytest.raises(ImportError, match=r"pip install 'softq-ref\[fast\]'"):
        solve_certified(TIES, 1, digits=10, backend="flint")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": -1, "digits": 10}, "alpha"),
        ({"alpha": "x", "digits": 10}, "alpha"),
        ({"alpha": 1, "digits": 0}, "digits"),
        ({"alpha": 1, "digits": 10, "backend": "gmp"}, "backend"),
    ],
)
def test_bad_arguments_raise_invalid_argument_error(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match) as err:
        solve_certified(TIES, **kwargs)
    assert type(err.value) is InvalidArgumentError  # not MDP data


def test_a_certified_solution_says_it_succeeded_and_prints_short():
    # Issue 15, point 1: the fields of scipy's OptimizeResult, and a repr without the arrays.
    mdp = FiniteMDP(np.full((30, 2, 30), 1 / 30), np.arange(60.0).reshape(30, 2), 0.5)
    sol = solve_certified(mdp, "1/10", digits=20)
    assert sol.success is True and sol.status == 0
    assert sol.message == "certified: Q, V and policy correctly rounded to 20 digits"
    text = repr(sol)
    assert len(text) < 600 and "\n" not in text and "mpf" not in text
    assert text.startswith("CertifiedSolution(success=True, status=0, message=")
    assert "Q=array(shape=(30, 2), dtype=object)" in text
    assert f"error_bound='{sol.error_bound_text}'" in text
