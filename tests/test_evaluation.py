"""``passkrl.evaluation``: reading and grouping samples, verl's dumps, the choice of k, and every number
of the report checked against brute force over all k-subsets with exact rational arithmetic."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from fractions import Fraction

import pytest

from passkrl.evaluation import (
    DEFAULT_KS,
    choose_ks,
    evaluate,
    evaluate_path,
    format_table,
    latest_dump,
    parse_line,
    parse_ks,
    plot,
    read_samples,
)


def write_jsonl(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def mean(values):
    values = list(values)
    return sum(values, Fraction(0)) / len(values)


def brute_pass(correct, k):
    """Share of k-subsets holding a correct sample."""
    return mean(Fraction(any(correct[i] for i in s)) for s in itertools.combinations(range(len(correct)), k))


def brute_max(rewards, k):
    """Mean over k-subsets of their best reward."""
    exact = [Fraction(r) for r in rewards]
    return mean(max(exact[i] for i in s) for s in itertools.combinations(range(len(exact)), k))


def brute_maj(answers, correct, k):
    """Mean over k-subsets of the chance that the plurality answer (ties split evenly) is correct."""
    right = {a for a, ok in zip(answers, correct) if a is not None and ok}

    def score(subset):
        votes = Counter(answers[i] for i in subset if answers[i] is not None)
        if not votes:
            return Fraction(0)
        top = max(votes.values())
        winners = [a for a, v in votes.items() if v == top]
        return Fraction(sum(a in right for a in winners), len(winners))

    return mean(score(s) for s in itertools.combinations(range(len(answers)), k))


# ------------------------------------------------------------------------------------- reading


def test_samples_are_grouped_by_prompt_in_first_seen_order(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [
        {"prompt_id": "b", "correct": True, "answer": "7"},
        {"prompt_id": 1, "reward": 0.5},
        "",
        {"prompt_id": "1", "correct": 0, "extra": [1, 2]},  # "1" is not the prompt 1
        {"prompt_id": "b", "reward": 1, "answer": None},
        {"prompt_id": 1, "reward": 2.0},
    ])
    samples = read_samples(path, threshold=0.5)
    assert [g.prompt_id for g in samples.prompts] == ["b", 1, "1"]
    b, one, one_text = samples.prompts
    assert (b.lines, b.rewards, b.correct, b.answers) == ([1, 5], [1.0, 1.0], [True, True], ["7", None])
    assert (one.lines, one.rewards, one.correct, one.n) == ([2, 6], [0.5, 2.0], [True, True], 2)
    assert (one_text.rewards, one_text.correct, one_text.answers) == ([0.0], [False], [None])
    assert samples.has_answers and not samples.binary
    assert samples.path == path and samples.threshold == 0.5


def test_the_threshold_decides_correctness_of_rewards_only():
    assert parse_line({"prompt_id": 0, "reward": 0.7}, 0.7)[1:3] == (0.7, True)
    assert parse_line({"prompt_id": 0, "reward": 0.7}, 0.71)[1:3] == (0.7, False)
    assert parse_line({"prompt_id": 0, "correct": True}, 5.0)[1:3] == (1.0, True)


def test_a_verl_dump_line_is_a_sample_of_its_prompt_text():
    line = {"input": "maze 3", "output": "so <answer> RRDD </answer>", "gts": None, "score": 0.0, "step": 4}
    assert parse_line(line) == ("maze 3", 0.0, False, True, "RRDD")
    boxed = dict(line, output="it is \\boxed{42}", score=1)
    assert parse_line(boxed) == ("maze 3", 1.0, True, True, "42")
    no_answer = dict(line, output="I give up")
    assert parse_line(no_answer) == ("maze 3", 0.0, False, False, None)
    with pytest.raises(ValueError, match="'input' of a verl dump line must be the prompt text"):
        parse_line(dict(line, input=["a", "b"]))
    # A samples line that happens to carry the dump's fields is read as a samples line.
    assert parse_line(dict(line, prompt_id=9, reward=0.25))[:2] == (9, 0.25)


def test_one_file_must_hold_one_verl_step(tmp_path):
    line = {"input": "p", "output": "<answer>1</answer>", "gts": None, "score": 1.0}
    path = write_jsonl(tmp_path / "mixed.jsonl", [dict(line, step=3), dict(line, step=3), dict(line, step=5)])
    with pytest.raises(ValueError, match=r"line 3: verl dump lines of steps 3 and 5 in one file"):
        read_samples(path)


def test_the_latest_dump_is_the_largest_step_number(tmp_path):
    for name in ("9.jsonl", "10.jsonl", "2.jsonl", "notes.jsonl", "11.txt"):
        (tmp_path / name).write_text("")
    path, note = latest_dump(tmp_path)
    assert path == tmp_path / "10.jsonl"  # not "9.jsonl", the last in text order
    assert "step 10" in note and "latest of 3 step(s)" in note
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="directory without verl dumps"):
        latest_dump(empty)


def test_reading_refuses_a_directory_and_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="is a directory, expected a JSONL file"):
        read_samples(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_samples(tmp_path / "nothing.jsonl")


# ------------------------------------------------------------------------------------- the k values


def samples_of(tmp_path, groups):
    """A SampleSet of ``{prompt_id: [(reward or bool, answer), ...]}``."""
    records = []
    for pid, rows in groups.items():
        for value, answer in rows:
            record = {"prompt_id": pid, ("correct" if isinstance(value, bool) else "reward"): value}
            if answer is not None:
                record["answer"] = answer
            records.append(record)
    return read_samples(write_jsonl(tmp_path / "s.jsonl", records))


@pytest.mark.parametrize("spec", ["", "1,,4", "a", "2.5", "0", "-1", "1;4"])
def test_bad_k_strings(spec):
    with pytest.raises(ValueError, match="--k"):
        parse_ks(spec)


def test_parse_ks_sorts_and_deduplicates():
    assert parse_ks(" 16, 1,4,4 ") == [1, 4, 16]
    assert parse_ks((8, 2, 2)) == [2, 8]


def test_default_ks_are_clipped_to_the_smallest_group_with_a_note(tmp_path):
    samples = samples_of(tmp_path, {"big": [(True, None)] * 40, "small": [(False, None)] * 5})
    assert choose_ks(samples) == ([1, 2, 4], "default k clipped to 1,2,4: prompt 'small' has only 5 samples")
    roomy = samples_of(tmp_path, {"p": [(True, None)] * 32})
    assert choose_ks(roomy) == (list(DEFAULT_KS), None)


def test_an_explicit_k_above_a_groups_size_names_the_group(tmp_path):
    samples = samples_of(tmp_path, {"a": [(True, None)] * 6, "b": [(True, None)] * 3, "c": [(True, None)] * 4})
    assert choose_ks(samples, "3,1") == ([1, 3], None)
    with pytest.raises(ValueError, match=r"k=4 is larger than n=3 \(the samples of prompt 'b', first seen on line 7\): need 1 <= k <= n; "
                                         r"1 of 3 prompts have fewer than 4 samples"):
        choose_ks(samples, [1, 4])


# ----------------------------------------------------------------------------------- evaluating


RAGGED = {
    "p0": [(True, "A"), (False, "B"), (True, "A"), (False, "C"), (False, None)],
    7: [(False, "X"), (False, "X"), (True, "Y"), (False, None), (False, "Z"), (False, "X"), (True, "Y")],
    "p2": [(False, "1"), (False, "2"), (False, "3"), (False, "3")],
}


def test_every_metric_of_ragged_groups_matches_brute_force(tmp_path):
    samples = samples_of(tmp_path, RAGGED)
    ks = [1, 2, 3, 4]
    result = evaluate(samples, ks, n_boot=200, seed=3)
    per_prompt = result["per_prompt"]
    assert per_prompt["prompt_id"] == ["p0", 7, "p2"] and per_prompt["n"] == [5, 7, 4]
    assert per_prompt["n_correct"] == [2, 2, 0]
    assert per_prompt["distinct_wrong_answers"] == [2, 2, 3]
    for p, rows in enumerate(RAGGED.values()):
        correct = [ok for ok, _ in rows]
        answers = [a for _, a in rows]
        for j, k in enumerate(ks):
            assert per_prompt["pass@k"][p][j] == pytest.approx(float(brute_pass(correct, k)), rel=1e-12)
            assert per_prompt["maj@k"][p][j] == pytest.approx(float(brute_maj(answers, correct, k)), rel=1e-12)
    for j, k in enumerate(ks):
        expected = mean(brute_pass([ok for ok, _ in rows], k) for rows in RAGGED.values())
        row = result["metrics"]["pass@k"][j]
        assert row["k"] == k and row["mean"] == pytest.approx(float(expected), rel=1e-12)
        assert row["low"] <= row["mean"] <= row["high"]
    assert "max@k" not in result["metrics"] and result["rewards"] == "binary"
    assert result["distinct_wrong_answers"]["mean"] == pytest.approx(7 / 3)
    assert (result["n_prompts"], result["n_samples"], result["samples_per_prompt"]) == (3, 16, {"min": 4, "max": 7})
    assert (result["level"], result["n_boot"], result["seed"], result["threshold"]) == (0.95, 200, 3, 1.0)


def test_max_at_k_of_ragged_continuous_rewards_matches_brute_force(tmp_path):
    groups = {"a": [0.25, 0.5, 0.0], "b": [1.0, 0.75, 0.75, 0.125, 0.5], "c": [0.375, 0.875, 0.625, 0.0]}
    samples = samples_of(tmp_path, {pid: [(r, None) for r in rewards] for pid, rewards in groups.items()})
    result = evaluate(samples, [1, 2, 3], n_boot=50)
    assert result["rewards"] == "continuous" and "maj@k" not in result["metrics"]
    assert result["per_prompt"]["mean_reward"] == pytest.approx([0.25, 0.625, 0.46875])
    for p, rewards in enumerate(groups.values()):
        for j, k in enumerate([1, 2, 3]):
            assert result["per_prompt"]["max@k"][p][j] == pytest.approx(float(brute_max(rewards, k)), rel=1e-12)
            assert result["per_prompt"]["pass@k"][p][j] == pytest.approx(float(brute_pass([r >= 1 for r in rewards], k)))
    for j, k in enumerate([1, 2, 3]):
        expected = mean(brute_max(rewards, k) for rewards in groups.values())
        assert result["metrics"]["max@k"][j]["mean"] == pytest.approx(float(expected), rel=1e-12)


def test_one_prompt_has_an_interval_of_width_zero(tmp_path):
    samples = samples_of(tmp_path, {"only": [(True, None), (False, None), (False, None)]})
    (row,) = evaluate(samples, [2])["metrics"]["pass@k"]
    assert row["low"] == row["mean"] == row["high"] == pytest.approx(2 / 3)


def test_an_answer_both_correct_and_wrong_is_refused(tmp_path):
    samples = samples_of(tmp_path, {"p": [(True, "7"), (False, "8"), (False, "7")]})
    with pytest.raises(ValueError, match="answer '7' of prompt 'p' is correct on line 1 but wrong on line 3"):
        evaluate(samples, [1])


def test_evaluate_path_reads_the_latest_dump_of_a_directory_and_reports_each_note(tmp_path):
    dump_dir = tmp_path / "val"
    dump_dir.mkdir()
    for step, score in ((5, 0.0), (20, 1.0)):
        lines = [{"input": f"prompt {p}", "output": f"<answer>{i}</answer>", "gts": None,
                  "score": score if i == 0 else 0.0, "step": step} for p in range(2) for i in range(3)]
        write_jsonl(dump_dir / f"{step}.jsonl", lines)
    notes = []
    result = evaluate_path(dump_dir, n_boot=10, note=notes.append)
    assert result["samples"] == str(dump_dir)  # the path as given, not the file read
    assert notes == [f"reading verl's dump of step 20 ({dump_dir / '20.jsonl'}), the latest of 2 step(s)",
                     "default k clipped to 1,2: prompt 'prompt 0' has only 3 samples"]
    assert result["k"] == [1, 2]
    assert [row["mean"] for row in result["metrics"]["pass@k"]] == pytest.approx([1 / 3, 2 / 3])
    assert result["per_prompt"]["distinct_wrong_answers"] == [2, 2]
    # Without a note callback the notes are dropped; an explicit k gives none.
    assert evaluate_path(dump_dir / "5.jsonl", "1", n_boot=10)["metrics"]["pass@k"][0]["mean"] == 0.0


def test_format_table_has_one_row_per_k_and_a_column_per_metric(tmp_path):
    samples = samples_of(tmp_path, RAGGED)
    result = evaluate(samples, [1, 4], n_boot=100)
    lines = format_table(result).splitlines()
    header = lines.index(next(line for line in lines if line.lstrip().startswith("k ")))
    assert lines[header].split() == ["k", "pass@k", "maj@k"]
    rows = lines[header + 2: header + 4]
    assert [row.split()[0] for row in rows] == ["1", "4"]
    assert f"{result['metrics']['pass@k'][1]['mean']:.4f} [" in rows[1]
    assert lines[-1].startswith("distinct wrong answers per prompt: 2.33 [")


def test_plot_writes_a_png(tmp_path):
    result = evaluate(samples_of(tmp_path, RAGGED), [1, 2, 4], n_boot=20)
    plot(result, tmp_path / "eval.png")
    assert (tmp_path / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"\.png"):
        plot(result, tmp_path / "eval.pdf")
