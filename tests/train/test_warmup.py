"""The warm-up and its cache: the key names the settings the warm-up depends on and keeps its value across
releases; a cached warm-up is reused, a damaged one rebuilt."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from passkrl.train.config import TrainConfig, resolve
from passkrl.train.pass1_phase import phase_key
from passkrl.train.trainer import build
from passkrl.train.warmup import CURVE_EVERY, cache_key, curve, curve_path, warm_up, weights_path
from tests.former_defaults import FORMER_DEFAULTS

MAZE = TrainConfig(**{**FORMER_DEFAULTS, "train_sizes": (9, 11), "test_sizes": (9, 13), "n_train_problems": 3000},
                   n_test_problems=64, d_model=64, seed=3, precision="float32")
TEXT = TrainConfig(**{**FORMER_DEFAULTS, "n_train_problems": 500}, task="chain_sum", task_options='{"max_terms": 3}',
                   n_test_problems=16, partial_credit=True, precision="float32")


@pytest.mark.parametrize(("cfg", "warm_up", "pass1"), [
    (TrainConfig(precision="float32"), "73507e1a585de7b2", "3287217a2170ec02"),
    (TrainConfig(precision="bfloat16"), "b7ca23b21670dbd8", "647bd6deeb665592"),
    (TrainConfig(**FORMER_DEFAULTS, precision="float32"), "5557cef44921194d", "6fde795f68b7bd7f"),
    (TrainConfig(**FORMER_DEFAULTS, precision="bfloat16"), "c6c642db41edf903", "182d090deca61901"),
    (MAZE, "dd442b20881093aa", "1aa2a572e93af541"),
    (TEXT, "36b5005d8a4f4fea", "69eadea75f163d40"),
])
def test_cache_keys_are_pinned(cfg, warm_up, pass1):
    # Cached warm-ups and Pass@1 phases are found again by these names: a renamed setting must keep
    # hashing under the name it had, or every cache entry written before is silently rebuilt.
    assert cache_key(cfg) == warm_up
    assert phase_key(cfg) == f"{warm_up}-pass1-{pass1}"


def test_a_text_tasks_warm_up_depends_on_its_held_out_settings():
    # a text task draws its training problems around its test problems, so their number and the task's options count
    for change in (dict(n_test_problems=32), dict(task_options="{}"), dict(partial_credit=False)):
        assert cache_key(dataclasses.replace(TEXT, **change)) != cache_key(TEXT)
    assert cache_key(dataclasses.replace(TEXT, eval_samples=4)) == cache_key(TEXT)


def test_the_mazes_test_pool_is_not_part_of_the_warm_up_key():
    # the maze's held-out pool is fixed and training excludes all of it
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


def test_warm_up_cache_is_kept_apart_per_task():
    pytest.importorskip("reasoning_gym")
    pytest.importorskip("math_verify")
    maze = resolve(TrainConfig(smoke=True))
    keys = {cache_key(maze)}
    for task in ("chain_sum", "basic_arithmetic", "maths"):
        keys.add(cache_key(resolve(TrainConfig(task=task, smoke=True))))
    keys.add(cache_key(resolve(TrainConfig(task="chain_sum", smoke=True, task_options='{"max_terms": 2}'))))
    assert len(keys) == 5


def test_a_cached_warm_up_is_reused_and_a_damaged_one_rebuilt(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path))
    cfg = resolve(TrainConfig(smoke=True, warmup_steps=3, progress=False))
    data, policy = build(cfg)
    assert warm_up(policy, data.train, cfg) is False and weights_path(cfg).is_file()
    trained = {name: p.detach().clone() for name, p in policy.model.named_parameters()}
    _, fresh = build(cfg)
    assert warm_up(fresh, data.train, cfg) is True and "reusing cached weights" in capsys.readouterr().out
    assert all(torch.equal(p, trained[name]) for name, p in fresh.model.named_parameters())
    weights_path(cfg).write_bytes(b"not a state dict")
    _, again = build(cfg)
    assert warm_up(again, data.train, cfg) is False
    assert "ignoring unreadable cache entry" in capsys.readouterr().out
    assert all(torch.equal(p, trained[name]) for name, p in again.model.named_parameters())  # the same seed, rebuilt


def test_the_warm_up_keeps_its_loss_curve_beside_its_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path))
    cfg = resolve(TrainConfig(smoke=True, warmup_steps=25, progress=False))
    data, policy = build(cfg)
    assert curve(cfg) is None
    # the losses the warm-up computes, step by step, to check the curve's means against
    losses: list[float] = []
    original = type(policy).supervised_loss

    def recording(self, items):
        loss = original(self, items)
        losses.append(loss.item())
        return loss

    monkeypatch.setattr(type(policy), "supervised_loss", recording)
    warm_up(policy, data.train, cfg)
    points = curve(cfg)
    assert [p["step"] for p in points] == [10, 20, 25]  # a point per CURVE_EVERY steps, and the last step
    assert CURVE_EVERY == 10 and len(losses) == 25
    expected = [sum(losses[0:10]) / 10, sum(losses[10:20]) / 10, sum(losses[20:25]) / 5]
    assert [p["loss"] for p in points] == pytest.approx(expected, rel=1e-6)
    assert points[0]["lr"] == pytest.approx(cfg.warmup_lr * 0.5 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 9 / 25))))
    assert points[-1]["loss"] < points[0]["loss"]
    assert curve_path(cfg) == weights_path(cfg).with_suffix(".json")
    # a cache entry from before curves were kept still loads; it just has no curve
    curve_path(cfg).unlink()
    _, fresh = build(cfg)
    assert warm_up(fresh, data.train, cfg) is True and curve(cfg) is None
