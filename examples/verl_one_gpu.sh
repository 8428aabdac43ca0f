#!/usr/bin/env bash
# Pass@k Training in verl on one GPU with a small model: the paper's recipe (recipes/verl/) scaled
# down to Qwen2.5-0.5B-Instruct, 8 rollouts per prompt and k = 4 (arXiv 2508.10751 uses 7B, 32, 4-16).
#
#   passkrl data maze --split test --sizes 7,9,11,13 --n 400 --out ~/data/passkrl/maze/test.parquet
#   passkrl data maze --sizes 9,11,13 --n 6000 --exclude ~/data/passkrl/maze/test.parquet \
#       --out ~/data/passkrl/maze/train.parquet
#   MODEL=~/models/Qwen2.5-0.5B-Instruct bash examples/verl_one_gpu.sh
#
# MODEL may be a local directory or a hub name verl can fetch. Extra verl overrides go last and win.
# Validation samples are dumped to $VAL_DUMP; `passkrl eval $VAL_DUMP` prints unbiased pass@k from them.
#   PASSKRL_PRINT_OVERRIDES=1 bash examples/verl_one_gpu.sh   # print the overrides, run nothing
export MODEL=${MODEL:-Qwen/Qwen2.5-0.5B-Instruct} K=${K:-4} ROLLOUTS=${ROLLOUTS:-8} N_GPUS=1 NNODES=1 TP=1
source "$(dirname "${BASH_SOURCE[0]}")/../recipes/verl/common.sh"
VAL_DUMP=${VAL_DUMP:-$HOME/passkrl_val_dumps}

# The recipe's batch sizes are for 8 GPUs; one GPU takes a quarter of the prompts and shorter answers.
SMALL=(
  data.train_batch_size=32
  data.max_response_length=1024
  actor_rollout_ref.actor.ppo_mini_batch_size=8
  actor_rollout_ref.actor.ppo_max_token_len_per_gpu=16384
)
OVERRIDES=()
for override in "${COMMON_OVERRIDES[@]}"; do
  key=${override%%=*}
  keep=1
  for small in "${SMALL[@]}"; do [[ "${small%%=*}" == "$key" ]] && keep=0; done
  (( keep )) && OVERRIDES+=("$override")
done

run_verl "${OVERRIDES[@]}" "${SMALL[@]}" \
  trainer.validation_data_dir="$VAL_DUMP" \
  algorithm.adv_estimator=passk_analytic \
  +algorithm.passk.k="$K" \
  +algorithm.passk.small_groups=zero \
  trainer.experiment_name="passk_analytic_k${K}_n${ROLLOUTS}_one_gpu" \
  "$@"
