"""A study small enough for a test: trainer settings that make each run seconds long, as ``--set`` takes them."""

from __future__ import annotations

from pathlib import Path

TINY = {
    "train_sizes": '"7"', "test_sizes": '"7,9"', "n_train_problems": 200, "n_test_problems": 3,
    "d_model": 32, "n_layers": 1, "n_heads": 2, "warmup_steps": 40, "warmup_batch_size": 32, "pass1_steps": 2,
    "rl_steps": 4, "n_prompts": 4, "n_rollouts": 8, "eval_every": 2, "eval_samples": 4, "checkpoint_every": 2,
}
"""Trainer settings of every run of a tiny study, as ``--set NAME=VALUE`` text."""


def tiny_args(out: Path, study: str = "diagnostic") -> list[str]:
    """``passkrl experiment`` arguments of ``study`` with one warm-up seed, two RL replicates and :data:`TINY`."""
    args = ["experiment", study, "--out", str(out), "--seeds", "1", "--replicates", "2"]
    for name, value in TINY.items():
        args += ["--set", f"{name}={value}"]
    return args
