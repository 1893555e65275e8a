"""The import rules that keep the layers readable top-down, checked on the source (AST).

``core`` is the framework every package builds on and names no domain package; agents and
numbers never import each other: what needs both lives in ``assignments``, whose table
(``assignments.models``) is all that either side may use of it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src" / "callplane"
PACKAGES = sorted(p.name for p in SOURCE.iterdir() if (p / "__init__.py").exists())


def _imports(path: Path) -> list[str]:
    """Every callplane module a file imports, at the top, in a function or for type checking."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in found if name.startswith("callplane.")]


def _package_of(module: str) -> str:
    return module.split(".")[1]


def _violations(package: str, allowed: Callable[[str], bool]) -> list[str]:
    return [
        f"{path.relative_to(SOURCE.parent)} imports {name}"
        for path in sorted((SOURCE / package).rglob("*.py"))
        for name in _imports(path)
        if not allowed(name)
    ]


def test_the_source_tree_has_the_packages_the_rules_name() -> None:
    assert {"core", "agents", "numbers", "assignments"} <= set(PACKAGES)


def test_core_imports_no_domain_package() -> None:
    def allowed(name: str) -> bool:
        return _package_of(name) not in PACKAGES or _package_of(name) == "core"

    assert _violations("core", allowed) == []


@pytest.mark.parametrize(("package", "other"), [("agents", "numbers"), ("numbers", "agents")])
def test_agents_and_numbers_do_not_import_each_other(package: str, other: str) -> None:
    def allowed(name: str) -> bool:
        if _package_of(name) == other:
            return False
        return _package_of(name) != "assignments" or name.startswith("callplane.assignments.models")

    assert _violations(package, allowed) == []


def test_the_assignments_table_stands_on_core_alone() -> None:
    imported = _imports(SOURCE / "assignments" / "models.py")
    assert imported
    assert [n for n in imported if _package_of(n) != "core"] == []


def test_the_rules_see_a_violation() -> None:
    """The scan is not blind: today's assignments service does import both sides."""
    imported = {_package_of(n) for n in _imports(SOURCE / "assignments" / "service.py")}
    assert {"agents", "numbers"} <= imported


def test_one_http_library() -> None:
    """httpx2 everywhere: Starlette's TestClient requires it, so the library and tools use it
    too (an ``httpx`` import would bring a second, look-alike client)."""
    root = SOURCE.parent.parent
    offenders = [
        str(path.relative_to(root))
        for folder in ("src", "tests", "bench", "scripts")
        for path in sorted((root / folder).rglob("*.py"))
        if any(name == "httpx" or name.startswith("httpx.") for name in _all_imports(path))
    ]
    assert offenders == []


def _all_imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names
