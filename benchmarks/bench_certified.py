"""Benchmark: a certified solve against one mpmath linear solve of the same size.

For S in {10, 50, 200}, A = 5 and D in {30, 100, 1000} digits this prints the
time of :func:`softq_ref.solve_certified` (each available back end) and the
time of one ``mpmath.mp.lu_solve`` of an S x S system at D digits, measured in
the same run, and their ratio (issue 3's target: at most 4; S = 50, D = 50
under 1 s). One ``lu_solve`` whose predicted time (from the S = 50 cell,
scaled by S**3) exceeds ``--max-lu-seconds`` is not run but extrapolated, and
marked so.

Run: ``PYTHONPATH=. python benchmarks/bench_certified.py`` (about 10 minutes).
"""

from __future__ import annotations

import argparse
import os
import time

# One BLAS thread: the float64 solves are small (S <= 200), and on a shared machine
# OpenBLAS's threads make a 200 x 200 inverse take 60 ms instead of 2 ms.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from mpmath import mp  # noqa: E402

from softq_ref import FiniteMDP  # noqa: E402
from softq_ref.certified import solve_certified  # noqa: E402
from softq_ref.certified.arith import flint_available  # noqa: E402


def random_mdp(S: int, A: int, seed: int = 0) -> FiniteMDP:
    """Dense random transitions (float64 rows), standard normal rewards, gamma = 0.9."""
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    return FiniteMDP(P, rng.standard_normal((S, A)), 0.9)


def time_lu_solve(S: int, D: int, seed: int = 0) -> float:
    """Seconds for one ``mp.lu_solve`` of ``(I - 0.9 P) x = b`` (S x S) at D digits."""
    rng = np.random.default_rng(seed)
    P = rng.random((S, S))
    P /= P.sum(axis=1, keepdims=True)
    M = np.eye(S) - 0.9 * P
    with mp.workdps(D):
        Mm = mp.matrix([[mp.mpf(float(x)) for x in row] for row in M])
        b = mp.matrix([mp.mpf(float(x)) for x in rng.standard_normal(S)])
        t = time.perf_counter()
        mp.lu_solve(Mm, b)
        return time.perf_counter() - t


def time_certified(mdp: FiniteMDP, D: int, backend: str) -> tuple[float, int]:
    t = time.perf_counter()
    sol = solve_certified(mdp, 1.0, digits=D, backend=backend)
    return time.perf_counter() - t, sol.iterations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    ap.add_argument("--digits", type=int, nargs="+", default=[30, 100, 1000])
    ap.add_argument("--max-lu-seconds", type=float, default=120.0)
    ap.add_argument("--backends", nargs="+", default=None)
    args = ap.parse_args()
    backends = args.backends or (["flint", "mpmath"] if flint_available() else ["mpmath"])
    A = 5
    # warm up imports (flint, sympy, the float64 solver) outside the timings
    solve_certified(random_mdp(3, 2), 1.0, digits=20, backend=backends[0])

    head = f"{'S':>4} {'A':>2} {'D':>5} | {'lu_solve s':>12} |"
    for be in backends:
        head += f" {be + ' s':>10} {'ratio':>7} {'iters':>5} |"
    print(head)
    print("-" * len(head))
    lu_at_50: dict[int, float] = {}
    extrapolated = False
    cells = [(S, D) for S in args.sizes for D in args.digits] + [(50, 50)]
    for S, D in cells:
        mdp = random_mdp(S, A)
        mark = ""
        predicted = lu_at_50.get(D, 0.0) * (S / 50) ** 3 if S > 50 else 0.0
        if predicted > args.max_lu_seconds:
            t_lu, mark = predicted, "*"
            extrapolated = True
        else:
            t_lu = time_lu_solve(S, D)
        if S == 50:
            lu_at_50[D] = t_lu
        row = f"{S:>4} {A:>2} {D:>5} | {t_lu:>11.3f}{mark or ' '} |"
        for be in backends:
            t, it = time_certified(mdp, D, be)
            row += f" {t:>10.3f} {t / t_lu:>7.2f} {it:>5} |"
        print(row, flush=True)
    if extrapolated:
        print("* extrapolated from the S = 50 cell as t * (S / 50)**3 (not measured)")


if __name__ == "__main__":
    main()
