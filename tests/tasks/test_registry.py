"""The task registry: a task declared in one place reaches every entry point.

The first tests register a toy task here, in the test file and nowhere else ("repeat the number"),
and run it through everything that reads the registry: ``get_task``, ``passkrl data``, verl's reward
loader (``compute_score`` and the batch form), TRL's reward functions and ``passkrl train --task`` with
the tiny model. The others pin the registry's own rules: unique names and data sources, aliases,
``NAME/<variant>``, and missing extras.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

from passkrl.cli import main as passkrl_main
from passkrl.tasks import TASKS, MissingExtraError, Problem, Task, get_task, rewards, rows
from passkrl.tasks.answers import extract_answer
from passkrl.tasks.registry import (DataCommand, Extra, TaskSpec, TrainPreset, Variant, data_source_of, lookup,
                                    register, require_extra, spec_for_source, unregister)

ECHO_SOURCE = "tests/echo"


class EchoTask:
    """Repeat a number of ``digits`` digits: the smallest task with a verifier."""

    name = "echo"
    reward_is_binary = True
    data_source = ECHO_SOURCE

    def __init__(self, digits: int = 3):
        if not 1 <= digits <= 6:
            raise ValueError(f"digits must be from 1 to 6, got {digits!r}")
        self.digits = digits

    def generate(self, rng: np.random.Generator) -> Problem:
        number = str(int(rng.integers(10 ** (self.digits - 1), 10**self.digits)))
        text = f"Repeat {number}."
        return Problem(id=f"echo-{number}", question=f"{text} Answer inside <answer></answer>.", answer=number,
                       meta={"text": text, "group": "echo"})

    def prompt(self, problem: Problem) -> str:
        return problem.question

    def score(self, problem: Problem, response: str) -> float:
        return echo_reward(ECHO_SOURCE, response, problem.answer)

    def score_batch(self, problems, responses, workers: int = 1) -> list[float]:
        return [self.score(p, r) for p, r in zip(problems, responses, strict=True)]

    def score_answers(self, problems, answers, workers: int = 1) -> list[float]:
        """Bare answers, as the embedded trainer's tiny model gives them."""
        return [float(isinstance(a, str) and a.strip() == p.answer) for p, a in zip(problems, answers, strict=True)]

    def to_row(self, problem: Problem, split: str, index: int) -> dict[str, Any]:
        return {"data_source": ECHO_SOURCE, "prompt": [{"role": "user", "content": problem.question}],
                "ability": "echo", "reward_model": {"style": "rule", "ground_truth": problem.answer},
                "extra_info": {"split": split, "index": index}}


def echo_reward(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                **_: Any) -> float:
    answer = extract_answer(solution_str)
    return float(answer is not None and answer.strip() == str(ground_truth))


@dataclass(frozen=True)
class EchoDataConfig:
    """Write echo problems as rows."""

    out: Path
    n: int
    digits: int = 3
    seed: int = 0
    split: Literal["train", "test", "validation"] = "train"
    exclude: tuple[Path, ...] = ()
    progress: bool = False


def write_echo_data(cfg: EchoDataConfig, name: str) -> int:
    rows.check_output(cfg.out, exclude=cfg.exclude)
    rows.check_count(cfg.n, cfg.seed)
    return rows.write_task_data(get_task(name, digits=cfg.digits), n=cfg.n, seed=cfg.seed, split=cfg.split,
                                out=cfg.out, exclude=cfg.exclude, progress=cfg.progress)


BUILDS: list[dict[str, Any]] = []
"""The options of every EchoTask built through the registry."""


def build_echo(**options: Any) -> EchoTask:
    BUILDS.append(options)
    return EchoTask(**options)


@pytest.fixture(scope="module")
def echo() -> TaskSpec:
    spec = register(TaskSpec(
        name="echo", data_source=ECHO_SOURCE, build=build_echo, description="repeat a number",
        score_row=echo_reward,
        data_command=DataCommand(EchoDataConfig, write_echo_data, lambda cfg: f"{cfg.digits}-digit numbers"),
        trainable={"echo": TrainPreset({"digits": 3}, "repeat a three-digit number")},
    ))
    yield spec
    unregister("echo")


def right(row: dict) -> str:
    return f"I repeat: <answer> {row['reward_model']['ground_truth']} </answer>"


@pytest.fixture(scope="module")
def echo_rows(echo, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("echo") / "echo.jsonl"
    assert passkrl_main(["data", "echo", "--n", "12", "--digits", "4", "--seed", "5", "--out", str(out)]) == 0
    return rows.read_rows(out)


def test_get_task_builds_the_registered_task(echo):
    task = get_task("echo", digits=2)
    assert isinstance(task, EchoTask) and isinstance(task, Task) and task.digits == 2
    assert TASKS["echo"] is echo and TASKS["echo"](digits=1).digits == 1  # the spec builds, as TASKS entries did
    assert spec_for_source(ECHO_SOURCE) is echo and rewards.route(ECHO_SOURCE) == "echo"
    problem = task.generate(np.random.default_rng(0))
    assert task.score(problem, f"<answer>{problem.answer}</answer>") == 1.0
    assert task.score(problem, f"<answer>{problem.answer}0</answer>") == 0.0


def test_passkrl_data_writes_its_rows(echo_rows, echo, tmp_path, capsys):
    assert len(echo_rows) == 12 and {row["data_source"] for row in echo_rows} == {ECHO_SOURCE}
    answers = [row["reward_model"]["ground_truth"] for row in echo_rows]
    assert len(set(answers)) == 12 and all(len(answer) == 4 for answer in answers)
    assert [row["extra_info"]["index"] for row in echo_rows] == list(range(12))
    # the command lists it, and reports what it wrote with the task's own summary
    assert passkrl_main(["data", "--help"]) == 0
    assert "  echo  repeat a number" in capsys.readouterr().out
    out = tmp_path / "again.jsonl"
    assert passkrl_main(["data", "echo", "--n", "3", "--digits", "2", "--split", "test", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 3 test rows (2-digit numbers, seed 0) to {out}"
    assert passkrl_main(["data", "echo", "--n", "0", "--out", str(out)]) == 2  # the shared checks apply
    assert "--n must be >= 1" in capsys.readouterr().err


def test_verl_loads_the_reward_function_that_scores_its_rows(echo_rows):
    OmegaConf = pytest.importorskip("omegaconf").OmegaConf
    reward = pytest.importorskip("verl.trainer.ppo.reward")

    def loaded(name: str):
        # what the recipes set: reward.custom_reward_function.path=pkg://passkrl.tasks.rewards
        return reward.get_custom_reward_fn(OmegaConf.create({"reward": {"custom_reward_function": {
            "path": "pkg://passkrl.tasks.rewards", "name": name}}}))

    compute_score, compute_score_batch = loaded("compute_score"), loaded("compute_score_batch")
    responses = [right(row) if i % 3 else "<answer>0</answer>" for i, row in enumerate(echo_rows)]
    one_by_one = [compute_score(data_source=row["data_source"], solution_str=text,
                                ground_truth=row["reward_model"]["ground_truth"], extra_info=row["extra_info"])
                  for row, text in zip(echo_rows, responses)]
    assert one_by_one == [float(i % 3 != 0) for i in range(len(echo_rows))]
    # verl's batch reward manager passes the columns as keyword lists
    batch = compute_score_batch(data_sources=[row["data_source"] for row in echo_rows], solution_strs=responses,
                                ground_truths=[row["reward_model"]["ground_truth"] for row in echo_rows],
                                extra_infos=[row["extra_info"] for row in echo_rows])
    assert batch == one_by_one
    # mixed with the rows of a built-in task, each row goes to its own verifier
    maze_source, maze_grid = "passkrl/maze", "*****\n*S.E*\n*****"
    assert rewards.compute_score_batch([ECHO_SOURCE, maze_source], [responses[1], "<answer>RR</answer>"],
                                       [echo_rows[1]["reward_model"]["ground_truth"], maze_grid]) == [1.0, 1.0]


def test_trl_reward_functions_score_its_rows(echo_rows):
    columns = {name: [row[name] for row in echo_rows] for name in ("data_source", "reward_model", "extra_info")}
    completions = [[{"role": "assistant", "content": right(row) if i % 2 else "no answer"}]
                   for i, row in enumerate(echo_rows)]
    expected = [float(i % 2) for i in range(len(echo_rows))]
    assert rewards.passkrl_reward(prompts=[row["prompt"] for row in echo_rows], completions=completions,
                                  **columns) == expected
    plain = rewards.make_trl_reward("echo")  # rows of your own, with an answer column
    assert plain.__name__ == "passkrl_echo"
    answers = [row["reward_model"]["ground_truth"] for row in echo_rows]
    assert plain(completions=completions, answer=answers) == expected


def test_passkrl_train_teaches_it_to_the_tiny_model_building_it_once(echo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    builds_before = len(BUILDS)
    assert passkrl_main(["train", "--task", "echo", "--smoke", "--threads", "1", "--out", str(run_dir),
                         "--no-progress"]) == 0
    assert "after RL" in capsys.readouterr().out
    # the config's check, the data and the policy share one task, built with the preset's options
    assert BUILDS[builds_before:] == [{"digits": 3}]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "echo"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["kind"] == "eval"]
    assert evals and all(list(r["by_size"]) == ["echo"] for r in evals)
    assert [r["step"] for r in records if r["kind"] == "train" and r.get("phase") != "pass1"] == \
        list(range(1, config["rl_steps"] + 1))
    summary = json.loads((run_dir / "eval.json").read_text())
    assert 0.0 <= summary["after"]["pass@1"] <= summary["after"]["pass@4"] <= 1.0


def test_a_task_without_a_preset_is_refused_by_train_with_the_presets_listed(echo, tmp_path, capsys):
    register(TaskSpec(name="echo_untrained", data_source="tests/echo_untrained", build=EchoTask,
                      description="no preset", score_row=echo_reward))
    try:
        assert passkrl_main(["train", "--task", "echo_untrained", "--smoke", "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert "not trainable by the tiny model" in err and "echo" in err.split("choose one of:")[1]
        assert passkrl_main(["data", "echo_untrained", "--n", "1", "--out", str(tmp_path / "x.jsonl")]) == 2
        assert "unknown task 'echo_untrained'" in capsys.readouterr().err  # no data command declared
    finally:
        unregister("echo_untrained")


# ------------------------------------------------------------------------------------- the registry's rules


def _spec(name: str, data_source: str, **fields: Any) -> TaskSpec:
    return TaskSpec(name=name, data_source=data_source, build=EchoTask, description=name, score_row=echo_reward,
                    **fields)


def test_names_and_data_sources_are_unique(echo):
    with pytest.raises(ValueError, match="'echo' is already registered"):
        register(_spec("echo", "tests/other"))
    with pytest.raises(ValueError, match="overlaps that of task 'echo'"):
        register(_spec("echo2", ECHO_SOURCE))
    with pytest.raises(ValueError, match="overlaps that of task 'echo'"):
        register(_spec("echo2", ECHO_SOURCE + "/more"))  # rows of echo may add /<anything>
    with pytest.raises(ValueError, match="overlaps that of task 'puzzles'"):
        register(_spec("rg", "passkrl/puzzles/chain_sum"))
    with pytest.raises(ValueError, match=r"preset\(s\) \['echo'\] are already offered by echo"):
        register(_spec("echo2", "tests/echo2", trainable={"echo": TrainPreset({}, "again")}))
    assert register(echo) is echo  # registering the same spec again changes nothing
    with pytest.raises(ValueError, match="without '/'"):
        _spec("a/b", "tests/ab")
    assert "echo2" not in TASKS and "rg" not in TASKS


def test_data_sources_exact_or_a_family():
    maze, puzzles = TASKS["maze"], TASKS["puzzles"]
    assert maze.serves("passkrl/maze") and maze.serves("passkrl/maze/mine")
    assert not maze.serves("passkrl/mazes") and not maze.serves("passkrl/visual_maze")
    assert puzzles.is_family and puzzles.serves("passkrl/puzzles/chain_sum")
    assert not puzzles.serves("passkrl/puzzles/") and not puzzles.serves("passkrl/puzzles")
    assert spec_for_source("passkrl/maths/gsm8k").name == "maths"
    with pytest.raises(ValueError, match=r"no passkrl reward function for data_source 'nope'; known: .*"
                                         r"passkrl/puzzles/<reasoning-gym data set>"):
        spec_for_source("nope")


def test_aliases_and_variants():
    spec, variant = lookup("puzzles/chain_sum")
    assert spec is TASKS["puzzles"] and variant == "chain_sum"
    assert data_source_of("puzzles/chain_sum") == "passkrl/puzzles/chain_sum"
    assert data_source_of("maths") == "passkrl/maths"
    with pytest.raises(ValueError, match="one data_source per reasoning-gym data set: name one, 'puzzles/<"):
        data_source_of("puzzles")
    with pytest.raises(ValueError, match="one data_source per .* 'puzzles/<"):
        data_source_of("enigmata_mix")  # an alias names its task in the hint
    mix = TASKS["enigmata_mix"]
    assert mix.alias_of == "puzzles" and mix.options == {"name": "enigmata_mix"} and mix.variant is None
    for unknown in ("maze/7", "enigmata_mix/chain_sum", "puzzles/", "sudoku", None):
        with pytest.raises(ValueError, match="unknown task"):
            lookup(unknown)


def test_an_alias_follows_its_task_out_of_the_registry():
    spec = register(_spec("lettered", "tests/lettered", variant=Variant("letter", lambda letter, options: options)))
    register(spec.alias("lettered_too", "the same", options={"digits": 2}))
    try:
        assert TASKS["lettered_too"]().digits == 2 and TASKS["lettered_too"](digits=4).digits == 4
        assert spec_for_source("tests/lettered") is spec  # rows route to the task, not to its alias
        with pytest.raises(ValueError, match="another name for 'nowhere', which is not registered"):
            register(dataclasses.replace(spec, name="orphan", alias_of="nowhere"))
    finally:
        unregister("lettered")
    assert "lettered" not in TASKS and "lettered_too" not in TASKS


def test_a_missing_extra_is_explained_by_every_entry_point(tmp_path):
    register(_spec("needs", "tests/needs", extra=Extra("passkrl_no_such_module", "needs")))
    try:
        for call in (lambda: get_task("needs"), lambda: require_extra("needs"),
                     lambda: rewards.compute_score("tests/needs", "<answer>1</answer>", "1"),
                     lambda: rewards.compute_score_batch(["tests/needs"], ["<answer>1</answer>"], ["1"])):
            with pytest.raises(MissingExtraError, match=r'pip install "passkrl\[needs\]"'):
                call()
    finally:
        unregister("needs")
    require_extra("not_a_task")  # an unregistered name needs nothing
    with pytest.raises(ValueError, match="no task named 'needs'"):
        unregister("needs")
