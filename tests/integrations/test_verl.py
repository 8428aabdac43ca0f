"""passkrl inside the real verl: its registry, its advantage dispatch, its config schema, its reward loader.

Every check goes through verl's own code paths: ``verl.trainer.ppo.ray_trainer.compute_advantage``
(the dispatch both of its PPO trainers call), ``compute_advantage_for_multi_trajectories`` (the v1
trainer's entry), Hydra composition of verl's ``ppo_trainer`` config with the recipes' overrides
followed by verl's ``validate_config``, and verl's custom-reward loader.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from verl import DataProto
from verl.trainer.ppo import core_algos, ray_trainer

import passkrl.integrations.verl as pv
from passkrl import estimators

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "recipes" / "verl"
SAMPLING = {"passk_bootstrap", "passk_full"}


def _batch(group_sizes, *, seed=0, binary=True, response_len=7, dtype=torch.float32, shuffle=True):
    """A verl batch: ragged groups with interleaved uids, scores on the last response token."""
    rng = np.random.default_rng(seed)
    uids = np.array([f"uid-{g}" for g, size in enumerate(group_sizes) for _ in range(size)], dtype=object)
    if shuffle:
        uids = uids[rng.permutation(len(uids))]
    batch_size = len(uids)
    scores = rng.integers(0, 2, batch_size).astype(float) if binary else rng.random(batch_size).round(3)
    lengths = rng.integers(1, response_len + 1, batch_size)
    mask = torch.zeros(batch_size, response_len, dtype=dtype)
    rewards = torch.zeros(batch_size, response_len, dtype=dtype)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
        rewards[row, length - 1] = scores[row]
    old_log_probs = -torch.as_tensor(rng.random((batch_size, response_len)) * 3, dtype=dtype)
    data = DataProto.from_dict(
        tensors={"token_level_rewards": rewards, "response_mask": mask, "old_log_probs": old_log_probs},
        non_tensors={"uid": uids},
    )
    return data


def _expected(name, data, *, k, seed=None, **params):
    """Independent reference: group by uid in first-appearance order, compute, broadcast over the mask."""
    uids = list(data.non_tensor_batch["uid"])
    order: dict[str, list[int]] = {}
    for row, uid in enumerate(uids):
        order.setdefault(uid, []).append(row)
    scores = data.batch["token_level_rewards"].sum(-1).double()
    width = max(len(rows) for rows in order.values())
    rewards = torch.zeros(len(order), width, dtype=torch.float64)
    valid = torch.zeros(len(order), width, dtype=torch.bool)
    for g, rows in enumerate(order.values()):
        rewards[g, : len(rows)] = scores[rows]
        valid[g, : len(rows)] = True
    if "entropy" in estimators.REGISTRY[name].needs:
        mask = data.batch["response_mask"].double()
        per_response = (-data.batch["old_log_probs"].double() * mask).sum(-1) / mask.sum(-1)
        entropy = torch.zeros_like(rewards)
        for g, rows in enumerate(order.values()):
            entropy[g, : len(rows)] = per_response[rows]
        params = {**params, "entropy": entropy}
    mask_arg = None if bool(valid.all()) else valid
    adv = estimators.compute(name, rewards, k=k, mask=mask_arg, generator=seed, **params)
    per_row = torch.zeros(len(uids), dtype=torch.float64)
    for g, rows in enumerate(order.values()):
        per_row[rows] = adv[g, : len(rows)]
    return per_row.unsqueeze(-1) * data.batch["response_mask"].double()


def _dispatch(data, verl_name, **passk):
    config = OmegaConf.create({"adv_estimator": verl_name, "norm_adv_by_std_in_grpo": True, "passk": passk})
    out = ray_trainer.compute_advantage(data, adv_estimator=verl_name, config=config)
    return out.batch["advantages"], out.batch["returns"]


# --------------------------------------------------------------------------------------------------
# Registration and names
# --------------------------------------------------------------------------------------------------


def test_every_estimator_is_registered_under_a_name_verl_does_not_own():
    verl_own = {member.value for member in core_algos.AdvantageEstimator}
    assert set(pv.VERL_NAMES.values()) == set(estimators.names())
    for vname, name in pv.VERL_NAMES.items():
        assert vname not in verl_own, vname
        assert core_algos.get_adv_estimator_fn(vname).__name__ == f"passkrl_{name}_for_verl"
    # the documented table lists every name
    table = (ROOT / "docs" / "verl.md").read_text()
    for vname in pv.VERL_NAMES:
        assert f"`{vname}`" in table, f"docs/verl.md does not list {vname}"


def test_registration_is_idempotent_and_refuses_to_replace_a_foreign_estimator():
    assert pv.register_with_verl() == pv.VERL_NAMES
    core_algos.ADV_ESTIMATOR_REGISTRY.pop("passk_analytic")
    try:
        core_algos.register_adv_est("passk_analytic")(lambda **kw: None)
        with pytest.raises(ValueError, match="already has an advantage estimator named 'passk_analytic'"):
            pv.register_with_verl(["passk_analytic"])
    finally:
        core_algos.ADV_ESTIMATOR_REGISTRY.pop("passk_analytic")
        pv.register_with_verl(["passk_analytic"])


@pytest.mark.parametrize(
    ("env", "code"),
    [
        # verl's plugin entry points: `import verl` alone registers passkrl
        ({}, "import verl\nfrom verl.trainer.ppo import core_algos as c\n"),
        # verl's external-module mechanism
        (
            {"VERL_USE_EXTERNAL_PLUGINS": "none", "VERL_USE_EXTERNAL_MODULES": "passkrl.integrations.verl"},
            "import verl\nfrom verl.trainer.ppo import core_algos as c\n",
        ),
        # a plain import, with verl's plugin discovery switched off
        (
            {"VERL_USE_EXTERNAL_PLUGINS": "none"},
            ("from verl.trainer.ppo import core_algos as c\n"
            "assert 'passk_analytic' not in c.ADV_ESTIMATOR_REGISTRY\n"
            "import passkrl.integrations.verl\n"),
        ),
    ],
    ids=["entry-point", "external-modules", "plain-import"],
)
def test_registration_routes_in_a_fresh_interpreter(env, code):
    code += "print(sorted(n for n in c.ADV_ESTIMATOR_REGISTRY if n.startswith(('passk', 'pkpo'))))\n"
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("VERL_USE_EXTERNAL")} | env
    result = subprocess.run([sys.executable, "-c", code], env=run_env, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    listed = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert "passk_analytic" in listed and "passk_combination" in listed and "pkpo_loo1" in listed


# --------------------------------------------------------------------------------------------------
# verl's dispatch == passkrl.estimators.compute
# --------------------------------------------------------------------------------------------------


def _params_for(name):
    return {"seed": 7} if name in SAMPLING else {}


@pytest.mark.parametrize("vname", sorted(pv.VERL_NAMES))
def test_dispatch_equals_core_on_ragged_interleaved_groups(vname):
    name = pv.VERL_NAMES[vname]
    k = 3
    # pkpo_loo needs k < n in every group; the smallest group has 4 responses
    data = _batch([5, 4, 8, 6, 8], seed=3)
    advantages, returns = _dispatch(data, vname, k=k, **_params_for(name))
    expected = _expected(name, data, k=k, seed=_params_for(name).get("seed"))
    assert advantages.dtype == torch.float32
    assert torch.equal(advantages, returns)
    torch.testing.assert_close(advantages.double(), expected, rtol=1e-6, atol=1e-6)
    # advantages live on response tokens only
    assert bool((advantages[data.batch["response_mask"] == 0] == 0).all())


def test_dispatch_keeps_float64_and_uses_continuous_rewards():
    data = _batch([6, 6, 6], seed=5, binary=False, dtype=torch.float64)
    advantages, _ = _dispatch(data, "passk_analytic", k=4)
    assert advantages.dtype == torch.float64
    torch.testing.assert_close(advantages, _expected("passk_analytic", data, k=4), rtol=1e-12, atol=1e-12)


def test_estimator_parameters_come_from_algorithm_passk():
    data = _batch([8, 8, 8, 8], seed=11)
    advantages, _ = _dispatch(data, "passk_drop_easy", k=2, threshold=0.3, base="passk_analytic")
    expected = _expected("drop_easy", data, k=2, threshold=0.3, base="passk_analytic")
    torch.testing.assert_close(advantages.double(), expected, rtol=1e-6, atol=1e-6)
    default, _ = _dispatch(data, "passk_drop_easy", k=2)
    assert not torch.allclose(advantages, default)  # the threshold was really used


def test_passkrl_pass1_baselines_agree_with_verl_own_estimators():
    """Same grouping and broadcasting conventions as verl: RLOO and Dr. GRPO (no std) match exactly."""
    data = _batch([5, 3, 8, 6], seed=2)
    ours, _ = _dispatch(data, "passkrl_rloo")
    theirs = ray_trainer.compute_advantage(
        data, adv_estimator="rloo", config=OmegaConf.create({"norm_adv_by_std_in_grpo": True})
    ).batch["advantages"]
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    ours, _ = _dispatch(data, "passkrl_dr_grpo")
    theirs = ray_trainer.compute_advantage(
        data, adv_estimator="grpo", norm_adv_by_std_in_grpo=False, config=OmegaConf.create({})
    ).batch["advantages"]
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def _session_keys(data):
    """verl's v1 batch keys ``{uid}_{session}_{output}``: one session per trajectory, one output each."""
    seen: dict[str, int] = {}
    keys = []
    for uid in data.non_tensor_batch["uid"]:
        keys.append(f"{uid}_{seen.get(uid, 0)}_0")
        seen[uid] = seen.get(uid, 0) + 1
    return keys


def test_v1_trainer_entry_delegates_to_passkrl():
    from verl.trainer.ppo.v1.utils import compute_advantage_for_multi_trajectories

    data = _batch([4, 6, 5], seed=9)
    keys = _session_keys(data)
    config = OmegaConf.create({"passk": {"k": 2}})
    out = compute_advantage_for_multi_trajectories(
        data, batch_keys=keys, adv_estimator="passk_analytic", config=config
    )
    torch.testing.assert_close(
        out.batch["advantages"].double(), _expected("passk_analytic", data, k=2), rtol=1e-6, atol=1e-6
    )


def test_entropy_route_feeds_adaptive_training_and_is_installed_on_verl_dispatch():
    assert getattr(ray_trainer.compute_advantage, "_passkrl_entropy_route", False)
    data = _batch([6, 6, 6, 6, 6, 6], seed=4)
    advantages, _ = _dispatch(data, "passk_adaptive_entropy", k=2)
    expected = _expected("adaptive_entropy", data, k=2)
    torch.testing.assert_close(advantages.double(), expected, rtol=1e-6, atol=1e-6)
    # the entropies decide which half of the prompts is trained for pass@1: flipping them changes it
    flipped = data.batch["old_log_probs"].clone()
    data.batch["old_log_probs"] = -3.0 - flipped
    changed, _ = _dispatch(data, "passk_adaptive_entropy", k=2)
    assert not torch.allclose(changed, advantages)
    # called outside verl's dispatch there are no entropies: a clear error
    fn = core_algos.get_adv_estimator_fn("passk_adaptive_entropy")
    with pytest.raises(ValueError, match="needs per-response entropies"):
        fn(
            token_level_rewards=data.batch["token_level_rewards"],
            response_mask=data.batch["response_mask"],
            index=data.non_tensor_batch["uid"],
            config=OmegaConf.create({"passk": {"k": 2}}),
        )


# --------------------------------------------------------------------------------------------------
# Errors at the first step, naming the setting to change
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passk", "message"),
    [
        ({}, r"needs k: add \+algorithm.passk.k=K"),
        ({"k": 0}, r"algorithm.passk.k must be >= 1, got algorithm.passk.k=0"),
        ({"k": 4.0}, r"algorithm.passk.k must be an integer, got 4.0 \(float\)"),
        ({"k": True}, r"algorithm.passk.k must be an integer, got True \(bool\)"),
        ({"k": "eight"}, r"algorithm.passk.k must be an integer, got 'eight' \(str\)"),
        ({"k": 9}, r"k=9 is larger than the largest group's size n=6.*every prompt has fewer than k responses.*"
                   r"actor_rollout_ref.rollout.n to >= 9"),
        ({"k": 6, "small_groups": "raise"}, r"uid .* has only 4 valid responses.*small_groups=zero"),
        ({"k": 2, "small_groups": "drop"}, r"algorithm.passk.small_groups must be one of zero, shrink, raise"),
        ({"k": 2, "treshold": 0.5}, r"algorithm.passk.treshold is not a setting of algorithm.adv_estimator="),
        ({"k": 2, "seed": 1.5}, r"algorithm.passk.seed must be an integer"),
    ],
)
def test_bad_settings_fail_with_the_setting_to_change(passk, message):
    data = _batch([6, 4, 6], seed=1)
    with pytest.raises(ValueError, match=message):
        _dispatch(data, "passk_analytic", **passk)


def test_binary_only_estimator_on_continuous_rewards_names_the_estimator():
    data = _batch([6, 6], seed=1, binary=False)
    with pytest.raises(ValueError, match="algorithm.adv_estimator=passk_exceeding: .*binary rewards"):
        _dispatch(data, "passk_exceeding", k=2)


def test_missing_uid_is_a_clear_error():
    fn = core_algos.get_adv_estimator_fn("passk_analytic")
    data = _batch([4], seed=0)
    with pytest.raises(ValueError, match="uid"):
        fn(
            token_level_rewards=data.batch["token_level_rewards"],
            response_mask=data.batch["response_mask"],
            config=OmegaConf.create({"passk": {"k": 2}}),
        )


class _CountingSection(dict):
    """verl's ``algorithm`` config as a mapping that counts how often ``passk`` is read."""

    reads = 0

    def get(self, key, default=None):
        if key == "passk":
            type(self).reads += 1
        return super().get(key, default)


@pytest.mark.parametrize("passk", [{"k": 2, "small_groups": "raise"}, {"k_schedule": "4@0,2@10", "seed": 3}])
def test_algorithm_passk_is_read_once_per_advantage_computation(passk):
    fn = core_algos.get_adv_estimator_fn("passk_analytic")
    data = _batch([6, 5, 6], seed=2)
    _CountingSection.reads = 0
    advantages, _ = fn(token_level_rewards=data.batch["token_level_rewards"], response_mask=data.batch["response_mask"],
                       index=data.non_tensor_batch["uid"], config=_CountingSection(passk=passk))
    assert _CountingSection.reads == 1
    k = int(pv.last_step_metrics()["passk/k"])  # the k in force at verl's step
    assert k == passk.get("k", 4 if pv.current_global_step()[0] < 10 else 2)
    torch.testing.assert_close(advantages.double(), _expected("passk_analytic", data, k=k))


def test_group_rows_positions_follow_batch_order():
    group, position, uids = pv.group_rows(np.array(["b", "a", "b", "c", "a", "b"], dtype=object))
    assert uids == ["b", "a", "c"]
    assert group.tolist() == [0, 1, 0, 2, 1, 0]
    assert position.tolist() == [0, 0, 1, 0, 1, 2]


# --------------------------------------------------------------------------------------------------
# Recipes against verl's config schema
# --------------------------------------------------------------------------------------------------


def _recipe_overrides(script: Path) -> list[str]:
    env = os.environ | {"PASSKRL_PRINT_OVERRIDES": "1", "HOME": "/home/user"}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()


@pytest.mark.parametrize("script", ["pass1.sh", "passk_analytic.sh", "combination.sh", "adaptive.sh"])
@pytest.mark.parametrize("k", [4, 8, 16])
def test_recipe_overrides_are_accepted_by_verl_config(script, k, monkeypatch):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    monkeypatch.setenv("K", str(k))
    overrides = _recipe_overrides(RECIPES / script)
    assert any(o.startswith("algorithm.adv_estimator=") for o in overrides)
    config_dir = Path(ray_trainer.__file__).resolve().parents[1] / "config"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        config = compose(config_name="ppo_trainer", overrides=overrides)  # unknown keys / bad types raise
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))

    actor = config.actor_rollout_ref.actor
    rollout = config.actor_rollout_ref.rollout
    assert (actor.clip_ratio_low, actor.clip_ratio_high, actor.loss_agg_mode) == (0.2, 0.28, "token-mean")
    assert not actor.use_kl_loss and not config.algorithm.use_kl_in_reward
    assert (actor.optim.lr, actor.optim.lr_warmup_steps, actor.ppo_mini_batch_size) == (1e-6, 10, 32)
    assert (config.data.train_batch_size, rollout.n) == (128, 32)
    assert (rollout.val_kwargs.temperature, rollout.val_kwargs.top_p) == (1.0, 0.95)
    assert config.actor_rollout_ref.model.path == "Qwen/Qwen2.5-7B-Instruct"
    name = config.algorithm.adv_estimator
    core_algos.get_adv_estimator_fn(name)  # registered (verl's own grpo or a passkrl name)
    if name in pv.VERL_NAMES:
        passk_k, _, params = pv.passk_settings(config.algorithm, pv.VERL_NAMES[name])
        assert passk_k == k <= rollout.n
        for value in params.values():
            assert value in estimators.names()  # nested estimator names exist


# --------------------------------------------------------------------------------------------------
# Data and reward function, through verl's own loader
# --------------------------------------------------------------------------------------------------


def test_maze_parquet_rows_score_through_verl_custom_reward_loader(tmp_path):
    import pyarrow.parquet as pq
    from verl.trainer.ppo.reward import get_custom_reward_fn

    from passkrl.cli import main as passkrl_main
    from passkrl.tasks import maze

    out = tmp_path / "train.parquet"
    assert passkrl_main(["data", "maze", "--sizes", "5,7", "--n", "6", "--out", str(out), "--no-progress"]) == 0
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 6
    recipe = {o.split("=", 1)[0]: o.split("=", 1)[1] for o in _recipe_overrides(RECIPES / "passk_analytic.sh")}
    config = OmegaConf.create(
        {
            "reward": {
                "custom_reward_function": {
                    "path": recipe["reward.custom_reward_function.path"],
                    "name": recipe["reward.custom_reward_function.name"],
                }
            }
        }
    )
    compute_score = get_custom_reward_fn(config)
    for row in rows:
        grid = row["reward_model"]["ground_truth"]
        right = f"<think>walk</think><answer>{' '.join(maze.shortest_path(grid))}</answer>"
        kwargs = {"data_source": row["data_source"], "ground_truth": grid, "extra_info": row["extra_info"]}
        assert compute_score(solution_str=right, **kwargs) == 1.0
        assert compute_score(solution_str="<answer>U U U</answer>", **kwargs) == 0.0
        assert compute_score(solution_str="\x00" * 100, **kwargs) == 0.0


def test_entropy_route_wraps_exactly_the_named_verl_functions_once_and_then_leaves_the_import_system():
    assert pv.WRAPPED == ("verl.trainer.ppo.ray_trainer.compute_advantage",
                          "verl.trainer.ppo.v1.utils.compute_advantage",
                          "verl.trainer.ppo.v1.utils.compute_advantage_for_multi_trajectories")
    assert pv.METRICS_WRAPPED == ("verl.trainer.ppo.ray_trainer.compute_data_metrics",
                                  "verl.trainer.ppo.v1.trainer_base.PPOTrainer._compute_advantage")
    code = (
        "import sys\n"
        "import passkrl.integrations.verl as pv\n"
        "before = {**pv.entropy_route(), **pv.metrics_route()}\n"
        "pv.enable_entropy_route(); pv.enable_entropy_route()\n"
        "n_finders = sum(f is pv._FINDER for f in sys.meta_path)\n"
        "import verl.trainer.ppo.ray_trainer as legacy, verl.trainer.ppo.v1.utils as v1\n"
        "pv.enable_entropy_route()\n"
        "for fn in (legacy.compute_advantage, v1.compute_advantage):\n"
        "    assert fn._passkrl_entropy_route and not getattr(fn.__wrapped__, '_passkrl_entropy_route', False)\n"
        "sessions = v1.compute_advantage_for_multi_trajectories\n"
        "assert sessions._passkrl_sessions and not getattr(sessions.__wrapped__, '_passkrl_sessions', False)\n"
        "fn = legacy.compute_data_metrics\n"
        "assert fn._passkrl_metrics and not getattr(fn.__wrapped__, '_passkrl_metrics', False)\n"
        "assert 'verl.trainer.ppo.v1.trainer_base' in sys.modules  # the v1 package imports it\n"
        "import verl.trainer.ppo.v1.trainer_base as tb; assert tb.compute_advantage_for_multi_trajectories is sessions\n"
        "fn = tb.PPOTrainer._compute_advantage\n"
        "assert fn._passkrl_metrics and not getattr(fn.__wrapped__, '_passkrl_metrics', False)\n"
        "from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync; assert PPOTrainerSync._compute_advantage is fn\n"
        "import inspect; assert 'def compute_advantage' in inspect.getsource(legacy)\n"
        "print(before, n_finders, {**pv.entropy_route(), **pv.metrics_route()}, "
        "pv._FINDER in sys.meta_path)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    names = pv.WRAPPED + pv.METRICS_WRAPPED
    assert out.strip().splitlines()[-1] == (
        f"{ dict.fromkeys(names, False) } 1 { dict.fromkeys(names, True) } False"
    )



def _pad_like_balance_batch(data, n_pad):
    """Append ``n_pad`` rows the way verl's ``upsample_batch_to_divisible_size`` does: one fresh
    ``pad<hex>`` uid, an all-zero response mask and reward, each row its own session ``{pad}_{i}_0``."""
    width = data.batch["response_mask"].shape[1]
    pad = DataProto.from_dict(
        tensors={"token_level_rewards": torch.zeros(n_pad, width), "response_mask": torch.zeros(n_pad, width),
                 "old_log_probs": torch.zeros(n_pad, width)},
        non_tensors={"uid": np.array(["pad0123abcd"] * n_pad, dtype=object)},
    )
    keys = _session_keys(data) + [f"pad0123abcd_{i}_0" for i in range(n_pad)]
    return DataProto.concat([data, pad]), keys


def test_padding_rows_and_short_groups_through_the_v1_trainer_entry():
    from verl.trainer.ppo.v1.utils import compute_advantage_for_multi_trajectories as v1_entry

    data = _batch([6, 3, 6], seed=4)  # uid-1 lost three of its six trajectories
    padded, keys = _pad_like_balance_batch(data, 3)
    uids = list(data.non_tensor_batch["uid"])
    short_rows = [i for i, uid in enumerate(uids) if uid == "uid-1"]
    full = data.select_idxs([i for i, uid in enumerate(uids) if uid != "uid-1"])
    expected_full = _expected("passk_analytic", full, k=4)
    for policy in ("zero", "shrink"):
        out = v1_entry(padded.select_idxs(list(range(len(padded)))), batch_keys=keys, adv_estimator="passk_analytic",
                       config=OmegaConf.create({"passk": {"k": 4, "small_groups": policy}}))
        advantages = out.batch["advantages"].double()
        assert (advantages[len(data):] == 0).all()  # the padding rows
        torch.testing.assert_close(advantages[[i for i, uid in enumerate(uids) if uid != "uid-1"]], expected_full,
                                   rtol=1e-6, atol=1e-6)
        short = advantages[short_rows]
        if policy == "zero":
            assert (short == 0).all()
        else:  # k = its size: the analytic estimator with k = n = 3
            torch.testing.assert_close(short, _expected("passk_analytic", data.select_idxs(short_rows), k=3),
                                       rtol=1e-6, atol=1e-6)
        assert pv.last_batch_stats() == {"rows": 18, "padding_rows": 3, "groups": 3, "small_groups": 1}


def test_outputs_of_one_agent_session_count_once():
    from verl.trainer.ppo.v1.utils import compute_advantage_for_multi_trajectories as v1_entry

    data = _batch([4, 5], seed=6, shuffle=False)
    uids = list(data.non_tensor_batch["uid"])
    # The first session of uid-0 returned two outputs: the earlier one repeats the session's reward.
    extra = data.select_idxs([0])
    both = DataProto.concat([extra, data])
    keys = ["uid-0_0_0"] + [f"{uid}_{i}_{1 if i == 0 else 0}" for i, uid in enumerate(uids)]
    out = v1_entry(both, batch_keys=keys, adv_estimator="passk_analytic", config=OmegaConf.create({"passk": {"k": 2}}))
    advantages = out.batch["advantages"].double()
    expected = _expected("passk_analytic", data, k=2)  # one sample per session: n = 4 and 5, not 5 and 5
    torch.testing.assert_close(advantages[1:], expected, rtol=1e-6, atol=1e-6)
    mask = both.batch["response_mask"].double()
    per_response = (advantages * mask).sum(-1) / mask.sum(-1)
    assert per_response[0] == pytest.approx(float(per_response[1]))  # both outputs get the session's advantage
    assert pv.last_batch_stats()["groups"] == 2 and pv.last_batch_stats()["rows"] == 9


def test_passkrl_eval_reads_a_validation_dump_written_by_verl(tmp_path, capsys):
    from verl.trainer.ppo.ray_trainer import RayPPOTrainer

    from passkrl.cli import main as passkrl_main
    from passkrl.metrics import pass_at_k

    rng = np.random.default_rng(2)
    prompts = [f"maze {i}: find the path" for i in range(5)]
    inputs, outputs, scores = [], [], []
    for prompt in prompts:
        for _ in range(8):
            correct = bool(rng.random() < 0.4)
            inputs.append(prompt)
            outputs.append(f"thinking... <answer>{'RRDD' if correct else rng.choice(['RR', 'DD', 'LU'])}</answer>")
            scores.append(1.0 if correct else 0.0)
    dump_dir = tmp_path / "val"
    for step in (10, 20):  # verl writes one file per validation step
        RayPPOTrainer._write_generations(inputs, outputs, [None] * len(inputs), scores, {"acc": scores},
                                         str(dump_dir), step)
    assert passkrl_main(["eval", str(dump_dir), "--k", "1,4", "--json", str(tmp_path / "out.json")]) == 0
    assert "step 20" in capsys.readouterr().err
    result = json.loads((tmp_path / "out.json").read_text())
    counts = [sum(s for i, s in zip(inputs, scores) if i == p) for p in prompts]
    for entry in result["metrics"]["pass@k"]:
        assert entry["mean"] == pytest.approx(np.mean([pass_at_k(8, c, entry["k"]) for c in counts]))
    assert result["n_prompts"] == 5 and "maj@k" in result["metrics"]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text((dump_dir / "10.jsonl").read_text() + (dump_dir / "20.jsonl").read_text())
    assert passkrl_main(["eval", str(mixed)]) == 2
    assert "steps 10 and 20 in one file" in capsys.readouterr().err


def test_the_one_gpu_example_is_accepted_by_verl_config():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    overrides = _recipe_overrides(ROOT / "examples" / "verl_one_gpu.sh")
    assert len({o.split("=", 1)[0] for o in overrides}) == len(overrides)  # no setting given twice
    config_dir = Path(ray_trainer.__file__).resolve().parents[1] / "config"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        config = compose(config_name="ppo_trainer", overrides=overrides)
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
    rollout = config.actor_rollout_ref.rollout
    assert (config.trainer.n_gpus_per_node, rollout.n, rollout.tensor_model_parallel_size) == (1, 8, 1)
    assert config.data.train_batch_size == 32 and config.actor_rollout_ref.actor.ppo_mini_batch_size == 8
    assert config.trainer.validation_data_dir == "/home/user/passkrl_val_dumps"
    k, _, _ = pv.passk_settings(config.algorithm, pv.VERL_NAMES[config.algorithm.adv_estimator])
    assert k == 4 and pv.passk_small_groups(config.algorithm) == "zero"


def test_the_visual_maze_recipe_is_accepted_by_verl_config_and_its_rows_by_verls_dataset(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from verl.utils.config import validate_config
    from verl.trainer.ppo.utils import need_critic, need_reference_policy

    overrides = _recipe_overrides(RECIPES / "visual_maze.sh")
    config_dir = Path(ray_trainer.__file__).resolve().parents[1] / "config"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        config = compose(config_name="ppo_trainer", overrides=overrides)
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
    assert config.data.image_key == "images" and "VL" in config.actor_rollout_ref.model.path
    assert config.algorithm.adv_estimator == "passk_analytic"

    # verl's dataset reads the image column's {"bytes": PNG} entries as pictures (RLHFDataset's image path
    # opens them with PIL; qwen-vl-utils' resizing needs torchvision, which would replace the pinned torch).
    import io

    import pyarrow.parquet as pq
    from PIL import Image

    from passkrl.cli import main as passkrl_main

    out = tmp_path / "v.parquet"
    assert passkrl_main(["data", "maze", "--image", "--sizes", "7", "--n", "3", "--out", str(out), "--no-progress"]) == 0
    for row in pq.read_table(out).to_pylist():
        assert row["prompt"][0]["content"].count("<image>") == len(row["images"]) == 1
        assert Image.open(io.BytesIO(row["images"][0]["bytes"])).convert("RGB").size == (9 * 16, 9 * 16)
