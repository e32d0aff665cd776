"""Benchmark: a certified solve against one mpmath linear solve of the same size.

For S in {10, 50, 200}, A = 5 and D in {30, 100, 1000} digits this prints the
time of :func:`softq_ref.solve_certified` (each available back end) and the
time of one ``mpmath.mp.lu_solve`` of an S x S system at D digits, measured in
the same run, and their ratio (issue 3's target: at most 4; S = 50, D = 50
under 1 s). One ``lu_solve`` whose predicted time (from the S = 50 cell,
scaled by S**3) exceeds ``--max-lu-seconds`` is not run but extrapolated, and
marked so.

Run: ``PYTHONPATH=. python benchmarks/bench_certified.py`` (about 10 minutes).

``--baseline DIR`` also times the certified solve of another checkout of the
package (a directory holding ``softq_ref/``, e.g. a ``git worktree`` of an
older commit) on the same MDPs, in the same run: each cell runs the baseline
and this tree in fresh interpreters, alternately, and prints the best time of
each and their ratio (``new / base``). Issue 10 used it to measure the cost of
correct rounding.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

# One BLAS thread: the float64 solves are small (S <= 200), and on a shared machine
# OpenBLAS's threads make a 200 x 200 inverse take 60 ms instead of 2 ms.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from mpmath import mp  # noqa: E402

from softq_ref import FiniteMDP  # noqa: E402
from softq_ref.certified import solve_certified  # noqa: E402


def flint_available() -> bool:
    """Whether python-flint is installed (found without importing a module of the package,
    so that ``--baseline`` works with a checkout of any layout)."""
    import importlib.util

    return importlib.util.find_spec("flint") is not None


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
    return time.perf_counter() - t, getattr(sol, "newton_steps", sol.iterations)


def time_in_child(tree: str, S: int, D: int, backend: str) -> float:
    """Seconds of one certified solve (after a warm-up) with the package found in ``tree``."""
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(S), str(D), backend],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.split()[-1])


def compare(baseline: str, cells: list[tuple[int, int]], backends: list[str], repeats: int) -> None:
    """The certified solve of ``baseline`` against this tree's, alternately, best of ``repeats``."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    head = f"{'S':>4} {'D':>5} |"
    for be in backends:
        head += f" {be + ' base s':>14} {'new s':>8} {'new/base':>8} |"
    print(head)
    print("-" * len(head))
    for S, D in cells:
        row = f"{S:>4} {D:>5} |"
        for be in backends:
            base, new = [], []
            for _ in range(repeats):
                base.append(time_in_child(baseline, S, D, be))
                new.append(time_in_child(here, S, D, be))
            row += f" {min(base):>14.3f} {min(new):>8.3f} {min(new) / min(base):>8.2f} |"
        print(row, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    ap.add_argument("--digits", type=int, nargs="+", default=[30, 100, 1000])
    ap.add_argument("--max-lu-seconds", type=float, default=120.0)
    ap.add_argument("--backends", nargs="+", default=None)
    ap.add_argument("--baseline", metavar="DIR", help="compare with the package in DIR")
    ap.add_argument("--repeats", type=int, default=3, help="runs per cell with --baseline")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    backends = args.backends or (["flint", "mpmath"] if flint_available() else ["mpmath"])
    A = 5
    if args.child:
        S, D, be = int(args.child[0]), int(args.child[1]), args.child[2]
        solve_certified(random_mdp(3, 2), 1.0, digits=20, backend=be)  # warm-up
        print(time_certified(random_mdp(S, A), D, be)[0])
        return
    if args.baseline:
        cells = [(S, D) for S in args.sizes for D in args.digits] + [(50, 50)]
        compare(args.baseline, cells, backends, args.repeats)
        return
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
