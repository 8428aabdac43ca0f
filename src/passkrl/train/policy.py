"""The maze policy: the tiny transformer, its character tokenizer and the maze encodings together.

The trainer talks only to :class:`MazePolicy`: ``sample`` answers for mazes, ``score`` them with the
maze verifier, recompute ``token_logprobs`` for the update and ``supervised_loss`` for the warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from passkrl.models.tiny import TinyTransformer, TinyTransformerConfig
from passkrl.models.tokenizer import CharTokenizer
from passkrl.tasks import maze as maze_task
from passkrl.train.config import TrainConfig, parse_int_list


@dataclass
class Rollout:
    """Sampled answers of a batch: prompts repeated ``n`` times, row ``i * n + j`` is answer ``j`` of prompt ``i``."""

    sequences: torch.Tensor  # [B, T] left-padded prompt + completion
    attention_mask: torch.Tensor  # [B, T]
    completion_mask: torch.Tensor  # [B, T_new] answer tokens (EOS included)
    old_logprobs: torch.Tensor  # [B, T_new] log-probabilities under the sampling policy
    mean_entropy: np.ndarray  # [B] mean token entropy of each answer
    answers: list[str]  # [B] decoded answers (move letters)


class MazePolicy:
    def __init__(self, model: TinyTransformer, tokenizer: CharTokenizer, max_new_tokens: int):
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens

    def _prompt_ids(self, mazes: list) -> list[list[int]]:
        return [[self.tokenizer.bos_id] + self.tokenizer.encode(maze_task.compact_prompt(m)) for m in mazes]

    @torch.no_grad()
    def sample(self, mazes: list, n: int, *, temperature: float, top_p: float, generator: torch.Generator) -> Rollout:
        prompts = [ids for ids in self._prompt_ids(mazes) for _ in range(n)]
        out = self.model.generate(prompts, self.max_new_tokens, temperature=temperature, top_p=top_p,
                                  eos_id=self.tokenizer.eos_id, pad_id=self.tokenizer.pad_id, generator=generator)
        attention_mask = (out.sequences != self.tokenizer.pad_id).long()
        completion_mask = out.completion_mask
        full_completion_mask = torch.zeros_like(out.sequences)
        full_completion_mask[:, -completion_mask.shape[1]:] = completion_mask
        logprobs, entropy = self.model.sequence_logprobs(out.sequences, attention_mask, full_completion_mask)
        t_new = completion_mask.shape[1]
        logprobs, entropy = logprobs[:, -t_new:], entropy[:, -t_new:]
        n_tokens = completion_mask.sum(dim=1).clamp(min=1)
        mean_entropy = ((entropy * completion_mask).sum(dim=1) / n_tokens).numpy()
        answers = [self.tokenizer.decode(row.tolist()) for row in out.completion_ids]
        return Rollout(out.sequences, attention_mask, completion_mask.float(), logprobs, mean_entropy, answers)

    def token_logprobs(self, rollout: Rollout, rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (with gradient) and entropies of the answer tokens ``[b, T_new]``."""
        sequences, attention = rollout.sequences[rows], rollout.attention_mask[rows]
        t_new = rollout.completion_mask.shape[1]
        full_mask = torch.zeros_like(sequences)
        full_mask[:, -t_new:] = rollout.completion_mask[rows].long()
        logprobs, entropy = self.model.sequence_logprobs(sequences, attention, full_mask)
        return logprobs[:, -t_new:], entropy[:, -t_new:]

    def score(self, mazes: list, answers: list[str], *, partial: bool) -> np.ndarray:
        """Rewards ``[len(mazes) * n]`` for answers grouped by maze (``n = len(answers) // len(mazes)``)."""
        n = len(answers) // len(mazes)
        return np.array([maze_task.score_compact(mazes[i // n].grid, answer, partial=partial)
                         for i, answer in enumerate(answers)], dtype=np.float64)

    def supervised_loss(self, mazes: list) -> torch.Tensor:
        """Cross-entropy of the shortest path (and EOS) given the prompt, on the answer tokens only."""
        prompts = self._prompt_ids(mazes)
        answers = [self.tokenizer.encode(m.solution) + [self.tokenizer.eos_id] for m in mazes]
        width = max(len(p) + len(a) for p, a in zip(prompts, answers))
        ids = torch.full((len(mazes), width), self.tokenizer.pad_id, dtype=torch.long)
        target = torch.zeros((len(mazes), width), dtype=torch.long)
        for row, (p, a) in enumerate(zip(prompts, answers)):
            seq = p + a
            ids[row, width - len(seq):] = torch.tensor(seq)  # left padding, as in sampling
            target[row, width - len(a):] = 1
        attention = (ids != self.tokenizer.pad_id).long()
        logprobs, _ = self.model.sequence_logprobs(ids, attention, target)
        return -(logprobs * target).sum() / target.sum()


def max_answer_tokens(sizes: tuple[int, ...]) -> int:
    # A shortest path in an s x s maze has at most (s*s)/2 moves; leave room for EOS and detours.
    return max(sizes) ** 2 // 2 + 2


def build_policy(cfg: TrainConfig) -> MazePolicy:
    torch.manual_seed(cfg.seed)
    tokenizer = CharTokenizer(maze_task.COMPACT_ALPHABET)
    sizes = parse_int_list(cfg.train_sizes, "train_sizes") + parse_int_list(cfg.test_sizes, "test_sizes")
    max_new = max_answer_tokens(sizes)
    prompt_len = max(sizes) * (max(sizes) + 1) + 2
    model = TinyTransformer(TinyTransformerConfig(
        vocab_size=tokenizer.vocab_size, d_model=cfg.d_model, n_layers=cfg.n_layers, n_heads=cfg.n_heads,
        d_ff=4 * cfg.d_model, max_seq_len=prompt_len + max_new + 8,
    ))
    return MazePolicy(model, tokenizer, max_new)
