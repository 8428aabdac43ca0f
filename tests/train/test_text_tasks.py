"""Which text tasks the tiny model trains on: the presets tasks register, found by --task name and built once."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("reasoning_gym")

from passkrl.tasks import Problem
from passkrl.tasks.registry import TASKS
from passkrl.train import text_tasks
from passkrl.train.config import TrainConfig, resolve
from passkrl.train.text_tasks import build_task, preset_name, trainable
from passkrl.train.training_task import TrainingData


def test_the_presets_are_those_the_registered_tasks_offer():
    presets = trainable()
    assert {"chain_sum", "basic_arithmetic", "maths"} <= set(presets)
    for name, (spec, preset) in presets.items():
        assert TASKS[spec.name].trainable[name] is preset
    assert text_tasks.TRAINABLE == {name: preset for name, (_, preset) in presets.items()}  # the former table
    assert preset_name("puzzles/chain_sum") == "chain_sum" and preset_name("chain_sum") == "chain_sum"
    assert preset_name("puzzles/zebra_puzzles") == "puzzles/zebra_puzzles"  # not a preset: named as given
    with pytest.raises(ValueError, match=r"--task 'zebra' is not trainable by the tiny model; choose one of: maze, "):
        build_task(TrainConfig(task="zebra"))


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


def test_task_options_reach_the_task():
    cfg = resolve(TrainConfig(task="puzzles/chain_sum", smoke=True, task_options='{"min_terms": 4, "max_terms": 4}'))
    problem = build_task(cfg).generate(np.random.default_rng(0))
    assert isinstance(problem, Problem) and problem.meta["config"]["max_terms"] == 4
    assert problem.meta["text"].count("+") + problem.meta["text"].count("-") == 3
