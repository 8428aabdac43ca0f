"""Which text tasks ``passkrl train --task NAME`` can train the tiny model on, and how each is built.

Only tasks whose answers a ~1M-parameter character model can learn from scratch in minutes are
offered (:data:`TRAINABLE`): short single-number answers to short arithmetic questions. The policy
that reads and answers them is :mod:`passkrl.train.text_policy`. This module imports neither torch
nor the trainer, so that checking a config (``TrainConfig.validate``) stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from passkrl.parsing import json_object

if TYPE_CHECKING:
    from passkrl.train.config import TrainConfig


@dataclass(frozen=True)
class TaskPreset:
    """How ``--task NAME`` builds its task: the registry name and its options (``--task-options`` merges in)."""

    task: str
    options: dict[str, Any]
    description: str


TRAINABLE: dict[str, TaskPreset] = {
    "chain_sum": TaskPreset("puzzles", {"datasets": ["chain_sum"], "options": {"chain_sum": {
        "min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 1, "allow_negation": False}}},
        "reasoning-gym chain_sum: sums and differences of 2-3 one-digit numbers"),
    "basic_arithmetic": TaskPreset("puzzles", {"datasets": ["basic_arithmetic"], "options": {"basic_arithmetic": {
        "min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 1, "operators": ["+", "-", "*"],
        "allow_parentheses": False, "allow_negation": False}}},
        "reasoning-gym basic_arithmetic: 2-3 one-digit numbers with + - *"),
    "maths": TaskPreset("maths", {"kinds": ["arithmetic"], "max_int": 9},
                        "the maths generator's integer arithmetic, checked by math-verify"),
}
"""Tasks the tiny model can learn, by ``--task`` name (``puzzles/chain_sum`` etc. are accepted too)."""


def preset_name(task: str) -> str:
    """The :data:`TRAINABLE` key of ``--task`` (``puzzles/chain_sum`` -> ``chain_sum``)."""
    return task.split("/", 1)[1] if task.startswith("puzzles/") else task


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def task_options(cfg: TrainConfig) -> dict[str, Any]:
    """``--task-options`` as a dict; for a puzzle, a flat dict is the reasoning-gym config of its data set."""
    return json_object(cfg.task_options, "--task-options", example='{"max_terms": 2}')


def build_task(cfg: TrainConfig):
    """The task of ``--task`` with its preset and ``--task-options``; ``ValueError`` if the tiny model cannot learn it."""
    from passkrl.tasks import get_task, require_extra

    name = preset_name(cfg.task)
    if name not in TRAINABLE:
        raise ValueError(f"--task {cfg.task!r} is not trainable by the tiny model; choose one of: maze, "
                         f"{', '.join(TRAINABLE)} (other tasks need a real LLM through verl or TRL, see docs/tasks.md)")
    preset = TRAINABLE[name]
    require_extra(preset.task)
    extra = task_options(cfg)
    if preset.task == "puzzles":
        dataset = preset.options["datasets"][0]
        options = _merge(preset.options, {"options": {dataset: extra}})
        options["binary_threshold"] = None if cfg.partial_credit else 1.0
    else:
        options = _merge(preset.options, extra)
    try:
        return get_task(preset.task, **options)
    except TypeError as err:  # an unknown keyword in --task-options
        raise ValueError(f"--task-options {cfg.task_options!r}: {err}") from None
