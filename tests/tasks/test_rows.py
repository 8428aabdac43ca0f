"""Data set rows: JSONL and Parquet written whole and read back, distinct problems, and requests checked first."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import numpy as np
import pytest

from passkrl.tasks import rows
from passkrl.tasks.base import Problem
from passkrl.tasks.maze import MazeTask


@dataclass
class Digits:
    """A toy task with ten problems: its prompts run out."""

    name: str = "digits"
    data_source: str = "tests/digits"
    reward_is_binary: bool = True

    def generate(self, rng: np.random.Generator) -> Problem:
        d = int(rng.integers(10))
        return Problem(f"d{d}", f"Say {d}.", str(d))

    def to_row(self, problem: Problem, split: str, index: int) -> dict:
        return {"data_source": self.data_source, "prompt": [{"role": "user", "content": problem.question}],
                "reward_model": {"style": "rule", "ground_truth": problem.answer}, "extra_info": {"index": index}}


def test_the_format_follows_the_extension():
    assert [rows.output_format(p) for p in ("a.jsonl", "a.JSON", "a.parquet")] == ["jsonl", "jsonl", "parquet"]
    for name, shown in (("a.csv", "'.csv'"), ("a", "no extension")):
        with pytest.raises(ValueError, match=f"cannot tell the format of 'a.*' from its extension \\({shown}\\)"):
            rows.output_format(name)


def test_rows_round_trip_through_jsonl_with_images_inline(tmp_path):
    out = tmp_path / "rows.jsonl"
    data = [{"a": 1, "image": {"bytes": b"\x89PNG"}}, {"a": 2, "nested": [{"bytes": b"xy"}]}]
    assert rows.write_rows(out, iter(data)) == 2
    back = rows.read_rows(out)
    assert back[0] == {"a": 1, "image": {"image": "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()}}
    assert back[1]["nested"][0]["image"].endswith(base64.b64encode(b"xy").decode())
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]


def test_rows_round_trip_through_parquet_keeping_bytes(tmp_path):
    pytest.importorskip("pyarrow")
    out = tmp_path / "rows.parquet"
    data = [{"a": 1, "image": {"bytes": b"\x89PNG"}}, {"a": 2, "image": {"bytes": b""}}]
    assert rows.write_rows(out, data) == 2
    assert rows.read_rows(out) == data


def test_reading_a_bad_file_names_the_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rows.read_rows(tmp_path / "none.jsonl")
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"a": \n')
    with pytest.raises(ValueError, match=r"line 3 is not JSON"):
        rows.read_rows(path)
    path.write_bytes(b'{"a": 1}\n\xff\n')
    with pytest.raises(ValueError, match=r"line 2 is not UTF-8 text \(invalid start byte at byte 0\)"):
        rows.read_rows(path)


def test_distinct_problems_are_new_and_run_out_with_a_clear_error():
    task = Digits()
    drawn = list(rows.distinct_problems(task, 5, 0, exclude={"Say 3.", "Say 4."}))
    questions = [p.question for p in drawn]
    assert len(set(questions)) == 5 and not {"Say 3.", "Say 4."} & set(questions)
    assert [p.id for p in rows.distinct_problems(task, 5, 0, exclude={"Say 3.", "Say 4."})] == [p.id for p in drawn]
    assert len(list(rows.distinct_problems(task, 8, 0, exclude={"Say 3.", "Say 4."}))) == 8
    with pytest.raises(ValueError, match=r"cannot make 9 distinct problems .*: only 8 new ones were found"):
        list(rows.distinct_problems(task, 9, 0, exclude={"Say 3.", "Say 4."}))


def test_write_task_data_draws_the_splits_stream_and_leaves_out_excluded_prompts(tmp_path):
    task = Digits()
    first = tmp_path / "test.jsonl"
    assert rows.write_task_data(task, n=4, seed=0, split="test", out=first) == 4
    assert rows.write_task_data(task, n=6, seed=0, split="train", out=tmp_path / "train.jsonl", exclude=[first]) == 6
    test_prompts = rows.excluded_prompts([first])
    train = rows.read_rows(tmp_path / "train.jsonl")
    assert len(test_prompts) == 4 and not test_prompts & {r["prompt"][-1]["content"] for r in train}
    assert [r["extra_info"]["index"] for r in train] == list(range(6))
    assert rows.excluded_ground_truths([first]) == {r["reward_model"]["ground_truth"] for r in rows.read_rows(first)}


def test_an_exclude_file_without_the_field_names_the_row(tmp_path):
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps({"prompt": [{"content": "x"}]}) + "\n" + json.dumps({"no": "prompt"}) + "\n")
    with pytest.raises(ValueError, match=r"--exclude '.*other\.jsonl': row 1 has no prompt messages"):
        rows.excluded_prompts([path])
    with pytest.raises(FileNotFoundError, match="--exclude: data file"):
        rows.excluded_ground_truths([tmp_path / "missing.jsonl"])


def test_requests_are_checked_before_any_work(tmp_path):
    rows.check_count(1, seed=0)
    with pytest.raises(ValueError, match="--n must be >= 1, got 0"):
        rows.check_count(0)
    with pytest.raises(ValueError, match=r"--seed must be in \[0, 2\*\*63 - 1\], got -1"):
        rows.check_count(5, seed=-1)
    with pytest.raises(ValueError, match="--out: cannot tell the format"):
        rows.check_output(tmp_path / "rows.txt")
    with pytest.raises(ValueError, match="--out"):
        rows.check_output(tmp_path / "rows.jsonl", exclude=[tmp_path / "rows.jsonl"])  # --out is one of the inputs


def test_write_data_writes_a_tasks_own_rows(tmp_path):
    task = MazeTask(sizes=(7,))
    problems = list(rows.distinct_problems(task, 3, [0, 0], set()))
    assert rows.write_data(task, problems, tmp_path / "maze.jsonl", split="train") == 3
    written = rows.read_rows(tmp_path / "maze.jsonl")
    assert written == [json.loads(json.dumps(task.to_row(p, "train", i))) for i, p in enumerate(problems)]
