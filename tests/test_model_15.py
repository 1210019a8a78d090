"""HunyuanVideo 1.5, text-to-video and image-to-video, through their tiny twins: the real diffusers
pipelines (no mocks) loaded from disk as the worker loads them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model import ModelRegistry, Size
from model.generation import GenerationCancelled, Stage, UnsupportedRequestError, VideoGenerator
from model.loading import load_pipeline
from model.spec import Capability, Kind
from model.tiny import build_tiny
from tests.helpers import generation_request, noise_picture

T2V, I2V = "hunyuanvideo-1.5-tiny", "hunyuanvideo-1.5-i2v-tiny"


@pytest.fixture(scope="module")
def models_dir_15(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models15")
    registry = ModelRegistry()
    for name in (T2V, I2V):
        build_tiny(registry.get(name), root / name, seed=0)
    return root


@pytest.fixture(scope="module")
def t2v(models_dir_15: Path) -> VideoGenerator:
    spec = ModelRegistry().get(T2V)
    return VideoGenerator(spec, load_pipeline(spec, models_dir_15, "cpu"))


@pytest.fixture(scope="module")
def i2v(models_dir_15: Path) -> VideoGenerator:
    spec = ModelRegistry().get(I2V)
    return VideoGenerator(spec, load_pipeline(spec, models_dir_15, "cpu"))


def count_calls(obj: Any, name: str) -> list[int]:
    """Wrap ``obj.name`` (an instance attribute, removed with ``del``) to count its calls."""
    calls: list[int] = []
    original: Callable[..., Any] = getattr(obj, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    setattr(obj, name, counted)
    return calls


def test_twins_are_the_real_pipelines_in_diffusers_layout(
    models_dir_15: Path, t2v: VideoGenerator, i2v: VideoGenerator
) -> None:
    index = json.loads((models_dir_15 / T2V / "model_index.json").read_text())
    assert index["_class_name"] == "HunyuanVideo15Pipeline"
    assert index["transformer"] == ["diffusers", "HunyuanVideo15Transformer3DModel"]
    assert index["vae"] == ["diffusers", "AutoencoderKLHunyuanVideo15"]
    assert index["text_encoder"] == ["transformers", "Qwen2_5_VLTextModel"]
    assert index["tokenizer"] == ["transformers", "Qwen2Tokenizer"]
    assert index["text_encoder_2"] == ["transformers", "T5EncoderModel"]
    assert index["tokenizer_2"] == ["transformers", "ByT5Tokenizer"]
    assert index["guider"] == ["diffusers", "ClassifierFreeGuidance"]
    index = json.loads((models_dir_15 / I2V / "model_index.json").read_text())
    assert index["_class_name"] == "HunyuanVideo15ImageToVideoPipeline"
    assert index["image_encoder"] == ["transformers", "SiglipVisionModel"]
    assert type(t2v.pipeline).__name__ == "HunyuanVideo15Pipeline"
    assert type(i2v.pipeline).__name__ == "HunyuanVideo15ImageToVideoPipeline"
    assert type(i2v.pipeline.feature_extractor).__name__.startswith("SiglipImageProcessor")


def test_system_prompt_crop_is_counted_with_the_twins_tokenizer(t2v: VideoGenerator) -> None:
    from diffusers.pipelines.hunyuan_video1_5.pipeline_hunyuan_video1_5 import format_text_input

    pipeline = t2v.pipeline
    crop = pipeline.prompt_template_encode_start_idx
    assert crop != 108  # Qwen2.5-VL's count; this tokenizer is another one
    ids = pipeline.tokenizer.apply_chat_template(
        format_text_input(["a red car at night"], pipeline.system_message),
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
    )["input_ids"][0]
    assert pipeline.tokenizer.decode(ids[crop:]).startswith("a red car at night<|im_end|>")
    assert "a red car" not in pipeline.tokenizer.decode(ids[:crop])
    assert pipeline.tokenizer_max_length == 32 and pipeline.tokenizer_2_max_length == 16
    assert pipeline.vision_num_semantic_tokens == 16


def test_text_to_video_gives_the_requested_frames_and_is_seeded(t2v: VideoGenerator) -> None:
    clip = t2v.generate(generation_request(num_frames=17, num_inference_steps=4))  # the twin's default: 2 s at 8 fps
    assert clip.frames.shape == (17, 128, 128, 3)
    assert clip.frames.dtype == np.uint8
    wide = t2v.generate(generation_request(width=256, height=144, num_inference_steps=1))
    assert wide.frames.shape == (5, 144, 256, 3)
    first = t2v.generate(generation_request())
    assert np.array_equal(first.frames, t2v.generate(generation_request()).frames)
    assert not np.array_equal(first.frames, t2v.generate(generation_request(seed=8)).frames)


def test_guidance_scale_reaches_the_guider_for_the_run_only(t2v: VideoGenerator) -> None:
    pipeline = t2v.pipeline
    loaded = pipeline.guider
    seen: list[float] = []

    def look(done: int, total: int) -> None:
        seen.append(pipeline.guider.guidance_scale)

    strong = t2v.generate(generation_request(guidance_scale=9.0), on_step=look)
    assert seen == [9.0, 9.0]
    assert pipeline.guider is loaded and loaded.guidance_scale == 6.0  # the loaded guider, unchanged
    assert not np.array_equal(strong.frames, t2v.generate(generation_request(guidance_scale=1.0)).frames)


@pytest.fixture(params=[T2V, I2V])
def any_generator(request: pytest.FixtureRequest) -> VideoGenerator:
    fixture = "t2v" if request.param == T2V else "i2v"
    generator: VideoGenerator = request.getfixturevalue(fixture)
    return generator


def test_progress_reports_every_step_and_cancelling_stops_before_the_vae_decode(any_generator: VideoGenerator) -> None:
    pipeline = any_generator.pipeline
    image = noise_picture() if any_generator.spec.can(Capability.IMAGE_TO_VIDEO) else None
    seen: list[tuple[int, int]] = []

    def cancel_at_one(done: int, total: int) -> None:
        if done == 1:
            raise GenerationCancelled

    decodes = count_calls(pipeline.vae, "decode")
    transformer_runs = count_calls(pipeline.transformer, "forward")
    try:
        stages: list[Stage] = []
        video = any_generator.generate(
            generation_request(num_inference_steps=3, image=image),
            on_step=lambda done, total: seen.append((done, total)),
            on_stage=stages.append,
        )
        assert seen == [(1, 3), (2, 3), (3, 3)]
        assert stages == [Stage.ENCODING_PROMPT, Stage.DENOISING, Stage.DECODING]
        assert video.timings.steps == 3 and all(s > 0 for s in video.timings.seconds.values())
        assert (len(decodes), len(transformer_runs)) == (1, 6)  # a conditional and an unconditional pass a step
        decodes.clear()
        transformer_runs.clear()
        with pytest.raises(GenerationCancelled):
            any_generator.generate(
                generation_request(num_inference_steps=50, guidance_scale=3.0, image=image), on_step=cancel_at_one
            )
        assert (len(decodes), len(transformer_runs)) == (0, 2)  # stopped after step 1, before the VAE decode
    finally:
        del pipeline.vae.decode, pipeline.transformer.forward
    # Nothing of the run is left on the pipeline: the scheduler's step, the guider, the size.
    assert "step" not in vars(pipeline.scheduler)
    assert pipeline.guider.guidance_scale == 6.0
    assert "calculate_default_height_width" not in vars(pipeline.video_processor)


def test_image_to_video_gives_the_requested_frames_and_follows_seed_and_image(i2v: VideoGenerator) -> None:
    image = noise_picture()
    first = i2v.generate(generation_request(image=image))
    assert first.frames.shape == (5, 128, 128, 3)
    assert np.array_equal(first.frames, i2v.generate(generation_request(image=noise_picture())).frames)
    assert not np.array_equal(first.frames, i2v.generate(generation_request(image=image, seed=8)).frames)
    assert not np.array_equal(first.frames, i2v.generate(generation_request(image=noise_picture(1))).frames)
    # A size the pipeline's own bucket search would not pick for this image's ratio at its target size.
    tall = i2v.generate(
        generation_request(width=144, height=256, num_frames=5, num_inference_steps=1, image=noise_picture(0, 144, 256))
    )
    assert tall.frames.shape == (5, 256, 144, 3)


def test_requests_the_models_cannot_honour_are_refused(t2v: VideoGenerator, i2v: VideoGenerator) -> None:
    with pytest.raises(UnsupportedRequestError, match="animates an image"):
        i2v.generate(generation_request())
    with pytest.raises(UnsupportedRequestError, match="takes no image"):
        t2v.generate(generation_request(image=noise_picture()))
    with pytest.raises(UnsupportedRequestError, match="multiples of 16"):
        t2v.generate(generation_request(width=136, height=136))
    with pytest.raises(UnsupportedRequestError, match="4k\\+1"):
        t2v.generate(generation_request(num_frames=8))


def test_building_a_twin_twice_with_one_seed_gives_identical_bytes(tmp_path: Path, models_dir_15: Path) -> None:
    build_tiny(ModelRegistry().get(T2V), tmp_path / "again", seed=0)
    for part in (
        "transformer/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/model.safetensors",
        "text_encoder_2/model.safetensors",
        "tokenizer/tokenizer.json",
    ):
        assert (tmp_path / "again" / part).read_bytes() == (models_dir_15 / T2V / part).read_bytes()


def test_registry_holds_the_15_checkpoints_and_twins() -> None:
    registry = ModelRegistry()
    hub = {
        "hunyuanvideo-1.5-480p": "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_t2v",
        "hunyuanvideo-1.5-720p": "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-720p_t2v",
        "hunyuanvideo-1.5-480p-i2v": "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_i2v",
        "hunyuanvideo-1.5-720p-i2v": "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-720p_i2v",
    }
    for name, repository in hub.items():
        spec = registry.get(name)
        assert spec.hub_repository == repository and spec.tiny_builder is None
        assert spec.kind is (Kind.HUNYUANVIDEO_15_I2V if name.endswith("-i2v") else Kind.HUNYUANVIDEO_15)
        assert spec.limits.max_frames == 121
        assert all(s.width % 16 == 0 and s.height % 16 == 0 for s in spec.limits.sizes)
        assert spec.defaults.size in spec.limits.sizes
    assert Size(848, 480) in registry.get("hunyuanvideo-1.5-480p").limits.sizes
    assert Size(1280, 720) in registry.get("hunyuanvideo-1.5-720p-i2v").limits.sizes
    assert registry.get(T2V).can(Capability.TEXT_TO_VIDEO) and not registry.get(T2V).can(Capability.IMAGE_TO_VIDEO)
    assert registry.get(I2V).can(Capability.IMAGE_TO_VIDEO) and not registry.get(I2V).can(Capability.TEXT_TO_VIDEO)
    assert registry.get(T2V).weights_subdir == T2V and registry.get(I2V).weights_subdir == I2V
