"""Load a local Hugging Face causal LM (``transformers`` is the optional extra ``passkrl[hf]``).

Nothing is downloaded: the directory must hold ``config.json``, the weights and a tokenizer.
"""

from __future__ import annotations

from pathlib import Path


def load_hf_causal_lm(path: str | Path, device: str = "cpu"):
    """``(model, tokenizer)`` from a local directory, in float32, with a pad token set."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise ImportError('loading a Hugging Face model needs transformers: pip install "passkrl[hf]"') from None
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"--model: {str(directory)!r} is not a directory")
    if not (directory / "config.json").exists():
        raise ValueError(f"--model: {str(directory)!r} has no config.json; is it a Hugging Face model directory?")
    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True, dtype="float32").to(device)
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is None:
            raise ValueError(f"--model: the tokenizer in {str(directory)!r} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return model, tokenizer
