"""A local Hugging Face model built offline (:mod:`passkrl.models.tiny_hf`, nothing from a hub), loaded and trained
end to end."""

from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers")

from passkrl.cli import main  # noqa: E402
from passkrl.models.hf import load_hf_causal_lm  # noqa: E402
from passkrl.models.tiny_hf import save_tiny_lm  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_lm(tmp_path_factory.mktemp("tiny-hf"), seed=0)


def test_load_and_errors(model_dir, tmp_path):
    model, tokenizer = load_hf_causal_lm(model_dir)
    assert tokenizer.decode(tokenizer("R D\n")["input_ids"]) == "R D\n"
    assert tokenizer.padding_side == "left" and model.dtype == torch.float32
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        load_hf_causal_lm(tmp_path / "missing")
    with pytest.raises(ValueError, match="no config.json"):
        load_hf_causal_lm(tmp_path)


def test_train_smoke_with_a_local_hf_model(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKRL_CACHE", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    argv = ["train", "--smoke", "--model", str(model_dir), "--max-new-tokens", "12", "--out", str(run_dir),
            "--no-progress", "--warmup-steps", "3", "--rl-steps", "2"]
    before = {k: v.clone() for k, v in load_hf_causal_lm(model_dir)[0].state_dict().items()}
    assert main(argv) == 0
    state = torch.load(run_dir / "checkpoint.pt", weights_only=False)["model"]
    assert any(not torch.equal(state[k], before[k]) for k in before if k in state)
    assert (run_dir / "eval.json").exists() and (run_dir / "evaluation.png").exists()
