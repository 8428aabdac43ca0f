"""The trainer's policies: rollouts split and joined by prompt, the tiny model's shared sampling, the maze's
warm-up loss; the Hugging Face policy is tested with a real model in ``tests/models/test_hf.py``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from passkrl.tasks import maze
from passkrl.train.config import TrainConfig
from passkrl.train.policy import MazePolicy, Rollout, TinyPolicy, concat
from passkrl.train.text_policy import TextPolicy
from passkrl.train.training_task import MAZE


def rollout(prompts: list[list[int]], answers: list[list[int]], n: int) -> Rollout:
    """A rollout of token ids as the sampler lays them out: prompts left-padded, answers right-padded."""
    t_p, t_new = max(map(len, prompts)), max(map(len, answers))
    prompt_ids = torch.tensor([[0] * (t_p - len(p)) + p for p in prompts])
    completion_ids = torch.tensor([a + [0] * (t_new - len(a)) for a in answers])
    completion_mask = torch.tensor([[1.0] * len(a) + [0.0] * (t_new - len(a)) for a in answers])
    logprobs = torch.arange(completion_ids.numel(), dtype=torch.float32).reshape(completion_ids.shape) * completion_mask
    return Rollout(prompt_ids, (prompt_ids != 0).long(), completion_ids, completion_mask, logprobs,
                   np.arange(len(answers), dtype=float), [str(a) for a in answers], n)


def test_groups_keep_each_prompt_with_its_answers_and_trim_the_padding():
    full = rollout([[5], [6, 7, 8], [9, 9]], [[1], [1, 2], [3, 3, 3, 3], [4], [5, 5], [6]], n=2)
    part = full.groups([2, 0])
    assert part.prompt_ids.tolist() == [[9, 9], [0, 5]]  # left padding trimmed to the longest kept prompt
    assert part.answers == ["[5, 5]", "[6]", "[1]", "[1, 2]"] and part.mean_entropy.tolist() == [4.0, 5.0, 0.0, 1.0]
    assert part.completion_ids.tolist() == [[5, 5], [6, 0], [1, 0], [1, 2]]
    assert part.sequences.shape == (4, 4) and part.attention_mask[1].tolist() == [1, 1, 1, 0]
    assert full.groups(slice(1, 2)).answers == ["[3, 3, 3, 3]", "[4]"]


def test_concat_joins_rollouts_of_one_group_size_and_refuses_others():
    a = rollout([[5]], [[1], [1, 2, 3]], n=2)
    b = rollout([[6, 7]], [[4], [5]], n=2)
    joined = concat([a, b])
    assert joined.n_prompts == 2 and joined.prompt_ids.tolist() == [[0, 5], [6, 7]]
    assert joined.completion_ids.tolist() == [[1, 0, 0], [1, 2, 3], [4, 0, 0], [5, 0, 0]]
    assert torch.equal(joined.old_logprobs[2], torch.tensor([0.0, 0.0, 0.0]))  # padding stays zero
    with pytest.raises(ValueError, match="rollouts with different group sizes cannot be joined"):
        concat([a, rollout([[5]], [[1]], n=1)])


def test_the_maze_and_text_policies_share_the_tiny_models_sampling():
    assert issubclass(MazePolicy, TinyPolicy) and issubclass(TextPolicy, TinyPolicy)
    for method in ("sample", "add_logprobs", "token_logprobs"):
        assert getattr(MazePolicy, method) is getattr(TinyPolicy, method) is getattr(TextPolicy, method)
    cfg = TrainConfig(d_model=32, n_layers=1, n_heads=2, train_sizes="7", test_sizes="7")
    policy = MAZE.build_policy(cfg)
    mazes = maze.held_out_pool([7], 2)
    out = policy.sample(mazes, 3, temperature=1.0, top_p=1.0, generator=torch.Generator().manual_seed(0))
    assert out.n == 3 and out.n_prompts == 2 and len(out.answers) == 6
    assert out.completion_ids.shape[1] <= policy.answer_limit(mazes)
    logprobs, _ = policy.token_logprobs(out)
    torch.testing.assert_close(logprobs.detach(), out.old_logprobs, atol=1e-5, rtol=0)  # the update's own pass
    unscored = policy.sample(mazes, 3, temperature=1.0, top_p=1.0, generator=torch.Generator().manual_seed(0),
                             logprobs=False)  # the sampler's own log-probabilities, the same to rounding
    assert unscored.answers == out.answers and not torch.equal(unscored.old_logprobs, torch.zeros_like(logprobs))
    torch.testing.assert_close(unscored.old_logprobs, out.old_logprobs, atol=1e-5, rtol=0)
    assert policy.score(mazes, out.answers, partial=False).shape == (6,)
    assert policy.eval_group(mazes[0]) == 7


def test_the_warm_up_loss_run_one_prompt_length_at_a_time_is_the_padded_batchs_loss():
    """supervised_loss skips the padding between maze sizes; the mean token cross-entropy and its
    gradient are those of the whole batch left-padded together."""
    cfg = TrainConfig(d_model=32, n_layers=2, n_heads=2, train_sizes="7,9,11", test_sizes="11", progress=False)
    policy = MAZE.build_policy(cfg)
    mazes = maze.held_out_pool([7, 9, 11], 3)
    mazes = [mazes[i] for i in (0, 4, 8, 1, 5, 2)]  # sizes interleaved

    prompts = policy._prompt_ids(mazes)
    answers = [policy.tokenizer.encode(m.solution) + [policy.tokenizer.eos_id] for m in mazes]
    width = max(len(p) + len(a) for p, a in zip(prompts, answers))
    ids = torch.full((len(mazes), width), policy.tokenizer.pad_id, dtype=torch.long)
    target = torch.zeros_like(ids)
    for row, (p, a) in enumerate(zip(prompts, answers)):
        ids[row, width - len(p) - len(a):] = torch.tensor(p + a)
        target[row, width - len(a):] = 1
    logprobs, _ = policy.model.sequence_logprobs(ids, (ids != policy.tokenizer.pad_id).long(), target)
    padded = -(logprobs * target).sum() / target.sum()
    padded_grads = torch.autograd.grad(padded, list(policy.model.parameters()))

    grouped = policy.supervised_loss(mazes)
    grouped_grads = torch.autograd.grad(grouped, list(policy.model.parameters()))
    assert len({len(p) for p in prompts}) == 3
    torch.testing.assert_close(grouped, padded, rtol=1e-5, atol=1e-6)
    for g, p in zip(grouped_grads, padded_grads):
        torch.testing.assert_close(g, p, rtol=1e-4, atol=1e-6)
