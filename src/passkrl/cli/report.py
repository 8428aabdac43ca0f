"""``passkrl report RUN_DIR``: redraw the plots of a training run directory and print its table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import tyro

from passkrl.report.run_report import draw_run, format_before_after
from passkrl.runs import RunDir


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    """Redraw the plots of a training run directory and print its before/after table."""

    run_dir: tyro.conf.Positional[Path]
    """A directory written by `passkrl train`."""


def main(argv: list[str]) -> int:
    cfg = tyro.cli(ReportConfig, args=argv, prog="passkrl report")
    if not cfg.run_dir.is_dir():
        raise FileNotFoundError(f"run directory {str(cfg.run_dir)!r} does not exist")
    files = RunDir(cfg.run_dir)
    if not files.metrics_path.is_file():
        raise ValueError(f"run directory {str(cfg.run_dir)!r} holds no metrics.jsonl; give a directory written by "
                         "passkrl train")
    paths = draw_run(cfg.run_dir)
    summary = RunDir(cfg.run_dir).read_eval()
    if summary is not None:
        print(format_before_after(summary))
    print("plots: " + ", ".join(str(p) for p in paths))
    return 0
