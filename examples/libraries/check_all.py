"""Run the conformance kit on every library client here and print the table of docs/conformance.md.

Run from the repository root, in an environment that has the libraries (never the
project's own: they are not dependencies), for example:

    python -m venv /tmp/venv-reallibs
    /tmp/venv-reallibs/bin/pip install -e . torch==2.13.0 msdm==0.11 pymdptoolbox==4.0b3 \
        bettermdptools==0.9.0 imitation==1.0.1 irl-maxent==0.1.0 rlax==0.1.9
    /tmp/venv-reallibs/bin/python examples/libraries/check_all.py [OUTDIR]

Each check runs as ``python -m softq_ref.conformance CLIENT:FUNCTION --kind ... --seed 0``
(the same as ``softq-ref check``); the full reports are written to OUTDIR (default
``./softq-libraries/``), one ``<label>.txt`` each, and the counterexamples beside them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path("examples/libraries")  # run from the repository root

TIMEOUT = 1800  # seconds per check

#: (label, distribution whose version is shown, client:function and options)
CHECKS = [
    ("msdm-correct", "msdm", "msdm_client.py:soft_q --kind solver"),
    ("msdm-defaults", "msdm", "msdm_client.py:soft_q_defaults --kind solver"),
    ("msdm-early-stop", "msdm", "msdm_client.py:soft_q_early_stop --kind solver"),
    ("msdm-float32-alpha", "msdm", "msdm_client.py:soft_q_float32_alpha --kind solver"),
    (
        "pymdptoolbox-pi",
        "pymdptoolbox",
        "pymdptoolbox_client.py:policy_iteration_v --kind value-solver --alpha 0 --gamma-min 0.01",
    ),
    (
        "pymdptoolbox-pi-gamma-0",
        "pymdptoolbox",
        "pymdptoolbox_client.py:policy_iteration_v --kind value-solver --alpha 0",
    ),
    (
        "pymdptoolbox-pi-soft",
        "pymdptoolbox",
        "pymdptoolbox_client.py:policy_iteration_v --kind value-solver",
    ),
    (
        "pymdptoolbox-vi",
        "pymdptoolbox",
        "pymdptoolbox_client.py:value_iteration_v --kind value-solver --alpha 0 --gamma-min 0.01",
    ),
    (
        "pymdptoolbox-vi-1e-12",
        "pymdptoolbox",
        "pymdptoolbox_client.py:value_iteration_q_tight --kind solver --alpha 0 --gamma-min 0.01",
    ),
    (
        "bettermdptools-correct",
        "bettermdptools",
        "bettermdptools_client.py:value_iteration_v --kind value-solver --alpha 0",
    ),
    (
        "bettermdptools-defaults",
        "bettermdptools",
        "bettermdptools_client.py:value_iteration_v_defaults --kind value-solver --alpha 0",
    ),
    (
        "bettermdptools-theta",
        "bettermdptools",
        "bettermdptools_client.py:value_iteration_v_theta --kind value-solver --alpha 0",
    ),
    (
        "imitation",
        "imitation",
        "imitation_client.py:soft_q_horizon --kind horizon-solver --rewards state",
    ),
    (
        "imitation-sa-rewards",
        "imitation",
        "imitation_client.py:soft_q_horizon --kind horizon-solver",
    ),
    (
        "irl-maxent-correct",
        "irl-maxent",
        "irl_maxent_client.py:soft_policy --kind policy-solver --rewards state",
    ),
    (
        "irl-maxent-defaults",
        "irl-maxent",
        "irl_maxent_client.py:soft_policy_defaults --kind policy-solver --rewards state",
    ),
    ("rlax-policy", "rlax", "rlax_client.py:soft_policy --kind policy"),
    ("rlax-value", "rlax", "rlax_client.py:soft_value --kind value"),
    ("rlax-no-x64", "rlax", "rlax_client_f32.py:soft_value --kind value"),
    ("torch-numpy", "torch", "torch_client.py:soft_value_torch --kind value"),
    ("torch-tensors", "torch", "torch_client.py:soft_value_torch --kind value --array torch"),
    ("torch-value", "torch", "torch_client.py:soft_value --kind value"),
    ("torch-policy", "torch", "torch_client.py:soft_policy --kind policy"),
]


def _block(report: str, prefix: str) -> str:
    """The report's part that starts with ``prefix``, up to the next unindented line, joined."""
    lines = report.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            rest = []
            for x in lines[i + 1 :]:
                if not x.startswith(" "):
                    break
                rest.append(x.strip())
            return " ".join([line[len(prefix) :].strip(), *rest])
    return ""


def main(outdir: str = "softq-libraries") -> None:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    print("| check | library | command | verdict | diagnosis |")
    print("| --- | --- | --- | --- | --- |")
    for label, dist, args in CHECKS:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "not installed"
        target, *options = args.split()
        cmd = [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "softq_ref.conformance",
            str(HERE / target),
            *options,
        ]
        cmd += ["--seed", "0", "--save-dir", str(out / "failures")]
        start = time.perf_counter()
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"| {label} | {dist} {version} | `{args}` | no verdict after {TIMEOUT} s | |")
            continue
        seconds = time.perf_counter() - start
        report = run.stdout + run.stderr
        (out / f"{label}.txt").write_text(" ".join(cmd) + "\n\n" + report)
        verdict = {0: "conforms", 1: "fails", 2: "cannot run"}.get(
            run.returncode, f"exit {run.returncode}"
        )
        problem = _block(report, "problem:").split(" worst entry")[0].rstrip(",")
        diagnosis = _block(report, "diagnosis:") or (report.strip().splitlines() or [""])[0]
        shown = f"softq-ref check examples/libraries/{args}"
        text = diagnosis if run.returncode else _block(report, "  largest |got - expected| was")
        if not run.returncode:
            text = f"largest error {text.split(' (rtol')[0]}"
        if problem and run.returncode == 1:
            text = f"{problem}; {diagnosis}"
        print(f"| {label} | {dist} {version} | `{shown}` | {verdict} ({seconds:.0f} s) | {text} |")


if __name__ == "__main__":
    main(*sys.argv[1:2])
