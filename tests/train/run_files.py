"""Reading a run directory in the trainer's tests."""

from __future__ import annotations

import json
from pathlib import Path


def metrics(run_dir: Path, *, times: bool = False) -> list[dict]:
    """The records of ``run_dir/metrics.jsonl`` in order; without their wall-clock ``time_s`` unless ``times``
    (so that two runs' records compare equal when they computed the same)."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    if not times:
        for record in records:
            record.pop("time_s", None)
    return records
