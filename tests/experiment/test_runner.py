"""The experiment runner: each arm's config, run directories named by settings alone, resumable execution, and
workers and directories under kills and concurrent studies."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from passkrl.cli.experiment import parse_settings, run_study
from passkrl.experiment import runner
from passkrl.experiment.runner import run_dir_for
from passkrl.experiment.studies import K, get_study
from passkrl.runs import directory_lock
from passkrl.train.config import TrainConfig
from tests.experiment.tiny_study import TINY
from tests.former_defaults import FORMER_DEFAULTS

PARENT = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from passkrl.experiment.runner import _die_with_parent

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        print(pool.submit(os.getpid).result(), flush=True)
        pool.submit(time.sleep, 120)
        time.sleep(120)
"""


@pytest.mark.parametrize(("settings", "names"), [
    (dict(precision="float32"), ("passk-analytic-s0r0-4a7deb0a92", "grpo-s0r2-95264a9bfb")),
    (dict(FORMER_DEFAULTS, precision="float32"), ("passk-analytic-s0r0-1a26a1db36", "grpo-s0r2-55eab7af76")),
    (dict(FORMER_DEFAULTS, train_sizes=(9, 11), test_sizes=(9, 13), n_train_problems=3000, n_test_problems=64,
          d_model=64, seed=3, precision="float32"),
     ("passk-analytic-s3r0-2bea4c865a", "grpo-s3r2-749e1bcade")),
    (dict(FORMER_DEFAULTS, task="chain_sum", task_options='{"max_terms": 3}', n_train_problems=500, n_test_problems=16,
          partial_credit=True, precision="float32"),
     ("passk-analytic-s0r0-a7c044018d", "grpo-s0r2-7b3ebf2595")),
])
def test_run_directory_names_are_pinned(settings, names):
    # A study finds its finished runs by these names: a renamed setting keeps hashing under the name it had.
    config = TrainConfig(**settings)
    other = dataclasses.replace(config, pass1_steps=0, estimator="grpo", rl_seed=2)
    assert (run_dir_for(Path("out"), config).name, run_dir_for(Path("out"), other).name) == names
    assert run_dir_for(Path("out"), config).parent == Path("out/runs")


def test_a_run_directory_names_the_precision_the_run_computes_in(monkeypatch):
    # "auto" is bfloat16 where the hardware computes it natively: a run is named by what it computes in,
    # so an "auto" run on a machine without bfloat16 units finds the float32 runs, and on one with them the bfloat16 ones
    from passkrl.train import precision as precision_module

    def name(precision: str) -> str:
        return run_dir_for(Path("out"), TrainConfig(precision=precision)).name

    assert name("float32") != name("bfloat16")
    for supported, same_as in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(precision_module, "bf16_supported", lambda device="cpu", value=supported: value)
        assert name("auto") == name(same_as)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status waits to be collected


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_a_worker_dies_with_its_killed_study_process(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    assert _alive(worker)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the orphaned worker kept running"


def test_a_second_study_on_a_busy_experiment_directory_refuses_with_the_pid(tmp_path):
    with directory_lock(tmp_path, "experiment directory"), \
            pytest.raises(ValueError, match=rf"experiment directory .* in use .*\(pid {os.getpid()}\)"):
        run_study("main", seeds=1, quick=True, out=tmp_path, jobs=1, settings={})


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(")")[-1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
@pytest.mark.parametrize("to", ["study process", "process group"])
def test_ctrl_c_stops_a_study_cleanly(tmp_path, to):
    """Ctrl-C in the middle of the RL runs: exit 130 with one line, no traceback, no leaked-semaphore
    warning, every worker gone and the experiment directory's lock free."""
    out = tmp_path / "exp"
    tiny = {"train_sizes": '"7"', "test_sizes": '"7"', "n_train_problems": 200, "n_test_problems": 2, "d_model": 32,
            "n_layers": 1, "n_heads": 2, "warmup_steps": 20, "warmup_batch_size": 16, "pass1_steps": 2, "rl_steps": 5000,
            "n_prompts": 4, "n_rollouts": 8, "eval_every": 5000, "eval_samples": 4, "checkpoint_every": 5}
    args = [sys.executable, "-m", "passkrl.cli", "experiment", "diagnostic", "--out", str(out), "--seeds", "1",
            "--replicates", "1", "--jobs", "2"]
    for name, value in tiny.items():
        args += ["--set", f"{name}={value}"]
    env = {**os.environ, "PASSKRL_CACHE": str(tmp_path / "cache")}
    # SIGINT as a terminal leaves it, even when this test runs where it is ignored (a shell's background job):
    # an ignored SIGINT is inherited, and Python then installs no KeyboardInterrupt handler
    study = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(out.glob("runs/*/metrics.jsonl"))) < 2:
            time.sleep(0.2)
        assert len(list(out.glob("runs/*/metrics.jsonl"))) == 2, "the RL runs did not start"
        workers = _children(study.pid)
        if to == "study process":
            study.send_signal(signal.SIGINT)
        else:  # what a terminal's Ctrl-C does: every process of the group gets it
            os.killpg(study.pid, signal.SIGINT)
        _, stderr = study.communicate(timeout=60)
    finally:  # a failure above must not leave a 5000-step study training
        if study.poll() is None:
            os.killpg(study.pid, signal.SIGKILL)
            study.communicate()
    assert study.returncode == 130, stderr
    assert "Traceback" not in stderr and "leaked semaphore" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "passkrl: interrupted"
    deadline = time.time() + 10
    while any(_alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert workers and not any(_alive(pid) for pid in workers)
    with directory_lock(out, "experiment directory"):  # free: taken at once
        pass


def test_partly_finished_study_trains_only_the_missing_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    study = get_study("transfer")
    settings = parse_settings([f"{k}={v}" for k, v in TINY.items()])
    specs = runner.plan(study, 1, quick=False, out=tmp_path, base=settings)
    runner.execute(specs[:1], jobs=1, log=lambda _: None)
    assert specs[0].finished and not specs[1].finished
    done = []
    runner.execute(specs, jobs=1, log=lambda _: None, on_done=lambda spec, _: done.append(spec.arm.label))
    assert done == ["pass@k then pass@1"]
    # the schedule switches objective halfway: the study's k for steps 1-2, then k = 1
    records = [json.loads(line) for line in (specs[1].run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["k"] for r in records if r["kind"] == "train" and r.get("phase") != "pass1"] == [K, K, 1, 1]


def test_a_studys_own_settings_come_before_set_quick_and_the_arm():
    main = get_study("main")
    assert main.settings == {"n_test_problems": 512, "eval_samples": 64, "eval_every": TrainConfig.rl_steps}
    full = runner.plan(main, 1, quick=False, out=Path("/x"))
    assert {s.config.n_test_problems for s in full} == {512}
    assert {s.config.eval_every for s in full} == {TrainConfig.rl_steps}  # evaluated at the start and the end
    quick = runner.plan(main, 1, quick=True, out=Path("/x"))
    assert {s.config.n_test_problems for s in quick} == {32} and {s.config.eval_every for s in quick} == {15}
    explicit = runner.plan(main, 1, quick=False, out=Path("/x"), base={"n_test_problems": 64})
    assert {s.config.n_test_problems for s in explicit} == {64}
    # the larger pool is another run: the other studies' pass@1 arm is not silently reused for it
    expl = {s.arm.label: s.run_dir for s in runner.plan(get_study("exploration"), 1, quick=False, out=Path("/x"))}
    assert {s.arm.label: s.run_dir for s in full}["pass@1"] != expl["pass@1"]


def test_bad_plans_are_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="--seeds must be at least 1"):
        runner.plan(get_study("main"), 0, quick=True, out=tmp_path)
    with pytest.raises(ValueError, match="--replicates must be at least 1"):
        runner.plan(get_study("main"), 1, quick=True, out=tmp_path, replicates=0)
    with pytest.raises(ValueError, match="--jobs must be at least 1"):
        runner.choose_jobs(0, 3)
