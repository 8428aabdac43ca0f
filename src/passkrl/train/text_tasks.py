"""Which text tasks ``passkrl train --task NAME`` can train the tiny model on, and how each is built.

A task offers the tiny model presets in its own registration (:class:`passkrl.tasks.registry.TrainPreset`,
``TaskSpec.trainable``): only tasks whose answers a ~1M-parameter character model can learn from scratch
in minutes, short single-number answers to short arithmetic questions. This module finds the preset
that ``--task`` names (``chain_sum``, or ``puzzles/chain_sum`` under its task's name), applies
``--task-options`` and ``--partial-credit``, and builds the task once per setting: the config's check,
the data and the policy of a run share one task. The policy that reads and answers them is
:mod:`passkrl.train.text_policy`. This module imports neither torch, nor the trainer, nor the config (it
reads any object with the three settings), so that checking a config (``TrainConfig.validate``) stays light.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from passkrl.parsing import json_object
from passkrl.tasks.base import Task
from passkrl.tasks.registry import TASKS, TaskSpec, TrainPreset


class TaskSettings(Protocol):
    """The settings of a run that choose its text task (``TrainConfig`` has them)."""

    task: str
    task_options: str
    partial_credit: bool


def trainable() -> dict[str, tuple[TaskSpec, TrainPreset]]:
    """Every preset the tiny model can learn, by ``--task`` name, with the task that offers it (registry order)."""
    return {name: (spec, preset) for spec in TASKS.values() for name, preset in spec.trainable.items()}


def preset_name(task: str) -> str:
    """The preset that ``--task`` names: ``puzzles/chain_sum`` -> ``chain_sum`` (a task's name, a slash, its preset)."""
    head, slash, tail = task.partition("/")
    if slash and head in TASKS and tail in TASKS[head].trainable:
        return tail
    return task


def task_options(cfg: TaskSettings) -> dict[str, Any]:
    """``--task-options`` as a dict; for a puzzle, a flat dict is the reasoning-gym config of its data set."""
    return json_object(cfg.task_options, "--task-options", example='{"max_terms": 2}')


def build_task(cfg: TaskSettings) -> Task:
    """The task of ``--task`` with its preset and ``--task-options``; ``ValueError`` if the tiny model cannot learn it.

    Built once per distinct ``(--task, --task-options, --partial-credit)`` in a process; later calls return
    the same task (tasks hold no state that scoring or drawing problems changes).
    """
    presets = trainable()
    name = preset_name(cfg.task)
    if name not in presets:
        raise ValueError(f"--task {cfg.task!r} is not trainable by the tiny model; choose one of: maze, "
                         f"{', '.join(presets)} (other tasks need a real LLM through verl or TRL, see docs/tasks.md)")
    spec, _ = presets[name]
    return _build(spec, name, cfg.task_options, bool(cfg.partial_credit))


@functools.lru_cache(maxsize=16)
def _build(spec: TaskSpec, name: str, options_json: str, partial_credit: bool) -> Task:
    """The preset ``name`` of ``spec`` with ``--task-options`` (JSON text) and ``--partial-credit`` applied."""
    if spec.extra is not None:  # before the options: a missing extra is the clearer message
        spec.extra.require(spec.name)
    extra = json_object(options_json, "--task-options", example='{"max_terms": 2}')
    preset = spec.trainable[name]
    try:
        return spec(**preset.configure(preset.options, extra, partial_credit))
    except TypeError as err:  # an unknown keyword in --task-options
        raise ValueError(f"--task-options {options_json!r}: {err}") from None


def __getattr__(name: str) -> Any:
    # TRAINABLE, the former table of presets, is now read from the registry: {--task name: TrainPreset}.
    if name == "TRAINABLE":
        return {preset_name: preset for preset_name, (_, preset) in trainable().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
