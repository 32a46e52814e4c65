"""The module layout's import contract (issue 15 item 4; README "Layout").

Read from the source with :mod:`ast` (every ``import``, also those inside functions and under
``TYPE_CHECKING``, since a lazy import is still a dependency), and checked on the real modules
by importing them in a fresh interpreter:

- ``registry.core`` (the protocol) imports nothing of ours;
- ``registry.wire`` (the HTTP wire contract) imports only msgspec, the standard library and
  ``registry.core``: no web framework, no database;
- the use cases (``registry.services``) and the read models (``registry.indexes``) never import
  ``registry.http`` (nor the entry points ``registry.app`` and ``registry.cli``);
- the SDK (``clients/python/consent``) imports of ``registry`` are ``registry.core`` and
  ``registry.wire`` only, so it installs without the node's extras;
- ``registry/`` holds only packages and the entry points ``__init__``, ``__main__``, ``app``
  and ``cli``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "registry"
SDK = ROOT / "clients" / "python" / "consent"

ENTRY_POINTS = frozenset({"__init__.py", "__main__.py", "app.py", "cli.py"})
"""The only modules allowed directly in ``registry/``."""
PENDING_INDEX_MOVE: frozenset[str] = frozenset()
"""Read models still at the top level until the ``index`` work moves them into
``registry/indexes/`` (and the fuse-filter lookup into the SDK). Tolerated by name only: remove
each one here when it moves, and never add to this list."""
DATA_FILES = frozenset({"py.typed"})
PENDING_SDK_MOVE: frozenset[str] = frozenset()
"""Node modules the SDK still imports until the ``index`` work moves the fuse-filter lookup into
the SDK. Remove the name when it moves; never add to this list."""

STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


@dataclass(frozen=True)
class Import:
    """One imported module name, where it is imported."""

    importer: str
    module: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.importer} imports {self.module}"


def module_name(path: Path, package_root: Path) -> str:
    """The dotted name of the module at ``path`` (``package_root`` is the top package)."""
    parts = path.relative_to(package_root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, package_root: Path) -> Iterator[Import]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    name = module_name(path, package_root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # ``from registry import wire`` imports registry.wire: count each name too.
            yield Import(name, target, path, node.lineno)
            for alias in node.names:
                yield Import(name, f"{target}.{alias.name}", path, node.lineno)


def package_imports(package_root: Path, sub: str = "") -> list[Import]:
    """The imports of every module under ``package_root/sub``."""
    base = package_root / sub if sub else package_root
    if not base.exists():
        return []
    files = [base] if base.is_file() else sorted(base.rglob("*.py"))
    return [imp for path in files for imp in imports_of(path, package_root)]


def within(module: str, *prefixes: str) -> bool:
    """True if ``module`` is one of ``prefixes`` or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def ours(module: str) -> bool:
    return within(module, "registry", "consent")


def violations(found: list[Import], allowed: str) -> list[str]:
    return [str(imp) for imp in found if ours(imp.module) and not within(imp.module, allowed)]


def test_core_imports_nothing_of_ours() -> None:
    assert violations(package_imports(REGISTRY, "core"), "registry.core") == []


def test_wire_imports_only_msgspec_the_stdlib_and_core() -> None:
    bad = [
        str(imp)
        for imp in package_imports(REGISTRY, "wire")
        if not within(imp.module, "msgspec", "registry.core", "registry.wire")
        and imp.module.partition(".")[0] not in STDLIB
    ]
    assert bad == []
    assert package_imports(REGISTRY, "wire"), "registry/wire/ holds the wire contract"


@pytest.mark.parametrize("layer", ["services", "indexes"])
def test_use_cases_and_read_models_never_import_http(layer: str) -> None:
    found = package_imports(REGISTRY, layer)
    bad = [
        str(imp)
        for imp in found
        if within(imp.module, "registry.http", "registry.app", "registry.cli", "litestar")
    ]
    assert bad == []
    if layer == "services":
        assert found, "registry/services/ holds the use cases"


def test_sdk_imports_only_core_and_wire_of_the_node() -> None:
    found = package_imports(SDK)
    bad = [
        str(imp)
        for imp in found
        if within(imp.module, "registry")
        and not within(imp.module, "registry.core", "registry.wire", *PENDING_SDK_MOVE)
        and imp.module != "registry"
    ]
    assert bad == []
    assert any(within(imp.module, "registry.wire") for imp in found)
    assert not (SDK / "wire.py").exists(), "the SDK's wire types are registry.wire's"


def test_registry_top_level_holds_only_packages_and_entry_points() -> None:
    stray = sorted(
        entry.name
        for entry in REGISTRY.iterdir()
        if entry.is_file()
        and entry.name not in ENTRY_POINTS | PENDING_INDEX_MOVE | DATA_FILES
        and not entry.name.endswith((".pyc", ".pyo"))
    )
    assert stray == []
    packages = [d for d in REGISTRY.iterdir() if d.is_dir() and d.name != "__pycache__"]
    assert all((d / "__init__.py").exists() for d in packages), packages


def _loaded_after(statement: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running ``statement``."""
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded: list[str] = json.loads(out.stdout)
    return loaded


@pytest.mark.parametrize(
    ("statement", "heavy"),
    [
        # The wire contract and the SDK load without the node's web framework or database.
        ("import registry.wire", ("litestar", "sqlalchemy", "registry.http", "registry.log")),
        ("import consent", ("litestar", "sqlalchemy", "registry.http", "registry.services")),
        # The use cases load without HTTP.
        ("import registry.services.submissions, registry.services.near", ("registry.http",)),
    ],
)
def test_real_modules_load_without_the_layers_they_must_not_need(
    statement: str, heavy: tuple[str, ...]
) -> None:
    loaded = _loaded_after(statement)
    assert [m for m in loaded if within(m, *heavy)] == []


def test_the_checker_sees_lazy_relative_and_from_imports(tmp_path: Path) -> None:
    """The rules above would catch a violation in any spelling of ``import``."""
    package = tmp_path / "registry"
    (package / "services").mkdir(parents=True)
    (package / "services" / "__init__.py").write_text("")
    (package / "services" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from registry.http.runtime import Node\n"
        "def f() -> None:\n"
        "    from ..http import problems\n"
        "    import registry.http.wire\n"
        "from registry import http\n"
    )
    found = package_imports(package, "services")
    http = [imp for imp in found if within(imp.module, "registry.http")]
    assert sorted({(imp.line, imp.module) for imp in http}) == [
        (3, "registry.http.runtime"),
        (3, "registry.http.runtime.Node"),
        (5, "registry.http"),
        (5, "registry.http.problems"),
        (6, "registry.http.wire"),
        (7, "registry.http"),
    ]
