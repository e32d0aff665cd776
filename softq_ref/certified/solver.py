r"""Certified high-precision solutions: any number of digits, each with a proven bound.

:func:`solve_certified` returns ``Q*``, ``V*`` and ``pi*`` of a finite MDP
(docs/conventions.md section 1) to ``digits`` significant decimals, with an ``error_bound``
that is *proven* to hold for every printed entry, the rounding of the
printout included, and that satisfies
``error_bound <= 10**(-digits) * max(1, max|Q*|)`` (docs/conventions.md section 4).

How (``alpha > 0``, infinite horizon):

1. Inputs are exact rationals (docs/conventions.md section 2; :attr:`FiniteMDP.exact`), so
   the answer depends on the input only, never on a working precision.
2. Values live on a fixed-point grid ``X * 2**-F``, with integers ``X``; the
   products ``sum_s' P[s, a, s'] V[s']`` are exact integer dot products.
3. Newton's method on ``T V = V`` (this is soft policy iteration, whose
   improvement step is Haarnoja et al. 2017, Theorem 1) from the float64
   solution, at rising precision: ``V <- V + (I - gamma P_pi)^{-1} (T V - V)``.
   The residual is computed on the grid; the linear system is solved to the
   grid's resolution by mixed-precision iterative refinement (exact integer
   residuals, float64 corrections), so the convergence is quadratic, the
   log-sum-exp is evaluated about ``log2(D / 16)`` times, and no
   high-precision LU decomposition is ever formed.
4. Certification: the residual ``|T Q - Q|`` at the final ``Q`` is enclosed
   with outward rounding (integer floor/ceil for the linear part, interval
   arithmetic for the log-sum-exp: mpmath's ``mpi`` or flint's arb), and
   ``|Q - Q*| <= |T Q - Q| / (1 - L)`` with ``L = gamma * max_{s,a} sum_s'
   P[s, a, s']`` computed exactly: ``T`` is an ``L``-contraction in the sup
   norm because the log-sum-exp is 1-Lipschitz (Haarnoja et al. 2017,
   Theorem 2; ``proofs/``). ``V* = V_{Q*}`` lies in ``V_Q`` widened by the same
   bound (the log-sum-exp commutes with shifts and is monotone), and
   ``pi* = mu exp((Q* - V*) / alpha)`` is ``pi_Q`` times a factor in
   ``exp([-2 B, 2 B] / alpha)``, ``B`` the bound on ``|Q - Q*|``.
5. Printing: every printed decimal is the exact value correctly rounded
   (round half to even) into the format of :class:`DecimalFormat`
   (``digits + 2`` significant digits, a fixed quantum above the scale
   ``10**E`` of ``max|Q*|``). Each entry's enclosure is rounded at both ends;
   where the two disagree the grid is refined and steps 3-4 repeat (Ziv's
   strategy). Policy entries are enclosed in log space, so that tiny
   probabilities get relative accuracy. Entries that are rational for
   structural reasons (``V* = 0`` at an absorbing zero-reward goal under a
   probability prior, one-action states, ...) are computed exactly
   (:func:`softq_ref.certified.exact_policy.structural_exact`), since an exact
   rounding boundary, zero above all, has no enclosure of positive width
   that decides it. The printout is then a function of the input alone, and
   ``error_bound`` is half a unit in the last place at the scale,
   ``5 * 10**(E - digits - 2)``: a function of the printed format, never of
   how tight this run's enclosures were (those widths are in
   ``enclosure_width``).

Sparse transitions (:attr:`FiniteMDP.is_sparse`) take the same steps over the
nonzeros only: exact integer products per stored entry, float64 corrections
from the sparse LU of ``I - gamma P_pi``, the exact values of ``P`` per stored
entry (:meth:`FiniteMDP.exact_sparse_values`); no dense row of ``P`` is formed,
and the printout is the same bytes as for the dense copy (docs/certified.md,
"Sparse transitions").

``alpha = 0`` is solved exactly by policy iteration in rational arithmetic
(:mod:`softq_ref.certified.exact_policy`); the result says ``exact = True`` and
carries the fractions. (With the mpmath back end and more than 60 states the
rational solves get slow: then steps 2-4 run with the hard maximum, and the
policy is certified by gaps ``> 2 B`` between the best action and the others;
only if some state's maximiser stays ambiguous, as with exact ties, does the
solver fall back to rationals.) A finite horizon is backward induction in
interval arithmetic (the widths are the bound), exact for ``alpha = 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from softq_ref._validate import check_mdp, positive_int, read_alpha
from softq_ref.certified.arith import context_scope, flint_available, make_context
from softq_ref.certified.decimal_out import DecimalFormat
from softq_ref.certified.grid import _ceil_div, _Problem, _to_grid
from softq_ref.certified.newton import (
    _bits,
    _float_or_inf,
    _float_start,
    _lse_bits,
    _newton,
)
from softq_ref.certified.printing import (
    Enclosures,
    GridBox,
    Shortfall,
    _nested,
    correctly_rounded,
    enclosure_width,
    points,
)
from softq_ref.errors import InvalidArgumentError, InvalidMDPError, UndecidedRoundingError
from softq_ref.exact import fraction_text, ratio_text
from softq_ref.mdp import FiniteMDP

__all__ = ["CertifiedSolution", "solve_certified", "DecimalFormat"]

ObjArray = NDArray[Any]  # object arrays (ints, Fractions, mpf)

_LOG2_10 = math.log2(10.0)
_MAX_ROUNDS = 8  # Ziv refinements of the grid before giving up on a rounding
_MAX_EXTRA_BITS = 1 << 17  # ... or once the grid has this many more bits than at first
_EXACT_MAX_STATES = 60  # alpha = 0 without flint: exact rational solves up to this size
# alpha = 0, sparse transitions: the rational solves (dense S x S Fractions) up to this size
_SPARSE_EXACT_MAX_STATES = 500


@dataclass(frozen=True)
class CertifiedSolution:
    """A certified high-precision solution (see :func:`solve_certified`).

    ``decimals`` holds the printed ``"Q"``, ``"V"`` and ``"policy"`` as nested
    lists of decimal strings: each is the exact value correctly rounded (half
    to even) into ``format`` (a :class:`DecimalFormat`: at least ``digits``
    significant digits), so the printout depends on the input alone.
    ``error_bound`` (a Fraction; ``error_bound_text`` as printed) is half a
    unit in the last place at the scale of ``max|Q*|``, which bounds
    ``|printed - exact|`` for every entry and is at most
    ``10**-digits * max(1, max|Q*|)``; it is 0 when every printed decimal is
    exactly the exact value.

    ``Q[s, a]``, ``V[s]``, ``policy[s, a]`` are NumPy object arrays of mpmath
    ``mpf`` at ``working_bits``: points of the certified enclosures, within
    ``enclosure_width`` of the exact values (with a finite horizon each gains
    a leading time axis ``t = 0..H-1``). ``exact`` is True when ``alpha = 0``
    (the optimum is then rational); ``fractions`` holds ``Q*``, ``V*`` and
    ``pi*`` as Fractions (object arrays) when the solver computed them in
    rational arithmetic, else None. ``iterations`` is a function of the
    digits and the horizon alone (see :func:`solve_certified`);
    ``newton_steps`` is the work this run did.
    """

    Q: ObjArray
    V: ObjArray
    policy: ObjArray
    error_bound: Fraction
    digits: int
    alpha: Fraction
    gamma: Fraction
    iterations: int
    exact: bool
    fractions: dict[str, ObjArray] | None
    horizon: int | None
    backend: str
    working_bits: int
    decimals: dict[str, Any] = field(repr=False)
    error_bound_text: str = field(repr=False, default="")
    format: DecimalFormat | None = field(repr=False, default=None)
    newton_steps: int = 0
    enclosure_width: Fraction = Fraction(0)

    # As scipy.optimize.OptimizeResult: solve_certified returns only a certified answer
    # (anything else raises), so these say so for code that checks any solver's result.
    @property
    def success(self) -> bool:
        """Always True: :func:`solve_certified` raises rather than return an uncertified answer."""
        return True

    @property
    def status(self) -> int:
        """Always 0 (converged), as :attr:`softq_ref.SolveResult.status`."""
        return 0

    @property
    def message(self) -> str:
        """What was certified, in words."""
        return f"certified: Q, V and policy correctly rounded to {self.digits} digits"

    def __repr__(self) -> str:
        """Compact: the arrays show their shape only."""
        parts = [f"success=True, status=0, message={self.message!r}"]
        for name in ("digits", "alpha", "gamma", "iterations", "exact", "horizon"):
            parts.append(f"{name}={getattr(self, name)!r}")
        parts.append(f"error_bound={self.error_bound_text or str(self.error_bound)!r}")
        for name in ("Q", "V", "policy"):
            parts.append(f"{name}=array(shape={np.shape(getattr(self, name))}, dtype=object)")
        return f"CertifiedSolution({', '.join(parts)})"

    def to_spec_dict(self, *, fractions: bool = False) -> dict[str, Any]:
        """The JSON object of docs/conventions.md section 4 for ``--digits D``.

        ``"Q"``, ``"V"``, ``"policy"`` as nested lists of decimal strings,
        ``"error_bound"`` (a decimal string), ``"digits"``, ``"alpha"``,
        ``"gamma"`` (exact texts), ``"iterations"`` and ``"exact"``. With
        ``fractions=True`` and fractions computed also ``"Q_fractions"``,
        ``"V_fractions"``, ``"policy_fractions"`` as ``"p/q"`` strings.
        Every value is a function of the input and ``digits`` alone.
        """
        out: dict[str, Any] = {
            "Q": self.decimals["Q"],
            "V": self.decimals["V"],
            "policy": self.decimals["policy"],
            "error_bound": self.error_bound_text,
            "digits": self.digits,
            "alpha": fraction_text(self.alpha),
            "gamma": fraction_text(self.gamma),
            "iterations": self.iterations,
            "exact": self.exact,
        }
        if fractions and self.fractions is not None:
            for key in ("Q", "V", "policy"):
                out[f"{key}_fractions"] = _nested(self.fractions[key], ratio_text)
        return out


def _schedule_steps(digits: int) -> int:
    """Newton steps from float64 (about 50 correct bits) to ``digits + 2`` digits,
    doubling the correct bits each step: the reported ``iterations``."""
    bits = math.ceil((digits + 2) * _LOG2_10)
    return max(1, math.ceil(math.log2(bits / 50)))


@dataclass(frozen=True)
class _Run:
    """What a solve reports besides the numbers: fixed before it starts."""

    alpha: Fraction
    gamma: Fraction
    horizon: int | None
    backend: str
    exact: bool
    iterations: int


def _finish(
    enc: Enclosures,
    digits: int,
    prec: int,
    run: _Run,
    *,
    newton_steps: int,
    fractions: dict[str, ObjArray] | None = None,
) -> CertifiedSolution | Shortfall:
    """The solution printed from ``enc``, or the :class:`Shortfall` that keeps it open."""
    out = correctly_rounded(enc, digits)
    if isinstance(out, Shortfall):
        return out
    fmt = out.fmt
    pts = points(enc, prec)
    return CertifiedSolution(
        Q=pts["Q"],
        V=pts["V"],
        policy=pts["policy"],
        error_bound=Fraction(0) if out.exact else fmt.half_unit,
        error_bound_text="0" if out.exact else fmt.text((False, 5, fmt.n - fmt.E)),
        digits=digits,
        decimals=out.texts,
        format=fmt,
        working_bits=prec,
        enclosure_width=enclosure_width(enc),
        alpha=run.alpha,
        gamma=run.gamma,
        horizon=run.horizon,
        backend=run.backend,
        exact=run.exact,
        iterations=run.iterations,
        newton_steps=newton_steps,
        fractions=fractions,
    )


def _with_exact(enc: Enclosures, parts: dict[str, dict[tuple[int, ...], Fraction]]) -> Enclosures:
    """``enc`` with the structurally exact entries put in (each checked against its box)."""
    arrays = {}
    for key, arr in enc.items():
        new = arr.copy()
        for idx, x in parts[key].items():
            box = new[idx]
            if isinstance(box, GridBox) and not box.lo <= x * (1 << box.F) <= box.hi:
                raise RuntimeError(f"internal: exact {key}{list(idx)} = {x} outside its enclosure")
            new[idx] = x
        arrays[key] = new
    return Enclosures(arrays["Q"], arrays["V"], arrays["policy"])


def _more_bits(short: Shortfall, F: int, rnd: int) -> int:
    """Ziv's step: the estimated missing bits, at least ``16 * 2**rnd``; twice the grid's
    bits while an enclosure holds zero (a tiny entry's size is unknown until it is
    separated from zero)."""
    more = max(short.bits, 16 << rnd)
    return max(more, F) if short.zero else more


def _undecided(digits: int, short: Shortfall) -> UndecidedRoundingError:
    if not short.entries:
        where = "max|Q*| (it lies at or next to a power of ten)"
    else:
        key, idx = short.entries[0]
        where = f"{key}{list(idx)}"
    return UndecidedRoundingError(
        f"cannot decide the correctly rounded {digits}-digit printout of {where}: its "
        "certified enclosure still holds a rounding boundary after the largest refinement; "
        "the exact value may be that boundary (a decimal midpoint, or zero). "
        "Ask for another number of digits."
    )


# --------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------


def _pick_backend(backend: str) -> str:
    if backend == "auto":
        return "flint" if flint_available() else "mpmath"
    if backend == "flint":
        from softq_ref.certified.arith import _import_flint

        _import_flint()
        return "flint"
    if backend == "mpmath":
        return "mpmath"
    raise InvalidArgumentError(f'backend must be "auto", "mpmath" or "flint", got {backend!r}')


def solve_certified(
    mdp: FiniteMDP,
    alpha: Any,
    *,
    digits: int,
    backend: str = "auto",
    start: Any = None,
) -> CertifiedSolution:
    r"""``Q*``, ``V*``, ``pi*`` correctly rounded to ``digits + 2`` significant digits.

    Parameters
    ----------
    mdp : FiniteMDP
        The MDP; its exact rational inputs are solved (docs/conventions.md section 2).
    alpha : float, int, str or Fraction
        Temperature ``alpha >= 0``: a float is its exact binary value, a string
        (``"0.1"``, ``"1/10"``) or a Fraction is exact.
    digits : int
        The number of digits asked for, ``>= 1``.
    backend : {"auto", "mpmath", "flint"}, optional
        The interval arithmetic: mpmath, python-flint (the ``fast`` extra), or
        flint when installed. The output does not depend on it.
    start : array_like or result, optional
        A float64 Q-table (or a result with ``.Q``) to start Newton from; by
        default :func:`softq_ref.float64.solvers.solve`.

    Returns
    -------
    CertifiedSolution
        ``decimals`` (the printed texts of ``Q``, ``V``, ``policy``),
        ``error_bound`` and its text, ``iterations``, ``exact`` and, for an exact
        solution, ``fractions``; :meth:`CertifiedSolution.to_spec_dict` is the
        object that ``softq-ref solve --digits D`` prints.

    Raises
    ------
    InvalidArgumentError
        For a bad ``alpha``, ``digits``, ``backend`` or ``start``.
    InvalidMDPError
        When ``gamma`` times the largest row sum of ``P`` is not below 1.
    UndecidedRoundingError
        When an entry stays on a rounding boundary after the largest refinement
        (an exact decimal midpoint or zero that the solver cannot prove exact),
        or, for ``alpha = 0`` on more than 500 sparse states, when a tie
        between actions needs the rational solves.
    ImportError
        For ``backend="flint"`` without python-flint.

    Notes
    -----
    Solves the soft Bellman equation ``Q = R + gamma P V_Q`` with
    ``V_Q(s) = alpha log sum_a mu[s, a] exp(Q[s, a] / alpha)`` (Haarnoja et al.
    2017, Theorems 1-2; docs/conventions.md section 1). The method is in the
    module docstring. Every printed decimal in ``decimals`` is the exact value
    correctly rounded (half to even), so the output depends on the input and
    ``digits`` alone: not on the back end, the BLAS, the thread count or the
    start. ``error_bound = 5 * 10**(E - digits - 2)`` with
    ``E`` the decimal exponent of ``max(1, max|Q*|)`` rounded to ``digits + 2``
    significant digits bounds ``|printed - exact|`` and is
    ``<= 10**(-digits) * max(1, max|Q*|)`` (it is 0 when every printed decimal
    is the exact value). ``iterations`` is reported as a function of ``digits``
    (and the horizon) alone: the number of Newton steps that take float64's ~50
    correct bits to the printed precision, doubling each step (the horizon ``H``
    for backward induction); ``newton_steps`` is what this run did. For
    ``alpha = 0`` the optimum is rational (``exact = True``). The certificate
    ``|Q - Q*| <= |T Q - Q| / (1 - L)`` is machine-checked in Coq
    (``soft_error_bound``, ``proofs/coq/Bellman.v``), and so is the ``V*``
    enclosure (``lse_monotone``, ``lse_shift``, ``proofs/coq/LogSumExp.v``).

    References
    ----------
    T. Haarnoja, H. Tang, P. Abbeel, S. Levine, "Reinforcement Learning with Deep
    Energy-Based Policies", ICML 2017.
    A. Ziv, "Fast evaluation of elementary mathematical functions with correctly
    rounded last bit", ACM TOMS 17 (1991): refine until the rounding is decided.

    Examples
    --------
    >>> mdp = FiniteMDP([[[1.0]]], [[1.0]], "1/2")
    >>> sol = solve_certified(mdp, 0, digits=20)
    >>> sol.exact, sol.decimals["Q"], sol.fractions["Q"][0, 0], sol.error_bound_text
    (True, [['2.000000000000000000000']], Fraction(2, 1), '0')
    >>> sol = solve_certified(FiniteMDP([[[1.0], [1.0]]], [[0.0, 0.0]], 0), 1, digits=25)
    >>> sol.decimals["V"][0], sol.error_bound < Fraction(1, 10**25)
    ('0.693147180559945309417232121', True)
    """
    check_mdp(mdp, "solve_certified")
    digits = positive_int(digits, "digits")
    a = read_alpha(alpha)
    be = _pick_backend(backend)
    prob = _Problem(mdp, a, be)
    run = _Run(
        alpha=a,
        gamma=prob.g,
        horizon=mdp.horizon,
        backend=be,
        exact=a == 0,
        iterations=mdp.horizon if mdp.horizon is not None else _schedule_steps(digits),
    )
    if a == 0:
        big = prob.S > _EXACT_MAX_STATES and (be == "mpmath" or mdp.is_sparse)
        if mdp.horizon is None and big:
            # rational solves with sympy get slow: certify the argmax instead, and go
            # exact only when some state's maximiser cannot be told apart (ties) or an
            # entry is a rounding boundary
            if prob.L >= 1:
                raise InvalidMDPError(
                    f"gamma * (largest row sum of transitions) = {float(prob.L)!r} is not below 1"
                )
            try:
                return _solve_soft(prob, digits, start, run)
            except _AmbiguousArgmax:
                if mdp.is_sparse and prob.S > _SPARSE_EXACT_MAX_STATES:
                    raise UndecidedRoundingError(
                        f"alpha = 0 on {prob.S} sparse states: some state's best action (a "
                        "tie?) or a rounding boundary cannot be certified without solving in "
                        "rationals, which needs dense (S, S) matrices; at most "
                        f"{_SPARSE_EXACT_MAX_STATES} states are solved so"
                    ) from None
        return _solve_exact(prob, digits, start, run)
    if mdp.horizon is not None:
        return _solve_horizon(prob, digits, run)
    if prob.L >= 1:
        raise InvalidMDPError(
            f"gamma * (largest row sum of transitions) = {float(prob.L)!r} is not below 1: "
            "the soft Bellman operator is not a contraction for these exact inputs"
        )
    return _solve_soft(prob, digits, start, run)


def _solve_exact(prob: _Problem, digits: int, start: Any, run: _Run) -> CertifiedSolution:
    from softq_ref.certified.exact_policy import (
        argmax_policy,
        exact_backward_induction,
        exact_policy_iteration,
    )

    mdp = prob.mdp
    if mdp.horizon is not None:
        Q, V, pi = exact_backward_induction(prob.rows(), prob.R, prob.g, prob.avail, mdp.horizon)
        steps = mdp.horizon
    else:
        if prob.L >= 1:
            raise InvalidMDPError(
                f"gamma * (largest row sum of transitions) = {float(prob.L)!r} is not below 1"
            )
        Qf = _float_start(mdp, prob.alpha, start)
        masked = np.where(prob.avail, Qf, -np.inf)
        first = [int(np.argmax(row)) for row in masked]
        Q, steps = exact_policy_iteration(prob.P, prob.R, prob.g, prob.avail, first, prob.backend)
        Vl, pi = argmax_policy(Q, prob.avail)
        V = np.empty(prob.S, dtype=object)
        V[:] = Vl
    qmax = max((abs(x) for x in Q.flat), default=Fraction(0))
    bits = max(64, math.ceil(digits * _LOG2_10) + 64 + _bits(float(qmax)))
    sol = _finish(
        Enclosures(Q, V, pi),
        digits,
        bits,
        run,
        newton_steps=steps,
        fractions={"Q": Q, "V": V, "policy": pi},
    )
    assert isinstance(sol, CertifiedSolution)  # exact values always round
    return sol


def _targets(prob: _Problem, digits: int, scale: float, extra_bits: int) -> int:
    """Grid bits ``F`` so that the enclosures come out well inside one rounding quantum.

    The quantum at the scale is ``10**(E - digits - 1)``; the enclosures aim at
    ``2**-12`` of it, and ``log2`` of the number of entries more, so that
    an entry rarely lands within reach of a rounding boundary.
    """
    budget_bits = (digits + 1) * _LOG2_10 - math.log2(max(1.0, scale))
    # the policy moves by up to ~4 |Q - Q*| / alpha: log2(4 / alpha) more bits
    pol = max(0.0, 2.0 - prob.alpha_log2) if prob.alpha > 0 else 0.0
    entries = math.log2(3 * prob.S * prob.A * (prob.mdp.horizon or 1))
    return max(8, math.ceil(budget_bits + pol + extra_bits + 12 + entries))


def _solve_soft(prob: _Problem, digits: int, start: Any, run: _Run) -> CertifiedSolution:
    from softq_ref.logsumexp import soft_value

    mdp = prob.mdp
    Qf = _float_start(mdp, prob.alpha, start)
    scale = max(1.0, float(np.abs(Qf).max()))
    alpha = _float_or_inf(prob.alpha)
    Vf = soft_value(Qf, alpha, mdp.prior) if math.isfinite(alpha) else np.zeros(prob.S)
    scale_bits = max(_bits(max(scale, float(np.abs(Vf).max()))), _lse_bits(prob)) + 2
    contraction_bits = math.ceil(-math.log2(float(1 - prob.L))) if prob.L > 0 else 0
    F_target = _targets(prob, digits, scale, contraction_bits + 4)
    cap = F_target + _MAX_EXTRA_BITS
    # The float64 start has about 50 correct bits; Newton's first step can double them.
    F = max(0, min(F_target, 116 - _bits(scale)))
    V = np.array([_to_grid(float(x), F) for x in Vf], dtype=object)
    steps = [0]
    exact_parts = None
    for rnd in range(_MAX_ROUNDS):
        V, F = _newton(prob, V, F, F_target, scale_bits, steps)
        enc = _certify_soft(prob, V, F, scale_bits)
        prec = prob.prec_for(F, scale_bits)
        done = steps[0]
        res = _finish(enc, digits, prec, run, newton_steps=done)
        if isinstance(res, Shortfall) and prob.alpha > 0:
            if exact_parts is None:
                from softq_ref.certified.exact_policy import structural_exact

                exact_parts = structural_exact(
                    prob.rows(), prob.R, prob.g, prob.mu, prob.avail, prob.backend
                )
            res = _finish(_with_exact(enc, exact_parts), digits, prec, run, newton_steps=done)
        if isinstance(res, CertifiedSolution):
            return res
        if prob.alpha == 0:
            raise _AmbiguousArgmax("a rounding boundary: solve in rationals")
        F_target += _more_bits(res, F_target, rnd)
        if F_target > cap:
            break
        V = np.array([int(x) << (F_target - F) for x in V], dtype=object)
        F = F_target
    assert isinstance(res, Shortfall)
    raise _undecided(digits, res)


def _certify_soft(prob: _Problem, V: ObjArray, F: int, scale_bits: int) -> Enclosures:
    """Proven enclosures of ``Q*``, ``V*``, ``pi*`` around the candidate ``Q = R + gamma P V``."""
    Q = prob.q_point(V, F)  # the candidate: exact grid values
    ctx = make_context(prob.backend, prob.prec_for(F, scale_bits), rigorous=True)
    S, A = prob.S, prob.A
    with context_scope(ctx):
        V_lo, V_hi, _ = prob.lse(ctx, Q, F)
        TQ_lo, TQ_hi = prob.q_box(V_lo, V_hi, F)
        eps = 0
        for q, lo, hi in zip(Q.flat, TQ_lo.flat, TQ_hi.flat, strict=True):
            eps = max(eps, int(hi) - int(q), int(q) - int(lo))
        # |Q - Q*| <= eps / (1 - L), rounded up to whole grid units
        Ln, Ld = prob.L.numerator, prob.L.denominator
        B = _ceil_div(eps * Ld, Ld - Ln)
        Qe = np.empty((S, A), dtype=object)
        Ve = np.empty(S, dtype=object)
        pe = np.empty((S, A), dtype=object)
        for s in range(S):
            Ve[s] = GridBox(int(V_lo[s]) - B, int(V_hi[s]) + B, F)
            for a in range(A):
                Qe[s, a] = GridBox(int(Q[s, a]) - B, int(Q[s, a]) + B, F)
        if prob.alpha == 0:
            pe[:] = _certified_argmax(prob, Q, B)
            return Enclosures(Qe, Ve, pe)
        # pi*_a = mu_a exp((Q*_a - V*) / alpha), and Q*_a - V* lies in
        # [Q_a - V_hi - 2B, Q_a - V_lo + 2B]: |Q* - Q| <= B, and |V* - V_Q| <= B since the
        # log-sum-exp is 1-Lipschitz in the sup norm.
        for s in range(S):
            n_avail = int(prob.avail[s].sum())
            for a in range(A):
                if not prob.avail[s, a]:
                    pe[s, a] = Fraction(0)
                elif n_avail == 1:
                    pe[s, a] = Fraction(1)
                else:
                    z_lo = int(Q[s, a]) - int(V_hi[s]) - 2 * B
                    z_hi = int(Q[s, a]) - int(V_lo[s]) + 2 * B
                    pe[s, a] = prob.policy_box(ctx, z_lo, z_hi, F, s, a)
    return Enclosures(Qe, Ve, pe)


class _AmbiguousArgmax(Exception):
    """``alpha = 0``: the argmax or a rounding cannot be certified without rationals."""


def _certified_argmax(prob: _Problem, Q: ObjArray, B: int) -> ObjArray:
    """``alpha = 0``: the policy ``pi*`` exactly, when every state's maximiser is certain.

    With ``|Q - Q*| <= B`` (grid units), an action ``a`` with
    ``Q[s, a] - B > Q[s, b] + B`` for every other available ``b`` is the unique
    maximiser of ``Q*[s, .]``, so ``pi*`` is its indicator. When some state
    has two candidates within ``2B`` (a tie, or a gap below the resolution),
    raise :class:`_AmbiguousArgmax`.
    """
    S, A = prob.S, prob.A
    pi = np.full((S, A), Fraction(0), dtype=object)
    for s in range(S):
        acts = [a for a in range(A) if prob.avail[s, a]]
        m = max(Q[s, a] for a in acts)
        cand = [a for a in acts if Q[s, a] >= m - 2 * B]
        if len(cand) != 1:
            raise _AmbiguousArgmax(f"state {s}: actions {cand} within 2 * bound")
        pi[s, cand[0]] = Fraction(1)
    return pi


def _solve_horizon(prob: _Problem, digits: int, run: _Run) -> CertifiedSolution:
    """Backward induction ``Q_t = R + gamma P V_{t+1}``, ``V_H = 0``, in interval arithmetic."""
    from softq_ref.certified.exact_policy import structural_exact_horizon
    from softq_ref.float64.solvers import solve

    mdp = prob.mdp
    H = mdp.horizon
    assert H is not None
    est = solve(mdp, prob.alpha)
    scale = max(1.0, float(np.abs(est.Q).max()))
    scale_bits = max(_bits(max(scale, float(np.abs(est.V).max()))), _lse_bits(prob)) + 2
    F = _targets(prob, digits, scale, _bits(4.0 * H) + 4)
    cap = F + _MAX_EXTRA_BITS
    S, A = prob.S, prob.A
    exact_parts = None
    for rnd in range(_MAX_ROUNDS):
        prec = prob.prec_for(F, scale_bits)
        ctx = make_context(prob.backend, prec, rigorous=True)
        Qe = np.empty((H, S, A), dtype=object)
        Ve = np.empty((H, S), dtype=object)
        pe = np.empty((H, S, A), dtype=object)
        with context_scope(ctx):
            V_lo = np.zeros(S, dtype=object)
            V_hi = V_lo
            for t in range(H - 1, -1, -1):
                Q_lo, Q_hi = prob.q_box(V_lo, V_hi, F)
                V_lo = prob.lse(ctx, Q_lo, F)[0]
                V_hi = prob.lse(ctx, Q_hi, F)[1]
                for s in range(S):
                    Ve[t, s] = GridBox(int(V_lo[s]), int(V_hi[s]), F)
                    n_avail = int(prob.avail[s].sum())
                    for a in range(A):
                        Qe[t, s, a] = GridBox(int(Q_lo[s, a]), int(Q_hi[s, a]), F)
                        if not prob.avail[s, a]:
                            pe[t, s, a] = Fraction(0)
                        elif n_avail == 1:
                            pe[t, s, a] = Fraction(1)
                        else:
                            z_lo = int(Q_lo[s, a]) - int(V_hi[s])
                            z_hi = int(Q_hi[s, a]) - int(V_lo[s])
                            pe[t, s, a] = prob.policy_box(ctx, z_lo, z_hi, F, s, a)
        enc = Enclosures(Qe, Ve, pe)
        done = H
        res = _finish(enc, digits, prec, run, newton_steps=done)
        if isinstance(res, Shortfall):
            if exact_parts is None:
                exact_parts = structural_exact_horizon(
                    prob.rows(), prob.R, prob.g, prob.mu, prob.avail, H
                )
            res = _finish(_with_exact(enc, exact_parts), digits, prec, run, newton_steps=done)
        if isinstance(res, CertifiedSolution):
            return res
        F += _more_bits(res, F, rnd)
        if F > cap:
            break
    assert isinstance(res, Shortfall)
    raise _undecided(digits, res)
