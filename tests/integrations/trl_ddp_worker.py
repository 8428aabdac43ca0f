"""One process of a data-parallel ``PassKGRPOTrainer`` run on CPU (gloo), for ``test_trl_ddp.py``.

Launched as ``torchrun --nproc_per_node 2 tests/integrations/trl_ddp_worker.py --model DIR --out DIR``
(``--device cuda`` for one GPU per process: NCCL instead of gloo).
Every process trains the tiny offline model of :mod:`passkrl.models.tiny_hf` twice, once per estimator of
``RUNS``, and writes ``rank<r>.json``: for every generation batch, the rewards TRL gathered across
processes, the advantages this process trained on (its slice), the advantages of the whole batch that
passkrl computed, and the training log (TRL's ``reward`` per step).

The task: prompts of a few letters, and a reward of 1 when the first character of the completion is one
of the lower-case letters a to m. The random model starts with one of them about 14 times in 100 (13 of its
100 tokens), so the reward starts low and can only rise by learning; the first token's distribution is all
that matters, which a model of 30k parameters moves within a few steps (mean reward 0.13-0.25 over the
first 6 steps and 0.69-0.92 over the last 6 of 24 for seeds 0-3 with 2 processes; 0.13 -> 0.85 with 3).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer

from passkrl.integrations.trl import PassKGRPOConfig, PassKGRPOTrainer

N_GEN = 4
RUNS = {  # estimator -> (passk_k, optimizer steps, passk_params)
    "passk_analytic": (2, 24, {}),
    "passk_bootstrap": (2, 6, {"n_groups": 8}),
}
TARGET = "abcdefghijklm"


def first_in_a_to_m(completions, **kwargs) -> list[float]:
    return [1.0 if completion[:1] and completion[0] in TARGET else 0.0 for completion in completions]


def prompts(n: int = 64) -> Dataset:
    letters = "bcdfghjklmnpqrstvwxz"
    return Dataset.from_dict({"prompt": [letters[i % 20] + letters[(3 * i + 1) % 20] + ":" for i in range(n)]})


class Recording(PassKGRPOTrainer):
    """Records what the trainer trained on; changes nothing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records: list[dict] = []

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._recorded_rewards = rewards.detach().cpu().clone()
        return rewards

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        self.records.append({
            "rewards_per_func": self._recorded_rewards.tolist(),
            "local_advantages": output["advantages"].detach().cpu().tolist(),
            "all_advantages": self.last_passk.all_advantages.detach().cpu().tolist(),
            "k": self.last_passk.k,
        })
        return output


def per_device_batch(world_size: int) -> int:
    """6 rows per process when the processes are even in number (with 2: 3 prompts x 4 completions, the
    second prompt's completions split 2 / 2 between the processes), else 4 (a generation batch must hold
    whole prompts)."""
    return 6 if world_size % 2 == 0 else N_GEN


def run(estimator: str, model_dir: str, out_dir: Path, device: str, seed: int) -> dict:
    k, steps, params = RUNS[estimator]
    local = per_device_batch(int(os.environ.get("WORLD_SIZE", "1")))
    config = PassKGRPOConfig(
        output_dir=str(out_dir / estimator), max_steps=steps, per_device_train_batch_size=local,
        num_generations=N_GEN, max_completion_length=2, learning_rate=3e-2, logging_steps=1, seed=seed,
        report_to="none", use_cpu=device == "cpu", bf16=False, gradient_checkpointing=False, save_strategy="no",
        disable_tqdm=True, passk_estimator=estimator, passk_k=k, passk_params=params, temperature=1.0,
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    trainer = Recording(model=model, processing_class=tokenizer, reward_funcs=[first_in_a_to_m], args=config,
                        train_dataset=prompts())
    trainer.train()
    return {
        "process_index": trainer.accelerator.process_index,
        "num_processes": trainer.accelerator.num_processes,
        "backend": str(torch.distributed.get_backend()) if torch.distributed.is_initialized() else None,
        "local_batch_size": local,
        "num_generations": N_GEN,
        "k": k,
        "params": params,
        "seed": config.seed,
        "records": trainer.records,
        "rewards": [entry["reward"] for entry in trainer.state.log_history if "reward" in entry],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    result = {estimator: run(estimator, args.model, out, args.device, args.seed) for estimator in RUNS}
    rank = int(os.environ.get("RANK", "0"))
    (out / f"rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
