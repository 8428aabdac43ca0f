"""Tasks: problems with verifiable answers, and their verifiers.

A task follows the :class:`Task` protocol (``generate``, ``prompt``, ``score``); :func:`get_task`
builds one by name. The built-in task is the paper's maze (:mod:`passkrl.tasks.maze`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from passkrl.tasks.base import Problem, Task

# name -> factory; the factory takes the task's keyword options (e.g. sizes, partial for "maze").
TASKS: dict[str, Callable[..., Task]] = {}


def _maze(**options: Any) -> Task:
    from passkrl.tasks.maze import MazeTask

    return MazeTask(**options)


TASKS["maze"] = _maze


def get_task(name: str, **options: Any) -> Task:
    """The task registered as ``name``, built with ``options`` (``get_task("maze", sizes=(7, 9))``)."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name](**options)


__all__ = ["TASKS", "Problem", "Task", "get_task"]
