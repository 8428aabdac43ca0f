"""The maze as a vision-language model sees it: a PNG of the grid, the same strict verifier.

The paper trains vision-language models too (arXiv 2508.10751, Qwen2.5-VL on MathVision and MMMU).
The maze is the natural multimodal task to offer: its verifier is exact and its difficulty is a dial.
Each maze is rendered deterministically (:func:`render_png`): one square of ``cell_px`` pixels per
cell, walls dark, open cells white, the start green and the end red, on a one-cell-wide light frame.
The prompt keeps the instructions of the paper's Fig. 14 but points at the image instead of the text
grid; the row keeps the grid as ground truth, so :func:`passkrl.tasks.maze.score` checks answers
exactly as for the text task.

Rows come in the two layouts the engines read (:meth:`VisualMazeTask.to_row`):

* ``verl``: the user message holds the ``<image>`` placeholder before the text, and an ``images``
  column holds ``[{"bytes": PNG}]`` (what ``verl.utils.dataset.RLHFDataset`` reads with
  ``data.image_key=images``);
* ``trl``: a conversational prompt whose user content is ``[{"type": "image"}, {"type": "text", ...}]``
  and an ``image`` column with the PNG, for TRL's vision-language GRPO.

Pillow (a dependency of matplotlib, so always installed) draws the images.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from passkrl.tasks import maze
from passkrl.tasks.base import Problem
from passkrl.tasks.registry import TaskSpec, register

DATA_SOURCE = "passkrl/visual_maze"
COLORS: dict[str, tuple[int, int, int]] = {
    maze.WALL: (40, 40, 40), maze.OPEN: (255, 255, 255), maze.START: (0, 170, 0), maze.END: (220, 0, 0),
}
"""RGB of each cell kind; far apart in every channel, so a reader of the PNG cannot mix them up."""
FRAME = (200, 200, 200)
"""The colour of the one-cell frame around the grid (it shows where the grid ends)."""
LEGIBLE_CELL_PX = 3
"""The smallest cell that survives a vision encoder's resize. Qwen-VL pipelines resize each side to a
multiple of 28 pixels (at least 56) with PIL's default bicubic filter; read back at the cell centres,
mazes of sizes 5-61 came through intact from 3 pixels per cell, but not from 2 (sizes 31, 33, 61) or 1
(from size 11 on). Smaller cells still make exact PNGs; `passkrl data maze --image` warns about them."""

_VISUAL_PROMPT = (
    "You need to solve the maze in the image.\n"
    "\n"
    "Dark squares are walls that you cannot walk through, white squares are available area that you can "
    "walk through. The green square is the starting point, the red square is the destination.\n"
    "\n"
    + maze.MOVE_INSTRUCTIONS
)


def _check_cell_px(cell_px: Any) -> int:
    if isinstance(cell_px, bool) or not isinstance(cell_px, (int, np.integer)) or not 1 <= cell_px <= 64:
        raise ValueError(f"cell_px must be an integer from 1 to 64, got {cell_px!r}")
    return int(cell_px)


def render_png(grid: str, cell_px: int = 16) -> bytes:
    """The PNG of ``grid``: ``cell_px`` pixels per cell, a one-cell frame; deterministic bytes."""
    from PIL import Image

    cell_px = _check_cell_px(cell_px)
    rows = grid.split("\n")
    n_rows, n_cols = len(rows), len(rows[0])
    pixels = np.empty((n_rows + 2, n_cols + 2, 3), dtype=np.uint8)
    pixels[:] = FRAME
    for r, row in enumerate(rows):
        if len(row) != n_cols or any(ch not in COLORS for ch in row):
            raise ValueError(f"row {r} of the grid is not a maze row: {row!r}")
        for c, ch in enumerate(row):
            pixels[r + 1, c + 1] = COLORS[ch]
    image = Image.fromarray(np.kron(pixels, np.ones((cell_px, cell_px, 1), dtype=np.uint8)), mode="RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=9)  # no metadata, no timestamp
    return buffer.getvalue()


def visual_prompt() -> str:
    """The paper's Fig. 14 instructions, pointing at the image instead of a text grid."""
    return _VISUAL_PROMPT


class VisualMazeTask:
    """The maze task with the grid shown as an image (:class:`passkrl.tasks.base.Task` protocol)."""

    name = "visual_maze"
    data_source = DATA_SOURCE
    legible_cell_px = LEGIBLE_CELL_PX

    def __init__(self, sizes: Sequence[int] = maze.PAPER_TRAIN_SIZES, partial: bool = False, cell_px: int = 16,
                 layout: Literal["verl", "trl"] = "verl"):
        if layout not in ("verl", "trl"):
            raise ValueError(f"layout must be 'verl' or 'trl', got {layout!r}")
        self.cell_px = _check_cell_px(cell_px)
        self.text = maze.MazeTask(sizes=sizes, partial=partial)
        self.sizes, self.partial, self.layout = self.text.sizes, bool(partial), layout
        self.reward_is_binary = not self.partial

    def __repr__(self) -> str:
        return f"VisualMazeTask(sizes={self.sizes}, partial={self.partial}, cell_px={self.cell_px}, layout={self.layout!r})"

    @staticmethod
    def _shown(text: Problem) -> Problem:
        """The text maze's problem with the prompt that points at the image (same id, grid, meta)."""
        return Problem(id=text.id, question=visual_prompt(), answer=text.answer, meta=text.meta)

    def problem(self, m: maze.Maze) -> Problem:
        return self._shown(self.text.problem(m))

    def generate(self, rng: np.random.Generator) -> Problem:
        return self._shown(self.text.generate(rng))  # the text task's draw: the same mazes from the same rng

    def prompt(self, problem: Problem) -> str:
        return problem.question

    def distinct_key(self, problem: Problem) -> str:
        """What tells two problems apart (:func:`passkrl.tasks.rows.distinct_problems`): the grid, since
        the prompt is the same for every maze."""
        return problem.answer

    def image(self, problem: Problem) -> bytes:
        return render_png(problem.answer, self.cell_px)

    def score(self, problem: Problem, response: str) -> float:
        return maze.score(problem.answer, response, partial=self.partial)

    def score_batch(self, problems: Sequence[Problem], responses: Sequence[str], workers: int = 1) -> list[float]:
        return [self.score(p, r) for p, r in zip(problems, responses, strict=True)]

    def to_row(self, problem: Problem, split: str, index: int) -> dict[str, Any]:
        """One row in the ``layout`` of the engine (module docstring); the grid is the ground truth."""
        png = self.image(problem)
        row = self.text.to_row(problem, split, index)  # the grid as ground truth, the same extra_info
        row["data_source"] = DATA_SOURCE
        row["extra_info"]["cell_px"] = self.cell_px
        if self.layout == "verl":
            row["prompt"] = [{"role": "user", "content": "<image>" + problem.question}]
            row["images"] = [{"bytes": png}]
        else:
            row["prompt"] = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": problem.question}]}]
            row["image"] = {"bytes": png}
        return row


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None,
                  **_: Any) -> float:
    """verl's reward-function signature for ``passkrl/visual_maze`` rows (the grid is the ground truth)."""
    if data_source != DATA_SOURCE:
        raise ValueError(f"compute_score handles data_source {DATA_SOURCE!r}, got {data_source!r}")
    return maze.score_row(ground_truth, solution_str, extra_info)


SPEC = register(TaskSpec(
    name="visual_maze",
    data_source=DATA_SOURCE,
    build=VisualMazeTask,
    description="the maze as a PNG image for vision-language models (written by `passkrl data maze --image`)",
    score_row=maze.reward_of_row,  # the grid is the ground truth: the text maze's verifier
))
