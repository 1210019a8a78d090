"""scripts/bench_gpu.py: the GPU benchmark runs on a CPU at toy sizes, and its FLOPs are right.

The benchmark's figures only mean something on a GPU, but its code paths (building the real classes,
feeding them as the pipelines do, every backend probe, every step cache, the VAE's tiled decode,
the report) are the same at toy sizes, so CI runs it end to end here. Its analytical FLOPs, which
MFU divides by, are checked against torch's own FLOP counter on the toy models and against the
known figure for HunyuanVideo at 720p.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "bench_gpu.py"


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench_gpu") / "report.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "| model | clip |" in completed.stdout  # the summary table is printed
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def test_a_cpu_run_measures_every_part_at_toy_sizes(report: dict[str, Any]) -> None:
    assert report["device_type"] == "cpu"
    assert report["peak_bf16_tflops"] is None
    assert {"commit", "cpus", "options", "torch", "diffusers"} <= report.keys()

    rows = report["transformer"]
    assert {(r["model"], r["clip"]) for r in rows} == {
        ("hunyuanvideo", "96x64x9"),
        ("hunyuanvideo", "64x64x5"),
        ("hunyuanvideo-1.5", "64x64x9"),
    }
    for row in rows:
        assert _positive(row["s_per_step"]) and all(_positive(s) for s in row["steps_s"])
        assert _positive(row["tflop_per_step"]) and _positive(row["tflops"])
        assert 0 < row["attention_share"] < 1
        assert row["mfu"] is None  # MFU against a CPU's nominal peak would mean nothing
        assert _positive(row["peak_mem_gib"])
    assert next(r for r in rows if r["model"] == "hunyuanvideo-1.5")["forwards_per_step"] == 2


def test_backends_are_probed_and_refusals_say_why(report: dict[str, Any]) -> None:
    backends = report["backends"]
    assert "native" in backends["accepted"]
    assert "native" not in backends["skipped"]
    assert backends["skipped"]["_native_flash"].startswith("refuses the mask")
    assert "Hub" in backends["skipped"]["flash_hub"]
    assert all(isinstance(why, str) and why for why in backends["skipped"].values())
    assert report["best_backend"] in backends["accepted"]


def test_each_step_cache_is_timed_against_the_uncached_run(report: dict[str, Any]) -> None:
    caches = {row["cache"]: row for row in report["caches"]}
    assert caches["none"]["speedup"] == 1.0
    for name in ("TaylorSeerCacheConfig", "PyramidAttentionBroadcastConfig", "FasterCacheConfig"):
        assert "schedule" in caches[name]["note"]
    for name in ("FirstBlockCacheConfig", "MagCacheConfig"):
        assert "random weights" in caches[name]["note"]
    for row in caches.values():
        assert row["steps"] == 6
        assert _positive(row["s_per_step"]) and _positive(row["speedup"])
    # Compile is opt-in on a CPU, and the report says it was left out.
    assert report["compile"] == []
    assert any(s["what"] == "compile" for s in report["skipped"])


def test_the_vae_decodes_each_size(report: dict[str, Any]) -> None:
    decoded = {row["clip"]: row for row in report["vae"]}
    assert decoded.keys() == {"96x64x9", "64x64x5"}
    assert decoded["96x64x9"]["frames"] == [1, 3, 9, 64, 96]
    assert all(_positive(row["decode_s"]) for row in decoded.values())


def _counted_flops(denoiser: Any) -> int:
    """torch's count of one step's FLOPs, attention as explicit matmuls (``_native_math``)."""
    denoiser.model.set_attention_backend("_native_math")
    latents = torch.randn(denoiser.latent_shape)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        denoiser.predict(latents, torch.tensor(500.0), 0, 0.5, 1)
    return int(counter.get_total_flops())


def test_analytical_flops_agree_with_torchs_count_on_the_toy_models() -> None:
    from diffusers import HunyuanVideo15Transformer3DModel, HunyuanVideoTransformer3DModel

    machine = bench.detect_machine("cpu", None)
    wider = {**bench.TOY_HUNYUANVIDEO, "num_attention_heads": 4, "attention_head_dim": 32, "rope_axes_dim": (8, 12, 12)}
    for config, size in ((bench.TOY_HUNYUANVIDEO, "96x64x9"), (wider, "128x64x9")):
        model = bench.build_on_device(HunyuanVideoTransformer3DModel, config, machine, torch.float32)
        denoiser = bench.HunyuanVideoDenoiser(model, machine, bench.Clip.parse(size), bench.TOY_HUNYUANVIDEO_TEXT)
        assert _counted_flops(denoiser) == pytest.approx(denoiser.flops_per_step()["total"], rel=0.01)

    model = bench.build_on_device(HunyuanVideo15Transformer3DModel, bench.TOY_HUNYUANVIDEO_15, machine, torch.float32)
    clip = bench.Clip.parse("64x64x9")
    denoiser = bench.HunyuanVideo15Denoiser(model, machine, clip, bench.TOY_HUNYUANVIDEO_15_TEXT)
    # Both forwards of the classifier-free-guidance step are counted.
    assert _counted_flops(denoiser) == pytest.approx(denoiser.flops_per_step()["total"], rel=0.01)


def test_attention_flops_grow_with_the_square_of_the_tokens_and_linear_ones_in_proportion() -> None:
    config = bench.HUNYUANVIDEO_13B
    small = bench.hunyuanvideo_flops(config, video_tokens=10_000, text_tokens=0)
    large = bench.hunyuanvideo_flops(config, video_tokens=20_000, text_tokens=0)
    # 60 blocks of 4 L^2 D, and the refiner sees no text here.
    assert small["attention"] == 4 * 10_000**2 * 3072 * 60
    assert large["attention"] == pytest.approx(4 * small["attention"])
    assert large["linear"] == pytest.approx(2 * small["linear"])


def test_hunyuanvideo_at_720p_is_about_12_pflop_a_step_mostly_attention() -> None:
    # 1280x720, 129 frames: 33 x 90 x 160 latents, 2x2 patches -> 118,800 video tokens, 256 text.
    clip = bench.Clip.parse("720p")
    _, _, frames, height, width = clip.latent_shape(16, spatial=8)
    assert frames * (height // 2) * (width // 2) == 118_800
    flops = bench.hunyuanvideo_flops(bench.HUNYUANVIDEO_13B, 118_800, 256)
    assert flops["total"] == pytest.approx(12.07e15, rel=0.01)
    assert flops["attention"] / flops["total"] == pytest.approx(0.87, abs=0.01)


def test_the_peak_table_knows_the_cards() -> None:
    assert bench.peak_tflops_for("NVIDIA H100 80GB HBM3") == 989.0
    assert bench.peak_tflops_for("NVIDIA H100 PCIe") == 756.0
    assert bench.peak_tflops_for("NVIDIA H200") == 989.0
    assert bench.peak_tflops_for("NVIDIA A100-SXM4-80GB") == 312.0
    assert bench.peak_tflops_for("NVIDIA L40S") == 362.0
    assert bench.peak_tflops_for("Some Future GPU") is None
