"""``report.md`` and PNG plots of a study, written from its ``results.json`` alone.

Every number in the report is formatted from ``results.json`` by :func:`fmt`, so the two always
agree (a test checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from passkrl.io import write_text_atomic
from passkrl.report.plotting import log2_k_axis, plot_with_band, save_png

METRIC_NAMES = {
    "pass@1": "pass@1",
    "pass@k": "pass@k",
    "gap": "pass@k - pass@1",
    "alpha_k": "alpha_k = k (1 - p)^(k-1)",
    "entropy": "mean token entropy (nats)",
    "distinct_wrong": "distinct wrong answers per maze",
}


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def interval(summary: dict[str, Any], digits: int = 3) -> str:
    if summary["mean"] is None:
        return "n/a"
    if summary["low"] is None:
        return f"{fmt(summary['mean'], digits)} (one run: no interval)"
    return f"{fmt(summary['mean'], digits)} [{fmt(summary['low'], digits)}, {fmt(summary['high'], digits)}]"


def _metric_label(metric: str, results: dict[str, Any]) -> str:
    k = results["k_of_pass_at_k"]
    label = METRIC_NAMES.get(metric, metric).replace("pass@k", f"pass@{k}")
    return label.replace("alpha_k = k (1 - p)^(k-1)", f"alpha_{k} = {k} (1 - p)^{k - 1}")


def seeds_phrase(results: dict[str, Any]) -> str:
    """``"5 runs per arm: RL replicates 0-4 of warm-up seed 0"``, say."""
    seeds, replicates = results["seeds"], results.get("replicates", 1)
    n = len(seeds) * replicates
    if replicates == 1:
        return f"{n} runs per arm: warm-up seeds {', '.join(map(str, seeds))}"
    which = "warm-up seed" if len(seeds) == 1 else "each of warm-up seeds"
    return f"{n} runs per arm: RL replicates 0-{replicates - 1} of {which} {', '.join(map(str, seeds))}"


def _test(claim: dict[str, Any]) -> str:
    margin = claim.get("margin")
    return f"non-inferiority, > -{margin:g}" if margin is not None else "> 0"


def _holm_cell(claim: dict[str, Any]) -> str:
    holm = claim.get("holm")
    if not holm:
        return "n/a"
    return f"[{fmt(holm['low'])}, {fmt(holm['high'])}] ({100 * holm['level']:.1f}%), p = {holm['p']:.3g}"


def claims_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| claim | paper | our result: better - worse, mean [95% CI] | test | verdict | "
        "Holm-adjusted interval (level), p | verdict, Holm |",
        "|---|---|---|---|---|---|---|",
    ]
    for claim in results["claims"]:
        metric = _metric_label(claim["metric"], results)
        where = {"all": "all test sizes", "trained": "trained sizes", "unseen": "unseen sizes"}[claim["sizes"]]
        result = f"{claim['better']} - {claim['worse']}, {metric} ({where}): {interval(claim['difference'])}"
        text = f"**primary:** {claim['text']}" if claim.get("primary") else claim["text"]
        lines.append(f"| {text} | {claim['source']} | {result} | {_test(claim)} | "
                     f"{claim.get('verdict_unadjusted', claim['verdict'])} | {_holm_cell(claim)} | **{claim['verdict']}** |")
    return lines


def per_warmup_table(results: dict[str, Any]) -> list[str]:
    """Each claim's difference on every warm-up (mean over its replicates) beside the pooled one."""
    seeds = results["seeds"]
    if len(seeds) < 2:
        return []
    lines = ["| claim | " + " | ".join(f"warm-up {s}" for s in seeds) + " | pooled [95% CI] |",
             "|---|" + "---|" * (len(seeds) + 1)]
    for claim in results["claims"]:
        per = claim["difference"].get("per_warmup") or []
        cells = [fmt(v) for v in per] if per else ["n/a"] * len(seeds)
        lines.append(f"| {claim['text']} | " + " | ".join(cells) + f" | {interval(claim['difference'])} |")
    for arm in results["arms"]:
        for metric in ("pass@1/all", "pass@k/all"):
            summary = arm["final"][metric]
            per = summary.get("per_warmup") or []
            label = _metric_label(metric.split("/")[0], results)
            cells = [fmt(v) for v in per] if per else ["n/a"] * len(seeds)
            lines.append(f"| arm {arm['label']}, test {label} | " + " | ".join(cells) + f" | {interval(summary)} |")
    return lines


def every_k_table(results: dict[str, Any]) -> list[str]:
    """pass@k for every k from 1 to the samples per maze: the warm-up and every arm at the end (means)."""
    arms = [arm for arm in results["arms"] if "pass_at_every_k" in arm]
    if not arms:
        return []
    n = len(arms[0]["pass_at_every_k"]["final"])
    # every k up to 16; beyond that the powers of two and n (the plot has every k)
    ks = [k for k in range(1, n + 1) if k <= 16 or k & (k - 1) == 0 or k == n]
    lines = ["| arm | " + " | ".join(f"pass@{k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
    for label, points in _start_series(results, arms[0]["pass_at_every_k"]):
        lines.append(f"| ({label}) | " + " | ".join(fmt(points[k - 1]["mean"]) for k in ks) + " |")
    for arm in arms:
        lines.append(f"| {arm['label']} | " + " | ".join(fmt(arm["pass_at_every_k"]["final"][k - 1]["mean"]) for k in ks)
                     + " |")
    return lines


def crossing_lines(results: dict[str, Any]) -> list[str]:
    """Where each arm's final pass@k curve crosses its start's (means): the ks at which it ends above and below."""
    lines = []
    for arm in results["arms"]:
        curves = arm.get("pass_at_every_k")
        if not curves:
            continue
        change = [f["mean"] - b["mean"] for f, b in zip(curves["final"], curves["before"], strict=True)]
        below = [k for k, d in enumerate(change, start=1) if d < 0]
        above = [k for k, d in enumerate(change, start=1) if d > 0]
        n = len(change)
        where = ("above its start at every k" if not below else "below its start at every k" if not above else
                 f"above its start at k = {_ranges(above)}, below at k = {_ranges(below)}")
        lines.append(f"- {arm['label']}: {where} (pass@{n}: {change[-1]:+.3f}; means, see the plot for intervals)")
    return lines


def _ranges(ks: list[int]) -> str:
    """``[1, 2, 3, 7, 8]`` -> ``"1-3, 7-8"``."""
    parts, start = [], ks[0]
    for previous, k in zip(ks, ks[1:] + [None]):
        if k != previous + 1:
            parts.append(f"{start}" if start == previous else f"{start}-{previous}")
            start = k
    return ", ".join(parts)


def _start_series(results: dict[str, Any], by_point: dict[str, Any]) -> list[tuple[str, Any]]:
    """The shared starting points of every arm: after the warm-up, and after the Pass@1 phase where there was one."""
    if results.get("pass1_steps") and "warm_up" in by_point:
        return [("after the warm-up", by_point["warm_up"]),
                (f"after the Pass@1 phase, {results['pass1_steps']} steps: the start", by_point["before"])]
    return [("warm-up, before RL", by_point["before"])]


def statistics_line(results: dict[str, Any]) -> str:
    """What the intervals cover, in one paragraph."""
    if "statistics" not in results:  # a study reported before the crossed intervals
        return (f"Intervals: 95% percentile bootstrap over replicates and test mazes ({results.get('n_bootstrap')} "
                "resamples); no multiplicity adjustment.")
    warmups = len(results["seeds"]) > 1
    cover = ("the variation between warm-ups, RL replicates within them and the test mazes" if warmups else
             "RL replicates and test mazes, **not** the variation between warm-ups (one warm-up seed)")
    return (f"Intervals: 95%, crossed random-effects model with a t reference for each part (warm-up means with "
            f"{len(results['seeds']) - 1 if warmups else results.get('replicates', 1) - 1} degrees of freedom, test "
            f"mazes with their own; docs/experiments.md, \"Statistics\"); they cover {cover}. Every claim is a "
            f"test against 0 (or against -margin for non-inferiority); the study's claims are adjusted together "
            f"by Holm's procedure, and the verdict in bold is the adjusted one.")


def arms_table(results: dict[str, Any]) -> list[str]:
    k = results["k_of_pass_at_k"]
    lines = [
        f"| arm | pass@1 | pass@{k} | pass@1 unseen | pass@{k} unseen | entropy | distinct wrong |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, before in _start_series(results, results["arms"][0]):
        lines.append(
            f"| ({label}) | {interval(before['pass@1/all'])} | {interval(before['pass@k/all'])} | "
            f"{interval(before['pass@1/unseen'])} | {interval(before['pass@k/unseen'])} | "
            f"{interval(before['entropy/all'])} | {interval(before['distinct_wrong/all'], 2)} |"
        )
    for arm in results["arms"]:
        final = arm["final"]
        lines.append(
            f"| {arm['label']} | {interval(final['pass@1/all'])} | {interval(final['pass@k/all'])} | "
            f"{interval(final['pass@1/unseen'])} | {interval(final['pass@k/unseen'])} | "
            f"{interval(final['entropy/all'])} | {interval(final['distinct_wrong/all'], 2)} |"
        )
    return lines


def curve_table(results: dict[str, Any], metric: str) -> list[str]:
    """One row per arm: the test metric at every evaluated RL step, mean [95% CI] over runs."""
    by_arm = results["curves"][metric]
    steps = next(iter(by_arm.values()))["steps"]
    lines = ["| arm | " + " | ".join(f"step {step}" for step in steps) + " |", "|---|" + "---|" * len(steps)]
    for label, curve in by_arm.items():
        cells = [interval({"mean": m, "low": lo, "high": hi})
                 for m, lo, hi in zip(curve["mean"], curve["low"], curve["high"], strict=True)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def cost_table(results: dict[str, Any]) -> list[str]:
    lines = ["| arm | what it is | step (ms) | advantage (ms) | share | train time per run (s) |",
             "|---|---|---|---|---|---|"]
    for arm in results["arms"]:
        step = arm["step_ms"]
        seconds = [s for s in arm["train_seconds"] if s is not None]
        run_time = fmt(sum(seconds) / len(seconds), 0) if seconds else "n/a"
        share = 100 * step["advantage"] / step["total"]
        lines.append(
            f"| {arm['label']} | {arm['note']} | {fmt(step['total'], 0)} | {fmt(step['advantage'], 2)} | "
            f"{fmt(share, 2)}% | {run_time} |"
        )
    return lines


def _extras(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    extras = results.get("extras", {})
    if "estimator_variance" in extras:
        var = extras["estimator_variance"]
        lines += [
            "", (f"### Scatter around the exact analytic advantages (n = {var['n']}, k = {var['k']}, "
            f"{var['draws']} draws)"), "",
            ("Mean over correct counts c and responses of |E[A] - A_analytic| (bias) and of the standard "
            "deviation across draws (sd). pkpo_loo1 estimates a different quantity (the max@k gradient "
            "weights), so its bias is a difference of definitions, not an error."), "",
            "| estimator | bias | sd |", "|---|---|---|",
        ]
        for name, row in var["estimators"].items():
            lines.append(f"| {name} | {fmt(row['mean_bias'], 4)} | {fmt(row['mean_sd'], 4)} |")
    if "estimator_cost" in extras:
        cost = extras["estimator_cost"]
        shapes = [f"[{p} x {n}]" for p, n in cost["shapes"]]
        lines += ["", f"### Cost per call (median of {cost['repeats']}, ms, k = {cost['k']})", "",
                  "| estimator | " + " | ".join(shapes) + " |", "|---|" + "---|" * len(shapes)]
        for name, values in cost["ms"].items():
            lines.append(f"| {name} | " + " | ".join(fmt(v, 3) for v in values) + " |")
    if "tabular_diagnostic" in extras:
        tab = extras["tabular_diagnostic"]
        lines += [
            "", (f"### Exact expected gradients of a tabular policy (3 answers, 1 correct, n = {tab['n']}, "
            f"k = {tab['k']})"), "",
            ("E[g] = c grad pass@1, with c computed by enumerating every answer tuple. The unbiased pass@k "
            "estimator (pkpo) has c = alpha_k exactly (largest |c - alpha_k|: "
            f"{tab['max_abs_pkpo_minus_alpha_k']:.1e}; largest relative residual off the grad pass@1 "
            f"direction: {tab['max_relative_residual']:.1e})."), "",
            "| pass@1 | alpha_k | " + " | ".join(f"c ({name})" for name in tab["estimators"]) + " |",
            "|---|---|" + "---|" * len(tab["estimators"]),
        ]
        for row in tab["rows"]:
            lines.append(f"| {fmt(row['p'])} | {fmt(row['alpha_k'])} | "
                         + " | ".join(fmt(row[name]) for name in tab["estimators"]) + " |")
    return lines


def timing_line(results: dict[str, Any]) -> str:
    """What this study cost on this machine, saying which work it found already done."""
    seconds = [s for arm in results["arms"] for s in arm["train_seconds"] if s is not None]
    n_runs = sum(len(arm["train_seconds"]) for arm in results["arms"])
    summed = f"{n_runs} runs, {fmt(sum(seconds) / 60, 1)} min of training summed over runs"
    cache = ("Warm-up checkpoints are cached in `$PASSKRL_CACHE` and shared by every study, "
             "so a study that finds them there spends no time on them.")
    t = results.get("timing")
    if not t:
        return (f"Measured time on this machine: none in this study: every run had already been trained by "
                f"another study in this directory and was reused ({summed}). {cache}")
    return (f"Measured time on this machine: {fmt(t['total_s'] / 60, 1)} min in total "
            f"({fmt(t['warmup_s'] / 60, 1)} min warm-up, {fmt(t['train_s'] / 60, 1)} min RL runs, "
            f"{t['processes']} process(es) x {t['threads']} thread(s); {summed}), summed over invocations "
            f"of this study in this directory; runs finished by another study in the same directory are reused. "
            f"{cache}")


def render(results: dict[str, Any], plots: list[str]) -> str:
    lines = [f"# {results['title']}", ""] + claims_table(results) + [
        "",
        f"**Question.** {results['question']}",
        "",
        f"Command: `{results.get('command', 'passkrl experiment ' + results['study'])}`"
        + (f" at commit `{results['commit']}`" if results.get("commit") else ""),
        "",
        (f"Setup: {seeds_phrase(results)}; {results['rl_steps']} RL steps per run; "
        f"the same {results['test_mazes_per_size']} mazes per size of the {results.get('eval_pool', 'held-out')} pool "
        f"for every run (sizes {', '.join(map(str, results['test_sizes']))}; trained on "
        f"{', '.join(map(str, results['train_sizes']))}), "
        f"{results['samples_per_maze']} samples per test maze at temperature 1.0, top-p 0.95; "
        f"pass@k is pass@{results['k_of_pass_at_k']}, the study's primary k, estimated without bias from those samples "
        f"(every k is below)."),
        "",
        statistics_line(results),
        "",
    ]
    lines += [timing_line(results), ""]
    lines += ["## Results per arm (test set, end of training)", ""] + arms_table(results)
    if every_k_table(results):
        lines += ["", "### pass@k for every k (all test sizes, end of training; intervals in results.json)", ""]
        lines += every_k_table(results) + [""] + crossing_lines(results)
    if per_warmup_table(results):
        lines += ["", "### Each warm-up beside the pooled result", ""] + per_warmup_table(results)
    for metric in ("pass@1", "pass@k"):
        if metric in results["curves"]:
            lines += ["", f"### Test {_metric_label(metric, results)} over training", ""] + curve_table(results, metric)
    lines += ["", "## Cost", ""] + cost_table(results) + _extras(results)
    if plots:
        lines += ["", "## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def draw(results: dict[str, Any], out_dir: Path) -> list[str]:
    """PNG plots: final pass@1 / pass@k per arm, and each curve metric over training."""
    from passkrl.io import pyplot

    plt = pyplot()
    names = []
    k = results["k_of_pass_at_k"]
    labels = [arm["label"] for arm in results["arms"]]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("pass@1/all", "pass@k/all"), strict=True):
        means = [arm["final"][metric]["mean"] for arm in results["arms"]]
        # no interval (a single run): no error bar
        lows = [0.0 if arm["final"][metric]["low"] is None else m - arm["final"][metric]["low"]
                for m, arm in zip(means, results["arms"], strict=True)]
        highs = [0.0 if arm["final"][metric]["high"] is None else arm["final"][metric]["high"] - m
                 for m, arm in zip(means, results["arms"], strict=True)]
        ax.bar(range(len(labels)), means, yerr=[lows, highs], capsize=4, color="#7aa6c2")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20, ha="right")
        ax.set_title(metric.split("/")[0].replace("pass@k", f"pass@{k}") + " on held-out mazes")
        ax.set_ylim(bottom=0)
    fig.suptitle(f"{results['title']} ({len(results['seeds']) * results.get('replicates', 1)} runs per arm, 95% CI)")
    fig.tight_layout()
    save_png(fig, out_dir / "final.png")
    names.append("final.png")

    arms = [arm for arm in results["arms"] if "pass_at_every_k" in arm]
    if arms:
        fig, ax = plt.subplots(figsize=(6, 4))
        ks = list(range(1, len(arms[0]["pass_at_every_k"]["final"]) + 1))
        series = list(_start_series(results, arms[0]["pass_at_every_k"]))
        series += [(arm["label"], arm["pass_at_every_k"]["final"]) for arm in arms]
        for label, points in series:
            plot_with_band(ax, ks, [p["mean"] for p in points], [p["low"] for p in points],
                           [p["high"] for p in points], label=label, marker=".")
        log2_k_axis(ax, [k for k in ks if k & (k - 1) == 0])
        ax.set_xlabel("k")
        ax.set_ylabel(f"pass@k ({results.get('eval_pool', 'held-out')} pool)")
        ax.legend(fontsize=8)
        ax.set_title("pass@k for every k at the end of training (95% CI)")
        fig.tight_layout()
        save_png(fig, out_dir / "pass_at_k.png")
        names.append("pass_at_k.png")

    curves = results["curves"]
    if curves:
        fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.8), squeeze=False)
        for ax, (metric, by_arm) in zip(axes[0], curves.items(), strict=True):
            for label, curve in by_arm.items():
                plot_with_band(ax, curve["steps"], curve["mean"], curve["low"], curve["high"], label=label)
            ax.set_xlabel("RL step")
            ax.set_title(_metric_label(metric, results))
        axes[0][0].legend(fontsize=8)
        fig.suptitle("test metrics over training (mean over runs, 95% CI)")
        fig.tight_layout()
        save_png(fig, out_dir / "curves.png")
        names.append("curves.png")
    return names


def write_report(results: dict[str, Any], out_dir: Path) -> Path:
    plots = draw(results, out_dir)
    path = out_dir / "report.md"
    write_text_atomic(path, render(results, plots))
    return path
