"""Benchmark: float64 ``solve`` on sparse gridworlds against plain sparse soft Q-iteration.

Gridworlds from :func:`softq_ref.io.gridworld` (``n x n`` cells, no walls, 4
actions, slip 0.1, step reward -1, goal reward 10 in the bottom-right corner,
which ends the episode), ``alpha = 0.1``, ``gamma = 0.99``; ``P`` is CSR with at
most 3 successors per ``(s, a)``. All numbers are measured in this run, each
measurement in a fresh child process (so its peak memory is its own):

* ``solve``: :func:`softq_ref.solve` (Newton with sparse LU, extended-precision
  refinement, certified bound), one run after a warm-up on a 10 x 10 grid;
  ``bound / max|Q*|`` is its certified ``error_bound`` relative to ``max|Q|``;
* ``soft QI``: a plain sparse soft Q-iteration, ``Q <- R + gamma P V_Q`` with
  ``V_Q = alpha logsumexp(Q / alpha)`` (SciPy CSR product, ``scipy.special.logsumexp``),
  run until its a-posteriori estimate ``gamma / (1 - gamma) max|Q_{k+1} - Q_k|``
  is at most the ``error_bound`` that ``solve`` proved on the same MDP in the same
  run (the same accuracy). Runs longer than ``--qi-seconds`` are stopped and
  extrapolated from the measured time per sweep and the sweeps that the
  ``gamma^k`` rate needs; they are marked ``*``. ``|Q_QI - Q_solve|`` is shown
  for the runs that finish.
* ``peak RSS``: the child's peak resident memory (``ru_maxrss``: Python, NumPy,
  SciPy and the MDP included; SuperLU's allocations are invisible to
  ``tracemalloc``, so the process's peak is what is reported), and ``base``, the
  child's resident memory after building the MDP, before solving.

Run: ``python benchmarks/bench_sparse.py [--sizes 100 300] [--qi-seconds 120]``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time

import numpy as np

ALPHA, GAMMA, SLIP = 0.1, 0.99, 0.1


def _mdp(n: int):  # noqa: ANN202 - a FiniteMDP
    from softq_ref.io import gridworld

    return gridworld(n, n, slip=SLIP, step_reward=-1.0, goal_reward=10.0, gamma=GAMMA)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def child_solve(n: int) -> dict[str, float]:
    from softq_ref import solve

    solve(_mdp(10), ALPHA)  # warm-up: imports, first SuperLU call
    t = time.perf_counter()
    mdp = _mdp(n)
    build = time.perf_counter() - t
    base = _current_rss_mib()
    t = time.perf_counter()
    r = solve(mdp, ALPHA)
    seconds = time.perf_counter() - t
    np.save(f"/tmp/bench_sparse_Q_{n}.npy", r.Q)
    return {
        "states": mdp.num_states,
        "nnz": int(mdp.transitions.nnz),
        "build": build,
        "seconds": seconds,
        "base": base,
        "peak": _rss_mib(),
        "bound": r.error_bound,
        "relative": r.error_bound / max(1.0, float(np.abs(r.Q).max())),
        "newton": r.iterations,
    }


def child_qi(n: int, target: float, cap: float) -> dict[str, float]:
    from scipy.special import logsumexp

    mdp = _mdp(n)
    P, R, A = mdp.transitions, mdp.rewards, mdp.num_actions
    S = mdp.num_states
    base = _current_rss_mib()
    Q = np.zeros((S, A))
    factor = GAMMA / (1 - GAMMA)
    t = time.perf_counter()
    sweeps, first = 0, None
    while True:
        V = ALPHA * logsumexp(Q / ALPHA, axis=1)
        Qn = R + GAMMA * (P @ V).reshape(S, A)
        delta = float(np.abs(Qn - Q).max())
        Q, sweeps = Qn, sweeps + 1
        first = delta if first is None else first
        elapsed = time.perf_counter() - t
        if factor * delta <= target:
            err = float(np.abs(Q - np.load(f"/tmp/bench_sparse_Q_{n}.npy")).max())
            return {
                "seconds": elapsed,
                "sweeps": sweeps,
                "extrapolated": 0,
                "error": err,
                "base": base,
                "peak": _rss_mib(),
            }
        if elapsed > cap:
            # sweeps needed: factor * first * gamma^(k-1) <= target
            need = 1 + math.log(target / (factor * first)) / math.log(GAMMA)
            return {
                "seconds": elapsed / sweeps * need,
                "sweeps": need,
                "extrapolated": 1,
                "error": math.nan,
                "base": base,
                "peak": _rss_mib(),
            }


def _run(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300])
    ap.add_argument("--qi-seconds", type=float, default=120.0)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, n = args.child[0], int(args.child[1])
        if kind == "solve":
            print(json.dumps(child_solve(n)))
        else:
            print(json.dumps(child_qi(n, float(args.child[2]), float(args.child[3]))))
        return
    print(f"sparse gridworlds, slip {SLIP}, alpha {ALPHA}, gamma {GAMMA}, 4 actions")
    head = (
        f"{'grid':>9} {'states':>7} {'nnz':>8} {'build s':>8} {'solve s':>8} {'peak MiB':>9} "
        f"{'base MiB':>9} {'bound/max|Q|':>13} {'soft QI s':>10} {'QI sweeps':>10} "
        f"{'QI peak':>8} {'|Q_QI-Q|':>9} {'QI/solve':>9}"
    )
    print(head)
    for n in args.sizes:
        s = _run("solve", str(n))
        q = _run("qi", str(n), repr(s["bound"]), repr(args.qi_seconds))
        mark = "*" if q["extrapolated"] else " "
        print(
            f"{f'{n}x{n}':>9} {s['states']:>7} {s['nnz']:>8} {s['build']:>8.2f} "
            f"{s['seconds']:>8.2f} {s['peak']:>9.0f} {s['base']:>9.0f} {s['relative']:>13.1e} "
            f"{q['seconds']:>9.1f}{mark} {q['sweeps']:>10.0f} {q['peak']:>8.0f} "
            f"{q['error']:>9.1e} {q['seconds'] / s['seconds']:>8.1f}x",
            flush=True,
        )
    print("* extrapolated from the time per sweep (see the docstring)")


if __name__ == "__main__":
    main()
