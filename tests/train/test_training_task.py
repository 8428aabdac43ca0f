"""What --task trains on: the one switch between the maze and a text task, each one's checks, data and policy."""

from __future__ import annotations

import dataclasses

import pytest

from passkrl import limits
from passkrl.cli import main
from passkrl.tasks import maze as M
from passkrl.train.config import TrainConfig, resolve
from passkrl.train.policy import MazePolicy
from passkrl.train.training_task import MAZE, MazeTraining, TextTraining, TrainingData, training_task
from passkrl.train.warmup import WARMUP_FIELDS


def test_the_task_switch_is_one_function_of_the_task_name():
    assert training_task("maze") is MAZE and isinstance(MAZE, MazeTraining) and TrainConfig().training is MAZE
    for name in ("chain_sum", "puzzles/chain_sum", "maths", "no_such_task"):  # checked by check(), not here
        assert training_task(name) == TextTraining(name) == TrainConfig(task=name).training
    # what reports, run directories and the warm-up's key read from it
    assert (MAZE.problems, MAZE.group, MAZE.run_label, MAZE.warmup_fields) == ("mazes", "size", "", ())
    text = training_task("puzzles/chain_sum")
    assert (text.problems, text.group, text.run_label) == ("puzzles/chain_sum problems", "group", "puzzles/chain_sum")
    assert set(text.warmup_fields) == {"n_test_problems", "task_options", "partial_credit"}
    assert not set(text.warmup_fields) & set(WARMUP_FIELDS)


def test_the_maze_refuses_more_test_mazes_than_its_pool_task_options_and_what_memory_cannot_hold(monkeypatch):
    with pytest.raises(ValueError, match=r"--n-test-problems must be at most 512 \(the held-out maze pool per size\)"):
        resolve(TrainConfig(n_test_problems=513))
    resolve(TrainConfig(n_test_problems=512))
    with pytest.raises(ValueError, match=r"--task-options \{\"max_terms\": 2\}: the maze task takes no options"):
        resolve(TrainConfig(task_options='{"max_terms": 2}'))
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 2**20)
    with pytest.raises(ValueError, match=r"^--n-prompts 16 x --n-rollouts 16: needs at least .* of memory \(the "
                                         r"sampler's key/value cache for 256 answers x \d+ tokens\)"):
        TrainConfig().validate()
    # a text task's answers are a few characters: no such check, however little memory there is
    pytest.importorskip("reasoning_gym")
    TrainConfig(task="chain_sum").validate()


def test_the_maze_policy_is_sized_for_the_runs_maze_sizes():
    cfg = TrainConfig(train_sizes=(7,), test_sizes=(7, 11), d_model=32, n_layers=1, n_heads=2)
    policy = MAZE.build_policy(cfg)
    assert isinstance(policy, MazePolicy) and policy.max_new_tokens == M.max_answer_tokens((7, 11))
    assert policy.model.cfg.d_model == 32 and policy.tokenizer.alphabet == M.COMPACT_ALPHABET
    data = MAZE.make_data(dataclasses.replace(cfg, n_train_problems=50, n_test_problems=3))
    assert isinstance(data, TrainingData) and len(data.train) == 50
    assert [m.size for m in data.test] == [7] * 3 + [11] * 3
    assert policy.answer_limit(data.test[:3]) == M.max_answer_tokens((7,))  # a batch of small mazes samples less


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
    for pool, grids in (("test", test), ("validation", validation)):
        data = MAZE.make_data(TrainConfig(train_sizes=sizes, test_sizes=sizes, n_train_problems=200,
                                          n_test_problems=16, eval_pool=pool))
        assert {m.grid for m in data.test} <= grids
    with pytest.raises(ValueError, match="pool must be one of test, validation, got 'train'"):
        M.held_out_pool(sizes, 4, "train")


def test_a_text_tasks_problems_are_held_out_and_deterministic():
    pytest.importorskip("reasoning_gym")
    cfg = resolve(TrainConfig(task="chain_sum", smoke=True))
    data = cfg.training.make_data(cfg)
    train, test = data.train, data.test
    assert len(train) == cfg.n_train_problems and len(test) == cfg.n_test_problems
    assert not {p.question for p in train} & {p.question for p in test}
    assert len({p.question for p in train}) == len(train)
    again = cfg.training.make_data(cfg)
    assert [p.id for p in again.train] == [p.id for p in train] and [p.id for p in again.test] == [p.id for p in test]
    assert all(p.meta["config"]["max_digits"] == 1 for p in train)
    # the validation pool: as many problems, none in the test pool or in training
    validation = cfg.training.make_data(dataclasses.replace(cfg, eval_pool="validation")).test
    assert len(validation) == len(test)
    assert not {p.question for p in validation} & ({p.question for p in test} | {p.question for p in train})


@pytest.mark.parametrize("argv, message", [
    (["--task", "puzzles"], "not trainable by the tiny model"),
    (["--task", "zebra_puzzles"], "need a real LLM through verl or TRL"),
    (["--task", "chain_sum", "--task-options", "{bad"], "--task-options is not valid JSON"),
    (["--task", "chain_sum", "--task-options", '{"max_terms": 0}'], "not a valid config"),
    (["--task", "maths", "--task-options", '{"nope": 1}'], "--task-options"),
    (["--task", "chain_sum", "--model", "/tmp"], "--model trains on the maze only"),
])
def test_bad_task_settings_fail_before_any_work(argv, message, capsys):
    pytest.importorskip("reasoning_gym")
    pytest.importorskip("math_verify")
    assert main(["train", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_text_tasks_policy_is_sized_for_its_problems():
    pytest.importorskip("reasoning_gym")
    cfg = resolve(TrainConfig(task="chain_sum", smoke=True))
    data = cfg.training.make_data(cfg)
    policy = cfg.training.build_policy(cfg, data)
    longest = max(len(p.answer) for p in data.train + data.test)
    assert policy.max_new_tokens == longest + 4 and policy.answer_limit(data.test) == policy.max_new_tokens
    assert policy.eval_group(data.test[0]) == data.test[0].meta["group"] == "chain_sum"
