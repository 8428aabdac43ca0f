"""``passkrl train``: parse the typed config, prepare the run directory, run, report."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import tyro

from passkrl.runs import RunDir
from passkrl.train import checkpoint as ckpt
from passkrl.train.config import TrainConfig, resolve


def default_run_dir(cfg: TrainConfig) -> Path:
    tag = cfg.k_schedule.replace("@", "at").replace(",", "-") if cfg.k_schedule else f"k{cfg.k}"
    task = "" if cfg.task == "maze" else f"{cfg.task.replace('/', '-')}-"
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{task}{cfg.estimator}-{tag}{'-smoke' if cfg.smoke else ''}"


def load_run_config(run_dir: Path) -> TrainConfig:
    try:
        return TrainConfig.from_dict(RunDir(run_dir).read_config())
    except (FileNotFoundError, ValueError) as err:
        raise type(err)(f"--resume: {err}") from None


def main(argv: list[str]) -> int:
    cli_cfg = tyro.cli(TrainConfig, args=argv, prog="passkrl train")
    if cli_cfg.resume is not None:
        run_dir = cli_cfg.resume
        cfg = dataclasses.replace(load_run_config(run_dir), stop_after=cli_cfg.stop_after, progress=cli_cfg.progress)
        ckpt.load_latest(run_dir)  # fail now, with a clear message, if the checkpoint is damaged
        resuming = True
    else:
        cfg = resolve(cli_cfg)
        run_dir = cfg.out or default_run_dir(cfg)
        if RunDir(run_dir).has_checkpoint:
            raise ValueError(f"{str(run_dir)!r} already holds a run; continue it with --resume {run_dir} "
                             "or choose another --out")
        RunDir(run_dir).check_writable()
        cfg = dataclasses.replace(cfg, out=run_dir)
        RunDir(run_dir).write_config(cfg.to_dict())
        resuming = False
    RunDir(run_dir).check_writable()

    from passkrl.report.run_report import draw_run, format_before_after
    from passkrl.train.trainer import Interrupted, run

    started = time.perf_counter()
    print(f"passkrl train: {cfg.task if cfg.task != 'maze' else ''}{' ' if cfg.task != 'maze' else ''}"
          f"{cfg.estimator} k={cfg.k_schedule or cfg.k}, run directory {run_dir}"
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
    print(f"metrics: {RunDir(run_dir).metrics_path}; evaluation: {RunDir(run_dir).eval_path}")
    return 0
