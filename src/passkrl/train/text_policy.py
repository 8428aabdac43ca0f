"""A generic text policy for the embedded trainer: the tiny character model on short-answer tasks.

A run of ``passkrl train --task NAME`` on a text task gets this policy (built with its problems by
:class:`passkrl.train.training_task.TextTraining`). The tiny
transformer reads the task's bare question (reasoning-gym's question, or the maths generator's,
without the ``<answer>`` instruction), then a prompt-end character, and answers with the bare
answer characters and an end-of-sequence token; the answer is scored by the task's own scorer on the
bare answer (``score_answers``): reasoning-gym's ``score_answer`` for puzzles, math-verify for maths.
The supervised warm-up imitates the reference answers (reasoning-gym items carry one; the maths
generator knows its answer), and RL is the same loop as for mazes.

Only tasks whose answers a ~1M-parameter character model can learn from scratch in minutes are
offered (:data:`TRAINABLE`): short single-number answers to short arithmetic questions. Everything
else (the Enigmata-like mix, long or structured answers, word puzzles) needs a pretrained language
model: train it with verl or TRL on rows from ``passkrl data`` (docs/tasks.md).

Departures: prompts are read character by character over printable ASCII (:data:`ALPHABET`); any
other character becomes ``?``. Partial credit (``--partial-credit``) keeps reasoning-gym's
continuous scores; by default a puzzle reward is 1 only for a score of 1 (``binary_threshold=1``).
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
import torch

from passkrl.models.tiny import TinyTransformer
from passkrl.models.tokenizer import CharTokenizer
from passkrl.tasks.base import Problem
from passkrl.train.policy import TinyPolicy

PROMPT_END = "\x1f"
"""Closes the question (ASCII unit separator: never part of a question); the answer follows it."""
ALPHABET = "".join(ch for ch in string.printable if ch not in "\t\r\x0b\x0c") + PROMPT_END
"""Printable ASCII, newline and :data:`PROMPT_END`; PAD, BOS and EOS come from the tokenizer."""


def encode_question(text: str) -> str:
    """The question as the tiny model reads it: characters outside :data:`ALPHABET` become ``?``."""
    allowed = set(ALPHABET) - {PROMPT_END}
    return "".join(ch if ch in allowed else "?" for ch in text) + PROMPT_END


class TextPolicy(TinyPolicy):
    """The tiny transformer (:class:`passkrl.train.policy.TinyPolicy`) on a task's bare questions and answers."""

    def __init__(self, model: TinyTransformer, tokenizer: CharTokenizer, max_new_tokens: int, task: Any):
        super().__init__(model, tokenizer, max_new_tokens)
        self.task = task

    def _prompt_ids(self, problems: list) -> list[list[int]]:
        return [[self.tokenizer.bos_id] + self.tokenizer.encode(encode_question(p.meta["text"])) for p in problems]

    def eval_group(self, problem: Problem) -> Any:
        return problem.meta["group"]

    def score(self, problems: list, answers: list[str], *, partial: bool) -> np.ndarray:
        """Rewards ``[len(problems) * n]`` of bare answers grouped by problem, by the task's scorer."""
        n = len(answers) // len(problems)
        repeated = [problems[i // n] for i in range(len(answers))]
        return np.array(self.task.score_answers(repeated, answers), dtype=np.float64)

    def supervised_loss(self, problems: list) -> torch.Tensor:
        """Cross-entropy of the reference answer (and EOS) given the question, on the answer tokens only."""
        prompts = self._prompt_ids(problems)
        answers = [self.tokenizer.encode(reference_answer(p)) + [self.tokenizer.eos_id] for p in problems]
        width = max(len(p) + len(a) for p, a in zip(prompts, answers))
        ids = torch.full((len(problems), width), self.tokenizer.pad_id, dtype=torch.long)
        target = torch.zeros((len(problems), width), dtype=torch.long)
        for row, (p, a) in enumerate(zip(prompts, answers)):
            seq = p + a
            ids[row, width - len(seq):] = torch.tensor(seq)  # left padding, as in sampling
            target[row, width - len(a):] = 1
        attention = (ids != self.tokenizer.pad_id).long()
        logprobs, _ = self.model.sequence_logprobs(ids, attention, target)
        return -(logprobs * target).sum() / target.sum()


def reference_answer(problem: Problem) -> str:
    """The answer the warm-up imitates; ``ValueError`` if it does not fit :data:`ALPHABET`."""
    answer = problem.answer
    if not answer or any(ch not in ALPHABET or ch == PROMPT_END for ch in answer):
        raise ValueError(f"problem {problem.id!r} has no reference answer in printable ASCII ({answer!r}); "
                         "the tiny model cannot be warmed up on it")
    return answer
