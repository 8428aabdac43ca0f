"""The Pass@1 phase: GRPO between the warm-up and the compared phase, cached and shared by every arm."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from passkrl.cli import main
from passkrl.experiment.runner import identity
from passkrl.train import pass1_phase
from passkrl.train.config import TrainConfig
from tests.train.run_files import metrics


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "passkrl-cache-pass1"
    monkeypatch.setenv("PASSKRL_CACHE", str(cache))
    return cache


def test_a_run_records_warm_up_pass1_phase_and_compared_phase(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "--smoke", "--pass1-steps", "3", "--out", str(run_dir), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "after warm-up" in out and "after Pass@1 (3 steps)" in out and "after RL (step 4), passk_analytic" in out
    assert "change in the Pass@1 phase" in out
    records = metrics(run_dir)
    phase = [r for r in records if r.get("phase") == "pass1" and r["kind"] == "train"]
    assert [r["step"] for r in phase] == [-2, -1, 0]
    assert all(r["k"] == 1 for r in phase)  # Pass@1 Training
    compared = [r for r in records if r["kind"] == "train" and r.get("phase") != "pass1"]
    assert [r["step"] for r in compared] == [1, 2, 3, 4] and all(r["k"] == 2 for r in compared)
    evals = [r for r in records if r["kind"] == "eval"]
    assert [(r["phase"] if "phase" in r else "rl", r["step"]) for r in evals][:2] == [("warm-up", -3), ("pass1", 0)]
    summary = json.loads((run_dir / "eval.json").read_text())
    assert summary["pass1_steps"] == 3 and summary["warm_up"]["step"] == -3 and summary["before"]["step"] == 0
    assert summary["before"]["correct"] == evals[1]["correct"]


def test_arms_and_replicates_share_one_cached_phase(tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--smoke", "--pass1-steps", "3", "--out", str(first), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "--smoke", "--pass1-steps", "3", "--estimator", "grpo", "--rl-seed", "1", "--lr", "3e-4",
                 "--out", str(second), "--no-progress"]) == 0
    assert "Pass@1 phase: reusing cached weights" in capsys.readouterr().out
    a = [r for r in metrics(first) if r.get("phase") in ("pass1", "warm-up")]
    b = [r for r in metrics(second) if r.get("phase") in ("pass1", "warm-up")]
    assert a == b  # the same phase and the same start evaluation


def test_the_phase_trains_the_warm_up_and_its_key_follows_its_settings():
    cfg = TrainConfig(pass1_steps=5)
    same = [dataclasses.replace(cfg, estimator="grpo"), dataclasses.replace(cfg, rl_seed=3),
            dataclasses.replace(cfg, lr=1e-3), dataclasses.replace(cfg, k=8), dataclasses.replace(cfg, dynamic_sampling=False),
            dataclasses.replace(cfg, partial_credit=True)]  # an arm's partial credit continues the binary phase
    assert {pass1_phase.phase_key(c) for c in same} == {pass1_phase.phase_key(cfg)}
    other = [dataclasses.replace(cfg, pass1_lr=1e-3), dataclasses.replace(cfg, pass1_steps=6),
             dataclasses.replace(cfg, n_rollouts=8), dataclasses.replace(cfg, seed=1)]
    assert len({pass1_phase.phase_key(c) for c in other} | {pass1_phase.phase_key(cfg)}) == 5
    assert pass1_phase.start_key(dataclasses.replace(cfg, pass1_steps=0)) != pass1_phase.start_key(cfg)
    phase = pass1_phase.phase_config(dataclasses.replace(cfg, estimator="passk_bootstrap", k=8, dynamic_sampling=True,
                                                         partial_credit=True))
    assert (phase.estimator, phase.k, phase.dynamic_sampling, phase.partial_credit, phase.lr, phase.rl_steps) == (
        "grpo", 1, False, False, cfg.pass1_lr, 5)


def test_the_phase_changes_the_weights(tmp_path):
    from passkrl.train.config import resolve
    from passkrl.train.trainer import build, sharpen
    from passkrl.train.warmup import warm_up

    cfg = resolve(TrainConfig(smoke=True, pass1_steps=3, pass1_lr=1e-2, progress=False))
    data, policy = build(cfg)
    warm_up(policy, data.train, cfg)
    # The smoke warm-up solves no maze, and all-wrong groups give GRPO nothing to learn from: reward answers
    # of even length instead, so that groups are mixed.
    policy.score = lambda mazes, answers, partial=False: np.array([float(len(a) % 2 == 0) for a in answers])
    before = {name: p.detach().clone() for name, p in policy.model.named_parameters()}
    steps = sharpen(policy, data, cfg)
    assert len(steps) == 3 and pass1_phase.weights_path(cfg).exists()
    assert any(not torch.equal(before[name], p) for name, p in policy.model.named_parameters())


def test_configs_written_before_the_phase_existed_start_from_the_warm_up():
    old = TrainConfig().to_dict()
    del old["pass1_steps"], old["pass1_lr"]
    assert TrainConfig.from_dict(old).pass1_steps == 0
    # a study run without the phase keeps the directory name it had before the phase existed
    settings = identity(TrainConfig(pass1_steps=0))
    assert "pass1_steps" not in settings and "pass1_lr" not in settings
    assert "pass1_steps" in identity(TrainConfig(pass1_steps=10))


def test_bad_phase_settings_are_refused(capsys):
    assert main(["train", "--pass1-steps", "-1", "--out", "/tmp/never-created-pass1"]) == 2
    assert "--pass1-steps" in capsys.readouterr().err
    assert main(["train", "--pass1-lr", "0", "--out", "/tmp/never-created-pass1"]) == 2
    assert "--pass1-lr" in capsys.readouterr().err
    assert not Path("/tmp/never-created-pass1").exists()


def test_a_resumed_run_keeps_the_warm_up_evaluation(tmp_path):
    straight, pieces = tmp_path / "straight", tmp_path / "pieces"
    args = ["train", "--smoke", "--pass1-steps", "3", "--no-progress"]
    assert main([*args, "--out", str(straight)]) == 0
    assert main([*args, "--out", str(pieces), "--stop-after", "2"]) == 130
    assert main(["train", "--resume", str(pieces), "--no-progress"]) == 0
    a, b = (json.loads((run / "eval.json").read_text()) for run in (straight, pieces))
    assert a["warm_up"] == b["warm_up"] and a["warm_up"]["step"] == -3 and a == b
