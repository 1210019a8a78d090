"""HunyuanVideo image-to-video on its own: both checkpoint variants' tiny twins, real pipelines."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model import ModelRegistry, ModelSpec, frames_for
from model.generation import GenerationCancelled, GenerationRequest, UnsupportedRequestError, VideoGenerator
from model.kinds.hunyuanvideo_i2v import HunyuanVideoImageToVideoAdapter
from model.loading import load_pipeline
from model.spec import Capability, Kind
from model.tiny import TINY_MARKER, build_tiny
from tests.helpers import generation_request, noise_picture

VARIANTS = {"hunyuanvideo-i2v-tiny": "token_replace", "hunyuanvideo-i2v-33ch-tiny": "latent_concat"}


@pytest.fixture(scope="module")
def i2v_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both twins, built by the builders their specs name."""
    root = tmp_path_factory.mktemp("i2v-models")
    registry = ModelRegistry()
    for name in VARIANTS:
        spec = registry.get(name)
        build_tiny(spec, root / spec.weights_subdir, seed=0)
    return root


@pytest.fixture(scope="module")
def generators(i2v_models_dir: Path) -> dict[str, VideoGenerator]:
    registry = ModelRegistry()
    return {
        name: VideoGenerator(registry.get(name), load_pipeline(registry.get(name), i2v_models_dir, "cpu"))
        for name in VARIANTS
    }


@pytest.fixture(params=list(VARIANTS))
def generator(request: pytest.FixtureRequest, generators: dict[str, VideoGenerator]) -> VideoGenerator:
    return generators[request.param]


def request(**overrides: Any) -> GenerationRequest:
    return generation_request(**{"image": noise_picture(1), **overrides})


def test_registry_has_both_checkpoints_and_their_twins() -> None:
    registry = ModelRegistry()
    real = registry.get("hunyuanvideo-i2v")
    real_33ch = registry.get("hunyuanvideo-i2v-33ch")
    assert real.hub_repository == "hunyuanvideo-community/HunyuanVideo-I2V"
    assert real_33ch.hub_repository == "hunyuanvideo-community/HunyuanVideo-I2V-33ch"
    assert real.prompt_template_crop_start == real_33ch.prompt_template_crop_start == 103
    for name in ("hunyuanvideo-i2v", "hunyuanvideo-i2v-33ch", *VARIANTS):
        spec = registry.get(name)
        assert spec.kind is Kind.HUNYUANVIDEO_I2V
        assert spec.capabilities == {Capability.IMAGE_TO_VIDEO}
    for name in VARIANTS:
        spec = registry.get(name)
        assert spec.weights_subdir == name and spec.tiny_builder is not None
        assert spec.prompt_template_crop_start is None
        assert (str(spec.defaults.size), spec.defaults.seconds, spec.defaults.fps) == ("128x128", 2, 8)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_twin_is_a_real_i2v_pipeline_of_its_variant(
    name: str, i2v_models_dir: Path, generators: dict[str, VideoGenerator]
) -> None:
    weights = i2v_models_dir / name
    index = json.loads((weights / "model_index.json").read_text())
    assert index["_class_name"] == "HunyuanVideoImageToVideoPipeline"
    assert index["text_encoder"] == ["transformers", "LlavaForConditionalGeneration"]
    assert index["transformer"] == ["diffusers", "HunyuanVideoTransformer3DModel"]
    assert index["vae"] == ["diffusers", "AutoencoderKLHunyuanVideo"]
    assert index["image_processor"][1].startswith("CLIPImageProcessor")
    assert json.loads((weights / TINY_MARKER).read_text())["model"] == name

    pipeline = generators[name].pipeline
    assert type(pipeline).__name__ == "HunyuanVideoImageToVideoPipeline"
    config = pipeline.transformer.config
    latent_channels = pipeline.vae.config.latent_channels
    assert config.image_condition_type == VARIANTS[name]
    assert config.in_channels == (2 * latent_channels + 1 if VARIANTS[name] == "latent_concat" else latent_channels)


def test_prompt_template_fits_the_twins_tokenizer_and_vision_tower(generator: VideoGenerator) -> None:
    adapter = generator.adapter
    assert isinstance(adapter, HunyuanVideoImageToVideoAdapter)
    template, tokenizer = adapter.prompt_template, generator.pipeline.tokenizer
    assert template["image_emb_len"] == generator.spec.extra["image_emb_len"] == 16
    assert template["image_emb_end"] - template["image_emb_start"] == 16

    ids = tokenizer(template["template"].format("a dog"))["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens[template["image_emb_start"]] == "<image>"
    assert tokenizer.decode(ids[template["crop_start"] :], skip_special_tokens=True).startswith("a dog")
    # The pipeline cuts the 4 tokens before the assistant's blank line, as with Llama 3's tokenizer.
    assistant = len(tokens) - 1 - tokens[::-1].index("<|end_header_id|>") + 1
    assert tokens[assistant - 4 : assistant + 1] == [
        "<|eot_id|>",
        "<|start_header_id|>",
        "assistant",
        "<|end_header_id|>",
        "\n\n",
    ]
    assert ids[assistant] == template["double_return_token_id"]

    with pytest.raises(ValueError, match="vision tower yields 16"):
        HunyuanVideoImageToVideoAdapter(replace(generator.spec, extra={"image_emb_len": 576}), generator.pipeline)


@pytest.mark.parametrize(("width", "height", "num_frames"), [(128, 128, frames_for(2, 8)), (256, 144, 5)])
def test_generates_exactly_the_requested_frames_at_the_requested_size(
    generator: VideoGenerator, width: int, height: int, num_frames: int
) -> None:
    video = generator.generate(
        request(width=width, height=height, num_frames=num_frames, image=noise_picture(1, width, height))
    )
    assert video.frames.shape == (num_frames, height, width, 3)
    assert video.frames.dtype == np.uint8


def test_same_image_and_seed_same_frames_other_image_other_frames(generator: VideoGenerator) -> None:
    first = generator.generate(request())
    again = generator.generate(request())
    other_image = generator.generate(request(image=noise_picture(2)))
    assert np.array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, other_image.frames)


def test_negative_prompt_runs_true_cfg(generator: VideoGenerator) -> None:
    video = generator.generate(request(negative_prompt="blurry, low quality", num_inference_steps=1))
    assert video.frames.shape == (5, 128, 128, 3)


def test_step_callback_reports_every_step_and_cancelling_skips_the_vae_decode(
    generator: VideoGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []
    generator.generate(request(num_inference_steps=3), on_step=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]

    vae = generator.pipeline.vae
    decode = vae.decode
    decodes: list[int] = []

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        decodes.append(1)
        return decode(*args, **kwargs)

    monkeypatch.setattr(vae, "decode", counting_decode)
    steps: list[int] = []

    def cancel_at_first(done: int, total: int) -> None:
        steps.append(done)
        raise GenerationCancelled

    with pytest.raises(GenerationCancelled):
        generator.generate(request(num_inference_steps=50), on_step=cancel_at_first)
    assert steps == [1]
    assert decodes == []
    generator.generate(request(num_inference_steps=1))
    assert decodes == [1]  # the wrapper does see a finished run's decode


def test_requests_without_a_fitting_image_are_refused(generator: VideoGenerator) -> None:
    with pytest.raises(UnsupportedRequestError, match="animates an image"):
        generator.generate(request(image=None))
    with pytest.raises(UnsupportedRequestError, match="the image is 256x144"):
        generator.generate(request(image=noise_picture(1, 256, 144)))


@pytest.mark.parametrize("name", list(VARIANTS))
def test_building_twice_with_one_seed_gives_identical_weights(name: str, i2v_models_dir: Path, tmp_path: Path) -> None:
    spec: ModelSpec = ModelRegistry().get(name)
    build_tiny(spec, tmp_path / name, seed=0)
    for part in (
        "transformer/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/model.safetensors",
        "tokenizer/tokenizer.json",
    ):
        assert (tmp_path / name / part).read_bytes() == (i2v_models_dir / name / part).read_bytes()
