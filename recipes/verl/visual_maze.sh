#!/usr/bin/env bash
# Pass@k Training of a vision-language model on the visual maze (the grid shown as a PNG). The paper
# trains its VLM (Seed1.5-VL-Small, an internal model, on MathVision and MMMU; arXiv 2508.10751
# Table 3) with the same RL settings as its text models; here the open Qwen2.5-VL-7B-Instruct takes
# its place, with the settings of common.sh and verl's image pipeline (data.image_key=images).
# A GPU recipe (8 GPUs by default). Data first:
#
#   DATA_DIR=~/data/passkrl/visual_maze bash recipes/verl/prepare_visual_maze_data.sh
#   DATA_DIR=~/data/passkrl/visual_maze K=8 bash recipes/verl/visual_maze.sh
export MODEL=${MODEL:-Qwen/Qwen2.5-VL-7B-Instruct}
export DATA_DIR=${DATA_DIR:-$HOME/data/passkrl/visual_maze}
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
run_verl "${COMMON_OVERRIDES[@]}" \
  data.image_key=images \
  algorithm.adv_estimator=passk_analytic \
  +algorithm.passk.k="$K" \
  trainer.experiment_name="visual_maze_passk_analytic_k${K}_n${ROLLOUTS}" \
  "$@"
