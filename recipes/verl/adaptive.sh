#!/usr/bin/env bash
# Adaptive Training on policy entropy (§4.2.3): per batch, the half of the prompts whose responses
# have the highest mean token entropy take pass@1 advantages, the rest pass@k. passkrl reads each
# response's entropy from the batch (the sampled tokens' -old_log_probs); see docs/verl.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
run_verl "${COMMON_OVERRIDES[@]}" \
  algorithm.adv_estimator=passk_adaptive_entropy \
  +algorithm.passk.k="$K" \
  +algorithm.passk.passk=passk_analytic \
  +algorithm.passk.pass1=grpo \
  trainer.experiment_name="passk_adaptive_k${K}_n${ROLLOUTS}" \
  "$@"
