"""Argument checks shared by the continuous subpackage (private to it)."""

from __future__ import annotations

import numpy as np

from softq_ref._validate import first_bad_index
from softq_ref.errors import InvalidArgumentError


def _symmetrized(M: np.ndarray, name: str) -> np.ndarray:
    """``(M + M^T) / 2`` for a matrix symmetric up to ``8 eps max|M|``, else raise naming the entry."""
    asym = np.abs(M - M.T)
    tol = 8 * np.finfo(np.float64).eps * np.abs(M).max(initial=0.0)
    idx = first_bad_index(asym > tol)
    if idx is not None:
        i, j = idx
        raise InvalidArgumentError(
            f"{name} must be symmetric: {name}[{i}, {j}] = {M[i, j]!r} "
            f"but {name}[{j}, {i}] = {M[j, i]!r}"
        )
    return (M + M.T) / 2
