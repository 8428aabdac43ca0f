"""A pixel reader for rendered mazes: recovers the grid from the image, not from the row's ground truth."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from passkrl.tasks.visual_maze import COLORS, FRAME

PALETTE = {**{ch: np.array(color) for ch, color in COLORS.items()}, "frame": np.array(FRAME)}


def read_grid(png: bytes) -> str:
    """The grid of a PNG as rendered: find the frame, then read the centre pixel of each cell exactly."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))  # as verl's process_image opens it
    height, width, _ = pixels.shape
    frame = np.all(pixels == FRAME, axis=2)
    cell_px = int(np.argmin(frame[height // 2]))  # the frame is one cell wide
    n_rows, n_cols = height // cell_px - 2, width // cell_px - 2
    by_color = {color: ch for ch, color in COLORS.items()}
    rows = []
    for r in range(n_rows):
        centre_y = (r + 1) * cell_px + cell_px // 2
        rows.append("".join(by_color[tuple(pixels[centre_y, (c + 1) * cell_px + cell_px // 2])]
                            for c in range(n_cols)))
    return "\n".join(rows)


def read_resized(image: Image.Image, size: int) -> str:
    """The grid of a ``size`` x ``size`` maze in an image that a model's pre-processing has resized.

    Resizing blurs the cell edges, so each cell is read at its centre as the nearest colour of the
    palette; the one-cell frame around the maze must read as the frame everywhere.
    """
    pixels = np.asarray(image.convert("RGB"), dtype=float)
    height, width, _ = pixels.shape
    n_cells = size + 2
    names = list(PALETTE)
    colors = np.stack([PALETTE[name] for name in names])

    def cell(r: int, c: int) -> str:
        y, x = int((r + 0.5) * height / n_cells), int((c + 0.5) * width / n_cells)
        return names[int(np.argmin(np.abs(colors - pixels[y, x]).sum(axis=1)))]

    cells = [[cell(r, c) for c in range(n_cells)] for r in range(n_cells)]
    border = cells[0] + cells[-1] + [row[0] for row in cells] + [row[-1] for row in cells]
    if set(border) != {"frame"}:
        raise AssertionError(f"the frame does not read as the frame: {sorted(set(border))}")
    return "\n".join("".join(row[1:-1]) for row in cells[1:-1])
