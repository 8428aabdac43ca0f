"""The tiny offline Hugging Face models: importable without transformers, deterministic, loadable."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch


def _run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_the_modules_import_without_transformers_and_say_which_extra_is_missing():
    # transformers blocked (as if not installed): the modules import, a call names the extra to install.
    script = """
import sys
sys.modules["transformers"] = None
import passkrl.models.tiny_hf as lm, passkrl.models.tiny_vlm as vlm
for call in (lm.char_tokenizer, vlm.tiny_processor):
    try:
        call()
    except ImportError as err:
        print(err)
"""
    proc = _run(script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        'the tiny Hugging Face models need transformers: pip install "passkrl[hf]"',
        'the tiny vision-language model needs transformers and torchvision: pip install "passkrl[hf,vision]"',
    ]
    proc = _run("import sys, passkrl.models.tiny_hf, passkrl.models.tiny_vlm; print('transformers' in sys.modules)")
    assert proc.stdout.split() == ["False"], proc.stderr


pytest.importorskip("transformers")

from passkrl.models.tiny_hf import CHARACTERS, char_tokenizer, save_tiny_lm  # noqa: E402


def test_the_tokenizer_has_one_token_per_character_and_decodes_by_concatenation():
    tokenizer = char_tokenizer()
    ids = tokenizer(CHARACTERS)["input_ids"]
    assert len(ids) == len(CHARACTERS) == 96 and len(set(ids)) == 96
    assert tokenizer.decode(ids) == CHARACTERS
    assert tokenizer("é")["input_ids"] == [tokenizer.unk_token_id]
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "go"}], tokenize=False,
                                           add_generation_prompt=True)
    assert prompt == "<user>go\n<assistant>"


def test_save_tiny_lm_is_deterministic_per_seed_and_loads(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    first, again, other = (save_tiny_lm(tmp_path / name, seed=seed) for name, seed in (("a", 0), ("b", 0), ("c", 1)))
    weights = [AutoModelForCausalLM.from_pretrained(path).state_dict() for path in (first, again, other)]
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
    assert not all(torch.equal(weights[0][key], weights[2][key]) for key in weights[0])
    model = AutoModelForCausalLM.from_pretrained(first)
    tokenizer = AutoTokenizer.from_pretrained(first)
    assert model.config.vocab_size == len(tokenizer) == 100  # 4 special tokens and 96 characters
    assert 20_000 < sum(p.numel() for p in model.parameters()) < 40_000
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id
