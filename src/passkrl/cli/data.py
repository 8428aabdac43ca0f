"""``passkrl data TASK``: write a task's data set as verl-style rows, in JSONL or Parquet.

    passkrl data maze --split test --sizes 7,9,11,13,15,17,19,21 --n 775 --out maze_test.parquet
    passkrl data maze --sizes 9,11,13,15 --n 40000 --exclude maze_test.parquet --out maze_train.parquet
    passkrl data puzzles --n 7000 --out puzzles_train.parquet           # the Enigmata-like mix
    passkrl data puzzles --datasets chain_sum,mini_sudoku --n 500 --out some.jsonl
    passkrl data maths --n 5000 --out maths_train.parquet                # generated with sympy
    passkrl data maths --input gsm.jsonl --question-field problem --answer-field solution --out gsm.parquet

Each row is made by its task (``Task.to_row``) and written by :func:`passkrl.tasks.rows.write_data`
(see :mod:`passkrl.tasks.rows` for the layout): the maze's rows carry the paper's Fig. 14 prompt and
the grid as ground truth, puzzles' (``passkrl/puzzles/<set>``) a JSON ground truth with everything
reasoning-gym's scorer needs, maths' (``passkrl/maths``) the answer. Every ``data_source`` is routed
by ``passkrl.tasks.rewards.compute_score``. The format follows the file's extension: ``.jsonl`` /
``.json`` (one JSON object per line) or ``.parquet`` (needs pyarrow; what verl reads).

Reproducibility: every split draws from its own random stream ``[seed, split]``, the same streams
as ``passkrl.tasks.maze.train_test_split``. Writing the test split first and passing it to
``--exclude`` for the training split gives the paper's deduplicated pair (Table 4), and the same
mazes as ``train_test_split`` with equal sizes, counts and seed. Puzzles and generated maths
problems are deduplicated by prompt the same way (a repeated prompt is drawn again).

The file is written to a temporary sibling and moved into place at the end, so an interrupted run
never leaves a half-written data set (nor damages an older file of the same name).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tyro

from passkrl.io import check_output_file
from passkrl.parsing import IntTuple, int_list, ints_text, json_object
from passkrl.tasks import rows
from passkrl.tasks.base import split_seed

# task name -> one-line description
DATA_TASKS: dict[str, str] = {
    "maze": "the paper's maze task (appendix A.1, Fig. 14)",
    "puzzles": "reasoning-gym puzzles: the Enigmata-like mix, or --datasets (pip install \"passkrl[puzzles]\")",
    "enigmata_mix": "the same as puzzles (its default mix)",
    "maths": "maths answers checked by math-verify: generated, or --input rows (pip install \"passkrl[maths]\")",
}



@dataclass(frozen=True)
class MazeDataConfig:
    """Write maze prompts (arXiv 2508.10751, Fig. 14) as verl data set rows in JSONL or Parquet."""

    out: Path
    """Output file: .jsonl or .json (one JSON row per line) or .parquet (needs pyarrow)."""
    n: int
    """Total number of distinct mazes, spread round-robin over --sizes (the paper: 10,000 per training size)."""
    sizes: IntTuple = (9, 11, 13, 15)
    """Odd maze sizes >= 5, e.g. 9,11,13,15 or 9 11 13 15 (the paper: 9-15 to train; 7,9,...,21 to test)."""
    seed: int = 0
    """Seed; each split draws from its own stream derived from it."""
    split: Literal["train", "test", "validation"] = "train"
    """Split name, stored in extra_info and choosing the random stream."""
    exclude: tuple[Path, ...] = ()
    """Data files (.jsonl/.json/.parquet rows of this command) whose mazes must not appear again."""
    progress: bool = True
    """Show a progress bar for large data sets."""
    image: bool = False
    """Show each maze as a PNG image instead of a text grid (for vision-language models; the grid stays the
    ground truth, scored by the same verifier)."""
    layout: Literal["verl", "trl"] = "verl"
    """With --image: verl's multimodal rows (<image> placeholder, an images column) or TRL's (an image
    entry in the chat prompt, an image column)."""
    cell_px: int = 16
    """With --image: pixels per maze cell (1-64; below 3 the cells blur together in a vision encoder's resize)."""


@dataclass(frozen=True)
class PuzzlesDataConfig:
    """Write reasoning-gym puzzles as verl data set rows (data_source passkrl/puzzles/<dataset>)."""

    out: Path
    """Output file: .jsonl or .json (one JSON row per line) or .parquet (needs pyarrow)."""
    n: int
    """Number of distinct puzzles (by prompt)."""
    datasets: str = ""
    """Comma-separated reasoning-gym data sets, sampled uniformly (empty: the Enigmata-like mix, see docs/tasks.md)."""
    options: str = "{}"
    """reasoning-gym config fields per data set as JSON, e.g. '{"chain_sum": {"max_terms": 3}}'."""
    binary_threshold: float | None = None
    """Stored in extra_info: scores >= this become 1.0, others 0.0 (default: reasoning-gym's own scores)."""
    allow_eval: bool = False
    """Allow data sets whose scorer calls eval() on the answer (n_queens, binary_matrix, ...)."""
    seed: int = 0
    """Seed; each split draws from its own stream derived from it."""
    split: Literal["train", "test", "validation"] = "train"
    """Split name, stored in extra_info and choosing the random stream."""
    exclude: tuple[Path, ...] = ()
    """Data files (.jsonl/.json/.parquet rows of this command) whose prompts must not appear again."""
    progress: bool = True
    """Show a progress bar for large data sets."""


@dataclass(frozen=True)
class MathsDataConfig:
    """Write maths problems as verl data set rows (data_source passkrl/maths), generated or from --input."""

    out: Path
    """Output file: .jsonl or .json (one JSON row per line) or .parquet (needs pyarrow)."""
    n: int | None = None
    """Number of distinct generated problems; with --input, at most this many rows (default: all)."""
    input: Path | None = None
    """A JSONL/Parquet file of your own problems to convert (one row per problem) instead of generating."""
    question_field: str = "question"
    """Field of --input rows holding the question (dotted paths such as 'extra_info.question' work)."""
    answer_field: str = "answer"
    """Field of --input rows holding the final answer (e.g. 'reward_model.ground_truth')."""
    kinds: str = "arithmetic,fraction,linear,quadratic,expand,derivative"
    """Kinds of generated problems, comma-separated."""
    max_int: int = 9
    """Largest integer the generator draws (coefficients, terms, roots)."""
    seed: int = 0
    """Seed; each split draws from its own stream derived from it."""
    split: Literal["train", "test", "validation"] = "train"
    """Split name, stored in extra_info and choosing the random stream."""
    exclude: tuple[Path, ...] = ()
    """Data files whose prompts must not appear again."""
    progress: bool = True
    """Show a progress bar for large data sets."""


def parse_sizes(text: str | tuple[int, ...]) -> tuple[int, ...]:
    """``"9,11,13"`` -> ``(9, 11, 13)``; every size an odd integer >= 5, else ``ValueError``."""
    return int_list(text, "--sizes", example="9,11,13,15", what="sizes",
                    check=lambda size: "maze sizes must be odd and >= 5" if size < 5 or size % 2 == 0 else None)


def _check_n(n: int | None, seed: int = 0) -> None:
    if n is not None and n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    if not 0 <= seed < 2**63:  # numpy's generators take non-negative seeds; torch's signed 64-bit ones
        raise ValueError(f"--seed must be in [0, 2**63 - 1], got {seed}")


def _check_out(out: Path, exclude: tuple[Path, ...] = (), input_file: Path | None = None) -> None:
    """Before any work: a known format, a writable path that is none of the inputs, pyarrow for Parquet."""
    try:
        fmt = rows.output_format(out)
    except ValueError as err:
        raise ValueError(f"--out: {err}") from None
    inputs = tuple(("--exclude", path) for path in exclude) + ((("--input", input_file),) if input_file else ())
    check_output_file(out, "--out", inputs=inputs)
    if fmt == "parquet":
        rows.require_pyarrow()


def _check_size(task: Any, sample: Iterable[Any], n: int, out: Path, split: str) -> None:
    """Refuse, before writing, a data set the disk (or, for Parquet, the memory) cannot hold, and say how
    long a large one will take: both estimated from the first few rows, made and encoded as they will be."""
    import json
    import time

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
    if rows.output_format(out) == "parquet":  # the table is built in memory before it is written
        require_memory(needed, request=f"--n {n}", what=f"a Parquet table of {what}")
    if seconds > 600:
        print(f"passkrl data: {what} ({human_bytes(needed)})", file=sys.stderr)


def write_maze_data(cfg: MazeDataConfig) -> int:
    """Generate and write the rows; returns the number written."""
    from passkrl.tasks import maze

    # Every check before the (possibly long) generation.
    _check_out(cfg.out, cfg.exclude)
    sizes = parse_sizes(cfg.sizes)
    _check_n(cfg.n, cfg.seed)
    exclude = rows.excluded_ground_truths(cfg.exclude)
    if cfg.image:
        from passkrl.tasks.visual_maze import LEGIBLE_CELL_PX, VisualMazeTask

        task = VisualMazeTask(sizes=sizes, cell_px=cfg.cell_px, layout=cfg.layout)
        if task.cell_px < LEGIBLE_CELL_PX:
            print(f"warning: --cell-px {task.cell_px}: cells this small blur together when a vision encoder "
                  f"resizes the image (use {LEGIBLE_CELL_PX} or more; see docs/tasks.md)", file=sys.stderr)
    else:
        task = maze.MazeTask(sizes=sizes)
    first = maze.iter_mazes(sizes, min(cfg.n, 16), split_seed(cfg.seed, cfg.split), exclude=exclude)
    _check_size(task, (task.problem(m) for m in first), cfg.n, cfg.out, cfg.split)
    mazes = maze.iter_mazes(sizes, cfg.n, split_seed(cfg.seed, cfg.split), exclude=exclude)
    return rows.write_data(task, (task.problem(m) for m in mazes), cfg.out, split=cfg.split, n=cfg.n,
                           progress=cfg.progress)


def write_puzzles_data(cfg: PuzzlesDataConfig, task_name: str = "puzzles") -> int:
    """Generate and write puzzle rows; returns the number written."""
    _check_out(cfg.out, cfg.exclude)
    _check_n(cfg.n, cfg.seed)
    options = json_object(cfg.options, "--options", example='{"chain_sum": {"max_terms": 3}}')
    from passkrl.tasks import get_task

    task = get_task(task_name, datasets=cfg.datasets or None, options=options, binary_threshold=cfg.binary_threshold,
                    allow_eval=cfg.allow_eval)
    exclude = rows.excluded_prompts(cfg.exclude)
    _check_size(task, rows.distinct_problems(task, min(cfg.n, 16), split_seed(cfg.seed, cfg.split), exclude), cfg.n,
                cfg.out, cfg.split)
    problems = rows.distinct_problems(task, cfg.n, split_seed(cfg.seed, cfg.split), exclude)
    return rows.write_data(task, problems, cfg.out, split=cfg.split, n=cfg.n, progress=cfg.progress)


def write_maths_data(cfg: MathsDataConfig) -> int:
    """Generate (or convert --input) and write maths rows; returns the number written."""
    _check_out(cfg.out, cfg.exclude, cfg.input)
    _check_n(cfg.n, cfg.seed)
    if cfg.input is None and cfg.n is None:
        raise ValueError("--n is required when generating problems (or give --input FILE to convert)")
    from passkrl.tasks import get_task

    exclude = rows.excluded_prompts(cfg.exclude)
    if cfg.input is not None:
        task = get_task("maths", data=cfg.input, question_field=cfg.question_field, answer_field=cfg.answer_field)
        converted = (task.problem(question, answer, kind="data", row=i) for i, (question, answer) in enumerate(task.rows))
        kept = (p for p in converted if p.question not in exclude)
        limit = cfg.n if cfg.n is not None else len(task.rows)
        problems: Iterable[Any] = (p for _, p in zip(range(limit), kept))
    else:
        task = get_task("maths", kinds=cfg.kinds, max_int=cfg.max_int)
        limit = int(cfg.n)
        _check_size(task, rows.distinct_problems(task, min(limit, 16), split_seed(cfg.seed, cfg.split), exclude), limit,
                    cfg.out, cfg.split)
        problems = rows.distinct_problems(task, limit, split_seed(cfg.seed, cfg.split), exclude)
    return rows.write_data(task, problems, cfg.out, split=cfg.split, n=limit, progress=cfg.progress)


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
    if task == "maze":
        cfg = tyro.cli(MazeDataConfig, args=rest, prog=f"passkrl data {task}")
        n_written = write_maze_data(cfg)
        print(f"wrote {n_written} {cfg.split} rows (maze sizes {ints_text(cfg.sizes)}, seed {cfg.seed}) to {cfg.out}",
              file=sys.stdout)
    elif task in ("puzzles", "enigmata_mix"):
        puzzles_cfg = tyro.cli(PuzzlesDataConfig, args=rest, prog=f"passkrl data {task}")
        n_written = write_puzzles_data(puzzles_cfg, task)
        which = puzzles_cfg.datasets or "the Enigmata-like mix"
        print(f"wrote {n_written} {puzzles_cfg.split} rows ({which}, seed {puzzles_cfg.seed}) to {puzzles_cfg.out}",
              file=sys.stdout)
    else:
        maths_cfg = tyro.cli(MathsDataConfig, args=rest, prog=f"passkrl data {task}")
        n_written = write_maths_data(maths_cfg)
        which = f"from {maths_cfg.input}" if maths_cfg.input else f"generated: {maths_cfg.kinds}"
        print(f"wrote {n_written} {maths_cfg.split} rows ({which}, seed {maths_cfg.seed}) to {maths_cfg.out}",
              file=sys.stdout)
    return 0
