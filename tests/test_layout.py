"""The package's shape: no import cycles, and no library module importing a command-line module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "passkrl"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never imported at run time)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def imports_of(name: str) -> set[str]:
    """The passkrl modules ``name`` imports anywhere in its file (lazy imports in functions included)."""
    found: set[str] = set()
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for target in targets:
            # `from passkrl.tasks import maze` imports the module passkrl.tasks.maze; a name such as
            # `from passkrl.tasks import get_task` is an attribute of passkrl.tasks.
            if target in MODULES and target != name:
                found.add(target)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def test_no_library_module_imports_a_command_line_module():
    offenders = sorted(f"{name} imports {target}" for name, targets in GRAPH.items() if not name.startswith("passkrl.cli")
                       for target in targets if target == "passkrl.cli" or target.startswith("passkrl.cli."))
    assert offenders == []


def test_the_import_graph_has_no_cycles():
    # A package's __init__ re-exporting its own submodules is not a cycle of concepts; every other edge counts.
    def edges(name: str) -> set[str]:
        return {t for t in GRAPH[name] if not (MODULES[name].name == "__init__.py" and t.startswith(name + "."))
                and not name.startswith(t + ".")}

    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target in sorted(edges(name)):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[name] = 2

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_package_map_in_docs_names_every_module():
    text = (PACKAGE.parents[1] / "docs" / "README.md").read_text(encoding="utf-8")
    missing = sorted(name for name in MODULES if name != "passkrl" and f"`{name.removeprefix('passkrl.')}`" not in text)
    assert missing == []
