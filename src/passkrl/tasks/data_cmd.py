"""``passkrl data TASK``: write a task's data set as verl-style rows, in JSONL or Parquet.

    passkrl data maze --split test --sizes 7,9,11,13,15,17,19,21 --n 775 --out maze_test.parquet
    passkrl data maze --sizes 9,11,13,15 --n 40000 --exclude maze_test.parquet --out maze_train.parquet

Each row is ``passkrl.tasks.maze.to_verl_row``: ``data_source``, ``prompt`` (chat messages holding
the paper's Fig. 14 prompt), ``ability``, ``reward_model`` (the grid is the ground truth) and
``extra_info``. The format follows the file's extension: ``.jsonl`` / ``.json`` (one JSON object per
line) or ``.parquet`` (needs pyarrow; what verl reads).

Reproducibility: every split draws from its own random stream ``[seed, split]``, the same streams
as ``passkrl.tasks.maze.train_test_split``. Writing the test split first and passing it to
``--exclude`` for the training split gives the paper's deduplicated pair (Table 4), and the same
mazes as ``train_test_split`` with equal sizes, counts and seed.

The file is written to a temporary sibling and moved into place at the end, so an interrupted run
never leaves a half-written data set (nor damages an older file of the same name).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tyro

from passkrl.io import atomic_open

# task name -> one-line description (only the maze for now)
DATA_TASKS: dict[str, str] = {"maze": "the paper's maze task (appendix A.1, Fig. 14)"}

JSONL_SUFFIXES = (".jsonl", ".json")
PARQUET_SUFFIXES = (".parquet",)
# Below this many rows the progress bar is only noise.
_PROGRESS_MIN_ROWS = 2000


@dataclass(frozen=True)
class MazeDataConfig:
    """Write maze prompts (arXiv 2508.10751, Fig. 14) as verl data set rows in JSONL or Parquet."""

    out: Path
    """Output file: .jsonl or .json (one JSON row per line) or .parquet (needs pyarrow)."""
    n: int
    """Total number of distinct mazes, spread round-robin over --sizes (the paper: 10,000 per training size)."""
    sizes: str = "9,11,13,15"
    """Odd maze sizes >= 5, comma-separated (the paper: 9,11,13,15 to train; 7,9,...,21 to test)."""
    seed: int = 0
    """Seed; each split draws from its own stream derived from it."""
    split: Literal["train", "test", "validation"] = "train"
    """Split name, stored in extra_info and choosing the random stream."""
    exclude: tuple[Path, ...] = ()
    """Data files (.jsonl/.json/.parquet rows of this command) whose mazes must not appear again."""
    progress: bool = True
    """Show a progress bar for large data sets."""


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


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"9,11,13"`` -> ``(9, 11, 13)``; every size an odd integer >= 5, else ``ValueError``."""
    parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ValueError(f"--sizes: no sizes given in {text!r}; expected e.g. 9,11,13,15")
    sizes = []
    for part in parts:
        try:
            size = int(part)
        except ValueError:
            raise ValueError(f"--sizes: {part!r} is not an integer (in {text!r}); expected e.g. 9,11,13,15") from None
        if size < 5 or size % 2 == 0:
            raise ValueError(f"--sizes: maze sizes must be odd and >= 5, got {part!r} (in {text!r})")
        sizes.append(size)
    return tuple(sizes)


def _require_pyarrow() -> Any:
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
        return _require_pyarrow().read_table(path).to_pylist()
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{str(path)!r} line {line_number} is not JSON: {err.msg}") from None
    return rows


def excluded_grids(paths: Iterable[Path]) -> set[str]:
    """The ground-truth grids of the rows in ``paths`` (maze rows only)."""
    grids: set[str] = set()
    for path in paths:
        for i, row in enumerate(read_rows(path)):
            try:
                grids.add(row["reward_model"]["ground_truth"])
            except (KeyError, TypeError):
                raise ValueError(f"--exclude {str(path)!r}: row {i} has no reward_model.ground_truth") from None
    return grids


def _check_output_path(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"--out: directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"--out: {str(path)!r} is a directory")


def write_maze_data(cfg: MazeDataConfig) -> int:
    """Generate and write the rows; returns the number written."""
    from passkrl.tasks import maze

    # Every check before the (possibly long) generation.
    fmt = output_format(cfg.out)
    sizes = parse_sizes(cfg.sizes)
    if cfg.n < 1:
        raise ValueError(f"--n must be >= 1, got {cfg.n}")
    _check_output_path(cfg.out)
    pq = _require_pyarrow() if fmt == "parquet" else None
    exclude = excluded_grids(cfg.exclude)

    mazes = maze.iter_mazes(sizes, cfg.n, maze.split_seed(cfg.seed, cfg.split), exclude=exclude)
    rows = (maze.to_verl_row(m, cfg.split, index) for index, m in enumerate(mazes))
    if cfg.progress and cfg.n >= _PROGRESS_MIN_ROWS:
        from tqdm.auto import tqdm

        rows = tqdm(rows, total=cfg.n, desc=f"maze {cfg.split} rows", unit="row", dynamic_ncols=True)

    n_written = 0
    if fmt == "jsonl":
        with atomic_open(cfg.out, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                n_written += 1
    else:
        import pyarrow as pa

        table = pa.Table.from_pylist(list(rows))
        n_written = table.num_rows
        with atomic_open(cfg.out, "wb") as handle:
            pq.write_table(table, handle)
    return n_written


def _usage() -> str:
    lines = ["usage: passkrl data TASK [OPTIONS]", "", "tasks:"]
    lines += [f"  {name}  {text}" for name, text in DATA_TASKS.items()]
    lines += ["", "Run `passkrl data TASK --help` for the options of a task."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``passkrl data TASK [OPTIONS]``; the first element of ``argv`` is the task name."""
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    task, rest = argv[0], argv[1:]
    if task not in DATA_TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(DATA_TASKS)}")
    cfg = tyro.cli(MazeDataConfig, args=rest, prog=f"passkrl data {task}")
    n_written = write_maze_data(cfg)
    print(f"wrote {n_written} {cfg.split} rows (maze sizes {cfg.sizes}, seed {cfg.seed}) to {cfg.out}",
          file=sys.stdout)
    return 0
