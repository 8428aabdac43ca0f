"""``passkrl data TASK``: write a task's data set as verl-style rows, in JSONL or Parquet.

    passkrl data maze --split test --sizes 7,9,11,13,15,17,19,21 --n 775 --out maze_test.parquet
    passkrl data maze --sizes 9,11,13,15 --n 40000 --exclude maze_test.parquet --out maze_train.parquet
    passkrl data puzzles --n 7000 --out puzzles_train.parquet           # the Enigmata-like mix
    passkrl data puzzles --datasets chain_sum,mini_sudoku --n 500 --out some.jsonl
    passkrl data maths --n 5000 --out maths_train.parquet                # generated with sympy
    passkrl data maths --input gsm.jsonl --question-field problem --answer-field solution --out gsm.parquet

The command offers every registered task that declares a data command
(:class:`passkrl.tasks.registry.DataCommand`): the task's own module says which options it takes and
writes the rows; this module only picks the task, parses its options and reports what was written.
Each row is made by its task (``Task.to_row``; see :mod:`passkrl.tasks.rows` for the layout) and every
``data_source`` is routed back to its task by ``passkrl.tasks.rewards.compute_score``. The format follows
the file's extension: ``.jsonl`` / ``.json`` (one JSON object per line) or ``.parquet`` (needs pyarrow;
what verl reads).

Reproducibility: every split draws from its own random stream ``[seed, split]``, the same streams
as ``passkrl.tasks.maze.train_test_split``. Writing the test split first and passing it to
``--exclude`` for the training split gives the paper's deduplicated pair (Table 4), and the same
mazes as ``train_test_split`` with equal sizes, counts and seed. Puzzles and generated maths
problems are deduplicated by prompt the same way (a repeated prompt is drawn again).

The file is written to a temporary sibling and moved into place at the end, so an interrupted run
never leaves a half-written data set (nor damages an older file of the same name).
"""

from __future__ import annotations

import sys
from typing import Any

import tyro

from passkrl.tasks import TASKS


def data_tasks() -> dict[str, str]:
    """Every task ``passkrl data`` can write, with its one-line description (registry order)."""
    return {name: spec.description for name, spec in TASKS.items() if spec.data_command is not None}


def _usage() -> str:
    lines = ["usage: passkrl data TASK [OPTIONS]", "", "tasks:"]
    lines += [f"  {name}  {text}" for name, text in data_tasks().items()]
    lines += ["", "Run `passkrl data TASK --help` for the options of a task."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``passkrl data TASK [OPTIONS]``; the first element of ``argv`` is the task name."""
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    task, rest = argv[0], argv[1:]
    if task not in data_tasks():
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(data_tasks())}")
    command = TASKS[task].data_command
    options = tyro.cli(command.options, args=rest, prog=f"passkrl data {task}")
    n_written = command.write(options, task)
    print(f"wrote {n_written} {options.split} rows ({command.summary(options)}, seed {options.seed}) to {options.out}",
          file=sys.stdout)
    return 0


def __getattr__(name: str) -> Any:
    # DATA_TASKS, the former table of the command's tasks, is now read from the registry.
    if name == "DATA_TASKS":
        return data_tasks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
