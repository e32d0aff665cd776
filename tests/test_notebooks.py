"""The derivation notebooks in ``proofs/``: stored with their outputs, up to date with
their sources, indexed in ``proofs/README.md``, and green when run again from scratch,
printing exactly the outputs stored (which the documentation site renders unexecuted).

Each notebook ends its derivations with checks that raise if a step is wrong, so
executing it in a fresh kernel is the test of what it proves.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import nbformat
import pytest

PROOFS = Path(__file__).resolve().parent.parent / "proofs"

_spec = importlib.util.spec_from_file_location("build_notebooks", PROOFS / "build_notebooks.py")
assert _spec is not None and _spec.loader is not None
build_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_notebooks)

SOURCES = build_notebooks.sources()
IDS = [s.stem for s in SOURCES]


def _stored(source: Path) -> nbformat.NotebookNode:
    return nbformat.read(build_notebooks.notebook_path(source), as_version=4)


def test_every_stored_notebook_has_a_source() -> None:
    stored = sorted(p.stem for p in PROOFS.glob("*.ipynb"))
    assert stored == IDS


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_stored_notebook_matches_its_source(source: Path) -> None:
    built = build_notebooks.new_notebook(source)
    stored = _stored(source)
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in built.cells
    ], f"{source.stem}.ipynb is stale: run python proofs/build_notebooks.py {source.stem[:2]}"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_stored_notebook_is_executed_in_order_without_errors(source: Path) -> None:
    nb = _stored(source)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code_cells] == list(range(1, len(code_cells) + 1))
    for k, cell in enumerate(code_cells):
        for out in cell.outputs:
            assert out.output_type != "error", f"code cell {k} stored an error: {out.get('ename')}"
            is_stderr = out.output_type == "stream" and out.name == "stderr"
            assert not is_stderr, f"code cell {k} printed to stderr: {out.text[:200]!r}"
    # A reader opening the file sees rendered results, not bare code.
    assert sum(len(c.outputs) for c in code_cells) >= 1


def _shown(nb: nbformat.NotebookNode) -> list[list[object]]:
    """What each code cell shows: its streams and its text, LaTeX and HTML outputs, exactly;
    an image by its type only (its bytes depend on the matplotlib and font versions)."""
    shown = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs: list[object] = []
        for out in cell.outputs:
            if out.output_type == "stream":
                outs.append((out.name, out.text))
            elif "data" in out:
                outs.append(
                    {k: ("<image>" if k.startswith("image/") else v) for k, v in out.data.items()}
                )
            else:
                outs.append(out.output_type)
        shown.append(outs)
    return shown


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_notebook_runs_green_in_a_fresh_kernel_and_shows_what_is_stored(source: Path) -> None:
    """The stored outputs (what GitHub and the documentation site show) cannot go stale:
    running the notebook again must print exactly them."""
    stored = _stored(source)
    nb = copy.deepcopy(stored)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    build_notebooks.execute(nb)  # raises CellExecutionError on any failing cell
    fresh, kept = _shown(nb), _shown(stored)
    stale = [k for k, (a, b) in enumerate(zip(fresh, kept, strict=True)) if a != b]
    assert not stale, (
        f"{source.stem}.ipynb: the stored outputs of code cells {stale} differ from a fresh "
        f"run, e.g. stored {str(kept[stale[0]])[:300]} but ran {str(fresh[stale[0]])[:300]}; "
        f"run python proofs/build_notebooks.py {source.stem[:2]}"
    )


def test_readme_indexes_every_notebook() -> None:
    index = (PROOFS / "README.md").read_text(encoding="utf-8")
    missing = [f"{stem}.ipynb" for stem in IDS if f"{stem}.ipynb" not in index]
    assert not missing, f"proofs/README.md does not list {missing}"
