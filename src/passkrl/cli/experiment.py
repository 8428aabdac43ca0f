"""``passkrl experiment``: run a named study and write its report.

    passkrl experiment --list
    passkrl experiment main --quick --out runs/experiments       # under 15 minutes on 2 cores
    passkrl experiment main --out runs/experiments               # the full study (5 warm-ups x 1 RL replicate)
    passkrl experiment main --seeds 3 --replicates 2 --out runs/experiments   # 3 warm-ups x 2 replicates
    passkrl experiment main --out runs/experiments --report-only # rebuild the report from finished runs
    passkrl experiment main --ray                                 # every run a Ray task (local instance, or `ray start`'s)
    passkrl experiment main --ray HEAD:6379 --out /shared/exp     # on a cluster whose nodes share /shared
    passkrl experiment main --ray HEAD:6379 --ray-ship            # no shared filesystem: runs come back to this machine

Each study writes ``OUT/<study>/report.md``, ``results.json`` and PNG plots; ``OUT/README.md``
gathers the claim tables of every study reported in ``OUT``. Runs live in ``OUT/runs`` and are
shared by studies with the same arm settings; rerunning a command skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from passkrl.experiment import extras, ray_executor, report, results, runner
from passkrl.experiment.studies import (
    QUICK_OVERRIDES,
    QUICK_REPLICATES,
    QUICK_SEEDS,
    REPLICATES,
    SEEDS,
    STUDIES,
    get_study,
)
from passkrl.io import check_output_dir, write_json_atomic, write_text_atomic
from passkrl.runs import directory_lock
from passkrl.train.config import TrainConfig, field_name


RUN_CONTROL = ("out", "resume", "progress", "smoke", "stop_after", "threads")
"""Trainer options the study chooses for each of its runs (where it lives, its threads, how it is driven)."""


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``--set name=value`` pairs as typed TrainConfig overrides (values parsed as JSON, else strings).

    A text setting takes the text as typed (``estimator_params={"base": "grpo"}``), a path setting a path.
    """
    fields = TrainConfig.__dataclass_fields__
    settings: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = field_name(name.strip().replace("-", "_"))  # a former name (n_test_mazes) names today's field
        if not sep or not name:
            raise ValueError(f"--set expects name=value, got {item!r}")
        if name not in fields:
            raise ValueError(f"--set {name}: not a trainer setting (see passkrl train --help)")
        if name in RUN_CONTROL:
            raise ValueError(f"--set {name}: chosen by the study for each of its runs, not a setting it compares "
                             "(see --out and --jobs)")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        kind = str(fields[name].type)
        if kind in ("str", "str | None") and value is not None and not isinstance(value, str):
            value = raw  # JSON text for a text setting (estimator_params, task_options): the text itself
        elif kind == "Path | None" and value is not None:
            value = Path(raw)
        settings[name] = value
    return settings


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passkrl experiment",
        description="Reproduce the paper's findings at laptop scale: run a study, write report.md and results.json.",
    )
    parser.add_argument("study", nargs="?", help="study name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the studies and exit")
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"warm-up seeds per arm (default {SEEDS}; --quick: {QUICK_SEEDS})")
    parser.add_argument("--replicates", type=int, default=None,
                        help=f"RL replicates per warm-up seed (default {REPLICATES}; --quick: {QUICK_REPLICATES})")
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs: " + ", ".join(f"{k}={v}" for k, v in QUICK_OVERRIDES.items()))
    parser.add_argument("--out", type=Path, default=Path("runs/experiments"), help="output directory")
    parser.add_argument("--jobs", type=int, default=None, help="parallel processes (default: one per core)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change a trainer setting in every arm, e.g. --set rl_steps=40 (repeatable)")
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report from finished runs")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run every warm-up and run as a Ray task of one CPU: on the cluster at ADDRESS (auto, "
                             "HOST:PORT, ray://HOST:PORT), or with no value the one `ray start` runs on this machine, "
                             "else a local instance; workers write --out directly, so it must be on a filesystem "
                             "every node shares (docs/experiments.md)")
    parser.add_argument("--ray-ship", action="store_true",
                        help="with --ray, for workers that do not see --out: each run trains in a scratch directory "
                             "on its node and its files are sent back here")
    return parser


def list_studies() -> str:
    lines = []
    for study in STUDIES.values():
        arms = ", ".join(arm.label for arm in study.arms)
        lines.append(f"{study.name:<12} {study.title}\n{'':<12} arms: {arms}")
        if study.settings:
            lines.append(f"{'':<12} every arm: " + ", ".join(f"{k}={v}" for k, v in study.settings.items()))
        if study.claims:
            primary = study.claims[study.primary]
            lines.append(f"{'':<12} primary claim: {primary.text} ({primary.source}); "
                         f"{len(study.claims)} claims, Holm-adjusted")
    return "\n".join(lines)


def run_study(name: str, *, seeds: int | None, quick: bool, out: Path, jobs: int | None,
              settings: dict[str, Any], report_only: bool = False, command: str | None = None,
              replicates: int | None = None, ray: bool = False, ray_address: str | None = None,
              ray_ship: bool = False) -> Path:
    """Run (or only report) study ``name`` in ``out``, holding ``out``'s lock throughout.

    ``ray``: run the warm-ups and runs as tasks on the Ray cluster at ``ray_address``
    (:func:`passkrl.experiment.ray_executor.connect`); ``ray_ship``: send each run's files back here.
    """
    study = get_study(name)
    # Every check before anything is created: a refusal leaves no directory, lock or file behind.
    if ray_ship and not ray:
        raise ValueError("--ray-ship needs --ray")
    if ray and jobs is not None:
        raise ValueError("--jobs does not apply with --ray: Ray runs one task per CPU of the cluster")
    runner.choose_jobs(jobs, 1)
    check_output_dir(out, "--out")
    check_settings(study, settings)
    n_seeds = seeds if seeds is not None else (QUICK_SEEDS if quick else SEEDS)
    n_replicates = replicates if replicates is not None else (QUICK_REPLICATES if quick else REPLICATES)
    specs = runner.plan(study, n_seeds, quick=quick, out=out, base=settings, replicates=n_replicates)
    if report_only:
        _check_finished(study, specs)
    # Connected last, so that a bad study or setting never waits for Ray; an unreachable cluster is still
    # refused before the experiment directory exists.
    cluster = ray_executor.connect(ray_address) if ray and not report_only else None
    try:
        with directory_lock(out, "experiment directory"):
            return _run_study(study, specs, quick=quick, out=out, jobs=jobs, report_only=report_only,
                              command=command, cluster=cluster, ship=ray_ship)
    finally:
        if cluster is not None:
            cluster.close()


def check_settings(study: Any, settings: dict[str, Any]) -> None:
    """Each ``--set`` value on its own, in the study's settings, as the trainer would check it.

    An arm or ``--quick`` that sets the same field replaces the value for its runs; a value must be
    valid even so, so that a typo never waits for the one arm that uses it.
    """
    for name, value in settings.items():
        try:
            TrainConfig(**{**study.settings, name: value}).validate()
        except (ValueError, TypeError) as err:
            shown = value if isinstance(value, (str, Path)) else json.dumps(value)
            raise ValueError(f"--set {name}={shown}: {err}") from None


def _check_finished(study: Any, specs: list) -> None:
    unfinished = [spec.run_dir.name for spec in specs if not spec.finished]
    if unfinished:
        raise ValueError(f"study {study.name!r} has unfinished runs ({', '.join(unfinished[:3])} ...); "
                         "run it without --report-only first")


def _run_study(study: Any, specs: list, *, quick: bool, out: Path, jobs: int | None, report_only: bool,
               command: str | None, cluster: ray_executor.Cluster | None = None, ship: bool = False) -> Path:
    study_dir = out / study.name
    study_dir.mkdir(parents=True, exist_ok=True)
    timing_path = study_dir / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {"warmup_s": 0.0, "train_s": 0.0}

    if not report_only:
        from tqdm import tqdm

        started = time.perf_counter()
        pending = sum(not spec.finished for spec in specs)
        if cluster is None:
            processes, threads = runner.choose_jobs(jobs, pending)
        else:  # one single-threaded task per CPU of the cluster
            processes, threads = max(1, min(cluster.cpus, pending)), 1
        # The study's time is written as it is spent (after the warm-ups, after every run), so that a study
        # killed at any point and run again still counts what it had done.
        spent_before = dict(timing)
        phase = {"train_started": None}

        def record(warmup_s: float = 0.0) -> None:
            nonlocal timing
            train_s = 0.0 if phase["train_started"] is None else time.perf_counter() - phase["train_started"]
            timing = {"warmup_s": spent_before["warmup_s"] + warmup_s, "train_s": spent_before["train_s"] + train_s,
                      "processes": processes, "threads": threads}
            write_json_atomic(timing_path, timing)

        def warmups_done(seconds: float) -> None:
            spent_before["warmup_s"] += seconds
            phase["train_started"] = time.perf_counter()
            record()

        def run_done(spec: Any, seconds: float) -> None:
            bar.update(1)
            bar.set_postfix_str(f"{spec.arm.label} s{spec.seed}")
            record()

        with tqdm(total=len(specs), initial=len(specs) - pending, desc=f"{study.name}: runs", unit="run") as bar:
            if cluster is None:
                runner.execute(specs, jobs=jobs, log=tqdm.write, on_done=run_done, on_warmups_done=warmups_done)
            else:
                ray_executor.execute(specs, ship=ship, log=tqdm.write, on_done=run_done,
                                     on_warmups_done=warmups_done)
        print(f"{study.name}: runs done in {(time.perf_counter() - started) / 60:.1f} min")

    _check_finished(study, specs)
    numbers = results.collect(study, specs)
    numbers["quick"] = quick
    previous_path = study_dir / "results.json"
    previous = results.read_results(previous_path) if report_only and previous_path.exists() else {}
    # A rebuilt report keeps the command and commit its runs were trained with; training records its own.
    numbers["commit"] = previous.get("commit") or _commit()
    numbers["command"] = previous.get("command") or command or f"passkrl experiment {study.name}"
    if "processes" in timing:
        numbers["timing"] = {**timing, "total_s": timing["warmup_s"] + timing["train_s"]}
    numbers["extras"] = {}
    if "estimator_variance" in study.extras:
        numbers["extras"]["estimator_variance"] = extras.estimator_variance()
        numbers["extras"]["estimator_cost"] = extras.estimator_cost()
    if "tabular_diagnostic" in study.extras:
        numbers["extras"]["tabular_diagnostic"] = extras.tabular_diagnostic()
    write_json_atomic(study_dir / "results.json", numbers)
    path = report.write_report(numbers, study_dir)
    write_index(out)
    return path


def write_index(out: Path) -> Path:
    """``OUT/README.md``: the claim table of every study reported in ``OUT``."""
    lines = ["# passkrl experiments", "",
             ("Claims of Chen et al., \"Pass@k Training for Adaptively Balancing Exploration and Exploitation of "
              "Large Reasoning Models\" (arXiv 2508.10751), of its ICLR 2026 reviews, and of Yang Yu's note "
              "\"Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective\", tested at laptop "
              "scale. Each study's report has the setup, the intervals, the cost and the plots."), ""]
    for name in STUDIES:
        path = out / name / "results.json"
        if not path.exists():
            continue
        numbers = results.read_results(path)
        mode = "quick" if numbers.get("quick") else "full"
        commit = f" at commit `{numbers['commit']}`" if numbers.get("commit") else ""
        timing = numbers.get("timing")
        spent = f"; {timing['total_s'] / 60:.1f} min on this machine" if timing else "; every run reused from another study"
        lines += [f"## [{numbers['title']}]({name}/report.md)", "",
                  f"{report.seeds_phrase(numbers)}, {numbers['rl_steps']} RL steps ({mode}); "
                  f"`{numbers['command']}`{commit}{spent}", ""]
        lines += report.claims_table(numbers) + [""]
    path = out / "README.md"
    write_text_atomic(path, "\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        if args.study:
            raise ValueError(f"--list takes no study name (got {args.study!r}); run passkrl experiment --list")
        print(list_studies())
        return 0
    if not args.study:
        if args.ray in STUDIES:  # `--ray main`: argparse took the study for the address
            parser.error(f"--ray took {args.ray!r} as its ADDRESS: put the study first (passkrl experiment "
                         f"{args.ray} --ray)")
        parser.error("name a study (passkrl experiment --list shows them)")
    settings = parse_settings(args.set)
    command = "passkrl experiment " + " ".join(argv if argv is not None else sys.argv[2:])
    path = run_study(args.study, seeds=args.seeds, quick=args.quick, out=args.out, jobs=args.jobs,
                     settings=settings, report_only=args.report_only, command=command, replicates=args.replicates,
                     ray=args.ray is not None, ray_address=args.ray or None, ray_ship=args.ray_ship)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
