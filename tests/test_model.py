"""The model layer on its own: registry, the tiny model, determinism, encoding."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from model import ModelRegistry, Size, UnknownModelError, frames_for
from model.generation import GenerationRequest, VideoGenerator
from model.loading import ModelWeightsMissingError, load_pipeline
from tests.helpers import generation_request


@pytest.fixture(scope="module")
def generator(models_dir: Path) -> VideoGenerator:
    spec = ModelRegistry().get("hunyuanvideo-tiny")
    return VideoGenerator(spec, load_pipeline(spec, models_dir, "cpu"))


def request(**overrides: Any) -> GenerationRequest:
    return generation_request(**{"num_frames": 9, **overrides})


def test_tiny_model_is_real_hunyuanvideo_in_diffusers_layout(models_dir: Path, generator: VideoGenerator) -> None:
    import json

    index = json.loads((models_dir / "hunyuanvideo-tiny" / "model_index.json").read_text())
    assert index["_class_name"] == "HunyuanVideoPipeline"
    assert index["transformer"] == ["diffusers", "HunyuanVideoTransformer3DModel"]
    assert index["vae"] == ["diffusers", "AutoencoderKLHunyuanVideo"]
    assert index["text_encoder"] == ["transformers", "LlamaModel"]
    assert index["text_encoder_2"] == ["transformers", "CLIPTextModel"]
    assert type(generator.pipeline).__name__ == "HunyuanVideoPipeline"


def test_same_seed_same_frames_other_seed_other_frames(generator: VideoGenerator) -> None:
    first = generator.generate(request())
    again = generator.generate(request())
    other = generator.generate(request(seed=8))
    assert first.frames.shape == (9, 128, 128, 3)
    assert first.frames.dtype == np.uint8
    assert np.array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, other.frames)


def test_step_callback_reports_every_step_and_can_stop_the_run(generator: VideoGenerator) -> None:
    seen: list[tuple[int, int]] = []
    generator.generate(request(num_inference_steps=3), on_step=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]

    class Stop(Exception):
        pass

    def stop_at_two(done: int, total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        generator.generate(request(num_inference_steps=50), on_step=stop_at_two)


def test_building_twice_with_one_seed_gives_identical_weights(tmp_path: Path, models_dir: Path) -> None:
    from model.tiny import build_tiny_model

    build_tiny_model(tmp_path / "again", seed=0)
    for part in ("transformer/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"):
        assert (tmp_path / "again" / part).read_bytes() == (models_dir / "hunyuanvideo-tiny" / part).read_bytes()


def test_missing_weights_are_reported_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelWeightsMissingError, match="model_index.json"):
        load_pipeline(ModelRegistry().get("hunyuanvideo"), tmp_path, "cpu")


def test_frames_are_4k_plus_1() -> None:
    assert frames_for(2, 8) == 17
    assert frames_for(5, 24) == 121
    assert frames_for(0.01, 8) == 5  # never less than one latent frame after the first
    assert all((frames_for(s, f) - 1) % 4 == 0 for s in (1, 2.5, 4) for f in (8, 12, 24))


def test_registry_reads_operator_models_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models.hunyuanvideo-540p]\nbase = "hunyuanvideo"\nsizes = ["960x544"]\ndefault_size = "960x544"\n'
        "default_num_inference_steps = 30\ncpu_offload = true\n"
    )
    registry = ModelRegistry.from_file(path)
    spec = registry.get("hunyuanvideo-540p")
    assert spec.limits.sizes == (Size(960, 544),)
    assert spec.defaults.size == Size(960, 544)
    assert spec.defaults.num_inference_steps == 30
    assert spec.options.cpu_offload is True  # the top-level key, from before options
    assert spec.weights_subdir == "hunyuanvideo"  # inherited from the base
    assert "hunyuanvideo" in registry and "hunyuanvideo-tiny" in registry
    with pytest.raises(UnknownModelError, match="known models"):
        registry.get("sora-2")


def test_size_parsing() -> None:
    assert Size.parse("1280x720") == Size(1280, 720)
    assert str(Size(544, 960)) == "544x960"
    for bad in ("1280", "axb", "1280x", "-1x5", "0x720"):
        with pytest.raises(ValueError):
            Size.parse(bad)


def test_model_layer_runs_standalone_and_imports_nothing_of_the_service(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "standalone.mp4"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "model",
            "generate",
            "a lighthouse at dusk",
            "--models-dir",
            str(models_dir),
            "-o",
            str(out),
            "--seconds",
            "1",
            "--fps",
            "8",
            "--steps",
            "2",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "9 frames" in result.stdout
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 9

    probe = (
        "import sys, model, model.loading, model.generation, model.encoding, model.tiny; "
        "leaked = sorted({m.split('.')[0] for m in sys.modules} & {'api', 'worker', 'videogen', 'cli'}); "
        "print(leaked); sys.exit(1 if leaked else 0)"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=300)


def test_encoded_mp4_is_h264_yuv420p_with_faststart(generator: VideoGenerator, tmp_path: Path) -> None:
    from model.encoding import encode_mp4

    video = generator.generate(request(width=256, height=144, num_frames=17))
    path = encode_mp4(video.frames, 12, tmp_path / "v.mp4")
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index first: playback starts before download ends
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == 12
        frames = list(container.decode(stream))
    assert len(frames) == 17
    assert (frames[0].width, frames[0].height) == (256, 144)


def test_encode_all_makes_the_same_three_files_as_the_encoders_one_by_one(
    generator: VideoGenerator, tmp_path: Path
) -> None:
    from model.encoding import encode_all, encode_mp4, encode_spritesheet, encode_thumbnail

    frames = generator.generate(request(width=128, height=128, num_frames=9)).frames
    files = encode_all(frames, 8, tmp_path / "all.mp4")
    assert files.thumbnail == encode_thumbnail(frames)
    assert files.spritesheet == encode_spritesheet(frames)
    alone = encode_mp4(frames, 8, tmp_path / "alone.mp4")
    with av.open(str(files.video_path)) as together, av.open(str(alone)) as single:
        decoded = [f.to_ndarray(format="rgb24") for f in together.decode(video=0)]
        expected = [f.to_ndarray(format="rgb24") for f in single.decode(video=0)]
    assert len(decoded) == 9
    assert all(np.array_equal(a, b) for a, b in zip(decoded, expected, strict=True))


def test_a_generation_reports_its_stages_in_order_and_times_each(generator: VideoGenerator) -> None:
    from model.generation import Stage

    entered: list[Stage] = []
    started = time.perf_counter()
    video = generator.generate(request(num_inference_steps=3), on_stage=entered.append)
    wall = time.perf_counter() - started

    assert entered == [Stage.ENCODING_PROMPT, Stage.DENOISING, Stage.DECODING]
    timings = video.timings
    assert set(timings.seconds) == set(Stage)
    assert all(seconds > 0 for seconds in timings.seconds.values())
    assert timings.steps == 3
    assert timings.seconds_per_step == pytest.approx(timings.of(Stage.DENOISING) / 3)
    # The stages cover the run: what is left is the adapter's argument handling around the call.
    assert sum(timings.seconds.values()) <= wall
    assert sum(timings.seconds.values()) > 0.8 * wall
    # Nothing of the run is left on the pipeline.
    assert "encode_prompt" not in vars(generator.pipeline)
    assert "decode" not in vars(generator.pipeline.vae)
    assert "forward" not in vars(generator.pipeline.transformer)


def test_a_cancelled_generation_never_reaches_the_decode_stage(generator: VideoGenerator) -> None:
    from model.generation import GenerationCancelled, Stage

    entered: list[Stage] = []

    def cancel(done: int, total: int) -> None:
        raise GenerationCancelled

    with pytest.raises(GenerationCancelled):
        generator.generate(request(num_inference_steps=20), on_step=cancel, on_stage=entered.append)
    assert entered == [Stage.ENCODING_PROMPT, Stage.DENOISING]
