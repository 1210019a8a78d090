"""Model options (``model.options``), applied by ``load_pipeline`` to the tiny twins on the CPU.

Each option that can run on a CPU loads through the one loading path and generates; its frames are
compared with the same request's frames without it (the baseline). The twins' output is seeded
noise, so the comparison is numeric: the mean absolute difference of the uint8 frames.

TOLERANCE, the bound for options that approximate (caches, int8 weights), is 4 levels
of 255. Two different seeds of one twin differ by about 40 levels, so a broken option (a cache
replaying another job's state or the wrong branch's, weights garbled by a quantizer) lands far
above it; the approximations measured on these 8-step runs stay below 1 (0.02 to 0.9).
Options that must not change the computation (the ``native`` backend, a cache that never
skips) must give identical frames.

The CUDA-only options (``cpu_offload``, ``group_offload``, bitsandbytes, GPU attention kernels)
are refused here, on a CPU device, with the option named; so is every combination that cannot
work, before any weight is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model import ModelRegistry
from model.generation import GenerationRequest, VideoGenerator
from model.loading import load_pipeline
from model.options import CacheOption, GroupOffloadOption, ModelOptions, ModelOptionsError, QuantizationOption
from model.tiny import build_missing
from tests.helpers import generation_request, noise_picture

T2V, I2V = "hunyuanvideo-tiny", "hunyuanvideo-i2v-tiny"
T2V_15, I2V_15 = "hunyuanvideo-1.5-tiny", "hunyuanvideo-1.5-i2v-tiny"
TWINS = (T2V, I2V, T2V_15, I2V_15)

TOLERANCE = 4.0  # mean absolute difference, uint8 levels (see the module docstring)
VAE_TILING_TOLERANCE = 15.0  # tiles decoded by the twin's random VAE (see the tiling test)
STEPS = 8  # enough steps for every cache to skip or approximate some of them

# Parameters that make each cache act within 8 steps (its defaults are tuned for 50).
TAYLORSEER = {
    "type": "taylorseer",
    "cache_interval": 2,
    "disable_cache_before_step": 2,
    "taylor_factors_dtype": "float32",
}
FIRST_BLOCK = {"type": "first_block", "threshold": 0.5}
FASTER = {"type": "faster", "spatial_attention_timestep_skip_range": [-1, 990]}
PYRAMID = {
    "type": "pyramid_attention_broadcast",
    "spatial_attention_block_skip_range": 2,
    "spatial_attention_timestep_skip_range": [-1, 990],
}
# MagCache needs each model's calibrated ratios; ratios of 1 (no change between steps) let it skip.
MAG = {"type": "mag", "mag_ratios": [1.0] * STEPS, "num_inference_steps": STEPS, "threshold": 0.5}


@pytest.fixture(scope="module")
def twins_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("option-twins")
    registry = ModelRegistry()
    build_missing([registry.get(name) for name in TWINS], root)
    return root


def with_options(name: str, **options: Any) -> Any:
    spec = ModelRegistry().get(name)
    return replace(spec, options=ModelOptions.from_table(options, base=spec.options))


def load(twins_dir: Path, name: str, **options: Any) -> VideoGenerator:
    spec = with_options(name, **options)
    return VideoGenerator(spec, load_pipeline(spec, twins_dir, "cpu"))


def request_for(name: str, **overrides: Any) -> GenerationRequest:
    image = noise_picture() if "i2v" in name else None
    return generation_request(**{"num_frames": 9, "num_inference_steps": STEPS, "image": image, **overrides})


def frames(generator: VideoGenerator, **overrides: Any) -> np.ndarray:
    return generator.generate(request_for(generator.spec.name, **overrides)).frames


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


_baselines: dict[tuple[str, str | None], np.ndarray] = {}


@pytest.fixture
def baseline(twins_dir: Path) -> Iterator[Any]:
    """The frames of a twin without options, for a request (loaded once per twin and prompt)."""

    def of(name: str, negative_prompt: str | None = None) -> np.ndarray:
        key = (name, negative_prompt)
        if key not in _baselines:
            _baselines[key] = frames(load(twins_dir, name), negative_prompt=negative_prompt)
        return _baselines[key]

    yield of


# --- caches ----------------------------------------------------------------------------------------

CACHE_CASES = [
    # Every cache on text-to-video; on the other kinds, what differs there: HunyuanVideo-I2V gets
    # its cache contexts from the adapter (a skipping cache and a schedule-driven one), and 1.5
    # has no First Block Cache or MagCache (refused below).
    *[(T2V, cache) for cache in (TAYLORSEER, FIRST_BLOCK, FASTER, PYRAMID, MAG)],
    *[(I2V, cache) for cache in (FIRST_BLOCK, FASTER)],
    *[(T2V_15, cache) for cache in (TAYLORSEER, PYRAMID)],
    (I2V_15, FASTER),
]


@pytest.mark.parametrize(("name", "cache"), CACHE_CASES, ids=[f"{name}-{cache['type']}" for name, cache in CACHE_CASES])
def test_each_cache_generates_near_the_baseline_and_the_same_twice(
    twins_dir: Path, baseline: Any, name: str, cache: dict[str, Any]
) -> None:
    generator = load(twins_dir, name, cache=cache)
    assert generator.pipeline.transformer.is_cache_enabled
    first = frames(generator)
    again = frames(generator)
    assert np.array_equal(first, again)  # each job starts from a clean cache
    assert not np.array_equal(first, baseline(name))  # the cache did skip or approximate something
    assert mean_difference(first, baseline(name)) <= TOLERANCE


def test_a_cache_that_never_skips_changes_nothing(twins_dir: Path, baseline: Any) -> None:
    # First Block Cache skips a step when the first block's output changed by less than the
    # threshold: with 0, never.
    generator = load(twins_dir, T2V, cache={"type": "first_block", "threshold": 0.0})
    assert np.array_equal(frames(generator), baseline(T2V))


def test_image_to_video_with_true_guidance_keeps_the_two_branches_caches_apart(twins_dir: Path, baseline: Any) -> None:
    # HunyuanVideo-I2V's pipeline opens no cache context; with a negative prompt its transformer
    # runs twice per step, and each branch must get its own cache ("cond", "uncond").
    generator = load(twins_dir, I2V, cache=FIRST_BLOCK)
    first = frames(generator, negative_prompt="blurry")
    assert np.array_equal(first, frames(generator, negative_prompt="blurry"))
    assert mean_difference(first, baseline(I2V, "blurry")) <= TOLERANCE


def test_a_cancelled_run_leaves_no_cache_state_to_the_next_job(twins_dir: Path) -> None:
    generator = load(twins_dir, T2V, cache=TAYLORSEER)
    clean = frames(generator)

    class Stop(Exception):
        pass

    def stop_at_five(done: int, total: int) -> None:
        if done == 5:
            raise Stop

    with pytest.raises(Stop):
        generator.generate(request_for(T2V, seed=3), on_step=stop_at_five)
    assert np.array_equal(frames(generator), clean)


# --- attention, compilation, quantization, tiling -------------------------------------------------


def test_native_attention_backend_is_the_default_computation(twins_dir: Path, baseline: Any) -> None:
    # The same kernel as the default: identical frames whenever this file runs alone. Once, in the
    # whole suite, they were not (not reproduced since; CPU float32 kernels may sum in another
    # order), so the bound is rounding: far below the ~40 levels another computation gives.
    out = frames(load(twins_dir, T2V, attention_backend="native"))
    difference = np.abs(out.astype(int) - baseline(T2V))
    assert difference.max() <= 2 and difference.mean() <= 0.05, (difference.max(), difference.mean())


def test_math_attention_backend_differs_by_rounding_at_most(twins_dir: Path, baseline: Any) -> None:
    # The same attention through another kernel: float32 sums in another order, nothing more.
    out = frames(load(twins_dir, T2V, attention_backend="_native_math"))
    assert mean_difference(out, baseline(T2V)) <= 0.05
    assert np.abs(out.astype(int) - baseline(T2V)).max() <= 1


def test_regional_compilation_generates_the_same_video(twins_dir: Path) -> None:
    # Regional compilation of every repeated block, whole graphs (``fullgraph``: a graph break
    # would raise), on torch.compile's ``aot_eager`` backend: it traces what inductor would get
    # without generating code, which costs half a minute on two cores (inductor's code generation
    # is torch's to test; ``python scripts/bench_gpu.py --compile`` runs it).
    plain = load(twins_dir, T2V).generate(request_for(T2V, num_frames=5, num_inference_steps=2)).frames
    compiled = load(twins_dir, T2V, compile=True, compile_fullgraph=True, compile_backend="aot_eager")
    transformer = compiled.pipeline.transformer
    repeated = [m for m in transformer.modules() if type(m).__name__ in transformer._repeated_blocks]
    assert repeated and all(m._compiled_call_impl is not None for m in repeated)  # nn.Module.compile's mark
    out = compiled.generate(request_for(T2V, num_frames=5, num_inference_steps=2)).frames
    assert mean_difference(out, plain) <= 0.05  # the same computation, traced: rounding at most


def test_int8_weight_only_quantization_with_torchao(twins_dir: Path, baseline: Any) -> None:
    pytest.importorskip("torchao")
    generator = load(twins_dir, T2V, quantization={"backend": "torchao", "type": "Int8WeightOnlyConfig"})
    weight = generator.pipeline.transformer.transformer_blocks[0].attn.to_q.weight
    assert type(weight).__name__ == "Int8Tensor"  # torchao's int8 weights, dequantized as they are used
    out = frames(generator)
    assert not np.array_equal(out, baseline(T2V))
    assert mean_difference(out, baseline(T2V)) <= TOLERANCE


def test_vae_tiling_decodes_in_tiles_near_the_whole_decode(twins_dir: Path, baseline: Any) -> None:
    generator = load(twins_dir, T2V, vae_tiling=True)
    vae = generator.pipeline.vae
    assert vae.use_tiling
    # The twin's 128x128 frames fit one default tile (256 px): smaller tiles make it really tile,
    # four overlapping 96-px tiles blended over 32 px.
    vae.enable_tiling(
        tile_sample_min_height=96, tile_sample_min_width=96, tile_sample_stride_height=64, tile_sample_stride_width=64
    )
    out = frames(generator)
    assert np.array_equal(out, frames(generator))
    assert not np.array_equal(out, baseline(T2V))
    # A random-weight VAE sees far beyond a tile, so its seams show (9.6 levels measured here; the
    # real VAE's tiles are made for it): a looser bound, still far from an unrelated video's 40.
    assert mean_difference(out, baseline(T2V)) <= VAE_TILING_TOLERANCE


# --- refusals --------------------------------------------------------------------------------------

REFUSALS = [
    (T2V_15, "cpu", {"cache": {"type": "first_block"}}, "first_block.*HunyuanVideo 1.5"),
    (I2V_15, "cpu", {"cache": MAG}, "mag.*HunyuanVideo 1.5"),
    (T2V, "cuda", {"attention_backend": "flash"}, "attention_backend 'flash' takes no attention mask.*varlen"),
    (I2V, "cuda", {"attention_backend": "sage"}, "attention_backend 'sage' takes no attention mask"),
    (T2V_15, "cuda", {"attention_backend": "_native_flash"}, "_native_flash' takes no attention mask"),
    (T2V, "cpu", {"attention_backend": "flash_varlen"}, "attention_backend 'flash_varlen' needs a GPU"),
    (T2V, "cpu", {"attention_backend": "fastest"}, "attention_backend 'fastest' is not one of"),
    (T2V, "cpu", {"cpu_offload": True}, "cpu_offload .*CUDA"),
    (T2V, "cpu", {"group_offload": True}, "group_offload .*CUDA"),
    (T2V, "cuda", {"cpu_offload": True, "group_offload": True}, "cpu_offload and group_offload"),
    (T2V, "cpu", {"quantization": {"backend": "bitsandbytes_4bit"}}, "bitsandbytes needs a CUDA GPU"),
    (T2V, "cpu", {"cache": {"type": "taylorseer", "cache_intervall": 2}}, "cache_intervall.*accepted:.*cache_interval"),
    (T2V, "cpu", {"cache": {"type": "faster", "is_guidance_distilled": False}}, "faster.*is_guidance_distilled"),
    (T2V, "cpu", {"cache": {**FASTER, "spatial_attention_timestep_skip_range": [-1, 1000]}}, "first timestep"),
    (T2V, "cpu", {"cache": {"type": "mag"}}, "mag.*mag_ratios are required"),
    (T2V, "cpu", {"cache": {"type": "pyramid_attention_broadcast"}}, "pyramid_attention_broadcast.*skips nothing"),
]


@pytest.mark.parametrize(
    ("name", "device", "options", "message"), REFUSALS, ids=[f"{r[0]}-{r[1]}-{r[3][:24]}" for r in REFUSALS]
)
def test_combinations_that_cannot_work_are_refused_at_load_time(
    twins_dir: Path, name: str, device: str, options: dict[str, Any], message: str
) -> None:
    spec = with_options(name, **options)
    with pytest.raises(ModelOptionsError, match=message):
        load_pipeline(spec, twins_dir, device)


def test_an_unknown_torchao_config_is_refused(twins_dir: Path) -> None:
    pytest.importorskip("torchao")
    spec = with_options(T2V, quantization={"backend": "torchao", "type": "Int9Config"})
    with pytest.raises(ModelOptionsError, match="'Int9Config' is not a torchao.quantization config class"):
        load_pipeline(spec, twins_dir, "cpu")


# --- the models TOML -------------------------------------------------------------------------------


def test_options_tables_are_read_from_the_models_toml(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        """
[models.hunyuanvideo-fast]
base = "hunyuanvideo"

[models.hunyuanvideo-fast.options]
attention_backend = "flash_varlen"
compile = true
compile_mode = "max-autotune-no-cudagraphs"

[models.hunyuanvideo-fast.options.cache]
type = "taylorseer"
cache_interval = 4
taylor_factors_dtype = "bfloat16"

[models.hunyuanvideo-fast.options.quantization]
backend = "torchao"
type = "Int8WeightOnlyConfig"
group_size = 128

[models.hunyuanvideo-small]
base = "hunyuanvideo"
options = { group_offload = { num_blocks_per_group = 2, use_stream = true }, cache = "first_block" }

[models.tiny-offloaded]
base = "hunyuanvideo-tiny"
cpu_offload = true
"""
    )
    registry = ModelRegistry.from_file(path)
    fast = registry.get("hunyuanvideo-fast").options
    assert fast.attention_backend == "flash_varlen"
    assert fast.compile and not fast.compile_fullgraph
    assert fast.compile_mode == "max-autotune-no-cudagraphs"
    assert fast.cache == CacheOption("taylorseer", {"cache_interval": 4, "taylor_factors_dtype": "bfloat16"})
    assert fast.quantization == QuantizationOption("torchao", "Int8WeightOnlyConfig", {"group_size": 128})
    assert fast.vae_tiling  # the base's
    small = registry.get("hunyuanvideo-small").options
    assert small.group_offload == GroupOffloadOption(num_blocks_per_group=2, use_stream=True)
    assert small.cache == CacheOption("first_block")
    tiny = registry.get("tiny-offloaded").options
    assert tiny.cpu_offload and not tiny.vae_tiling  # the top-level key, and the tiny base's tiling
    assert registry.get("hunyuanvideo").options == ModelOptions()  # built-ins: none but VAE tiling


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("sdpa_backend = 'native'", "unknown option.*sdpa_backend"),
        ("compile = 'yes'", "compile must be a bool"),
        ("cache = 'teacache'", "cache: unknown type 'teacache'"),
        ("cache = { threshold = 0.1 }", "cache needs type"),
        ("quantization = { backend = 'gguf' }", "quantization: unknown backend 'gguf'"),
        ("quantization = { backend = 'torchao' }", "type .*required with backend 'torchao'"),
        ("quantization = { backend = 'torchao', type = 'Int8WeightOnlyConfig', components = ['vae'] }", "components"),
        ("group_offload = { blocks = 2 }", "group_offload: unknown parameter.*blocks"),
        ("group_offload = { offload_type = 'disk' }", "offload_type must be one of"),
    ],
)
def test_malformed_options_in_the_models_toml_are_refused_naming_the_option(
    tmp_path: Path, options: str, message: str
) -> None:
    path = tmp_path / "models.toml"
    path.write_text(f'[models.broken]\nbase = "hunyuanvideo-tiny"\n[models.broken.options]\n{options}\n')
    with pytest.raises(ModelOptionsError, match=f"models.broken: .*{message}"):
        ModelRegistry.from_file(path)


def test_an_option_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text('[models.x]\nbase = "hunyuanvideo"\ncpu_offload = true\noptions = { cpu_offload = false }\n')
    with pytest.raises(ModelOptionsError, match="cpu_offload is given twice"):
        ModelRegistry.from_file(path)
