"""A tiny, randomly initialised Hugging Face causal LM with a character tokenizer, built entirely offline.

For tests, examples and benchmarks that need a real ``transformers`` model but no download (the TRL
tests, ``benchmarks/bench_integrations.py``, ``benchmarks/bench_trainer.py``)::

    from passkrl.models.tiny_hf import save_tiny_lm
    model_dir = save_tiny_lm("tiny", seed=0)     # then from_pretrained(model_dir), --model tiny, ...

The tokenizer maps every printable ASCII character and the newline to one token (anything else to
``<unk>``), decodes by concatenation, and carries a minimal chat template so that conversational
data sets work too. The model is a 2-layer Llama with hidden size 32 (about 30k parameters). It needs
``transformers`` (``passkrl[hf]``), imported when a function is called, not with this module.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

NEEDS_HF = 'the tiny Hugging Face models need transformers: pip install "passkrl[hf]"'

PAD, EOS, BOS, UNK = "<pad>", "<eos>", "<bos>", "<unk>"
SPECIAL_TOKENS = (PAD, EOS, BOS, UNK)
CHARACTERS = "".join(ch for ch in string.printable if ch not in "\t\r\x0b\x0c")  # 95 printable + "\n"

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<' + message['role'] + '>' + message['content'] + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}"
)


def char_tokenizer() -> PreTrainedTokenizerFast:
    """A character-level fast tokenizer: one token per character, special tokens first."""
    try:
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast
    except ImportError:
        raise ImportError(NEEDS_HF) from None

    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    for ch in CHARACTERS:
        vocab.setdefault(ch, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()  # concatenate tokens (WordLevel would join them with spaces)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, eos_token=EOS, bos_token=BOS, unk_token=UNK
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_llama(tokenizer: PreTrainedTokenizerFast, *, seed: int = 0, hidden_size: int = 32,
               n_layers: int = 2, max_positions: int = 2048) -> LlamaForCausalLM:
    """A randomly initialised Llama sized for CPU tests (deterministic given ``seed``)."""
    import torch

    try:
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError:
        raise ImportError(NEEDS_HF) from None

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=n_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def save_tiny_lm(directory: str | Path, *, seed: int = 0) -> Path:
    """Write the tokenizer and a fresh tiny model to ``directory`` (loadable by ``from_pretrained``)."""
    tokenizer = char_tokenizer()  # first: without transformers, nothing is written
    model = tiny_llama(tokenizer, seed=seed)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
