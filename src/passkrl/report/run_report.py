"""Plots and tables of a training run directory (drawn by ``passkrl train`` and ``passkrl report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from passkrl.io import pyplot, save_figure_atomic
from passkrl.metrics import bootstrap_ci, pass_at_k
from passkrl.runs import RunDir
from passkrl.train.training_task import MAZE, training_task


def _pass_keys(record: dict[str, Any]) -> list[str]:
    return sorted((key for key in record if key.startswith("pass@")), key=lambda key: int(key[5:]))


TRAIN_FIELDS = ("step", "reward", "solved", "entropy", "adv_abs_mean", "clip_fraction")
EVAL_FIELDS = ("step", "entropy", "distinct_wrong", "n_mazes", "samples_per_maze")


def _require(run_dir: Path, records: list[dict[str, Any]], chosen: list[dict[str, Any]], fields: tuple[str, ...]) -> None:
    """``ValueError`` naming the file, the line and the field when a record lacks what the plots draw."""
    for record in chosen:
        missing = [name for name in fields if name not in record]
        if missing:
            line = next(i for i, r in enumerate(records, start=1) if r is record)
            raise ValueError(f"{str(RunDir(run_dir).metrics_path)!r} line {line}: a {record.get('kind')} record without "
                             f"{', '.join(missing)}; was it written by passkrl train?")


def draw_run(run_dir: Path) -> list[Path]:
    """Draw ``training.png`` and ``evaluation.png`` from ``metrics.jsonl``; returns their paths."""
    records = RunDir(run_dir).read_metrics()
    if not records:
        raise ValueError(f"{str(run_dir)!r} has no metrics.jsonl records to plot")
    train = [r for r in records if r.get("kind") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    _require(run_dir, records, train, TRAIN_FIELDS)
    _require(run_dir, records, evals, EVAL_FIELDS)
    plt = pyplot()
    paths = []
    if train:
        fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
        steps = [r["step"] for r in train]
        axes[0].plot(steps, [r["reward"] for r in train], label="mean reward")
        axes[0].plot(steps, [r["solved"] for r in train], "--", label="solved (pass@1 of rollouts)")
        axes[0].set(xlabel="RL step", ylabel="training reward", title="training reward")
        axes[0].legend(fontsize=8)
        axes[1].plot(steps, [r["entropy"] for r in train])
        axes[1].set(xlabel="RL step", ylabel="nats / token", title="rollout token entropy")
        axes[2].plot(steps, [r["adv_abs_mean"] for r in train], label="mean |A|")
        axes[2].plot(steps, [r["clip_fraction"] for r in train], label="clip fraction")
        if all("all_right" in r for r in train):  # the regime: groups the pass@1 and pass@k advantages treat apart
            axes[2].plot(steps, [r["all_right"] for r in train], ":", label="all-right groups")
            axes[2].plot(steps, [r["all_wrong"] for r in train], ":", label="all-wrong groups")
        axes[2].set(xlabel="RL step", title="advantages and clipping")
        axes[2].legend(fontsize=8)
        _mark_phases(axes, records)
        fig.suptitle(f"{Path(run_dir).name}: training", y=1.03)
        path = Path(run_dir) / "training.png"
        save_figure_atomic(fig, path)
        paths.append(path)
    if evals:
        fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
        steps = [r["step"] for r in evals]
        keys = _pass_keys(evals[-1])
        for key in keys:
            axes[0].plot(steps, [r.get(key, float("nan")) for r in evals], marker="o", ms=3, label=key)
        axes[0].set(xlabel="RL step (0 = after warm-up)", ylabel="held-out", title="test pass@k", ylim=(0, 1))
        axes[0].legend(fontsize=7, ncol=2)
        axes[1].plot(steps, [r["entropy"] for r in evals], marker="o", ms=3)
        axes[1].set(xlabel="RL step", ylabel="nats / token", title="test token entropy (T=1.0, top-p 0.95)")
        axes[2].plot(steps, [r["distinct_wrong"] for r in evals], marker="o", ms=3)
        axes[2].set(xlabel="RL step", ylabel="per maze", title="distinct wrong answers (Fig. 7a)")
        _mark_phases(axes, records)
        fig.suptitle(f"{Path(run_dir).name}: held-out evaluation ({evals[-1]['n_mazes']} mazes, "
                     f"{evals[-1]['samples_per_maze']} samples each)", y=1.03)
        path = Path(run_dir) / "evaluation.png"
        save_figure_atomic(fig, path)
        paths.append(path)
        ks = [int(key[5:]) for key in keys]
        fig, ax = plt.subplots(figsize=(5.5, 4))
        curves = [(evals[0], f"step {evals[0]['step']} (after warm-up)")]
        start = [r for r in evals if r.get("phase") == "pass1"]
        if start:
            curves.append((start[-1], "step 0 (after the Pass@1 phase)"))
        curves.append((evals[-1], f"step {evals[-1]['step']}"))
        for record, label in curves:
            ax.plot(ks, [record[f"pass@{k}"] for k in ks], marker="o", label=label)
        ax.set_xscale("log", base=2)
        ax.set(xlabel="k", ylabel="pass@k (held-out)", title="pass@k curve before and after RL", ylim=(0, 1))
        ax.legend()
        path = Path(run_dir) / "pass_at_k.png"
        save_figure_atomic(fig, path)
        paths.append(path)
    return paths


def _mark_phases(axes, records: list[dict[str, Any]]) -> None:
    """A vertical line at step 0 where the run had a Pass@1 phase (steps <= 0) before the compared phase."""
    if not any(r.get("phase") == "pass1" for r in records):
        return
    for ax in axes:
        ax.axvline(0, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("step (0: start of the compared phase)")
        ax.annotate("Pass@1 phase  ", xy=(0, 0.97), xycoords=("data", "axes fraction"), ha="right", va="top",
                    fontsize=7, color="grey")
        ax.annotate("  compared phase", xy=(0, 0.97), xycoords=("data", "axes fraction"), ha="left", va="top",
                    fontsize=7, color="grey")


def format_before_after(summary: dict[str, Any]) -> str:
    """The closing table: pass@k after the warm-up and after RL, the change with its 95% interval, and per size."""
    before, after = summary["before"], summary["after"]
    keys = _pass_keys(after)
    width = max(len(key) for key in keys) + 2
    training = training_task(summary.get("task", MAZE.name))  # runs written before --task existed: the maze
    pool = summary.get("eval_pool", "held-out")  # runs written before the test / validation split say "held-out"
    held_out = f"{pool} pool: {training.problems}"
    pass1_steps = summary.get("pass1_steps") or 0
    warm = summary.get("warm_up") if pass1_steps else None
    rows = [("after warm-up", warm)] if warm is not None else []
    rows.append((f"after Pass@1 ({pass1_steps} steps)" if warm is not None else "after warm-up", before))
    estimator = f", {summary['estimator']}" if summary.get("estimator") else ""
    rows.append((f"after RL (step {after['step']}){estimator}", after))
    label_width = max(22, max(len(label) for label, _ in rows) + 1)
    entropy = all("entropy" in record for _, record in rows)
    lines = [f"\n{held_out} ({after['n_mazes']}, {after['samples_per_maze']} samples each, T=1.0, top-p 0.95)",
             f"{'':<{label_width}}" + "".join(f"{key:>{width + 2}}" for key in keys) + (f"{'entropy':>10}" if entropy else "")]
    for label, record in rows:
        lines.append(f"{label:<{label_width}}" + "".join(f"{record.get(key, float('nan')):>{width + 2}.3f}" for key in keys)
                     + (f"{record['entropy']:>10.3f}" if entropy else ""))
    change = change_intervals(before, after)
    if change:
        lines.append(f"{'change':<{label_width}}" + "".join(f"{change[key].mean:>+{width + 2}.3f}" for key in keys))
        start = "the Pass@1-trained start" if warm is not None else "the warm-up"
        lines.append(f"\nchange after RL from {start}, with its 95% interval over the {after['n_mazes']} test items "
                     "(paired bootstrap: the same items before and after):")
        lines += [f"  {key:<9}{c.mean:+.3f}  [{c.low:+.3f}, {c.high:+.3f}]"
                  + ("  (above the start)" if c.low > 0 else "  (below the start)" if c.high < 0 else "")
                  for key, c in change.items()]
    sharpened = change_intervals(warm, before) if warm is not None else {}
    if sharpened:
        lines.append(f"\nchange in the Pass@1 phase (start minus warm-up), 95% interval: "
                     + ", ".join(f"{key} {c.mean:+.3f} [{c.low:+.3f}, {c.high:+.3f}]" for key, c in sharpened.items()
                                 if key in (keys[0], keys[-1])))
    if len(after.get("by_size", {})) > 1:
        first, last = keys[0], keys[-1]
        origin = "after the Pass@1 phase" if warm is not None else "after warm-up"
        lines.append(f"\nby {training.group}: {first} and {last}, {origin} -> after RL")
        for size, record in after["by_size"].items():
            start = before.get("by_size", {}).get(size, {})
            lines.append(f"  {size:<8}{first} {start.get(first, float('nan')):.3f} -> {record[first]:.3f}   "
                         f"{last} {start.get(last, float('nan')):.3f} -> {record[last]:.3f}")
    return "\n".join(lines)


def change_intervals(before: dict[str, Any], after: dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """Per-item paired differences of unbiased pass@k (after - before) with 95% bootstrap intervals over items.

    Empty when the records lack per-item counts or were taken on different items.
    """
    if "correct" not in before or "correct" not in after or len(before["correct"]) != len(after["correct"]) \
            or before.get("samples_per_maze") != after.get("samples_per_maze") or not after["correct"]:
        return {}
    n = after["samples_per_maze"]
    c_before, c_after = np.asarray(before["correct"]), np.asarray(after["correct"])
    out = {}
    for key in _pass_keys(after):
        k = int(key.split("@")[1])
        out[key] = bootstrap_ci(pass_at_k(n, c_after, k) - pass_at_k(n, c_before, k), seed=seed)
    return out
