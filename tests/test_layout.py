"""The package's layout: small modules and functions, and the import rules of docs/architecture.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "passivscreen"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def allowed_imports(text: str) -> dict[str, set[str]]:
    """part -> parts it may import, read from the table "Allowed imports" of docs/architecture.md: a row
    ``| `a`, `b` | `c`, `d` (why) |`` lets parts a and b import c and d (text in parentheses is a comment)."""
    table = text.split("Allowed imports", 1)[1].split("\n\n", 2)[1]
    allowed: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        cells = [re.sub(r"\(.*?\)", "", c) for c in line.strip().strip("|").split("|")]
        for part in re.findall(r"`([\w.]+)`", cells[0]):
            allowed[part] = set(re.findall(r"`([\w.]+)`", cells[1]))
    return allowed


#: part -> parts it may import (docs/architecture.md); every module of src belongs to one part
ALLOWED = allowed_imports(ARCHITECTURE.read_text())


def test_the_table_covers_every_part():
    parts = {_part(p) for p in _modules()} - {"package"}
    assert parts == set(ALLOWED), (
        f"parts without a row: {parts - set(ALLOWED)}, rows of no part: {set(ALLOWED) - parts}"
    )
    unknown = {t for targets in ALLOWED.values() for t in targets} - parts
    assert not unknown, f"docs/architecture.md allows imports of parts that do not exist: {unknown}"


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _part(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if rel.parts[0] != "__init__.py" else "package"


def test_every_module_is_named_in_the_architecture():
    text = ARCHITECTURE.read_text()
    missing = [
        str(p.relative_to(SRC)) for p in _modules() if p.name != "__init__.py" and not re.search(rf"\b{p.stem}\b", text)
    ]
    assert not missing, f"modules docs/architecture.md does not name: {missing}"


def test_modules_are_small():
    long = {str(p.relative_to(SRC)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_functions_are_small():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SRC)}:{node.name}"] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_architecture(path):
    part = _part(path)
    if part == "package":
        return
    assert part in ALLOWED, f"{path.relative_to(SRC)}: part {part!r} is not in docs/architecture.md"
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("passivscreen"):
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("passivscreen")]
        for name in names:
            target = name.split(".")[1] if "." in name else "package"
            assert target == part or target in ALLOWED[part], f"{path.relative_to(SRC)} imports {name}"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def test_no_module_imports_back():
    """No import cycle between modules, counting imports inside functions (a package's __init__ that
    re-exports its own modules is not a cycle)."""
    import networkx as nx

    graph = nx.DiGraph()
    modules = {_module_name(p): p for p in _modules()}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("passivscreen"):
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("passivscreen")]
            for t in targets:
                if t in modules and t != name and not name.startswith(t + ".") and not t.startswith(name + "."):
                    graph.add_edge(name, t)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"modules that import each other: {cycles}"


def test_every_shipped_data_file_is_package_data():
    """A non-editable install carries every file of presets/ (the shipped convergence table included)."""
    import fnmatch
    import tomllib

    globs = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    data = [p for p in (SRC / "presets").iterdir() if p.is_file()]
    missing = [p.name for p in data if not any(fnmatch.fnmatch(f"presets/{p.name}", g) for g in globs["passivscreen"])]
    assert data and not missing, f"presets not in [tool.setuptools.package-data]: {missing}"
