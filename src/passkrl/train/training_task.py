"""What ``passkrl train --task`` trains on, the maze or a text task: the one place that tells them apart.

The trainer's loop is the same for every task. What differs is gathered here, one class per kind of
task, and :func:`training_task` is the only code that looks at ``--task`` to choose between them:

* :class:`MazeTraining` (``--task maze``, the paper's task): mazes of ``--train-sizes``, the fixed
  held-out pool of ``--test-sizes``, and the tiny model on the compact encoding or ``--model``'s
  Hugging Face model on the paper's prompt (:mod:`passkrl.train.policy`);
* :class:`TextTraining` (a preset a task registers for the tiny model, ``TaskSpec.trainable``, found by
  :mod:`passkrl.train.text_tasks`): held-out problems first, training problems that exclude them, and
  the tiny model on bare questions and answers (:mod:`passkrl.train.text_policy`).

Each says which settings it refuses or limits (``check``, part of ``TrainConfig.validate``), which
settings beyond :data:`passkrl.train.warmup.WARMUP_FIELDS` its warm-up depends on (``warmup_fields``),
how a run's problems and policy are built (``make_data``, ``build_policy``) and what reports and run
names call it. Nothing here imports torch or the config at the top: the policies are imported when one
is built, and the settings are read from any object that has them (:class:`RunSettings`), so that
checking a config stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from passkrl.parsing import json_object
from passkrl.tasks import maze
from passkrl.tasks.base import Problem, split_seed
from passkrl.train.text_tasks import TaskSettings, build_task

if TYPE_CHECKING:  # annotations only: the policies import torch
    from passkrl.train.policy import HFMazePolicy, MazePolicy
    from passkrl.train.text_policy import TextPolicy

EVAL_CHUNK_ROWS = 1024
"""Sampled answers per evaluation batch (mazes of one size at a time, so prompts pad little); the maze's
memory check sizes the evaluation's key/value cache by it."""


class RunSettings(TaskSettings, Protocol):
    """The settings a training task reads (:class:`passkrl.train.config.TrainConfig` has them)."""

    model: Path | None
    max_new_tokens: int
    seed: int
    train_sizes: tuple[int, ...]
    test_sizes: tuple[int, ...]
    n_train_problems: int
    n_test_problems: int
    eval_pool: str
    d_model: int
    n_layers: int
    n_heads: int
    n_prompts: int
    n_rollouts: int
    eval_samples: int


@dataclass(frozen=True)
class TrainingData:
    """A run's problems: ``train`` (mazes, or :class:`passkrl.tasks.base.Problem`) and ``test``, the held-out
    pool it evaluates on (``--eval-pool``)."""

    train: list
    test: list


@dataclass(frozen=True)
class MazeTraining:
    """``--task maze``: the paper's maze, on the tiny model or a local Hugging Face model (``--model``)."""

    name: ClassVar[str] = "maze"
    warmup_fields: ClassVar[tuple[str, ...]] = ()
    """Nothing beyond the shared settings: the held-out pool is fixed and training excludes all of it."""
    problems: ClassVar[str] = "mazes"
    """What the held-out problems are called in reports."""
    group: ClassVar[str] = "size"
    """What evaluation results are grouped by, in reports."""
    run_label: ClassVar[str] = ""
    """Named in the default run directory and the first line of ``passkrl train`` (nothing: the default task)."""

    def check(self, cfg: RunSettings) -> None:
        """The maze's limits: the held-out pool's size, no ``--task-options``, the sampler's memory."""
        if cfg.n_test_problems > maze.TEST_POOL_MAX:
            raise ValueError(f"--n-test-problems must be at most {maze.TEST_POOL_MAX} (the held-out maze pool per "
                             f"size), got {cfg.n_test_problems}")
        if json_object(cfg.task_options, "--task-options", example="{}"):
            raise ValueError(f"--task-options {cfg.task_options}: the maze task takes no options (its sizes are "
                             "--train-sizes and --test-sizes); they are for --task chain_sum, basic_arithmetic or maths")
        if cfg.model is None:
            _check_sampler_memory(cfg)

    def make_data(self, cfg: RunSettings) -> TrainingData:
        """Training mazes of the run's seed, and the first ``n_test_problems`` of each test size of the fixed
        held-out pool ``eval_pool`` (the test pool, or the validation pool where settings are chosen)."""
        train = maze.train_mazes(cfg.train_sizes, cfg.n_train_problems, cfg.seed)
        test = maze.held_out_pool(cfg.test_sizes, cfg.n_test_problems, cfg.eval_pool)
        return TrainingData(train, test)

    def build_policy(self, cfg: RunSettings, data: TrainingData | None = None) -> MazePolicy | HFMazePolicy:
        """The tiny transformer sized for the run's maze sizes, or ``--model``'s Hugging Face model (the maze's
        policy does not depend on the drawn mazes, so ``data`` is not needed)."""
        import torch

        from passkrl.models.tiny import TinyTransformer, TinyTransformerConfig
        from passkrl.models.tokenizer import CharTokenizer
        from passkrl.train.policy import HFMazePolicy, MazePolicy

        torch.manual_seed(cfg.seed)
        if cfg.model is not None:
            from passkrl.models.hf import load_hf_causal_lm

            model, tokenizer = load_hf_causal_lm(cfg.model)
            return HFMazePolicy(model, tokenizer, cfg.max_new_tokens)
        tokenizer = CharTokenizer(maze.COMPACT_ALPHABET)
        sizes = cfg.train_sizes + cfg.test_sizes
        max_new = maze.max_answer_tokens(sizes)
        prompt_len = max(sizes) * (max(sizes) + 1) + 2
        # rotary positions: the weights do not depend on the sizes, only the sanity limit on lengths does
        model = TinyTransformer(TinyTransformerConfig(
            vocab_size=tokenizer.vocab_size, d_model=cfg.d_model, n_layers=cfg.n_layers, n_heads=cfg.n_heads,
            d_ff=4 * cfg.d_model, max_seq_len=max(4096, prompt_len + max_new + 8),
        ))
        return MazePolicy(model, tokenizer, max_new)


@dataclass(frozen=True)
class TextTraining:
    """``--task NAME`` for a preset the tiny model can learn: short questions with short answers."""

    name: str
    warmup_fields: ClassVar[tuple[str, ...]] = ("n_test_problems", "task_options", "partial_credit")
    """The training problems exclude the test problems, so their number counts, and the task's own settings."""
    group: ClassVar[str] = "group"

    @property
    def problems(self) -> str:
        return f"{self.name} problems"

    @property
    def run_label(self) -> str:
        return self.name

    def check(self, cfg: RunSettings) -> None:
        """No ``--model`` (it reads the maze's prompt); an unknown task, a missing extra or bad ``--task-options``."""
        if cfg.model is not None:
            raise ValueError(f"--model trains on the maze only; drop it or use --task maze (got --task {cfg.task!r})")
        build_task(cfg)

    def make_data(self, cfg: RunSettings) -> TrainingData:
        """Held-out problems first (test stream ``[seed, 1]``, validation stream ``[seed, 2]`` excluding the test
        prompts), then training problems that exclude both; the training problems and the pool ``eval_pool``.

        ``n_test_problems`` problems per evaluation group (the reasoning-gym data set, or the maths kind) in
        each pool and ``n_train_problems`` training problems, all distinct.
        """
        from passkrl.tasks.rows import distinct_problems

        task = build_task(cfg)
        n_groups = len(getattr(task, "datasets", None) or getattr(task, "kinds", None) or (1,))
        n_held_out = cfg.n_test_problems * n_groups
        test = list(distinct_problems(task, n_held_out, split_seed(cfg.seed, "test"), set()))
        seen = {p.question for p in test}
        validation = list(distinct_problems(task, n_held_out, split_seed(cfg.seed, "validation"), seen))
        seen |= {p.question for p in validation}
        train = list(distinct_problems(task, cfg.n_train_problems, split_seed(cfg.seed, "train"), seen))
        return TrainingData(train, validation if cfg.eval_pool == "validation" else test)

    def build_policy(self, cfg: RunSettings, data: TrainingData) -> TextPolicy:
        """The tiny transformer sized for the questions and answers of ``data``."""
        import torch

        from passkrl.models.tiny import TinyTransformer, TinyTransformerConfig
        from passkrl.models.tokenizer import CharTokenizer
        from passkrl.train.text_policy import ALPHABET, TextPolicy, encode_question, reference_answer

        torch.manual_seed(cfg.seed)
        task = build_task(cfg)
        problems: list[Problem] = data.train + data.test
        tokenizer = CharTokenizer(ALPHABET)
        max_new = max(len(reference_answer(p)) for p in problems) + 4  # room for EOS and a few wrong characters
        prompt_len = max(len(encode_question(p.meta["text"])) for p in problems) + 2
        model = TinyTransformer(TinyTransformerConfig(
            vocab_size=tokenizer.vocab_size, d_model=cfg.d_model, n_layers=cfg.n_layers, n_heads=cfg.n_heads,
            d_ff=4 * cfg.d_model, max_seq_len=prompt_len + max_new + 8,
        ))
        return TextPolicy(model, tokenizer, max_new, task)


MAZE = MazeTraining()


def training_task(name: str) -> MazeTraining | TextTraining:
    """What ``--task name`` trains on: the maze, or a text task's preset (``check`` refuses an unknown one)."""
    return MAZE if name == MAZE.name else TextTraining(name)


def _check_sampler_memory(cfg: RunSettings) -> None:
    """Refuse sizes the tiny model's sampler cannot hold: it allocates, per sampled answer and answer token, the
    keys and values of every layer (float32) besides the token, its log-probability and entropy."""
    from passkrl.limits import require_memory

    per_token = 8 * cfg.n_layers * cfg.d_model + 16
    tokens = min(cfg.max_new_tokens, maze.max_answer_tokens((min(cfg.train_sizes),)))
    rows = cfg.n_prompts * cfg.n_rollouts
    require_memory(rows * tokens * per_token, request=f"--n-prompts {cfg.n_prompts} x --n-rollouts {cfg.n_rollouts}",
                   what=f"the sampler's key/value cache for {rows:,} answers x {tokens} tokens")
    tokens = min(cfg.max_new_tokens, maze.max_answer_tokens((min(cfg.test_sizes),)))
    rows = max(1, EVAL_CHUNK_ROWS // cfg.eval_samples) * cfg.eval_samples
    require_memory(rows * tokens * per_token, request=f"--eval-samples {cfg.eval_samples}",
                   what=f"the evaluation's key/value cache for {rows:,} answers x {tokens} tokens")
