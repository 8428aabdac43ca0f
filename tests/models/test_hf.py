"""A local Hugging Face model built by the test (nothing from a hub), loaded and trained end to end."""

from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from passkrl.cli import main  # noqa: E402
from passkrl.models.hf import load_hf_causal_lm  # noqa: E402


def build_tiny_model(directory: Path) -> Path:
    chars = [chr(i) for i in range(32, 127)] + ["\n"]
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, **{c: i + 3 for i, c in enumerate(chars)}}
    core = tokenizers.Tokenizer(tokenizers.models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.decoder = tokenizers.decoders.Fuse()
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>",
                                                     unk_token="<unk>")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(vocab), n_positions=1024, n_embd=32, n_layer=1, n_head=2,
                                     pad_token_id=0, eos_token_id=1, bos_token_id=1)
    transformers.GPT2LMHeadModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-hf"))


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
