#!/usr/bin/env bash
# Settings shared by the passkrl verl recipes: the paper's setup (arXiv 2508.10751, §2.1 and
# appendix A): Qwen2.5-7B-Instruct, DAPO clip-higher (0.2 / 0.28), token-level loss, no KL, lr 1e-6
# with 10 warm-up steps, 128 prompts per step, mini-batch 32, 32 rollouts per prompt, evaluation at
# temperature 1.0 and top-p 0.95.
#
# Every setting can be changed from the environment (MODEL=..., N_GPUS=8 ...) or by appending verl
# overrides to the recipe's command line (they come last, so they win).
#
#   PASSKRL_PRINT_OVERRIDES=1 bash recipes/verl/passk_analytic.sh   # print the overrides, run nothing

set -euo pipefail

MODEL=${MODEL:-Qwen/Qwen2.5-7B-Instruct}
DATA_DIR=${DATA_DIR:-$HOME/data/passkrl/maze}
TRAIN_FILE=${TRAIN_FILE:-$DATA_DIR/train.parquet}
VAL_FILE=${VAL_FILE:-$DATA_DIR/test.parquet}
N_GPUS=${N_GPUS:-8}              # GPUs per node
NNODES=${NNODES:-1}
TP=${TP:-2}                      # tensor parallel size of the vLLM rollout engine
K=${K:-8}                        # the k of Pass@k Training (the paper: 4, 8, 16)
ROLLOUTS=${ROLLOUTS:-32}         # responses per prompt (n); must be >= K
STEPS=${STEPS:-400}
PROJECT=${PROJECT:-passkrl}

COMMON_OVERRIDES=(
  data.train_files="$TRAIN_FILE"
  data.val_files="$VAL_FILE"
  data.train_batch_size=128
  data.max_prompt_length=1024
  data.max_response_length=4096
  data.filter_overlong_prompts=True
  data.truncation=error
  actor_rollout_ref.model.path="$MODEL"
  actor_rollout_ref.model.use_remove_padding=True
  actor_rollout_ref.model.enable_gradient_checkpointing=True
  actor_rollout_ref.actor.optim.lr=1e-6
  actor_rollout_ref.actor.optim.lr_warmup_steps=10
  actor_rollout_ref.actor.ppo_mini_batch_size=32
  actor_rollout_ref.actor.use_dynamic_bsz=True
  actor_rollout_ref.actor.ppo_max_token_len_per_gpu=24576
  actor_rollout_ref.actor.clip_ratio_low=0.2
  actor_rollout_ref.actor.clip_ratio_high=0.28
  actor_rollout_ref.actor.loss_agg_mode=token-mean
  actor_rollout_ref.actor.use_kl_loss=False
  actor_rollout_ref.actor.entropy_coeff=0
  actor_rollout_ref.rollout.name=vllm
  actor_rollout_ref.rollout.n="$ROLLOUTS"
  actor_rollout_ref.rollout.temperature=1.0
  actor_rollout_ref.rollout.tensor_model_parallel_size="$TP"
  actor_rollout_ref.rollout.gpu_memory_utilization=0.6
  actor_rollout_ref.rollout.val_kwargs.do_sample=True
  actor_rollout_ref.rollout.val_kwargs.temperature=1.0
  actor_rollout_ref.rollout.val_kwargs.top_p=0.95
  actor_rollout_ref.rollout.val_kwargs.n=16
  algorithm.use_kl_in_reward=False
  reward.custom_reward_function.path=pkg://passkrl.tasks.rewards
  reward.custom_reward_function.name=compute_score
  trainer.n_gpus_per_node="$N_GPUS"
  trainer.nnodes="$NNODES"
  trainer.total_training_steps="$STEPS"
  trainer.test_freq=10
  trainer.save_freq=50
  trainer.val_before_train=True
  trainer.logger='["console","tensorboard"]'
  trainer.project_name="$PROJECT"
)

# run_verl OVERRIDE...: launch verl's PPO trainer, or only print the overrides (one per line)
# when PASSKRL_PRINT_OVERRIDES=1.
run_verl() {
  if [[ "${PASSKRL_PRINT_OVERRIDES:-0}" == 1 ]]; then
    printf '%s\n' "$@"
    return 0
  fi
  python3 -m verl.trainer.main_ppo "$@"
}
