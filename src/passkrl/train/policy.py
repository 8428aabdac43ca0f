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

    def _encode(self, texts: list[str]) -> dict:
        return self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)

    @torch.no_grad()
    def sample(self, mazes: list, n: int, *, temperature: float, top_p: float, generator: torch.Generator) -> Rollout:
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
        attention = torch.cat([batch["attention_mask"], completion_mask], dim=1)
        rollout = Rollout(out, attention, completion_mask.float(), torch.zeros_like(completion, dtype=torch.float32),
                          np.zeros(len(prompts)), [self.tokenizer.decode(row[m.bool()], skip_special_tokens=True)
                                                   for row, m in zip(completion, completion_mask)])
        logprobs, entropy = self.token_logprobs(rollout, slice(None))
        rollout.old_logprobs = logprobs.detach()
        n_tokens = completion_mask.sum(1).clamp(min=1)
        rollout.mean_entropy = ((entropy.detach() * completion_mask).sum(1) / n_tokens).numpy()
        return rollout

    def token_logprobs(self, rollout: Rollout, rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
        sequences, attention = rollout.sequences[rows], rollout.attention_mask[rows]
        t_new = rollout.completion_mask.shape[1]
        positions = (attention.cumsum(1) - 1).clamp(min=0)
        logits = self.model(input_ids=sequences, attention_mask=attention, position_ids=positions).logits.float()
        logp = torch.log_softmax(logits[:, -t_new - 1 : -1], dim=-1)  # predicts the answer tokens
        token_logp = logp.gather(-1, sequences[:, -t_new:, None]).squeeze(-1)
        entropy = -(logp.exp() * logp).sum(-1)
        keep = rollout.completion_mask[rows].bool()
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
        # right-pad answers after left-padded prompts; ignored positions get mask 0
        ids = torch.cat([prompts["input_ids"], answers["input_ids"]], 1)
        attention = torch.cat([prompts["attention_mask"], answers_mask], 1)
        rollout = Rollout(ids, attention, answers_mask.float(), None, None, [])
        logprobs, _ = self.token_logprobs(rollout, slice(None))
        return -(logprobs * answers_mask).sum() / answers_mask.sum()


def max_answer_tokens(sizes: tuple[int, ...]) -> int:
    # A shortest path in an s x s maze has at most (s*s)/2 moves; leave room for EOS and detours.
    return max(sizes) ** 2 // 2 + 2


def build_policy(cfg: TrainConfig) -> MazePolicy | HFMazePolicy:
    torch.manual_seed(cfg.seed)
    if cfg.model is not None:
        from passkrl.models.hf import load_hf_causal_lm

        model, tokenizer = load_hf_causal_lm(cfg.model)
        return HFMazePolicy(model, tokenizer, cfg.max_new_tokens)
    tokenizer = CharTokenizer(maze_task.COMPACT_ALPHABET)
    sizes = parse_int_list(cfg.train_sizes, "train_sizes") + parse_int_list(cfg.test_sizes, "test_sizes")
    max_new = max_answer_tokens(sizes)
    prompt_len = max(sizes) * (max(sizes) + 1) + 2
    model = TinyTransformer(TinyTransformerConfig(
        vocab_size=tokenizer.vocab_size, d_model=cfg.d_model, n_layers=cfg.n_layers, n_heads=cfg.n_heads,
        d_ff=4 * cfg.d_model, max_seq_len=prompt_len + max_new + 8,
    ))
    return MazePolicy(model, tokenizer, max_new)
