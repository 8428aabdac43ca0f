"""The vision tier: the visual maze through verl's own image path and TRL's vision-language GRPO.

Run with ``pytest -m vision`` in an environment that has torchvision (the README's third command):
qwen-vl-utils, which verl's image path imports, and Qwen2-VL's processor both need it. Everything
is built here: the rows by ``passkrl data maze --image``, a tiny Qwen2-VL and its processor by
:mod:`passkrl.models.tiny_vlm`; nothing comes from a hub.

* verl: ``vision_utils.process_image`` decodes every exported row (Parquet bytes and JSONL data URIs)
  and the maze reads back from the resized image it returns, cell by cell; ``RLHFDataset`` then
  builds the chat messages from the rows, its length filter runs them through the processor, and
  the image the rollout would pass to the model (``process_vision_info``) is the same image.
* TRL: ``examples/trl_passk.py --task visual_maze`` builds the TRL rows and a ``PassKGRPOTrainer``
  around the tiny model, which runs GRPO steps: each prompt's own image reaches the model's forward
  pass, the advantages are passkrl's estimator on the rewards, and the vision tower's weights move
  (the images are in the gradient).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from passkrl import estimators
from passkrl.cli.data import main as data_main
from passkrl.tasks import maze as M
from passkrl.tasks.rewards import passkrl_reward
from passkrl.tasks.rows import read_rows
from tests.tasks.maze_pixels import read_resized

# torchvision, qwen-vl-utils, verl's data set, TRL and the tiny model are imported inside the tests, so
# that the default tier (which deselects them and has no torchvision) can still collect this file.

pytestmark = pytest.mark.vision

SIZES = (5, 7, 9, 11, 13, 15, 17, 19, 21)
N_GEN = 4


@pytest.fixture(scope="module")
def vlm_dir(tmp_path_factory):
    import torchvision  # noqa: F401  (Qwen2-VL's processor needs it: fail here, by name, if it is missing)

    from passkrl.models.tiny_vlm import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm"), seed=0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The same 40 mazes of every size, written as verl rows to Parquet and to JSONL."""
    directory = tmp_path_factory.mktemp("visual_rows")
    sizes = ",".join(map(str, SIZES))
    paths = {}
    for suffix in ("parquet", "jsonl"):
        paths[suffix] = directory / f"train.{suffix}"
        assert data_main(["maze", "--image", "--sizes", sizes, "--n", "40", "--out", str(paths[suffix]),
                          "--no-progress"]) == 0
    return paths


# ------------------------------------------------------------------------------------------ verl


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_verl_process_image_decodes_every_exported_row(exported, suffix):
    from PIL import Image
    from verl.utils.dataset.vision_utils import process_image

    rows = read_rows(exported[suffix])
    assert {row["extra_info"]["size"] for row in rows} == set(SIZES)  # every size offered is covered
    for row in rows:
        (entry,) = row["images"]
        image = process_image(dict(entry))  # verl's own decoder (qwen-vl-utils' fetch_image: RGB, resized)
        assert isinstance(image, Image.Image) and image.mode == "RGB"
        assert image.size[0] % 28 == 0 and image.size[1] % 28 == 0  # resized to whole merged patches
        assert read_resized(image, row["extra_info"]["size"]) == row["reward_model"]["ground_truth"]


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_verl_rl_dataset_builds_the_multimodal_prompt_the_rollout_sees(exported, vlm_dir, tmp_path, suffix):
    from omegaconf import OmegaConf
    from transformers import AutoProcessor
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from passkrl.models.tiny_vlm import IMAGE_PAD, VISION_END, VISION_START

    processor = AutoProcessor.from_pretrained(vlm_dir)
    config = OmegaConf.create({
        "prompt_key": "prompt", "image_key": "images", "max_prompt_length": 4096, "cache_dir": str(tmp_path),
        "filter_overlong_prompts": True,
        # None: datasets filters in this process. With a worker count it forks a pool even for one
        # worker, and a fork of a process whose torch thread pool is already running can hang.
        "filter_overlong_prompts_workers": None,
    })
    dataset = RLHFDataset(str(exported[suffix]), processor.tokenizer, config, processor=processor)
    rows = read_rows(exported[suffix])
    assert len(dataset) == len(rows)  # the length filter measured every prompt with its image, kept all
    image_pad_id = processor.tokenizer.convert_tokens_to_ids(IMAGE_PAD)
    for i in range(0, len(rows), 7):
        messages = dataset[i]["raw_prompt"]
        (user,) = messages
        kinds = [part["type"] for part in user["content"]]
        assert kinds == ["image", "text"]  # the <image> placeholder became the image entry, first
        images, videos = asyncio.run(RLHFDataset.process_vision_info(messages, dataset.image_patch_size, config))
        assert videos is None and len(images) == 1
        assert read_resized(images[0], rows[i]["extra_info"]["size"]) == rows[i]["reward_model"]["ground_truth"]
        text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert text.count(VISION_START + IMAGE_PAD + VISION_END) == 1
        inputs = processor(text=[text], images=images, return_tensors="pt")
        grid_thw = inputs["image_grid_thw"][0]
        # one image token per 2x2 merge of 14-pixel patches
        assert int((inputs["input_ids"][0] == image_pad_id).sum()) == int(grid_thw.prod()) // 4
        assert inputs["pixel_values"].shape[0] == int(grid_thw.prod())


# ------------------------------------------------------------------------------------------- TRL


def test_trl_passk_grpo_trains_a_vision_language_model_on_the_visual_maze(vlm_dir, tmp_path):
    """Through ``examples/trl_passk.py --task visual_maze``: its rows, its trainer, the tiny Qwen2-VL."""
    import torch
    from transformers import AutoProcessor

    from passkrl.integrations.trl import PassKGRPOTrainer
    from tests.integrations.test_examples import _example
    from tests.integrations.test_trl import capturing, even_first_char

    class Recording(capturing(PassKGRPOTrainer)):
        """Also keeps the multimodal inputs of each generation batch."""

        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            self.captured[-1].update(prompt_images=[x["image"] for x in inputs],
                                     pixel_values=output["pixel_values"].detach().clone(),
                                     image_grid_thw=output["image_grid_thw"].clone(),
                                     num_images=list(output["num_images"]))
            return output

    example = _example()
    rows = example.task_rows("visual_maze", 4, seed=0)
    assert {row["extra_info"]["size"] for row in rows} <= {7, 9} and all("image" in row for row in rows)
    trainer = example.build_trainer(
        vlm_dir, rows, [passkrl_reward, even_first_char], out=tmp_path / "out", steps=2, estimator="passk_analytic",
        k=2, num_generations=N_GEN, prompts_per_step=2, max_completion_length=16, learning_rate=1e-2,
        use_cpu=True, trainer_class=Recording, disable_tqdm=True,
    )
    processor = AutoProcessor.from_pretrained(vlm_dir)
    vision_before = {name: p.detach().clone() for name, p in trainer.model.named_parameters() if "visual" in name}
    assert vision_before
    trainer.train()

    assert len(trainer.captured) == 2
    for record in trainer.captured:
        # every completion's prompt carried its image, and that image is what the model was given:
        # the processor's own patches of the row's image, in the batch order
        assert record["num_images"] == [1] * (2 * N_GEN)
        expected = processor.image_processor(images=record["prompt_images"], return_tensors="pt")
        torch.testing.assert_close(record["image_grid_thw"], expected["image_grid_thw"])
        torch.testing.assert_close(record["pixel_values"], expected["pixel_values"])
        rewards_pn = record["rewards_per_func"].double().nansum(dim=1).view(-1, N_GEN).numpy()
        np.testing.assert_allclose(record["advantages"].numpy(),
                                   estimators.compute("passk_analytic", rewards_pn, k=2).reshape(-1),
                                   rtol=1e-6, atol=1e-6)
    assert any(bool(r["advantages"].abs().gt(0).any()) for r in trainer.captured)
    moved = [name for name, p in trainer.model.named_parameters()
             if name in vision_before and not torch.equal(p.detach(), vision_before[name])]
    assert moved  # the loss reached the vision tower through the image features
    assert trainer.state.log_history[0]["passk/k"] == 2

    # the maze verifier scores these rows through the same reward function: right paths earn 1.0
    right = [f"<answer>{M.shortest_path(row['reward_model']['ground_truth'])}</answer>" for row in rows]
    columns = {key: [row[key] for row in rows] for key in ("data_source", "reward_model", "extra_info")}
    assert passkrl_reward(completions=right, **columns) == [1.0] * len(rows)
