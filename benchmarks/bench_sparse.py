"""Benchmark: float64 ``solve`` on sparse gridworlds, against soft Q-iteration and hard PI.

Gridworlds from :func:`softq_ref.io.gridworld` (``n x n`` cells, no walls, 4
actions, slip 0.1, step reward -1, goal reward 10 in the bottom-right corner,
which ends the episode), ``alpha = 0.1``, ``gamma = 0.99``; ``P`` is CSR with at
most 3 successors per ``(s, a)``. All numbers are measured in this run, each
measurement in a fresh child process (so its peak memory is its own):

* ``solve``: :func:`softq_ref.solve` with ``linear_solver="auto"`` (the path it
  took is shown: ``splu`` = sparse LU whose factors are kept as GMRES's
  preconditioner on later Newton matrices, ``ilu`` = inexact Newton with GMRES
  and an incomplete LU), one run after a warm-up on small grids; ``bound/max|Q|``
  is its certified ``error_bound`` relative to ``max|Q|``; ``peak`` is the
  child's peak resident memory (``ru_maxrss``: Python, NumPy, SciPy, building
  the MDP and solving; SuperLU's allocations are invisible to ``tracemalloc``),
  ``base`` the child's resident memory once the MDP is built, before solving.
* ``soft QI``: plain sparse soft Q-iteration, ``Q <- R + gamma P V_Q`` with
  ``V_Q = alpha logsumexp(Q / alpha)`` (a SciPy CSR product and
  ``scipy.special.logsumexp``), "to the same accuracy": it stops when its own
  a-posteriori bound ``gamma / (1 - gamma) max|Q_{k+1} - Q_k|`` (the contraction
  bound on ``|Q_{k+1} - Q*|``) is at most the ``error_bound`` that ``solve``
  proved on the same MDP in this run, or when that bound has not shrunk for 50
  sweeps (the float64 floor of Q-iteration: each sweep's rounding, about
  ``eps max|Q|``, divided by ``1 - gamma``). The iterate it stops at is then
  certified by :func:`softq_ref.float64.certify` (not timed): ``QI bound`` is
  what it really achieved, so the accuracy can be compared. Runs longer than
  ``--qi-seconds`` are stopped and extrapolated from the measured time per
  sweep and the sweeps that the ``gamma^k`` rate needs; they are marked ``*``.
* ``PI (hard)``: ``mdptoolbox.mdp.PolicyIteration`` (the ``bench`` extra;
  ``n/a`` without it) on the same gridworld given as pymdptoolbox's list of
  ``A`` sparse ``(S+1, S+1)`` matrices, with ``alpha = 0`` (the hard problem it
  solves). pymdptoolbox needs stochastic rows, so the goal's actions lead to an
  added absorbing state with reward 0, which is the same MDP. Its policy
  evaluation densifies ``P_pi`` (``S x S`` float64) and calls
  ``numpy.linalg.solve``; it is run only where that fits in ``--pi-gib`` GiB,
  and stopped after ``--pi-seconds`` (then ``>`` the time waited is shown, and
  ``solve/PI`` is an upper bound). It stops when its policy is unchanged; on
  these gridworlds tied actions (equal in exact arithmetic) flip with the
  rounding of each evaluation, so it may run to its ``max_iter = 1000``
  (marked ``m``).

Run: ``python benchmarks/bench_sparse.py [--sizes 100 300 1000] [--qi-seconds 120]``.
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


def child_solve(n: int) -> dict[str, float | str]:
    from softq_ref import solve

    for path in ("splu", "ilu"):  # warm-up: imports, first SuperLU calls
        solve(_mdp(20), ALPHA, linear_solver=path)
    t = time.perf_counter()
    mdp = _mdp(n)
    build = time.perf_counter() - t
    base = _current_rss_mib()
    t = time.perf_counter()
    r = solve(mdp, ALPHA)
    seconds = time.perf_counter() - t
    np.save(f"/tmp/bench_sparse_Q_{n}.npy", r.Q)
    path = "ilu" if "ILU" in r.method else "splu" if "sparse LU" in r.method else "dense"
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
        "path": path,
        "success": int(r.success),
    }


def child_qi(n: int, target: float, cap: float) -> dict[str, float]:
    from scipy.special import logsumexp

    from softq_ref.float64 import certify

    mdp = _mdp(n)
    P, R, A = mdp.transitions, mdp.rewards, mdp.num_actions
    S = mdp.num_states
    Q = np.zeros((S, A))
    factor = GAMMA / (1 - GAMMA)
    t = time.perf_counter()
    sweeps, first, best, best_at = 0, None, math.inf, 0
    while True:
        V = ALPHA * logsumexp(Q / ALPHA, axis=1)
        Qn = R + GAMMA * (P @ V).reshape(S, A)
        delta = float(np.abs(Qn - Q).max())
        Q, sweeps = Qn, sweeps + 1
        first = delta if first is None else first
        if delta < best:
            best, best_at = delta, sweeps
        elapsed = time.perf_counter() - t
        floor = sweeps - best_at >= 50
        if factor * delta <= target or floor:
            err = float(np.abs(Q - np.load(f"/tmp/bench_sparse_Q_{n}.npy")).max())
            return {
                "seconds": elapsed,
                "sweeps": sweeps,
                "extrapolated": 0,
                "floor": int(floor),
                "error": err,
                "qi_bound": certify(mdp, Q, ALPHA).q_bound,
                "peak": _rss_mib(),
            }
        if elapsed > cap:
            # sweeps needed: factor * first * gamma^(k-1) <= target
            need = 1 + math.log(target / (factor * first)) / math.log(GAMMA)
            return {
                "seconds": elapsed / sweeps * need,
                "sweeps": need,
                "extrapolated": 1,
                "floor": 0,
                "error": math.nan,
                "qi_bound": math.nan,
                "peak": _rss_mib(),
            }


def child_pi(n: int) -> dict[str, float]:
    """pymdptoolbox's hard PolicyIteration on the gridworld, plus an absorbing state."""
    import mdptoolbox.mdp
    import scipy.sparse as sp

    mdp = _mdp(n)
    A = mdp.num_actions
    P2 = mdp.transitions.tocsr()
    lost = 1.0 - np.asarray(P2.sum(axis=1)).ravel()  # the mass that terminates
    mats = []
    for a in range(A):
        rows = P2[a::A]  # (S, S): row s is P[s, a, :]
        block = sp.csr_matrix(
            sp.block_array([[rows, sp.csr_array(lost[a::A, None])], [None, sp.csr_array([[1.0]])]])
        )
        mats.append(block)
    R = np.vstack([mdp.rewards, np.zeros((1, A))])
    t = time.perf_counter()
    pi = mdptoolbox.mdp.PolicyIteration(mats, R, GAMMA)
    pi.run()
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "iterations": pi.iter, "max_iter": pi.max_iter, "peak": _rss_mib()}


def _run(*args: str, timeout: float | None = None) -> dict[str, float] | None:
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(out.stdout)


def _pi_column(n: int, states: int, args: argparse.Namespace, solve_s: float) -> str:
    try:
        import mdptoolbox  # noqa: F401
    except ImportError:
        return f"{'n/a':>10} {'':>8}"
    need_gib = 3 * 8 * (states + 1) ** 2 / 2**30  # P_pi, I - gamma P_pi and LAPACK's copy
    if need_gib > args.pi_gib:
        return f"{f'{need_gib:.0f}GiB':>10} {'':>8}"
    p = _run("pi", str(n), timeout=args.pi_seconds)
    if p is None:
        return f"{f'>{args.pi_seconds:.0f}':>10} {f'<{solve_s / args.pi_seconds:.3f}':>8}"
    mark = "m" if p["iterations"] >= p["max_iter"] else " "
    return f"{p['seconds']:>9.1f}{mark} {solve_s / p['seconds']:>8.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--qi-seconds", type=float, default=120.0)
    ap.add_argument("--pi-seconds", type=float, default=300.0)
    ap.add_argument("--pi-gib", type=float, default=4.0, help="largest dense P_pi for PI")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, n = args.child[0], int(args.child[1])
        if kind == "solve":
            print(json.dumps(child_solve(n)))
        elif kind == "pi":
            print(json.dumps(child_pi(n)))
        else:
            print(json.dumps(child_qi(n, float(args.child[2]), float(args.child[3]))))
        return
    print(f"sparse gridworlds, slip {SLIP}, alpha {ALPHA}, gamma {GAMMA}, 4 actions")
    head = (
        f"{'grid':>9} {'states':>7} {'nnz':>8} {'path':>5} {'Newton':>6} {'solve s':>8} "
        f"{'base MiB':>8} {'peak MiB':>8} {'bound/max|Q|':>13} | {'soft QI s':>10} {'QI sweeps':>10} "
        f"{'QI bound':>9} {'QI/solve':>9} | {'PI hard s':>10} {'solve/PI':>8}"
    )
    print(head)
    for n in args.sizes:
        s = _run("solve", str(n))
        assert s is not None
        q = _run("qi", str(n), repr(s["bound"]), repr(args.qi_seconds))
        assert q is not None
        mark = "*" if q["extrapolated"] else "f" if q["floor"] else " "
        pi_txt = _pi_column(n, int(s["states"]), args, float(s["seconds"]))
        ok = "" if s["success"] else " (not converged)"
        print(
            f"{f'{n}x{n}':>9} {s['states']:>7} {s['nnz']:>8} {s['path']:>5} {s['newton']:>6} "
            f"{s['seconds']:>8.2f} {s['base']:>8.0f} {s['peak']:>8.0f} {s['relative']:>13.1e} | "
            f"{q['seconds']:>9.1f}{mark} {q['sweeps']:>10.0f} {q['qi_bound']:>9.1e} "
            f"{q['seconds'] / s['seconds']:>8.1f}x | {pi_txt}{ok}".rstrip(),
            flush=True,
        )
    print("QI: * extrapolated from the time per sweep; f stopped at its float64 floor")
    print("PI: GiB = the dense P_pi it would need (not run); >t = stopped after t seconds;")
    print("    m = stopped at its max_iter (1000) with the policy still changing")


if __name__ == "__main__":
    main()
