"""Every public example in the package's docstrings runs and gives what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import softq_ref

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(softq_ref.__path__, "softq_ref.")
    if not m.name.endswith(".__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_importing_the_package_loads_no_optional_or_heavy_dependency():
    import subprocess
    import sys

    code = (
        "import sys, softq_ref; heavy = [m for m in ('sympy', 'mpmath', 'hypothesis', 'scipy', "
        "'matplotlib', 'flint', 'gymnasium', 'mdptoolbox') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
