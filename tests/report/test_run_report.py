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


def test_a_run_with_a_pass1_phase_has_a_row_after_each_phase():
    record = {"step": 0, "n_mazes": 6, "samples_per_maze": 4, "pass@1": 0.25, "pass@2": 0.5, "pass@4": 0.75,
              "entropy": 0.5, "correct": [1, 2, 0, 4, 1, 0]}
    warm = {**record, "step": -20, "pass@1": 0.125, "entropy": 0.7, "correct": [0, 1, 0, 2, 1, 0]}
    after = {**record, "step": 10, "pass@1": 0.5, "entropy": 0.4, "correct": [2, 3, 1, 4, 2, 0]}
    text = format_before_after({"warm_up": warm, "before": record, "after": after, "pass1_steps": 20,
                                "estimator": "passk_analytic"})
    rows = {line.split("  ")[0]: line.split()[-4:] for line in text.splitlines() if line.startswith("after")}
    assert rows == {"after warm-up": ["0.125", "0.500", "0.750", "0.700"],
                    "after Pass@1 (20 steps)": ["0.250", "0.500", "0.750", "0.500"],
                    "after RL (step 10), passk_analytic": ["0.500", "0.500", "0.750", "0.400"]}
    assert "from the Pass@1-trained start" in text and "change in the Pass@1 phase" in text
    # without the phase (or an eval.json written before it existed) the start is the warm-up: two rows
    two = format_before_after({"before": record, "after": after, "pass1_steps": 0})
    assert [line.split("  ")[0] for line in two.splitlines() if line.startswith("after")] == ["after warm-up",
                                                                                            "after RL (step 10)"]


def test_results_are_broken_down_by_maze_size_or_by_a_text_tasks_group():
    def by(groups):
        return {group: {"pass@1": 0.5, "pass@2": 0.75, "pass@4": 1.0} for group in groups}

    maze, text = summary("maze"), summary("maths")
    for run, groups in ((maze, ("7", "9")), (text, ("arithmetic", "algebra"))):
        run["before"]["by_size"] = run["after"]["by_size"] = by(groups)
    assert "\nby size: pass@1 and pass@4" in format_before_after(maze)
    assert "\nby group: pass@1 and pass@4" in format_before_after(text)
    assert "  algebra " in format_before_after(text)
