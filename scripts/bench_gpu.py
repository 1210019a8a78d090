"""The real-size GPU benchmark: HunyuanVideo's 13B transformer and 3D VAE, and the 1.5 transformer.

    python scripts/bench_gpu.py [--only transformer,backends,caches,compile,vae,hv15] [--sizes 720p,540p]
                                [--warmup 1] [--steps 2] [--json out.json] [--budget-s 480]

Why it exists: the service's cost is the denoising step of a 13B video transformer at 720p x 129
frames, and whether a GPU runs it near its peak is the one number that decides what a video costs.
Weights are not needed to measure speed, so every model is built from its published configuration
with seeded random weights created directly on the device in its serving dtype (no download, and no
13B parameters initialised on a CPU first). Its outputs are noise; only time and memory are read.

What it measures, in one run, side by side:

- ``transformer``: one denoising step as the pipeline calls the transformer (latents
  ``[1, 16, T', H/8, W/8]``, a timestep, 256 text tokens of which some are padding and masked, the
  pooled CLIP projection, the embedded guidance) at each ``--sizes``: seconds per step (CUDA
  synchronised, median of ``--steps`` timed steps after ``--warmup``), analytical FLOPs per step
  (``hunyuanvideo_flops``), MFU against the card's bf16 dense peak, and peak memory.
- ``backends``: the same step at ``--backend-size`` with every attention backend diffusers offers
  that is installed here and honours HunyuanVideo's mask (found by a probe on small tensors against
  an exact masked softmax); the fastest is then timed at the first of ``--sizes`` too, and used for
  the caches and compile.
- ``caches``: a run of ``--cache-steps`` denoising steps (transformer + flow-matching scheduler,
  inside ``cache_context`` as the pipeline does) with each of diffusers' step caches, as seconds per
  step averaged over the run and the speed-up over the uncached run of the same steps. Random
  weights make the skip decisions of threshold-based caches (FirstBlockCache, MagCache, SeaCache)
  unrepresentative; TaylorSeer, PyramidAttentionBroadcast and FasterCache skip on a schedule, so
  their ratios carry over to real weights.
- ``compile``: ``compile_repeated_blocks(fullgraph=True)`` at the cache size: compile time and the
  speed-up of the compiled step.
- ``vae``: the 3D VAE's tiled decode (``enable_tiling()``, as the service runs it) of the latents of
  each ``--sizes``, and its peak memory.
- ``hv15``: HunyuanVideo 1.5's 8.3B transformer at ``--hv15-size``, a step being the two forwards
  (conditional and unconditional, each in its own cache context) its pipeline runs for
  classifier-free guidance.

On a machine without CUDA the same code runs at toy sizes (the same classes with tiny configs,
float32, a couple of steps, no compile unless ``--compile``) so that CI keeps it working; MFU is
"n/a" there. Progress is printed (flushed) as it goes and ``--json`` is rewritten after every
measurement, so a run cut short by a timeout still leaves its numbers; ``--budget-s`` skips the
parts that would start after that many seconds.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Nothing here downloads: a backend that would fetch a kernel from the Hub fails at once instead of
# waiting on a network the benchmark machine may not have.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("transformer", "backends", "caches", "compile", "vae", "hv15")

# --- the cards ------------------------------------------------------------------------------------

# bf16 dense tensor-core peaks from the vendors' data sheets, in TFLOP/s, matched against
# torch.cuda.get_device_name() in this order (the PCIe and NVL H100s before the SXM one). The peak
# is the data sheet's; a large bf16 matmul reaches about 80% of it (788 TFLOP/s on an H200).
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),  # SXM, "NVIDIA H100 80GB HBM3"
    ("H200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
)


def peak_tflops_for(device_name: str) -> float | None:
    """The bf16 dense peak of the card called ``device_name``, or None for a card not in the table."""
    for fragment, tflops in PEAK_BF16_TFLOPS:
        if fragment.lower() in device_name.lower():
            return tflops
    return None


# --- the architectures ----------------------------------------------------------------------------

# HunyuanVideo 13B as published (hunyuanvideo-community/HunyuanVideo, transformer/config.json;
# Tencent's reference: hidden 3072 = 24 heads x 128, 20 double-stream + 40 single-stream blocks, MLP
# ratio 4, 2 refiner blocks, patch 1x2x2, LLaVA-Llama text 4096-d, CLIP pooled 768-d). These are
# diffusers' defaults; they are spelled out so that a change of defaults cannot change the benchmark.
HUNYUANVIDEO_13B: dict[str, Any] = {
    "in_channels": 16,
    "out_channels": 16,
    "num_attention_heads": 24,
    "attention_head_dim": 128,
    "num_layers": 20,
    "num_single_layers": 40,
    "num_refiner_layers": 2,
    "mlp_ratio": 4.0,
    "patch_size": 2,
    "patch_size_t": 1,
    "qk_norm": "rms_norm",
    "guidance_embeds": True,
    "text_embed_dim": 4096,
    "pooled_projection_dim": 768,
    "rope_theta": 256.0,
    "rope_axes_dim": (16, 56, 56),
}
# The 3D causal VAE as published (diffusers' defaults): 16 latent channels, 8x space, 4x time.
HUNYUANVIDEO_VAE: dict[str, Any] = {}

# HunyuanVideo 1.5, 8.3B (hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-*_t2v): 54 double-stream
# blocks of 16 heads x 128, Qwen2.5-VL text 3584-d, Glyph-ByT5 1472-d, SigLIP image 1152-d, patch 1,
# 32 latent channels (65 in: the latents, the image's latents and its mask). target_size is 640 in
# the 480p checkpoint and 960 in the 720p one; it does not change the compute.
HUNYUANVIDEO_15: dict[str, Any] = {
    "in_channels": 65,
    "out_channels": 32,
    "num_attention_heads": 16,
    "attention_head_dim": 128,
    "num_layers": 54,
    "num_refiner_layers": 2,
    "mlp_ratio": 4.0,
    "patch_size": 1,
    "patch_size_t": 1,
    "qk_norm": "rms_norm",
    "text_embed_dim": 3584,
    "text_embed_2_dim": 1472,
    "image_embed_dim": 1152,
    "rope_theta": 256.0,
    "rope_axes_dim": (16, 56, 56),
    "target_size": 640,
    "task_type": "t2v",
}

# The toy twins for a CPU: the same classes, sizes like model/tiny's (the text and latent widths
# follow from these dictionaries, so the same input code serves both).
TOY_HUNYUANVIDEO: dict[str, Any] = {
    **HUNYUANVIDEO_13B,
    "in_channels": 4,
    "out_channels": 4,
    "num_attention_heads": 2,
    "attention_head_dim": 16,
    "num_layers": 2,
    "num_single_layers": 2,
    "num_refiner_layers": 1,
    "text_embed_dim": 32,
    "pooled_projection_dim": 16,
    "rope_axes_dim": (4, 6, 6),
}
TOY_VAE: dict[str, Any] = {
    "latent_channels": 4,
    "block_out_channels": (8, 8, 8, 8),
    "layers_per_block": 1,
    "norm_num_groups": 4,
}
TOY_HUNYUANVIDEO_15: dict[str, Any] = {
    **HUNYUANVIDEO_15,
    "in_channels": 9,
    "out_channels": 4,
    "num_attention_heads": 2,
    "attention_head_dim": 16,
    "num_layers": 2,
    "num_refiner_layers": 1,
    "text_embed_dim": 32,
    "text_embed_2_dim": 16,
    "image_embed_dim": 16,
    "rope_axes_dim": (4, 6, 6),
    "target_size": 128,
}


@dataclass(frozen=True)
class TextLengths:
    """The condition tokens a pipeline feeds its transformer: padded lengths and how many are real
    (the rest are masked). HunyuanVideo: 256 Llama tokens; 1.5: Qwen2.5-VL 1000, ByT5 256, and 729
    SigLIP tokens, which text-to-video feeds as zeros and masks out entirely."""

    text: int
    text_valid: int
    text_2: int = 0
    text_2_valid: int = 0
    image: int = 0


HUNYUANVIDEO_TEXT = TextLengths(text=256, text_valid=64)
HUNYUANVIDEO_15_TEXT = TextLengths(text=1000, text_valid=96, text_2=256, text_2_valid=24, image=729)
TOY_HUNYUANVIDEO_TEXT = TextLengths(text=16, text_valid=9)
TOY_HUNYUANVIDEO_15_TEXT = TextLengths(text=32, text_valid=12, text_2=16, text_2_valid=5, image=16)


# --- analytical FLOPs -----------------------------------------------------------------------------


def _block_flops(tokens: int, attention_tokens: int, width: int, mlp_ratio: float) -> float:
    """One transformer block over ``tokens`` tokens whose attention spans ``attention_tokens`` keys.

    Linear layers: a matmul of ``n`` tokens by a ``d_in x d_out`` weight is ``2 n d_in d_out`` FLOPs.
    Per token, Q, K, V and the output projection are 4 D^2 and the MLP (D -> rD -> D) is 2 r D^2.
    That holds for HunyuanVideo's double-stream blocks (each stream has its own weights, but every
    token goes through one set) and for its single-stream blocks alike (QKV 3 D^2, MLP-in r D^2, and
    one output projection of the concatenated attention and MLP, (1 + r) D^2). Attention: Q K^T and
    the weighted sum of V are ``2 L_q L_k D`` each, so ``4 L_q L_k D`` (D = heads x head_dim).
    Norms, RoPE, activations, gates and the per-sample modulation MLPs are not matmuls over tokens and
    are left out (well under 1% at real sizes).
    """
    linear = 2.0 * tokens * (4.0 + 2.0 * mlp_ratio) * width * width
    attention = 4.0 * tokens * attention_tokens * width
    return linear + attention


def hunyuanvideo_flops(config: Mapping[str, Any], video_tokens: int, text_tokens: int) -> dict[str, float]:
    """FLOPs of one HunyuanVideo transformer forward, from its config.

    ``video_tokens`` are the patchified latents (T' x H'/p x W'/p), ``text_tokens`` the padded text
    length: dense attention kernels compute the masked padding too, so it is counted. Every block
    (double- and single-stream) attends jointly over video and text tokens; the token refiner runs
    its own blocks over the text alone. Returns the total and its parts (``attention`` is the
    ``4 L^2 D`` terms, ``linear`` the rest).
    """
    width = config["num_attention_heads"] * config["attention_head_dim"]
    ratio = float(config["mlp_ratio"])
    tokens = video_tokens + text_tokens
    blocks = config["num_layers"] + config["num_single_layers"]
    patch_volume = config["patch_size_t"] * config["patch_size"] ** 2
    attention = 4.0 * tokens * tokens * width * blocks
    attention += 4.0 * text_tokens * text_tokens * width * config["num_refiner_layers"]
    total = blocks * _block_flops(tokens, tokens, width, ratio)
    total += config["num_refiner_layers"] * _block_flops(text_tokens, text_tokens, width, ratio)
    total += 2.0 * text_tokens * config["text_embed_dim"] * width  # the refiner's input projection
    total += 2.0 * video_tokens * config["in_channels"] * patch_volume * width  # patch embedding
    total += 2.0 * video_tokens * width * config["out_channels"] * patch_volume  # output projection
    return {"total": total, "attention": attention, "linear": total - attention}


def hunyuanvideo15_flops(config: Mapping[str, Any], video_tokens: int, text: TextLengths) -> dict[str, float]:
    """FLOPs of one HunyuanVideo 1.5 transformer forward (one of the two a CFG step runs).

    All blocks are double-stream over the video tokens and the condition tokens (Qwen2.5-VL text,
    ByT5 glyph text and SigLIP image tokens, padding included, see ``hunyuanvideo_flops``). The
    refiner runs over the Qwen tokens; ByT5 goes through a 3-layer projection (in -> 2048 -> 2048 ->
    D), the image tokens through a 2-layer one (in -> in -> D).
    """
    width = config["num_attention_heads"] * config["attention_head_dim"]
    ratio = float(config["mlp_ratio"])
    condition = text.text + text.text_2 + text.image
    tokens = video_tokens + condition
    blocks = config["num_layers"]
    patch_volume = config["patch_size_t"] * config["patch_size"] ** 2
    attention = 4.0 * tokens * tokens * width * blocks
    attention += 4.0 * text.text * text.text * width * config["num_refiner_layers"]
    total = blocks * _block_flops(tokens, tokens, width, ratio)
    total += config["num_refiner_layers"] * _block_flops(text.text, text.text, width, ratio)
    total += 2.0 * text.text * config["text_embed_dim"] * width
    byt5_in = config["text_embed_2_dim"]
    total += 2.0 * text.text_2 * (byt5_in * 2048 + 2048 * 2048 + 2048 * width)
    image_in = config["image_embed_dim"]
    total += 2.0 * text.image * (image_in * image_in + image_in * width)
    total += 2.0 * video_tokens * config["in_channels"] * patch_volume * width
    total += 2.0 * video_tokens * width * config["out_channels"] * patch_volume
    return {"total": total, "attention": attention, "linear": total - attention}


# --- clips ----------------------------------------------------------------------------------------

PRESETS = {"720p": (1280, 720, 129), "540p": (960, 544, 129), "480p": (848, 480, 121)}


@dataclass(frozen=True)
class Clip:
    """A video size in pixels and frames (frames = 4k + 1, as the causal VAEs want)."""

    width: int
    height: int
    frames: int

    @classmethod
    def parse(cls, text: str) -> Clip:
        """``720p``, ``540p``, ``480p`` or ``WxHxF``."""
        if text in PRESETS:
            return cls(*PRESETS[text])
        width, height, frames = (int(part) for part in text.lower().split("x"))
        return cls(width, height, frames)

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height}x{self.frames}"

    def latent_shape(self, channels: int, spatial: int, temporal: int = 4) -> tuple[int, int, int, int, int]:
        return (1, channels, (self.frames - 1) // temporal + 1, self.height // spatial, self.width // spatial)


# --- the machine ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    """Where the benchmark runs and what it can read there."""

    device: torch.device
    dtype: torch.dtype  # the transformers' (bf16 on a GPU, as served; float32 on a CPU)
    vae_dtype: torch.dtype  # HunyuanVideo's VAE is served in fp16
    name: str
    peak_tflops: float | None

    @property
    def cuda(self) -> bool:
        return bool(self.device.type == "cuda")

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def reset_peak_memory(self) -> float:
        """Starts a new peak; returns the GiB allocated now (0 on a CPU, whose figure is the RSS)."""
        if not self.cuda:
            return 0.0
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        return float(torch.cuda.memory_allocated()) / 2**30

    def peak_memory_gib(self) -> float:
        """The peak of torch's allocations since the last reset on a GPU; the process's peak RSS on a
        CPU (a high-water mark of the whole run, not of one measurement)."""
        if self.cuda:
            return float(torch.cuda.max_memory_allocated()) / 2**30
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def detect_machine(device: str, peak_override: float | None) -> Machine:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
        peak = peak_override if peak_override is not None else peak_tflops_for(name)
        return Machine(dev, torch.bfloat16, torch.float16, name, peak)
    # A CPU's nominal peak would make MFU a meaningless number: it is reported as n/a.
    return Machine(dev, torch.float32, torch.float32, platform.processor() or "cpu", peak_override)


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def build_on_device(cls: Any, config: Mapping[str, Any], machine: Machine, dtype: torch.dtype, seed: int = 0) -> Any:
    """``cls(**config)`` with its parameters created on the device in ``dtype`` and drawn by the
    modules' own initialisers after ``torch.manual_seed(seed)``: a 13B model is built in seconds on
    a GPU and never exists in float32 or on the CPU."""
    torch.manual_seed(seed)
    with machine.device, default_dtype(dtype):
        model = cls(**config)
    if any(p.dtype != dtype or p.device.type != machine.device.type for p in model.parameters()):
        model = model.to(device=machine.device, dtype=dtype)
    return model.eval().requires_grad_(False)


# --- one denoising step, as the pipelines call the transformer -----------------------------------


class Denoiser:
    """A transformer's part of a denoising loop at one clip size, fed as its pipeline feeds it.

    ``predict`` is one step's model call(s) inside ``cache_context`` (what step caches key on);
    ``current_timestep`` is read by the caches that skip by timestep (PAB, FasterCache).
    """

    flow_shift = 7.0
    forwards_per_step = 1

    def __init__(self, model: Any, machine: Machine, clip: Clip, text: TextLengths) -> None:
        self.model = model
        self.machine = machine
        self.clip = clip
        self.text = text
        self.current_timestep = 1000

    @property
    def latent_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def video_tokens(self) -> int:
        _, _, frames, height, width = self.latent_shape
        config = self.model.config
        return int((frames // config.patch_size_t) * (height // config.patch_size) * (width // config.patch_size))

    def flops_per_step(self) -> dict[str, float]:
        raise NotImplementedError

    def predict(
        self, latents: torch.Tensor, t: torch.Tensor, step_index: int, sigma: float, steps: int
    ) -> torch.Tensor:
        raise NotImplementedError

    def _context(self, name: str, step_index: int, t: torch.Tensor, sigma: float, steps: int) -> Any:
        return self.model.cache_context(name, step_index=step_index, num_inference_steps=steps, timestep=t, sigma=sigma)

    def run(self, steps: int, seed: int = 0) -> list[float]:
        """A denoising loop of ``steps`` steps (the transformer and the flow-matching scheduler);
        the seconds of each step, synchronised."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        scheduler = FlowMatchEulerDiscreteScheduler(shift=self.flow_shift)
        scheduler.set_timesteps(steps, device=self.machine.device)
        generator = torch.Generator(self.machine.device).manual_seed(seed)
        times = []
        # Every tensor the model sees is made inside inference mode: a compiled block would otherwise
        # recompile once its input turns from a normal tensor into an inference tensor.
        with torch.inference_mode():
            latents = torch.randn(self.latent_shape, generator=generator, device=self.machine.device)
            for i, t in enumerate(scheduler.timesteps):
                self.machine.sync()
                started = time.perf_counter()
                self.current_timestep = int(t)
                noise = self.predict(latents.to(self.machine.dtype), t, i, float(scheduler.sigmas[i]), steps)
                latents = scheduler.step(noise.float(), t, latents, return_dict=False)[0]
                self.machine.sync()
                times.append(time.perf_counter() - started)
        return times


def _text(
    batch: int, tokens: int, valid: int, dim: int, machine: Machine, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator(machine.device).manual_seed(seed)
    states = torch.randn((batch, tokens, dim), generator=generator, device=machine.device, dtype=machine.dtype)
    mask = torch.zeros((batch, tokens), device=machine.device, dtype=torch.int64)
    mask[:, :valid] = 1
    return states, mask


class HunyuanVideoDenoiser(Denoiser):
    """HunyuanVideo's step: one forward (the model is guidance-distilled: guidance is an input,
    ``6.0 * 1000`` as its pipeline passes it), in ``cache_context("cond")``."""

    def __init__(self, model: Any, machine: Machine, clip: Clip, text: TextLengths) -> None:
        super().__init__(model, machine, clip, text)
        config = model.config
        self._latent_shape = clip.latent_shape(config.out_channels, spatial=8)
        states, mask = _text(1, text.text, text.text_valid, config.text_embed_dim, machine, seed=1)
        generator = torch.Generator(machine.device).manual_seed(2)
        self.inputs = {
            "encoder_hidden_states": states,
            "encoder_attention_mask": mask,
            "pooled_projections": torch.randn(
                (1, config.pooled_projection_dim), generator=generator, device=machine.device, dtype=machine.dtype
            ),
            "guidance": torch.tensor([6.0 * 1000.0], device=machine.device, dtype=machine.dtype),
        }

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return self._latent_shape

    def flops_per_step(self) -> dict[str, float]:
        return hunyuanvideo_flops(self.model.config, self.video_tokens, self.text.text)

    def predict(
        self, latents: torch.Tensor, t: torch.Tensor, step_index: int, sigma: float, steps: int
    ) -> torch.Tensor:
        timestep = t.expand(latents.shape[0]).to(latents.dtype)
        with self._context("cond", step_index, t, sigma, steps):
            return self.model(hidden_states=latents, timestep=timestep, **self.inputs, return_dict=False)[0]


class HunyuanVideo15Denoiser(Denoiser):
    """HunyuanVideo 1.5's step: classifier-free guidance as its pipeline runs it, two batch-1
    forwards (conditional, then unconditional, in ``cache_context("pred_cond")`` and
    ``("pred_uncond")``) combined at scale 6; text-to-video feeds zero image latents, a zero mask
    channel and 729 zero SigLIP tokens."""

    flow_shift = 5.0
    forwards_per_step = 2

    def __init__(self, model: Any, machine: Machine, clip: Clip, text: TextLengths) -> None:
        super().__init__(model, machine, clip, text)
        config = model.config
        self._latent_shape = clip.latent_shape(config.out_channels, spatial=16)
        _, channels, frames, height, width = self._latent_shape
        self.condition = torch.zeros(
            (1, config.in_channels - channels, frames, height, width), device=machine.device, dtype=machine.dtype
        )
        self.image_embeds = torch.zeros(
            (1, text.image, config.image_embed_dim), device=machine.device, dtype=machine.dtype
        )
        self.prompts = []
        for seed in (1, 3):  # the prompt, then the negative prompt
            states, mask = _text(1, text.text, text.text_valid, config.text_embed_dim, machine, seed)
            states_2, mask_2 = _text(1, text.text_2, text.text_2_valid, config.text_embed_2_dim, machine, seed + 1)
            self.prompts.append(
                {
                    "encoder_hidden_states": states,
                    "encoder_attention_mask": mask,
                    "encoder_hidden_states_2": states_2,
                    "encoder_attention_mask_2": mask_2,
                }
            )

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return self._latent_shape

    def flops_per_step(self) -> dict[str, float]:
        one = hunyuanvideo15_flops(self.model.config, self.video_tokens, self.text)
        return {key: value * self.forwards_per_step for key, value in one.items()}

    def predict(
        self, latents: torch.Tensor, t: torch.Tensor, step_index: int, sigma: float, steps: int
    ) -> torch.Tensor:
        model_input = torch.cat([latents, self.condition], dim=1)
        timestep = t.expand(1).to(model_input.dtype)
        predictions = []
        for name, prompt in zip(("pred_cond", "pred_uncond"), self.prompts, strict=True):
            with self._context(name, step_index, t, sigma, steps):
                predictions.append(
                    self.model(
                        hidden_states=model_input,
                        image_embeds=self.image_embeds,
                        timestep=timestep,
                        **prompt,
                        return_dict=False,
                    )[0]
                )
        cond, uncond = predictions
        return uncond + 6.0 * (cond - uncond)


# --- attention backends ---------------------------------------------------------------------------

# Backends never timed by default, with why; `--backends` names them to time them anyway.
NOT_TIMED_BY_DEFAULT = {
    "_native_math": "materialises the L x L attention scores (hundreds of GiB at these sizes)",
    "flex": "diffusers calls flex_attention eagerly, which materialises the scores like _native_math",
    "_native_npu": "Ascend NPUs only",
    "_native_xla": "TPUs (torch_xla) only",
}


def _masked_attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Exact attention in float32 with a boolean mask (True = attend); [B, L, H, D] in and out."""
    scores = torch.einsum("bqhd,bkhd->bhqk", q.float(), k.float()) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.einsum("bhqk,bkhd->bqhd", scores.softmax(dim=-1), v.float())


def probe_backend(name: str, machine: Machine, pair_mask: bool) -> str | None:
    """None if backend ``name`` is installed and honours a padding mask like HunyuanVideo's (a key
    mask, [B, 1, 1, L]) or, with ``pair_mask``, 1.5's ([B, 1, L, L], padding rows and columns off),
    checked on small tensors against an exact masked softmax; else why not."""
    from diffusers.models.attention_dispatch import (
        AttentionBackendName,
        _check_attention_backend_requirements,
        dispatch_attention_fn,
    )

    backend = AttentionBackendName(name)
    if name.endswith("_hub"):
        return "fetches its kernel from the Hugging Face Hub (this benchmark runs offline)"
    try:
        _check_attention_backend_requirements(backend)
    except Exception as error:  # noqa: BLE001 - any refusal is a reason to skip, reported as such
        return f"not installed: {_one_line(error)}"
    generator = torch.Generator(machine.device).manual_seed(0)
    length, valid = 192, 150
    q, k, v = (
        torch.randn((1, length, 2, 64), generator=generator, device=machine.device, dtype=machine.dtype)
        for _ in range(3)
    )
    keys = torch.arange(length, device=machine.device) < valid
    mask = keys.view(1, 1, 1, length)
    if pair_mask:
        mask = keys.view(1, 1, 1, length) & keys.view(1, 1, length, 1)
    try:
        with torch.inference_mode():
            out = dispatch_attention_fn(q, k, v, attn_mask=mask, backend=backend)
    except Exception as error:  # noqa: BLE001
        return f"refuses the mask: {_one_line(error)}"
    expected = _masked_attention_reference(q, k, v, mask)
    rows = slice(0, valid) if pair_mask else slice(None)  # fully masked rows have no defined output
    worst = float((out[:, rows].float() - expected[:, rows]).abs().max().item())
    scale = max(1.0, float(expected[:, rows].abs().max().item()))
    tolerance = (5e-2 if machine.dtype != torch.float32 else 1e-4) * scale  # bf16 keeps ~3 digits
    if not math.isfinite(worst) or worst > tolerance:
        return f"differs from an exact masked softmax by {worst:.3g} (tolerance {tolerance:.3g}): mask ignored?"
    return None


def _one_line(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip().splitlines()[0]
    return text[:160]


# --- step caches ----------------------------------------------------------------------------------

# Which caches decide to skip from the activations (so random weights make their decisions
# unrepresentative) and which on a fixed schedule of steps or timesteps.
THRESHOLD_CACHES = {"FirstBlockCacheConfig", "MagCacheConfig", "SeaCacheConfig"}


def cache_configs(denoiser: Denoiser, steps: int) -> list[tuple[str, Callable[[], Any]]]:
    """diffusers' step caches, each configured for a run of ``steps`` steps of this model. Factories,
    so that a config that refuses to be built is reported as skipped rather than ending the run."""
    import diffusers

    def timestep() -> int:
        return denoiser.current_timestep

    guidance_distilled = denoiser.forwards_per_step == 1

    def mag_cache() -> Any:
        # diffusers ships calibrated ratios for Flux only; HunyuanVideo's are not published, and a
        # calibration on random weights would mean nothing, so Flux's stand in (interpolated).
        from diffusers.hooks.mag_cache import FLUX_MAG_RATIOS

        return diffusers.MagCacheConfig(num_inference_steps=steps, mag_ratios=FLUX_MAG_RATIOS)

    return [
        ("TaylorSeerCacheConfig", lambda: diffusers.TaylorSeerCacheConfig()),
        (
            "PyramidAttentionBroadcastConfig",
            lambda: diffusers.PyramidAttentionBroadcastConfig(
                spatial_attention_block_skip_range=2,
                spatial_attention_timestep_skip_range=(100, 800),
                current_timestep_callback=timestep,
            ),
        ),
        (
            "FasterCacheConfig",
            lambda: diffusers.FasterCacheConfig(
                spatial_attention_block_skip_range=2,
                spatial_attention_timestep_skip_range=(-1, 681),
                current_timestep_callback=timestep,
                is_guidance_distilled=guidance_distilled,
            ),
        ),
        ("FirstBlockCacheConfig", lambda: diffusers.FirstBlockCacheConfig(threshold=0.05)),
        ("MagCacheConfig", mag_cache),
        ("SeaCacheConfig", lambda: diffusers.SeaCacheConfig()),
    ]


# --- the report -----------------------------------------------------------------------------------


class Report:
    """The run's results as one JSON document, rewritten after every measurement (so a run cut
    short keeps what it measured), and the progress lines printed as they come."""

    def __init__(self, path: Path | None, header: dict[str, Any]) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            **header,
            "transformer": [],
            "backends": {"accepted": [], "skipped": {}},
            "caches": [],
            "compile": [],
            "vae": [],
            "skipped": [],
            "notes": [],
        }
        self.save()

    def say(self, line: str) -> None:
        print(line, flush=True)

    def add(self, section: str, row: dict[str, Any]) -> None:
        self.data[section].append(row)
        self.save()

    def skip(self, what: str, why: str) -> None:
        self.say(f"  skipped {what}: {why}")
        self.data["skipped"].append({"what": what, "why": why})
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        temporary.replace(self.path)


def report_header(args: argparse.Namespace, machine: Machine) -> dict[str, Any]:
    """benchlib's report header (commit, CPUs, fields, options) where the project's service
    dependencies are installed; the same fields computed here where they are not (the GPU machine
    has torch and diffusers, not the service's database and broker clients)."""
    import diffusers

    fields = {
        "device": machine.name,
        "device_type": machine.device.type,
        "dtype": str(machine.dtype).removeprefix("torch."),
        "peak_bf16_tflops": machine.peak_tflops if machine.cuda else None,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "cuda": torch.version.cuda,
    }
    try:
        sys.path.insert(0, str(ROOT / "scripts"))
        from benchlib import report_header as benchlib_header

        return benchlib_header(args, **fields)
    except Exception:  # noqa: BLE001 - benchlib needs the service's stack (and its settings) to import
        options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        return {"commit": _git_commit(), "cpus": os.cpu_count(), **fields, "options": options}


def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return head.stdout.strip() or "unknown"


# --- the measurements -----------------------------------------------------------------------------


class Bench:
    """The plan of one run: which parts, at which sizes, within which budget."""

    def __init__(self, args: argparse.Namespace, machine: Machine, report: Report) -> None:
        self.args = args
        self.machine = machine
        self.report = report
        self.started = time.perf_counter()
        self.parts = set(args.only)
        self.best_backend = "native"
        self.uncompiled: dict[str, float] = {}

    # budget and bookkeeping

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def within_budget(self, what: str) -> bool:
        if self.args.budget_s is not None and self.elapsed() > self.args.budget_s:
            self.report.skip(what, f"time budget of {self.args.budget_s:.0f} s spent ({self.elapsed():.0f} s)")
            return False
        return True

    def mfu(self, flops: float, seconds: float) -> float | None:
        if not self.machine.cuda or self.machine.peak_tflops is None:
            return None
        return flops / seconds / (self.machine.peak_tflops * 1e12)

    def time_step(self, denoiser: Denoiser, model_name: str, clip: Clip, backend: str) -> dict[str, Any] | None:
        """Seconds per step at one size with one backend: the median of the timed steps after the
        warm-up ones, with FLOPs, MFU and peak memory."""
        what = f"{model_name} {clip.name} {backend}"
        if not self.within_budget(what):
            return None
        self.report.say(f"{what}: {self.args.warmup} warm-up + {self.args.steps} timed steps ...")
        self.machine.reset_peak_memory()
        try:
            denoiser.model.set_attention_backend(backend)
            times = denoiser.run(self.args.warmup + self.args.steps)
        except Exception as error:  # noqa: BLE001 - one configuration failing (OOM, a kernel refusing
            # this shape) must not end the sweep it is part of
            traceback.print_exc()
            self.report.skip(what, f"failed: {_one_line(error)}")
            return None
        finally:
            denoiser.model.reset_attention_backend()
        timed = times[self.args.warmup :]
        seconds = statistics.median(timed)
        flops = denoiser.flops_per_step()
        mfu = self.mfu(flops["total"], seconds)
        row = {
            "model": model_name,
            "clip": clip.name,
            "backend": backend,
            "video_tokens": denoiser.video_tokens,
            "forwards_per_step": denoiser.forwards_per_step,
            "s_per_step": seconds,
            "steps_s": timed,
            "warmup_s": times[: self.args.warmup],
            "tflop_per_step": flops["total"] / 1e12,
            "attention_share": flops["attention"] / flops["total"],
            "tflops": flops["total"] / seconds / 1e12,
            "mfu": mfu,
            "peak_mem_gib": self.machine.peak_memory_gib(),
        }
        self.report.add("transformer", row)
        mfu_text = f"{mfu:.1%}" if mfu is not None else "n/a"
        self.report.say(
            f"  {seconds:.3f} s/step, {row['tflop_per_step']:.3g} TFLOP/step, {row['tflops']:.3g} TFLOP/s, "
            f"MFU {mfu_text}, peak {row['peak_mem_gib']:.1f} GiB"
        )
        return row

    # the parts

    def run(self) -> None:
        needs_hv = self.parts & {"transformer", "backends", "caches", "compile"}
        if needs_hv:
            self.hunyuanvideo()  # the VAE runs inside it, between the steps and the caches
        elif "vae" in self.parts:
            self.guard("vae", self.vae)
        if "hv15" in self.parts:
            self.guard("hv15", self.hunyuanvideo_15)

    def guard(self, what: str, part: Callable[[], object]) -> None:
        """Runs one part; an error is reported (with its traceback on stderr) and the run goes on."""
        try:
            part()
        except Exception as error:  # noqa: BLE001 - a failed part must not lose the others' numbers
            traceback.print_exc()
            self.report.skip(what, f"failed: {_one_line(error)}")
        finally:
            if self.machine.cuda:
                torch.cuda.empty_cache()

    def toy(self) -> bool:
        return not self.machine.cuda

    def hunyuanvideo(self) -> None:
        from diffusers import HunyuanVideoTransformer3DModel

        config = TOY_HUNYUANVIDEO if self.toy() else HUNYUANVIDEO_13B
        text = TOY_HUNYUANVIDEO_TEXT if self.toy() else HUNYUANVIDEO_TEXT
        started = time.perf_counter()
        model = build_on_device(HunyuanVideoTransformer3DModel, config, self.machine, self.machine.dtype)
        self.machine.sync()
        params = sum(p.numel() for p in model.parameters())
        self.report.say(
            f"HunyuanVideo transformer: {params / 1e9:.2f} B parameters built on {self.machine.device} "
            f"in {time.perf_counter() - started:.1f} s"
        )
        self.report.data["hunyuanvideo_parameters"] = params
        sizes = [Clip.parse(s) for s in self.args.sizes]

        def denoiser(clip: Clip) -> HunyuanVideoDenoiser:
            return HunyuanVideoDenoiser(model, self.machine, clip, text)

        name = "hunyuanvideo"

        def native_at(clip: Clip) -> None:
            if not self.measured(name, clip, "native"):
                self.time_step(denoiser(clip), name, clip, "native")

        # Most important first, so a run cut short keeps it: the baseline at the first size, the
        # backend sweep, the fastest backend at the first size, the other sizes.
        if "transformer" in self.parts and sizes:
            self.guard("transformer", lambda: native_at(sizes[0]))
        if "backends" in self.parts:
            self.guard("backends", lambda: self.backends(denoiser, name, pair_mask=False))
            if "transformer" in self.parts and sizes and self.best_backend != "native":
                best = self.best_backend
                self.guard("transformer", lambda: self.time_step(denoiser(sizes[0]), name, sizes[0], best))
        if "transformer" in self.parts:
            for clip in sizes[1:]:
                self.guard("transformer", functools.partial(native_at, clip))
        # The VAE's decode before the sweeps: a cost of every video, where caches and compile are
        # options. The 13B transformer stays resident (its memory is not counted in the VAE's).
        if "vae" in self.parts:
            self.guard("vae", self.vae)
        cache_clip = Clip.parse(self.args.cache_size)
        if "caches" in self.parts:
            self.guard("caches", lambda: self.caches(denoiser(cache_clip)))
        if "compile" in self.parts:
            self.guard("compile", lambda: self.compiled(denoiser(cache_clip)))

    def measured(self, model_name: str, clip: Clip, backend: str) -> dict[str, Any] | None:
        """The row already measured for this model, size and backend, if any."""
        for row in self.report.data["transformer"]:
            if (row["model"], row["clip"], row["backend"]) == (model_name, clip.name, backend):
                return dict(row)
        return None

    def backends(self, make: Callable[[Clip], Denoiser], model_name: str, pair_mask: bool) -> None:
        """Every backend that passes the probe, timed at ``--backend-size``; the fastest becomes the
        run's best backend."""
        from diffusers.models.attention_dispatch import AttentionBackendName

        clip = Clip.parse(self.args.backend_size)
        names = self.args.backends or [b.value for b in AttentionBackendName]
        accepted = []
        for name in names:
            if not self.args.backends and name in NOT_TIMED_BY_DEFAULT:
                reason: str | None = f"not timed by default: {NOT_TIMED_BY_DEFAULT[name]}"
            else:
                reason = probe_backend(name, self.machine, pair_mask)
            if reason is None:
                accepted.append(name)
            else:
                self.report.data["backends"]["skipped"][name] = reason
        self.report.data["backends"]["accepted"] = accepted
        self.report.say(f"attention backends honouring the mask: {', '.join(accepted) or 'none'}")
        for name, reason in self.report.data["backends"]["skipped"].items():
            self.report.say(f"  not timed: {name}: {reason}")
        self.report.save()
        denoiser = make(clip)
        timings: dict[str, float] = {}
        for name in accepted:
            row = self.measured(model_name, clip, name) or self.time_step(denoiser, model_name, clip, name)
            if row is not None:
                timings[name] = row["s_per_step"]
        if timings:
            self.best_backend = min(timings, key=lambda n: timings[n])
            base = timings.get("native")
            for row in self.report.data["transformer"]:
                if row["model"] == model_name and row["clip"] == clip.name and base is not None:
                    row["speedup_vs_native"] = base / row["s_per_step"]
            self.report.data["best_backend"] = self.best_backend
            self.report.say(f"fastest backend at {clip.name}: {self.best_backend}")
            self.report.save()

    def caches(self, denoiser: Denoiser) -> None:
        """The uncached run of ``--cache-steps`` steps, then the same run with each step cache."""
        steps = self.args.cache_steps
        backend = self.best_backend
        model = denoiser.model
        what = f"caches at {denoiser.clip.name} ({steps} steps, {backend})"
        if not self.within_budget(what):
            return
        self.report.say(f"{what}: uncached run ...")
        model.set_attention_backend(backend)
        try:
            denoiser.run(1)  # warm-up at this size
            base = sum(denoiser.run(steps))
            self.uncompiled[denoiser.clip.name] = base / steps
            common = {"clip": denoiser.clip.name, "backend": backend, "steps": steps}
            self.report.add("caches", {**common, "cache": "none", "s_per_step": base / steps, "speedup": 1.0})
            self.report.say(f"  none: {base / steps:.3f} s/step")
            for name, factory in cache_configs(denoiser, steps):
                if not self.within_budget(f"cache {name}"):
                    return
                try:
                    model.enable_cache(factory())
                except Exception as error:  # noqa: BLE001 - a cache that does not fit this model
                    self.report.skip(f"cache {name}", f"refused: {_one_line(error)}")
                    continue
                try:
                    total = sum(denoiser.run(steps))
                except Exception as error:  # noqa: BLE001
                    traceback.print_exc()
                    self.report.skip(f"cache {name}", f"failed while running: {_one_line(error)}")
                    continue
                finally:
                    model.disable_cache()
                note = (
                    "skips on thresholds of the activations: random weights make its decisions unrepresentative"
                    if name in THRESHOLD_CACHES
                    else "skips on a schedule: the ratio carries over to real weights"
                )
                row = {**common, "cache": name, "s_per_step": total / steps, "speedup": base / total, "note": note}
                self.report.add("caches", row)
                self.report.say(f"  {name}: {total / steps:.3f} s/step, {base / total:.2f}x ({note})")
        finally:
            model.reset_attention_backend()

    def compiled(self, denoiser: Denoiser) -> None:
        """Regional compile (``compile_repeated_blocks(fullgraph=True)``) at the cache size: the
        first step's time (compiling) and the compiled step against the same step uncompiled."""
        clip = denoiser.clip
        if not self.args.compile:
            self.report.skip("compile", "off (on a CPU it is opt-in: --compile)")
            return
        if not self.within_budget("compile"):
            return
        model = denoiser.model
        backend = self.best_backend
        model.set_attention_backend(backend)
        try:
            if clip.name not in self.uncompiled:
                denoiser.run(1)
                self.uncompiled[clip.name] = statistics.median(denoiser.run(self.args.steps))
            base = self.uncompiled[clip.name]
            self.report.say(f"compile_repeated_blocks(fullgraph=True) at {clip.name} ({backend}) ...")
            model.compile_repeated_blocks(fullgraph=True)
            times = denoiser.run(1 + self.args.steps)
        finally:
            model.reset_attention_backend()
        seconds = statistics.median(times[1:])
        row = {
            "clip": clip.name,
            "backend": backend,
            "first_step_s": times[0],
            "s_per_step": seconds,
            "uncompiled_s_per_step": base,
            "speedup": base / seconds,
        }
        self.report.add("compile", row)
        self.report.say(f"  first step (compiling) {times[0]:.1f} s; {seconds:.3f} s/step, {base / seconds:.2f}x")

    def vae(self) -> None:
        """The tiled decode of each size's latents, as the service decodes them."""
        from diffusers import AutoencoderKLHunyuanVideo

        config = TOY_VAE if self.toy() else HUNYUANVIDEO_VAE
        vae = build_on_device(AutoencoderKLHunyuanVideo, config, self.machine, self.machine.vae_dtype)
        vae.enable_tiling()
        channels = vae.config.latent_channels
        weights_gib = sum(p.numel() * p.element_size() for p in vae.parameters()) / 2**30 if self.machine.cuda else 0.0
        with torch.inference_mode():  # warm-up on a small latent: kernels loaded, allocator primed
            vae.decode(torch.zeros((1, channels, 2, 8, 8), device=self.machine.device, dtype=self.machine.vae_dtype))
        for text in self.args.sizes:
            clip = Clip.parse(text)
            if not self.within_budget(f"vae {clip.name}"):
                return
            self.report.say(f"VAE tiled decode {clip.name} ...")
            latents = torch.randn(clip.latent_shape(channels, spatial=8), device=self.machine.device)
            latents = (latents / vae.config.scaling_factor).to(self.machine.vae_dtype)
            resident = self.machine.reset_peak_memory()
            self.machine.sync()
            started = time.perf_counter()
            with torch.inference_mode():
                frames = vae.decode(latents, return_dict=False)[0]
            self.machine.sync()
            seconds = time.perf_counter() - started
            row = {
                "clip": clip.name,
                "latents": list(latents.shape),
                "frames": list(frames.shape),
                "decode_s": seconds,
                # The decode's own: its peak over what was resident (other models too), plus its weights.
                "peak_mem_gib": self.machine.peak_memory_gib() - resident + weights_gib,
            }
            del frames, latents
            self.report.add("vae", row)
            self.report.say(f"  {seconds:.2f} s, peak {row['peak_mem_gib']:.1f} GiB")

    def hunyuanvideo_15(self) -> None:
        from diffusers import HunyuanVideo15Transformer3DModel

        config = TOY_HUNYUANVIDEO_15 if self.toy() else HUNYUANVIDEO_15
        text = TOY_HUNYUANVIDEO_15_TEXT if self.toy() else HUNYUANVIDEO_15_TEXT
        clip = Clip.parse(self.args.hv15_size)
        if not self.within_budget(f"hunyuanvideo-1.5 {clip.name}"):
            return
        model = build_on_device(HunyuanVideo15Transformer3DModel, config, self.machine, self.machine.dtype)
        params = sum(p.numel() for p in model.parameters())
        self.report.data["hunyuanvideo_15_parameters"] = params
        self.report.say(f"HunyuanVideo 1.5 transformer: {params / 1e9:.2f} B parameters")
        denoiser = HunyuanVideo15Denoiser(model, self.machine, clip, text)
        self.time_step(denoiser, "hunyuanvideo-1.5", clip, "native")
        best = self.best_backend
        if best != "native":
            reason = probe_backend(best, self.machine, pair_mask=True)
            if reason is None:
                self.time_step(denoiser, "hunyuanvideo-1.5", clip, best)
            else:
                self.report.skip(f"hunyuanvideo-1.5 {best}", f"1.5's pair mask: {reason}")
        del model, denoiser


# --- the summary ----------------------------------------------------------------------------------


def _fmt(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else format(value, pattern)


def summary(data: Mapping[str, Any]) -> str:
    """The run as Markdown tables."""
    lines = [f"device: {data['device']} ({data['device_type']}, {data['dtype']}); peak {data['peak_bf16_tflops']}"]
    lines += [
        "",
        "| model | clip | video tokens | backend | s/step | TFLOP/step | TFLOP/s | MFU | vs native | peak mem GiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["transformer"]:
        lines.append(
            f"| {r['model']} | {r['clip']} | {r['video_tokens']} | {r['backend']} | {r['s_per_step']:.3f} | "
            f"{r['tflop_per_step']:.3g} | {r['tflops']:.3g} | {_fmt(r['mfu'], '.1%')} | "
            f"{_fmt(r.get('speedup_vs_native'), '.2f')} | {r['peak_mem_gib']:.1f} |"
        )
    if data["caches"]:
        lines += ["", "| cache | clip | steps | backend | s/step | speed-up | note |", "|---|---|---|---|---|---|---|"]
        for r in data["caches"]:
            lines.append(
                f"| {r['cache']} | {r['clip']} | {r['steps']} | {r['backend']} | {r['s_per_step']:.3f} | "
                f"{r['speedup']:.2f}x | {r.get('note', '')} |"
            )
    for r in data["compile"]:
        lines += [
            "",
            f"compile_repeated_blocks at {r['clip']} ({r['backend']}): first step {r['first_step_s']:.1f} s, "
            f"{r['s_per_step']:.3f} s/step vs {r['uncompiled_s_per_step']:.3f}, {r['speedup']:.2f}x",
        ]
    if data["vae"]:
        lines += ["", "| VAE tiled decode | latents | seconds | peak mem GiB |", "|---|---|---|---|"]
        for r in data["vae"]:
            lines.append(f"| {r['clip']} | {r['latents']} | {r['decode_s']:.2f} | {r['peak_mem_gib']:.1f} |")
    for s in data["skipped"]:
        lines.append(f"skipped {s['what']}: {s['why']}")
    return "\n".join(lines)


# --- the command line ----------------------------------------------------------------------------


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto (default)")
    parser.add_argument("--only", type=_csv, default=list(PARTS), help=f"comma-separated parts of {','.join(PARTS)}")
    parser.add_argument("--sizes", type=_csv, help="720p,540p,480p or WxHxF (GPU default 720p,540p)")
    parser.add_argument("--backend-size", help="the size of the backend sweep (GPU default 540p)")
    parser.add_argument("--backends", type=_csv, help="time exactly these backends (default: all that pass the probe)")
    parser.add_argument("--cache-size", help="the size of the cache and compile runs (GPU default 960x544x33)")
    parser.add_argument("--cache-steps", type=int, help="steps of each cache run (GPU default 12)")
    parser.add_argument("--hv15-size", help="HunyuanVideo 1.5's size (GPU default 480p = 848x480x121)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up steps before the timed ones (default 1)")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per configuration (default 2)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, help="regional compile (GPU default on)")
    parser.add_argument("--peak-tflops", type=float, help="the card's bf16 dense peak, if not in the table")
    parser.add_argument("--budget-s", type=float, help="skip parts that would start after this (GPU default 480)")
    parser.add_argument("--json", type=Path, help="write the report here (rewritten after every measurement)")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {','.join(PARTS)}")
    return args


def apply_defaults(args: argparse.Namespace, machine: Machine) -> None:
    """Sizes and counts per machine: real sizes on a GPU, toy sizes on a CPU (same code paths)."""
    gpu = {
        "sizes": ["720p", "540p"],
        "backend_size": "540p",
        "cache_size": "960x544x33",
        "cache_steps": 12,
        "hv15_size": "480p",
        "compile": True,
        "budget_s": 480.0,
    }
    cpu = {
        "sizes": ["96x64x9", "64x64x5"],
        "backend_size": "64x64x5",
        "cache_size": "64x64x5",
        "cache_steps": 6,
        "hv15_size": "64x64x9",
        "compile": False,
        "budget_s": None,
    }
    for key, value in (gpu if machine.cuda else cpu).items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    machine = detect_machine(args.device, args.peak_tflops)
    apply_defaults(args, machine)
    report = Report(args.json, report_header(args, machine))
    report.say(
        f"bench_gpu on {machine.name} ({machine.device}, {machine.dtype}); peak "
        f"{machine.peak_tflops if machine.cuda else 'n/a'} TFLOP/s; parts {','.join(args.only)}"
    )
    if not machine.cuda:
        report.data["notes"].append("toy sizes on a CPU: the same code paths; MFU is n/a, memory is peak RSS")
    report.data["notes"].append(
        "threshold-based caches (FirstBlockCache, MagCache, SeaCache) decide on activations: with random "
        "weights their speed-ups are not what real weights give; TaylorSeer, PAB and FasterCache skip on a schedule"
    )
    bench = Bench(args, machine, report)
    bench.run()
    report.data["elapsed_s"] = bench.elapsed()
    report.save()
    report.say("")
    report.say(summary(report.data))
    report.say(f"done in {bench.elapsed():.1f} s")
    return report.data


if __name__ == "__main__":
    main()
