"""HunyuanVideo text-to-video (``HunyuanVideoPipeline``): Tencent's 13B DiT with a Llama text
encoder and CLIP, guidance-distilled (one transformer pass per step unless a negative prompt asks
for true classifier-free guidance)."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.kinds.base import GenerationRequest, PipelineAdapter, Progress, seeded_generator, to_uint8_frames
from model.options import cache_run
from model.spec import ModelSpec


def prompt_template(spec: ModelSpec, pipeline: Any, default_template: dict[str, Any]) -> dict[str, Any]:
    """HunyuanVideo's system prompt, with how many of its tokens to crop from the embedding.

    The original Llama tokenizer splits the system prompt into a known number of tokens. Any other
    tokenizer (a tiny twin's) is counted here, once, so the crop is right for it too.
    """
    template = default_template["template"]
    assert isinstance(template, str)  # typed ``object``: the dict also holds the int ``crop_start``
    crop_start = spec.prompt_template_crop_start
    if crop_start is None:
        prefix = template.split("{}")[0]
        crop_start = len(pipeline.tokenizer(prefix)["input_ids"])
    return {**default_template, "crop_start": crop_start}


class HunyuanVideoAdapter(PipelineAdapter):
    pipeline_class = "diffusers.HunyuanVideoPipeline"

    def __init__(self, spec: ModelSpec, pipeline: Any) -> None:
        from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video import DEFAULT_PROMPT_TEMPLATE

        super().__init__(spec, pipeline)
        self.prompt_template = prompt_template(spec, pipeline, DEFAULT_PROMPT_TEMPLATE)

    def generate(self, request: GenerationRequest, progress: Progress) -> np.ndarray:
        import torch

        # The pipeline opens the cache contexts ("cond", "uncond") itself.
        with torch.inference_mode(), cache_run(self.pipeline.transformer):
            output = self.pipeline(
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                true_cfg_scale=self.spec.defaults.true_cfg_scale if request.negative_prompt else 1.0,
                height=request.height,
                width=request.width,
                num_frames=request.num_frames,
                num_inference_steps=request.num_inference_steps,
                guidance_scale=request.guidance_scale,
                generator=seeded_generator(request.seed),
                output_type="np",
                prompt_template=self.prompt_template,
                max_sequence_length=self.spec.max_sequence_length,
                callback_on_step_end=progress.callback_on_step_end(),
            )
        return to_uint8_frames(output.frames[0])
