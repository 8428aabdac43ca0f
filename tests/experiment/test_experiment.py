"""passkrl experiment: a miniature study end to end, resumption, and the statistics behind verdicts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from passkrl.cli import main as passkrl_main
from passkrl.experiment import report as experiment_report
from passkrl.experiment import results, runner
from passkrl.cli.experiment import parse_settings, run_study
from passkrl.experiment.studies import STUDIES, WARM_UP, Claim, get_study, scaled_lr
from passkrl.metrics import pass_at_k
from passkrl.train.config import TrainConfig

TINY = {
    "train_sizes": '"7"', "test_sizes": '"7,9"', "n_train_problems": 200, "n_test_problems": 3,
    "d_model": 32, "n_layers": 1, "n_heads": 2, "warmup_steps": 40, "warmup_batch_size": 32, "pass1_steps": 2,
    "rl_steps": 4, "n_prompts": 4, "n_rollouts": 8, "eval_every": 2, "eval_samples": 4, "checkpoint_every": 2,
}


def _tiny_args(out: Path) -> list[str]:
    args = ["experiment", "diagnostic", "--out", str(out), "--seeds", "1", "--replicates", "2"]
    for name, value in TINY.items():
        args += ["--set", f"{name}={value}"]
    return args


NUMBER = r"(-?\d+\.\d+) \[(-?\d+\.\d+), (-?\d+\.\d+)\]"


def test_miniature_study_end_to_end_report_matches_results_json(tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "exp"
    assert passkrl_main(_tiny_args(out)) == 0
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
    assert passkrl_main(_tiny_args(out)) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert json.loads((study_dir / "results.json").read_text())["arms"] == numbers["arms"]

    # a rebuilt report keeps the commit its runs were trained at
    stored = json.loads((study_dir / "results.json").read_text())
    stored["commit"] = "0123abc"
    (study_dir / "results.json").write_text(json.dumps(stored))
    assert passkrl_main([*_tiny_args(out), "--report-only"]) == 0
    rebuilt = (study_dir / "report.md").read_text()
    assert "at commit `0123abc`" in rebuilt and "--report-only" not in rebuilt
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_partly_finished_study_trains_only_the_missing_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    study = get_study("transfer")
    settings = parse_settings([f"{k}={v}" for k, v in TINY.items()])
    specs = runner.plan(study, 1, quick=False, out=tmp_path, base=settings)
    runner.execute(specs[:1], jobs=1, log=lambda _: None)
    assert specs[0].finished and not specs[1].finished
    done = []
    runner.execute(specs, jobs=1, log=lambda _: None, on_done=lambda spec, _: done.append(spec.arm.label))
    assert done == ["pass@k then pass@1"]
    # the schedule switches objective halfway: k = 8 for steps 1-2, then k = 1
    records = [json.loads(line) for line in (specs[1].run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["k"] for r in records if r["kind"] == "train" and r.get("phase") != "pass1"] == [8, 8, 1, 1]


def test_timing_line_says_when_every_run_was_reused():
    arms = [{"train_seconds": [60.0, 120.0]}, {"train_seconds": [180.0, None]}]
    line = experiment_report.timing_line({"arms": arms})
    assert "none in this study" in line and "reused" in line
    assert "4 runs, 6.0 min of training summed over runs" in line
    timed = experiment_report.timing_line({"arms": arms, "timing": {"total_s": 900.0, "warmup_s": 300.0, "train_s": 600.0,
                                                         "processes": 2, "threads": 1}})
    assert timed.startswith("Measured time on this machine: 15.0 min in total (5.0 min warm-up, 10.0 min RL runs")


def test_report_only_needs_finished_runs(tmp_path):
    with pytest.raises(ValueError, match="unfinished runs"):
        run_study("main", seeds=1, quick=True, out=tmp_path, jobs=1, settings={}, report_only=True)


def test_every_study_plans_valid_configs_with_paired_arms():
    for study in STUDIES.values():
        specs = runner.plan(study, 2, quick=True, out=Path("/tmp/none"), replicates=2)
        assert len(specs) == 4 * len(study.arms)
        assert len({s.run_dir for s in specs}) == len(specs)
        assert {s.unit for s in specs} == {(0, 0), (0, 1), (1, 0), (1, 1)}
        assert all((s.config.seed, s.config.rl_seed) == s.unit for s in specs)
        labels = {arm.label for arm in study.arms}
        for claim in study.claims:
            assert {claim.better, claim.worse} <= labels | {WARM_UP}, (study.name, claim.text)
    # shared arms give the same run directory in different studies
    main = {s.arm.label: s.run_dir for s in runner.plan(get_study("main"), 1, quick=True, out=Path("/x"))}
    expl = {s.arm.label: s.run_dir for s in runner.plan(get_study("exploration"), 1, quick=True, out=Path("/x"))}
    assert main["pass@1"] == expl["pass@1"] and main["pass@k analytic"] == expl["pass@k analytic"]
    # equal settings under another label are one run too
    k_study = {s.arm.label: s.run_dir for s in runner.plan(get_study("k"), 1, quick=True, out=Path("/x"))}
    assert k_study["k=8"] == main["pass@k analytic"]


def test_a_studys_own_settings_come_before_set_quick_and_the_arm():
    main = get_study("main")
    assert main.settings == {"n_test_problems": 512, "eval_samples": 64}
    full = runner.plan(main, 1, quick=False, out=Path("/x"))
    assert {s.config.n_test_problems for s in full} == {512}
    assert {s.config.n_test_problems for s in runner.plan(main, 1, quick=True, out=Path("/x"))} == {32}
    explicit = runner.plan(main, 1, quick=False, out=Path("/x"), base={"n_test_problems": 64})
    assert {s.config.n_test_problems for s in explicit} == {64}
    # the larger pool is another run: the other studies' pass@1 arm is not silently reused for it
    expl = {s.arm.label: s.run_dir for s in runner.plan(get_study("exploration"), 1, quick=False, out=Path("/x"))}
    assert {s.arm.label: s.run_dir for s in full}["pass@1"] != expl["pass@1"]


def test_scaled_lr_follows_the_eta_ratio():
    assert scaled_lr(2) == pytest.approx(TrainConfig.lr)
    assert scaled_lr(8) > scaled_lr(4) > TrainConfig.lr
    assert scaled_lr(2, n=16, base_lr=5e-5) == pytest.approx(5e-5)


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown study 'mian'"):
        get_study("mian")
    with pytest.raises(ValueError, match="not a trainer setting"):
        parse_settings(["rl_stepz=3"])
    with pytest.raises(ValueError, match="name=value"):
        parse_settings(["rl_steps"])
    with pytest.raises(ValueError, match="--seeds must be at least 1"):
        runner.plan(get_study("main"), 0, quick=True, out=tmp_path)
    with pytest.raises(ValueError, match="--replicates must be at least 1"):
        runner.plan(get_study("main"), 1, quick=True, out=tmp_path, replicates=0)
    with pytest.raises(ValueError, match="--jobs must be at least 1"):
        runner.choose_jobs(0, 3)


def test_paired_differences_intervals_and_verdicts():
    rng = np.random.default_rng(0)
    better = [rng.random(40) * 0.2 + 0.5 for _ in range(3)]
    worse = [b - 0.1 for b in better]
    seeds = [0, 1, 2]
    diff = results.paired_difference(better, worse, seeds)
    assert diff["mean"] == pytest.approx(0.1)
    assert diff["low"] == pytest.approx(0.1) and diff["high"] == pytest.approx(0.1)  # paired: no noise at all
    noisy = results.paired_difference(better, [rng.random(40) * 0.2 + 0.5 for _ in range(3)], seeds)
    assert noisy["low"] < noisy["mean"] < noisy["high"]
    claims = [{"difference": diff, "null": 0.0}, {"difference": noisy, "null": 0.0},
              {"difference": results.paired_difference(worse, better, seeds), "null": 0.0}]
    results.adjust(claims)
    assert [c["verdict"] for c in claims] == ["reproduced", "inconclusive", "not reproduced"]
    for claim in claims:  # the adjusted interval is at least as wide as the unadjusted one
        assert claim["holm"]["low"] <= claim["difference"]["low"] + 1e-12
        assert claim["holm"]["p"] >= claim["difference"]["p"]
    summary = results.summarise(better, seeds)
    assert summary["low"] <= summary["mean"] <= summary["high"]
    assert results.summarise([np.array([])], [0])["mean"] is None
    with pytest.raises(ValueError, match="same number of replicates"):
        results.summarise(better, [0, 0, 1])


def test_holm_can_turn_a_claim_inconclusive_and_margins_decide_non_inferiority():
    """Two claims each just significant alone beside a strong one: Holm keeps the strong one and turns
    the two inconclusive; a small loss within the margin is non-inferior, a larger one is not."""
    rng = np.random.default_rng(5)
    maze = rng.normal(0, 0.1, 300)
    runs = [0.0, 0.004, -0.004, 0.002, -0.002, 0.0]  # [W=3, R=2] run effects
    seeds = [0, 0, 1, 1, 2, 2]

    def claim(shift: float, margin: float | None = None) -> dict:
        null = -margin if margin is not None else 0.0
        return {"difference": results.paired_difference([maze + r + shift for r in runs], [maze] * 6, seeds, null=null),
                "null": null}

    # warm-up means of the run effects: 0.002, -0.001, -0.001, so se = 0.001 with 2 degrees of freedom
    strong, weak, weaker = claim(0.05), claim(0.0055), claim(0.005)
    assert strong["difference"]["p"] < 0.001
    assert weak["difference"]["p"] == pytest.approx(0.0315, abs=5e-4)  # t = 5.5
    assert weaker["difference"]["p"] == pytest.approx(0.0377, abs=5e-4)  # t = 5
    family = [strong, weak, weaker]
    results.adjust(family)
    assert [c["verdict_unadjusted"] for c in family] == ["reproduced"] * 3
    assert [c["verdict"] for c in family] == ["reproduced", "inconclusive", "inconclusive"]
    assert family[0]["holm"]["low"] > 0 and family[1]["holm"]["low"] < 0 and family[2]["holm"]["low"] < 0
    assert [c["holm"]["level"] for c in family] == pytest.approx([1 - 0.05 / 3, 1 - 0.05 / 2, 1 - 0.05 / 2])
    within, beyond = claim(-0.004, margin=0.03), claim(-0.06, margin=0.01)
    results.adjust([within, beyond])
    assert within["verdict"] == "reproduced" and beyond["verdict"] == "not reproduced"


def test_a_study_killed_after_its_runs_still_counts_their_time(tmp_path, monkeypatch):
    from passkrl.cli import experiment as experiment_cli

    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    real_execute = runner.execute

    def execute_then_die(*args, **kwargs):
        real_execute(*args, **kwargs)
        raise KeyboardInterrupt  # the study process is stopped before it writes anything more

    monkeypatch.setattr(experiment_cli.runner, "execute", execute_then_die)
    with pytest.raises(KeyboardInterrupt):
        experiment_cli.main(_tiny_args(tmp_path / "exp")[1:])
    monkeypatch.setattr(experiment_cli.runner, "execute", real_execute)
    assert passkrl_main(_tiny_args(tmp_path / "exp")) == 0
    timing = json.loads((tmp_path / "exp" / "diagnostic" / "timing.json").read_text())
    assert timing["warmup_s"] > 0 and timing["train_s"] > 0 and "processes" in timing
    report = (tmp_path / "exp" / "diagnostic" / "report.md").read_text()
    assert "none in this study" not in report


def test_every_claim_names_where_it_is_made_and_every_study_a_primary_claim():
    """A claim's source is a section, figure or table of the paper, Yu's note, or says that the paper
    does not make it; the claim the paper's own words contradict is stated as the paper states it."""
    pattern = re.compile(r"§\d|Fig\. \d|Tables? \d|Yu's note|not in the paper")
    for study in STUDIES.values():
        assert study.claims and 0 <= study.primary < len(study.claims)
        for claim in study.claims:
            assert pattern.search(claim.source), (study.name, claim.text, claim.source)
            assert "Fig. 1," not in claim.source and claim.source != "Fig. 1"  # an Enigmata plot
            if claim.margin is not None:
                assert 0 < claim.margin < 0.1
    main = get_study("main")
    stable = next(c for c in main.claims if "stays stable" in c.text)
    assert (stable.better, stable.worse, stable.margin) == ("pass@1", WARM_UP, 0.01)  # §2.2: "remains stable"
    assert main.claims[main.primary].sizes == "trained"
    with pytest.raises(ValueError, match="primary claim 3 is not one of its 1 claims"):
        type(main)(name="x", title="x", question="x", arms=main.arms, claims=main.claims[:1], primary=3)


def test_the_report_says_where_each_arms_pass_at_k_curve_crosses_its_start():
    from passkrl.experiment.report import crossing_lines

    def arm(label, final, before):
        return {"label": label, "pass_at_every_k": {"final": [{"mean": m} for m in final],
                                                    "before": [{"mean": m} for m in before]}}

    lines = crossing_lines({"arms": [arm("pass@1", (0.3, 0.4, 0.45, 0.5), (0.2, 0.35, 0.5, 0.6)),
                                     arm("pass@k", (0.3, 0.5, 0.6, 0.7), (0.2, 0.35, 0.5, 0.6))]})
    assert lines == ["- pass@1: above its start at k = 1-2, below at k = 3-4 (pass@4: -0.100; means, see the plot "
                     "for intervals)",
                     "- pass@k: above its start at every k (pass@4: +0.100; means, see the plot for intervals)"]
