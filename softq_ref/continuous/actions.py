r"""Soft value and soft-optimal policy for continuous actions.

For a continuous action set the soft value is an integral (Haarnoja et al.
2017, "Reinforcement Learning with Deep Energy-Based Policies", Theorems 1
and 2, written for continuous actions):

.. math::

    V = \alpha \log \int_A \mu(a) \exp(Q(a) / \alpha) \, da, \qquad
    \pi^*(a) = \mu(a) \exp((Q(a) - V) / \alpha).

``mu`` is the reference measure: by default the Lebesgue measure (``mu = 1``),
which is the paper's ``da``; a density ``mu(a) >= 0`` can be given instead.
With the Lebesgue measure ``V`` is *not* bounded below by ``max Q``: for
``alpha -> 0`` it tends to ``max Q`` from below like ``alpha/2 log(alpha)``
(the integral of a narrow peak is its width).

This module gives

* :func:`continuous_soft_value`: any ``Q`` on a bounded interval ``[low, high]``
  by high-precision quadrature (mpmath ``quad``), with an error estimate;
* :func:`continuous_soft_policy`: the density ``pi*`` that goes with it;
* :func:`quadratic_soft_policy` / :func:`quadratic_soft_value`: the closed form
  for ``Q(a) = -1/2 (a - m)^T K (a - m) + c`` on ``R^d`` (Lebesgue measure):
  ``pi* = N(m, alpha K^{-1})`` and ``V = c + alpha/2 log det(2 pi alpha K^{-1})``;
* :func:`box_quadratic_soft_value`: the one-dimensional quadratic on an
  interval, in closed form with error functions evaluated in log space.

The Gaussian formulas are derived in ``proofs/07_continuous_actions.ipynb`` (one dimension,
the interval and the Gaussian prior) and ``proofs/08_max_entropy_lqr.ipynb`` (``m`` dimensions).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._validate import first_bad_index, float_alpha, positive_int
from softq_ref.continuous._checks import _symmetrized
from softq_ref.errors import InvalidArgumentError

__all__ = [
    "ContinuousSoftValue",
    "ContinuousSoftPolicy",
    "GaussianSoftPolicy",
    "continuous_soft_value",
    "continuous_soft_policy",
    "quadratic_soft_policy",
    "quadratic_soft_value",
    "gaussian_prior_soft_policy",
    "box_quadratic_soft_value",
]

FloatArray = NDArray[np.float64]

#: Guard digits added to the requested digits for the working precision.
_GUARD_DIGITS = 20
#: Grid used to locate the peaks of ``Q(a) + alpha log mu(a)`` before integrating.
_GRID_INTERVALS = 256
#: At most this many local maxima of the grid are refined and used as breakpoints.
_MAX_PEAKS = 16


def _check_real(value: Any, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x):
        raise InvalidArgumentError(f"{name} must be finite, got {value!r}")
    return x


def _check_digits(digits: Any) -> int:
    return positive_int(digits, "digits")


# ---------------------------------------------------------------------------
# Quadrature
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ContinuousSoftValue:
    """Result of :func:`continuous_soft_value`.

    ``value`` is an mpmath ``mpf``; ``error_estimate`` estimates
    ``|value - V|`` (see :func:`continuous_soft_value` for how; it is an
    estimate, not a certified bound); ``digits`` is the number of significant
    digits the estimate supports, i.e. the largest ``D`` (at most the number
    requested) with ``error_estimate <= 10**-D * max(1, |value|)`` (0 if none);
    ``peak`` is the located maximiser of ``Q(a) + alpha log mu(a)``;
    ``breakpoints`` are the points where the interval was split.
    """

    value: Any
    error_estimate: Any
    digits: int
    peak: Any
    breakpoints: tuple[Any, ...]

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        import mpmath

        return mpmath.nstr(self.value, max(self.digits, 1))


def _make_log_integrand(
    Q: Callable[[Any], Any], alpha: Any, prior: Callable[[Any], Any] | None, mp: Any
) -> Callable[[Any], Any]:
    """``g(a) = Q(a) + alpha log mu(a)`` as an mpf (``-inf`` where ``mu(a) = 0``)."""

    def g(a: Any) -> Any:
        try:
            q = Q(a)
            if isinstance(q, str | bytes):
                raise TypeError(f"got the string {q!r}")
            q = mp.mpf(q)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                f"Q({mp.nstr(a, 17)}) did not return a real number: {exc}"
            ) from None
        if not mp.isfinite(q):
            raise InvalidArgumentError(
                f"Q({mp.nstr(a, 17)}) is {q}; Q must be finite on the interval"
            )
        if prior is None:
            return q
        try:
            w = mp.mpf(prior(a))
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                f"prior({mp.nstr(a, 17)}) did not return a real number: {exc}"
            ) from None
        if not mp.isfinite(w) or w < 0:
            raise InvalidArgumentError(f"prior({mp.nstr(a, 17)}) is {w}; must be finite and >= 0")
        if w == 0:
            return mp.ninf
        return q + alpha * mp.log(w) if alpha != 0 else q

    return g


def _golden_max(g: Callable[[Any], Any], x0: Any, x1: Any, mp: Any) -> tuple[Any, Any]:
    """Maximise ``g`` on ``[x0, x1]`` by golden-section search; return (argmax, max).

    The best point evaluated (brackets included) is returned, so a maximum at
    an end of the bracket is found too. It stops when the bracket is a few
    units in the last place wide.
    """
    invphi = (mp.sqrt(5) - 1) / 2
    best_x, best_g = x0, g(x0)
    g1 = g(x1)
    if g1 > best_g:
        best_x, best_g = x1, g1
    a, b = x0, x1
    c = b - invphi * (b - a)
    d = a + invphi * (b - a)
    gc, gd = g(c), g(d)
    scale = max(abs(x0), abs(x1), (x1 - x0))
    tol = scale * mp.ldexp(1, -mp.prec + 4)
    for _ in range(4 * mp.prec):
        if gc > best_g:
            best_x, best_g = c, gc
        if gd > best_g:
            best_x, best_g = d, gd
        if b - a <= tol:
            break
        if gc >= gd:
            b, d, gd = d, c, gc
            c = b - invphi * (b - a)
            gc = g(c)
        else:
            a, c, gc = c, d, gd
            d = a + invphi * (b - a)
            gd = g(d)
    return best_x, best_g


def _drop_point(
    g: Callable[[Any], Any], peak: Any, g_peak: Any, level: Any, end: Any, mp: Any
) -> Any | None:
    """A point between ``peak`` and ``end`` where ``g`` has fallen by about ``level``.

    Distances ``d = D/2, D/4, ...`` from the peak are tried until
    ``g(peak + d) >= g_peak - level``; the point returned lies within a factor
    two (refined to a few per cent) of the first crossing found. Returns None
    if ``g`` has not fallen by ``level`` at ``end``. Only used to split the
    interval, so its accuracy does not affect the value.
    """
    D = end - peak
    if D == 0 or g(end) >= g_peak - level:
        return None
    tiny = max(abs(peak), abs(D)) * mp.ldexp(1, -mp.prec)
    d = D / 2
    while abs(d) > tiny and g(peak + d) < g_peak - level:
        d /= 2
    if abs(d) <= tiny:
        return peak + 2 * d
    lo, hi = d, 2 * d  # g(peak + lo) >= target > g(peak + hi)
    for _ in range(6):
        mid = (lo + hi) / 2
        if g(peak + mid) >= g_peak - level:
            lo = mid
        else:
            hi = mid
    return peak + hi


def _locate_peaks(
    g: Callable[[Any], Any], low: Any, high: Any, alpha: Any, mp: Any
) -> tuple[list[Any], Any, Any]:
    """Refined local maxima of ``g`` that matter; returns (peaks, best_x, best_g).

    ``g`` is evaluated on a uniform grid of ``_GRID_INTERVALS + 1`` points (the
    ends included). The ``_MAX_PEAKS`` highest grid points that are local
    maxima are refined by golden-section search on their two neighbouring
    grid cells; those within ``alpha * (dps + 20) * ln 10`` of the best refined
    value are kept (the others contribute below the working precision).
    """
    n = _GRID_INTERVALS
    xs = [low + (high - low) * i / n for i in range(n + 1)]
    gs = [g(x) for x in xs]
    if max(gs) == mp.ninf:
        raise InvalidArgumentError("prior is zero on the whole grid; it must have positive mass")
    cand = [
        i
        for i in range(n + 1)
        if gs[i] > mp.ninf and (i == 0 or gs[i] >= gs[i - 1]) and (i == n or gs[i] >= gs[i + 1])
    ]
    cand.sort(key=lambda i: gs[i], reverse=True)
    refined = [_golden_max(g, xs[max(i - 1, 0)], xs[min(i + 1, n)], mp) for i in cand[:_MAX_PEAKS]]
    best_x, best_g = max(refined, key=lambda t: t[1])
    window = alpha * (mp.dps + _GUARD_DIGITS) * mp.log(10)
    peaks: list[tuple[Any, Any]] = []
    for x, gx in sorted(refined, key=lambda t: t[1], reverse=True):
        if gx < best_g - window:
            break
        # Two refined maxima with no dip of at least alpha between them are the
        # same mode (e.g. found from both grid points next to it): keep one.
        if all(g((x + y) / 2) < min(gx, gy) - alpha for y, gy in peaks):
            peaks.append((x, gx))
    return [x for x, _ in peaks], best_x, best_g


def _soft_value_at_precision(
    Q: Callable[[Any], Any],
    alpha_f: float,
    low_f: float,
    high_f: float,
    prior: Callable[[Any], Any] | None,
    dps: int,
    points: list[Any] | None,
) -> tuple[Any, Any, Any, list[Any]]:
    """One evaluation at ``dps`` digits: (V, quad error estimate on V, peak, points)."""
    import mpmath

    mp = mpmath.mp
    with mp.workdps(dps):
        alpha = mp.mpf(alpha_f)
        low, high = mp.mpf(low_f), mp.mpf(high_f)
        g = _make_log_integrand(Q, alpha, prior, mp)
        if points is None:
            peaks, peak, g_peak = _locate_peaks(g, low, high, alpha, mp)
            pts = {low, high, *peaks}
            if alpha > 0:
                # Split where the integrand exp((g - g_peak)/alpha) has fallen by
                # e^-1, e^-40 and e^-(dps + 20) ln 10 on each side of every peak,
                # so that tanh-sinh sees each piece at a sensible scale however
                # narrow the peak is.
                levels = [alpha, 40 * alpha, alpha * (dps + _GUARD_DIGITS) * mp.log(10)]
                for p in peaks:
                    gp = g(p)
                    for level in levels:
                        for end in (low, high):
                            x = _drop_point(g, p, gp, level, end, mp)
                            if x is not None and low < x < high:
                                pts.add(x)
            # Drop split points that (nearly) coincide: they only add tiny pieces.
            sep = (high - low) * mp.ldexp(1, -(3 * mp.prec) // 4)
            points = []
            for x in sorted(pts):
                if not points or x - points[-1] > sep or x == high:
                    points.append(x)
            if len(points) > 2 and points[-1] - points[-2] <= sep:
                del points[-2]
        else:
            points = [mp.mpf(p) for p in points]
            vals = [g(p) for p in points]
            k = max(range(len(points)), key=lambda i: vals[i])
            peak, g_peak = points[k], vals[k]
        if alpha == 0:
            return g_peak, mp.mpf(0), peak, points

        def integrand(a: Any) -> Any:
            # exp((g(a) - g_peak) / alpha) <= 1 (up to the accuracy of the peak
            # search): the large factor exp(g_peak / alpha) is kept out.
            return mp.exp((g(a) - g_peak) / alpha)

        total, err = mp.quad(integrand, points, error=True)
        if total <= 0:
            raise InvalidArgumentError(
                "the integral of mu(a) exp(Q(a)/alpha) is zero on the interval"
            )
        value = g_peak + alpha * mp.log(total)
        return value, alpha * err / total, peak, points


def continuous_soft_value(
    Q: Callable[[Any], Any],
    alpha: float,
    low: float,
    high: float,
    *,
    prior: Callable[[Any], Any] | None = None,
    digits: int = 20,
) -> ContinuousSoftValue:
    r"""Soft value ``V = alpha log int_low^high mu(a) exp(Q(a)/alpha) da`` by quadrature.

    Parameters
    ----------
    Q : callable
        ``Q(a)`` for an mpmath ``mpf`` action ``a``; returns ``mpf``, ``float``
        or ``int``, finite on the interval.
    alpha : float
        Temperature ``alpha >= 0``.
    low, high : float
        The action interval, ``low < high``.
    prior : callable, optional
        A density ``mu(a) >= 0`` (default: the Lebesgue measure, ``mu = 1``).
    digits : int, optional
        The number of significant digits wanted.

    Returns
    -------
    ContinuousSoftValue
        ``value`` (an ``mpf``), its ``error_estimate``, the ``digits`` that the
        estimate supports, the highest ``peak`` and the quadrature breakpoints.

    Raises
    ------
    InvalidArgumentError
        For a bad ``alpha``, interval, ``digits``, a ``Q`` or ``prior`` that is
        not callable or returns a non-finite value (naming the action), or a
        prior without mass.

    Notes
    -----
    The continuous-action form of Haarnoja et al. (2017), Theorem 2, for a
    one-dimensional action interval; ``mu`` is the Lebesgue measure unless a
    density ``prior(a) >= 0`` is given. ``Q`` (and ``prior``) are called with
    mpmath ``mpf`` arguments and may return ``mpf``, ``float`` or ``int``; use
    mpmath functions inside them (``mpmath.sin``, ...) to get more than
    float64 accuracy (with ``math.cos`` the two precisions see different
    float64 roundings, and ``digits`` comes out near 16, not as requested). ``alpha = 0`` gives ``max Q`` over the points with
    ``mu > 0`` (as located by the peak search below).

    Method, at a working precision of ``digits + 20 + log10(max|Q| / alpha)``
    decimal digits (scoped with ``mp.workdps``):

    1. locate the maxima of ``g(a) = Q(a) + alpha log mu(a)``: evaluate on a
       grid of 257 points and refine every relevant local maximum by
       golden-section search;
    2. split the interval at the peaks and, on each side of each peak, where
       ``exp((g - g_max)/alpha)`` has fallen by ``e^-1``, ``e^-40`` and
       ``10^-(digits+20)``, so a narrow peak (small ``alpha``) is never missed;
    3. integrate ``exp((g(a) - g_max)/alpha) <= 1`` with mpmath's tanh-sinh
       ``quad`` and return ``V = g_max + alpha log(integral)``: the factor
       ``exp(g_max/alpha)`` is never formed, so nothing overflows (``alpha``
       down to ``1e-12`` with ``Q`` up to ``1e8`` and beyond);
    4. repeat everything at twice the working precision. The error estimate
       is ``|V_1 - V_2|`` plus ``quad``'s own estimate at the higher precision;
       the returned value is ``V_2``. If the estimate misses the target
       ``10**-digits * max(1, |V|)``, the working precision is doubled again
       (twice at most).

    The error estimate is an *estimate*, not a certified bound: quadrature
    cannot see features of ``Q`` narrower than the grid and the tanh-sinh
    nodes (a spike of width ``1e-9`` between grid points, say). For ``Q``
    that is smooth, or smooth between its peaks, it is reliable; the tests
    compare it with the closed forms.

    References
    ----------
    T. Haarnoja, H. Tang, P. Abbeel, S. Levine, "Reinforcement Learning with Deep
    Energy-Based Policies", ICML 2017.

    Examples
    --------
    >>> r = continuous_soft_value(lambda a: -a * a / 2, 1.0, -60, 60, digits=15)
    >>> print(r)  # log sqrt(2 pi) = 0.918938533204673
    0.918938533204673
    >>> r.digits
    15
    """
    import mpmath

    a, _ = float_alpha(alpha)
    lo = _check_real(low, "low")
    hi = _check_real(high, "high")
    if not lo < hi:
        raise InvalidArgumentError(f"need low < high, got low={low!r}, high={high!r}")
    d = _check_digits(digits)
    if not callable(Q):
        raise InvalidArgumentError(f"Q must be callable (a function of the action), got {Q!r}")
    if prior is not None and not callable(prior):
        raise InvalidArgumentError(f"prior must be None or callable, got {prior!r}")

    def extra_digits(size: Any) -> int:
        # Extra digits when Q / alpha is large: g(a) - g_max is divided by alpha,
        # so its absolute rounding error (~ |Q| 10^-dps) is magnified by 1/alpha.
        if a == 0 or size == 0:
            return 0
        with mpmath.mp.workdps(15):
            return max(0, int(mpmath.ceil(mpmath.log10(abs(size) / a))))

    with mpmath.mp.workdps(d + _GUARD_DIGITS):
        g_mid = _make_log_integrand(Q, a, None, mpmath.mp)(mpmath.mpf((lo + hi) / 2))
    dps = d + _GUARD_DIGITS + extra_digits(g_mid)
    for attempt in range(3):
        v1, _e1, _p1, points = _soft_value_at_precision(Q, a, lo, hi, prior, dps, None)
        # |V| is within alpha log(high - low) of the peak of Q + alpha log mu: if
        # the peak is much larger than Q at the midpoint, redo with enough digits.
        needed = d + _GUARD_DIGITS + extra_digits(v1)
        if needed > dps:
            dps = needed
            v1, _e1, _p1, points = _soft_value_at_precision(Q, a, lo, hi, prior, dps, None)
        v2, e2, peak, _ = _soft_value_at_precision(Q, a, lo, hi, prior, 2 * dps, points)
        with mpmath.mp.workdps(2 * dps):
            err = abs(v1 - v2) + abs(e2)
            scale = max(mpmath.mpf(1), abs(v2))
            if err == 0:
                achieved = d
            else:
                achieved = int(min(d, max(0, mpmath.floor(-mpmath.log10(err / scale)))))
        if achieved == d or attempt == 2:
            break
        dps *= 2
    return ContinuousSoftValue(
        value=v2, error_estimate=err, digits=achieved, peak=peak, breakpoints=tuple(points)
    )


@dataclass(frozen=True)
class ContinuousSoftPolicy:
    """The soft-optimal density ``pi*(a) = mu(a) exp((Q(a) - V)/alpha)`` on ``[low, high]``.

    Call it (``policy(a)``) for the density at ``a`` (an mpmath ``mpf``,
    computed at the precision of ``soft_value``); ``soft_value`` is the
    :class:`ContinuousSoftValue` that normalises it.
    """

    Q: Callable[[Any], Any]
    alpha: float
    low: float
    high: float
    prior: Callable[[Any], Any] | None
    soft_value: ContinuousSoftValue

    def __call__(self, a: Any) -> Any:
        import mpmath

        mp = mpmath.mp
        with mp.workdps(self.soft_value.digits + _GUARD_DIGITS):
            x = mp.mpf(a)
            if not self.low <= x <= self.high:
                return mp.zero
            g = _make_log_integrand(self.Q, mp.mpf(self.alpha), self.prior, mp)(x)
            if self.alpha == 0:
                raise InvalidArgumentError(
                    "alpha = 0: the soft-optimal policy is a point mass at the maximiser "
                    f"{mp.nstr(self.soft_value.peak, 17)}, not a density"
                )
            return mp.exp((g - self.soft_value.value) / self.alpha)


def continuous_soft_policy(
    Q: Callable[[Any], Any],
    alpha: float,
    low: float,
    high: float,
    *,
    prior: Callable[[Any], Any] | None = None,
    digits: int = 20,
) -> ContinuousSoftPolicy:
    r"""Soft-optimal density ``pi*(a) = mu(a) exp((Q(a) - V)/alpha)`` on ``[low, high]``.

    Parameters
    ----------
    Q, alpha, low, high, prior, digits
        As for :func:`continuous_soft_value`.

    Returns
    -------
    ContinuousSoftPolicy
        A callable density ``pi*(a)`` (an ``mpf``), with its ``soft_value``.

    Raises
    ------
    InvalidArgumentError
        As :func:`continuous_soft_value`.

    Notes
    -----
    Haarnoja et al. (2017), Theorem 1, for continuous actions; ``V`` comes from
    :func:`continuous_soft_value` (same arguments) and the density integrates to
    one to within its error estimate divided by ``alpha``.

    Examples
    --------
    >>> pi = continuous_soft_policy(lambda a: -a * a / 2, 1.0, -60, 60, digits=15)
    >>> round(float(pi(0)), 12)  # 1 / sqrt(2 pi)
    0.398942280401
    """
    v = continuous_soft_value(Q, alpha, low, high, prior=prior, digits=digits)
    return ContinuousSoftPolicy(Q, float(alpha), float(low), float(high), prior, v)


# ---------------------------------------------------------------------------
# Closed forms
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GaussianSoftPolicy:
    """Soft value and Gaussian soft-optimal policy ``N(mean, covariance)`` of a quadratic Q.

    ``covariance`` is ``alpha K^{-1}`` (all zeros for ``alpha = 0``, a point
    mass at ``mean``).
    """

    value: float
    mean: FloatArray
    covariance: FloatArray


def _check_quadratic(
    K: ArrayLike, m: ArrayLike, c: Any, kname: str = "K", mname: str = "m"
) -> tuple[FloatArray, FloatArray, float]:
    """Validate ``K`` (d, d) symmetric positive definite, ``m`` (d,), ``c`` finite."""
    Km = np.asarray(K, dtype=np.float64)
    mm = np.asarray(m, dtype=np.float64)
    if Km.ndim == 0:
        Km = Km.reshape(1, 1)
    if mm.ndim == 0:
        mm = mm.reshape(1)
    if Km.ndim != 2 or Km.shape[0] != Km.shape[1]:
        raise InvalidArgumentError(f"{kname} must be a square matrix, got shape {np.shape(K)}")
    if mm.ndim != 1 or mm.shape[0] != Km.shape[0]:
        raise InvalidArgumentError(
            f"{mname} must be a vector of length {Km.shape[0]} to match {kname}, "
            f"got shape {np.shape(m)}"
        )
    for name, arr in ((kname, Km), (mname, mm)):
        idx = first_bad_index(~np.isfinite(arr))
        if idx is not None:
            raise InvalidArgumentError(f"{name}{list(idx)} is {float(arr[idx])!r}; must be finite")
    Km = _symmetrized(Km, kname)
    try:
        np.linalg.cholesky(Km)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(Km).min())
        raise InvalidArgumentError(
            f"{kname} must be positive definite; its smallest eigenvalue is {lam!r}"
        ) from None
    return Km, mm, _check_real(c, "c")


def quadratic_soft_policy(K: ArrayLike, m: ArrayLike, c: float, alpha: float) -> GaussianSoftPolicy:
    r"""Closed form for ``Q(a) = -1/2 (a - m)^T K (a - m) + c`` on ``R^d``, Lebesgue measure.

    Parameters
    ----------
    K : array_like, shape (d, d)
        Symmetric positive definite curvature (a scalar for ``d = 1``).
    m : array_like, shape (d,)
        The maximiser of ``Q``.
    c : float
        The maximum of ``Q``.
    alpha : float
        Temperature ``alpha >= 0``.

    Returns
    -------
    GaussianSoftPolicy
        ``value`` (``V``), ``mean`` and ``covariance`` of ``pi*``.

    Raises
    ------
    InvalidArgumentError
        For a ``K`` that is not square, symmetric and positive definite, an ``m``
        of the wrong length, a non-finite entry, or a bad ``alpha``.

    Notes
    -----
    With ``K`` symmetric positive definite,
    ``int exp(Q(a)/alpha) da = exp(c/alpha) sqrt(det(2 pi alpha K^{-1}))``, so

    ``V = c + alpha/2 log det(2 pi alpha K^{-1})
    = c + (d alpha / 2) log(2 pi alpha) - (alpha / 2) log det K`` and
    ``pi* = N(m, alpha K^{-1})``

    (Haarnoja et al. 2017, Theorems 1 and 2 for a quadratic energy; derived in
    ``proofs/08_max_entropy_lqr.ipynb``). ``log det K`` comes from a Cholesky
    factor, so nothing overflows for tiny ``alpha`` (``alpha log alpha -> 0``).
    ``alpha = 0`` gives ``V = c`` exactly and a zero covariance (the limit).

    Examples
    --------
    >>> p = quadratic_soft_policy([[2.0, 0.0], [0.0, 0.5]], [1.0, -1.0], 3.0, 0.1)
    >>> round(p.value, 12), p.covariance.tolist()
    (2.953529197342, [[0.05, 0.0], [0.0, 0.2]])
    """
    a, _ = float_alpha(alpha)
    Km, mm, cc = _check_quadratic(K, m, c)
    d = Km.shape[0]
    if a == 0:
        return GaussianSoftPolicy(cc, mm.copy(), np.zeros((d, d)))
    L = np.linalg.cholesky(Km)
    logdet_K = 2.0 * float(np.sum(np.log(np.diag(L))))
    value = cc + 0.5 * a * (d * math.log(2.0 * math.pi * a) - logdet_K)
    Kinv = np.linalg.inv(Km)
    cov = a * (Kinv + Kinv.T) / 2
    return GaussianSoftPolicy(float(value), mm.copy(), cov)


def quadratic_soft_value(
    K: ArrayLike, m: ArrayLike, c: float, alpha: float, *, digits: int | None = None
) -> Any:
    r"""``V = c + alpha/2 log det(2 pi alpha K^{-1})`` for ``Q = -1/2 (a-m)^T K (a-m) + c``.

    Parameters
    ----------
    K, m, c, alpha
        As for :func:`quadratic_soft_policy`.
    digits : int, optional
        None for float64; else the number of digits of an mpmath result.

    Returns
    -------
    float or mpmath.mpf
        The soft value ``V``.

    Raises
    ------
    InvalidArgumentError
        As :func:`quadratic_soft_policy`, or for a bad ``digits``.

    Notes
    -----
    The soft value of :func:`quadratic_soft_policy` (Lebesgue measure on
    ``R^d``; it does not depend on ``m``). With ``digits=None`` a float64;
    with ``digits=D`` an mpmath ``mpf`` computed from the exact binary values
    of the inputs at ``D + 20`` digits (Cholesky in mpmath).

    Examples
    --------
    >>> quadratic_soft_value([[1.0]], [0.0], 0.0, 1.0)  # log sqrt(2 pi)
    0.9189385332046727
    >>> import mpmath
    >>> mpmath.nstr(quadratic_soft_value([[1.0]], [0.0], 0.0, 1.0, digits=30), 30)
    '0.918938533204672741780329736406'
    """
    if digits is None:
        return quadratic_soft_policy(K, m, c, alpha).value
    import mpmath

    a, _ = float_alpha(alpha)
    Km, _mm, cc = _check_quadratic(K, m, c)
    D = _check_digits(digits)
    mp = mpmath.mp
    with mp.workdps(D + _GUARD_DIGITS):
        if a == 0:
            return +mp.mpf(cc)
        d = Km.shape[0]
        L = mp.cholesky(mp.matrix(Km.tolist()))
        logdet_K = 2 * mp.fsum(mp.log(L[i, i]) for i in range(d))
        A = mp.mpf(a)
        value = mp.mpf(cc) + A / 2 * (d * mp.log(2 * mp.pi * A) - logdet_K)
    with mp.workdps(D):
        return +value


def gaussian_prior_soft_policy(
    K: ArrayLike,
    m: ArrayLike,
    c: float,
    alpha: float,
    prior_mean: ArrayLike,
    prior_covariance: ArrayLike,
) -> GaussianSoftPolicy:
    r"""Closed form for a quadratic Q with a Gaussian reference measure ``mu = N(m0, S0)``.

    Parameters
    ----------
    K, m, c, alpha
        As for :func:`quadratic_soft_policy`.
    prior_mean : array_like, shape (d,)
        The mean ``m0`` of the reference measure.
    prior_covariance : array_like, shape (d, d)
        Its covariance ``S0``, symmetric positive definite.

    Returns
    -------
    GaussianSoftPolicy
        ``value`` (``V``), ``mean`` and ``covariance`` of ``pi*``.

    Raises
    ------
    InvalidArgumentError
        For bad matrices or vectors (as :func:`quadratic_soft_policy`) or ``alpha``.

    Notes
    -----
    ``Q(a) = -1/2 (a - m)^T K (a - m) + c`` and ``mu(a)`` the density of
    ``N(m0, S0)`` (a probability measure: the KL-regularised objective of docs/conventions.md
    section 1). The product of the two Gaussians integrates to

    ``V = c - alpha/2 [log det(I + K S0 / alpha) + (m - m0)^T (S0 + alpha K^{-1})^{-1} (m - m0)]``

    and ``pi* = mu exp((Q - V)/alpha)`` is ``N(mean, cov)`` with
    ``cov = alpha (K + alpha S0^{-1})^{-1}`` and
    ``mean = (K + alpha S0^{-1})^{-1} (K m + alpha S0^{-1} m0)``
    (Haarnoja et al. 2017, Theorems 1 and 2, with a prior). ``V <= c``, and
    ``V -> c`` as ``alpha -> 0`` (``alpha = 0`` gives ``c``, ``m`` and a zero
    covariance exactly); as ``alpha -> inf``, ``pi* -> mu``. The log-determinant
    is ``sum log1p(lambda_i / alpha)`` over the eigenvalues of the symmetric
    ``L^T S0 L`` (``K = L L^T``; Sylvester's identity), accurate for tiny and
    for huge ``alpha``.
    Float64 only.

    Examples
    --------
    >>> p = gaussian_prior_soft_policy([[1.0]], [0.0], 0.0, 1.0, [0.0], [[1.0]])
    >>> round(p.value, 15), p.mean.tolist(), p.covariance.tolist()  # -log(2)/2; N(0, 1/2)
    (-0.346573590279973, [0.0], [[0.5]])
    """
    a, _ = float_alpha(alpha)
    Km, mm, cc = _check_quadratic(K, m, c)
    d = Km.shape[0]
    S0, m0, _ = _check_quadratic(
        prior_covariance, prior_mean, 0.0, "prior_covariance", "prior_mean"
    )
    if S0.shape[0] != d:
        raise InvalidArgumentError(f"prior_covariance has shape {S0.shape}; K has shape {Km.shape}")
    if a == 0:
        return GaussianSoftPolicy(cc, mm.copy(), np.zeros((d, d)))
    L = np.linalg.cholesky(Km)
    X = L.T @ S0 @ L
    # log det(I + X / alpha) = sum log1p(lambda_i / alpha): log1p keeps the
    # small eigenvalues (large alpha) accurate, where log det of I + X / alpha
    # would cancel; eigvalsh's absolute error ~ eps |X| only costs
    # ~ d eps |X| after the factor alpha.
    logdet = float(np.sum(np.log1p(np.linalg.eigvalsh((X + X.T) / 2) / a)))
    diff = mm - m0
    Kinv = np.linalg.inv(Km)
    C = S0 + a * (Kinv + Kinv.T) / 2
    quad = float(diff @ np.linalg.solve(C, diff))
    value = cc - 0.5 * a * (logdet + quad)
    S0inv = np.linalg.inv(S0)
    P = Km + a * (S0inv + S0inv.T) / 2  # alpha times the policy precision
    cov = a * np.linalg.inv(P)
    mean = np.asarray(np.linalg.solve(P, Km @ mm + a * S0inv @ m0), dtype=np.float64)
    return GaussianSoftPolicy(float(value), mean, (cov + cov.T) / 2)


def _log_gauss_mass(zl: Any, zh: Any, mp: Any) -> Any:
    """``log(Phi(zh) - Phi(zl))`` for ``zl < zh``, accurate in every tail.

    ``Phi(z) = erfc(-z / sqrt 2) / 2``. The three cases avoid cancellation:

    * ``zl >= 0`` (right tail): ``Phi(zh) - Phi(zl) = (erfc(zl/r2) - erfc(zh/r2)) / 2``
      computed as ``log erfc(zl/r2) + log1p(-erfc(zh/r2)/erfc(zl/r2)) - log 2``;
    * ``zh <= 0``: the mirror image (``zl, zh -> -zh, -zl``);
    * ``zl < 0 < zh``: ``(erf(zh/r2) + erf(-zl/r2)) / 2``, a sum of two positive terms.

    mpmath's ``erfc`` has an unbounded exponent range, so ``erfc(1e10)`` is
    not 0. In the tail case ``1 - erfc(zh)/erfc(zl)`` cancels when ``zh`` is
    close to ``zl``; the caller's precision is raised until it keeps
    ``mp.dps - 10`` digits.
    """
    r2 = mp.sqrt(2)
    if zl < 0 < zh:
        return mp.log((mp.erf(zh / r2) + mp.erf(-zl / r2)) / 2)
    if zh <= 0:
        zl, zh = -zh, -zl
    el = mp.erfc(zl / r2)
    eh = mp.erfc(zh / r2)
    return mp.log(el) + mp.log1p(-eh / el) - mp.log(2)


def box_quadratic_soft_value(
    k: float,
    m: float,
    c: float,
    alpha: float,
    low: float,
    high: float,
    *,
    digits: int | None = None,
) -> Any:
    r"""Closed form for ``Q(a) = -k/2 (a - m)^2 + c`` on ``[low, high]``, Lebesgue measure.

    Parameters
    ----------
    k : float
        Curvature, ``k > 0``.
    m : float
        The maximiser of ``Q`` on the real line.
    c : float
        The maximum of ``Q`` on the real line.
    alpha : float
        Temperature ``alpha >= 0``.
    low, high : float
        The action interval, ``low < high``.
    digits : int, optional
        None for a float; else the number of digits of an mpmath result.

    Returns
    -------
    float or mpmath.mpf
        The soft value ``V`` on ``[low, high]``.

    Raises
    ------
    InvalidArgumentError
        For ``k <= 0``, ``low >= high``, a non-finite number, or a bad ``alpha``
        or ``digits``.

    Notes
    -----
    With ``s = sqrt(alpha / k)`` and ``Phi`` the standard normal CDF,

    ``int_low^high exp(Q(a)/alpha) da = exp(c/alpha) sqrt(2 pi) s
    (Phi((high - m)/s) - Phi((low - m)/s))``, so

    ``V = c + alpha/2 log(2 pi alpha / k) + alpha log(Phi((high-m)/s) - Phi((low-m)/s))``

    and ``pi*`` is ``N(m, s^2)`` truncated to ``[low, high]`` (Haarnoja et al.
    2017, Theorems 1 and 2). The difference of normal CDFs is evaluated in
    log space with mpmath error functions (see ``_log_gauss_mass``), so the
    result is accurate when the interval lies far in a tail of the Gaussian
    (``m`` far outside ``[low, high]``, or ``alpha`` tiny). ``alpha = 0``
    gives ``max Q = c - k/2 (clip(m, low, high) - m)^2``. ``k`` must be > 0.

    Returns a float (``digits=None``, computed at 30 digits and rounded) or an
    mpmath ``mpf`` with ``digits`` significant digits.

    Examples
    --------
    >>> box_quadratic_soft_value(1.0, 0.0, 0.0, 1.0, -60.0, 60.0)  # log sqrt(2 pi), rounded
    0.9189385332046728
    >>> box_quadratic_soft_value(1.0, 0.0, 0.0, 1.0, 0.0, 60.0)  # log sqrt(pi / 2)
    0.22579135264472744
    """
    import mpmath

    a, _ = float_alpha(alpha)
    kk = _check_real(k, "k")
    if kk <= 0:
        raise InvalidArgumentError(f"k must be > 0 (Q must be concave), got k={k!r}")
    mm, cc = _check_real(m, "m"), _check_real(c, "c")
    lo, hi = _check_real(low, "low"), _check_real(high, "high")
    if not lo < hi:
        raise InvalidArgumentError(f"need low < high, got low={low!r}, high={high!r}")
    D = 15 if digits is None else _check_digits(digits)
    mp = mpmath.mp
    dps = D + _GUARD_DIGITS
    while True:
        with mp.workdps(dps):
            M, C, K = mp.mpf(mm), mp.mpf(cc), mp.mpf(kk)
            L, H = mp.mpf(lo), mp.mpf(hi)
            if a == 0:
                x = min(max(M, L), H)
                value = C - K / 2 * (x - M) ** 2
                break
            A = mp.mpf(a)
            s = mp.sqrt(A / K)
            zl, zh = (L - M) / s, (H - M) / s
            # The tail formula keeps about dps + log10(1 - ratio) digits; double the
            # precision until at least D + 10 of them survive.
            if not (zl < 0 < zh):
                z1, z2 = (zl, zh) if zl >= 0 else (-zh, -zl)
                r2 = mp.sqrt(2)
                ratio = mp.erfc(z2 / r2) / mp.erfc(z1 / r2)
                if ratio >= 1 or 1 - ratio < mp.mpf(10) ** (D + 10 - dps):
                    dps *= 2
                    if dps > 100000:
                        raise InvalidArgumentError(
                            "the interval is too narrow for its distance from m to evaluate "
                            "the closed form; use continuous_soft_value"
                        )
                    continue
            value = C + A / 2 * mp.log(2 * mp.pi * A / K) + A * _log_gauss_mass(zl, zh, mp)
            break
    if digits is None:
        return float(value)
    with mp.workdps(D):
        return +value
