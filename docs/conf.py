"""Sphinx configuration of the softq-ref documentation site.

Build it (offline; nothing is fetched) with::

    python -m sphinx -W -b html docs docs/_build

The pages are the Markdown files of ``docs/`` and the README (MyST), the derivation
notebooks of ``proofs/`` rendered from their stored outputs (MyST-NB, never executed here:
``tests/test_notebooks.py`` re-executes them and checks the stored outputs), and an API
reference generated from the public modules' ``__all__`` (``_ext/public_api.py``, numpydoc).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # the package of this checkout, installed or not

import softq_ref  # noqa: E402

project = "softq-ref"
author = "softq-ref developers"
copyright = "softq-ref developers"
release = softq_ref.__version__
version = release

extensions = [
    "myst_nb",  # Markdown (MyST) and the stored notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "public_api",
]

# The sources: docs/*.md, the README (included by index.md, its links to docs/ made
# relative), and the files of the repository that the site shows or links outside docs/,
# copied into docs/ at build time (MIRRORED, ignored by git) so that the links of the
# Markdown files work on the site as they do in the repository.
MIRRORED = ["LICENSE", "proofs/README.md", "proofs/*.ipynb", "proofs/coq/allowed_axioms.txt"]
# MyST-NB writes copies of the notebooks beside the output folder: docs/jupyter_execute/
# when the site is built into docs/_build, so it is no source.
exclude_patterns = ["_build", "jupyter_execute", "**/.ipynb_checkpoints"]
root_doc = "index"

# MyST: $...$ and $$...$$ as in the notebooks, GitHub-style heading anchors so that the
# links of the Markdown files (conventions.md#1-the-mathematics) work on the site too.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# MyST-NB: show the outputs stored in the notebooks; never run a kernel at build time.
nb_execution_mode = "off"
nb_merge_streams = True

# autodoc + numpydoc: signatures without type hints (the docstrings give the types),
# members in the order of the source, no per-class member tables of their own.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

html_theme = "furo"
html_title = f"softq-ref {release}"
html_static_path: list[str] = []


def _mirrored_text(rel: Path) -> bytes:
    """The bytes of a MIRRORED file as the site needs them.

    In the repository ``proofs/`` is a sibling of ``docs/``; on the site it sits inside
    ``docs/``, so the notebooks' links ``../docs/X.md`` become ``../X.md``.
    """
    data = (HERE.parent / rel).read_bytes()
    if rel.parts[0] == "proofs" and rel.suffix in {".md", ".ipynb"}:
        data = data.replace(b"](../docs/", b"](../")
    return data


def _mirror(app: object) -> None:
    """Copy the MIRRORED files of the repository into docs/ (only those that changed)."""
    wanted = {p.relative_to(HERE.parent) for pattern in MIRRORED for p in HERE.parent.glob(pattern)}
    for rel in sorted(wanted):
        dst, data = HERE / rel, _mirrored_text(rel)
        if not dst.exists() or dst.read_bytes() != data:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
    for old in (HERE / "proofs").rglob("*"):  # a notebook renamed or removed upstream
        if old.is_file() and old.relative_to(HERE) not in wanted:
            old.unlink()


def setup(app: object) -> None:
    app.connect("builder-inited", _mirror, priority=100)  # type: ignore[attr-defined]
