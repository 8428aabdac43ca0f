"""``passkrl experiment``: a miniature study end to end (report, results.json and the runs agree, nothing rerun),
--report-only, a killed study, and its own options: --set values typed as a user types them, sizes refused
before anything exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from passkrl.cli import main
from passkrl.cli.experiment import RUN_CONTROL, parse_settings, run_study
from passkrl.experiment import results, runner
from passkrl.experiment.studies import WARM_UP, Claim, get_study
from passkrl.metrics import pass_at_k
from tests.experiment.tiny_study import TINY, tiny_args

NUMBER = r"(-?\d+\.\d+) \[(-?\d+\.\d+), (-?\d+\.\d+)\]"
"""A mean and its interval as the report prints them: ``0.123 [0.100, 0.150]``."""


def test_set_keeps_json_text_for_text_settings_and_makes_paths_for_path_settings():
    assert parse_settings(['estimator_params={"base": "grpo"}', "task_options={}", "model=some/dir", "k=4",
                           "k_schedule=null", "train_sizes=7,9", "estimator=grpo", "lr=1e-4"]) == {
        "estimator_params": '{"base": "grpo"}', "task_options": "{}", "model": Path("some/dir"), "k": 4,
        "k_schedule": None, "train_sizes": "7,9", "estimator": "grpo", "lr": 1e-4}



def test_set_takes_the_former_names_of_renamed_settings(tmp_path):
    assert parse_settings(["n_test_mazes=64", "n-train-mazes=300"]) == {"n_test_problems": 64, "n_train_problems": 300}
    specs = runner.plan(get_study("main"), 1, quick=True, out=tmp_path, base={"n_test_mazes": 16})
    assert {spec.config.n_test_problems for spec in specs} == {16}

@pytest.mark.parametrize("argv, named", [
    *[(["--set", f"{name}=1"], f"--set {name}") for name in RUN_CONTROL],  # silently replaced per run before
    (["--set", 'estimator_params={"bogus": 1}'], "bogus"),  # the estimator's own refusal, not a type error
    (["--set", "model=nowhere"], "'nowhere' is not a directory"),
    (["--seeds", "100000000"], "--seeds 100000000"),  # planned one run at a time for minutes before
    (["--replicates", "1000000000000"], "--replicates 1000000000000"),
])
def test_bad_experiment_options_are_refused_before_anything_exists(tmp_path, monkeypatch, capsys, argv, named):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    assert main(["experiment", "main", "--out", "exp", *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_study_plans_at_most_max_runs():
    study = get_study("diagnostic")
    seeds = runner.MAX_RUNS // len(study.arms)
    assert len(runner.plan(study, seeds, quick=True, out=Path("x"))) == runner.MAX_RUNS
    with pytest.raises(ValueError, match="at most 10,000"):
        runner.plan(study, seeds + 1, quick=True, out=Path("x"))


def test_miniature_study_end_to_end_report_matches_results_json(tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "exp"
    assert main(tiny_args(out)) == 0
    study_dir = out / "diagnostic"
    numbers = json.loads((study_dir / "results.json").read_text())
    report = (study_dir / "report.md").read_text()

    # the report opens with the claims table, and its numbers are those of results.json
    assert report.splitlines()[2].startswith("| claim | paper | our result")
    claim_rows = [line for line in report.splitlines() if line.startswith("| **primary:** the pass@k - pass@1 gap")]
    assert len(claim_rows) == len(numbers["claims"]) == 1
    mean, low, high = map(float, re.search(NUMBER, claim_rows[0]).groups())
    difference = numbers["claims"][0]["difference"]
    assert (mean, low, high) == tuple(round(difference[key], 3) for key in ("mean", "low", "high"))
    assert f"**{numbers['claims'][0]['verdict']}**" in claim_rows[0]
    holm = numbers["claims"][0]["holm"]  # a family of one: Holm changes nothing
    assert holm["p"] == pytest.approx(difference["p"]) and holm["level"] == pytest.approx(0.95)
    assert f"[{holm['low']:.3f}, {holm['high']:.3f}] (95.0%)" in claim_rows[0]
    assert numbers["statistics"]["rows"] == "replicates" and "**not** the variation between warm-ups" in report
    # every k from 1 to the samples per maze, recomputed from the runs below
    assert len(numbers["arms"][0]["pass_at_every_k"]["final"]) == numbers["samples_per_maze"]
    for arm in numbers["arms"]:
        row = next(line for line in report.splitlines() if line.startswith(f"| {arm['label']} |"))
        cells = re.findall(NUMBER, row)
        expected = [arm["final"][key] for key in ("pass@1/all", "pass@k/all", "pass@1/unseen", "pass@k/unseen",
                                                     "entropy/all")]
        for cell, summary in zip(cells, expected, strict=False):
            assert tuple(map(float, cell)) == tuple(round(summary[key], 3) for key in ("mean", "low", "high"))

    # one warm-up seed, two RL replicates: the runs differ, their step-0 evaluations do not
    assert numbers["seeds"] == [0] and numbers["replicates"] == 2 and numbers["units"] == [[0, 0], [0, 1]]
    assert "2 runs per arm: RL replicates 0-1 of warm-up seed 0" in report
    # per-run numbers are recomputed independently from each run's metrics.jsonl
    train_sizes = {7}
    for arm in numbers["arms"]:
        evals_by_run = []
        for index, run_name in enumerate(arm["runs"]):
            assert f"-s0r{index}-" in run_name
            lines = (out / "runs" / run_name / "metrics.jsonl").read_text().splitlines()
            evals = [json.loads(line) for line in lines if json.loads(line)["kind"] == "eval"]
            evals_by_run.append(evals)
            final = evals[-1]
            correct = np.array(final["correct"])
            n = final["samples_per_maze"]
            k = min(results.PASS_K, n)
            assert numbers["k_of_pass_at_k"] == k
            assert arm["final"]["pass@1/all"]["per_run"][index] == pytest.approx(correct.mean() / n)
            assert arm["final"]["pass@k/all"]["per_run"][index] == pytest.approx(np.mean(pass_at_k(n, correct, k)))
            unseen = ~np.isin(final["sizes"], list(train_sizes))
            assert arm["final"]["pass@1/unseen"]["per_run"][index] == pytest.approx(correct[unseen].mean() / n)
            for j, summary in enumerate(arm["pass_at_every_k"]["final"], start=1):
                assert summary["per_run"][index] == pytest.approx(np.mean(pass_at_k(n, correct, j)))
        assert evals_by_run[0][0]["correct"] == evals_by_run[1][0]["correct"]
    # a claim against the warm-up is each run's change during RL, paired run by run and maze by maze
    specs = runner.plan(get_study("diagnostic"), 1, quick=False, out=out, replicates=2,
                        base=parse_settings([f"{name}={value}" for name, value in TINY.items()]))
    runs_by_arm = {arm: [results.load_run(s) for s in specs if s.arm.label == arm] for arm in ("pass@1", "pass@k analytic")}
    judged = results._judge(Claim("falls", "§0", WARM_UP, "pass@1"), runs_by_arm, [0, 0], train_sizes)
    changes = []
    for run in runs_by_arm["pass@1"]:
        start, end = (np.asarray(run.evals[i]["correct"]) for i in (0, -1))
        n = run.final["samples_per_maze"]
        changes.append(np.mean(pass_at_k(n, start, min(results.PASS_K, n)) - pass_at_k(n, end, min(results.PASS_K, n))))
    assert judged["difference"]["mean"] == pytest.approx(np.mean(changes))
    assert judged["difference"]["low"] <= judged["difference"]["mean"] <= judged["difference"]["high"]
    # the measured time is stated, and is the one recorded in results.json
    timing = numbers["timing"]
    assert timing["processes"] >= 1 and timing["total_s"] > 0
    assert f"Measured time on this machine: {timing['total_s'] / 60:.1f} min in total" in report
    assert "4 runs," in report
    # the tabular check is part of the diagnostic study, and holds
    assert numbers["extras"]["tabular_diagnostic"]["max_abs_pkpo_minus_alpha_k"] < 1e-10

    # plots are real PNG files, linked from the report; the index lists the study
    for name in ("final.png", "curves.png", "pass_at_k.png"):
        assert (study_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in report
    assert "diagnostic/report.md" in (out / "README.md").read_text()

    # a second invocation reruns nothing: finished runs are kept as they are
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/eval.json")}
    assert len(stamps) == 4
    assert main(tiny_args(out)) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert json.loads((study_dir / "results.json").read_text())["arms"] == numbers["arms"]

    # a rebuilt report keeps the commit its runs were trained at
    stored = json.loads((study_dir / "results.json").read_text())
    stored["commit"] = "0123abc"
    (study_dir / "results.json").write_text(json.dumps(stored))
    assert main([*tiny_args(out), "--report-only"]) == 0
    rebuilt = (study_dir / "report.md").read_text()
    assert "at commit `0123abc`" in rebuilt and "--report-only" not in rebuilt
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_report_only_needs_finished_runs(tmp_path):
    with pytest.raises(ValueError, match="unfinished runs"):
        run_study("main", seeds=1, quick=True, out=tmp_path, jobs=1, settings={}, report_only=True)


def test_a_study_killed_after_its_runs_still_counts_their_time(tmp_path, monkeypatch):
    from passkrl.cli import experiment as experiment_cli

    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    real_execute = runner.execute

    def execute_then_die(*args, **kwargs):
        real_execute(*args, **kwargs)
        raise KeyboardInterrupt  # the study process is stopped before it writes anything more

    monkeypatch.setattr(experiment_cli.runner, "execute", execute_then_die)
    with pytest.raises(KeyboardInterrupt):
        experiment_cli.main(tiny_args(tmp_path / "exp")[1:])
    monkeypatch.setattr(experiment_cli.runner, "execute", real_execute)
    assert main(tiny_args(tmp_path / "exp")) == 0
    timing = json.loads((tmp_path / "exp" / "diagnostic" / "timing.json").read_text())
    assert timing["warmup_s"] > 0 and timing["train_s"] > 0 and "processes" in timing
    report = (tmp_path / "exp" / "diagnostic" / "report.md").read_text()
    assert "none in this study" not in report


def test_bad_settings_are_a_clear_error():
    with pytest.raises(ValueError, match="not a trainer setting"):
        parse_settings(["rl_stepz=3"])
    with pytest.raises(ValueError, match="name=value"):
        parse_settings(["rl_steps"])
