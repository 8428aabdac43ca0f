"""What every task provides: problems with a verifiable answer, and a verifier.

RLVR (reinforcement learning with verifiable rewards) needs only three things from a task: a way to
draw a problem, the text the policy sees, and a rule that scores a response. :class:`Task` is that
contract as a :class:`typing.Protocol`, so a task is any object with these members; nothing has to
inherit from anything. Besides those three, a task makes its own data set rows (``to_row``, under
its ``data_source``, which :mod:`passkrl.tasks.rewards` routes back to it) and scores a batch at
once (``score_batch``, parallel where its verifier is slow). The embedded trainer, ``passkrl data``
(:mod:`passkrl.tasks.rows`) and the verl / TRL reward functions all talk to tasks through it.

Rewards are floats in ``[0, 1]``. ``reward_is_binary`` tells the caller whether they are only ever
``0.0`` or ``1.0``: the paper's analytic Pass@k estimator (arXiv 2508.10751, §2.4) is defined for
binary rewards only, while the subset form (max@k) also takes continuous ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Problem:
    """One problem of a task.

    ``question`` is the full prompt text shown to the policy (not a template), ``answer`` the ground
    truth that the task's verifier needs. For tasks where many answers are correct (every legal path
    through a maze) the ground truth is what the verifier checks against (the maze grid), and a
    reference answer, if any, lives in ``meta``.
    """

    id: str
    question: str
    answer: str
    # Excluded from the hash: a dict cannot be hashed, and id/question/answer already identify a problem.
    meta: dict[str, Any] = field(default_factory=dict, hash=False)


@runtime_checkable
class Task(Protocol):
    """A source of problems and their verifier."""

    name: str
    """Registry name, e.g. ``"maze"``."""
    reward_is_binary: bool
    """True iff :meth:`score` only ever returns 0.0 or 1.0."""
    data_source: str
    """The ``data_source`` of its rows (``"passkrl/maze"``), or their common prefix
    (``"passkrl/puzzles/"``, followed by the data set)."""

    def generate(self, rng: np.random.Generator) -> Problem:
        """Draw one problem; deterministic given the state of ``rng``."""
        ...

    def prompt(self, problem: Problem) -> str:
        """The text the policy is given for ``problem``."""
        ...

    def score(self, problem: Problem, response: str) -> float:
        """Reward of ``response`` in ``[0, 1]``; never raises on any response string."""
        ...

    def score_batch(self, problems: Sequence[Problem], responses: Sequence[str], workers: int = 1) -> list[float]:
        """``[score(p, r) for p, r in zip(problems, responses)]``, possibly in ``workers`` processes."""
        ...

    def to_row(self, problem: Problem, split: str, index: int) -> dict[str, Any]:
        """One verl-style data set row for ``problem`` (see :mod:`passkrl.tasks.rows`)."""
        ...


SPLIT_STREAMS = {"train": 0, "test": 1, "validation": 2}
"""Each split draws from its own random stream ``[seed, stream]``."""


def split_seed(seed: int, split: str) -> list[int]:
    """The seed of a split's random stream, shared by every task: the maze's ``train_test_split``, ``passkrl data`` and the text tasks' splits."""
    if split not in SPLIT_STREAMS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLIT_STREAMS)}")
    return [int(seed), SPLIT_STREAMS[split]]
