"""The engine must never import odoo: it is tested and benchmarked without it."""

import ast
import pathlib

ENGINE = pathlib.Path(__file__).resolve().parent.parent


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.module, node.lineno


def test_engine_never_imports_odoo():
    offenders = []
    for path in ENGINE.rglob("*.py"):
        for name, line in _imports(path):
            if name == "odoo" or name.startswith("odoo.") or name.startswith("openerp"):
                offenders.append(f"{path.relative_to(ENGINE)}:{line} imports {name}")
    assert not offenders, offenders


def test_engine_uses_no_insecure_random():
    offenders = []
    for path in ENGINE.rglob("*.py"):
        if "tests" in path.parts or "testing" in path.parts:
            continue
        for name, line in _imports(path):
            if name == "random":
                offenders.append(f"{path.relative_to(ENGINE)}:{line}")
    assert not offenders, offenders
