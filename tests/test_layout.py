"""The package's shape: no import cycles, no library module importing a command-line module, a map in docs that
names every module, and tests laid out as that page says (a test file per module, the exceptions listed)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "passkrl"
TESTS = Path(__file__).resolve().parent
DOCS_MAP = PACKAGE.parents[1] / "docs" / "README.md"


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
    text = DOCS_MAP.read_text(encoding="utf-8")
    missing = sorted(name for name in MODULES if name != "passkrl" and f"`{name.removeprefix('passkrl.')}`" not in text)
    assert missing == []



# ------------------------------------------------------------------------------------- the tests' layout

WITHOUT_A_TEST_FILE = {
    "passkrl": "the version and the package's docstring",
    "passkrl.models": "a package docstring",
    "passkrl.train": "a package docstring", "passkrl.report": "a package docstring",
    "passkrl.experiment": "a package docstring", "passkrl.integrations": "a package docstring",
    "passkrl.cli.__main__": "one line, run by tests/cli/test_cli.py",
}
"""Modules whose content is a docstring or one line (docs/README.md lists them)."""
OF_NO_SINGLE_MODULE = ("test_layout.py", "test_benchmarks.py", "cli/test_bad_input_property.py",
                       "tasks/test_scorer_robustness.py", "integrations/test_examples.py",
                       "integrations/test_vision.py")
"""Test files of the whole package or of one property across it (docs/README.md lists them)."""


def expected_test_file(module: str) -> Path:
    """Where the tests of ``module`` live: ``tests/<room>/test_<module>.py``; a package's ``__init__`` in
    ``tests/<package>/test_<package>.py``."""
    parts = module.split(".")[1:]
    if MODULES[module].name == "__init__.py":
        return TESTS.joinpath(*parts, f"test_{parts[-1] if parts else 'passkrl'}.py")
    return TESTS.joinpath(*parts[:-1], f"test_{parts[-1]}.py")


def module_of(test_file: Path) -> str | None:
    """The module a test file follows: its own name's, or for ``test_<module>_<aspect>.py`` the longest
    ``<module>`` that exists; None if there is none."""
    files = {expected_test_file(name): name for name in MODULES}
    if test_file in files:
        return files[test_file]
    words = test_file.stem.split("_")[1:]
    for cut in range(len(words) - 1, 0, -1):
        candidate = test_file.with_name("test_" + "_".join(words[:cut]) + ".py")
        if candidate in files:
            return files[candidate]
    return None


TEST_FILES = sorted(p for p in TESTS.rglob("test_*.py") if "__pycache__" not in p.parts)


def test_every_test_file_follows_a_module_or_is_listed():
    stray = [str(p.relative_to(TESTS)) for p in TEST_FILES
             if module_of(p) is None and str(p.relative_to(TESTS)) not in OF_NO_SINGLE_MODULE]
    assert stray == []


def test_every_module_has_its_test_file_or_is_listed():
    untested = sorted(name for name in MODULES
                      if name not in WITHOUT_A_TEST_FILE and not expected_test_file(name).is_file())
    assert untested == []


def test_the_exceptions_are_current_and_documented():
    text = DOCS_MAP.read_text(encoding="utf-8")
    for name in WITHOUT_A_TEST_FILE:
        assert name in MODULES and not expected_test_file(name).is_file(), f"{name} is gone or has a test file now"
        assert f"`{name.removeprefix('passkrl.') if name != 'passkrl' else name}`" in text, name
    for relative in OF_NO_SINGLE_MODULE:
        assert (TESTS / relative).is_file() and module_of(TESTS / relative) is None, relative
        assert f"`tests/{relative}`" in text, relative


def test_test_files_are_matched_to_modules_as_docs_say():
    assert expected_test_file("passkrl.core.estimators") == TESTS / "core" / "test_estimators.py"
    assert expected_test_file("passkrl.evaluation") == TESTS / "test_evaluation.py"
    assert expected_test_file("passkrl.cli") == TESTS / "cli" / "test_cli.py"
    assert module_of(TESTS / "integrations" / "test_trl_ddp.py") == "passkrl.integrations.trl"
    assert module_of(TESTS / "models" / "test_tiny_hf.py") == "passkrl.models.tiny_hf"  # its own name first
    assert module_of(TESTS / "train" / "test_regime.py") is None
