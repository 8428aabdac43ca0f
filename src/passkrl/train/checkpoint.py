"""Checkpoints of a training run, written atomically, and the matching truncation of metrics.

``RUN/checkpoint.pt`` holds the model, the optimiser and the number of finished RL steps. Because
every random draw of a step is seeded by ``(seed, step)``, nothing else is needed to resume a run so
that it reproduces an uninterrupted one bit for bit. A checkpoint is written to a temporary file and
renamed, so a crash (even ``kill -9``) leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from passkrl.io import atomic_open, write_text_atomic

CHECKPOINT = "checkpoint.pt"
FORMAT = 1


def save(run_dir: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, extra: dict) -> None:
    state = {"format": FORMAT, "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "extra": extra}
    with atomic_open(run_dir / CHECKPOINT, "wb") as handle:
        torch.save(state, handle)


def load_latest(run_dir: Path) -> dict[str, Any] | None:
    """The run's checkpoint, ``None`` if it has none yet; a corrupt file is a clear ``ValueError``."""
    path = run_dir / CHECKPOINT
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many kinds for a damaged file
        raise ValueError(f"checkpoint {str(path)!r} is unreadable ({type(err).__name__}: {err}); "
                         "delete it to restart the run from the beginning") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or "model" not in state:
        raise ValueError(f"checkpoint {str(path)!r} is not a passkrl checkpoint (format {FORMAT})")
    return state


def truncate_metrics(path: Path, step: int) -> None:
    """Keep only the metric lines of steps ``<= step`` (a resumed run rewrites the rest)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            break  # a line cut by a crash: it and anything after it are dropped
        if record.get("step", 0) <= step:
            kept.append(line)
    write_text_atomic(path, "".join(line + "\n" for line in kept))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    records = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return records


def check_writable(directory: Path) -> None:
    """Fail before any work if the run directory cannot be created or written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"output directory {str(directory)!r} is not writable: {err.strerror or err}") from None
    if not os.access(directory, os.W_OK):
        raise ValueError(f"output directory {str(directory)!r} is not writable")
