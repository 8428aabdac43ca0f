"""The package's shape: no import cycles, and no library module importing a command-line module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "passkrl"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, modules: dict[str, Path] = MODULES) -> set[str]:
    """The passkrl modules ``name`` imports anywhere in its file: at the top, lazily inside functions, and
    under ``if TYPE_CHECKING:`` (annotations only, but still a dependency a reader follows), as
    ``farm-studio look`` counts them."""
    found: set[str] = set()
    tree = ast.parse(modules[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from passkrl.tasks import maze` imports the module passkrl.tasks.maze; a name such as
            # `from passkrl.tasks import get_task` is taken from passkrl.tasks itself.
            targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                       for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules and target != name)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def test_no_library_module_imports_a_command_line_module():
    offenders = sorted(f"{name} imports {target}" for name, targets in GRAPH.items() if not name.startswith("passkrl.cli")
                       for target in targets if target == "passkrl.cli" or target.startswith("passkrl.cli."))
    assert offenders == []


def cycles_of(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: each as a path that returns to where it started."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_the_cycle_finder_sees_lazy_type_checking_and_parent_package_imports(tmp_path):
    # A package whose module imports its own package's __init__, which imports it back (what the tasks
    # modules once did through `require_extra`), and a pair tied only through TYPE_CHECKING.
    sources = {  # module -> (file, text)
        "pkg": ("pkg/__init__.py", "from pkg import task\n"),
        "pkg.task": ("pkg/task.py", "def f():\n    from pkg import helper_name\n"),
        "pkg.a": ("pkg/a.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n"),
        "pkg.b": ("pkg/b.py", "def g():\n    import pkg.a\n"),
    }
    modules = {}
    for name, (relative, text) in sources.items():
        modules[name] = tmp_path / relative
        modules[name].parent.mkdir(parents=True, exist_ok=True)
        modules[name].write_text(text)
    graph = {name: imports_of(name, modules) for name in modules}
    assert graph == {"pkg": {"pkg.task"}, "pkg.task": {"pkg"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert {frozenset(cycle) for cycle in cycles_of(graph)} == {frozenset({"pkg", "pkg.task"}), frozenset({"pkg.a", "pkg.b"})}


def test_the_import_graph_has_no_cycles():
    # Every edge counts, as farm-studio counts them: lazy imports, TYPE_CHECKING imports, a package's
    # __init__ importing its modules and a module importing from its package's __init__.
    assert cycles_of(GRAPH) == []


def test_the_package_map_in_docs_names_every_module():
    text = (PACKAGE.parents[1] / "docs" / "README.md").read_text(encoding="utf-8")
    missing = sorted(name for name in MODULES if name != "passkrl" and f"`{name.removeprefix('passkrl.')}`" not in text)
    assert missing == []
