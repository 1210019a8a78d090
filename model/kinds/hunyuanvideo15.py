"""HunyuanVideo 1.5, text-to-video (``HunyuanVideo15Pipeline``) and image-to-video
(``HunyuanVideo15ImageToVideoPipeline``): Tencent's 8.3B DiT with Qwen2.5-VL and ByT5 text encoders
(and SigLIP for the image), a 16x VAE, and real classifier-free guidance through a ``guider``.

Three things differ from HunyuanVideo and are handled here:

- No step callback: progress and cancellation wrap the scheduler's ``step`` for one run
  (``Progress.scheduler_steps``); raising there leaves the denoising loop before the VAE decode.
- No ``guidance_scale`` argument: the scale lives on the pipeline's guider. Each run gets a guider
  made with ``guider.new(guidance_scale=...)`` and the loaded guider is put back afterwards, so a
  job never sees another job's scale and the pipeline is left as it was loaded.
- Prompt-template settings that are plain attributes of the pipeline, not saved in its config
  (how many system-prompt tokens to crop, tokenizer lengths, how many image tokens the DiT gets
  in text-to-video): set once, in ``__init__``, from the spec. ``spec.prompt_template_crop_start``
  is the crop (108 for Qwen2.5-VL's tokenizer; ``None`` counts it with the model's own tokenizer,
  as a tiny twin needs); ``spec.max_sequence_length`` is the Qwen tokenizer's length (1000);
  ``spec.extra`` may hold ``byt5_max_length`` (256) and ``vision_num_semantic_tokens`` (729).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np

from model.kinds.base import GenerationRequest, PipelineAdapter, Progress, seeded_generator, to_uint8_frames
from model.options import cache_run
from model.spec import ModelSpec

# The real checkpoints' values, for what a spec's ``extra`` leaves out (those of the pipeline's own
# ``__init__``: ByT5's token length, and SigLIP so400m/14 at 384 px = 27 x 27 image tokens).
DEFAULT_BYT5_MAX_LENGTH = 256
DEFAULT_VISION_TOKENS = 729

# Stands for the user's prompt while counting the system prompt's tokens.
_PROMPT_SENTINEL = "<<videogen-prompt>>"


def count_system_prompt_tokens(pipeline: Any) -> int:
    """How many tokens of the chat-formatted prompt come before the user's text, with this
    pipeline's tokenizer, chat template and system message: the embedding rows to crop.

    Renders the conversation exactly as the pipeline does (its own ``format_text_input``) around a
    sentinel prompt and tokenizes what precedes it; the chat markers end in a newline, where the
    tokenizer's pre-tokenizer always splits, so the count is the same as within the full prompt.
    """
    from diffusers.pipelines.hunyuan_video1_5.pipeline_hunyuan_video1_5 import format_text_input

    conversation = format_text_input([_PROMPT_SENTINEL], pipeline.system_message)
    rendered = pipeline.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
    text = rendered[0] if isinstance(rendered, list) else rendered
    prefix = text[: text.index(_PROMPT_SENTINEL)]
    return len(pipeline.tokenizer(prefix, add_special_tokens=False)["input_ids"])


@contextmanager
def guidance_scale(pipeline: Any, scale: float) -> Iterator[None]:
    """Run with ``scale`` on the pipeline's guider, then put the loaded guider back.

    The guider's own ``new`` makes a copy with the scale in its config too; the loaded guider is
    never changed, so nothing half-changed outlives a run, even one that raises.
    """
    loaded = pipeline.guider
    if math.isclose(float(loaded.guidance_scale), scale):
        yield
        return
    pipeline.guider = loaded.new(guidance_scale=scale)
    try:
        yield
    finally:
        pipeline.guider = loaded


class _HunyuanVideo15Adapter(PipelineAdapter):
    """What both 1.5 kinds share: the prompt template, guidance, progress, the output's shape."""

    def __init__(self, spec: ModelSpec, pipeline: Any) -> None:
        super().__init__(spec, pipeline)
        pipeline.tokenizer_max_length = spec.max_sequence_length
        pipeline.tokenizer_2_max_length = int(spec.extra.get("byt5_max_length", DEFAULT_BYT5_MAX_LENGTH))
        pipeline.vision_num_semantic_tokens = int(spec.extra.get("vision_num_semantic_tokens", DEFAULT_VISION_TOKENS))
        crop_start = spec.prompt_template_crop_start
        if crop_start is None:
            crop_start = count_system_prompt_tokens(pipeline)
        pipeline.prompt_template_encode_start_idx = crop_start

    def generate(self, request: GenerationRequest, progress: Progress) -> np.ndarray:
        import torch

        self._check_shape(request)
        with ExitStack() as stack:
            stack.enter_context(torch.inference_mode())
            stack.enter_context(cache_run(self.pipeline.transformer))  # contexts: the guider's, opened by the pipeline
            stack.enter_context(guidance_scale(self.pipeline, request.guidance_scale))
            stack.enter_context(progress.scheduler_steps(self.pipeline))
            inputs = self._inputs(request, stack)
            output = self.pipeline(
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                num_frames=request.num_frames,
                num_inference_steps=request.num_inference_steps,
                generator=seeded_generator(request.seed),
                output_type="np",
                **inputs,
            )
        return to_uint8_frames(output.frames[0])

    @abstractmethod
    def _inputs(self, request: GenerationRequest, stack: ExitStack) -> dict[str, Any]:
        """The pipeline's arguments particular to the kind (size, image); contexts that must last
        for the run go on ``stack``."""

    def _check_shape(self, request: GenerationRequest) -> None:
        """The VAE decodes 4k+1 frames of 16x16-pixel latents: anything else would come back
        another shape than asked, so refuse it (a spec's sizes and ``frames_for`` never ask)."""
        from model.generation import UnsupportedRequestError

        spatial = int(self.pipeline.vae_scale_factor_spatial)
        temporal = int(self.pipeline.vae_scale_factor_temporal)
        if request.width % spatial or request.height % spatial:
            raise UnsupportedRequestError(
                f"{self.spec.name} makes videos whose width and height are multiples of {spatial}, "
                f"not {request.width}x{request.height}"
            )
        if request.num_frames < 1 or (request.num_frames - 1) % temporal:
            raise UnsupportedRequestError(f"{self.spec.name} makes {temporal}k+1 frames, not {request.num_frames}")


class HunyuanVideo15Adapter(_HunyuanVideo15Adapter):
    pipeline_class = "diffusers.HunyuanVideo15Pipeline"

    def _inputs(self, request: GenerationRequest, stack: ExitStack) -> dict[str, Any]:
        return {"height": request.height, "width": request.width}


class HunyuanVideo15ImageToVideoAdapter(_HunyuanVideo15Adapter):
    pipeline_class = "diffusers.HunyuanVideo15ImageToVideoPipeline"

    def _inputs(self, request: GenerationRequest, stack: ExitStack) -> dict[str, Any]:
        if request.image is None:
            from model.generation import UnsupportedRequestError

            raise UnsupportedRequestError(f"{self.spec.name} animates an image: the request has none")
        stack.enter_context(_video_size(self.pipeline, request.width, request.height))
        return {"image": request.image.convert("RGB")}


@contextmanager
def _video_size(pipeline: Any, width: int, height: int) -> Iterator[None]:
    """Make the image-to-video pipeline generate at ``width`` x ``height``.

    It takes no size: it picks the resolution bucket nearest the image's aspect ratio at the
    transformer's ``target_size`` and crops the image to it. That bucket can differ from the
    image's own size even for a preset (a 720x1280 image gets 720x1264 at 720p, by a rounding in
    the ratio search), so for one run the bucket is the requested size, which the image already
    has; the instance attribute goes afterwards and the class's method shows again.
    """
    processor = pipeline.video_processor

    def requested_size(*_: Any, **__: Any) -> tuple[int, int]:
        return height, width

    processor.calculate_default_height_width = requested_size
    try:
        yield
    finally:
        del processor.calculate_default_height_width
