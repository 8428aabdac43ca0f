"""A study's report: the timing line, and where each arm's pass@k curve crosses its start. The whole report of a
miniature study is checked against its results.json in ``tests/cli/test_experiment.py``."""

from __future__ import annotations

from passkrl.experiment import report as experiment_report
from passkrl.experiment.report import crossing_lines


def test_timing_line_says_when_every_run_was_reused():
    arms = [{"train_seconds": [60.0, 120.0]}, {"train_seconds": [180.0, None]}]
    line = experiment_report.timing_line({"arms": arms})
    assert "none in this study" in line and "reused" in line
    assert "4 runs, 6.0 min of training summed over runs" in line
    timed = experiment_report.timing_line({"arms": arms, "timing": {"total_s": 900.0, "warmup_s": 300.0, "train_s": 600.0,
                                                         "processes": 2, "threads": 1}})
    assert timed.startswith("Measured time on this machine: 15.0 min in total (5.0 min warm-up, 10.0 min RL runs")


def test_the_report_says_where_each_arms_pass_at_k_curve_crosses_its_start():
    def arm(label, final, before):
        return {"label": label, "pass_at_every_k": {"final": [{"mean": m} for m in final],
                                                    "before": [{"mean": m} for m in before]}}

    lines = crossing_lines({"arms": [arm("pass@1", (0.3, 0.4, 0.45, 0.5), (0.2, 0.35, 0.5, 0.6)),
                                     arm("pass@k", (0.3, 0.5, 0.6, 0.7), (0.2, 0.35, 0.5, 0.6))]})
    assert lines == ["- pass@1: above its start at k = 1-2, below at k = 3-4 (pass@4: -0.100; means, see the plot "
                     "for intervals)",
                     "- pass@k: above its start at every k (pass@4: +0.100; means, see the plot for intervals)"]
