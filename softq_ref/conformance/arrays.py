"""The arrays a checked function gets: NumPy, or float64 PyTorch tensors or JAX arrays.

``softq-ref check --array torch`` (or ``jax``) converts every array argument
(``P``, ``R``, ``Q``) to a float64 tensor of that library before the call;
the scalars (``gamma``, ``alpha``, ``H``) stay Python numbers. The result is
read back with ``numpy.asarray`` (a PyTorch tensor is first detached and moved
to the CPU), so its dtype is judged as returned: float32 tensors fail as
float32 arrays do. The libraries are imported only when asked for, with a
message naming what to install.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from softq_ref.errors import InvalidArgumentError

__all__ = ["ARRAYS", "to_library", "from_library", "require"]

#: the values of ``--array``
ARRAYS = ("numpy", "torch", "jax")


def require(array: str) -> Any:
    """Import the library of ``array`` (None for NumPy); a clear error if it is missing.

    JAX is switched to 64-bit (``jax_enable_x64``) on import, since float32 is its default.
    """
    if array not in ARRAYS:
        raise InvalidArgumentError(f"array must be one of {', '.join(ARRAYS)}, got {array!r}")
    if array == "numpy":
        return None
    try:
        if array == "torch":
            import torch

            return torch
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        return jnp
    except ImportError:
        hint = "pip install torch" if array == "torch" else "pip install jax"
        raise InvalidArgumentError(
            f"--array {array} needs {'PyTorch' if array == 'torch' else 'JAX'}, "
            f"which is not installed ({hint})"
        ) from None


def to_library(args: tuple[Any, ...], array: str) -> tuple[Any, ...]:
    """``args`` with every NumPy array converted to a float64 array of ``array``'s library."""
    lib = require(array)
    if lib is None:
        return args
    if array == "torch":
        return tuple(
            lib.tensor(x, dtype=lib.float64) if isinstance(x, np.ndarray) else x for x in args
        )
    return tuple(
        lib.asarray(x, dtype=lib.float64) if isinstance(x, np.ndarray) else x for x in args
    )


def from_library(raw: Any) -> np.ndarray:
    """``numpy.asarray`` of a result; a PyTorch tensor is detached and moved to the CPU first."""
    detach = getattr(raw, "detach", None)
    if callable(detach) and hasattr(raw, "cpu"):
        raw = detach().cpu()
    return np.asarray(raw)
