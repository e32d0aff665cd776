r"""Stein variational gradient descent for a one-dimensional energy-based policy.

Haarnoja et al. (2017), Section 3.2, sample from the energy-based policy
``pi*(a) ∝ exp(Q(a) / alpha)`` with Stein variational gradient descent (Liu &
Wang, "Stein Variational Gradient Descent: A General Purpose Bayesian
Inference Algorithm", NeurIPS 2016). One step moves every particle along

.. math::

    \phi(x_i) = \frac{1}{n} \sum_j \big[ k(x_j, x_i) \nabla \log p(x_j)
                + \nabla_{x_j} k(x_j, x_i) \big],

with the RBF kernel ``k(x, y) = exp(-(x - y)^2 / h)`` and the median
heuristic ``h = med^2 / log n`` (``med`` the median pairwise distance; Liu &
Wang 2016, Section 5). For the soft policy, ``grad log p(a) = Q'(a) / alpha``.
The first term pulls particles towards high ``Q``; the second (the kernel's
gradient) pushes them apart, which is what makes them spread like ``pi*``
rather than collapse onto its mode.

This is a small reference for the update rule, in one dimension and float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from softq_ref._validate import first_bad_index
from softq_ref.errors import InvalidArgumentError

__all__ = ["median_bandwidth", "svgd_direction", "svgd_step", "svgd"]

FloatArray = NDArray[np.float64]


def _particles(x: ArrayLike) -> FloatArray:
    p = np.asarray(x, dtype=np.float64)
    if p.ndim != 1 or p.shape[0] < 2:
        raise InvalidArgumentError(
            f"particles must be a 1-D array of at least 2, got shape {p.shape}"
        )
    idx = first_bad_index(~np.isfinite(p))
    if idx is not None:
        raise InvalidArgumentError(f"particles{list(idx)} is {p[idx]!r}; must be finite")
    return p


def median_bandwidth(particles: ArrayLike) -> float:
    """Median heuristic ``h = med^2 / log n`` (Liu & Wang 2016, Section 5).

    Parameters
    ----------
    particles : array_like, shape (n,)
        At least two finite particles.

    Returns
    -------
    float
        The bandwidth ``h > 0``.

    Raises
    ------
    InvalidArgumentError
        For fewer than two particles or a non-finite one.

    Notes
    -----
    ``med`` is the median of the pairwise distances ``|x_i - x_j|``, ``i < j``.
    If all particles coincide, ``h = 1`` (any positive value gives the same
    update then, since every kernel gradient is zero).

    References
    ----------
    Q. Liu, D. Wang, "Stein Variational Gradient Descent: A General Purpose
    Bayesian Inference Algorithm", NeurIPS 2016.

    Examples
    --------
    >>> median_bandwidth([0.0, 1.0, 3.0])  # distances 1, 2, 3: med = 2, h = 4 / log 3
    3.6409569065073493
    """
    x = _particles(particles)
    n = x.shape[0]
    i, j = np.triu_indices(n, k=1)
    med = float(np.median(np.abs(x[i] - x[j])))
    if med == 0:
        return 1.0
    return med * med / math.log(n)


def svgd_direction(
    particles: ArrayLike, grad_log_p: ArrayLike, *, bandwidth: float | None = None
) -> FloatArray:
    r"""The SVGD direction ``phi(x_i) = mean_j [k(x_j, x_i) g_j + d/dx_j k(x_j, x_i)]``.

    Parameters
    ----------
    particles : array_like, shape (n,)
        The particles ``x_j``.
    grad_log_p : array_like, shape (n,)
        ``d/da log p(a)`` at each particle.
    bandwidth : float, optional
        The kernel bandwidth ``h > 0`` (default :func:`median_bandwidth`).

    Returns
    -------
    ndarray, shape (n,)
        ``phi(x_i)`` for each particle.

    Raises
    ------
    InvalidArgumentError
        For bad particles, a ``grad_log_p`` of another shape or non-finite, or a
        bad ``bandwidth``.

    Notes
    -----
    ``grad_log_p[j]`` is ``d/da log p(a)`` at ``particles[j]`` (for the soft
    policy, ``Q'(a_j) / alpha``); ``k(x, y) = exp(-(x - y)^2 / h)``, so
    ``d/dx_j k(x_j, x_i) = -2 (x_j - x_i) / h * k(x_j, x_i)``. ``bandwidth``
    defaults to :func:`median_bandwidth`.

    References
    ----------
    Q. Liu, D. Wang, "Stein Variational Gradient Descent: A General Purpose
    Bayesian Inference Algorithm", NeurIPS 2016.

    Examples
    --------
    >>> svgd_direction([-1.0, 1.0], [1.0, -1.0], bandwidth=2.0).round(6).tolist()
    [0.296997, -0.296997]
    """
    x = _particles(particles)
    g = np.asarray(grad_log_p, dtype=np.float64)
    if g.shape != x.shape:
        raise InvalidArgumentError(
            f"grad_log_p has shape {g.shape}; particles have shape {x.shape}"
        )
    idx = first_bad_index(~np.isfinite(g))
    if idx is not None:
        raise InvalidArgumentError(f"grad_log_p{list(idx)} is {g[idx]!r}; must be finite")
    h = median_bandwidth(x) if bandwidth is None else float(bandwidth)
    if not (math.isfinite(h) and h > 0):
        raise InvalidArgumentError(f"bandwidth must be finite and > 0, got {bandwidth!r}")
    diff = x[:, None] - x[None, :]  # diff[j, i] = x_j - x_i
    k = np.exp(-(diff**2) / h)
    drive = k.T @ g  # sum_j k(x_j, x_i) g_j
    repulse = (-2.0 / h * diff * k).sum(axis=0)  # sum_j d/dx_j k(x_j, x_i)
    return (drive + repulse) / x.shape[0]


def svgd_step(
    particles: ArrayLike,
    grad_log_p: Callable[[FloatArray], ArrayLike],
    step_size: float,
    *,
    bandwidth: float | None = None,
) -> FloatArray:
    """One SVGD update ``x <- x + step_size * phi(x)`` (see :func:`svgd_direction`).

    Parameters
    ----------
    particles : array_like, shape (n,)
        The particles.
    grad_log_p : callable
        A vectorised function of the particle array, ``d/da log p``.
    step_size : float
        The step, finite and ``> 0``.
    bandwidth : float, optional
        The kernel bandwidth (default :func:`median_bandwidth`).

    Returns
    -------
    ndarray, shape (n,)
        The moved particles.

    Raises
    ------
    InvalidArgumentError
        As :func:`svgd_direction`, or for a bad ``step_size``.

    Notes
    -----
    ``grad_log_p`` is a vectorised function of the particle array.

    Examples
    --------
    >>> svgd_step([-1.0, 1.0], lambda a: -a, 0.5, bandwidth=2.0).round(6).tolist()
    [-0.851501, 0.851501]
    """
    x = _particles(particles)
    step = float(step_size)
    if not (math.isfinite(step) and step > 0):
        raise InvalidArgumentError(f"step_size must be finite and > 0, got {step_size!r}")
    return x + step * svgd_direction(x, np.asarray(grad_log_p(x)), bandwidth=bandwidth)


def svgd(
    particles: ArrayLike,
    grad_log_p: Callable[[FloatArray], ArrayLike],
    step_size: float,
    iterations: int,
) -> FloatArray:
    """Run :func:`svgd_step` ``iterations`` times (median bandwidth at each step).

    Parameters
    ----------
    particles : array_like, shape (n,)
        The starting particles.
    grad_log_p : callable
        A vectorised function of the particle array, ``d/da log p``.
    step_size : float
        The step, finite and ``> 0``.
    iterations : int
        The number of steps, ``>= 0``.

    Returns
    -------
    ndarray, shape (n,)
        The particles after ``iterations`` steps.

    Raises
    ------
    InvalidArgumentError
        As :func:`svgd_step`, or for a bad ``iterations``.

    Notes
    -----
    For the soft-optimal policy of a 1-D ``Q``, pass ``grad_log_p = Q' / alpha``.

    Examples
    --------
    >>> x = svgd([-1.0, 1.0], lambda a: -a, 0.5, 1)
    >>> x.round(6).tolist()  # the median bandwidth of two particles: 4 / log 2
    [-0.961643, 0.961643]
    """
    x = _particles(particles)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise InvalidArgumentError(f"iterations must be an integer >= 0, got {iterations!r}")
    for _ in range(iterations):
        x = svgd_step(x, grad_log_p, step_size)
    return x
