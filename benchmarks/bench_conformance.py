"""Benchmark: the time of a conformance check with the old size caps (S, A <= 4) and the
new defaults (S <= 12, A <= 6), measured in the same run.

For each solver kind (and ``value`` for comparison) this runs ``softq_ref.conformance.check``
on a correct float64 implementation written here (value iteration, backward induction on
``scipy.special.logsumexp``) with 100 Hypothesis examples and a fixed seed, once with
``max_states=4, max_actions=4`` (the baseline) and once with the defaults, and prints the
seconds of each and the ratio ``new / baseline``. Most random sizes stay small
(:func:`softq_ref.strategies.sizes`: three draws in four at most 4), so the larger caps
cost little.

Run: ``PYTHONPATH=. python benchmarks/bench_conformance.py`` (about half a minute).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.special import logsumexp  # noqa: E402

from softq_ref import soft_value  # noqa: E402
from softq_ref.conformance import check  # noqa: E402


def _v(Q: np.ndarray, alpha: float) -> np.ndarray:
    return alpha * logsumexp(Q / alpha, axis=-1) if alpha > 0 else Q.max(axis=-1)


def value_iteration(P: np.ndarray, R: np.ndarray, gamma: float, alpha: float) -> np.ndarray:
    Q = np.zeros_like(R)
    for _ in range(int(40 / (1 - gamma)) + 10):
        Qn = R + gamma * np.einsum("sat,t->sa", P, _v(Q, alpha))
        if np.array_equal(Qn, Q):
            break
        Q = Qn
    return Q


def value_solver(P: np.ndarray, R: np.ndarray, gamma: float, alpha: float) -> np.ndarray:
    return _v(value_iteration(P, R, gamma, alpha), alpha)


def policy_solver(P: np.ndarray, R: np.ndarray, gamma: float, alpha: float) -> np.ndarray:
    Q = value_iteration(P, R, gamma, alpha)
    if alpha == 0:
        pi = np.zeros_like(Q)
        pi[np.arange(Q.shape[0]), Q.argmax(axis=-1)] = 1.0
        return pi
    z = Q / alpha
    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


def horizon_solver(P: np.ndarray, R: np.ndarray, gamma: float, alpha: float, H: int) -> np.ndarray:
    S, A = R.shape
    Q = np.zeros((H, S, A))
    V = np.zeros(S)
    for t in range(H - 1, -1, -1):
        Q[t] = R + gamma * np.einsum("sat,t->sa", P, V)
        V = _v(Q[t], alpha)
    return Q


def main() -> None:
    kinds = [
        ("solver", value_iteration),
        ("value-solver", value_solver),
        ("policy-solver", policy_solver),
        ("horizon-solver", horizon_solver),
        ("value", soft_value),
    ]
    print(f"{'kind':15s} {'S, A <= 4 (s)':>14s} {'S <= 12, A <= 6 (s)':>20s} {'ratio':>6s}")
    for kind, fn in kinds:
        times = []
        for sizes in ({"max_states": 4, "max_actions": 4}, {}):
            t = time.perf_counter()
            report = check(fn, kind, examples=100, seed=0, **sizes)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t)
            assert report.ok, report.text
        print(f"{kind:15s} {times[0]:14.2f} {times[1]:20.2f} {times[1] / times[0]:6.2f}")


if __name__ == "__main__":
    main()
