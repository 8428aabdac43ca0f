"""``passkrl train``: parse the typed config, prepare the run directory, run, report."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import tyro

from passkrl.io import write_json_atomic
from passkrl.train import checkpoint as ckpt
from passkrl.train.config import TrainConfig, resolve


def default_run_dir(cfg: TrainConfig) -> Path:
    tag = cfg.k_schedule.replace("@", "at").replace(",", "-") if cfg.k_schedule else f"k{cfg.k}"
    task = "" if cfg.task == "maze" else f"{cfg.task.replace('/', '-')}-"
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{task}{cfg.estimator}-{tag}{'-smoke' if cfg.smoke else ''}"


def load_run_config(run_dir: Path) -> TrainConfig:
    path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise FileNotFoundError(f"--resume: run directory {str(run_dir)!r} does not exist")
    if not path.exists():
        raise FileNotFoundError(f"--resume: {str(path)!r} is missing; is {str(run_dir)!r} a passkrl run directory?")
    try:
        return TrainConfig.from_dict(json.loads(path.read_text()))
    except json.JSONDecodeError as err:
        raise ValueError(f"--resume: {str(path)!r} is not valid JSON ({err.msg})") from None


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
        if (run_dir / ckpt.CHECKPOINT).exists():
            raise ValueError(f"{str(run_dir)!r} already holds a run; continue it with --resume {run_dir} "
                             "or choose another --out")
        ckpt.check_writable(run_dir)
        cfg = dataclasses.replace(cfg, out=run_dir)
        write_json_atomic(run_dir / "config.json", cfg.to_dict())
        resuming = False
    ckpt.check_writable(run_dir)

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
    print(f"metrics: {run_dir / 'metrics.jsonl'}; evaluation: {run_dir / 'eval.json'}")
    return 0
