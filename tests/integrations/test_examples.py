"""examples/trl_passk.py as a user runs it: its rows, its trainer, and a run whose reward rises."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from passkrl.models.tiny_hf import save_tiny_lm  # noqa: E402
from passkrl.tasks.rewards import passkrl_reward  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _example():
    spec = importlib.util.spec_from_file_location("trl_passk_example", ROOT / "examples" / "trl_passk.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _columns(rows):
    return {key: [row[key] for row in rows] for key in ("data_source", "reward_model", "extra_info")}


@pytest.mark.parametrize("task", ["maze", "maths"])
def test_example_rows_are_scored_by_passkrls_verifiers(task):
    rows = _example().task_rows(task, 6, seed=0)
    assert len({row["prompt"][-1]["content"] for row in rows}) == 6
    truths = [row["reward_model"]["ground_truth"] for row in rows]
    if task == "maze":
        from passkrl.tasks.maze import shortest_path

        right = [f"<answer>{shortest_path(grid)}</answer>" for grid in truths]
    else:
        right = [f"\\boxed{{{truth}}}" for truth in truths]
    assert passkrl_reward(completions=right, **_columns(rows)) == [1.0] * 6
    assert passkrl_reward(completions=["no answer"] * 6, **_columns(rows)) == [0.0] * 6


def test_example_refuses_a_directory_that_is_not_a_model(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _example().main(["--model", str(tmp_path), "--steps", "1"])
    assert "not a Hugging Face model directory" in capsys.readouterr().err


def even_first_char(completions, **kwargs):
    """An easy reward a random model earns about half the time (the pipeline check, not a task)."""
    texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
    return [1.0 if t and ord(t[0]) % 2 == 0 else 0.0 for t in texts]


@pytest.mark.slow
def test_the_example_trainer_raises_the_training_reward_on_cpu(tmp_path):
    example = _example()
    model_dir = save_tiny_lm(tmp_path / "tiny", seed=0)
    rows = example.task_rows("maze", 64, seed=0)
    trainer = example.build_trainer(model_dir, rows, [even_first_char], out=tmp_path / "out", steps=80,
                                    estimator="passk_analytic", k=2, num_generations=8, prompts_per_step=2,
                                    max_completion_length=8, learning_rate=1e-2, use_cpu=True, disable_tqdm=True)
    trainer.train()
    rewards = example.training_rewards(trainer)
    assert len(rewards) == 80
    first, last = np.mean(rewards[:20]), np.mean(rewards[-20:])
    print(f"training reward: first 20 steps {first:.3f}, last 20 steps {last:.3f}", file=sys.stderr)
    assert last > first + 0.2


@pytest.mark.gpu
def test_the_example_trainer_on_cuda_in_bf16(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (run with -m gpu on a GPU machine)")
    example = _example()
    model_dir = save_tiny_lm(tmp_path / "tiny", seed=0)
    trainer = example.build_trainer(model_dir, example.task_rows("maze", 32, seed=0), [even_first_char],
                                    out=tmp_path / "out", steps=20, k=2, num_generations=8, prompts_per_step=2,
                                    max_completion_length=8, learning_rate=1e-2, bf16=True, disable_tqdm=True)
    assert trainer.model.device.type == "cuda"
    trainer.train()
    rewards = example.training_rewards(trainer)
    assert len(rewards) == 20 and all(0.0 <= r <= 1.0 for r in rewards)
    assert trainer.last_passk is not None and torch.isfinite(trainer.last_passk.advantages).all()
