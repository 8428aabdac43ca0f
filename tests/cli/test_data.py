"""``passkrl data maze``: JSONL and Parquet rows, reproducible splits, atomic writes, clear errors."""

from __future__ import annotations

import json
import re
import sys

import pytest

from passkrl.cli import main as cli_main
from passkrl.tasks import maze as M
from passkrl.cli.data import main
from passkrl.tasks.maze import parse_sizes

COLUMNS = ["data_source", "prompt", "ability", "reward_model", "extra_info"]


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_jsonl_after(tmp_path, args: list[str]) -> list[dict]:
    """The rows the same arguments write as JSONL."""
    out = tmp_path / "same.jsonl"
    assert main(["maze", *args, "--out", str(out)]) == 0
    return read_jsonl(out)


def test_jsonl_rows(tmp_path, capsys):
    out = tmp_path / "mazes.jsonl"
    assert main(["maze", "--sizes", "5,7", "--n", "12", "--out", str(out), "--no-progress"]) == 0
    rows = read_jsonl(out)
    assert len(rows) == 12 and all(list(row) == COLUMNS for row in rows)
    assert [row["extra_info"]["index"] for row in rows] == list(range(12))
    assert [row["extra_info"]["size"] for row in rows] == [5, 7] * 6
    assert len({row["reward_model"]["ground_truth"] for row in rows}) == 12
    for row in rows:
        grid = row["reward_model"]["ground_truth"]
        assert row["data_source"] == "passkrl/maze" and row["extra_info"]["split"] == "train"
        assert row["prompt"] == [{"role": "user", "content": M.prompt(grid)}]
        assert M.score(grid, f"<answer>{row['extra_info']['shortest_path']}</answer>") == 1.0
    summary = capsys.readouterr().out.strip().splitlines()
    assert summary == [f"wrote 12 train rows (maze sizes 5,7, seed 0) to {out}"]
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was moved into place


def test_json_extension_also_writes_jsonl_and_output_is_deterministic(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.JSONL"
    for path in (a, b):
        assert main(["maze", "--sizes", "9", "--n", "5", "--seed", "3", "--out", str(path)]) == 0
    assert a.read_bytes() == b.read_bytes() and len(read_jsonl(a)) == 5


def test_parquet_rows(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "mazes.parquet"
    assert main(["maze", "--sizes", "9,11", "--n", "10", "--split", "test", "--out", str(out)]) == 0
    table = pq.read_table(out)
    assert table.column_names == COLUMNS and table.num_rows == 10
    rows = table.to_pylist()
    assert rows == read_jsonl_after(tmp_path, ["--sizes", "9,11", "--n", "10", "--split", "test"])
    assert rows[0]["prompt"][0]["role"] == "user" and rows[0]["reward_model"]["style"] == "rule"


def test_splits_match_train_test_split_and_exclude_deduplicates(tmp_path):
    test_out, train_out = tmp_path / "test.jsonl", tmp_path / "train.jsonl"
    assert main(["maze", "--split", "test", "--sizes", "5,7,9", "--n", "9", "--out", str(test_out)]) == 0
    assert main(["maze", "--sizes", "5,7", "--n", "200", "--exclude", str(test_out), "--out", str(train_out)]) == 0
    test_rows, train_rows = read_jsonl(test_out), read_jsonl(train_out)
    test_grids = {r["reward_model"]["ground_truth"] for r in test_rows}
    train_grids = [r["reward_model"]["ground_truth"] for r in train_rows]
    assert len(train_grids) == 200 and not test_grids & set(train_grids)
    train, test = M.train_test_split((5, 7), (5, 7, 9), n_train=200, n_test=9, seed=0)
    assert [m.grid for m in test] == [r["reward_model"]["ground_truth"] for r in test_rows]
    assert [m.grid for m in train] == train_grids


@pytest.mark.parametrize("name", ["mazes.csv", "mazes.txt", "mazes", "mazes.parquet.gz"])
def test_bad_extension_is_a_value_error_naming_it(tmp_path, name):
    out = tmp_path / name
    suffix = out.suffix or "no extension"
    with pytest.raises(ValueError, match=re.escape(suffix)):
        main(["maze", "--n", "3", "--out", str(out)])
    assert not out.exists()


@pytest.mark.parametrize("sizes, offending", [
    ("9,8", "'8'"), ("3", "'3'"), ("9,x", "'x'"), ("9,,11", "''"), ("9.0", "'9.0'"), ("-7", "'-7'"), ("", "given in ''"),
])
def test_bad_sizes_are_errors_naming_the_value(tmp_path, capsys, sizes, offending):
    # A value that is not a list of integers is refused by tyro's parser (exit 2, the message on stderr);
    # integers that are not maze sizes by the data command (a ValueError, one line from `passkrl`).
    with pytest.raises((ValueError, SystemExit)) as info:
        main(["maze", "--sizes", sizes, "--n", "3", "--out", str(tmp_path / "x.jsonl")])
    message = str(info.value) if info.type is ValueError else " ".join(capsys.readouterr().err.split())
    assert "--sizes" in message and offending in message
    assert not (tmp_path / "x.jsonl").exists()


def test_sizes_may_be_written_with_commas_or_spaces(tmp_path):
    for args in (["9,11"], ["9", "11"]):
        out = tmp_path / f"{len(args)}.jsonl"
        main(["maze", "--sizes", *args, "--n", "4", "--out", str(out), "--no-progress"])
        assert sorted({json.loads(line)["extra_info"]["size"] for line in out.read_text().splitlines()}) == [9, 11]


def test_parse_sizes():
    assert parse_sizes("9,11,13,15") == (9, 11, 13, 15)
    assert parse_sizes(" 7 , 21 ") == (7, 21)


def test_other_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown task 'sudoku'; known tasks: .*maze"):
        main(["sudoku", "--n", "3", "--out", str(tmp_path / "x.jsonl")])
    with pytest.raises(ValueError, match="--n must be >= 1, got 0"):
        main(["maze", "--n", "0", "--out", str(tmp_path / "x.jsonl")])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        main(["maze", "--n", "3", "--out", str(tmp_path / "missing" / "x.jsonl")])
    with pytest.raises(FileNotFoundError):
        main(["maze", "--n", "3", "--exclude", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "x.jsonl")])
    # through the top-level CLI: one line, exit status 2
    assert cli_main(["data", "maze", "--sizes", "6", "--n", "3", "--out", str(tmp_path / "x.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("passkrl data: error:") and "'6'" in err[0]


def test_a_failed_run_leaves_an_older_file_untouched(tmp_path):
    out = tmp_path / "mazes.jsonl"
    out.write_text("old\n")
    # only about 160 distinct 5x5 mazes exist: generation fails half-way
    with pytest.raises(ValueError, match="cannot make 1000 distinct mazes"):
        main(["maze", "--sizes", "5", "--n", "1000", "--out", str(out), "--no-progress"])
    assert out.read_text() == "old\n" and not list(tmp_path.glob(".*.tmp"))


def test_missing_pyarrow_is_explained(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` raise ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ValueError, match="pip install pyarrow"):
        main(["maze", "--n", "3", "--out", str(tmp_path / "x.parquet")])


def test_help(capsys):
    assert main([]) == 0 and "maze" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["maze", "--help"])
    assert exit_info.value.code == 0
    assert "--sizes" in capsys.readouterr().out


def test_an_out_that_is_an_excluded_split_is_refused_and_the_split_survives(tmp_path):
    test_split = tmp_path / "test.jsonl"
    main(["maze", "--split", "test", "--sizes", "9", "--n", "5", "--out", str(test_split), "--no-progress"])
    before = test_split.read_bytes()
    with pytest.raises(ValueError, match=r"--out .*test.jsonl' is the --exclude file"):
        main(["maze", "--sizes", "9", "--n", "5", "--exclude", str(test_split), "--out", str(test_split)])
    assert test_split.read_bytes() == before


def test_an_exclude_file_that_is_not_utf8_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"prompt": [{"content": "a"}]}\n{"prompt": "\xfe"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl' line 2 is not UTF-8 text"):
        main(["maze", "--sizes", "9", "--n", "2", "--exclude", str(bad), "--out", str(tmp_path / "o.jsonl")])
