"""The package's shape: short functions, semopy behind one module, layers.

The import-linter contract in ``pyproject.toml`` (checked by ``.ci/run``)
keeps the layers importing downward only; these tests keep what a linter of
imports cannot see.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "xhs_sharing"

#: The longest function any module may hold, in lines from its ``def`` to its
#: last line without its docstring: about what one reads in a sitting.
MAX_FUNCTION_LINES = 80

#: The one module that may import semopy (the lavaan-syntax parser and the ML start).
SEMOPY_HOME = "sem/model.py"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _functions(path: Path) -> list[tuple[str, int, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                n -= first.end_lineno - first.lineno + 1
            out.append((node.name, node.lineno, n))
    return out


def long_functions_in(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``name (n lines)`` of every function of ``path`` longer than ``limit`` lines."""
    return [f"{name} ({n} lines)" for name, _, n in _functions(path) if n > limit]


def long_functions(limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``module:line name (n lines)`` of every function longer than ``limit`` lines."""
    found = []
    for path in _modules():
        for name, line, n in _functions(path):
            if n > limit:
                found.append(f"{path.relative_to(PACKAGE)}:{line} {name} ({n} lines)")
    return found


def test_the_length_check_can_fail(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "m.py"
    path.write_text(f'def f():\n    """Doc\n\n    string."""\n{body}\n')
    (name, line, n), = _functions(path)
    assert (name, line, n) == ("f", 1, MAX_FUNCTION_LINES + 1)
    path.write_text(f"def g():\n{body}\n    return 1\n")
    assert long_functions_in(path) == [f"g ({MAX_FUNCTION_LINES + 2} lines)"]


def test_no_function_is_longer_than_the_limit():
    assert long_functions() == []


def _imports_semopy(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "semopy" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "semopy":
            return True
    return False


def test_semopy_is_imported_in_one_module_only():
    users = [str(p.relative_to(PACKAGE)) for p in _modules() if _imports_semopy(p)]
    assert users == [SEMOPY_HOME]


@pytest.mark.parametrize("layer", ["sem", "study", "data", "analysis", "pipeline", "report"])
def test_every_layer_is_a_package_with_a_docstring(layer):
    init = PACKAGE / layer / "__init__.py"
    assert init.is_file()
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc.split()) >= 8, f"{layer}/__init__.py needs a docstring saying what the layer holds"


def test_every_module_has_a_real_docstring():
    thin = []
    for path in _modules():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if len(doc.split()) < 5:
            thin.append(str(path.relative_to(PACKAGE)))
    assert thin == []
