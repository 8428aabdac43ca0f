"""Run the arms of a study: one trainer run per (arm, seed), in parallel processes, resumable.

Layout of ``--out DIR``::

    DIR/runs/<estimator>-s<seed>r<replicate>-<hash>/   one trainer run (config.json, metrics.jsonl, checkpoints,
                                          eval.json when finished, log.txt with its output)
    DIR/<study>/results.json, report.md, *.png

A run's directory name is made from its full configuration alone (never from an arm's label), so a
run shared by two studies (the same settings and seed, e.g. GRPO in ``main`` and ``exploration``, or
``k=4`` in ``k`` and the analytic arm of ``main``) is trained once and reused, and
a finished run (``eval.json`` present) is never rerun. An interrupted run resumes from its last
checkpoint (the trainer's own resume, bit-identical to an uninterrupted run).

Seeds: ``seeds`` warm-up seeds times ``replicates`` RL replicates (``TrainConfig.rl_seed``) each.
Warm-up: every arm and replicate of a seed starts from the same supervised warm-up, which the trainer caches by
its settings (:mod:`passkrl.train.warmup`). The runner builds those warm-ups first, one process per
seed, so that parallel arms never race to build the same one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from passkrl.experiment.studies import QUICK_OVERRIDES, Arm, Study
from passkrl.runs import RunDir
from passkrl.train.config import TrainConfig, field_name, hashed_name
from passkrl.train.precision import resolve as resolve_precision

# Settings that do not change what a run computes (left out of its identity).
_NOT_IDENTITY = ("out", "resume", "progress", "threads", "stop_after", "smoke")

MAX_RUNS = 10_000
"""Most training runs a study may plan: each trains for minutes (10,000 are weeks of one machine), and
planning one validates its settings, so an absurd --seeds or --replicates is refused before any of it."""


@dataclass(frozen=True)
class RunSpec:
    arm: Arm
    seed: int
    """Warm-up seed (``config.seed``)."""
    replicate: int
    """RL replicate from that warm-up (``config.rl_seed``)."""
    config: TrainConfig
    run_dir: Path

    @property
    def unit(self) -> tuple[int, int]:
        """``(seed, replicate)``: what pairs the runs of two arms."""
        return (self.seed, self.replicate)

    @property
    def finished(self) -> bool:
        return RunDir(self.run_dir).finished


def arm_config(arm: Arm, seed: int, *, quick: bool, base: dict[str, Any] | None = None, replicate: int = 0,
               study_settings: dict[str, Any] | None = None) -> TrainConfig:
    """The trainer configuration of ``arm`` for ``seed`` and RL ``replicate``: the trainer defaults,
    changed by the study's own ``study_settings``, then by ``base`` (``--set``), then by ``--quick``,
    then by the arm."""
    values: dict[str, Any] = dict(study_settings or {})
    values.update(base or {})
    if quick:
        values.update(QUICK_OVERRIDES)
    values.update(arm.overrides)
    values["seed"] = seed
    values["rl_seed"] = replicate
    values["progress"] = False
    rl_steps = values.get("rl_steps", TrainConfig.rl_steps)
    if isinstance(values.get("k_schedule"), str):  # "4@0,1@half": switch at half of the RL steps
        values["k_schedule"] = values["k_schedule"].replace("half", str(rl_steps // 2))
    values = {field_name(name): value for name, value in values.items()}  # former names (n_test_mazes) too
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"arm {arm.label!r} sets unknown trainer settings: {', '.join(unknown)}")
    config = TrainConfig(**values)
    config.validate()
    return config


def identity(config: TrainConfig) -> dict[str, Any]:
    """The settings that make a run what it is (its config.json in a study); its directory name is their digest."""
    settings = config.to_dict()
    for name in _NOT_IDENTITY:
        settings.pop(name, None)
    # the arithmetic the run uses, as decided on this machine ("auto" is bfloat16 only where it is native)
    settings["precision"] = resolve_precision(config.precision)
    if not config.pass1_steps:  # runs without a Pass@1 phase keep the directory names they had before it existed
        settings.pop("pass1_steps")
        settings.pop("pass1_lr")
    return settings


def run_dir_for(out: Path, config: TrainConfig) -> Path:
    """``out/runs/<estimator>-s<seed>r<replicate>-<hash of the settings>``: equal settings, equal directory."""
    # renamed settings are hashed under their former names, so directories written before keep their names
    settings = {hashed_name(name): value for name, value in identity(config).items()}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "-", config.estimator.lower()).strip("-")
    return out / "runs" / f"{slug}-s{config.seed}r{config.rl_seed}-{digest}"


def plan(study: Study, seeds: int, *, quick: bool, out: Path, base: dict[str, Any] | None = None,
         replicates: int = 1) -> list[RunSpec]:
    """Every run of the study: each arm for warm-up seeds 0..seeds-1 and RL replicates 0..replicates-1."""
    if seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {seeds}")
    if replicates < 1:
        raise ValueError(f"--replicates must be at least 1, got {replicates}")
    n_runs = len(study.arms) * seeds * replicates
    if n_runs > MAX_RUNS:
        raise ValueError(f"--seeds {seeds} x --replicates {replicates}: {len(study.arms)} arm(s) x {seeds:,} x "
                         f"{replicates:,} = {n_runs:,} training runs, each of minutes; a study plans at most "
                         f"{MAX_RUNS:,}. Ask for fewer.")
    specs = []
    for arm in study.arms:
        for seed in range(seeds):
            for replicate in range(replicates):
                config = arm_config(arm, seed, quick=quick, base=base, replicate=replicate,
                                    study_settings=study.settings)
                specs.append(RunSpec(arm, seed, replicate, config, run_dir_for(out, config)))
    return specs


# --------------------------------------------------------------------------------------------------
# Work done in the child processes
# --------------------------------------------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> None:
    """Worker initialiser: a worker whose study process is gone (even by ``kill -9``) exits at once.

    Linux delivers SIGKILL to the worker when its parent dies (``PR_SET_PDEATHSIG``); elsewhere a
    daemon thread notices the new parent pid within a second. Either way no orphan keeps training
    beside a restarted study.
    """
    import signal
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="passkrl-parent-watch", daemon=True).start()


def _warm_up(config: dict[str, Any], threads: int, pass1: bool = False) -> float:
    """Build (or find) the cached warm-up of this configuration, and with ``pass1`` its cached Pass@1 phase
    too; returns the seconds it took."""
    import torch

    from passkrl.train.trainer import build, sharpen
    from passkrl.train.warmup import warm_up

    started = time.perf_counter()
    torch.set_num_threads(threads)
    cfg = dataclasses.replace(TrainConfig.from_dict(config), progress=False)
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        data, policy = build(cfg)
        warm_up(policy, data.train, cfg)
        if pass1 and cfg.pass1_steps:
            sharpen(policy, data, cfg)
    return time.perf_counter() - started


def _train(config: dict[str, Any], run_dir: str, threads: int) -> float:
    """One trainer run (resumed if it has a checkpoint); output goes to ``run_dir/log.txt``."""
    from passkrl.train import checkpoint as ckpt
    from passkrl.train.trainer import run

    started = time.perf_counter()
    files = RunDir(run_dir)
    files.check_writable()
    cfg = dataclasses.replace(TrainConfig.from_dict(config), threads=threads)
    with files.lock():
        files.write_config(identity(cfg))
        files.remove_stale_temporaries()
        resume = ckpt.load_latest(files.path) is not None
        with open(files.log_path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            run(cfg, files.path, resume=resume)
    seconds = time.perf_counter() - started
    files.add_time(seconds, threads=threads)
    return seconds


# --------------------------------------------------------------------------------------------------
# The parent: scheduling
# --------------------------------------------------------------------------------------------------


def choose_jobs(jobs: int | None, n_pending: int) -> tuple[int, int]:
    """``(processes, torch threads per process)``.

    By default one single-threaded process per core, since runs are independent; ``--jobs 1`` gives
    one process that uses every core's thread.
    """
    cores = os.cpu_count() or 1
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    processes = max(1, min(jobs or cores, n_pending or 1))
    return processes, max(1, cores // processes)


@contextlib.contextmanager
def _stopped_on_interrupt(pool: ProcessPoolExecutor):
    """On Ctrl-C (or any error), end the workers at once and let the pool release its queues and
    semaphores before the interrupt goes on: no worker keeps training, no leaked-semaphore warning.
    Interrupted runs resume from their last checkpoint on the next invocation."""
    try:
        yield
    except BaseException:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise


def execute(
    specs: list[RunSpec],
    *,
    jobs: int | None = None,
    on_done: Callable[[RunSpec, float], None] | None = None,
    log: Callable[[str], None] = print,
    on_warmups_done: Callable[[float], None] | None = None,
) -> dict[str, float]:
    """Run every unfinished spec (warm-ups first); returns seconds spent per phase."""
    pending = list({spec.run_dir: spec for spec in specs if not spec.finished}.values())  # equal settings: one run
    timing = {"warmup_s": 0.0, "train_s": 0.0}
    if not pending:
        return timing
    processes, threads = choose_jobs(jobs, len(pending))
    context = get_context("spawn")  # a clean interpreter per child: no inherited torch threads or locks
    started = time.perf_counter()
    # One warm-up per distinct warm-up setting (in practice: per seed), then one Pass@1 phase per distinct
    # start, so that parallel processes never race to build the same cache entry.
    from passkrl.train.pass1_phase import start_key
    from passkrl.train.warmup import cache_key

    warmups: dict[str, TrainConfig] = {}
    starts: dict[str, TrainConfig] = {}
    for spec in pending:
        warmups.setdefault(cache_key(spec.config), spec.config)
        if spec.config.pass1_steps:
            starts.setdefault(start_key(spec.config), spec.config)
    log(f"{len(pending)} run(s) to train ({len(specs) - len(pending)} already finished), "
        f"{len(warmups)} warm-up(s), {len(starts)} Pass@1 phase(s); {processes} process(es) x {threads} thread(s)")
    workers = {"mp_context": context, "initializer": _die_with_parent, "initargs": (os.getpid(),)}
    for stage, pass1 in ((warmups, False), (starts, True)):
        if not stage:
            continue
        # Fewer warm-ups than processes (one warm-up seed, say): each gets the idle cores' threads too.
        stage_processes = min(processes, len(stage))
        stage_threads = max(threads, (os.cpu_count() or 1) // stage_processes)
        with ProcessPoolExecutor(max_workers=stage_processes, **workers) as pool, _stopped_on_interrupt(pool):
            for future in [pool.submit(_warm_up, cfg.to_dict(), stage_threads, pass1) for cfg in stage.values()]:
                future.result()
    timing["warmup_s"] = time.perf_counter() - started
    if on_warmups_done is not None:
        on_warmups_done(timing["warmup_s"])

    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=processes, **workers) as pool, _stopped_on_interrupt(pool):
        running: dict[Future, RunSpec] = {
            pool.submit(_train, spec.config.to_dict(), str(spec.run_dir), threads): spec for spec in pending
        }
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                spec = running.pop(future)
                seconds = future.result()  # re-raises a child's error with its traceback
                if on_done is not None:
                    on_done(spec, seconds)
    timing["train_s"] = time.perf_counter() - started
    return timing
