"""The tiny model on short-answer text tasks: prompts and bare answers scored by the task's own scorer, and
``passkrl train --task`` end to end (a smoke run per task, bit-identical resume)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("reasoning_gym")
pytest.importorskip("math_verify")

from passkrl.cli import main
from passkrl.tasks.base import Problem
from passkrl.train import text_policy as TP
from passkrl.train.config import TrainConfig, resolve
from tests.train.run_files import assert_same_run, metrics


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "passkrl-task-cache"
    monkeypatch.setenv("PASSKRL_CACHE", str(cache))
    return cache


@pytest.mark.parametrize("task", ["chain_sum", "maths"])
def test_smoke_run_of_a_text_task(task, tmp_path, capsys):
    run_dir = tmp_path / "run"
    # one torch thread: the smoke model is tiny, and more threads only contend with other tests
    assert main(["train", "--task", task, "--smoke", "--threads", "1", "--out", str(run_dir), "--no-progress"]) == 0
    assert "after RL" in capsys.readouterr().out
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == task
    rows = metrics(run_dir)
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
    assert_same_run(straight, pieces)


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


def test_questions_are_read_over_printable_ascii_and_reference_answers_must_fit_it():
    assert TP.encode_question("1 + 2 = ?") == "1 + 2 = ?" + TP.PROMPT_END
    assert TP.encode_question("3 × 4\tend") == "3 ? 4?end" + TP.PROMPT_END  # outside the alphabet: "?"
    assert TP.reference_answer(Problem("p", "q", "12")) == "12"
    for answer in ("", "½", "1" + TP.PROMPT_END):
        with pytest.raises(ValueError, match="has no reference answer in printable ASCII"):
            TP.reference_answer(Problem("p", "q", answer))
