"""The golden catalog: structure, determinism, and accuracy of the shipped files."""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from softq_ref.io.catalog import CASES
from softq_ref.io.golden import FORMAT, VERSION, write_catalog
from softq_ref.mdp import FiniteMDP

import decimals


def test_catalog_index_lists_every_case_with_its_files(tmp_path: Path) -> None:
    index = json.loads(write_catalog(tmp_path, digits=20).read_text())
    assert index["format"] == FORMAT and index["version"] == VERSION and index["digits"] == 20
    assert [c["name"] for c in index["cases"]] == [c.name for c in CASES]
    for entry in index["cases"]:
        assert "0" in entry["alphas"]
        mdp = json.loads((tmp_path / entry["mdp"]).read_text())
        assert np.array(mdp["transitions"]).shape == (
            entry["states"],
            entry["actions"],
            entry["states"],
        )
        assert sorted(entry["solutions"]) == sorted(entry["alphas"])
        for fname in entry["solutions"].values():
            sol = json.loads((tmp_path / fname).read_text())
            assert len(sol["V"]) == entry["states"]


def test_catalog_mdp_files_denote_the_catalog_mdps_exactly(tmp_path: Path) -> None:
    write_catalog(tmp_path, digits=20)
    for case in CASES:
        data = json.loads((tmp_path / f"{case.name}.mdp.json").read_text())
        data.pop("termination")
        rebuilt = FiniteMDP(
            np.array(data.pop("transitions"), dtype=object),
            np.array(data.pop("rewards"), dtype=object),
            data.pop("gamma"),
            termination=case.build().termination,
            prior=None if "prior" not in data else np.array(data.pop("prior"), dtype=object),
        )
        original = case.build().exact
        assert (rebuilt.exact.transitions == original.transitions).all()
        assert (rebuilt.exact.rewards == original.rewards).all()
        assert rebuilt.exact.gamma == original.gamma


def test_catalog_regenerates_identical_bytes(tmp_path: Path) -> None:
    write_catalog(tmp_path / "a", digits=20)
    write_catalog(tmp_path / "b", digits=20)
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name


def _shipped() -> dict[str, Any]:
    from softq_ref.io.golden import load_catalog

    return load_catalog()


def test_shipped_catalog_is_up_to_date(tmp_path: Path) -> None:
    from importlib.resources import files

    index = _shipped()
    write_catalog(tmp_path, digits=index["digits"])
    shipped = files("softq_ref").joinpath("data/golden")
    for f in sorted(tmp_path.iterdir()):
        assert f.read_bytes() == shipped.joinpath(f.name).read_bytes(), f.name


def test_shipped_values_are_a_solve_at_30_more_digits_correctly_rounded() -> None:
    """Each shipped decimal is what a solve at 30 more digits gives, rounded half to even
    into the shipped format (or, where that finer printout sits within its own half unit
    of a boundary, within both bounds of it)."""
    from softq_ref.certified import solve_certified

    index = _shipped()
    shipped = files_golden()
    cases = {c.name: c for c in CASES}
    digits = index["digits"]
    for entry in index["cases"]:
        mdp = cases[entry["name"]].build()
        for alpha, fname in entry["solutions"].items():
            printed = json.loads(shipped.joinpath(fname).read_text())
            ref = solve_certified(mdp, Fraction(alpha), digits=digits + 30)
            assert ref.format is not None
            E = ref.format.E
            if printed["error_bound"] != "0":
                assert decimals.scale_exponent(printed["error_bound"], digits) == E
            for key in ("Q", "V", "policy"):
                got = np.ravel(np.array(printed[key], dtype=object))
                finer = np.ravel(np.array(ref.decimals[key], dtype=object))
                for p, r in zip(got, finer, strict=True):
                    want = decimals.correctly_rounded_from(r, digits, E)
                    if want is not None:
                        assert decimals.parse(p) == want, (fname, key, p, r)
                    else:
                        gap = abs(
                            decimals.to_fraction(decimals.parse(p))
                            - decimals.to_fraction(decimals.parse(r))
                        )
                        assert gap <= Fraction(printed["error_bound"]) + ref.error_bound


def files_golden() -> Any:
    from importlib.resources import files

    return files("softq_ref").joinpath("data/golden")


_REGENERATE = """
import sys
if sys.argv[2] == "no-flint":
    sys.modules["flint"] = None  # `import flint` fails: the mpmath back end only
from softq_ref.io.golden import write_catalog
write_catalog(sys.argv[1], digits=int(sys.argv[3]))
"""


@pytest.mark.parametrize(
    ("threads", "flint"),
    [("1", "flint"), ("2", "no-flint")],
    ids=["one-blas-thread", "without-python-flint"],
)
def test_catalog_bytes_do_not_depend_on_blas_threads_or_backend(
    tmp_path: Path, threads: str, flint: str
) -> None:
    """The shipped catalog is regenerated byte for byte in a fresh interpreter with one
    OpenBLAS thread, and with python-flint blocked (the mpmath back end)."""
    import os
    import subprocess

    index = _shipped()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
    subprocess.run(
        [sys.executable, "-c", _REGENERATE, str(tmp_path), flint, str(index["digits"])],
        check=True,
        env=env,
        timeout=600,
    )
    shipped = files_golden()
    names = sorted(f.name for f in tmp_path.iterdir())
    assert names == sorted(f.name for f in shipped.iterdir() if f.name.endswith(".json"))
    for name in names:
        assert (tmp_path / name).read_bytes() == shipped.joinpath(name).read_bytes(), name
