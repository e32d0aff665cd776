"""Cell constructors shared by the notebook sources in this directory.

Each ``NN_name.py`` here defines ``CELLS``, the list of cells of
``proofs/NN_name.ipynb``; ``proofs/build_notebooks.py`` turns it into the stored,
executed notebook and ``tests/test_notebooks.py`` checks the two agree.
"""

from __future__ import annotations

import nbformat

md = nbformat.v4.new_markdown_cell
code = nbformat.v4.new_code_cell

# The first code cell of every notebook: import softq_ref from this checkout,
# wherever the notebook is executed from (an installed package works as well).
SETUP = code(
    """import sys
from pathlib import Path

# Import softq_ref from this checkout, wherever the notebook is executed from.
for parent in [Path.cwd(), *Path.cwd().parents]:
    if (parent / "softq_ref" / "__init__.py").exists():
        sys.path.insert(0, str(parent))
        break"""
)
