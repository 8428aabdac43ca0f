"""passkrl experiment's own options: --set values typed as a user types them, and sizes refused before
anything exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from passkrl.cli import main
from passkrl.cli.experiment import RUN_CONTROL, parse_settings
from passkrl.experiment import runner
from passkrl.experiment.studies import get_study


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
