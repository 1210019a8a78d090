"""Turn a validated request into frames with a loaded diffusers pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.spec import ModelSpec

# Called after each denoising step with (steps_done, total_steps). It may raise to stop the
# generation at once: diffusers' own ``_interrupt`` flag skips the remaining steps but still
# runs the VAE decode, which is the slowest single part on a GPU.
StepCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    width: int
    height: int
    num_frames: int
    num_inference_steps: int
    guidance_scale: float
    seed: int
    negative_prompt: str | None = None


@dataclass(frozen=True)
class GeneratedVideo:
    frames: np.ndarray  # (num_frames, height, width, 3), uint8 RGB
    seed: int

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


def _prompt_template(spec: ModelSpec, pipeline: Any) -> dict[str, Any]:
    """HunyuanVideo's system prompt, with how many of its tokens to crop from the embedding.

    The original Llama tokenizer splits the system prompt into 95 tokens. Any other tokenizer
    (the tiny model's) is counted here, once, so the crop is right for it too.
    """
    from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video import DEFAULT_PROMPT_TEMPLATE

    template = DEFAULT_PROMPT_TEMPLATE["template"]
    assert isinstance(template, str)  # typed ``object``: the dict also holds the int ``crop_start``
    crop_start = spec.prompt_template_crop_start
    if crop_start is None:
        prefix = template.split("{}")[0]
        crop_start = len(pipeline.tokenizer(prefix)["input_ids"])
    return {"template": template, "crop_start": crop_start}


class VideoGenerator:
    """A warm pipeline plus the spec it was loaded for; ``generate`` is safe to call repeatedly."""

    def __init__(self, spec: ModelSpec, pipeline: Any):
        self.spec = spec
        self.pipeline = pipeline
        self._prompt_template = _prompt_template(spec, pipeline)

    def generate(self, request: GenerationRequest, on_step: StepCallback | None = None) -> GeneratedVideo:
        import torch

        # Seeding a CPU generator gives the same initial noise on any device, so a seed
        # reproduces a video across CPU and GPU runs of the same weights.
        generator = torch.Generator(device="cpu").manual_seed(request.seed)
        total = request.num_inference_steps

        def step_end(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
            if on_step is not None:
                on_step(step + 1, total)
            return callback_kwargs

        with torch.inference_mode():
            output = self.pipeline(
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                true_cfg_scale=self.spec.defaults.true_cfg_scale if request.negative_prompt else 1.0,
                height=request.height,
                width=request.width,
                num_frames=request.num_frames,
                num_inference_steps=request.num_inference_steps,
                guidance_scale=request.guidance_scale,
                generator=generator,
                output_type="np",
                prompt_template=self._prompt_template,
                max_sequence_length=self.spec.max_sequence_length,
                callback_on_step_end=step_end,
            )
        frames = np.asarray(output.frames[0])
        frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
        return GeneratedVideo(frames=frames, seed=request.seed)
