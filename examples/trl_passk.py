"""Pass@k Training with TRL: ``PassKGRPOTrainer`` on a passkrl task, from a local model directory.

    pip install "passkrl[trl]"              # and "passkrl[maths]" / "passkrl[puzzles]" for those tasks
    python examples/trl_passk.py --model ~/models/Qwen2.5-0.5B-Instruct --task maze --steps 100
    python examples/trl_passk.py --model ~/models/Qwen2.5-0.5B-Instruct --task maths --k 4 --bf16
    python examples/trl_passk.py --model DIR --task puzzles/chain_sum --estimator combination
    python examples/trl_passk.py --model ~/models/Qwen2.5-VL-3B-Instruct --task visual_maze --bf16

``--model`` is a local Hugging Face model directory (nothing is downloaded): a causal LM, or for
``visual_maze`` a vision-language model with its processor (the maze shown as a PNG; TRL's rows of
``passkrl data maze --image --layout trl``). The rows are the ones ``passkrl data TASK`` writes (a
conversational prompt, ``data_source``, ``reward_model``), built in memory, and scored by passkrl's
own verifiers through ``passkrl_reward``; the maze uses the paper's Fig. 14 prompt. Advantages are those of ``--estimator`` with ``--k`` (arXiv 2508.10751), computed by
passkrl on the rewards TRL gathered from every process; the run's ``passk/*`` metrics (unbiased
pass@1 and pass@k of the batch, advantage statistics) are logged with TRL's own. Run it with
``accelerate launch`` for several GPUs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np


def task_rows(task: str, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` distinct training rows of ``task`` in the layout of ``passkrl data``, prompts as chat messages."""
    from passkrl.tasks import get_task
    from passkrl.tasks.base import split_seed
    from passkrl.tasks.rows import distinct_problems

    options: dict[str, Any] = {"sizes": (7, 9)} if task in ("maze", "visual_maze") else {}
    if task == "visual_maze":
        options["layout"] = "trl"  # an image entry in the chat prompt and an "image" column
    built = get_task(task, **options)
    rows = [built.to_row(problem, "train", i)
            for i, problem in enumerate(distinct_problems(built, n, split_seed(seed, "train"), set()))]
    return rows


def build_trainer(model_dir: Path, rows: list[dict[str, Any]], reward_funcs: list, *, out: Path, steps: int,
                  estimator: str = "passk_analytic", k: int = 4, num_generations: int = 8, prompts_per_step: int = 2,
                  max_completion_length: int = 256, learning_rate: float = 1e-6, bf16: bool = False,
                  use_cpu: bool = False, seed: int = 0, trainer_class: type | None = None, **config: Any):
    """A ``PassKGRPOTrainer`` (or ``trainer_class``) on ``rows``; rows with an ``image`` column train a
    vision-language model with its processor (the test suite builds both with tiny local models)."""
    from datasets import Dataset, Image
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    from passkrl.integrations.trl import PassKGRPOConfig, PassKGRPOTrainer

    args = PassKGRPOConfig(
        output_dir=str(out), max_steps=steps, per_device_train_batch_size=prompts_per_step * num_generations,
        num_generations=num_generations, max_completion_length=max_completion_length, learning_rate=learning_rate,
        logging_steps=1, save_strategy="no", report_to="none", bf16=bf16, use_cpu=use_cpu, seed=seed,
        passk_estimator=estimator, passk_k=k, **config,
    )
    dataset = Dataset.from_list(rows)
    if "image" in dataset.column_names:
        dataset = dataset.cast_column("image", Image())  # PNG bytes -> PIL images, what TRL passes on
        processing_class = AutoProcessor.from_pretrained(model_dir)
        model = AutoModelForImageTextToText.from_pretrained(model_dir)
    else:
        processing_class = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir)
    return (trainer_class or PassKGRPOTrainer)(model=model, processing_class=processing_class,
                                               reward_funcs=reward_funcs, args=args, train_dataset=dataset)


def training_rewards(trainer) -> list[float]:
    """The mean training reward of every logged step."""
    return [float(entry["reward"]) for entry in trainer.state.log_history if "reward" in entry]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="local Hugging Face model directory")
    parser.add_argument("--task", default="maze",
                        help="maze, visual_maze (a vision-language model), maths, or puzzles/<reasoning-gym data set>")
    parser.add_argument("--estimator", default="passk_analytic", help="any passkrl estimator or shaper")
    parser.add_argument("--k", type=int, default=4, help="the k of Pass@k Training (<= --generations)")
    parser.add_argument("--generations", type=int, default=8, help="completions per prompt")
    parser.add_argument("--prompts", type=int, default=2, help="prompts per step and device")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rows", type=int, default=2000, help="distinct training problems")
    parser.add_argument("--max-completion-length", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-6)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 (on a GPU that supports it)")
    parser.add_argument("--out", type=Path, default=Path("runs/trl_passk"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.model / "config.json").is_file():
        parser.error(f"--model {args.model}: not a Hugging Face model directory (no config.json)")

    from passkrl.tasks.rewards import passkrl_reward

    rows = task_rows(args.task, args.rows, args.seed)
    trainer = build_trainer(args.model, rows, [passkrl_reward], out=args.out, steps=args.steps,
                            estimator=args.estimator, k=args.k, num_generations=args.generations,
                            prompts_per_step=args.prompts, max_completion_length=args.max_completion_length,
                            learning_rate=args.lr, bf16=args.bf16, seed=args.seed)
    trainer.train()
    rewards = training_rewards(trainer)
    if rewards:
        first, last = np.mean(rewards[: max(1, len(rewards) // 5)]), np.mean(rewards[-max(1, len(rewards) // 5):])
        print(f"training reward: first fifth of the steps {first:.3f}, last fifth {last:.3f}")
    trainer.save_model(str(args.out / "final"))
    print(f"model written to {args.out / 'final'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
