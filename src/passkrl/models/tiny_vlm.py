"""A tiny, randomly initialised Qwen2-VL with its processor, built entirely offline.

Used by the vision tier (``pytest -m vision``): verl's multimodal data path and TRL's GRPO with images.
The tokenizer is :func:`passkrl.models.tiny_hf.char_tokenizer` plus Qwen2-VL's three vision tokens,
with a chat template that writes an image entry as ``<|vision_start|><|image_pad|><|vision_end|>``
(the processor then repeats ``<|image_pad|>`` once per merged image patch). The model has one
vision block and two text layers of width 32 (about 70k parameters). Qwen2-VL's processor needs
torchvision (its video processor), which is why these tests have their own tier. ``transformers``
and torchvision are imported when a function is called, not with this module.
"""

from __future__ import annotations

from pathlib import Path

from passkrl.models.tiny_hf import char_tokenizer

NEEDS_VISION = 'the tiny vision-language model needs transformers and torchvision: pip install "passkrl[hf,vision]"'

VISION_START, VISION_END, IMAGE_PAD = "<|vision_start|>", "<|vision_end|>", "<|image_pad|>"

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<' + message['role'] + '>' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '" + VISION_START + IMAGE_PAD + VISION_END + "' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}"
)

# Images are resized to between 2x2 and 4x4 merged patches of 28x28 pixels: 4 to 16 image tokens.
MIN_PIXELS, MAX_PIXELS = 56 * 56, 112 * 112


def tiny_processor():
    """Qwen2-VL's processor around the character tokenizer (small images, see MIN/MAX_PIXELS)."""
    try:
        from transformers import Qwen2VLProcessor
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
    except ImportError as err:
        raise ImportError(NEEDS_VISION) from err

    tokenizer = char_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": [VISION_START, VISION_END, IMAGE_PAD]})
    tokenizer.chat_template = CHAT_TEMPLATE
    return Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=CHAT_TEMPLATE,
    )


def tiny_qwen2_vl(processor, *, seed: int = 0):
    """A randomly initialised Qwen2-VL matching ``processor``'s vocabulary (deterministic given ``seed``)."""
    import torch

    try:
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    except ImportError as err:
        raise ImportError(NEEDS_VISION) from err

    tokenizer = processor.tokenizer
    token_id = tokenizer.convert_tokens_to_ids
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
            # multimodal RoPE: the 8 rotary frequencies of a head split over (time, height, width)
            "rope_scaling": {"type": "mrope", "mrope_section": [1, 1, 2]},
            "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": tokenizer.bos_token_id,
        },
        vision_config={
            "depth": 1, "embed_dim": 32, "hidden_size": 32, "num_heads": 2, "mlp_ratio": 2, "in_chans": 3,
            "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
        },
        image_token_id=token_id(IMAGE_PAD), vision_start_token_id=token_id(VISION_START),
        vision_end_token_id=token_id(VISION_END),
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def save_tiny_vlm(directory: str | Path, *, seed: int = 0) -> Path:
    """Write the processor and a fresh tiny Qwen2-VL to ``directory`` (loadable by ``from_pretrained``)."""
    processor = tiny_processor()  # first: without transformers or torchvision, nothing is written
    model = tiny_qwen2_vl(processor, seed=seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory
