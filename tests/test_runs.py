"""RunDir: the files of a training run, read and written in one place."""

from __future__ import annotations

import json

import pytest

from passkrl.runs import RunDir


def test_metrics_are_appended_read_back_and_truncated_to_a_step(tmp_path):
    run = RunDir(tmp_path / "run")
    run.check_writable()
    for step in range(4):
        run.append_metrics({"kind": "train", "step": step, "reward": step / 4})
    assert [r["step"] for r in run.read_metrics()] == [0, 1, 2, 3]
    run.truncate_metrics(1)
    assert [r["step"] for r in run.read_metrics()] == [0, 1]


def test_a_line_cut_by_a_crash_ends_the_log_and_is_dropped_on_truncation(tmp_path):
    run = RunDir(tmp_path)
    run.append_metrics({"kind": "train", "step": 0})
    with open(run.metrics_path, "a", encoding="utf-8") as handle:
        handle.write('{"kind": "train", "st')
    assert run.read_metrics() == [{"kind": "train", "step": 0}]
    run.truncate_metrics(10)
    assert run.metrics_path.read_text() == '{"kind": "train", "step": 0}\n'


def test_metrics_refuse_nan_so_the_log_stays_valid_json(tmp_path):
    with pytest.raises(ValueError):
        RunDir(tmp_path).append_metrics({"reward": float("nan")})


def test_config_round_trip_and_clear_errors(tmp_path):
    run = RunDir(tmp_path / "run")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run.read_config()
    run.check_writable()
    with pytest.raises(FileNotFoundError, match="config.json' is missing; is .* a passkrl run directory"):
        run.read_config()
    run.config_path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        run.read_config()
    run.write_config({"k": 8})
    assert run.read_config() == {"k": 8}


def test_finished_eval_and_time_over_invocations(tmp_path):
    run = RunDir(tmp_path)
    assert not run.finished and run.read_eval() is None and run.seconds() is None
    run.add_time(2.5, threads=1)
    run.add_time(1.5, threads=1)
    assert run.seconds() == 4.0 and json.loads(run.timing_path.read_text())["threads"] == 1
    run.write_eval({"after": {}})
    assert run.finished and run.read_eval() == {"after": {}}


def test_check_writable_names_the_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="output directory .*file/run' is not writable"):
        RunDir(blocker / "run").check_writable()


def test_bytes_that_are_not_utf8_name_the_file_and_the_line(tmp_path):
    run = RunDir(tmp_path)
    run.append_metrics({"kind": "train", "step": 0})
    with open(run.metrics_path, "ab") as handle:
        handle.write(b'{"kind": "train", "step": 1, "x": "\xff"}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl' line 2 is not UTF-8 text"):
        run.read_metrics()


def test_a_damaged_eval_json_is_named(tmp_path):
    run = RunDir(tmp_path)
    run.eval_path.write_text('{"before": ')
    with pytest.raises(ValueError, match=r"eval.json' is damaged .*passkrl train --resume"):
        run.read_eval()


def test_report_names_the_line_of_a_record_without_a_plotted_field(tmp_path):
    from passkrl.report.run_report import draw_run

    run = RunDir(tmp_path)
    run.append_metrics({"kind": "train", "step": 1, "reward": 0.5, "solved": 0.5, "entropy": 1.0,
                        "adv_abs_mean": 0.1, "clip_fraction": 0.0})
    run.append_metrics({"kind": "train", "step": 2, "reward": 0.5})
    with pytest.raises(ValueError, match=r"metrics.jsonl' line 2: a train record without solved, entropy"):
        draw_run(tmp_path)
