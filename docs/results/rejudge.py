"""Re-judge the committed studies' claims with the crossed t interval and Holm, from their results.json alone.

The committed runs themselves are not kept, so the per-maze values that eq. (4) of
``passkrl.experiment.stats`` needs are not at hand. What results.json keeps is enough for a close
approximation at their shape (one warm-up seed, R = 5 replicates, M test mazes): the row part is exact,
``V_rows = s_run^2 / R`` from the five per-run differences (ddof = 1, ``R - 1`` degrees of freedom),
and the maze part is backed out of the committed percentile-bootstrap interval,
``V_mazes = max(se_boot^2 - s_run,plug-in^2 / R, 0)`` with ``se_boot = width / (2 * 1.96)`` and
``M - 1`` degrees of freedom. Claims against the warm-up and between arms are all re-judged; the
study's claims form one Holm family. With one warm-up seed these intervals still do not cover the
variation between warm-ups.

    python docs/results/rejudge.py [docs/results]      # prints a Markdown table per study
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from passkrl.experiment import stats


def rejudge(results: dict) -> list[dict]:
    n_mazes_all = len(results["test_sizes"]) * results["test_mazes_per_size"]
    n_trained = sum(1 for s in results["test_sizes"] if s in results["train_sizes"]) * results["test_mazes_per_size"]
    rows = []
    for claim in results["claims"]:
        difference = claim["difference"]
        if difference["mean"] is None:
            continue
        per_run = np.asarray(difference["per_run"])
        n_runs = per_run.size
        n_mazes = {"all": n_mazes_all, "trained": n_trained, "unseen": n_mazes_all - n_trained}[claim["sizes"]]
        se_boot = (difference["high"] - difference["low"]) / (2 * 1.96)
        per_maze = claim["metric"] not in ("entropy", "distinct_wrong")
        v_mazes = max(se_boot**2 - per_run.var() / n_runs, 0.0) if per_maze else 0.0
        parts = (per_run.var(ddof=1) / n_runs, n_runs - 1, v_mazes, n_mazes - 1)
        mean = float(per_run.mean())
        low, high = stats.interval_at(mean, parts, stats.ALPHA)
        rows.append({"claim": claim, "mean": mean, "low": low, "high": high, "parts": parts,
                     "p": stats.p_value(mean, parts), "positive": int((per_run > 0).sum()), "runs": n_runs})
    adjusted = stats.holm([row["p"] for row in rows])
    levels = stats.holm_levels([row["p"] for row in rows])
    for row, p_holm, level in zip(rows, adjusted, levels, strict=True):
        row["p_holm"] = p_holm
        row["holm_low"], row["holm_high"] = stats.interval_at(row["mean"], row["parts"], level)
        row["unadjusted"] = stats.verdict(row["mean"], row["p"])
        row["holm"] = stats.verdict(row["mean"], p_holm)
    return rows


def table(name: str, rows: list[dict]) -> str:
    lines = [f"### {name}", "",
             "| claim | committed: mean [bootstrap 95%] | verdict then | eq. (4) 95% | Holm-adjusted | verdict now |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        claim, old = row["claim"], row["claim"]["difference"]
        changed = " (changed)" if row["holm"] != claim["verdict"] else ""
        lines.append(
            f"| {claim['text']} ({claim['metric']}, {claim['sizes']}) | {old['mean']:+.3f} [{old['low']:+.3f}, "
            f"{old['high']:+.3f}] | {claim['verdict']} | [{row['low']:+.3f}, {row['high']:+.3f}] | "
            f"[{row['holm_low']:+.3f}, {row['holm_high']:+.3f}] | **{row['holm']}**{changed} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent
    for path in sorted(root.glob("*/results.json")):
        results = json.loads(path.read_text(encoding="utf-8"))
        if "statistics" in results:  # already judged by eq. (4)
            continue
        print(table(results["study"], rejudge(results)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
