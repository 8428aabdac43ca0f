"""A task's problems as verl-style data set rows, written and read as JSONL or Parquet.

Each row has ``data_source``, ``prompt`` (chat messages), ``ability``, ``reward_model``
(``{"style": "rule", "ground_truth": ...}``) and ``extra_info``, as in verl's
``examples/data_preprocess`` scripts. A task makes its own rows (``Task.to_row``) and names its
``data_source``; :mod:`passkrl.tasks.rewards` routes every row back to the task's verifier.

:func:`write_data` writes any task's problems; :func:`distinct_problems` draws problems whose prompts
are new (the paper's deduplicated train/test pair, Table 4); :func:`read_rows` reads a data file.
The format follows the file's extension: ``.jsonl`` / ``.json`` (one JSON object per line) or
``.parquet`` (needs pyarrow; what verl reads). A file is written to a temporary sibling and moved
into place at the end, so an interrupted write never leaves half a data set nor damages an older
file of the same name.

The writers of ``passkrl data`` (each task's :class:`passkrl.tasks.registry.DataCommand`) check their
request before any work with :func:`check_output`, :func:`check_count` and :func:`check_data_size`;
:func:`write_task_data` is the whole writer of a task whose problems are drawn by ``generate``.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from passkrl.io import atomic_open, check_output_file
from passkrl.tasks.base import Problem, Task, split_seed

JSONL_SUFFIXES = (".jsonl", ".json")
PARQUET_SUFFIXES = (".parquet",)
# Below this many rows the progress bar is only noise.
_PROGRESS_MIN_ROWS = 2000
# How many consecutive repeated prompts end the search for new problems (the task is exhausted).
_MAX_REPEATS = 2000


def output_format(path: Path) -> Literal["jsonl", "parquet"]:
    """``"jsonl"`` or ``"parquet"`` from the file extension; ``ValueError`` for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    shown = repr(suffix) if suffix else "no extension"
    raise ValueError(f"cannot tell the format of {str(path)!r} from its extension ({shown}); "
                     f"use one of {', '.join(JSONL_SUFFIXES + PARQUET_SUFFIXES)}")


def require_pyarrow() -> Any:
    """``pyarrow.parquet``, or a ``ValueError`` saying how to install it."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError("writing or reading .parquet needs pyarrow: pip install pyarrow "
                         "(or pip install 'passkrl[parquet]'), or write .jsonl instead") from None
    return pq


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL or Parquet data file (format by extension)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    if output_format(path) == "parquet":
        return require_pyarrow().read_table(path).to_pylist()
    rows = []
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{str(path)!r} line {line_number} is not UTF-8 text ({err.reason} at byte "
                                 f"{err.start})") from None
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{str(path)!r} line {line_number} is not JSON: {err.msg}") from None
    return rows


def _collect(paths: Iterable[Path], value_of, what: str) -> set[str]:
    values: set[str] = set()
    for path in paths:
        try:
            rows = read_rows(path)
        except (OSError, ValueError) as err:
            raise type(err)(f"--exclude: {err}") from None
        for i, row in enumerate(rows):
            try:
                values.add(value_of(row))
            except (KeyError, TypeError, IndexError):
                raise ValueError(f"--exclude {str(path)!r}: row {i} has no {what}") from None
    return values


def excluded_ground_truths(paths: Iterable[Path]) -> set[str]:
    """The ``reward_model.ground_truth`` of every row in ``paths`` (the maze's grids)."""
    return _collect(paths, lambda row: row["reward_model"]["ground_truth"], "reward_model.ground_truth")


def excluded_prompts(paths: Iterable[Path]) -> set[str]:
    """The prompt texts (last message) of the rows in ``paths``."""
    return _collect(paths, lambda row: row["prompt"][-1]["content"], "prompt messages")


def distinct_problems(task: Task, n: int, seed: Any, exclude: set[str]) -> Iterable[Problem]:
    """``n`` distinct problems of ``task``, none in ``exclude``; ``ValueError`` when exhausted.

    Problems are told apart by their prompt, or by the task's ``distinct_key(problem)`` where it has
    one: the visual maze's prompt is the same for every maze (the image carries the maze), so its key
    is the grid the image is drawn from.
    """
    key = getattr(task, "distinct_key", lambda problem: problem.question)
    rng = np.random.default_rng(seed)
    seen = set(exclude)
    for made in range(n):
        for _ in range(_MAX_REPEATS):
            problem = task.generate(rng)
            problem_key = key(problem)
            if problem_key not in seen:
                break
        else:
            raise ValueError(f"cannot make {n} distinct problems of {task!r}: only {made} new ones were found "
                             f"after {_MAX_REPEATS} repeats in a row; ask for fewer or widen the task's options")
        seen.add(problem_key)
        yield problem


def _jsonable(value: Any) -> Any:
    """A row for JSON: an image ``{"bytes": PNG}`` becomes ``{"image": "data:image/png;base64,..."}``, the
    inline form that verl's image loader (qwen-vl-utils) and ``datasets`` read; Parquet keeps the bytes."""
    if isinstance(value, dict):
        if set(value) == {"bytes"} and isinstance(value["bytes"], bytes):
            return {"image": "data:image/png;base64," + base64.b64encode(value["bytes"]).decode("ascii")}
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def write_rows(out: Path, rows: Iterable[dict[str, Any]], *, n: int | None = None, progress: bool = False,
               desc: str = "rows") -> int:
    """Write ``rows`` atomically as JSONL or Parquet (by ``out``'s extension); returns the number written."""
    fmt = output_format(out)
    pq = require_pyarrow() if fmt == "parquet" else None
    if progress and n is not None and n >= _PROGRESS_MIN_ROWS:
        from tqdm.auto import tqdm

        rows = tqdm(rows, total=n, desc=desc, unit="row", dynamic_ncols=True)
    n_written = 0
    if fmt == "jsonl":
        with atomic_open(out, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(_jsonable(row), ensure_ascii=False) + "\n")
                n_written += 1
    else:
        import pyarrow as pa

        table = pa.Table.from_pylist(list(rows))
        n_written = table.num_rows
        with atomic_open(out, "wb") as handle:
            pq.write_table(table, handle)
    return n_written


def write_data(task: Task, problems: Iterable[Problem], out: Path, *, split: str, n: int | None = None,
               progress: bool = False) -> int:
    """Write ``task``'s rows for ``problems`` (``task.to_row``) to ``out``; returns the number written."""
    rows = (task.to_row(problem, split, index) for index, problem in enumerate(problems))
    return write_rows(out, rows, n=n, progress=progress, desc=f"{task.name} {split} rows")


# ------------------------------------------------------------------------------------- checks of a request


def check_output(out: Path, *, exclude: Iterable[Path] = (), input_file: Path | None = None) -> None:
    """Before any work: a known format, a writable ``--out`` that is none of the inputs, pyarrow for Parquet."""
    try:
        fmt = output_format(out)
    except ValueError as err:
        raise ValueError(f"--out: {err}") from None
    inputs = tuple(("--exclude", path) for path in exclude) + ((("--input", input_file),) if input_file else ())
    check_output_file(out, "--out", inputs=inputs)
    if fmt == "parquet":
        require_pyarrow()


def check_count(n: int | None, seed: int = 0) -> None:
    """``--n`` (when given) at least 1 and ``--seed`` a seed every random generator takes."""
    if n is not None and n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    if not 0 <= seed < 2**63:  # numpy's generators take non-negative seeds; torch's signed 64-bit ones
        raise ValueError(f"--seed must be in [0, 2**63 - 1], got {seed}")


def check_data_size(task: Task, sample: Iterable[Problem], n: int, out: Path, split: str) -> None:
    """Refuse, before writing, a data set the disk (or, for Parquet, the memory) cannot hold, and say how
    long a large one will take: both estimated from the first few rows, made and encoded as they will be."""
    from passkrl.limits import human_bytes, require_disk, require_memory

    started = time.perf_counter()
    sizes = [len(json.dumps(task.to_row(problem, split, index), default=str).encode()) + 1
             for index, problem in zip(range(16), sample)]
    if not sizes:
        return
    seconds = (time.perf_counter() - started) / len(sizes) * n
    needed = sum(sizes) / len(sizes) * n
    what = f"{n:,} rows of about {human_bytes(sum(sizes) / len(sizes))}; writing them would take about {seconds / 3600:,.1f} h"
    require_disk(needed, out.parent if str(out.parent) else Path("."), request=f"--n {n}", what=what)
    if output_format(out) == "parquet":  # the table is built in memory before it is written
        require_memory(needed, request=f"--n {n}", what=f"a Parquet table of {what}")
    if seconds > 600:
        print(f"passkrl data: {what} ({human_bytes(needed)})", file=sys.stderr)


def write_task_data(task: Task, *, n: int, seed: int, split: str, out: Path, exclude: Iterable[Path] = (),
                    progress: bool = False) -> int:
    """Write ``n`` distinct problems of ``task`` drawn from the split's stream (``[seed, split]``), none whose
    prompt is in the ``exclude`` files, as its rows to ``out``; returns the number written.

    The disk, memory and time it needs are checked first (:func:`check_data_size`); call
    :func:`check_output` and :func:`check_count` before building the task.
    """
    excluded = excluded_prompts(exclude)
    stream = split_seed(seed, split)
    check_data_size(task, distinct_problems(task, min(n, 16), stream, excluded), n, out, split)
    problems = distinct_problems(task, n, stream, excluded)
    return write_data(task, problems, out, split=split, n=n, progress=progress)
