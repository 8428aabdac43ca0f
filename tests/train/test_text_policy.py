"""``passkrl train --task``: short-answer text tasks through the generic text policy, end to end.

The maze path is covered by test_train.py (unchanged, bit-identical resume); here: a smoke run per
text task, bit-identical resume of a text run, the warm-up cache kept apart from the maze's, and
clear errors for tasks the tiny model cannot learn.
"""

from __future__ import annotations

import dataclasses

import json
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("reasoning_gym")
pytest.importorskip("math_verify")

from passkrl.cli import main
from passkrl.tasks import Problem
from passkrl.train import text_policy as TP
from passkrl.train.config import TrainConfig, resolve
from passkrl.train.text_tasks import build_task
from passkrl.train.training_task import TrainingData
from passkrl.train.warmup import cache_key


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "passkrl-task-cache"
    monkeypatch.setenv("PASSKRL_CACHE", str(cache))
    return cache


def records(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("time_s", None)
    return rows


@pytest.mark.parametrize("task", ["chain_sum", "maths"])
def test_smoke_run_of_a_text_task(task, tmp_path, capsys):
    run_dir = tmp_path / "run"
    # one torch thread: the smoke model is tiny, and more threads only contend with other tests
    assert main(["train", "--task", task, "--smoke", "--threads", "1", "--out", str(run_dir), "--no-progress"]) == 0
    assert "after RL" in capsys.readouterr().out
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == task
    rows = records(run_dir)
    train = [r for r in rows if r["kind"] == "train" and r.get("phase") != "pass1"]
    evals = [r for r in rows if r["kind"] == "eval"]
    assert [r["step"] for r in train] == list(range(1, config["rl_steps"] + 1))
    # the Pass@1 phase ran on the text task too: its steps end at 0, where the compared phase starts
    phase = [r["step"] for r in rows if r.get("phase") == "pass1" and r["kind"] == "train"]
    assert phase == list(range(1 - config["pass1_steps"], 1)) and config["pass1_steps"] > 0
    assert all(0.0 <= r["reward"] <= 1.0 for r in train)
    group = "chain_sum" if task == "chain_sum" else "arithmetic"
    assert all(list(r["by_size"]) == [group] for r in evals)
    assert evals[-1]["n_mazes"] == config["n_test_problems"]
    summary = json.loads((run_dir / "eval.json").read_text())
    assert 0.0 <= summary["after"]["pass@1"] <= summary["after"]["pass@4"] <= 1.0


def test_resume_of_a_text_task_is_bit_identical(tmp_path):
    straight, pieces = tmp_path / "straight", tmp_path / "pieces"
    args = ["--task", "basic_arithmetic", "--smoke", "--no-progress", "--threads", "1", "--warmup-steps", "10",
            "--rl-steps", "3", "--eval-every", "3", "--n-train-problems", "100"]
    assert main(["train", *args, "--out", str(straight)]) == 0
    assert main(["train", *args, "--out", str(pieces), "--stop-after", "1"]) == 130
    assert main(["train", "--resume", str(pieces), "--no-progress"]) == 0
    a = torch.load(straight / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(pieces / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert records(straight) == records(pieces)


def test_data_is_held_out_and_deterministic():
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


def test_text_policy_scores_bare_answers_with_the_tasks_scorer():
    cfg = resolve(TrainConfig(task="maths", smoke=True))
    data = cfg.training.make_data(cfg)
    train, test = data.train, data.test
    policy = cfg.training.build_policy(cfg, data)
    problems = test[:2]
    answers = [problems[0].answer, problems[0].answer + "0", f"+{problems[1].answer}", "x"]
    rewards = policy.score(problems, answers, partial=False)
    assert rewards.tolist() == [1.0, float(problems[0].answer == "0"), 1.0, 0.0]
    prompt = policy._prompt_ids([problems[0]])[0]
    assert policy.tokenizer.decode(prompt[1:]).endswith(TP.PROMPT_END)
    loss = policy.supervised_loss(train[:4])
    assert torch.isfinite(loss) and loss.item() > 0


def test_the_task_of_a_run_is_built_once():
    cfg = resolve(TrainConfig(task="chain_sum", smoke=True))  # validating the config built it
    task = build_task(cfg)
    assert build_task(dataclasses.replace(cfg, rl_steps=7)) is task  # settings that do not choose the task
    data = cfg.training.make_data(cfg)
    assert cfg.training.build_policy(cfg, TrainingData(data.train[:8], data.test[:4])).task is task
    assert build_task(dataclasses.replace(cfg, task_options='{"max_terms": 2}')) is not task


def test_partial_credit_keeps_reasoning_gyms_scores():
    strict = build_task(resolve(TrainConfig(task="chain_sum", smoke=True)))
    partial = build_task(resolve(TrainConfig(task="chain_sum", smoke=True, partial_credit=True,
                                                estimator="passk_bootstrap")))
    problem = strict.generate(np.random.default_rng(0))
    padded = problem.answer + "00"
    assert strict.score_answer(problem, padded) == 0.0
    assert 0.0 < partial.score_answer(problem, padded) < 1.0


def test_warm_up_cache_is_kept_apart_per_task():
    maze = resolve(TrainConfig(smoke=True))
    keys = {cache_key(maze)}
    for task in ("chain_sum", "basic_arithmetic", "maths"):
        keys.add(cache_key(resolve(TrainConfig(task=task, smoke=True))))
    keys.add(cache_key(resolve(TrainConfig(task="chain_sum", smoke=True, task_options='{"max_terms": 2}'))))
    assert len(keys) == 5


def test_task_options_reach_the_task():
    cfg = resolve(TrainConfig(task="puzzles/chain_sum", smoke=True, task_options='{"min_terms": 4, "max_terms": 4}'))
    problem = build_task(cfg).generate(np.random.default_rng(0))
    assert isinstance(problem, Problem) and problem.meta["config"]["max_terms"] == 4
    assert problem.meta["text"].count("+") + problem.meta["text"].count("-") == 3


@pytest.mark.parametrize("argv, message", [
    (["--task", "puzzles"], "not trainable by the tiny model"),
    (["--task", "zebra_puzzles"], "need a real LLM through verl or TRL"),
    (["--task", "chain_sum", "--task-options", "{bad"], "--task-options is not valid JSON"),
    (["--task", "chain_sum", "--task-options", '{"max_terms": 0}'], "not a valid config"),
    (["--task", "maths", "--task-options", '{"nope": 1}'], "--task-options"),
    (["--task", "chain_sum", "--model", "/tmp"], "--model trains on the maze only"),
])
def test_bad_task_settings_fail_before_any_work(argv, message, capsys):
    assert main(["train", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
