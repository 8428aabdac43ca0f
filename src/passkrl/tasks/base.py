"""What every task provides: problems with a verifiable answer, and a verifier.

RLVR (reinforcement learning with verifiable rewards) needs only three things from a task: a way to
draw a problem, the text the policy sees, and a rule that scores a response. :class:`Task` is that
contract as a :class:`typing.Protocol`, so a task is any object with these members; nothing has to
inherit from anything. The embedded trainer, the data command and the verl / TRL reward functions
all talk to tasks through it.

Rewards are floats in ``[0, 1]``. ``reward_is_binary`` tells the caller whether they are only ever
``0.0`` or ``1.0``: the paper's analytic Pass@k estimator (arXiv 2508.10751, §2.4) is defined for
binary rewards only, while the subset form (max@k) also takes continuous ones.
"""

from __future__ import annotations

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

    def generate(self, rng: np.random.Generator) -> Problem:
        """Draw one problem; deterministic given the state of ``rng``."""
        ...

    def prompt(self, problem: Problem) -> str:
        """The text the policy is given for ``problem``."""
        ...

    def score(self, problem: Problem, response: str) -> float:
        """Reward of ``response`` in ``[0, 1]``; never raises on any response string."""
        ...
