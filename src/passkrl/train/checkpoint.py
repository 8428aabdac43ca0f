"""Checkpoints of a training run, written atomically (the other files of a run: :mod:`passkrl.runs`).

``RUN/checkpoint.pt`` holds the model, the optimiser and the number of finished RL steps. Because
every random draw of a step is seeded by ``(seed, step)``, nothing else is needed to resume a run so
that it reproduces an uninterrupted one bit for bit. A checkpoint is written to a temporary file and
renamed, so a crash (even ``kill -9``) leaves the previous checkpoint intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from passkrl.io import atomic_open

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
