from passkrl.report.run_report import format_before_after


def summary(task=None):
    record = {"step": 0, "n_mazes": 6, "samples_per_maze": 4, "pass@1": 0.25, "pass@2": 0.5, "pass@4": 0.75}
    out = {"before": record, "after": {**record, "step": 10, "pass@1": 0.5}}
    if task is not None:
        out["task"] = task
    return out


def test_before_after_table_names_the_task_and_shows_both_rows():
    text = format_before_after(summary("chain_sum"))
    assert "held-out pool: chain_sum problems (6, 4 samples each" in text
    assert "mazes" not in text
    after_row = next(line for line in text.splitlines() if line.startswith("after RL (step 10)"))
    assert after_row.split()[-3:] == ["0.500", "0.500", "0.750"]


def test_before_after_table_of_a_maze_run_or_an_older_eval_json():
    assert "held-out pool: mazes (6" in format_before_after(summary("maze"))
    assert "held-out pool: mazes (6" in format_before_after(summary())  # eval.json written before "task" existed
    # the pool a run was evaluated on is named: results are reported on the test pool, settings chosen on validation
    assert "test pool: mazes (6" in format_before_after({**summary("maze"), "eval_pool": "test"})
    assert "validation pool: mazes (6" in format_before_after({**summary("maze"), "eval_pool": "validation"})
