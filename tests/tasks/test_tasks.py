"""The tasks package: importing it registers every task module's task, whichever module asks first."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import passkrl.tasks
from passkrl.tasks import registry

REGISTERING = {"maze": "maze", "visual_maze": "visual_maze", "puzzles": "puzzles", "maths": "maths"}
"""Task module -> the task it registers (beside puzzles' alias enigmata_mix)."""


def _fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout)


def test_importing_the_package_imports_and_registers_every_task_module():
    found = _fresh("import json, sys\nimport passkrl.tasks as t\n"
                   "print(json.dumps({'modules': sorted(m for m in sys.modules if m.startswith('passkrl.tasks.')),"
                   " 'tasks': {n: s.alias_of for n, s in t.TASKS.items()}}))")
    package = sorted(f"passkrl.tasks.{m.name}" for m in pkgutil.iter_modules(passkrl.tasks.__path__))
    assert found["modules"] == package
    assert set(found["tasks"]) == set(REGISTERING.values()) | {"enigmata_mix"}
    assert found["tasks"]["enigmata_mix"] == "puzzles"
    assert set(REGISTERING) <= {m.rsplit(".", 1)[1] for m in package}


def test_a_task_module_imported_first_still_sees_the_whole_registry():
    # the registry module is the package's: importing it imports the package, which imports every task
    found = _fresh("import json\nfrom passkrl.tasks.registry import TASKS\nprint(json.dumps(sorted(TASKS)))")
    assert found == sorted(set(REGISTERING.values()) | {"enigmata_mix"})


def test_the_package_exports_the_registrys_names():
    for name in passkrl.tasks.__all__:
        value = getattr(passkrl.tasks, name)
        assert getattr(registry, name, None) is value or name in ("Problem", "Task"), name
    assert passkrl.tasks.TASKS is registry.TASKS
