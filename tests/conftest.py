"""Test configuration: Hypothesis profiles and the mpmath precision guard.

Profiles (choose with ``HYPOTHESIS_PROFILE``): ``dev`` (default: random, 50
examples per test), ``ci`` (derandomised, so a run is reproducible; used by
``.ci/run``), ``thorough`` (1000 examples, for a long exploratory run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import mpmath
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=50, print_blob=True)
settings.register_profile(
    "thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _mpmath_precision_is_restored() -> Iterator[None]:
    """Every test must leave mpmath's working precision as it found it."""
    before = (mpmath.mp.dps, mpmath.mp.prec, mpmath.iv.prec)
    yield
    after = (mpmath.mp.dps, mpmath.mp.prec, mpmath.iv.prec)
    assert after == before, f"mpmath precision leaked: {before} -> {after}"
