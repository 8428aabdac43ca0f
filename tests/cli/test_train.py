"""passkrl train as a hostile user meets it: busy directories, bad settings, resume edge cases.

Every test reproduces a failure seen before the fix (locks, late validation, --smoke overriding
explicit options, --resume ignoring flags, a duplicated step-0 record, stale temporaries)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from passkrl.cli import main
from passkrl.runs import RunDir
from passkrl.train.config import TrainConfig, explicit_fields, resolve

SMOKE = ["--smoke", "--no-progress"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "passkrl-cache"
    monkeypatch.setenv("PASSKRL_CACHE", str(cache))
    return cache


def test_a_second_train_on_a_busy_directory_refuses_with_the_holders_pid(tmp_path, capsys):
    run_dir = tmp_path / "run"
    with RunDir(run_dir).lock():
        assert main(["train", *SMOKE, "--out", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"in use by another passkrl process (pid {os.getpid()})" in err
    assert not RunDir(run_dir).has_checkpoint and not (run_dir / "config.json").exists()


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom passkrl.runs import RunDir\n"
         f"with RunDir({str(tmp_path)!r}).lock():\n    print('held', flush=True); time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(ValueError, match=f"pid {holder.pid}"), RunDir(tmp_path).lock():
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with RunDir(tmp_path).lock():
        assert (tmp_path / ".lock").read_text() == str(os.getpid())


@pytest.mark.parametrize("option, value, message", [
    ("--temperature", "-1", "--temperature must be a finite number in (0.0, inf), got -1"),
    ("--clip-low", "-5", "--clip-low must be a finite number in [0.0, 1.0]"),
    ("--stop-after", "-1", "--stop-after must be >= 1"),
    ("--lr", "nan", "--lr must be a finite number"),
    ("--grad-clip", "nan", "--grad-clip must be a finite number"),
    ("--seed", "-1", "--seed must be >= 0"),
    ("--n-prompts", "400", "--n-prompts 400 is larger than the training set"),
    ("--warmup-batch-size", "400", "--warmup-batch-size 400 is larger than the training set"),
    ("--n-test-problems", "100000", "--n-test-problems must be at most 512"),
    ("--n-test-mazes", "100000", "--n-test-problems must be at most 512"),  # the former name still works
    ("--n-train-mazes", "3", "--n-prompts 4 is larger than the training set (--n-train-problems 3)"),
    ("--estimator-params", '{"reduce": "max"}', "unknown parameter(s) reduce"),
    ("--estimator-params", '{"threshold": "high"}', "unknown parameter(s) threshold"),
    ("--model", "/nonexistent/model", "--model: '/nonexistent/model' is not a directory"),
    ("--model", "/", "has no config.json"),
])
def test_every_setting_is_checked_before_the_run_directory_exists(tmp_path, capsys, option, value, message):
    run_dir = tmp_path / "run"
    args = ["train", *SMOKE, "--n-train-problems", "300", "--out", str(run_dir), option, value]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not run_dir.exists()


@pytest.mark.parametrize("estimator, params, message", [
    ("passk_bootstrap", '{"reduce": "max"}', "reduce must be 'sum' or 'mean'"),
    ("combination", '{"passk": "nope"}', "passk='nope' is not a registered estimator"),
    ("drop_easy", '{"threshold": "high"}', "threshold must be a finite number"),
])
def test_bad_estimator_parameter_values_fail_before_the_warm_up(tmp_path, capsys, estimator, params, message):
    run_dir = tmp_path / "run"
    assert main(["train", *SMOKE, "--out", str(run_dir), "--estimator", estimator, "--estimator-params", params]) == 2
    assert message in capsys.readouterr().err and not run_dir.exists()


def test_smoke_keeps_the_options_given_explicitly_even_at_their_default_values():
    default = TrainConfig()
    argv = ["--smoke", "--k", str(default.k), f"--n-rollouts={default.n_rollouts}", "--d-model", "128", "--n-heads", "4"]
    cfg = resolve(TrainConfig(smoke=True), explicit_fields(argv))
    assert (cfg.k, cfg.n_rollouts, cfg.d_model, cfg.n_heads) == (default.k, default.n_rollouts, 128, 4)
    assert (cfg.k, cfg.n_rollouts) != (2, 4)  # what --smoke would have set
    assert cfg.rl_steps == 4 and cfg.n_layers == 1  # the rest is the smoke setting
    plain = resolve(TrainConfig(smoke=True), explicit_fields(["--smoke"]))
    assert (plain.k, plain.d_model, plain.n_heads) == (2, 32, 2)


def test_smoke_with_an_explicit_inconsistent_size_is_refused_not_changed(tmp_path, capsys):
    assert main(["train", *SMOKE, "--d-model", "30", "--n-heads", "4", "--out", str(tmp_path / "r")]) == 2
    assert "--d-model 30 must be divisible by --n-heads 4" in capsys.readouterr().err


def test_resume_refuses_options_it_would_ignore_and_validates_config_json(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", *SMOKE, "--out", str(run_dir), "--stop-after", "1"]) == 130
    assert main(["train", "--resume", str(run_dir), "--k", "3", "--lr", "0.1"]) == 2
    assert "these options would be ignored: --k, --lr" in capsys.readouterr().err
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "temperature": -2.0}))
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 2
    assert "config.json has a bad setting: --temperature must be a finite number" in capsys.readouterr().err
    (run_dir / "config.json").write_text(json.dumps({**config, "n_layers": "two"}))
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 2
    assert "--n-layers must be of type int, got 'two'" in capsys.readouterr().err


def test_a_restart_after_deleting_the_checkpoint_has_one_step_0_record_and_no_stale_temporaries(tmp_path):
    run_dir = tmp_path / "run"
    assert main(["train", *SMOKE, "--out", str(run_dir), "--stop-after", "1"]) == 130
    (run_dir / "checkpoint.pt").unlink()  # what the damaged-checkpoint message advises
    stale = run_dir / ".checkpoint.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 0
    records = RunDir(run_dir).read_metrics()
    assert [r["step"] for r in records if r["kind"] == "eval" and r["step"] == 0] == [0]
    assert not stale.exists()


def test_two_trains_started_together_one_runs_and_one_refuses(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "passkrl.cli", "train", *SMOKE, "--out", str(run_dir)]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (run_dir / ".lock").exists() or not (run_dir / ".lock").read_text():
        assert time.time() < deadline and first.poll() is None
        time.sleep(0.05)
    second = subprocess.run(cmd, env=env, capture_output=True, text=True)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 2 and f"(pid {first.pid})" in second.stderr
    steps = [r["step"] for r in RunDir(run_dir).read_metrics() if r["kind"] == "train"]
    assert steps == sorted(set(steps))
