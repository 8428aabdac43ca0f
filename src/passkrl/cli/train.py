"""``passkrl train``: parse the typed config, prepare the run directory, run, report."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import tyro

from passkrl.io import check_output_dir
from passkrl.runs import RunDir
from passkrl.train import checkpoint as ckpt
from passkrl.train.config import TrainConfig, current_options, explicit_fields, resolve


def default_run_dir(cfg: TrainConfig) -> Path:
    tag = cfg.k_schedule.replace("@", "at").replace(",", "-") if cfg.k_schedule else f"k{cfg.k}"
    label = cfg.training.run_label  # nothing for the maze, the default task
    task = f"{label.replace('/', '-')}-" if label else ""
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{task}{cfg.estimator}-{tag}{'-smoke' if cfg.smoke else ''}"


def load_run_config(run_dir: Path) -> TrainConfig:
    try:
        return TrainConfig.from_dict(RunDir(run_dir).read_config())
    except (FileNotFoundError, ValueError) as err:
        raise type(err)(f"--resume: {err}") from None


# What --resume takes from the command line; everything else comes from the run's config.json.
RESUME_OPTIONS = frozenset({"resume", "stop_after", "progress"})


def main(argv: list[str]) -> int:
    argv = current_options(argv)  # --n-train-mazes, a former name, is --n-train-problems
    cli_cfg = tyro.cli(TrainConfig, args=argv, prog="passkrl train")
    explicit = explicit_fields(argv)
    if cli_cfg.resume is not None:
        ignored = sorted(explicit - RESUME_OPTIONS)
        if ignored:
            raise ValueError(f"--resume continues the run as its config.json says; these options would be ignored: "
                             f"{', '.join('--' + name.replace('_', '-') for name in ignored)} (drop them, or start a "
                             "new run with --out)")
        run_dir = cli_cfg.resume
        cfg = dataclasses.replace(load_run_config(run_dir), stop_after=cli_cfg.stop_after, progress=cli_cfg.progress)
        try:
            cfg.validate()
        except ValueError as err:
            raise ValueError(f"--resume: {RunDir(run_dir).config_path} has a bad setting: {err}") from None
        ckpt.load_latest(run_dir)  # fail now, with a clear message, if the checkpoint is damaged
        resuming = True
    else:
        cfg = resolve(cli_cfg, explicit)  # every check before the run directory is created
        run_dir = cfg.out or default_run_dir(cfg)
        cfg = dataclasses.replace(cfg, out=run_dir)
        resuming = False
    check_output_dir(run_dir, "--resume" if resuming else "--out")
    files = RunDir(run_dir)
    files.check_writable()
    with files.lock():
        return _train(cfg, files, resuming)


def _train(cfg: TrainConfig, files: RunDir, resuming: bool) -> int:
    """The run itself, under the run directory's lock."""
    run_dir = files.path
    if not resuming:
        if files.has_checkpoint:
            raise ValueError(f"{str(run_dir)!r} already holds a run; continue it with --resume {run_dir} "
                             "or choose another --out")
        files.write_config(cfg.to_dict())
    files.remove_stale_temporaries()

    from passkrl.report.run_report import draw_run, format_before_after
    from passkrl.train.trainer import Interrupted, run

    started = time.perf_counter()
    label = cfg.training.run_label
    from passkrl.train.precision import resolve as resolve_precision

    print(f"passkrl train: {label + ' ' if label else ''}{cfg.estimator} k={cfg.k_schedule or cfg.k}, "
          f"{resolve_precision(cfg.precision)}, run directory {run_dir}"
          + (" (resuming)" if resuming else ""))
    try:
        summary = run(cfg, run_dir, resume=resuming)
    except Interrupted as stop:
        print(f"\nstopped after step {stop.args[0]}: checkpoint saved; continue with "
              f"`passkrl train --resume {run_dir}`", file=sys.stderr)
        draw_run(run_dir)
        return 130
    plots = draw_run(run_dir)
    print(format_before_after(summary))
    print(f"\nfinished in {time.perf_counter() - started:.0f} s; plots: {', '.join(str(p) for p in plots)}")
    print(f"metrics: {files.metrics_path}; evaluation: {files.eval_path}")
    return 0
