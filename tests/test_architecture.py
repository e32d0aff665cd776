"""The architecture of docs/architecture.md, checked on the source: layers and private names.

Each module belongs to a layer: the core (the modules at the top of the
package) or one subpackage. A layer imports only from the layers it may use
(``ALLOWED``), and never imports a name starting with ``_`` from another layer:
shared helpers are documented internal names without the underscore.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "softq_ref"
SUBPACKAGES = (
    "float64",
    "certified",
    "continuous",
    "io",
    "cli",
    "conformance",
    "symbolic",
    "plot",
    "testing",
)

#: which layers each layer may import from (the core: the top-level modules)
ALLOWED = {
    "core": {"core"},
    "float64": {"core", "float64"},
    "certified": {"core", "float64", "certified"},
    "continuous": {"core", "continuous"},
    "io": {"core", "io", "certified"},
    "cli": {"core", "float64", "certified", "io", "cli", "conformance", "plot"},
    "conformance": {"core", "float64", "io", "conformance"},
    "symbolic": {"core", "float64", "certified", "symbolic"},
    "plot": {"core", "float64", "plot"},
    "testing": {"core", "float64", "conformance", "testing"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in SUBPACKAGES else "core"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, str, int]]:
    """``(module, name, line)`` for every ``from softq_ref... import name`` (``name`` '' for import)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "softq_ref" or node.module.startswith("softq_ref."):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    # ``from softq_ref import conformance`` imports a module
                    module = full if (PACKAGE.parent / full.replace(".", "/")).exists() else None
                    out.append((module or node.module, "" if module else alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("softq_ref."):
                    out.append((alias.name, "", node.lineno))
    return out


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")
IDS = [str(p.relative_to(PACKAGE)) for p in SOURCES]


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_no_underscored_name_is_imported_from_another_layer(path: Path) -> None:
    here = _layer(_module_name(path))
    for module, name, line in _imports(path):
        if name.startswith("_") and not name.startswith("__") and _layer(module) != here:
            pytest.fail(f"{path.name}:{line} imports {name} from {module}, another layer")


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_each_layer_imports_only_the_layers_it_may_use(path: Path) -> None:
    here = _layer(_module_name(path))
    if path == PACKAGE / "__init__.py":
        return  # the public face re-exports from every layer
    for module, _, line in _imports(path):
        assert _layer(module) in ALLOWED[here], f"{path.name}:{line}: {here} imports {module}"
