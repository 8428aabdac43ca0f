"""The warm-up's cache: its key names the settings the warm-up depends on, and keeps its value across releases."""

from __future__ import annotations

import dataclasses

import pytest

from passkrl.train.config import TrainConfig
from passkrl.train.pass1_phase import phase_key
from passkrl.train.warmup import cache_key

MAZE = TrainConfig(train_sizes=(9, 11), test_sizes=(9, 13), n_train_problems=3000, n_test_problems=64, d_model=64,
                   seed=3)
TEXT = TrainConfig(task="chain_sum", task_options='{"max_terms": 3}', n_train_problems=500, n_test_problems=16,
                   partial_credit=True)


@pytest.mark.parametrize(("cfg", "warm_up", "pass1"), [
    (TrainConfig(), "5557cef44921194d", "6fde795f68b7bd7f"),
    (MAZE, "dd442b20881093aa", "1aa2a572e93af541"),
    (TEXT, "36b5005d8a4f4fea", "69eadea75f163d40"),
])
def test_cache_keys_are_pinned(cfg, warm_up, pass1):
    # Cached warm-ups and Pass@1 phases are found again by these names: a renamed setting must keep
    # hashing under the name it had, or every cache entry written before is silently rebuilt.
    assert cache_key(cfg) == warm_up
    assert phase_key(cfg) == f"{warm_up}-pass1-{pass1}"


def test_the_maze_warm_up_ignores_the_held_out_settings_and_a_text_task_s_does_not():
    # The maze's held-out pool is fixed and training excludes all of it; a text task draws its training
    # problems around its test problems, so their number and the task's options count.
    for change in (dict(n_test_problems=32), dict(test_sizes=(7,)), dict(eval_samples=4), dict(estimator="grpo")):
        assert cache_key(dataclasses.replace(MAZE, **change)) == cache_key(MAZE)
    for change in (dict(n_train_problems=2000), dict(train_sizes=(9,)), dict(seed=4), dict(warmup_lr=1e-3)):
        assert cache_key(dataclasses.replace(MAZE, **change)) != cache_key(MAZE)
    for change in (dict(n_test_problems=32), dict(task_options="{}"), dict(partial_credit=False)):
        assert cache_key(dataclasses.replace(TEXT, **change)) != cache_key(TEXT)
