"""The training regime's pieces: the fixed held-out pool, RL replicates, DAPO's dynamic sampling."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from passkrl.cli import main
from passkrl.tasks import maze as M
from passkrl.train.config import TrainConfig, resolve
from passkrl.train.trainer import build, collect_batch
from passkrl.train.warmup import cache_key


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path_factory.getbasetemp() / "passkrl-cache"))


def test_held_out_pool_is_fixed_nested_and_never_trained_on():
    small = M.held_out_pool((7, 9), 8)
    large = M.held_out_pool((9, 7, 11), 64)
    assert [m.size for m in small] == [7] * 8 + [9] * 8
    by_size = {s: [m.grid for m in large if m.size == s] for s in (7, 9, 11)}
    assert [m.grid for m in small if m.size == 7] == by_size[7][:8]  # a larger evaluation extends a smaller one
    assert [m.grid for m in small if m.size == 9] == by_size[9][:8]
    assert len({m.grid for m in large}) == len(large)
    with pytest.raises(ValueError, match="at most 512"):
        resolve(TrainConfig(n_test_problems=513))


@pytest.mark.parametrize("sizes", [(7, 9), (9, 11)])
def test_test_pool_validation_pool_and_training_share_no_maze(sizes):
    """Settings are chosen on the validation pool, results reported on the test pool: the two and the
    training data of any seed are disjoint, each pool whole (not only what an evaluation uses)."""
    test = {m.grid for m in M.held_out_pool(sizes, M.TEST_POOL_MAX, "test")}
    validation = {m.grid for m in M.held_out_pool(sizes, M.TEST_POOL_MAX, "validation")}
    assert len(test) == len(validation) == M.TEST_POOL_MAX * len(sizes)
    assert not test & validation
    for seed in (0, 1):
        train = {m.grid for m in M.train_mazes(sizes, 3000, seed)}
        assert not train & test and not train & validation
    # the trainer evaluates the pool its config names
    from passkrl.train.trainer import make_data

    for pool, grids in (("test", test), ("validation", validation)):
        data = make_data(TrainConfig(train_sizes=sizes, test_sizes=sizes, n_train_problems=200, n_test_problems=16,
                                     eval_pool=pool))
        assert {m.grid for m in data.test} <= grids
    with pytest.raises(ValueError, match="pool must be one of test, validation, got 'train'"):
        M.held_out_pool(sizes, 4, "train")


def test_the_test_pool_is_not_part_of_the_warm_up_key():
    base = resolve(TrainConfig(smoke=True))
    key = cache_key(base)
    for change in (dict(n_test_problems=64), dict(test_sizes="7,9,11,13,15"), dict(rl_seed=3), dict(eval_samples=32)):
        assert cache_key(dataclasses.replace(base, **change)) == key, change
    for change in (dict(train_sizes="9"), dict(seed=1), dict(warmup_steps=41), dict(n_train_problems=300)):
        assert cache_key(dataclasses.replace(base, **change)) != key, change
    # the training data does not move when the evaluation grows
    a, _ = build(base)
    b, _ = build(dataclasses.replace(base, n_test_problems=200, test_sizes="7,9,11"))
    assert [m.grid for m in a.train] == [m.grid for m in b.train]


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_rl_replicates_share_the_warm_up_and_differ_in_rl(tmp_path, capsys):
    runs = {}
    for rl_seed in (0, 1):
        out = tmp_path / f"r{rl_seed}"
        assert main(["train", "--smoke", "--no-progress", "--rl-seed", str(rl_seed), "--out", str(out)]) == 0
        runs[rl_seed] = _records(out)
    assert "reusing cached weights" in capsys.readouterr().out  # the second replicate reused the first's warm-up
    before = [r for r in runs[0] if r["kind"] == "eval"][0], [r for r in runs[1] if r["kind"] == "eval"][0]
    assert before[0]["correct"] == before[1]["correct"]  # same warm-up, same step-0 evaluation
    train = [[r for r in runs[s] if r["kind"] == "train"] for s in (0, 1)]
    assert [r["completion_tokens"] for r in train[0]] != [r["completion_tokens"] for r in train[1]]


class ScriptedRewards:
    """The real smoke policy, with the verifier replaced by a script: a maze's group is all-right,
    all-wrong or mixed according to its grid, so the test knows which groups dynamic sampling keeps."""

    def __init__(self, policy, kind_of):
        self._policy, self.kind_of = policy, kind_of

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def score(self, mazes, answers, *, partial):
        n = len(answers) // len(mazes)
        rows = []
        for maze in mazes:
            kind = self.kind_of(maze)
            rows.append(np.ones(n) if kind == "right" else np.zeros(n) if kind == "wrong" else np.arange(n) % 2)
        return np.concatenate(rows).astype(float)


def test_dynamic_sampling_drops_equal_groups_and_refills_the_batch():
    cfg = resolve(TrainConfig(smoke=True, dynamic_sampling=True, dynamic_max_rounds=4, n_prompts=4))
    data, policy = build(cfg)
    policy.model.eval()
    kind = {m.grid: ("mixed" if i % 3 == 0 else "right" if i % 3 == 1 else "wrong") for i, m in enumerate(data.train)}
    scripted = ScriptedRewards(policy, lambda m: kind[m.grid])
    forward_rows = []  # rows of every log-probability pass: only the kept groups are scored, once
    real_token_logprobs = policy.token_logprobs
    policy.token_logprobs = lambda rollout: forward_rows.append(len(rollout.answers)) or real_token_logprobs(rollout)
    batch = collect_batch(scripted, data, cfg, step=0)
    del policy.token_logprobs
    assert forward_rows == [cfg.n_prompts * cfg.n_rollouts]
    assert len(batch.problems) == cfg.n_prompts and batch.rewards_pn.shape == (cfg.n_prompts, cfg.n_rollouts)
    assert all(kind[m.grid] == "mixed" for m in batch.problems)  # only groups with a gradient were kept
    assert batch.sampled["groups_sampled"] > cfg.n_prompts and batch.sampled["rounds"] >= 2
    # the rollout rows still belong to the kept mazes: re-sampling is not needed, answers move with their maze
    assert batch.rollout.completion_ids.shape[0] == cfg.n_prompts * cfg.n_rollouts
    assert len(batch.rollout.answers) == cfg.n_prompts * cfg.n_rollouts
    lp, entropy = policy.token_logprobs(batch.rollout)
    torch.testing.assert_close(lp, batch.rollout.old_logprobs, atol=1e-5, rtol=0)
    mask = batch.rollout.completion_mask
    np.testing.assert_allclose(batch.rollout.mean_entropy,
                               ((entropy * mask).sum(1) / mask.sum(1).clamp(min=1)).detach().numpy(), atol=1e-6)

    # without any mixed group, the batch is filled with the dropped ones after the last round
    hopeless = ScriptedRewards(policy, lambda m: "wrong")
    batch = collect_batch(hopeless, data, cfg, step=0)
    assert batch.rewards_pn.shape == (cfg.n_prompts, cfg.n_rollouts) and batch.rewards_pn.sum() == 0
    assert batch.sampled["rounds"] == 4 and batch.sampled["all_wrong"] == 1.0

    # off: one round, every group kept
    plain = collect_batch(scripted, data, dataclasses.replace(cfg, dynamic_sampling=False), step=0)
    assert plain.sampled["rounds"] == 1 and plain.sampled["groups_sampled"] == cfg.n_prompts


def test_dynamic_sampling_run_resumes_bit_identically(tmp_path):
    args = ["--smoke", "--no-progress", "--dynamic-sampling", "--rl-steps", "4"]
    straight, pieces = tmp_path / "a", tmp_path / "b"
    assert main(["train", *args, "--out", str(straight)]) == 0
    assert main(["train", *args, "--out", str(pieces), "--stop-after", "2"]) == 130
    assert main(["train", "--resume", str(pieces), "--no-progress"]) == 0
    a = torch.load(straight / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(pieces / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[name], b[name]) for name in a)
    strip = lambda records: [{k: v for k, v in r.items() if k != "time_s"} for r in records]  # noqa: E731
    assert strip(_records(straight)) == strip(_records(pieces))
