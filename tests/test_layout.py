"""The package's layout: small modules and functions, and the import rules of docs/architecture.md."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "passivscreen"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

#: part -> parts it may import (docs/architecture.md); every module of src belongs to one part
ALLOWED = {
    "schema": set(),
    "structures": {"schema"},
    "ligands": {"schema"},
    "placement": {"ligands"},
    "calculators": {"schema"},
    "relaxation": {"calculators", "schema", "structures"},
    "records": {"analysis", "calculators"},
    "analysis": {"schema"},
    "ranking": {"analysis", "records"},
    "config": {"schema", "calculators", "ligands", "structures"},
    "convergence": {"schema", "structures", "calculators", "relaxation", "analysis", "records"},
    "steps": {
        "schema",
        "structures",
        "ligands",
        "placement",
        "calculators",
        "relaxation",
        "analysis",
        "records",
        "ranking",
        "convergence",
    },
    "cli": {"config", "steps", "convergence", "calculators", "schema"},
}


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _part(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if rel.parts[0] != "__init__.py" else "package"


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
