#!/usr/bin/env bash
# Combination Training (§4.2.2, eq. 18): (c/n) A_pass@k + (1 - c/n) A_pass@1 per prompt.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
run_verl "${COMMON_OVERRIDES[@]}" \
  algorithm.adv_estimator=passk_combination \
  +algorithm.passk.k="$K" \
  +algorithm.passk.passk=passk_analytic \
  +algorithm.passk.pass1=grpo \
  trainer.experiment_name="passk_combination_k${K}_n${ROLLOUTS}" \
  "$@"
