"""passkrl's step metrics and k schedule inside the real verl (0.9.1), through verl's own functions.

* Legacy trainer (``RayPPOTrainer.fit``): the step runs ``compute_advantage(batch, ...)``, later
  ``compute_data_metrics(batch=batch, ...)``, merges that into the step's ``metrics`` and hands them to its
  ``Tracking`` logger. The tests make the same two calls on the same batch and read the ``passk/*`` figures
  from what ``compute_data_metrics`` returns, then log them with verl's ``Tracking`` (console backend).
* v1 trainer: ``PPOTrainer._compute_advantage(batch, metrics)`` (verl's own method, run on a v1 trainer
  instance whose only attribute is its config) fills ``metrics``; ``step`` reduces those with verl's
  ``MetricsAggregator``. verl's TransferQueue needs a Ray cluster, so a small in-memory store with its
  ``kv_batch_get`` / ``kv_batch_put`` calls stands in for it; everything else is verl's code.
* ``algorithm.passk.k_schedule``: through Hydra composition of verl's config, verl's ``SkipManager`` step
  (which both trainers set before every step), ``meta_info["global_steps"]`` and the fallback count.

Every expected value is computed here from the rewards, independently of the plugin.
"""

from __future__ import annotations

import inspect
import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from verl import DataProto
from verl.trainer.ppo import ray_trainer
from verl.utils.skip.skip_manager import SkipManager

import passkrl.integrations.verl as pv
from passkrl import estimators
from passkrl.core.schedule import KSchedule
from tests.integrations.test_verl import _batch, _expected, _pad_like_balance_batch, _session_keys

NAMES = {"passk/pass@1", "passk/pass@k", "passk/eta", "passk/alpha_k", "passk/frac_all_wrong", "passk/frac_mixed",
         "passk/frac_all_right", "passk/padding_rows", "passk/short_groups", "passk/k"}


@pytest.fixture(autouse=True)
def _fresh_step():
    """verl's trainers set SkipManager.step before every step; start each test without one."""
    before = SkipManager.step
    SkipManager.set_step(-1)
    yield
    SkipManager.set_step(before)


def _for_data_metrics(data: DataProto) -> DataProto:
    """What verl's ``compute_data_metrics`` reads besides rewards and advantages: prompts, responses and
    the attention mask (prompt tokens all present, response tokens where the response mask is 1)."""
    mask = data.batch["response_mask"]
    rows, width = mask.shape
    data.batch["prompts"] = torch.ones(rows, 3, dtype=torch.long)
    data.batch["responses"] = torch.ones(rows, width, dtype=torch.long)
    data.batch["attention_mask"] = torch.cat([torch.ones(rows, 3, dtype=torch.long), mask.long()], dim=1)
    data.batch["token_level_scores"] = data.batch["token_level_rewards"].clone()
    return data


def _independent(data: DataProto, k: int, advantages: torch.Tensor) -> dict[str, float]:
    """The passk/* figures from the rows of ``data`` (padding: empty response), by hand."""
    mask = data.batch["response_mask"]
    valid = (mask.sum(-1) > 0).tolist()
    scores = data.batch["token_level_rewards"].sum(-1).tolist()
    per_response = ((advantages.double() * mask).sum(-1) / mask.sum(-1).clamp_min(1)).tolist()
    groups: dict[str, list[int]] = {}
    for row, uid in enumerate(data.non_tensor_batch["uid"]):
        if valid[row]:
            groups.setdefault(uid, []).append(row)
    n = [len(rows) for rows in groups.values()]
    c = [sum(scores[r] > 0.5 for r in rows) for rows in groups.values()]
    p = float(np.mean([ci / ni for ci, ni in zip(c, n)]))
    full = [(ni, ci) for ni, ci in zip(n, c) if ni >= k]
    return {
        "passk/pass@1": p,
        "passk/pass@k": float(np.mean([1 - math.comb(ni - ci, k) / math.comb(ni, k) for ni, ci in full])),
        "passk/eta": float(np.mean([sum(abs(per_response[r]) for r in rows)
                                    for rows in groups.values() if len(rows) >= k])),
        "passk/alpha_k": k * (1 - p) ** (k - 1),
        "passk/frac_all_wrong": float(np.mean([ci == 0 for ci in c])),
        "passk/frac_mixed": float(np.mean([0 < ci < ni for ni, ci in zip(n, c)])),
        "passk/frac_all_right": float(np.mean([ci == ni for ni, ci in zip(n, c)])),
        "passk/padding_rows": float(len(valid) - sum(valid)),
        "passk/short_groups": float(sum(ni < k for ni in n)),
        "passk/k": float(k),
    }


def _expected_full_groups(data: DataProto, k: int, name: str = "passk_analytic", seed=None) -> torch.Tensor:
    """The estimator on the groups with at least k responses, 0 for the others (``small_groups=zero``)."""
    uids = list(data.non_tensor_batch["uid"])
    full = [i for i, uid in enumerate(uids) if uids.count(uid) >= k]
    out = torch.zeros_like(data.batch["response_mask"], dtype=torch.float64)
    out[full] = _expected(name, data.select_idxs(full), k=k, seed=seed)
    return out


def _assert_figures(found: dict, expected: dict) -> None:
    assert NAMES <= set(found), sorted(NAMES - set(found))
    for name in NAMES:
        assert found[name] == pytest.approx(expected[name], rel=1e-6, abs=1e-6), name


def _legacy_step(data: DataProto, adv_estimator: str, **passk):
    """The two calls of ``RayPPOTrainer.fit`` around the advantage, with its arguments."""
    config = OmegaConf.create({"adv_estimator": adv_estimator, "gamma": 1.0, "lam": 1.0,
                               "norm_adv_by_std_in_grpo": True, "passk": passk})
    batch = ray_trainer.compute_advantage(data, adv_estimator=adv_estimator, gamma=1.0, lam=1.0, num_repeat=8,
                                          norm_adv_by_std_in_grpo=True, config=config)
    return batch, ray_trainer.compute_data_metrics(batch=batch, use_critic=False)


# --------------------------------------------------------------------------------------------------
# The legacy trainer: compute_advantage -> compute_data_metrics -> Tracking
# --------------------------------------------------------------------------------------------------


def test_fit_still_routes_compute_data_metrics_of_the_advantage_batch_to_its_logger():
    """The route the metrics take exists in the installed verl: ``fit`` computes the advantages of
    ``batch``, then ``compute_data_metrics(batch=batch, ...)`` into ``metrics``, then logs ``metrics``."""
    source = inspect.getsource(ray_trainer.RayPPOTrainer.fit)
    steps = ["batch = compute_advantage(", "metrics.update(compute_data_metrics(batch=batch",
             "logger.log(data=metrics, step=self.global_steps)"]
    positions = [source.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "SkipManager.set_step(self.global_steps)" in source  # the step k_schedule reads


def test_legacy_step_metrics_reach_verl_metrics_and_its_tracking_logger(capsys):
    from verl.utils.tracking import Tracking

    data = _batch([8, 8, 5, 8, 1, 8], seed=12)  # uid-4 has one response: short for k = 4
    padded, _ = _pad_like_balance_batch(data, 3)  # and three rows of verl's batch balancing
    padded = _for_data_metrics(padded)
    k = 4
    batch, metrics = _legacy_step(padded, "passk_analytic", k=k)
    # verl's own metrics are still there, next to passkrl's
    assert "critic/score/mean" in metrics and "critic/advantages/mean" in metrics
    _assert_figures(metrics, _independent(padded, k, batch.batch["advantages"]))
    assert metrics["passk/padding_rows"] == 3 and metrics["passk/short_groups"] == 1
    # the advantages behind eta are the estimator's on the grouped rewards (0 for the short group)
    torch.testing.assert_close(batch.batch["advantages"][: len(data)].double(), _expected_full_groups(data, k),
                               rtol=1e-6, atol=1e-6)
    # ... and the figures belong to that batch only: another batch's data metrics do not get them
    other = _for_data_metrics(_batch([4, 4], seed=1))
    other.batch["advantages"] = other.batch["returns"] = torch.zeros_like(other.batch["response_mask"])
    assert not any(name.startswith("passk/") for name in ray_trainer.compute_data_metrics(batch=other, use_critic=False))

    # fit hands `metrics` to verl's Tracking logger
    Tracking(project_name="passkrl", experiment_name="metrics", default_backend="console").log(data=metrics, step=7)
    printed = capsys.readouterr().out
    assert "step:7" in printed and "passk/pass@k" in printed and "passk/alpha_k" in printed


def test_verl_own_estimators_get_no_passk_metrics():
    data = _for_data_metrics(_batch([6, 6], seed=2))
    _legacy_step(data, "passk_analytic", k=2)
    data = _for_data_metrics(_batch([6, 6], seed=3))
    _, metrics = _legacy_step(data, "grpo")
    assert not any(name.startswith("passk/") for name in metrics)
    assert pv.last_step_metrics() == {}


@pytest.mark.parametrize("vname", ["passk_bootstrap", "pkpo_loo1", "passk_combination"])
def test_legacy_step_metrics_for_other_estimators(vname):
    data = _for_data_metrics(_batch([6, 5, 6, 6], seed=8))
    passk = {"k": 3, "seed": 5} if vname == "passk_bootstrap" else {"k": 3}
    batch, metrics = _legacy_step(data, vname, **passk)
    _assert_figures(metrics, _independent(data, 3, batch.batch["advantages"]))


# --------------------------------------------------------------------------------------------------
# The v1 trainer: PPOTrainer._compute_advantage(batch, metrics) -> MetricsAggregator
# --------------------------------------------------------------------------------------------------


class _Store:
    """``kv_batch_get`` / ``kv_batch_put`` of verl's TransferQueue for one partition, in memory: rows are
    stored per key as the v1 agent loop puts them (a dict of per-sample tensors and the ``uid``) and
    returned as verl's ``list_of_dict_to_tensordict`` builds them (nested tensors for ragged fields)."""

    def __init__(self, rows: dict[str, dict]):
        self.rows = rows
        self.puts: list = []

    def kv_batch_get(self, keys, partition_id, select_fields=None):
        from verl.utils.tensordict_utils import list_of_dict_to_tensordict

        return list_of_dict_to_tensordict([{f: self.rows[key][f] for f in select_fields if f in self.rows[key]}
                                           for key in keys])

    def kv_batch_put(self, keys, partition_id, fields=None, tags=None):
        from transfer_queue import KVBatchMeta

        self.puts.append(fields)
        return KVBatchMeta(keys=list(keys), tags=[{} for _ in keys], partition_id=partition_id)


def _v1_rows(data: DataProto, keys: list[str]) -> dict[str, dict]:
    """One stored row per batch key: the response's own tokens only, as TransferQueue holds them."""
    rows = {}
    for i, key in enumerate(keys):
        length = int(data.batch["response_mask"][i].sum())
        rows[key] = {
            "uid": str(data.non_tensor_batch["uid"][i]),
            "response_mask": torch.ones(length, dtype=torch.int64),
            "rm_scores": data.batch["token_level_rewards"][i, :length].clone(),
            "old_log_probs": data.batch["old_log_probs"][i, :length].clone(),
        }
    return rows


def _v1_trainer(monkeypatch, rows, **passk):
    from verl.trainer.ppo.v1 import trainer_base
    from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync

    store = _Store(rows)
    monkeypatch.setattr(trainer_base, "tq", store)
    trainer = object.__new__(PPOTrainerSync)  # verl's class and methods; only the config is set
    trainer.config = OmegaConf.create({
        "algorithm": {"adv_estimator": "passk_analytic", "use_kl_in_reward": False, "gamma": 1.0, "lam": 1.0,
                      "norm_adv_by_std_in_grpo": True, "passk": passk},
        "actor_rollout_ref": {"rollout": {"n": 8}},
    })
    return trainer, store


def test_v1_step_metrics_arrive_in_the_metrics_of_compute_advantage_and_survive_verl_aggregation(monkeypatch):
    from transfer_queue import KVBatchMeta
    from verl.trainer.ppo.v1.utils import MetricsAggregator

    data = _batch([8, 6, 8, 3], seed=21, shuffle=False)
    keys = _session_keys(data)
    trainer, store = _v1_trainer(monkeypatch, _v1_rows(data, keys), k=4)
    metrics: dict = {"actor/entropy": 0.5}
    out = trainer._compute_advantage(KVBatchMeta(keys=keys, tags=[{} for _ in keys], partition_id="train"), metrics)
    assert out.keys == keys
    advantages = store.puts[-1]["advantages"].to_padded_tensor(padding=0.0)  # [B, longest response]
    expected = _expected_full_groups(data, 4)  # uid-3 has 3 responses: short, advantage 0
    torch.testing.assert_close(advantages.double(), expected[:, : advantages.shape[1]], rtol=1e-6, atol=1e-6)
    _assert_figures(metrics, _independent(data, 4, expected))
    assert metrics["passk/short_groups"] == 1
    assert metrics["actor/entropy"] == 0.5  # the trainer's other metrics are kept

    # `step` reduces the metrics of its iterations with verl's MetricsAggregator: the names average
    aggregator = MetricsAggregator()
    aggregator.add_step_metrics(metrics, sample_count=len(keys))
    aggregator.add_step_metrics(dict(metrics), sample_count=len(keys))
    reduced = aggregator.get_aggregated_metrics()
    for name in NAMES:
        assert reduced[name] == pytest.approx(metrics[name]), name


def test_v1_figures_count_one_sample_per_agent_session(monkeypatch):
    from transfer_queue import KVBatchMeta

    data = _batch([4, 5], seed=6, shuffle=False)
    uids = list(data.non_tensor_batch["uid"])
    both = DataProto.concat([data.select_idxs([0]), data])  # session 0 of uid-0 returned two outputs
    keys = ["uid-0_0_0"] + [f"{uid}_{i}_{1 if i == 0 else 0}" for i, uid in enumerate(uids)]
    trainer, _ = _v1_trainer(monkeypatch, _v1_rows(both, keys), k=2)
    metrics: dict = {}
    trainer._compute_advantage(KVBatchMeta(keys=keys, tags=[{} for _ in keys], partition_id="train"), metrics)
    _assert_figures(metrics, _independent(data, 2, _expected("passk_analytic", data, k=2)))


# --------------------------------------------------------------------------------------------------
# batch_metrics on its own
# --------------------------------------------------------------------------------------------------


def test_batch_metrics_by_hand():
    # groups: a (1 of 4 right), b (all 3 right), c (none of 4), d (2 of 2: short for k = 3); one padding row
    index = ["a"] * 4 + ["b"] * 3 + ["c"] * 4 + ["d"] * 2 + ["pad"]
    scores = torch.tensor([1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0], dtype=torch.float32)
    valid = torch.tensor([True] * 13 + [False])
    advantages = torch.tensor([1.5, -0.5, -0.5, -0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=torch.float32)
    found = pv.batch_metrics(scores, np.array(index, dtype=object), advantages, k=3, valid=valid)
    p = (1 / 4 + 1 + 0 + 1) / 4
    assert found == pytest.approx({
        "passk/k": 3.0, "passk/padding_rows": 1.0, "passk/short_groups": 1.0, "passk/pass@1": p,
        "passk/pass@k": ((1 - math.comb(3, 3) / math.comb(4, 3)) + 1 + 0) / 3, "passk/alpha_k": 3 * (1 - p) ** 2,
        "passk/frac_all_wrong": 1 / 4, "passk/frac_mixed": 1 / 4, "passk/frac_all_right": 2 / 4,
        "passk/eta": (3.0 + 0 + 0) / 3,
    })
    # with small_groups=shrink the short group is estimated too, so eta averages over all four
    shrink = pv.batch_metrics(scores, np.array(index, dtype=object), advantages, k=3, valid=valid, small_groups="shrink")
    assert shrink["passk/eta"] == pytest.approx(3.0 / 4)
    assert set(found) == set(pv.METRIC_NAMES)
    for name in pv.METRIC_NAMES:  # verl's v1 MetricsAggregator would not average a name with these in it
        assert not any(word in name for word in ("max", "min", "sum", "total", "mean"))


# --------------------------------------------------------------------------------------------------
# algorithm.passk.k_schedule
# --------------------------------------------------------------------------------------------------


def _compose(*overrides):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    config_dir = Path(ray_trainer.__file__).resolve().parents[1] / "config"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name="ppo_trainer", overrides=list(overrides))


def test_k_schedule_from_verl_command_line():
    for written in ("+algorithm.passk.k_schedule=[8@0,1@100]", "+algorithm.passk.k_schedule='8@0,1@100'"):
        config = _compose("algorithm.adv_estimator=passk_analytic", written)
        assert pv.passk_schedule(config.algorithm, "passk_analytic") == KSchedule.parse("8@0,1@100")
        assert [pv.passk_settings(config.algorithm, "passk_analytic", step=s)[0] for s in (1, 99, 100, 500)] == [8, 8, 1, 1]
    # Hydra itself refuses an unquoted comma outside a list (it would be a sweep)
    with pytest.raises(Exception, match="Ambiguous value"):
        _compose("algorithm.adv_estimator=passk_analytic", "+algorithm.passk.k_schedule=8@0,1@100")
    # without a schedule, k is the constant algorithm.passk.k
    config = _compose("algorithm.adv_estimator=passk_analytic", "+algorithm.passk.k=4")
    assert pv.passk_schedule(config.algorithm, "passk_analytic") == KSchedule.of(4)


def test_k_changes_at_the_boundary_of_verl_global_step():
    data = _batch([8, 8, 8], seed=30)
    schedule = ["4@0", "2@100"]  # what Hydra makes of +algorithm.passk.k_schedule=[4@0,2@100]
    seen = {}
    for step in (1, 99, 100, 101):
        SkipManager.set_step(step)  # as RayPPOTrainer.fit and the v1 PPOTrainer.fit do before every step
        batch, metrics = _legacy_step(_for_data_metrics(data.select_idxs(list(range(len(data))))), "passk_analytic",
                                      k_schedule=schedule, k=6)  # the schedule overrides k
        seen[step] = metrics["passk/k"]
        k = 4 if step < 100 else 2
        torch.testing.assert_close(batch.batch["advantages"].double(), _expected("passk_analytic", data, k=k),
                                   rtol=1e-6, atol=1e-6)
        assert metrics["passk/pass@k"] == pytest.approx(_independent(data, k, batch.batch["advantages"])["passk/pass@k"])
    assert seen == {1: 4.0, 99: 4.0, 100: 2.0, 101: 2.0}
    assert pv.current_global_step() == (101, "SkipManager")


def test_meta_info_global_steps_comes_first_then_skip_manager_then_a_count(caplog):
    SkipManager.set_step(5)
    marked = _batch([6, 6], seed=31)
    marked.meta_info["global_steps"] = 50
    _, metrics = _legacy_step(_for_data_metrics(marked), "passk_analytic", k_schedule="4@0,2@50")
    assert metrics["passk/k"] == 2  # meta_info's step 50, not SkipManager's 5
    _, metrics = _legacy_step(_for_data_metrics(_batch([6, 6], seed=31)), "passk_analytic", k_schedule="4@0,2@50")
    assert metrics["passk/k"] == 4  # SkipManager's step 5

    SkipManager.set_step(-1)  # outside verl's trainers: passkrl counts its own advantage computations
    pv._OWN_STEPS[0] = 48
    pv._WARNED_FALLBACK.clear()
    with caplog.at_level(logging.WARNING, logger="passkrl.integrations.verl"):
        ks = [_legacy_step(_for_data_metrics(_batch([6, 6], seed=31)), "passk_analytic",
                           k_schedule="4@0,2@50")[1]["passk/k"] for _ in range(3)]
    assert ks == [4, 2, 2]  # computations 49, 50, 51
    warnings = [r for r in caplog.records if "global step is not available" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("k_schedule", "message"),
    [
        ("4@5", r"algorithm.passk.k_schedule='4@5': k schedule '4@5' must start at step 0.*\[8@0,1@100\]"),
        ("eight@0", r"algorithm.passk.k_schedule='eight@0': k schedule entry 'eight@0' is not K or K@STEP"),
        (["4@0", "0@10"], r"algorithm.passk.k_schedule=\['4@0', '0@10'\]: .*k must be >= 1"),
        ("4@0,2@0", r"algorithm.passk.k_schedule='4@0,2@0': .*names a step twice"),
        ({"a": 1}, r"algorithm.passk.k_schedule must be a schedule such as '8@0,1@100'"),
        ("4@0,16@50", r"algorithm.passk.k_schedule=4@0,16@50 \(k=16 from step 50 on\): k=16 is larger than the "
                      r"largest group's size n=6.*raise actor_rollout_ref.rollout.n to >= 16"),
    ],
)
def test_bad_k_schedule_names_the_setting(k_schedule, message):
    data = _for_data_metrics(_batch([6, 6], seed=1))
    SkipManager.set_step(1)
    with pytest.raises(ValueError, match=message):
        _legacy_step(data, "passk_analytic", k_schedule=k_schedule)


def test_schedule_of_a_sampling_estimator_in_the_v1_trainer(monkeypatch):
    from transfer_queue import KVBatchMeta

    data = _batch([6, 6, 6], seed=33, shuffle=False)
    keys = _session_keys(data)
    rows = _v1_rows(data, keys)
    for step, k in ((9, 3), (10, 2)):
        SkipManager.set_step(step)
        trainer, store = _v1_trainer(monkeypatch, rows, k_schedule="3@0,2@10", seed=4)
        trainer.config.algorithm.adv_estimator = "passk_bootstrap"
        metrics: dict = {}
        trainer._compute_advantage(KVBatchMeta(keys=keys, tags=[{} for _ in keys], partition_id="train"), metrics)
        assert metrics["passk/k"] == k
        advantages = store.puts[-1]["advantages"].to_padded_tensor(padding=0.0).double()
        expected = _expected("passk_bootstrap", data, k=k, seed=4)
        torch.testing.assert_close(advantages, expected[:, : advantages.shape[1]], rtol=1e-6, atol=1e-6)
    assert estimators.lookup("passk_bootstrap").uses_k
