"""The tiny offline Hugging Face LM: importable without transformers, deterministic, loadable."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch


def _run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_the_module_imports_without_transformers_and_names_the_extra_to_install():
    # transformers blocked (as if not installed): the module imports, a call names the extra.
    proc = _run("import sys; sys.modules['transformers'] = None\n"
                "from passkrl.models.tiny_hf import char_tokenizer\n"
                "try:\n    char_tokenizer()\nexcept ImportError as err:\n    print(err)")
    assert proc.stdout.splitlines() == ['the tiny Hugging Face models need transformers: pip install "passkrl[hf]"'], \
        proc.stderr
    proc = _run("import sys, passkrl.models.tiny_hf; print('transformers' in sys.modules)")
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
