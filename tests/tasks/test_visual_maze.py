"""The visual maze: the PNG truly encodes the grid, rows in verl's and TRL's layouts, the same verifier."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from passkrl.cli.data import main as data_main
from passkrl.tasks import get_task
from passkrl.tasks import maze as M
from passkrl.tasks import rewards as R
from passkrl.tasks.rows import read_rows
from passkrl.tasks.visual_maze import VisualMazeTask, render_png
from tests.tasks.maze_pixels import read_grid, read_resized


@pytest.mark.parametrize("size", [5, 7, 9, 11, 13, 15, 17, 19, 21])
@pytest.mark.parametrize("cell_px", [1, 4, 16])
def test_the_png_encodes_the_grid_exactly_for_every_size(size, cell_px):
    m = M.generate_maze(size, np.random.default_rng(size))
    png = render_png(m.grid, cell_px)
    assert read_grid(png) == m.grid
    assert render_png(m.grid, cell_px) == png  # deterministic bytes
    assert Image.open(io.BytesIO(png)).size == ((size + 2) * cell_px, (size + 2) * cell_px)


@pytest.mark.parametrize("size", [5, 7, 9, 11, 13, 15, 17, 19, 21])
@pytest.mark.parametrize("cell_px", [3, 4, 16])
def test_the_grid_survives_the_resize_of_a_vision_encoder(size, cell_px):
    """Qwen-VL pipelines resize each side to a multiple of 28 pixels (at least 56) with PIL's
    default filter; the maze must still read back cell by cell from what the model is given."""
    m = M.generate_maze(size, np.random.default_rng(size))
    image = Image.open(io.BytesIO(render_png(m.grid, cell_px)))
    side = max(56, 28 * round(image.size[0] / 28))
    assert read_resized(image.resize((side, side)), size) == m.grid
    assert read_resized(image, size) == m.grid  # and unresized


def test_one_pixel_cells_do_not_survive_the_resize_and_the_data_command_warns(tmp_path, capsys):
    m = M.generate_maze(21, np.random.default_rng(21))
    image = Image.open(io.BytesIO(render_png(m.grid, 1)))
    try:
        seen = read_resized(image.resize((56, 56)), 21)
    except AssertionError:  # the frame itself did not come through
        seen = None
    assert seen != m.grid
    out = tmp_path / "v.jsonl"
    assert data_main(["maze", "--image", "--cell-px", "1", "--sizes", "5", "--n", "1", "--out", str(out),
                      "--no-progress"]) == 0
    assert "--cell-px 1" in capsys.readouterr().err and out.exists()


def test_bad_grids_and_cell_sizes_are_refused():
    with pytest.raises(ValueError, match="cell_px must be an integer from 1 to 64"):
        render_png("S.E", 0)
    with pytest.raises(ValueError, match="row 1 of the grid is not a maze row"):
        render_png("S.E\n.x.", 4)


def test_verl_rows_hold_the_image_placeholder_the_png_and_the_grid():
    task = get_task("visual_maze", sizes=(7, 9))
    problem = task.generate(np.random.default_rng(0))
    row = task.to_row(problem, "train", 3)
    assert row["data_source"] == "passkrl/visual_maze" and row["reward_model"]["ground_truth"] == problem.answer
    content = row["prompt"][0]["content"]
    assert content.startswith("<image>") and "in the image" in content and problem.answer not in content
    assert read_grid(row["images"][0]["bytes"]) == problem.answer
    right = f"<answer>{M.shortest_path(problem.answer)}</answer>"
    assert R.compute_score(row["data_source"], right, row["reward_model"]["ground_truth"], row["extra_info"]) == 1.0
    assert R.compute_score(row["data_source"], "<answer>U</answer>", problem.answer, row["extra_info"]) == 0.0
    assert task.score(problem, right) == 1.0


def test_trl_rows_have_an_image_entry_in_the_chat_prompt_and_an_image_column():
    from datasets import Dataset, Image as ImageFeature

    task = VisualMazeTask(sizes=(7,), layout="trl")
    problems = [task.generate(np.random.default_rng(i)) for i in range(3)]
    rows = [task.to_row(p, "train", i) for i, p in enumerate(problems)]
    user = rows[0]["prompt"][0]
    assert user["role"] == "user" and user["content"][0] == {"type": "image"} and user["content"][1]["type"] == "text"
    dataset = Dataset.from_list(rows).cast_column("image", ImageFeature())
    decoded = dataset[1]["image"]
    assert isinstance(decoded, Image.Image)
    buffer = io.BytesIO()
    decoded.save(buffer, format="PNG")
    assert read_grid(buffer.getvalue()) == problems[1].answer
    texts = [f"<answer>{M.shortest_path(p.answer)}</answer>" for p in problems]
    columns = {key: dataset[key] for key in ("data_source", "reward_model", "extra_info")}
    assert R.passkrl_reward(completions=texts, **columns) == [1.0, 1.0, 1.0]


def test_passkrl_data_maze_image_writes_parquet_and_jsonl(tmp_path):
    parquet, jsonl = tmp_path / "v.parquet", tmp_path / "v.jsonl"
    assert data_main(["maze", "--image", "--sizes", "7,9", "--n", "4", "--out", str(parquet), "--no-progress"]) == 0
    assert data_main(["maze", "--image", "--sizes", "7,9", "--n", "4", "--out", str(jsonl), "--no-progress"]) == 0
    from_parquet, from_jsonl = read_rows(parquet), read_rows(jsonl)
    for a, b in zip(from_parquet, from_jsonl, strict=True):
        grid = a["reward_model"]["ground_truth"]
        assert read_grid(a["images"][0]["bytes"]) == grid
        uri = b["images"][0]["image"]  # JSON has no bytes: an inline data URI that image loaders read
        assert uri.startswith("data:image/png;base64,")
        assert read_grid(base64.b64decode(uri.split(",", 1)[1])) == grid
    # text and image splits exclude each other by grid
    text_test = tmp_path / "t.jsonl"
    assert data_main(["maze", "--split", "test", "--sizes", "7", "--n", "5", "--out", str(text_test), "--no-progress"]) == 0
    assert data_main(["maze", "--image", "--sizes", "7", "--n", "5", "--exclude", str(text_test),
                      "--out", str(tmp_path / "x.parquet"), "--no-progress"]) == 0
    held_out = {json.loads(line)["reward_model"]["ground_truth"] for line in text_test.read_text().splitlines()}
    assert not held_out & {r["reward_model"]["ground_truth"] for r in read_rows(tmp_path / "x.parquet")}


def test_distinct_problems_tells_visual_mazes_apart_by_their_grid():
    from passkrl.tasks.rows import distinct_problems

    task = VisualMazeTask(sizes=(7, 9), layout="trl")
    problems = list(distinct_problems(task, 20, 0, set()))
    assert len({p.question for p in problems}) == 1  # one prompt for all: the image carries the maze
    assert len({p.answer for p in problems}) == 20
    held_out = {problems[0].answer}
    assert problems[0].answer not in {p.answer for p in distinct_problems(task, 20, 0, held_out)}


def test_the_visual_task_draws_the_text_tasks_mazes():
    text, visual = M.MazeTask(sizes=(7, 9, 11)), VisualMazeTask(sizes=(7, 9, 11))
    rng_text, rng_visual = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(10):
        a, b = text.generate(rng_text), visual.generate(rng_visual)
        assert (a.id, a.answer, a.meta) == (b.id, b.answer, b.meta) and b.question != a.question
