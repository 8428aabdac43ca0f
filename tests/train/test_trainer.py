"""The trainer end to end: the --smoke pipeline, bit-identical resume (also after kill -9), clear errors, the cached
step-0 evaluation, RL replicates of one warm-up, and DAPO's dynamic sampling."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from passkrl.cli import main
from passkrl.train.config import TrainConfig, resolve
from passkrl.train.precision import autocast
from passkrl.train.trainer import build, collect_batch
from tests.former_defaults import FORMER_DEFAULTS
from tests.train.run_files import assert_same_run, metrics


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    # One warm-up cache for the whole module: the smoke warm-up is trained once and reused.
    cache = tmp_path_factory.getbasetemp() / "passkrl-cache"
    monkeypatch.setenv("PASSKRL_CACHE", str(cache))
    return cache


def test_smoke_run_writes_the_whole_run_directory(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "--smoke", "--out", str(run_dir), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "after warm-up" in out and "after RL" in out and "plots:" in out
    for name in ("config.json", "metrics.jsonl", "checkpoint.pt", "eval.json", "training.png", "evaluation.png",
                 "pass_at_k.png"):
        assert (run_dir / name).exists(), name
    for png in run_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["estimator"] == "passk_analytic" and config["smoke"] is True
    records = metrics(run_dir)
    train = [r for r in records if r["kind"] == "train" and r.get("phase") != "pass1"]
    assert [r["step"] for r in train] == list(range(1, config["rl_steps"] + 1))
    evals = json.loads((run_dir / "eval.json").read_text())
    assert 0 <= evals["before"]["pass@1"] <= evals["before"]["pass@4"] <= 1
    assert evals["after"]["step"] == config["rl_steps"]
    # report redraws the plots
    (run_dir / "training.png").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "training.png").exists()


def test_resume_is_bit_identical(tmp_path):
    straight, pieces = tmp_path / "straight", tmp_path / "pieces"
    assert main(["train", "--smoke", "--out", str(straight), "--no-progress", "--estimator", "passk_bootstrap"]) == 0
    assert main(["train", "--smoke", "--out", str(pieces), "--no-progress", "--estimator", "passk_bootstrap",
                 "--stop-after", "1"]) == 130
    assert main(["train", "--resume", str(pieces), "--no-progress", "--stop-after", "2"]) == 130
    assert main(["train", "--resume", str(pieces), "--no-progress"]) == 0
    assert_same_run(straight, pieces)


def test_resume_after_kill_9(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    args = ["--smoke", "--no-progress", "--rl-steps", "8"]
    assert main(["train", *args, "--out", str(straight)]) == 0
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "passkrl.cli", "train", *args, "--out", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    metrics_file = killed / "metrics.jsonl"
    while time.time() < deadline:
        if metrics_file.exists() and '"step": 3' in metrics_file.read_text():
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert main(["train", "--resume", str(killed), "--no-progress"]) == 0
    assert_same_run(straight, killed)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--estimator", "nope"], "unknown --estimator 'nope'"),
        (["--k", "9", "--n-rollouts", "8"], "k=9 is larger than --n-rollouts=8 (--k 9): need 1 <= k <= n"),
        (["--train-sizes", "8"], "maze sizes must be odd"),
        (["--estimator-params", "{bad"], "not valid JSON"),
        (["--out", "/proc/passkrl-cannot-write"], "is not writable"),
    ],
)
def test_bad_settings_fail_before_any_work(argv, message, capsys):
    assert main(["train", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_resume_errors(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"smoke": True}))
    (run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert main(["train", "--resume", str(run_dir)]) == 2
    assert "is unreadable" in capsys.readouterr().err


def test_ctrl_c_saves_a_checkpoint_and_resumes_identically(tmp_path):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    args = ["--smoke", "--no-progress", "--rl-steps", "20"]
    assert main(["train", *args, "--out", str(straight)]) == 0
    proc = subprocess.Popen([sys.executable, "-m", "passkrl.cli", "train", *args, "--out", str(stopped)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    metrics_file = stopped / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if metrics_file.exists() and '"step": 2' in metrics_file.read_text():
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err  # 20 steps: the run cannot finish before Ctrl-C arrives
    assert "--resume" in err
    step = torch.load(stopped / "checkpoint.pt", weights_only=False)["step"]
    assert 2 <= step < 20
    assert main(["train", "--resume", str(stopped), "--no-progress"]) == 0
    assert_same_run(straight, stopped)


def test_runs_of_one_warm_up_share_its_step_0_evaluation(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"  # its own: other tests of the module fill the shared one
    monkeypatch.setenv("PASSKRL_CACHE", str(cache))
    first, second = tmp_path / "grpo", tmp_path / "analytic"
    assert main(["train", "--smoke", "--out", str(first), "--no-progress", "--estimator", "grpo"]) == 0
    assert "step-0 evaluation: reusing" not in capsys.readouterr().out
    assert main(["train", "--smoke", "--out", str(second), "--no-progress", "--rl-seed", "3", "--k", "4"]) == 0
    assert "step-0 evaluation: reusing cached result" in capsys.readouterr().out
    before = [json.loads((run / "eval.json").read_text())["before"] for run in (first, second)]
    assert before[0] == before[1]
    # ... and the cached result is what a run computes without any cache (warm-up retrained too)
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "empty-cache"))
    fresh = tmp_path / "fresh"
    assert main(["train", "--smoke", "--out", str(fresh), "--no-progress", "--rl-seed", "3", "--k", "4"]) == 0
    assert json.loads((fresh / "eval.json").read_text())["before"] == before[0]
    assert metrics(fresh) == metrics(second)
    # an evaluation setting is part of the key: fewer samples per test maze are evaluated afresh
    monkeypatch.setenv("PASSKRL_CACHE", str(cache))
    fewer = tmp_path / "fewer"
    assert main(["train", "--smoke", "--out", str(fewer), "--no-progress", "--eval-samples", "2"]) == 0
    assert "step-0 evaluation: reusing" not in capsys.readouterr().out
    assert json.loads((fewer / "eval.json").read_text())["before"]["samples_per_maze"] == 2


@pytest.mark.parametrize(("settings", "digest"), [
    ({}, "b92195a517dcb4b0"),
    (FORMER_DEFAULTS, "3c6133b9fdf3fd24"),
    (dict(FORMER_DEFAULTS, train_sizes=(9, 11), test_sizes=(9, 13), n_train_problems=3000, n_test_problems=64,
          d_model=64, seed=3),
     "7c7277e738673e50"),
    (dict(FORMER_DEFAULTS, task="chain_sum", task_options='{"max_terms": 3}', n_train_problems=500,
          n_test_problems=16, partial_credit=True),
     "e8ef3a88fb4ca67a"),
])
def test_the_step_0_cache_names_are_pinned(settings, digest, tmp_path, monkeypatch):
    # Cached step-0 evaluations are found again by these names: a renamed setting keeps hashing under the name it had.
    from passkrl.train import trainer

    weights = tmp_path / "warm.pt"
    weights.write_bytes(b"x" * 10)
    os.utime(weights, ns=(1_000_000_000, 2_000_000_000))  # the key holds the weights' size and modification time
    monkeypatch.setattr(trainer, "evaluate", lambda policy, problems, cfg, step: {"step": step})
    assert trainer.evaluate_cached(None, [], TrainConfig(**settings), weights) == {"step": 0}
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"warm-step0-{digest}.json", "warm.pt"]


def test_a_cache_that_cannot_be_written_still_trains(tmp_path, monkeypatch, capsys):
    from passkrl.train import trainer

    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    write = trainer.write_json_atomic

    def refuse_step_0(path, data):  # a read-only or full cache directory
        if "-step0-" in Path(path).name:
            raise PermissionError(13, "Permission denied", str(path))
        return write(path, data)

    monkeypatch.setattr(trainer, "write_json_atomic", refuse_step_0)
    assert main(["train", "--smoke", "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert "step-0 evaluation: could not cache it" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "eval.json").read_text())["before"]["step"] == 0


def test_evaluation_reports_the_samplers_entropies_as_a_second_pass_would():
    """The evaluation takes each answer's entropy from the sampler; a policy whose sampler does not
    report it (NaN) gets the no-grad pass instead. Both give the same answers and entropies."""
    from passkrl.tasks import maze
    from passkrl.train import trainer
    from passkrl.train.training_task import MAZE

    cfg = TrainConfig(d_model=32, n_layers=1, n_heads=2, test_sizes="7,9", eval_samples=4, progress=False)
    mazes = maze.held_out_pool([7, 9], 3)
    policy = MAZE.build_policy(cfg)  # untrained: long, varied answers

    class NoSamplerEntropy:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def sample(self, *args, **kwargs):
            rollout = self.inner.sample(*args, **kwargs)
            rollout.mean_entropy = np.full(len(rollout.answers), np.nan)
            return rollout

    fast = trainer.evaluate(policy, mazes, cfg, step=7)
    second_pass = trainer.evaluate(NoSamplerEntropy(policy), mazes, cfg, step=7)
    assert fast["correct"] == second_pass["correct"]
    assert fast["distinct_wrong"] == second_pass["distinct_wrong"]
    assert fast["entropy"] > 0.1
    assert abs(fast["entropy"] - second_pass["entropy"]) < 1e-5


@pytest.mark.parametrize("precision, most", [("float32", 1e-4), ("bfloat16", 0.05)])
def test_sampler_and_update_agree_on_log_probabilities(tmp_path, precision, most):
    """``first_log_ratio``: the sampler's log-probabilities against the update's on the first mini-batch, the
    same in float32 up to rounding, within a few thousandths under bfloat16 autocast (far inside the clip)."""
    assert main(["train", "--smoke", "--no-progress", "--precision", precision, "--out", str(tmp_path / "run")]) == 0
    ratios = [r["first_log_ratio"] for r in metrics(tmp_path / "run") if r["kind"] == "train"]
    assert ratios and max(ratios) < most and min(ratios) > 0


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_old_log_probabilities_are_the_update_s_own_and_taken_before_it_moves(monkeypatch, precision):
    """The ratio's denominator: the first mini-batch's own forward pass (ratio exactly 1), and for the later
    mini-batches a pass over the same rows before the first optimiser step."""
    from passkrl.core.schedule import KSchedule
    from passkrl.train import trainer

    cfg = resolve(TrainConfig(smoke=True, precision=precision))
    assert cfg.mini_batches == 2
    data, policy = build(cfg)
    policy = ScriptedRewards(policy, lambda maze: "mixed")  # every group has a gradient: the weights move
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=cfg.lr)
    policy.model.eval()
    batch = collect_batch(policy, data, cfg, step=0)  # the batch rl_step will draw (same step, same seeds)
    half = cfg.n_prompts // 2
    with torch.no_grad(), autocast(cfg.precision):
        before = policy.token_logprobs(batch.rollout.groups(slice(half, cfg.n_prompts)))[0]
    seen = []
    loss = trainer.dapo_policy_loss

    def recording(logprobs, old_logprobs, *args, **kwargs):
        seen.append((logprobs.detach().clone(), old_logprobs.clone()))
        return loss(logprobs, old_logprobs, *args, **kwargs)

    monkeypatch.setattr(trainer, "dapo_policy_loss", recording)
    trainer.rl_step(policy, optimizer, data, cfg, KSchedule.parse(str(cfg.k)), step=0)
    (first, first_old), (second, second_old) = seen
    assert torch.equal(first, first_old)  # log pi_old := log pi on the first mini-batch
    torch.testing.assert_close(second_old, before, atol=1e-6, rtol=0)  # before the weights moved
    assert not torch.allclose(second, second_old, atol=1e-6)  # ... and they did move


def test_rl_replicates_share_the_warm_up_and_differ_in_rl(tmp_path, capsys):
    runs = {}
    for rl_seed in (0, 1):
        out = tmp_path / f"r{rl_seed}"
        assert main(["train", "--smoke", "--no-progress", "--rl-seed", str(rl_seed), "--out", str(out)]) == 0
        runs[rl_seed] = metrics(out)
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
    forward_rows = []  # rows of every log-probability pass: none, the update scores the kept groups itself
    real_token_logprobs = policy.token_logprobs
    policy.token_logprobs = lambda rollout: forward_rows.append(len(rollout.answers)) or real_token_logprobs(rollout)
    batch = collect_batch(scripted, data, cfg, step=0)
    del policy.token_logprobs
    assert forward_rows == []
    assert len(batch.problems) == cfg.n_prompts and batch.rewards_pn.shape == (cfg.n_prompts, cfg.n_rollouts)
    assert all(kind[m.grid] == "mixed" for m in batch.problems)  # only groups with a gradient were kept
    assert batch.sampled["groups_sampled"] > cfg.n_prompts and batch.sampled["rounds"] >= 2
    # the rollout rows still belong to the kept mazes: re-sampling is not needed, answers move with their maze
    assert batch.rollout.completion_ids.shape[0] == cfg.n_prompts * cfg.n_rollouts
    assert len(batch.rollout.answers) == cfg.n_prompts * cfg.n_rollouts
    # the sampler's log-probabilities and entropies moved with their groups: a float32 pass agrees with them
    lp, entropy = policy.token_logprobs(batch.rollout)
    torch.testing.assert_close(lp, batch.rollout.old_logprobs, atol=1e-5, rtol=0)
    mask = batch.rollout.completion_mask
    np.testing.assert_allclose(batch.rollout.mean_entropy,
                               ((entropy * mask).sum(1) / mask.sum(1).clamp(min=1)).detach().numpy(), atol=1e-5)

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
    assert_same_run(straight, pieces)
