#!/usr/bin/env bash
# Pass@1 baseline (the paper's GRPO/DAPO run): verl's own GRPO advantages.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
run_verl "${COMMON_OVERRIDES[@]}" \
  algorithm.adv_estimator=grpo \
  trainer.experiment_name="pass1_n${ROLLOUTS}" \
  "$@"
