"""The trainer's policies: what it asks of one (:class:`Policy`), the tiny model's (:class:`TinyPolicy`) and the maze's.

The trainer talks only to a :class:`Policy`: ``sample`` answers for a batch of problems, ``score`` them with
the task's verifier, recompute ``token_logprobs`` for the update and ``supervised_loss`` for the warm-up.
:class:`TinyPolicy` is the tiny transformer with its character tokenizer, sampling and log-probabilities over
prompts that a subclass encodes; :class:`MazePolicy` is it on the maze's compact encoding, and
:class:`passkrl.train.text_policy.TextPolicy` on a text task's bare questions. :class:`HFMazePolicy` is a
local Hugging Face model on the paper's maze prompt. Which one a run gets is :mod:`passkrl.train.training_task`'s
choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from passkrl.models.tiny import TinyTransformer
from passkrl.models.tokenizer import CharTokenizer
from passkrl.tasks import maze as maze_task
from passkrl.tasks.maze import max_answer_tokens


@dataclass
class Rollout:
    """Sampled answers of a batch of ``P`` prompts, ``n`` each: row ``i * n + j`` is answer ``j`` of prompt ``i``.

    The prompts are stored once (``[P, T_p]``, left-padded), the answers once per sample
    (``[B, T_new]``, ``B = P * n``, PAD after EOS).
    """

    prompt_ids: torch.Tensor  # [P, T_p]
    prompt_mask: torch.Tensor  # [P, T_p]
    completion_ids: torch.Tensor  # [B, T_new]
    completion_mask: torch.Tensor  # [B, T_new] answer tokens (EOS included), float
    old_logprobs: torch.Tensor  # [B, T_new] log-probabilities under the sampling policy
    mean_entropy: np.ndarray  # [B] mean token entropy of each answer
    answers: list[str]  # [B] decoded answers
    n: int  # samples per prompt

    @property
    def n_prompts(self) -> int:
        return self.prompt_ids.shape[0]

    @property
    def sequences(self) -> torch.Tensor:
        """``[B, T_p + T_new]``: every answer after its (repeated) prompt."""
        return torch.cat([self.prompt_ids.repeat_interleave(self.n, dim=0), self.completion_ids], dim=1)

    @property
    def attention_mask(self) -> torch.Tensor:
        prompt = self.prompt_mask.repeat_interleave(self.n, dim=0).long()
        return torch.cat([prompt, self.completion_mask.long()], dim=1)

    def groups(self, prompts: slice | list[int] | torch.Tensor) -> Rollout:
        """The rollout of a subset of the prompts (with all their answers), padding trimmed."""
        index = torch.arange(self.n_prompts)[prompts] if isinstance(prompts, slice) else torch.as_tensor(prompts)
        rows = (index[:, None] * self.n + torch.arange(self.n)[None]).reshape(-1)
        return concat([Rollout(self.prompt_ids[index], self.prompt_mask[index], self.completion_ids[rows],
                               self.completion_mask[rows], self.old_logprobs[rows], self.mean_entropy[rows.numpy()],
                               [self.answers[r] for r in rows.tolist()], self.n)])


def concat(parts: list[Rollout], pad_id: int = 0) -> Rollout:
    """One rollout of several (same ``n``): prompts re-left-padded, answers re-right-padded to common widths."""
    n = parts[0].n
    if any(part.n != n for part in parts):
        raise ValueError("rollouts with different group sizes cannot be joined")
    t_p = max(int(part.prompt_mask.sum(1).max()) if part.prompt_mask.numel() else 0 for part in parts)
    t_new = max(int(part.completion_mask.sum(1).max()) if part.completion_mask.numel() else 0 for part in parts)
    t_p, t_new = max(t_p, 1), max(t_new, 1)

    def left(x, width, value):  # keep the last ``width`` columns, pad on the left
        x = x[:, -width:] if x.shape[1] >= width else x
        return torch.nn.functional.pad(x, (width - x.shape[1], 0), value=value)

    def right(x, width, value):
        x = x[:, :width]
        return torch.nn.functional.pad(x, (0, width - x.shape[1]), value=value)

    return Rollout(
        torch.cat([left(p.prompt_ids, t_p, pad_id) for p in parts]),
        torch.cat([left(p.prompt_mask, t_p, 0) for p in parts]),
        torch.cat([right(p.completion_ids, t_new, pad_id) for p in parts]),
        torch.cat([right(p.completion_mask, t_new, 0) for p in parts]),
        torch.cat([right(p.old_logprobs, t_new, 0) for p in parts]),
        np.concatenate([p.mean_entropy for p in parts]),
        [a for p in parts for a in p.answers],
        n,
    )


def mean_over_answer(values_bt: torch.Tensor, completion_mask: torch.Tensor) -> np.ndarray:
    """``[B]``: each answer's mean of a per-token quantity over its own tokens (EOS included)."""
    return ((values_bt * completion_mask).sum(dim=1) / completion_mask.sum(dim=1).clamp(min=1)).numpy()


@torch.no_grad()
def add_logprobs(policy: Policy, rollout: Rollout) -> Rollout:
    """Fill the rollout's ``old_logprobs`` and ``mean_entropy`` by one no-grad pass of the policy's
    ``token_logprobs``: the update's own computation (not the sampler's), so that the first ratio is 1
    up to rounding."""
    logprobs, entropy = policy.token_logprobs(rollout)
    rollout.old_logprobs = logprobs
    rollout.mean_entropy = mean_over_answer(entropy, rollout.completion_mask)
    return rollout


class Policy(Protocol):
    """What the trainer needs of a policy, beside :class:`passkrl.tasks.base.Task` for the problems it reads.

    ``items`` are the task's problems (mazes, or :class:`passkrl.tasks.base.Problem`); answers come
    grouped by item, ``n`` per item.
    """

    model: torch.nn.Module

    def sample(self, items: list, n: int, *, temperature: float, top_p: float, generator: torch.Generator,
               logprobs: bool = True) -> Rollout:
        """``n`` answers per item, with their log-probabilities under the sampling policy.

        ``logprobs=False`` skips the no-grad pass of :meth:`add_logprobs`: ``old_logprobs`` are then what
        the sampler computed (zero for a policy whose sampler does not report them) and ``mean_entropy``
        what the sampler saw (the entropy of the logits it drew each token from), or NaN where it does not
        report it. The trainer takes the old log-probabilities the ratio is made of from the update's own
        passes (:func:`passkrl.train.trainer.rl_step`)."""

    def add_logprobs(self, rollout: Rollout) -> Rollout:
        """Fill ``old_logprobs`` and ``mean_entropy`` by one no-grad pass of :meth:`token_logprobs`."""

    def token_logprobs(self, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (with gradient) and entropies ``[B, T_new]`` of the rollout's answers."""

    def score(self, items: list, answers: list[str], *, partial: bool) -> np.ndarray:
        """The verifier's rewards of answers grouped by item."""

    def supervised_loss(self, items: list) -> torch.Tensor:
        """Cross-entropy of the reference answers, for the warm-up."""

    def eval_group(self, item: Any) -> Any:
        """What evaluation results are grouped by (a maze's size, a problem's data set)."""


class TinyPolicy:
    """The tiny transformer's half of a :class:`Policy`: sampling (one prefill per prompt) and log-probabilities.

    A subclass encodes its task's prompts (``_prompt_ids``), may bound the answers of a batch (``answer_limit``)
    and adds the task's half: ``score``, ``supervised_loss`` and ``eval_group``.
    """

    def __init__(self, model: TinyTransformer, tokenizer: CharTokenizer, max_new_tokens: int):
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens

    def _prompt_ids(self, items: list) -> list[list[int]]:
        """Each item's prompt as token ids, BOS first."""
        raise NotImplementedError

    def answer_limit(self, items: list) -> int:
        """Most answer tokens sampled for this batch."""
        return self.max_new_tokens

    @torch.no_grad()
    def sample(self, items: list, n: int, *, temperature: float, top_p: float, generator: torch.Generator,
               logprobs: bool = True) -> Rollout:
        """``n`` answers per item: one prefill per prompt, its KV cache shared by the ``n`` samples."""
        out = self.model.generate(self._prompt_ids(items), self.answer_limit(items), temperature=temperature,
                                  top_p=top_p,
                                  eos_id=self.tokenizer.eos_id, pad_id=self.tokenizer.pad_id, generator=generator,
                                  n_samples=n)
        completion_mask = out.completion_mask.float()
        # the sampler's entropies: the same network on the cached path, equal to add_logprobs' to rounding
        mean_entropy = mean_over_answer(out.entropy, completion_mask)
        rollout = Rollout(out.prompt_ids, out.prompt_mask, out.completion_ids, completion_mask,
                          out.logprobs * completion_mask, mean_entropy,
                          [self.tokenizer.decode(row.tolist()) for row in out.completion_ids], n)
        return self.add_logprobs(rollout) if logprobs else rollout

    def add_logprobs(self, rollout: Rollout) -> Rollout:
        return add_logprobs(self, rollout)

    def token_logprobs(self, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (with gradient) and entropies ``[B, T_new]`` of the rollout's answers.

        Each prompt passes through the network once for its ``n`` answers (exact: see
        :meth:`TinyTransformer.shared_logprobs`).
        """
        return self.model.shared_logprobs(rollout.prompt_ids, rollout.prompt_mask, rollout.completion_ids,
                                          rollout.completion_mask, rollout.n)


class MazePolicy(TinyPolicy):
    """The tiny transformer on the maze's compact encoding (rows joined by ``/``), answering bare move letters."""

    def _prompt_ids(self, mazes: list) -> list[list[int]]:
        return [[self.tokenizer.bos_id] + self.tokenizer.encode(maze_task.compact_prompt(m)) for m in mazes]

    def eval_group(self, maze) -> int:
        return maze.size

    def answer_limit(self, mazes: list) -> int:
        """Most answer tokens sampled for this batch: what its largest maze can need."""
        return min(self.max_new_tokens, max_answer_tokens(tuple(m.size for m in mazes)))

    def score(self, mazes: list, answers: list[str], *, partial: bool) -> np.ndarray:
        """Rewards ``[len(mazes) * n]`` for answers grouped by maze (``n = len(answers) // len(mazes)``)."""
        n = len(answers) // len(mazes)
        return np.array([maze_task.score_compact(mazes[i // n].grid, answer, partial=partial)
                         for i, answer in enumerate(answers)], dtype=np.float64)

    def supervised_loss(self, mazes: list) -> torch.Tensor:
        """Cross-entropy of the shortest path (and EOS) given the prompt, on the answer tokens only.

        The mean over all answer tokens of the batch, ``-sum log p / n_tokens``. Mazes of one size have
        prompts of one length, so the batch is run one prompt length at a time: the padding a 7x7
        prompt would need beside a 9x9 one is never computed (a row's log-probabilities do not depend
        on the rows beside it, so the sum is the same).
        """
        prompts = self._prompt_ids(mazes)
        answers = [self.tokenizer.encode(m.solution) + [self.tokenizer.eos_id] for m in mazes]
        by_length: dict[int, list[int]] = {}
        for row, p in enumerate(prompts):
            by_length.setdefault(len(p), []).append(row)
        total_logprob, n_tokens = 0.0, sum(len(a) for a in answers)
        for rows in by_length.values():
            width = max(len(prompts[r]) + len(answers[r]) for r in rows)
            ids = torch.full((len(rows), width), self.tokenizer.pad_id, dtype=torch.long)
            target = torch.zeros((len(rows), width), dtype=torch.long)
            for i, r in enumerate(rows):
                seq = prompts[r] + answers[r]
                ids[i, width - len(seq):] = torch.tensor(seq)  # left padding, as in sampling
                target[i, width - len(answers[r]):] = 1
            attention = (ids != self.tokenizer.pad_id).long()
            logprobs, _ = self.model.sequence_logprobs(ids, attention, target)
            total_logprob = total_logprob + (logprobs * target).sum()
        return -total_logprob / n_tokens


class HFMazePolicy:
    """The same four methods for a local Hugging Face causal LM, on the paper's Fig. 14 prompt.

    Answers are free text scored by :func:`passkrl.tasks.maze.score` (the last ``<answer>`` block);
    the warm-up imitates ``<answer> MOVES </answer>``. Sampling draws from the torch generator's
    seed so that resumed runs repeat the same rollouts.
    """

    def __init__(self, model, tokenizer, max_new_tokens: int):
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens

    def eval_group(self, maze) -> int:
        return maze.size

    def _encode(self, texts: list[str]) -> dict:
        return self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)

    @torch.no_grad()
    def sample(self, mazes: list, n: int, *, temperature: float, top_p: float, generator: torch.Generator,
               logprobs: bool = True) -> Rollout:
        prompts = [maze_task.prompt(m) for m in mazes for _ in range(n)]
        batch = self._encode(prompts)
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
        out = self.model.generate(**batch, do_sample=temperature > 0, temperature=max(temperature, 1e-5), top_p=top_p,
                                  top_k=0, max_new_tokens=self.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                                  eos_token_id=self.tokenizer.eos_token_id)
        t_prompt = batch["input_ids"].shape[1]
        completion = out[:, t_prompt:]
        eos = self.tokenizer.eos_token_id
        # answer tokens up to and including the first EOS
        is_eos = (completion == eos).long() if eos is not None else torch.zeros_like(completion)
        completion_mask = ((is_eos.cumsum(1) - is_eos) == 0).long()
        rollout = Rollout(batch["input_ids"][::n], batch["attention_mask"][::n], completion, completion_mask.float(),
                          torch.zeros_like(completion, dtype=torch.float32), np.full(len(prompts), np.nan),
                          [self.tokenizer.decode(row[m.bool()], skip_special_tokens=True)
                           for row, m in zip(completion, completion_mask)], n)
        return self.add_logprobs(rollout) if logprobs else rollout

    def add_logprobs(self, rollout: Rollout) -> Rollout:
        return add_logprobs(self, rollout)

    def token_logprobs(self, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor]:
        sequences, attention = rollout.sequences, rollout.attention_mask
        t_new = rollout.completion_mask.shape[1]
        positions = (attention.cumsum(1) - 1).clamp(min=0)
        logits = self.model(input_ids=sequences, attention_mask=attention, position_ids=positions).logits.float()
        logp = torch.log_softmax(logits[:, -t_new - 1 : -1], dim=-1)  # predicts the answer tokens
        token_logp = logp.gather(-1, sequences[:, -t_new:, None]).squeeze(-1)
        entropy = -(logp.exp() * logp).sum(-1)
        keep = rollout.completion_mask.bool()
        return torch.where(keep, token_logp, 0.0), torch.where(keep, entropy, 0.0)

    def score(self, mazes: list, answers: list[str], *, partial: bool) -> np.ndarray:
        n = len(answers) // len(mazes)
        return np.array([maze_task.score(mazes[i // n].grid, answer, partial=partial)
                         for i, answer in enumerate(answers)], dtype=np.float64)

    def supervised_loss(self, mazes: list) -> torch.Tensor:
        prompts = self._encode([maze_task.prompt(m) for m in mazes])
        eos = self.tokenizer.eos_token or ""
        answers = self.tokenizer([f"<answer> {m.solution} </answer>{eos}" for m in mazes], return_tensors="pt",
                                 padding=True, add_special_tokens=False)
        answers_mask = answers["attention_mask"]
        # right-padded answers after left-padded prompts; ignored positions get mask 0
        rollout = Rollout(prompts["input_ids"], prompts["attention_mask"], answers["input_ids"], answers_mask.float(),
                          None, None, [], 1)
        logprobs, _ = self.token_logprobs(rollout)
        return -(logprobs * answers_mask).sum() / answers_mask.sum()
