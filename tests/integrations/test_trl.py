"""Tests of passkrl.integrations.trl against the real TRL GRPOTrainer (CPU, tiny offline model).

* real optimisation steps of PassKGRPOTrainer: the advantages it trains on are passkrl's estimator
  on the rewards TRL gathered, the weights move, the passk/* metrics reach the log history;
* TRL's own GRPOTrainer vs PassKGRPOTrainer on the same seeds and data: ``dr_grpo`` equals TRL's
  ``scale_rewards="none"`` and ``grpo`` equals TRL's ``scale_rewards="group"`` after the exact
  conversion between the two std conventions (TRL: Bessel-corrected std + 1e-4; passkrl:
  population std, docs/estimators.md), which proves the hook sits where TRL computes its advantages;
* the pure gather -> group -> slice logic for 2 and 4 simulated processes and ragged groups;
* configuration errors, including from the command line (HfArgumentParser).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, HfArgumentParser
from trl import GRPOConfig, GRPOTrainer

from passkrl import estimators
from passkrl.integrations.trl import (
    PassKGRPOConfig,
    PassKGRPOTrainer,
    maze_dataset,
    maze_reward,
    passk_advantages,
    passk_metrics,
    weighted_rewards,
)
from passkrl.metrics import eta, pass_at_k
from passkrl.models.tiny_hf import save_tiny_lm
from passkrl.tasks import maze

N_GEN = 4


# ------------------------------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny_lm(tmp_path_factory.mktemp("tiny_lm"), seed=0)


def _text(completion) -> str:
    return completion if isinstance(completion, str) else completion[-1]["content"]


def even_first_char(completions, **kwargs) -> list[float]:
    """Synthetic binary reward that a random model earns about half the time."""
    return [1.0 if _text(c) and ord(_text(c)[0]) % 2 == 0 else 0.0 for c in completions]


def half_if_vowel(completions, **kwargs) -> list[float]:
    """A non-binary reward (0 or 0.5)."""
    return [0.5 if any(ch in "aeiou" for ch in _text(c)) else 0.0 for c in completions]


def capturing(base: type) -> type:
    """A subclass of ``base`` that records, per generation batch, the gathered rewards and the
    advantages the trainer hands to its loss (nothing of TRL is replaced)."""

    class Capturing(base):
        def __init__(self, *args, record_entropy: bool = False, **kwargs):
            super().__init__(*args, **kwargs)
            self.record_entropy = record_entropy
            self.captured: list[dict] = []

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._captured_rewards = rewards.detach().clone()
            return rewards

        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            record = {"rewards_per_func": self._captured_rewards, "advantages": output["advantages"].detach().clone()}
            if self.record_entropy:
                record["entropy"] = _manual_entropy(self.model, output, self.temperature)
            self.captured.append(record)
            return output

    return Capturing


@torch.no_grad()
def _manual_entropy(model, output, temperature: float) -> torch.Tensor:
    """Mean token entropy of each completion, from a plain forward pass of the (not yet updated) model."""
    ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
    attention = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
    n_completion = output["completion_ids"].shape[1]
    logits = model(input_ids=ids, attention_mask=attention).logits[:, -n_completion - 1:-1] / temperature
    logp = torch.log_softmax(logits.double(), dim=-1)
    entropy = -(logp.exp() * logp).sum(-1)  # [B, T]
    mask = output["completion_mask"].double()
    return (entropy * mask).sum(1) / mask.sum(1).clamp(min=1)


def _config(tmp_path, config_cls=PassKGRPOConfig, **overrides):
    settings = {
        "output_dir": str(tmp_path / "out"),
        "max_steps": 2,
        "per_device_train_batch_size": 2 * N_GEN,  # two prompts of N_GEN completions per step
        "num_generations": N_GEN,
        "max_completion_length": 16,
        "learning_rate": 1e-2,
        "logging_steps": 1,
        "seed": 0,
        "report_to": "none",
        "use_cpu": True,
        "bf16": False,
        "gradient_checkpointing": False,
        "save_strategy": "no",
        "disable_tqdm": True,
    }
    return config_cls(**{**settings, **overrides})


def _trainer(cls, tiny_dir, config, reward_funcs, n_mazes: int = 8, **kwargs):
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    dataset = maze_dataset([5, 7], n_mazes, seed=1)
    return capturing(cls)(model=model, processing_class=tokenizer, reward_funcs=reward_funcs, args=config,
                          train_dataset=dataset, **kwargs)


def _grouped_rewards(rewards_per_func: torch.Tensor) -> np.ndarray:
    return rewards_per_func.double().nansum(dim=1).view(-1, N_GEN).numpy()


# ------------------------------------------------------------------------- real training steps


def test_passk_trainer_trains_on_passkrl_advantages(tiny_dir, tmp_path):
    config = _config(tmp_path, passk_estimator="passk_analytic", passk_k=2)
    trainer = _trainer(PassKGRPOTrainer, tiny_dir, config, [maze_reward, even_first_char])
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.train()

    assert len(trainer.captured) == 2  # one generation batch per optimisation step
    for record in trainer.captured:
        rewards_pn = _grouped_rewards(record["rewards_per_func"])
        expected = estimators.compute("passk_analytic", rewards_pn, k=2).reshape(-1)
        np.testing.assert_allclose(record["advantages"].numpy(), expected, rtol=1e-6, atol=1e-6)
    # The random model must have produced some signal, or this test proves nothing.
    assert any(bool(r["advantages"].abs().gt(0).any()) for r in trainer.captured)
    # ... and the policy moved.
    changed = [name for name, p in trainer.model.named_parameters() if not torch.equal(p.detach(), before[name])]
    assert changed

    # The completions table holds our advantages, not TRL's.
    np.testing.assert_allclose(np.array(trainer._logs["advantages"]), trainer.captured[-1]["advantages"].numpy(),
                               rtol=1e-6, atol=1e-6)

    # The passk/* metrics are logged with TRL's, one generation batch per logging step.
    for step_log, record in zip(trainer.state.log_history[:2], trainer.captured):
        rewards_pn = _grouped_rewards(record["rewards_per_func"])
        adv_pn = record["advantages"].double().view(-1, N_GEN).numpy()
        correct = (rewards_pn > 0.5).sum(axis=1)
        assert "reward" in step_log and "loss" in step_log  # TRL's own metrics are still there
        assert step_log["passk/pass@1"] == pytest.approx(float(np.mean(correct / N_GEN)))
        assert step_log["passk/pass@k"] == pytest.approx(float(np.mean(pass_at_k(N_GEN, correct, 2))))
        assert step_log["passk/eta"] == pytest.approx(float(np.mean(eta(adv_pn))), abs=1e-6)
        assert step_log["passk/adv_abs_max"] == pytest.approx(float(np.abs(adv_pn).max()), abs=1e-6)
        assert step_log["passk/adv_pos_frac"] == pytest.approx(float((adv_pn > 0).mean()))
        assert step_log["passk/adv_mean"] == pytest.approx(0.0, abs=1e-6)  # zero-sum estimator
        assert step_log["passk/adv_std"] == pytest.approx(float(adv_pn.std()), abs=1e-6)
        assert step_log["passk/k"] == 2


@pytest.mark.parametrize(
    ("estimator", "scale_rewards"),
    [("dr_grpo", "none"), ("grpo", "group")],
)
def test_same_advantages_as_trl(tiny_dir, tmp_path, estimator, scale_rewards):
    """Same seed, data and model: TRL's GRPOTrainer and PassKGRPOTrainer generate the same first
    batch, and the advantages agree (after the exact std conversion for grpo)."""
    trl_trainer = _trainer(GRPOTrainer, tiny_dir, _config(tmp_path / "trl", GRPOConfig, max_steps=1,
                                                          scale_rewards=scale_rewards), [even_first_char])
    trl_trainer.train()
    ours = _trainer(PassKGRPOTrainer, tiny_dir, _config(tmp_path / "ours", max_steps=1, passk_estimator=estimator,
                                                        passk_k=1), [even_first_char])
    ours.train()

    theirs, mine = trl_trainer.captured[0], ours.captured[0]
    torch.testing.assert_close(theirs["rewards_per_func"], mine["rewards_per_func"])  # the same completions
    rewards_pn = _grouped_rewards(mine["rewards_per_func"])
    assert np.ptp(rewards_pn, axis=1).max() > 0, "no group with varying rewards: the comparison would be vacuous"
    trl_adv = theirs["advantages"].double().numpy()
    our_adv = mine["advantages"].double().numpy()
    if estimator == "dr_grpo":
        np.testing.assert_allclose(our_adv, trl_adv, rtol=1e-6, atol=1e-6)
    else:
        # TRL: (r - mean) / (std_unbiased + 1e-4); passkrl: (r - mean) / std_population.
        std_pop = rewards_pn.std(axis=1)
        std_unbiased = rewards_pn.std(axis=1, ddof=1)
        factor = np.repeat(std_pop / (std_unbiased + 1e-4), N_GEN)
        np.testing.assert_allclose(our_adv * factor, trl_adv, rtol=1e-5, atol=1e-6)
        varying = np.repeat(np.ptp(rewards_pn, axis=1) > 0, N_GEN)
        # ... and the conventions really differ (by sqrt(4/3) for n = 4), so the conversion is needed.
        assert np.all(np.abs(our_adv[varying]) > np.abs(trl_adv[varying]) * 1.1)


def test_adaptive_entropy_uses_true_token_entropies(tiny_dir, tmp_path):
    config = _config(tmp_path, max_steps=1, passk_estimator="adaptive_entropy", passk_k=2, num_generations=N_GEN,
                     per_device_train_batch_size=4 * N_GEN)
    trainer = _trainer(PassKGRPOTrainer, tiny_dir, config, [even_first_char], record_entropy=True)
    trainer.train()
    record, batch = trainer.captured[0], trainer.last_passk
    np.testing.assert_allclose(batch.entropy_pn.reshape(-1).numpy(), record["entropy"].numpy(), rtol=1e-4, atol=1e-4)
    assert float(batch.entropy_pn.min()) > 0 and float(batch.entropy_pn.max()) <= math.log(100) + 1e-6
    rewards_pn = _grouped_rewards(record["rewards_per_func"])
    expected = estimators.compute("adaptive_entropy", rewards_pn, k=2, entropy=batch.entropy_pn.numpy())
    np.testing.assert_allclose(record["advantages"].numpy(), expected.reshape(-1), rtol=1e-6, atol=1e-6)


def test_adaptive_entropy_sees_truncated_completions_that_trl_masks_out(tiny_dir, tmp_path):
    # Four tokens: the tiny random model almost never ends a completion, so TRL masks nearly all of them.
    config = _config(tmp_path, max_steps=1, passk_estimator="adaptive_entropy", passk_k=2, num_generations=N_GEN,
                     per_device_train_batch_size=4 * N_GEN, max_completion_length=4, mask_truncated_completions=True)
    trainer = _trainer(PassKGRPOTrainer, tiny_dir, config, [even_first_char])
    trainer.train()
    entropy = trainer.last_passk.entropy_pn
    assert float(entropy.min()) > 0 and float(entropy.max()) <= math.log(100) + 1e-6  # was 0.0 for every masked one
    assert trainer.passk_entropy_forwards["extra"] >= 1


def test_completion_tokens_rebuilds_the_mask_of_a_masked_truncated_completion(tiny_dir, tmp_path):
    config = _config(tmp_path, max_steps=1, passk_estimator="adaptive_entropy", passk_k=2,
                     mask_truncated_completions=True)
    trainer = _trainer(PassKGRPOTrainer, tiny_dir, config, [even_first_char])
    pad = trainer._tokenizer.pad_token_id
    other = (pad + 1) % 50
    ids = torch.tensor([[other, other, other], [other, pad, pad], [other, other, pad]])
    masks = torch.tensor([[0, 0, 0], [1, 1, 0], [1, 1, 1]])  # row 0: truncated and masked by TRL
    tokens, truncated = trainer._completion_tokens({"completion_ids": ids, "completion_mask": masks})
    assert truncated.tolist() == [True, False, False]
    assert tokens.tolist() == [[1, 1, 1], [1, 1, 0], [1, 1, 1]]


def test_adaptive_entropy_reuses_the_old_log_prob_forward_trl_already_makes(tiny_dir, tmp_path):
    # Generation every 2 optimizer steps: TRL computes old log-probs for importance sampling itself.
    config = _config(tmp_path, max_steps=2, passk_estimator="adaptive_entropy", passk_k=2, num_generations=N_GEN,
                     per_device_train_batch_size=2 * N_GEN, gradient_accumulation_steps=1, steps_per_generation=2)
    trainer = _trainer(PassKGRPOTrainer, tiny_dir, config, [even_first_char], record_entropy=True)
    trainer.train()
    assert trainer.passk_entropy_forwards == {"reused": 1, "extra": 0}
    record, batch = trainer.captured[0], trainer.last_passk
    np.testing.assert_allclose(batch.entropy_pn.reshape(-1).numpy(), record["entropy"].numpy(), rtol=1e-4, atol=1e-4)


def test_binary_only_estimator_names_the_config_field(tiny_dir, tmp_path):
    config = _config(tmp_path, max_steps=1, passk_estimator="exceeding", passk_k=2)
    trainer = _trainer(PassKGRPOTrainer, tiny_dir, config, [half_if_vowel])
    with pytest.raises(ValueError, match=r"passk_estimator='exceeding'.*binary"):
        trainer.train()


def test_trainer_needs_passk_config(tiny_dir, tmp_path):
    with pytest.raises(TypeError, match="PassKGRPOConfig"):
        _trainer(PassKGRPOTrainer, tiny_dir, _config(tmp_path, GRPOConfig), [even_first_char])


# ------------------------------------------------------------- gather -> group -> slice, no TRL


def _random_rewards(n_prompts: int, n_funcs: int = 2, seed: int = 0, nan_share: float = 0.0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    rewards = rng.integers(0, 2, size=(n_prompts * N_GEN, n_funcs)).astype(np.float32)
    rewards[:, 1] *= 0.5  # the second function scores 0 or 0.5
    if nan_share:
        rewards[rng.random(rewards.shape) < nan_share] = np.nan
    return torch.from_numpy(rewards)


@pytest.mark.parametrize("world_size", [2, 4])
@pytest.mark.parametrize("estimator", ["passk_analytic", "passk_bootstrap", "pkpo_loo1", "grpo"])
def test_slices_of_simulated_processes(world_size, estimator):
    rewards = _random_rewards(n_prompts=6, seed=world_size)  # 24 completions
    weights = torch.tensor([1.0, 2.0])
    single = passk_advantages(rewards, weights, num_generations=N_GEN, process_index=0, local_batch_size=24,
                              estimator=estimator, k=2, generator=7)
    local = 24 // world_size  # a process's batch need not hold whole groups (6 rows with world_size 4)
    slices = [
        passk_advantages(rewards, weights, num_generations=N_GEN, process_index=rank, local_batch_size=local,
                         estimator=estimator, k=2, generator=7).advantages
        for rank in range(world_size)
    ]
    for rank, part in enumerate(slices):
        torch.testing.assert_close(part, single.all_advantages[rank * local:(rank + 1) * local])
    torch.testing.assert_close(torch.cat(slices), single.all_advantages)
    # The whole batch is the estimator on the weighted rewards, grouped as TRL groups them.
    expected = estimators.compute(estimator, (rewards.double() * weights.double()).sum(1).view(-1, N_GEN), k=2,
                                  generator=7)
    torch.testing.assert_close(single.advantages_pn, expected)


def test_unscorable_rows_are_masked_out_of_their_group():
    rewards = torch.tensor([
        [1.0, float("nan")], [0.0, 0.0], [float("nan"), float("nan")], [1.0, float("nan")],  # group 0: one unscorable
        [float("nan")] * 2, [float("nan")] * 2, [float("nan")] * 2, [1.0, 0.0],  # group 1: one scorable < k
        [0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0],  # group 2: full
    ])
    batch = passk_advantages(rewards, [1.0, 1.0], num_generations=N_GEN, process_index=1, local_batch_size=6,
                             estimator="passk_analytic", k=2)
    adv = batch.advantages_pn
    weighted = weighted_rewards(rewards, torch.tensor([1.0, 1.0])).double().view(3, N_GEN)
    # Group 0 is the estimator on its 3 scorable completions; the unscorable one gets 0.
    expected0 = estimators.compute("passk_analytic", weighted[0, [0, 1, 3]][None], k=2)[0]
    torch.testing.assert_close(adv[0, [0, 1, 3]], expected0)
    assert adv[0, 2] == 0
    # The same with an explicit mask on the padded group.
    masked = estimators.compute("passk_analytic", torch.nan_to_num(weighted[:1]), k=2, mask=~weighted[:1].isnan())
    torch.testing.assert_close(adv[:1], masked)
    # Group 1 has fewer than k scorable completions: no k-subset, all zeros, counted as skipped.
    assert torch.equal(adv[1], torch.zeros(N_GEN, dtype=torch.float64))
    assert batch.estimated_p.tolist() == [True, False, True]
    torch.testing.assert_close(adv[2], estimators.compute("passk_analytic", weighted[2:], k=2)[0])
    # Process 1 of 2 holds rows 6..11.
    torch.testing.assert_close(batch.advantages, batch.all_advantages[6:12])
    metrics = passk_metrics(batch)
    assert metrics["passk/frac_groups_skipped"] == pytest.approx(1 / 3)
    # pass@1 over groups with a scorable completion: group 0 has 2/3 correct (reward > 0.5), group 1 1/1, group 2 2/4.
    assert metrics["passk/pass@1"] == pytest.approx((2 / 3 + 1 + 2 / 4) / 3)
    assert metrics["passk/pass@k"] == pytest.approx((pass_at_k(3, 2, 2) + pass_at_k(4, 2, 2)) / 2)


def test_all_unscorable_gives_zero_and_no_nan_metrics():
    rewards = torch.full((2 * N_GEN, 1), float("nan"))
    batch = passk_advantages(rewards, [1.0], num_generations=N_GEN, process_index=0, local_batch_size=2 * N_GEN,
                             estimator="passk_analytic", k=2)
    assert torch.equal(batch.all_advantages, torch.zeros(2 * N_GEN))
    metrics = passk_metrics(batch)
    assert all(math.isfinite(v) for v in metrics.values())
    assert "passk/pass@k" not in metrics and metrics["passk/frac_groups_skipped"] == 1.0


def test_weighted_rewards_match_trl_arithmetic():
    rewards = torch.tensor([[1.0, float("nan")], [float("nan"), float("nan")], [0.5, 1.0]])
    out = weighted_rewards(rewards, torch.tensor([2.0, 3.0]))
    assert out[0] == 2.0 and math.isnan(out[1]) and out[2] == 4.0


def test_slice_errors():
    rewards = _random_rewards(2)
    with pytest.raises(ValueError, match="num_generations"):
        passk_advantages(rewards, [1, 1], num_generations=3, process_index=0, local_batch_size=8,
                         estimator="grpo", k=1)
    with pytest.raises(ValueError, match="does not fit"):
        passk_advantages(rewards, [1, 1], num_generations=N_GEN, process_index=2, local_batch_size=4,
                         estimator="grpo", k=1)


def test_binary_error_from_the_pure_function():
    rewards = _random_rewards(2)  # second function gives 0.5: not binary
    with pytest.raises(ValueError, match=r"passk_estimator='exceeding'.*binary.*passk_analytic"):
        passk_advantages(rewards, [1, 1], num_generations=N_GEN, process_index=0, local_batch_size=8,
                         estimator="exceeding", k=2)


# ------------------------------------------------------------------------------- configuration


def _cfg(tmp_path, **kwargs) -> PassKGRPOConfig:
    return _config(tmp_path, **kwargs)


def test_config_defaults_and_params_as_json(tmp_path):
    config = _cfg(tmp_path)
    assert (config.passk_estimator, config.passk_k, config.passk_params) == ("passk_analytic", 4, {})
    config = _cfg(tmp_path, passk_estimator="drop_easy", passk_params='{"threshold": 0.25, "base": "pkpo_loo1"}')
    assert config.passk_params == {"threshold": 0.25, "base": "pkpo_loo1"}
    assert json.loads(config.to_json_string())["passk_params"] == {"threshold": 0.25, "base": "pkpo_loo1"}


def test_config_from_command_line(tmp_path):
    parser = HfArgumentParser(PassKGRPOConfig)
    (config,) = parser.parse_args_into_dataclasses([
        "--output_dir", str(tmp_path), "--use_cpu", "--report_to", "none", "--bf16", "false",
        "--num_generations", "8", "--per_device_train_batch_size", "8",
        "--passk_estimator", "drop_easy", "--passk_k", "8", "--passk_params", '{"threshold": 0.6}',
    ])
    assert config.passk_estimator == "drop_easy" and config.passk_k == 8
    assert config.passk_params == {"threshold": 0.6}


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"passk_estimator": "passk_magic"}, r"passk_estimator='passk_magic'.*known: .*passk_analytic"),
        ({"passk_k": 0}, r"passk_k must be >= 1, got passk_k=0"),
        ({"passk_k": 4.0}, r"passk_k must be an integer, got 4.0 \(float\)"),
        ({"passk_k": True}, r"passk_k must be an integer, got True \(bool\)"),
        ({"passk_k": 5}, r"passk_k=5 is larger than num_generations=4.*raise num_generations or lower passk_k"),
        ({"passk_params": {"treshold": 0.5}, "passk_estimator": "drop_easy"},
         r"passk_estimator='drop_easy': .*unknown parameter\(s\) treshold; it accepts: base, threshold"),
        ({"passk_params": {"n_groups": 4}}, r"passk_estimator='passk_analytic': .*n_groups; it accepts: form"),
        ({"passk_params": "{not json"}, r"passk_params is not valid JSON .*'\{not json'"),
        ({"passk_params": "[1, 2]"}, r"passk_params must be a JSON object"),
        ({"passk_estimator": "combination", "passk_params": {"pass1": "nope"}},
         r"passk_estimator='combination': combination pass1='nope' is not a registered estimator"),
        ({"passk_estimator": "passk_analytic", "passk_params": {"form": "weird"}},
         r"passk_estimator='passk_analytic': form must be 'auto', 'binary' or 'continuous'"),
        ({"passk_estimator": "adaptive_entropy", "passk_params": {"entropy": [1.0]}},
         r"passk_estimator='adaptive_entropy': .*unknown parameter\(s\) entropy"),
        ({"passk_k_schedule": "8@0,1@100"}, r"passk_k_schedule=8@0,1@100: k=8 is larger than num_generations=4.*"
                                           r"lower passk_k_schedule"),
        ({"passk_k_schedule": "4@5"}, r"passk_k_schedule='4@5'.*must start at step 0"),
        ({"multi_objective_aggregation": "normalize_then_sum"}, r"multi_objective_aggregation='normalize_then_sum'"),
    ],
)
def test_config_errors_name_the_field(tmp_path, overrides, pattern):
    with pytest.raises(ValueError, match=pattern):
        _cfg(tmp_path, **overrides)


def test_k_schedule(tmp_path):
    config = _cfg(tmp_path, passk_k_schedule="4@0,1@10")
    assert [config.passk_k_at(s) for s in (0, 9, 10, 50)] == [4, 4, 1, 1]
    assert _cfg(tmp_path, passk_k=3).passk_k_at(100) == 3


# --------------------------------------------------------------------------------- maze in TRL form


def test_maze_reward_and_dataset():
    dataset = maze_dataset([5, 7], 4, seed=3)
    assert set(dataset.column_names) == {"prompt", "grid", "size", "solution"}
    assert dataset[0]["prompt"][0]["role"] == "user" and dataset[0]["grid"] in dataset[0]["prompt"][0]["content"]
    assert dataset["size"] == [5, 7, 5, 7]
    plain = maze_dataset([5, 7], 4, seed=3, conversational=False)
    assert plain[1]["prompt"] == maze.prompt(plain[1]["grid"])
    grids = dataset["grid"]
    good = [f"<answer>{s}</answer>" for s in dataset["solution"]]
    completions = [good[0], [{"role": "assistant", "content": good[1]}], "no answer", [{"role": "assistant",
                                                                                     "content": "<answer>U</answer>"}]]
    assert maze_reward(dataset["prompt"], completions, grids) == [1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="'grid' column"):
        maze_reward(["p"], ["c"])
