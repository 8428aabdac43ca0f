"""Adapters that plug passkrl's estimators, shapers and reward functions into training engines.

Each adapter lives in its own module and imports its engine lazily, so ``import passkrl`` never
needs verl or TRL:

* :mod:`passkrl.integrations.verl`: registers every estimator in verl's advantage-estimator
  registry (``pip install "passkrl[verl]"``);
* :mod:`passkrl.integrations.trl`: ``PassKGRPOConfig`` / ``PassKGRPOTrainer`` for TRL
  (``pip install "passkrl[trl]"``).
"""
