"""Reading a run directory in the trainer's tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch


def metrics(run_dir: Path, *, times: bool = False) -> list[dict]:
    """The records of ``run_dir/metrics.jsonl`` in order; without their wall-clock ``time_s`` unless ``times``
    (so that two runs' records compare equal when they computed the same)."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    if not times:
        for record in records:
            record.pop("time_s", None)
    return records


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The model's parameters in ``run_dir``'s checkpoint."""
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)["model"]


def assert_same_run(straight: Path, other: Path) -> None:
    """Two runs ended with bit-identical parameters and the same metrics records (wall-clock times aside)."""
    a, b = weights(straight), weights(other)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert metrics(straight) == metrics(other)
