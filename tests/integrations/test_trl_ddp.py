"""``PassKGRPOTrainer`` under data parallelism: two processes on CPU (torchrun, gloo), the tiny offline model.

``PASSKRL_DDP_NPROC=N`` runs N processes instead, and ``PASSKRL_DDP_DEVICE=cuda`` puts each on its own GPU
(NCCL), e.g. ``PASSKRL_DDP_NPROC=4 PASSKRL_DDP_DEVICE=cuda pytest -q tests/integrations/test_trl_ddp.py``.

``trl_ddp_worker.py`` trains in each process; this test reads what every process recorded per generation
batch and checks, for a deterministic estimator (``passk_analytic``) and a sampling one (``passk_bootstrap``,
seeded):

* both processes saw the same gathered rewards and hold the same advantages for the whole batch, equal to
  ``passkrl.estimators.compute`` on those rewards grouped by prompt (for the sampling estimator with the
  generator the trainer documents: ``seed * 1_000_003 + generation batch``);
* each process trained on its own slice of them, TRL's ``[rank * B_local, (rank + 1) * B_local)``, with a
  prompt whose completions straddle the two processes;
* the training reward TRL logs rises over the run (mean of the last 6 of 24 steps at least 0.3 above the
  first 6; seeds 0-3 gave rises of 0.56-0.72 with 2 processes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from passkrl import estimators
from passkrl.models.tiny_hf import save_tiny_lm

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("trl_ddp_worker.py")
NPROC = int(os.environ.get("PASSKRL_DDP_NPROC", "2"))
DEVICE = os.environ.get("PASSKRL_DDP_DEVICE", "cpu")


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    model = save_tiny_lm(out / "model", seed=0)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(NPROC),
               str(WORKER), "--model", str(model), "--out", str(out), "--device", DEVICE]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(f"{NPROC}-process run on {DEVICE}: {time.perf_counter() - start:.1f} s")
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in range(NPROC)]


def test_the_processes_form_one_data_parallel_group(ranks):
    backend = "gloo" if DEVICE == "cpu" else "nccl"
    for rank, result in enumerate(ranks):
        for run in result.values():
            assert (run["process_index"], run["num_processes"], run["backend"]) == (rank, NPROC, backend)


@pytest.mark.parametrize("estimator", ["passk_analytic", "passk_bootstrap"])
def test_every_process_holds_the_estimator_on_the_gathered_rewards(ranks, estimator):
    runs = [result[estimator] for result in ranks]
    first = runs[0]
    n_gen, local, k = first["num_generations"], first["local_batch_size"], first["k"]
    assert len({len(run["records"]) for run in runs}) == 1 and first["records"]
    signal = 0
    for batch, records in enumerate(zip(*(run["records"] for run in runs))):
        rewards = torch.tensor(records[0]["rewards_per_func"], dtype=torch.float64)
        assert rewards.shape == (NPROC * local, 1)  # gathered: every process's completions
        generator = torch.Generator().manual_seed(first["seed"] * 1_000_003 + batch)
        expected = estimators.compute(estimator, rewards.sum(dim=1).view(-1, n_gen), k=k, generator=generator,
                                      **first["params"]).reshape(-1)
        for rank, record in enumerate(records):
            assert record["rewards_per_func"] == records[0]["rewards_per_func"]
            assert record["all_advantages"] == records[0]["all_advantages"]  # the same full advantages, bit for bit
            np.testing.assert_allclose(record["all_advantages"], expected.numpy(), rtol=1e-6, atol=1e-6)
            # each process trained on its own slice (with 2 processes of 6 rows, prompt 1 straddles them)
            np.testing.assert_allclose(record["local_advantages"], expected[rank * local:(rank + 1) * local].numpy(),
                                       rtol=1e-6, atol=1e-6)
        signal += int(bool(np.any(expected.numpy() != 0)))
    assert signal > 0, "no batch had a learning signal: the comparison would be vacuous"


def test_training_reward_rises(ranks):
    rewards = ranks[0]["passk_analytic"]["rewards"]  # TRL's logged reward: the mean over all processes
    assert all(result["passk_analytic"]["rewards"] == rewards for result in ranks)
    first, last = float(np.mean(rewards[:6])), float(np.mean(rewards[-6:]))  # 24 optimizer steps
    assert last - first >= 0.3 and last >= 0.5, rewards
