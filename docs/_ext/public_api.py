"""The API reference, generated from the package's public modules and their ``__all__``.

The public modules are ``softq_ref`` and every module or subpackage directly under it
whose name does not start with ``_`` (docs/architecture.md: a leading underscore marks
what is private); a subpackage without ``__all__`` (``softq_ref.symbolic``) is public
through its own such modules. Each public module gets one page,
``docs/reference/<module>.rst`` (written at build time, not stored), that documents every
name of its ``__all__``: in full on the first page that exports the object (the
top-level package first, so ``softq_ref.solve`` is where :func:`solve` is described),
and on later pages as a signature that points there (``softq_ref.float64.solve``).
A name added to an ``__all__``, or a new public module, appears without editing the
docs; ``tests/test_docs_site.py`` compares the built reference with every ``__all__``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective

PACKAGE = "softq_ref"
API_DIR = "reference"
MAX_VALUE_CHARS = 120  # a longer value (a table of cases) is shown by its type only
_MISSING = object()


def public_modules() -> list[str]:
    """``softq_ref`` first, then its public modules in alphabetical order."""
    found = [PACKAGE]
    top = importlib.import_module(PACKAGE)
    for info in sorted(pkgutil.iter_modules(top.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        name = f"{PACKAGE}.{info.name}"
        module = importlib.import_module(name)
        if info.ispkg and not hasattr(module, "__all__"):
            found += [
                f"{name}.{sub.name}"
                for sub in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name)
                if not sub.name.startswith("_")
            ]
        else:
            found.append(name)
    return found


def public_names(module: ModuleType) -> list[str]:
    """The module's ``__all__``; a public module without one is an error, not a guess."""
    names = getattr(module, "__all__", None)
    if names is None:
        raise RuntimeError(f"public module {module.__name__} has no __all__")
    return list(names)


def _kind(obj: Any) -> str:
    if not getattr(obj, "__module__", "").startswith(PACKAGE + "."):
        return "data"  # a constant, or a type or function of another library (EXTENDED)
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return "exception"
    if inspect.isclass(obj):
        return "class"
    if callable(obj) and (inspect.isfunction(obj) or inspect.isbuiltin(obj)):
        return "function"
    return "data"


def homes(modules: list[str]) -> dict[int, str]:
    """``id(obj) -> "module.name"``: where each documented object is described in full."""
    home: dict[int, str] = {}
    for modname in modules:
        module = importlib.import_module(modname)
        for name in public_names(module):
            obj = getattr(module, name)
            if _kind(obj) != "data":  # constants are described on every page that has them
                home.setdefault(id(obj), f"{modname}.{name}")
    return home


def _summary(obj: Any) -> str:
    """The first paragraph of a function's or class's docstring, on one line."""
    if _kind(obj) == "data":
        return ""  # a constant's docstring would be its type's
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _constant_doc(module: ModuleType, name: str) -> list[str]:
    """The ``#:`` comment of a constant, found in the module that assigns it."""
    obj = getattr(module, name)
    candidates = [module.__name__] + sorted(
        m
        for m, mod in sys.modules.items()
        if m.startswith(PACKAGE + ".") and getattr(mod, name, _MISSING) is obj
    )
    for modname in candidates:
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except PycodeError:
            continue
        if ("", name) in docs:
            return [line for line in docs[("", name)] if line.strip()]
    return []


def _constant_value(obj: Any) -> str:
    if inspect.isclass(obj) or inspect.isroutine(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    return repr(obj)


def _bare_signature(obj: Any) -> str:
    """The call signature without annotations (the reference shows no type hints)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


class PublicModule(SphinxDirective):
    """``.. public-module:: softq_ref.float64``: the module's docstring and its ``__all__``."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        modname = self.arguments[0]
        module = importlib.import_module(modname)
        home: dict[int, str] = self.env.app.softq_api_homes  # type: ignore[attr-defined]
        names = public_names(module)
        lines = [f".. automodule:: {modname}", "   :no-members:", ""]
        lines += [".. rubric:: Contents", "", ".. list-table::", "   :widths: 30 70", ""]
        for name in names:
            lines += [f"   * - :py:obj:`{name}`", f"     - {_summary(getattr(module, name))}"]
        lines += [""]
        for name in names:
            obj = getattr(module, name)
            kind = _kind(obj)
            full = f"{modname}.{name}"
            where = home.get(id(obj), full)
            if kind == "data":
                lines += [f".. py:data:: {name}", f"   :module: {modname}"]
                value = _constant_value(obj)
                if len(value) <= MAX_VALUE_CHARS:
                    lines += [f"   :value: {value}"]
                else:
                    lines += [f"   :type: {type(obj).__name__}"]
                lines += [""] + [f"   {line}" for line in _constant_doc(module, name)] + [""]
            elif where == full:
                lines += [f".. auto{kind}:: {full}"]
                if kind in ("class", "exception"):
                    lines += ["   :members:"]
                lines += [""]
            else:
                sig = _bare_signature(obj) if kind != "data" else ""
                lines += [f".. py:{kind}:: {name}{sig}", f"   :module: {modname}", ""]
                lines += [f"   The same {kind} as :py:obj:`{where}`, described there.", ""]
        content = StringList(lines, source=f"<public-module {modname}>")
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(content, self.content_offset, node)
        return node.children


def _write_pages(app: Sphinx) -> None:
    modules = public_modules()
    app.softq_api_homes = homes(modules)  # type: ignore[attr-defined]
    out = Path(app.srcdir) / API_DIR
    out.mkdir(exist_ok=True)
    wanted = {}
    for modname in modules:
        title = f"``{modname}``"
        wanted[f"{modname}.rst"] = f"{title}\n{'=' * len(title)}\n\n.. public-module:: {modname}\n"
    for stale in out.glob(f"{PACKAGE}*.rst"):
        if stale.name not in wanted:
            stale.unlink()
    for filename, text in wanted.items():
        path = out / filename
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("public-module", PublicModule)
    app.connect("builder-inited", _write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
