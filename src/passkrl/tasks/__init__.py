"""Tasks: problems with verifiable answers, and their verifiers.

A task follows the :class:`Task` protocol (``generate``, ``prompt``, ``score``); :func:`get_task`
builds one by name:

* ``maze``: the paper's maze (:mod:`passkrl.tasks.maze`), always available;
* ``visual_maze``: the same mazes as PNG images for vision-language models
  (:mod:`passkrl.tasks.visual_maze`), always available;
* ``puzzles`` (alias ``enigmata_mix``): reasoning-gym data sets (:mod:`passkrl.tasks.puzzles`), the
  Enigmata-like mix by default, ``puzzles/<dataset>`` for one data set; needs ``passkrl[puzzles]``;
* ``maths``: answers checked by math-verify, generated or from a data file
  (:mod:`passkrl.tasks.maths`); needs ``passkrl[maths]``.

The optional tasks are imported only when built, so ``import passkrl.tasks`` needs neither extra; a
missing extra is a :class:`MissingExtraError` naming the ``pip install`` to run. Reward functions
for verl and TRL are in :mod:`passkrl.tasks.rewards`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from passkrl.tasks.base import Problem, Task


class MissingExtraError(ImportError, ValueError):
    """An optional dependency of a task is not installed (a ``ValueError`` too, so the CLI prints one line)."""


# name -> factory; the factory takes the task's keyword options (e.g. sizes, partial for "maze").
TASKS: dict[str, Callable[..., Task]] = {}

# task -> (module that needs it, the extra that installs it)
EXTRAS = {"puzzles": ("reasoning_gym", "puzzles"), "enigmata_mix": ("reasoning_gym", "puzzles"),
          "maths": ("math_verify", "maths")}


def require_extra(task: str) -> None:
    """Raise :class:`MissingExtraError` unless the optional dependency of ``task`` imports."""
    if task not in EXTRAS:
        return
    module, extra = EXTRAS[task]
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"task {task!r} needs the {module!r} package, which is not installed: "
                                f'pip install "passkrl[{extra}]"') from None


def _maze(**options: Any) -> Task:
    from passkrl.tasks.maze import MazeTask

    return MazeTask(**options)


def _puzzles(**options: Any) -> Task:
    require_extra("puzzles")
    from passkrl.tasks.puzzles import PuzzleTask

    return PuzzleTask(**options)


def _enigmata_mix(**options: Any) -> Task:
    require_extra("enigmata_mix")
    from passkrl.tasks.puzzles import PuzzleTask

    return PuzzleTask(**{"name": "enigmata_mix", **options})


def _maths(**options: Any) -> Task:
    require_extra("maths")
    from passkrl.tasks.maths import MathsTask

    return MathsTask(**options)


def _visual_maze(**options: Any) -> Task:
    from passkrl.tasks.visual_maze import VisualMazeTask

    return VisualMazeTask(**options)


TASKS["maze"] = _maze
TASKS["visual_maze"] = _visual_maze
TASKS["puzzles"] = _puzzles
TASKS["enigmata_mix"] = _enigmata_mix
TASKS["maths"] = _maths


def get_task(name: str, **options: Any) -> Task:
    """The task registered as ``name``, built with ``options`` (``get_task("maze", sizes=(7, 9))``).

    ``"puzzles/<dataset>"`` is the puzzles task restricted to one reasoning-gym data set.
    """
    if isinstance(name, str) and name.startswith("puzzles/") and name not in TASKS:
        dataset = name.split("/", 1)[1]
        if "datasets" in options:
            raise ValueError(f"task {name!r} names its data set; do not pass datasets={options['datasets']!r}")
        return TASKS["puzzles"](datasets=[dataset], **options)
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)} "
                         "(and puzzles/<reasoning-gym data set>)")
    return TASKS[name](**options)


__all__ = ["TASKS", "MissingExtraError", "Problem", "Task", "get_task", "require_extra"]
