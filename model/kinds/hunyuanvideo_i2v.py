"""HunyuanVideo image-to-video (``HunyuanVideoImageToVideoPipeline``): the 13B DiT animating a
first frame. Its text encoder is a LLaVA: the image goes through LLaVA's vision tower and its
tokens take the place of the ``<image>`` token of the prompt template, next to the prompt's.

Two checkpoints share this kind, told apart by the transformer's ``image_condition_type``:

- ``token_replace`` (16 latent channels, the one Tencent recommends): the image's latent replaces
  the first latent frame at every step; guidance-distilled like text-to-video.
- ``latent_concat`` (33 channels, the first release): the image's latent and a mask are
  concatenated to the noise. Its pipeline drops the first 4 decoded frames, so we ask it for 4
  more than the request wants.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model.kinds.base import GenerationRequest, PipelineAdapter, Progress, seeded_generator, to_uint8_frames
from model.kinds.hunyuanvideo import prompt_template as t2v_prompt_template
from model.options import cache_run
from model.spec import ModelSpec

# ``HunyuanVideoImageToVideoPipeline.__call__`` cuts this many frames off the front of a
# ``latent_concat`` video after the VAE decode (``video[:, :, 4:]``).
LATENT_CONCAT_DROPPED_FRAMES = 4


def image_tokens_of(text_encoder: Any) -> int:
    """How many tokens LLaVA's vision tower turns one image into: one per patch, plus CLS unless
    the ``default`` feature strategy drops it (576 for the real 336-pixel, 14-pixel-patch tower)."""
    config = text_encoder.config
    vision = config.vision_config
    patches = int((vision.image_size // vision.patch_size) ** 2)
    return patches if config.vision_feature_select_strategy == "default" else patches + 1


def i2v_prompt_template(spec: ModelSpec, pipeline: Any, default_template: dict[str, Any]) -> dict[str, Any]:
    """The LLaVA prompt template with the positions the pipeline needs, right for ``pipeline``.

    - ``crop_start``: tokens of the system prompt before the user's prompt (the ``<image>`` token
      counted once), as for text-to-video: the spec's number, or counted with the model's own
      tokenizer when the spec has ``None``.
    - ``image_emb_start`` / ``image_emb_end``: where the image's tokens sit in the prompt once the
      ``<image>`` token is expanded to ``image_emb_len`` of them: from the tokenizer too, or
      ``spec.extra`` (the pipeline's numbers by default).
    - ``image_emb_len``: how many tokens the vision tower yields, ``spec.extra["image_emb_len"]``
      (576 by default); checked against the loaded vision tower, since LLaVA refuses a prompt
      whose image-token count differs from it.
    - ``double_return_token_id``: the id of ``"\\n\\n"`` (one token in Llama 3), which older diffusers
      releases look for to find the assistant's turn; newer ones look for ``<|end_header_id|>``
      and ignore it.
    """
    image_emb_len = int(spec.extra.get("image_emb_len", default_template["image_emb_len"]))
    vision_tokens = image_tokens_of(pipeline.text_encoder)
    if image_emb_len != vision_tokens:
        raise ValueError(
            f"{spec.name}: image_emb_len is {image_emb_len} but the vision tower yields {vision_tokens} image tokens"
        )
    template = t2v_prompt_template(spec, pipeline, default_template)
    if spec.prompt_template_crop_start is None:
        text = template["template"]
        assert isinstance(text, str)
        tokenizer = pipeline.tokenizer
        ids = list(tokenizer(text.split("{}")[0])["input_ids"])
        image_token_id = pipeline.text_encoder.config.image_token_index
        if ids.count(image_token_id) != 1:
            raise ValueError(f"{spec.name}: the tokenizer does not encode the template's <image> as one token")
        image_emb_start = ids.index(image_token_id)
        double_return = list(tokenizer("\n\n", add_special_tokens=False)["input_ids"])
        double_return_token_id = double_return[0] if len(double_return) == 1 else None
    else:
        image_emb_start = int(spec.extra.get("image_emb_start", default_template["image_emb_start"]))
        double_return_token_id = spec.extra.get("double_return_token_id", 271)  # Llama 3's "\n\n"
    template.update(
        image_emb_start=image_emb_start,
        image_emb_end=image_emb_start + image_emb_len,
        image_emb_len=image_emb_len,
    )
    if double_return_token_id is not None:
        template["double_return_token_id"] = int(double_return_token_id)
    return template


class HunyuanVideoImageToVideoAdapter(PipelineAdapter):
    pipeline_class = "diffusers.HunyuanVideoImageToVideoPipeline"

    def __init__(self, spec: ModelSpec, pipeline: Any) -> None:
        from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_image2video import DEFAULT_PROMPT_TEMPLATE

        super().__init__(spec, pipeline)
        self.prompt_template = i2v_prompt_template(spec, pipeline, DEFAULT_PROMPT_TEMPLATE)
        self.image_condition_type: str | None = pipeline.transformer.config.image_condition_type
        # latent_concat loses its first 4 decoded frames: asking for 4 more keeps 4k+1 frames.
        self.extra_frames = LATENT_CONCAT_DROPPED_FRAMES if self.image_condition_type == "latent_concat" else 0

    def generate(self, request: GenerationRequest, progress: Progress) -> np.ndarray:
        import torch

        if request.image is None:  # VideoGenerator refuses these first; this is for direct callers
            raise ValueError(f"{self.spec.name} animates an image: the request has none")
        # This pipeline opens no cache context: its transformer calls get "cond" (and "uncond",
        # the second call of a step, with true classifier-free guidance) from ``cache_run``.
        contexts = ("cond", "uncond") if request.negative_prompt else ("cond",)
        with torch.inference_mode(), cache_run(self.pipeline.transformer, contexts):
            output = self.pipeline(
                image=request.image,
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                true_cfg_scale=self.spec.defaults.true_cfg_scale if request.negative_prompt else 1.0,
                height=request.height,
                width=request.width,
                num_frames=request.num_frames + self.extra_frames,
                num_inference_steps=request.num_inference_steps,
                guidance_scale=request.guidance_scale,
                generator=seeded_generator(request.seed),
                output_type="np",
                prompt_template=self.prompt_template,
                max_sequence_length=self.spec.max_sequence_length,
                callback_on_step_end=progress.callback_on_step_end(),
            )
        return to_uint8_frames(output.frames[0])
