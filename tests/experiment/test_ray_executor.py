"""``passkrl experiment STUDY --ray``: a miniature study as Ray tasks on a real local Ray instance.

One Ray instance of 2 CPUs serves the module. The reference is the same study in local processes
(:func:`passkrl.experiment.runner.execute`) with single-threaded warm-ups, as every Ray task is: torch's
rounding can depend on the thread count, and with equal thread counts the two executors agree bit for bit.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from passkrl.cli import main as passkrl_main  # noqa: E402
from passkrl.cli.experiment import parse_settings  # noqa: E402
from passkrl.experiment import ray_executor, runner  # noqa: E402
from passkrl.experiment.studies import get_study  # noqa: E402

TINY = {
    "train_sizes": '"7"', "test_sizes": '"7,9"', "n_train_problems": 200, "n_test_problems": 3,
    "d_model": 32, "n_layers": 1, "n_heads": 2, "warmup_steps": 40, "warmup_batch_size": 32, "pass1_steps": 2,
    "rl_steps": 6, "n_prompts": 4, "n_rollouts": 8, "eval_every": 2, "eval_samples": 4, "checkpoint_every": 2,
}
"""Seconds per run; a Pass@1 phase of 2 steps, so that all three stages (warm-up, Pass@1 phase, run) are Ray tasks."""
STUDY = "diagnostic"  # 2 arms: with 1 seed and 1 replicate, 2 runs sharing one warm-up and one Pass@1 phase


def _specs(out: Path) -> list[runner.RunSpec]:
    settings = parse_settings([f"{name}={value}" for name, value in TINY.items()])
    return runner.plan(get_study(STUDY), 1, quick=False, out=out, base=settings, replicates=1)


def _cli_args(out: Path) -> list[str]:
    args = ["experiment", STUDY, "--out", str(out), "--seeds", "1", "--replicates", "1"]
    for name, value in TINY.items():
        args += ["--set", f"{name}={value}"]
    return args


def _outcome(out: Path) -> dict[str, dict]:
    """Per run: config.json, eval.json and every metrics record without its wall-clock times."""
    found = {}
    for run in sorted((out / "runs").iterdir()):
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        for record in records:
            record.pop("time_s", None)
        found[run.name] = {"config": json.loads((run / "config.json").read_text()),
                           "eval": json.loads((run / "eval.json").read_text()), "metrics": records}
    return found


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray instance of 2 CPUs; its workers' own cache (what shipped runs use) is in a temporary directory."""
    node_cache = tmp_path_factory.mktemp("node-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PASSKRL_CACHE", str(node_cache))  # inherited by the workers Ray starts
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, logging_level="WARNING")
        try:
            yield node_cache
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The study trained by the local executor (2 processes, single-threaded warm-ups)."""
    root = tmp_path_factory.mktemp("local")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PASSKRL_CACHE", str(root / "cache"))
        patch.setattr(runner.os, "cpu_count", lambda: 1)  # warm-ups get 1 thread, as Ray's tasks do
        runner.execute(_specs(root / "exp"), jobs=2, log=lambda _: None)
    return _outcome(root / "exp")


@pytest.fixture(scope="module")
def ray_cache(tmp_path_factory):
    """The warm-up cache the driver passes to its tasks (a shared filesystem: this machine)."""
    return tmp_path_factory.mktemp("ray-cache")


def test_a_study_on_ray_gives_the_results_of_local_processes(ray_cluster, reference, ray_cache, tmp_path, monkeypatch,
                                                             capsys):
    monkeypatch.setenv("PASSKRL_CACHE", str(ray_cache))  # empty: Ray's tasks build the warm-up and the Pass@1 phase
    out = tmp_path / "exp"
    assert passkrl_main([*_cli_args(out), "--ray"]) == 0
    printed = capsys.readouterr()
    assert "Ray tasks of 1 CPU on 2 CPU(s)" in printed.out + printed.err
    found = _outcome(out)
    assert len(found) == 2 and found == reference  # identical configs, evaluations and metrics, run by run
    assert not list((out / "runs").glob(".ray-visible-*"))  # the driver's marker is gone
    numbers = json.loads((out / STUDY / "results.json").read_text())
    assert numbers["timing"]["processes"] == 2 and numbers["timing"]["threads"] == 1
    assert (out / STUDY / "report.md").exists()
    assert ray.is_initialized()  # the study used this process's connection and left it open


def _trained_steps(run_dir: Path) -> int:
    """The last RL step in a run's metrics so far (a line being written is skipped)."""
    steps = [0]
    with contextlib.suppress(OSError):
        for line in (run_dir / "metrics.jsonl").read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("kind") == "train":
                steps.append(record["step"])
    return max(steps)


def _ray_worker(pid: int) -> bool:
    try:
        return b"ray::" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the Ray worker's process in /proc")
def test_a_run_whose_worker_is_killed_is_retried_and_resumes_from_its_checkpoint(ray_cluster, reference, ray_cache,
                                                                                tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(ray_cache))
    out = tmp_path / "exp"
    specs = _specs(out)
    killed: dict[str, object] = {}
    stop = threading.Event()

    def kill_a_worker_mid_run() -> None:
        """Once a run has checkpointed step 2 and started step 3: SIGKILL the worker holding its lock."""
        while not stop.is_set():
            for spec in specs:
                if _trained_steps(spec.run_dir) >= 3:
                    pid = int((spec.run_dir / ".lock").read_text())
                    killed.update(run=spec.run_dir.name, pid=pid, ray_worker=_ray_worker(pid),
                                  finished=(spec.run_dir / "eval.json").exists())
                    os.kill(pid, signal.SIGKILL)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_worker_mid_run, daemon=True)
    killer.start()
    messages: list[str] = []
    try:
        ray_executor.execute(specs, log=messages.append)
    finally:
        stop.set()
        killer.join()
    assert killed, "no run reached step 3 while the killer watched"
    assert killed["pid"] != os.getpid() and killed["ray_worker"] and not killed["finished"], killed
    assert any(m.startswith(f"{killed['run']}: resumed from its checkpoint on ") and m.endswith("after an interrupted attempt")
               for m in messages), messages
    found = _outcome(out)
    # The retried run resumed and ended exactly where an uninterrupted one does: the same configs, metrics
    # and evaluations, run by run...
    warm_ups = {run: (found[run]["eval"].pop("warm_up"), reference[run]["eval"]["warm_up"]) for run in found}
    assert found == {run: {**outcome, "eval": {k: v for k, v in outcome["eval"].items() if k != "warm_up"}}
                     for run, outcome in reference.items()}
    # and eval.json's warm-up evaluation, which every checkpoint keeps for a resumed run
    assert all(got == expected for got, expected in warm_ups.values())


def test_shipped_runs_come_back_to_the_driver_with_the_same_results(ray_cluster, reference, tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "driver-cache"))  # not passed on: tasks use the node's cache
    out = tmp_path / "exp"
    specs = _specs(out)
    ray_executor.execute(specs, ship=True, log=lambda _: None)
    assert _outcome(out) == reference
    for spec in specs:
        assert spec.finished and (spec.run_dir / "timing.json").exists() and (spec.run_dir / "log.txt").exists()
        assert not ray_executor._scratch_dir(str(spec.run_dir.resolve())).parent.exists()  # the node's scratch is cleared
    assert not (tmp_path / "driver-cache").exists()
    assert list((ray_cluster / "warmup").glob("*.pt"))  # the warm-up was built in the node's own cache


def test_a_half_trained_run_is_sent_to_its_worker_and_resumed_there(ray_cluster, reference, ray_cache, tmp_path,
                                                                    monkeypatch):
    import dataclasses

    from passkrl.train.trainer import Interrupted

    monkeypatch.setenv("PASSKRL_CACHE", str(ray_cache))
    out = tmp_path / "exp"
    specs = _specs(out)
    half = specs[0]
    with pytest.raises(Interrupted):  # 2 of its 6 steps, here in the driver's directory
        runner._train(dataclasses.replace(half.config, stop_after=2).to_dict(), str(half.run_dir), 1)
    assert half.run_dir.joinpath("checkpoint.pt").exists() and not half.finished
    messages: list[str] = []
    ray_executor.execute(specs, ship=True, log=messages.append)
    resumed = [m for m in messages if "resumed" in m]  # from the checkpoint it was sent with, once
    assert len(resumed) == 1 and resumed[0].startswith(f"{half.run_dir.name}: resumed from its checkpoint on "), messages
    assert "interrupted attempt" not in resumed[0]
    found = _outcome(out)
    assert _trained_steps(half.run_dir) == 6
    warm_ups = {run: (found[run]["eval"].pop("warm_up"), reference[run]["eval"]["warm_up"]) for run in found}
    assert found == {run: {**outcome, "eval": {k: v for k, v in outcome["eval"].items() if k != "warm_up"}}
                     for run, outcome in reference.items()}
    assert all(got == expected for got, expected in warm_ups.values())


def test_a_worker_that_does_not_see_out_names_the_remedy(tmp_path, monkeypatch):
    monkeypatch.setattr(ray_executor, "VISIBLE_WAIT_S", 0.1)
    with pytest.raises(ValueError, match=r"not visible on Ray node .*shares \(or run with --ray-ship"):
        ray_executor._wait_until_visible(str(tmp_path / "runs" / ".ray-visible-x"))
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / ".ray-visible-x").write_text("1\n")
    ray_executor._wait_until_visible(str(tmp_path / "runs" / ".ray-visible-x"))


@pytest.mark.parametrize(("options", "message"), [
    (["--ray", "127.0.0.1:1"], r"^passkrl experiment: error: --ray 127\.0\.0\.1:1: no Ray cluster answers at 127\.0\.0\.1:1"),
    (["--ray", "nohost.invalid:6379"], r"^passkrl experiment: error: --ray nohost\.invalid:6379: no Ray cluster answers"),
    (["--ray", "a:b:c"], r"^passkrl experiment: error: --ray a:b:c: "),
    (["--ray-ship"], r"^passkrl experiment: error: --ray-ship needs --ray$"),
    (["--ray", "--jobs", "2"], r"^passkrl experiment: error: --jobs does not apply with --ray"),
])
def test_bad_ray_options_are_one_line_errors_before_anything_is_created(tmp_path, capsys, options, message):
    out = tmp_path / "exp"
    started = time.monotonic()
    assert passkrl_main([*_cli_args(out), *options]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert not out.exists() and time.monotonic() - started < 30


@pytest.mark.slow
def test_a_study_on_a_two_node_cluster_through_its_address(reference, tmp_path):
    """``--ray HOST:PORT`` from a separate driver process, on a cluster of a head without CPUs and two worker
    nodes of one CPU each (every task runs on a worker node; one machine, so the filesystem is shared)."""
    import subprocess
    import sys

    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, connect=False, head_node_args={"num_cpus": 0})
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        out = tmp_path / "exp"
        env = {**os.environ, "PASSKRL_CACHE": str(tmp_path / "cache")}
        done = subprocess.run([sys.executable, "-m", "passkrl.cli", *_cli_args(out), "--ray", cluster.address],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Ray tasks of 1 CPU on 2 CPU(s)" in done.stdout + done.stderr
        assert _outcome(out) == reference
    finally:
        cluster.shutdown()
