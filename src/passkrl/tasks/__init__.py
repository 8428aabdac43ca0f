"""Tasks: problems with verifiable answers, their verifiers, and the registry that names them.

A task follows the :class:`Task` protocol (``generate``, ``prompt``, ``score``) and declares itself in
its own module with :func:`register` (:mod:`passkrl.tasks.registry`); :func:`get_task` builds one by
name, ``passkrl data``, ``passkrl train --task`` and the verl / TRL reward functions
(:mod:`passkrl.tasks.rewards`) read the same registry. Importing this package imports each of its
modules, so every task module registers itself without being listed anywhere (keep the modules light:
an optional dependency is imported where it is used, and a missing one is a :class:`MissingExtraError`
naming the ``pip install`` to run).
"""

from __future__ import annotations

import importlib
import pkgutil

from passkrl.tasks.base import Problem, Task
from passkrl.tasks.registry import (TASKS, DataCommand, Extra, MissingExtraError, TaskSpec, TrainPreset, Variant,
                                    get_task, register, require_extra, unregister)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
del _module

__all__ = ["TASKS", "DataCommand", "Extra", "MissingExtraError", "Problem", "Task", "TaskSpec", "TrainPreset",
           "Variant", "get_task", "register", "require_extra", "unregister"]
