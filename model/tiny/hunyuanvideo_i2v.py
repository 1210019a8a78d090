"""The tiny twins of HunyuanVideo image-to-video: its real diffusers and transformers classes at
toy sizes, in the two checkpoint variants Tencent released.

- ``token_replace`` (``hunyuanvideo-i2v-tiny``): the latent channels of text-to-video; the image's
  latent replaces the first latent frame at every step (the 16-channel checkpoint).
- ``latent_concat`` (``hunyuanvideo-i2v-33ch-tiny``): the image's latent and a mask are
  concatenated to the noise on the channel axis, ``2 * latent_channels + 1`` in all (the 33-channel
  checkpoint); its pipeline drops the first 4 decoded frames.

The text encoder is a LLaVA (Llama text model and a CLIP vision tower), as in the real pipeline:
the image is run through the vision tower and its tokens are spliced into the Llama prompt at the
``<image>`` token of the prompt template. Everything else is the text-to-video twin's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from model.tiny.hunyuanvideo import (
    LATENT_CHANNELS,
    tiny_clip_text_encoder,
    tiny_llama_config,
    tiny_transformer,
    tiny_vae,
)
from model.tiny.marker import write_marker
from model.tiny.tokenizers import build_clip_tokenizer, build_llama_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

ImageConditionType = Literal["token_replace", "latent_concat"]

# The vision tower sees a VISION_IMAGE_SIZE square cut into VISION_PATCH_SIZE patches; LLaVA's
# "default" feature strategy drops the CLS token, so the image yields (32 / 8) ** 2 = 16 tokens.
# The specs of these twins say so in ``extra["image_emb_len"]`` (576 for the real 336 / 14 tower).
VISION_IMAGE_SIZE = 32
VISION_PATCH_SIZE = 8
IMAGE_EMB_LEN = (VISION_IMAGE_SIZE // VISION_PATCH_SIZE) ** 2

IMAGE_TOKEN = "<image>"
# Tokens that are single tokens in Llama 3 and that the pipeline's prompt cropping counts on: the
# role names (it cuts ``<|eot_id|><|start_header_id|>assistant<|end_header_id|>`` as 4 tokens)
# and the blank line after each header (``double_return_token_id`` in older diffusers).
_WHOLE_TOKENS = ("\n\n", "system", "user", "assistant")


def build_llava_tokenizer() -> PreTrainedTokenizerFast:
    """The text-to-video twin's Llama-3 stand-in, plus what the LLaVA template needs: ``<image>``
    as a special token, and the role names and ``"\\n\\n"`` as one token each, as in Llama 3."""
    from tokenizers import AddedToken

    tokenizer = build_llama_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    tokenizer.add_tokens(
        [AddedToken(_WHOLE_TOKENS[0], normalized=False)]
        + [AddedToken(word, single_word=True, normalized=False) for word in _WHOLE_TOKENS[1:]]
    )
    return tokenizer


def build_tiny_model(
    out_dir: Path | str,
    seed: int = 0,
    image_condition_type: ImageConditionType = "token_replace",
) -> Path:
    """Write a complete ``HunyuanVideoImageToVideoPipeline`` in diffusers layout to ``out_dir``.

    Same seed, same bytes: the weights are drawn after ``torch.manual_seed(seed)`` for each
    component, in a fixed order.
    """
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoImageToVideoPipeline,
    )
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
    )

    if image_condition_type not in ("token_replace", "latent_concat"):
        raise ValueError(f"image_condition_type must be token_replace or latent_concat, got {image_condition_type!r}")
    out_dir = Path(out_dir)
    tokenizer = build_llava_tokenizer()
    tokenizer_2 = build_clip_tokenizer()

    torch.manual_seed(seed)
    text_encoder = LlavaForConditionalGeneration(
        LlavaConfig(
            text_config=tiny_llama_config(tokenizer),
            vision_config=CLIPVisionConfig(
                hidden_size=16,
                intermediate_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                image_size=VISION_IMAGE_SIZE,
                patch_size=VISION_PATCH_SIZE,
                projection_dim=16,
            ),
            image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
            image_seq_length=IMAGE_EMB_LEN,
            # The pipeline pads the prompt, once expanded by the image tokens, with this id.
            pad_token_id=tokenizer.pad_token_id,
            vision_feature_select_strategy="default",
            vision_feature_layer=-2,
        )
    )
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": VISION_IMAGE_SIZE},
        crop_size={"height": VISION_IMAGE_SIZE, "width": VISION_IMAGE_SIZE},
        do_center_crop=True,
    )
    text_encoder_2 = tiny_clip_text_encoder(tokenizer_2, seed)
    latent_concat = image_condition_type == "latent_concat"
    transformer = tiny_transformer(
        seed,
        # latent_concat: noise, the image latent and a 1-channel mask, like 16 * 2 + 1 = 33.
        in_channels=2 * LATENT_CHANNELS + 1 if latent_concat else LATENT_CHANNELS,
        # As the real checkpoints: the 16-channel one is guidance-distilled, the 33-channel one not.
        guidance_embeds=not latent_concat,
        image_condition_type=image_condition_type,
    )
    vae = tiny_vae(seed)  # the text-to-video twin's VAE
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)

    pipeline = HunyuanVideoImageToVideoPipeline(
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        vae=vae,
        scheduler=scheduler,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        image_processor=image_processor,
    )
    pipeline.save_pretrained(out_dir)
    write_marker(out_dir, "hunyuanvideo-i2v-33ch-tiny" if latent_concat else "hunyuanvideo-i2v-tiny", seed)
    return out_dir


def build_token_replace(out_dir: Path | str, seed: int = 0) -> Path:
    """``hunyuanvideo-i2v-tiny``: the twin of the 16-channel (``token_replace``) checkpoint."""
    return build_tiny_model(out_dir, seed=seed, image_condition_type="token_replace")


def build_latent_concat(out_dir: Path | str, seed: int = 0) -> Path:
    """``hunyuanvideo-i2v-33ch-tiny``: the twin of the 33-channel (``latent_concat``) checkpoint."""
    return build_tiny_model(out_dir, seed=seed, image_condition_type="latent_concat")
