"""verl and TRL reward functions: rows written by ``passkrl data`` read back and scored by the dispatcher."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("reasoning_gym")
pytest.importorskip("math_verify")

from passkrl.tasks import rewards as R
from passkrl.cli.data import main as data_main
from passkrl.tasks.rows import read_rows


def reference_response(row: dict) -> str:
    """A correct response for a row of any task, from what the row itself stores."""
    source, info = row["data_source"], row["extra_info"]
    if source == "passkrl/maze":
        return f"<answer>{info['shortest_path']}</answer>"
    if source == "passkrl/maths":
        return f"So the result is \\boxed{{{row['reward_model']['ground_truth']}}}."
    return f"<answer>{info['answer']}</answer>"


@pytest.fixture(scope="module")
def rows_by_task(tmp_path_factory) -> dict[str, list[dict]]:
    directory = tmp_path_factory.mktemp("rows")
    commands = {
        "maze": ["maze", "--sizes", "5,7", "--n", "4"],
        "puzzles": ["puzzles", "--n", "28"],
        "thresholded": ["puzzles", "--datasets", "chain_sum,countdown", "--binary-threshold", "1.0", "--n", "6"],
        "maths": ["maths", "--n", "24"],
    }
    rows = {}
    for name, args in commands.items():
        for suffix in (".jsonl", ".parquet"):
            out = directory / f"{name}{suffix}"
            assert data_main([*args, "--out", str(out), "--no-progress"]) == 0
            rows.setdefault(name, []).append(read_rows(out))
        jsonl, parquet = rows[name]
        assert jsonl == parquet  # both formats hold the same rows
        rows[name] = jsonl
    return rows


def test_rows_have_verl_columns_and_routable_data_sources(rows_by_task):
    for name, rows in rows_by_task.items():
        for row in rows:
            assert list(row) == ["data_source", "prompt", "ability", "reward_model", "extra_info"], name
            assert row["prompt"][-1]["role"] == "user" and row["reward_model"]["style"] == "rule"
            assert R.route(row["data_source"]) == ("puzzles" if name == "thresholded" else name)
    categories = {row["extra_info"]["category"] for row in rows_by_task["puzzles"]}
    assert len(categories) >= 5  # 28 draws over 7 categories


def test_reference_answers_score_1_and_wrong_answers_less(rows_by_task):
    for name, rows in rows_by_task.items():
        for row in rows:
            truth, info = row["reward_model"]["ground_truth"], row["extra_info"]
            right = R.compute_score(row["data_source"], reference_response(row), truth, info)
            wrong = R.compute_score(row["data_source"], "<answer>certainly not this</answer>", truth, info)
            empty = R.compute_score(row["data_source"], "", truth, info)
            assert right == 1.0, (name, row["data_source"])
            assert wrong < 1.0 and empty == 0.0, (name, row["data_source"])


def test_thresholded_rows_give_binary_rewards(rows_by_task):
    rows = rows_by_task["thresholded"]
    assert all(row["extra_info"]["binary_threshold"] == 1.0 for row in rows)
    chain = next(row for row in rows if row["data_source"] == "passkrl/puzzles/chain_sum")
    padded = f"<answer>{chain['extra_info']['answer']} is it</answer>"  # partial credit without the threshold
    truth = chain["reward_model"]["ground_truth"]
    assert 0.0 < R.compute_score(chain["data_source"], padded, truth) < 1.0
    assert R.compute_score(chain["data_source"], padded, truth, chain["extra_info"]) == 0.0


def test_batch_equals_one_by_one_for_any_workers(rows_by_task):
    rows = [row for rows in rows_by_task.values() for row in rows]
    for row in rows:
        row["extra_info"] = {**row["extra_info"], "timeout_s": 0.5}
    responses = [reference_response(row) if i % 3 else "nothing" for i, row in enumerate(rows)]
    hangs = [i for i, row in enumerate(rows) if row["data_source"] in ("passkrl/maths", "passkrl/puzzles/countdown")]
    hangs = [hangs[0], hangs[-1]]  # one maths row, one countdown row
    for i in hangs:
        responses[i] = "<answer>9**9**9</answer>"  # timeouts must not shift other results
    one_by_one = [R.compute_score(r["data_source"], s, r["reward_model"]["ground_truth"], r["extra_info"])
                  for r, s in zip(rows, responses)]
    args = ([r["data_source"] for r in rows], responses, [r["reward_model"]["ground_truth"] for r in rows],
            [r["extra_info"] for r in rows])
    assert R.compute_score_batch(*args) == one_by_one == R.compute_score_batch(*args, workers=2)
    assert [one_by_one[i] for i, row in enumerate(rows) if responses[i] == reference_response(row)] == [1.0] * sum(
        responses[i] == reference_response(row) for i, row in enumerate(rows))
    assert [one_by_one[i] for i in hangs] == [0.0, 0.0]


def test_unknown_data_source_is_a_value_error():
    with pytest.raises(ValueError, match="no passkrl reward function for data_source 'openai/gsm8k'"):
        R.compute_score("openai/gsm8k", "\\boxed{1}", "1")
    with pytest.raises(ValueError, match="unknown reasoning-gym data set"):
        R.compute_score("passkrl/puzzles/nope", "<answer>1</answer>", "1")


def test_non_string_solutions_score_0(rows_by_task):
    row = rows_by_task["maths"][0]
    for solution in (None, 3, b"\\boxed{1}", ["\\boxed{1}"]):
        assert R.compute_score(row["data_source"], solution, row["reward_model"]["ground_truth"]) == 0.0


# ------------------------------------------------------------------------------------- TRL


def trl_columns(rows: list[dict]) -> dict[str, list]:
    """What TRL passes to a reward function: every column but the prompt, as lists."""
    return {name: [row[name] for row in rows] for name in ("data_source", "ability", "reward_model", "extra_info")}


def test_trl_reward_with_string_and_chat_completions(rows_by_task):
    rows = rows_by_task["maths"][:6] + rows_by_task["puzzles"][:6] + rows_by_task["maze"]
    texts = [reference_response(row) if i % 2 else "<answer>no</answer>" for i, row in enumerate(rows)]
    prompts = [row["prompt"] for row in rows]
    as_strings = R.passkrl_reward(prompts=prompts, completions=texts, **trl_columns(rows))
    chats = [[{"role": "assistant", "content": text}] for text in texts]
    as_chats = R.passkrl_reward(prompts=prompts, completions=chats, **trl_columns(rows), trainer_state=None)
    expected = [R.compute_score(r["data_source"], t, r["reward_model"]["ground_truth"], r["extra_info"])
                for r, t in zip(rows, texts)]
    assert as_strings == as_chats == expected
    assert all(isinstance(value, float) for value in as_strings)
    assert as_strings[1::2] == [1.0] * (len(rows) // 2)


def test_trl_reward_for_plain_columns():
    maths_reward = R.make_trl_reward("maths")
    assert maths_reward.__name__ == "passkrl_maths"
    completions = [[{"role": "assistant", "content": "\\boxed{0.5}"}], "\\boxed{3}", "It is 0.5"]
    assert maths_reward(prompts=["q"] * 3, completions=completions, answer=["1/2", "3", "1/2"]) == [1.0, 1.0, 0.0]
    lenient = R.make_trl_reward("maths", lenient=True)
    assert lenient(completions=["It is 0.5"], ground_truth=["\\frac{1}{2}"]) == [1.0]
    chain = R.make_trl_reward("puzzles/chain_sum", binary_threshold=1.0)
    assert chain(completions=["<answer>7</answer>", "<answer>7 or 8</answer>"], ground_truth=["7", "7"]) == [1.0, 0.0]


def test_trl_reward_errors():
    with pytest.raises(ValueError, match="data_source"):
        R.passkrl_reward(completions=["x"], reward_model=[{"ground_truth": "1"}])
    with pytest.raises(ValueError, match="has 2 values for 1 completions"):
        R.passkrl_reward(completions=["x"], data_source=["passkrl/maths"] * 2, ground_truth=["1", "2"])
    with pytest.raises(ValueError, match="no ground truth"):
        R.make_trl_reward("maths")(completions=["\\boxed{1}"])
    with pytest.raises(ValueError, match="task must be"):
        R.make_trl_reward("sudoku")


@pytest.mark.parametrize("completion, text", [
    ("plain", "plain"),
    ([{"role": "assistant", "content": "chat"}], "chat"),
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a1"}, {"role": "assistant", "content": "a2"}], "a2"),
    ({"role": "assistant", "content": "one message"}, "one message"),
    ([{"role": "assistant", "content": [{"type": "text", "text": "part 1 "}, {"type": "text", "text": "part 2"}]}],
     "part 1 part 2"),
    ([], ""), (None, ""), (42, ""), ([{"role": "assistant"}], ""),
])
def test_completion_text(completion, text):
    assert R.completion_text(completion) == text


def test_extra_info_as_json_text_is_accepted(rows_by_task):
    row = rows_by_task["thresholded"][0]
    columns = trl_columns([row])
    columns["extra_info"] = [json.dumps(row["extra_info"])]
    assert R.passkrl_reward(completions=[reference_response(row)], **columns) == [1.0]
