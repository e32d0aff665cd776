"""Benchmark: float64 ``solve`` against soft Q-iteration and pymdptoolbox's hard policy iteration.

Dense random MDPs (``P[s, a, :]`` uniform on the simplex-ish: uniform weights
normalised; ``R`` standard normal; seed 0), ``A = 10``, ``S`` in {10, 100,
1000}, ``gamma`` in {0.9, 0.99, 0.999}. All times are measured in this run
(wall clock on this machine's 2 cores; each method runs once to warm up,
then 9 times in a row, and the median is shown). The methods are timed in
blocks, not alternately: NumPy and SciPy each bring an OpenBLAS whose idle
threads spin for a while after a call, so alternating a SciPy-based solver with
a NumPy-based one would time their contention, not the solvers.

* ``solve``: :func:`softq_ref.solve` at ``alpha = 1`` (soft) and ``alpha = 0``,
  with its certified ``error_bound`` relative to ``max|Q*|``;
* ``soft QI``: :func:`softq_ref.soft_q_iteration` at ``alpha = 1`` until its
  a-posteriori estimate is ``<= 1e-12 * max|Q|`` (the issue's target accuracy).
  Runs longer than ``--qi-seconds`` are stopped and extrapolated from the
  measured time per sweep and the sweeps that the ``gamma^k`` rate needs; they
  are marked ``*``;
* ``PI (hard)``: ``mdptoolbox.mdp.PolicyIteration`` (the ``bench`` extra) on the
  same MDP in its ``(A, S, S)`` layout: the time users pay today for the hard
  problem.

Run: ``python benchmarks/bench_solve.py [--quick] [--qi-seconds 60]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from softq_ref import FiniteMDP, soft_q_iteration, solve


def random_mdp(S: int, A: int, gamma: float, seed: int = 0) -> FiniteMDP:
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    R = rng.standard_normal((S, A))
    return FiniteMDP(P, R, gamma)


def time_q_iteration(mdp: FiniteMDP, alpha: float, cap: float) -> tuple[float, bool]:
    """Seconds for soft QI to reach the target; extrapolated (True) past ``cap`` seconds."""
    g = mdp.gamma
    t0 = time.perf_counter()
    probe = soft_q_iteration(mdp, alpha, tol=1e-12, max_iterations=50)
    per_sweep = (time.perf_counter() - t0) / probe.iterations
    d = np.array(probe.residuals)
    scale = max(1.0, float(np.abs(probe.Q).max()))
    # sweeps needed: g/(1-g) * d0 * g^k <= 1e-12 * scale
    need = math.log(1e-12 * scale * (1 - g) / (g * d[0])) / math.log(g)
    if need * per_sweep > cap:
        return need * per_sweep, True
    t = time.perf_counter()
    soft_q_iteration(mdp, alpha, tol=1e-12)
    return time.perf_counter() - t, False


def hard_pi_runner(mdp: FiniteMDP):
    """A function that runs pymdptoolbox's hard PolicyIteration on ``mdp``, or None."""
    try:
        import mdptoolbox.mdp
    except ImportError:
        return None
    P = np.ascontiguousarray(mdp.transitions.transpose(1, 0, 2))
    R = np.asarray(mdp.rewards)

    def run() -> object:
        pi = mdptoolbox.mdp.PolicyIteration(P, R, mdp.gamma)
        pi.run()
        return pi

    return run


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median seconds of ``repeats`` runs of ``fn`` after one warm-up run, and its result."""
    out = fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="S in {10, 100} only")
    ap.add_argument("--qi-seconds", type=float, default=60.0, help="cap on one soft QI run")
    args = ap.parse_args()
    sizes = [10, 100] if args.quick else [10, 100, 1000]
    header = (
        f"{'S':>5} {'gamma':>6} | {'solve a=1':>10} {'bound/|Q|':>9} {'solve a=0':>10} | "
        f"{'soft QI':>10} {'QI/solve':>9} | {'PI (hard)':>10} {'solve/PI':>8}"
    )
    print(header)
    print("-" * len(header))
    for S in sizes:
        for g in (0.9, 0.99, 0.999):
            mdp = random_mdp(S, 10, g)
            reps = 9
            t_soft, res = timed(lambda mdp=mdp: solve(mdp, 1.0), reps)
            t_hard, _ = timed(lambda mdp=mdp: solve(mdp, 0.0), reps)
            pi_run = hard_pi_runner(mdp)
            t_pi = timed(pi_run, reps)[0] if pi_run else None
            rel = res.error_bound / max(1.0, float(np.abs(res.Q).max()))
            t_qi, extrapolated = time_q_iteration(mdp, 1.0, args.qi_seconds)
            pi_txt = f"{t_pi:10.4f} {t_soft / t_pi:8.2f}" if t_pi else f"{'n/a':>10} {'':>8}"
            star = "*" if extrapolated else " "
            print(
                f"{S:>5} {g:>6} | {t_soft:10.4f} {rel:9.1e} {t_hard:10.4f} | "
                f"{t_qi:9.3f}{star} {t_qi / t_soft:9.0f} | {pi_txt}"
            )
    print("times in seconds (median); * = extrapolated from the measured time per sweep")


if __name__ == "__main__":
    main()
