"""The documentation says what the code does: its examples run and print what they show."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_example_runs_and_its_error_bound_is_what_it_says() -> None:
    readme = (ROOT / "README.md").read_text()
    (block,) = [b for b in _python_blocks(readme) if "sq.solve(" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    stated = float(re.search(r"\(~(\S+) here\)", block).group(1))  # type: ignore[union-attr]
    bound = namespace["res"].error_bound  # type: ignore[attr-defined]
    # the float64 bound depends on the run (BLAS, threads): the README gives its order
    assert stated / 3 <= bound <= stated * 3, bound
