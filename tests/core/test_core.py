"""passkrl.core is pure maths: it may import only the standard library, numpy and torch."""

import ast
import sys
from pathlib import Path

import passkrl.core

CORE = Path(passkrl.core.__file__).parent
ALLOWED_THIRD_PARTY = {"numpy", "torch"}


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_only_stdlib_numpy_torch():
    files = sorted(CORE.rglob("*.py"))
    assert files, "no core modules found"
    for path in files:
        for name in imported_top_level_modules(path):
            ok = name in sys.stdlib_module_names or name in ALLOWED_THIRD_PARTY or name in ("passkrl", "__future__")
            assert ok, f"{path.name} imports {name!r}"
            if name == "passkrl":
                # only other core modules
                source = path.read_text()
                assert "from passkrl." not in source.replace("from passkrl.core", ""), path.name
