#!/usr/bin/env bash
# Pass@k Training with the analytic advantages (arXiv 2508.10751 §2.4, eqs. 11-15); K=4|8|16.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
run_verl "${COMMON_OVERRIDES[@]}" \
  algorithm.adv_estimator=passk_analytic \
  +algorithm.passk.k="$K" \
  trainer.experiment_name="passk_analytic_k${K}_n${ROLLOUTS}" \
  "$@"
