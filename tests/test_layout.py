"""The layout keeps its rules: every error class in errors.py, no import cycles, command
modules free of Typer until the Typer app builds them, SQL only in the store."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ticketcli

ROOT = Path(ticketcli.__file__).parent
MODULES = {
    ".".join(("ticketcli", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__"): p
    for p in ROOT.rglob("*.py")
}


def _runtime_imports(name: str, path: Path) -> set[str]:
    """The ticketcli modules ``name`` imports when it is imported (not under
    TYPE_CHECKING, not inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.add(f"{target}.{alias.name}")
                elif target in MODULES:
                    found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULES}
    return found - {name}


def test_every_error_class_is_in_errors_py() -> None:
    outside = []
    for name, path in MODULES.items():
        if name == "ticketcli.errors":
            continue
        module = __import__(name, fromlist=["_"])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                cls = getattr(module, node.name, None)
                if isinstance(cls, type) and issubclass(cls, BaseException):
                    outside.append(f"{name}.{node.name}")
    assert outside == []


def test_no_import_cycles() -> None:
    graph = {name: _runtime_imports(name, path) for name, path in MODULES.items()}
    cycles = []

    def walk(node: str, stack: list[str], done: set[str]) -> None:
        for dep in graph.get(node, ()):
            if dep in stack:
                cycles.append(" -> ".join([*stack[stack.index(dep):], dep]))
            elif dep not in done:
                done.add(dep)
                walk(dep, [*stack, dep], done)

    for name in graph:
        walk(name, [name], {name})
    assert cycles == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("ticketcli.commands.")
                                        and n != "ticketcli.commands.params"))
def test_command_modules_do_not_import_typer_when_they_run(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text())
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""]
            assert not any(n.split(".")[0] in ("typer", "typing") for n in names), name


def test_sql_stays_in_the_store() -> None:
    """Use cases, commands and mail speak to the store, never to SQLite."""
    for name, path in MODULES.items():
        if name.startswith(("ticketcli.store", "ticketcli.boundary")):
            continue
        text = path.read_text()
        assert ".execute(" not in text and "executemany(" not in text, name
