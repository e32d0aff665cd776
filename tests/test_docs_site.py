"""The documentation site: it builds offline with no warning, its API reference documents
exactly each public module's ``__all__``, and it renders the stored notebooks.

The site is built once per run as the README says
(``python -m sphinx -W -b html docs docs/_build``; ``docs/_build`` is ignored by git).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
import tomllib
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PROOFS = ROOT / "proofs"

# The public surface named by docs/architecture.md (and issue 15); more public modules may
# exist (every module directly under softq_ref without a leading underscore), never fewer.
NAMED = [
    "softq_ref",
    "softq_ref.float64",
    "softq_ref.certified",
    "softq_ref.continuous",
    "softq_ref.io",
    "softq_ref.conformance",
    "softq_ref.plot",
    "softq_ref.strategies",
]
OBJECT_ROLES = {"py:function", "py:class", "py:exception", "py:data"}


def _public_modules() -> list[str]:
    """``softq_ref`` and each module directly under it without a leading underscore; a
    subpackage without ``__all__`` (``softq_ref.symbolic``) by its own such modules."""
    import softq_ref

    found = ["softq_ref"]
    for info in pkgutil.iter_modules(softq_ref.__path__):
        if info.name.startswith("_"):
            continue
        name = f"softq_ref.{info.name}"
        module = importlib.import_module(name)
        if info.ispkg and not hasattr(module, "__all__"):
            found += [
                f"{name}.{sub.name}"
                for sub in pkgutil.iter_modules(module.__path__)
                if not sub.name.startswith("_")
            ]
        else:
            found.append(name)
    return sorted(found)


def _inventory(site: Path) -> dict[str, str]:
    """``name -> role`` from the site's ``objects.inv`` (Sphinx inventory, version 2)."""
    raw = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four comment lines, then the zlib-compressed entries
        header_end = raw.index(b"\n", header_end) + 1
    assert raw.startswith(b"# Sphinx inventory version 2")
    entries = {}
    for line in zlib.decompress(raw[header_end:]).decode().splitlines():
        m = re.match(r"(.+?)\s+(\S+:\S+)\s+(-?\d+)\s+(\S*)\s+(.*)", line)
        assert m, line
        entries[m.group(1)] = m.group(2)
    return entries


@pytest.fixture(scope="module")
def site() -> Path:
    """The README's command, run twice: from scratch (``-E``: every page read again, so
    every warning shows), then again as a user rebuilding (what the first run left in
    ``docs/``, the mirrored files and MyST-NB's ``jupyter_execute/``, must not break it)."""
    out = DOCS / "_build"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q"]
    for fresh in (["-E"], []):
        proc = subprocess.run(
            [*cmd, *fresh, "docs", "docs/_build"],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        what = "from scratch" if fresh else "a second time"
        assert proc.returncode == 0, f"the site does not build {what}:\n{proc.stderr[-3000:]}"
        assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    return out


def test_the_site_builds_without_a_warning_and_has_every_page(site: Path) -> None:
    pages = [p.stem for p in DOCS.glob("*.md") if p.stem != "index"]
    assert {"conventions", "architecture", "golden"} <= set(pages)
    for page in ["index", "reference/index", *pages]:
        assert (site / f"{page}.html").is_file(), page
    for notebook in PROOFS.glob("*.ipynb"):
        assert (site / "proofs" / f"{notebook.stem}.html").is_file(), notebook.name
    assert (site / "proofs" / "README.html").is_file()
    # The README is the home page.
    readme_title = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    assert readme_title in (site / "index.html").read_text(encoding="utf-8")


def test_every_public_module_has_a_page(site: Path) -> None:
    public = _public_modules()
    assert set(NAMED) <= set(public)
    assert any(m.startswith("softq_ref.symbolic.") for m in public)
    documented = sorted(n for n, role in _inventory(site).items() if role == "py:module")
    assert documented == public


def test_the_reference_documents_exactly_each_public_modules_all(site: Path) -> None:
    inventory = _inventory(site)
    for modname in _public_modules():
        module = importlib.import_module(modname)
        prefix = f"{modname}."
        documented = {
            name.removeprefix(prefix)
            for name, role in inventory.items()
            if role in OBJECT_ROLES
            and name.startswith(prefix)
            and "." not in name.removeprefix(prefix)
        }
        public = set(module.__all__)
        assert documented == public, (
            f"{modname}: undocumented {sorted(public - documented)}, "
            f"documented but not in __all__ {sorted(documented - public)}"
        )


def test_a_function_is_described_with_its_numpydoc_sections(site: Path) -> None:
    html = (site / "reference" / "softq_ref.html").read_text(encoding="utf-8")
    start = html.index('id="softq_ref.solve"')
    entry = html[start : html.index('id="softq_ref.', start + 1)]  # up to the next object
    for section in ("Parameters", "Returns"):
        assert section in entry, section
    # A second home points to the first instead of describing it again.
    alias = (site / "reference" / "softq_ref.float64.html").read_text(encoding="utf-8")
    assert 'id="softq_ref.float64.solve"' in alias
    assert re.search(r'href="softq_ref.html#softq_ref.solve"', alias)


@pytest.mark.parametrize("notebook", sorted(PROOFS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_a_notebook_page_shows_the_stored_outputs(site: Path, notebook: Path) -> None:
    """Every stored output is on the page (math for LaTeX, an image for a PNG): the site
    renders the notebooks unexecuted, tests/test_notebooks.py keeps the outputs fresh."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    html = (site / "proofs" / f"{notebook.stem}.html").read_text(encoding="utf-8")
    shown = {"latex": 0, "image": 0, "stream": 0, "text": 0}
    for out in outputs:  # what MyST-NB renders of each, by its priority of types
        data = out.get("data", {})
        kind = "stream" if out["output_type"] == "stream" else None
        kind = kind or ("image" if "image/png" in data else None)
        kind = kind or ("latex" if "text/latex" in data else "text")
        shown[kind] += 1
    assert sum(shown.values()) >= 1
    on_page = {
        "latex": html.count('class="output text_latex math'),
        "image": len(re.findall(r'<img [^>]*src="\.\./_images/[0-9a-f]+\.png"', html)),
        "stream": html.count('class="output stream'),
        "text": html.count('class="output text_plain'),
    }
    assert on_page == shown
    assert html.count('class="cell_input') == sum(c["cell_type"] == "code" for c in nb["cells"])


def test_the_docs_extra_is_installed_by_the_test_extra() -> None:
    """CI installs the test extra (the README's test command); the site needs the docs one."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert {"sphinx", "numpydoc", "myst-nb", "furo"} <= {
        re.split(r"[<>=!~ \[]", r)[0] for r in extras["docs"]
    }
    assert set(extras["docs"]) <= set(extras["test"])
