"""``passkrl eval``: the printed table, the JSON numbers, the plot, and every error of input and options
(the reading and the numbers themselves are tested in ``tests/test_evaluation.py``)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from passkrl.cli import main as cli_main
from passkrl.core.metrics import distinct_wrong_answers, maj_at_k, max_at_k, pass_at_k
from passkrl.cli.eval import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_jsonl(path, records, blank_after=()):
    lines = []
    for i, record in enumerate(records):
        lines.append(record if isinstance(record, str) else json.dumps(record))
        if i in blank_after:
            lines.append("   ")
    path.write_text("\n".join(lines) + "\n")
    return path


def binary_samples():
    """Three prompts with 4, 6 and 5 samples; answers on every line."""
    spec = {
        "p0": [("A", True), ("B", False), ("A", True), ("C", False)],
        7: [("X", False), ("X", False), ("Y", True), (None, False), ("Z", False), ("X", False)],
        "p2": [("1", False), ("2", False), ("3", False), ("3", False), ("4", False)],
    }
    records = [{"prompt_id": pid, "correct": ok, "answer": ans} for pid, rows in spec.items() for ans, ok in rows]
    return spec, records


def test_eval_prints_table_and_writes_json_and_png(tmp_path, capsys):
    spec, records = binary_samples()
    samples = write_jsonl(tmp_path / "samples.jsonl", records, blank_after=(2,))
    out_json, out_png = tmp_path / "eval.json", tmp_path / "eval.png"
    assert main([str(samples), "--k", "4,1,2", "--json", str(out_json), "--plot", str(out_png)]) == 0
    out = capsys.readouterr().out
    assert "prompts: 3" in out and "min 4, max 6" in out and "samples: 15" in out
    assert "pass@k" in out and "maj@k" in out and "max@k" not in out
    assert "distinct wrong answers per prompt" in out
    assert out_png.read_bytes()[:8] == PNG_MAGIC

    result = json.loads(out_json.read_text())
    assert result["k"] == [1, 2, 4]
    n = np.array([len(rows) for rows in spec.values()])
    c = np.array([sum(ok for _, ok in rows) for rows in spec.values()])
    answers = [[a for a, _ in rows] for rows in spec.values()]
    correct = [[ok for _, ok in rows] for rows in spec.values()]
    for j, k in enumerate([1, 2, 4]):
        row = result["metrics"]["pass@k"][j]
        assert row["k"] == k
        assert row["mean"] == pytest.approx(float(np.mean(pass_at_k(n, c, k))), rel=1e-14)
        assert row["low"] <= row["mean"] <= row["high"]
        assert result["metrics"]["maj@k"][j]["mean"] == pytest.approx(float(np.mean(maj_at_k(answers, correct, k))))
    assert result["per_prompt"]["prompt_id"] == ["p0", 7, "p2"]
    assert result["per_prompt"]["distinct_wrong_answers"] == distinct_wrong_answers(answers, correct).tolist()
    assert result["distinct_wrong_answers"]["mean"] == pytest.approx(np.mean([2, 2, 4]))
    assert result["rewards"] == "binary" and result["samples_per_prompt"] == {"min": 4, "max": 6}
    # The same numbers come out of the `passkrl` dispatcher.
    assert cli_main(["eval", str(samples), "--k", "1"]) == 0


def test_eval_continuous_rewards_report_max_at_k(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rewards_pn = np.round(rng.random((4, 6)), 2)
    rewards_pn[0, 2] = 1.0
    records = [{"prompt_id": f"q{p}", "reward": float(r)} for p in range(4) for r in rewards_pn[p]]
    out_json = tmp_path / "eval.json"
    out_png = tmp_path / "eval.png"
    samples = write_jsonl(tmp_path / "samples.jsonl", records)
    assert main([str(samples), "--json", str(out_json), "--plot", str(out_png)]) == 0
    captured = capsys.readouterr()
    assert "max@k" in captured.out and "maj@k" not in captured.out
    assert "default k clipped to 1,2,4" in captured.err
    result = json.loads(out_json.read_text())
    assert result["k"] == [1, 2, 4]
    for j, k in enumerate(result["k"]):
        assert result["metrics"]["max@k"][j]["mean"] == pytest.approx(float(np.mean(max_at_k(rewards_pn, k))))
        c = (rewards_pn >= 1).sum(axis=1)
        assert result["metrics"]["pass@k"][j]["mean"] == pytest.approx(float(np.mean(pass_at_k(6, c, k))))
    assert out_png.read_bytes()[:8] == PNG_MAGIC


def test_threshold_turns_rewards_into_correctness(tmp_path):
    records = [{"prompt_id": 0, "reward": r} for r in (0.2, 0.6, 0.9, 0.1)]
    out_json = tmp_path / "eval.json"
    samples = write_jsonl(tmp_path / "s.jsonl", records)
    assert main([str(samples), "--k", "1", "--threshold", "0.5", "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text())["metrics"]["pass@k"][0]["mean"] == 0.5


GOOD = {"prompt_id": "a", "correct": True}
MALFORMED = [
    ('{"prompt_id": "a", "correct": tru', "not valid JSON"),
    ('["a", 1]', "expected a JSON object"),
    ({"correct": True}, "missing field 'prompt_id'"),
    ({"prompt_id": 1.5, "correct": True}, "'prompt_id' must be a string or an integer"),
    ({"prompt_id": True, "correct": True}, "'prompt_id' must be a string or an integer"),
    ('{"prompt_id": "a", "reward": NaN}', "'reward' must be finite"),
    ('{"prompt_id": "a", "reward": Infinity}', "'reward' must be finite"),
    ({"prompt_id": "a", "reward": "1"}, "'reward' must be a number"),
    ({"prompt_id": "a", "reward": None}, "'reward' must be a number"),
    ({"prompt_id": "a", "reward": True}, "'reward' must be a number"),
    ({"prompt_id": "a", "reward": 1.0, "correct": True}, "both 'reward' and 'correct'"),
    ({"prompt_id": "a"}, "needs a 'reward'"),
    ({"prompt_id": "a", "correct": 2}, "'correct' must be true, false, 0 or 1"),
    ({"prompt_id": "a", "correct": "yes"}, "'correct' must be true, false, 0 or 1"),
    ({"prompt_id": "a", "correct": True, "answer": 42}, "'answer' must be a string or null"),
]


@pytest.mark.parametrize("bad,what", MALFORMED)
def test_malformed_line_names_its_number(tmp_path, bad, what):
    # Lines: 1 good, 2 blank, 3 bad, 4 good.
    samples = write_jsonl(tmp_path / "s.jsonl", [GOOD, bad, GOOD], blank_after=(0,))
    with pytest.raises(ValueError) as info:
        main([str(samples), "--k", "1"])
    message = str(info.value)
    assert "line 3" in message and what in message


def test_invalid_utf8_names_the_line(tmp_path):
    samples = tmp_path / "s.jsonl"
    samples.write_bytes(json.dumps(GOOD).encode() + b'\n{"prompt_id": "\xff", "correct": true}\n')
    with pytest.raises(ValueError, match="line 2: not valid UTF-8"):
        main([str(samples), "--k", "1"])


def test_k_larger_than_a_prompts_samples_is_an_error_naming_it(tmp_path):
    _, records = binary_samples()
    samples = write_jsonl(tmp_path / "s.jsonl", records)
    with pytest.raises(ValueError, match=r"k=6 is larger than n=4 \(the samples of prompt 'p0', first seen on line 1\): need 1 <= k <= n; "
                                         r"2 of 3 prompts"):
        main([str(samples), "--k", "1,6"])


@pytest.mark.parametrize("spec", ["0", "4,0"])
def test_a_bad_k_is_refused_before_the_samples_are_read(tmp_path, spec):
    with pytest.raises(ValueError, match="--k"):
        main([str(tmp_path / "missing.jsonl"), "--k", spec])


def test_other_input_errors(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        main([str(tmp_path / "missing.jsonl")])
    empty = write_jsonl(tmp_path / "empty.jsonl", ["", "  "])
    with pytest.raises(ValueError, match="no samples"):
        main([str(empty)])
    _, records = binary_samples()
    samples = write_jsonl(tmp_path / "s.jsonl", records)
    with pytest.raises(ValueError, match=r"\.png"):
        main([str(samples), "--plot", str(tmp_path / "plot.pdf")])
    with pytest.raises(FileNotFoundError, match="directory"):
        main([str(samples), "--json", str(tmp_path / "nowhere" / "x.json")])
    # The dispatcher turns these into one line on stderr and status 2.
    assert cli_main(["eval", str(samples), "--k", "9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("passkrl eval: error: k=9") and err.count("\n") == 1


def test_inconsistent_answer_correctness_is_an_error(tmp_path):
    records = [
        {"prompt_id": "p", "correct": True, "answer": "7"},
        {"prompt_id": "p", "correct": False, "answer": "8"},
        {"prompt_id": "p", "correct": False, "answer": "7"},
    ]
    samples = write_jsonl(tmp_path / "s.jsonl", records)
    with pytest.raises(ValueError, match="answer '7' of prompt 'p' is correct on line 1 but wrong on line 3"):
        main([str(samples), "--k", "1"])


@pytest.mark.parametrize("option, name", [("--json", "samples.jsonl"), ("--plot", "samples.png")])
def test_an_output_that_is_the_samples_file_is_refused_and_the_samples_survive(tmp_path, option, name):
    _, records = binary_samples()
    samples = write_jsonl(tmp_path / "samples.jsonl", records)
    if name.endswith(".png"):  # the same file under another name: a hard link
        os.link(samples, tmp_path / name)
    before = samples.read_bytes()
    with pytest.raises(ValueError, match=f"{option} .* is the SAMPLES file"):
        main([str(samples), option, str(tmp_path / name)])
    assert samples.read_bytes() == before


def test_an_unwritable_output_directory_is_refused_before_any_work(tmp_path):
    _, records = binary_samples()
    samples = write_jsonl(tmp_path / "samples.jsonl", records)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(PermissionError, match=r"--json: directory .*locked' is not writable"):
            main([str(samples), "--json", str(locked / "out.json")])
    finally:
        locked.chmod(0o700)
