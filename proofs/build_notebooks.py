"""Build and execute the derivation notebooks from their sources.

Run from anywhere::

    python proofs/build_notebooks.py            # every notebook
    python proofs/build_notebooks.py 03 05      # the notebooks whose names start so

``proofs/sources/NN_name.py`` defines ``CELLS``; this script writes
``proofs/NN_name.ipynb`` with those cells executed top to bottom in a fresh
kernel (nbclient), so the stored notebook carries its rendered outputs.
``tests/test_notebooks.py`` checks that every stored notebook matches its
source, has its outputs and no errors, and runs green again in a fresh kernel.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
TIMEOUT_SECONDS = 600  # per cell; the slowest cell today takes a few seconds


def sources() -> list[Path]:
    """The notebook sources, ``proofs/sources/NN_*.py``, in order."""
    return sorted(p for p in SOURCES.glob("[0-9][0-9]_*.py"))


def notebook_path(source: Path) -> Path:
    """Where the notebook built from ``source`` is stored."""
    return HERE / f"{source.stem}.ipynb"


def new_notebook(source: Path) -> nbformat.NotebookNode:
    """The unexecuted notebook defined by ``source`` (its ``CELLS``)."""
    sys.path.insert(0, str(SOURCES))
    try:
        cells = runpy.run_path(str(source))["CELLS"]
    finally:
        sys.path.remove(str(SOURCES))
    nb = nbformat.v4.new_notebook()
    # Deep copies, so that executing one notebook never touches the constants of another.
    nb.cells = [nbformat.from_dict(dict(c)) for c in cells]
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{k:02d}"  # stable ids keep rebuilt notebooks diff-friendly
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh kernel started in ``proofs/``; raise on an error."""
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_SECONDS,
        record_timing=False,  # no timestamps in the stored files: rebuilds diff cleanly
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _coalesce_streams(cell.outputs)
    return nb


def _coalesce_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks: how a kernel splits a stream varies by run."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and out.output_type == "stream"
            and prev.output_type == "stream"
            and prev.name == out.name
        ):
            prev.text += out.text
        else:
            merged.append(out)
    return merged


def build(source: Path) -> Path:
    """Execute the notebook of ``source`` and store it with its outputs."""
    nb = execute(new_notebook(source))
    out = notebook_path(source)
    nbformat.write(nb, out)
    return out


def main(argv: list[str]) -> int:
    chosen = [s for s in sources() if not argv or any(s.stem.startswith(a) for a in argv)]
    if not chosen:
        print(f"no notebook source matches {argv}", file=sys.stderr)
        return 2
    for source in chosen:
        print(f"wrote {build(source).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
