"""A training run's directory: what it holds, and the only code that reads or writes those files.

    RUN/config.json      the resolved TrainConfig (``passkrl train --resume RUN`` reads it back)
    RUN/metrics.jsonl    one JSON line per RL step ("kind": "train") and per evaluation ("kind": "eval"),
                         appended, flushed and fsynced as it happens
    RUN/checkpoint.pt    model, optimiser and finished steps (:mod:`passkrl.train.checkpoint`)
    RUN/eval.json        the before/after summary, written last: its presence means the run finished
    RUN/timing.json      wall-clock seconds over every invocation (written by ``passkrl experiment``)
    RUN/log.txt          the run's output when a study runs it in a worker
    RUN/*.png            training.png, evaluation.png (:mod:`passkrl.report.run_report`)
    RUN/.lock            held (``flock``) by the one process writing the run; it holds that pid

The trainer, the experiment runner, the results loader and ``passkrl report`` all go through
:class:`RunDir`. Whole files are written atomically (:mod:`passkrl.io`); a line of
``metrics.jsonl`` cut by a crash ends the readable log and is dropped on resume. Only the standard
library and :mod:`passkrl.io` are imported (no torch), so a study's parent process can use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passkrl.io import write_json_atomic, write_text_atomic


def _lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file; a byte that is not UTF-8 is a ``ValueError`` naming file and line."""
    lines = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                lines.append(raw.decode("utf-8").rstrip("\r\n"))
            except UnicodeDecodeError as err:
                raise ValueError(f"{str(path)!r} line {number} is not UTF-8 text ({err.reason} at byte "
                                 f"{err.start})") from None
    return lines


class BusyError(ValueError):
    """Another live process holds the lock of a directory (a ``ValueError``, so the CLI prints one line)."""


@contextlib.contextmanager
def directory_lock(directory: Path, what: str = "run directory") -> Iterator[None]:
    """Hold ``directory/.lock`` while the block runs; ``BusyError`` naming the holder's pid if another
    process holds it.

    The lock is an advisory ``flock`` on that file: the kernel releases it when its holder exits,
    even by ``kill -9``, so the lock of a dead process is simply taken over (no stale lock can block
    a rerun). The file keeps the last holder's pid for the message.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ".lock"
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise BusyError(f"{what} {str(directory)!r} is in use by another passkrl process (pid {holder}); "
                            "wait for it to finish or stop it, or choose another directory") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock


@dataclass(frozen=True)
class RunDir:
    """The files of one training run under ``path``."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    # --- where things are
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def eval_path(self) -> Path:
        return self.path / "eval.json"

    @property
    def timing_path(self) -> Path:
        return self.path / "timing.json"

    @property
    def log_path(self) -> Path:
        return self.path / "log.txt"

    # --- state
    @property
    def finished(self) -> bool:
        """True once the run has written its summary (``eval.json``)."""
        return self.eval_path.exists()

    @property
    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.exists()

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the run's lock (see :func:`directory_lock`) while a process writes the run."""
        return directory_lock(self.path)

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete the temporary files of atomic writes cut short by a crash (only call under the lock)."""
        removed = []
        for tmp in self.path.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
        return removed

    def check_writable(self) -> None:
        """Create the directory and fail before any work if it cannot be written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as err:
            raise ValueError(f"output directory {str(self.path)!r} is not writable: {err.strerror or err}") from None
        if not os.access(self.path, os.W_OK):
            raise ValueError(f"output directory {str(self.path)!r} is not writable")

    # --- config.json
    def write_config(self, config: dict[str, Any]) -> None:
        write_json_atomic(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        """The stored config as a dict; a clear error when it is missing or damaged."""
        if not self.path.is_dir():
            raise FileNotFoundError(f"run directory {str(self.path)!r} does not exist")
        if not self.config_path.exists():
            raise FileNotFoundError(f"{str(self.config_path)!r} is missing; is {str(self.path)!r} a passkrl run "
                                    "directory?")
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{str(self.config_path)!r} is not valid JSON ({err.msg})") from None

    # --- metrics.jsonl
    def append_metrics(self, record: dict[str, Any]) -> None:
        """One JSON line per record, flushed and fsynced: a crash loses at most the line being written."""
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, allow_nan=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _complete_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(line, record)`` of every complete record, in order; a line cut by a crash ends the log."""
        if not self.metrics_path.exists():
            return
        for line in _lines(self.metrics_path):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                return  # it and anything after it are dropped
            yield line, record

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every complete record, in order (reading stops at a line cut by a crash)."""
        return [record for _, record in self._complete_records()]

    def clear_metrics(self) -> None:
        """Drop every record (a run that starts afresh)."""
        if self.metrics_path.exists():
            write_text_atomic(self.metrics_path, "")

    def truncate_metrics(self, step: int) -> None:
        """Keep only the records of steps ``<= step`` (a resumed run rewrites the rest)."""
        if not self.metrics_path.exists():
            return
        kept = [line for line, record in self._complete_records() if record.get("step", 0) <= step]
        write_text_atomic(self.metrics_path, "".join(line + "\n" for line in kept))

    # --- eval.json and timing.json
    def write_eval(self, summary: dict[str, Any]) -> None:
        write_json_atomic(self.eval_path, summary)

    def read_eval(self) -> dict[str, Any] | None:
        """The summary, None before the run finished; a damaged file is a ``ValueError`` naming it."""
        if not self.finished:
            return None
        try:
            summary = json.loads(self.eval_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{str(self.eval_path)!r} is damaged ({err}); delete it and run "
                             f"`passkrl train --resume {self.path}` to write it again") from None
        if not isinstance(summary, dict):
            raise ValueError(f"{str(self.eval_path)!r} is not a passkrl evaluation summary")
        return summary

    def add_time(self, seconds: float, **details: Any) -> None:
        """Add ``seconds`` to the run's total wall-clock time (kept over resumed invocations)."""
        write_json_atomic(self.timing_path, {"seconds": (self.seconds() or 0.0) + seconds, **details})

    def seconds(self) -> float | None:
        """Total wall-clock seconds recorded by :meth:`add_time`, or None."""
        if not self.timing_path.exists():
            return None
        return float(json.loads(self.timing_path.read_text(encoding="utf-8"))["seconds"])
