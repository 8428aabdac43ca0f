"""``passkrl report RUN_DIR``: a run directory's plots redrawn and its before/after table printed; clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

from passkrl.cli import main


def _run_dir(path: Path, *, task: str = "chain_sum", finished: bool = True) -> Path:
    """A run directory as ``passkrl train`` leaves it: metrics.jsonl, and eval.json once finished."""
    path.mkdir()
    evals = [{"kind": "eval", "step": step, "entropy": 0.5, "distinct_wrong": 1.0, "n_mazes": 4, "samples_per_maze": 2,
              "pass@1": p1, "pass@2": p2, "correct": [1, 0, 2, 1]} for step, p1, p2 in ((0, 0.25, 0.5), (2, 0.5, 0.75))]
    train = [{"kind": "train", "step": step, "reward": 0.5, "solved": 0.5, "entropy": 0.6, "adv_abs_mean": 0.1,
              "clip_fraction": 0.0} for step in (1, 2)]
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (evals[0], *train, evals[1])))
    if finished:
        (path / "eval.json").write_text(json.dumps({"before": evals[0], "after": evals[1], "task": task,
                                                    "eval_pool": "test"}))
    return path


def test_the_plots_are_redrawn_and_the_table_printed(tmp_path, capsys):
    run = _run_dir(tmp_path / "run")
    assert main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    assert "test pool: chain_sum problems (4, 2 samples each" in out and "after RL (step 2)" in out
    for name in ("training.png", "evaluation.png", "pass_at_k.png"):
        assert (run / name).read_bytes()[:4] == b"\x89PNG" and str(run / name) in out


def test_an_unfinished_run_gets_its_plots_without_a_table(tmp_path, capsys):
    run = _run_dir(tmp_path / "run", finished=False)
    assert main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("plots: ") and "after RL" not in out


def test_a_missing_or_foreign_directory_is_refused(tmp_path, capsys):
    assert main(["report", str(tmp_path / "none")]) == 2
    assert "run directory" in capsys.readouterr().err and not (tmp_path / "none").exists()
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no metrics.jsonl; give a directory written by passkrl train" in capsys.readouterr().err
