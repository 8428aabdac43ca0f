"""``passkrl eval SAMPLES.jsonl``: unbiased pass@k / max@k / maj@k with bootstrap intervals.

The input format, the metrics and the reading of verl's generation dumps are those of
:mod:`passkrl.evaluation`, which does the work; this command checks its options, prints the table
(notes on stderr) and writes ``--json`` / ``--plot``. Bad input raises ``ValueError``
(``FileNotFoundError`` for a missing file) naming the line and the problem; the ``passkrl``
dispatcher prints it as one line and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Annotated

import tyro

from passkrl.evaluation import evaluate_path, format_table, parse_ks, plot
from passkrl.io import check_output_file, write_json_atomic
from passkrl.parsing import IntTuple


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Unbiased pass@k / max@k / maj@k with 95% bootstrap intervals from a JSONL of samples."""

    samples: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="SAMPLES.jsonl")]
    """JSONL file, one sampled answer per line: {"prompt_id": ..., "reward": x | "correct": b, "answer": "..."}; or a verl generation dump (a <step>.jsonl, or the trainer.validation_data_dir directory: its latest step)."""
    k: IntTuple | None = None
    """k values, e.g. 1,4,16 or 1 4 16; each must be <= every prompt's number of samples. Default: 1,2,4,8,16,32 up to the smallest number of samples per prompt."""
    threshold: float = 1.0
    """A sample given as a reward counts as correct when reward >= threshold."""
    plot: Annotated[Path | None, tyro.conf.arg(metavar="FILE.png")] = None
    """Draw the metrics against k (log2 axis, with interval bands) into this PNG file."""
    json: Annotated[Path | None, tyro.conf.arg(metavar="FILE.json")] = None
    """Write every number (summary and per prompt) to this JSON file."""
    level: float = 0.95
    """Confidence level of the bootstrap intervals."""
    n_boot: int = 2000
    """Number of bootstrap resamples of the prompts."""
    seed: int = 0
    """Seed of the bootstrap."""


def main(argv: list[str]) -> int:
    """Run ``passkrl eval``; the ``--json`` file holds :func:`passkrl.evaluation.evaluate`'s result."""
    cfg = tyro.cli(EvalConfig, args=argv, prog="passkrl eval")
    if not 0.0 < cfg.level < 1.0:
        raise ValueError(f"--level must lie in (0, 1), got {cfg.level}")
    if cfg.n_boot < 1:
        raise ValueError(f"--n-boot must be >= 1, got {cfg.n_boot}")
    if not math.isfinite(cfg.threshold):
        raise ValueError(f"--threshold must be finite, got {cfg.threshold}")
    check_output_file(cfg.plot, "--plot", suffix=".png", inputs=(("SAMPLES", cfg.samples),))
    check_output_file(cfg.json, "--json", inputs=(("SAMPLES", cfg.samples),))
    if cfg.plot is not None and cfg.json is not None and cfg.plot == cfg.json:
        raise ValueError(f"--plot and --json name the same file {str(cfg.plot)!r}")
    if cfg.k is not None:
        parse_ks(cfg.k)  # fail on a malformed --k before reading a large file
    result = evaluate_path(cfg.samples, cfg.k, threshold=cfg.threshold, level=cfg.level, n_boot=cfg.n_boot,
                           seed=cfg.seed, note=lambda text: print(f"note: {text}", file=sys.stderr))
    print(format_table(result))
    if cfg.json is not None:
        write_json_atomic(cfg.json, result)
        print(f"\nnumbers written to {cfg.json}")
    if cfg.plot is not None:
        plot(result, cfg.plot)
        print(f"plot written to {cfg.plot}")
    return 0
