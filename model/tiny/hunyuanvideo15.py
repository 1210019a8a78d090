"""The tiny twins of HunyuanVideo 1.5, text-to-video and image-to-video: their real diffusers and
transformers classes at toy sizes.

Same idea as ``model.tiny.hunyuanvideo``: every component is the class the real checkpoint uses
(Qwen2.5-VL's text model and a ``Qwen2Tokenizer``, ByT5, SigLIP for the image, the 1.5 DiT and its
16x VAE, the flow-matching scheduler and the classifier-free-guidance guider), with seeded random
weights and a tokenizer trained here, written with ``save_pretrained`` so that the worker loads it
with ``from_pretrained`` exactly as it loads the 8.3B checkpoints. Their videos are noise.

Sizes: the 1.5 VAE compresses 16x in space and 4x in time, so 128x128 at 17 frames is 8x8x5
latents; the DiT's patch size is 1, so that is 320 video tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model.tiny.marker import write_marker
from model.tiny.tokenizers import build_qwen2_tokenizer

# SigLIP at toy size: 32x32 pixels in 8x8 patches give 16 image tokens (the real so400m/14 at 384
# gives 729). The t2v twin's pipeline must feed the DiT the same number of (zero) image tokens, so
# its spec says so in ``extra["vision_num_semantic_tokens"]``.
SIGLIP_IMAGE_SIZE = 32
SIGLIP_PATCH_SIZE = 8
VISION_TOKENS = (SIGLIP_IMAGE_SIZE // SIGLIP_PATCH_SIZE) ** 2

_TEXT_DIM = 32  # Qwen2.5-VL hidden size (3584 in the real 7B)
_BYT5_DIM = 16  # ByT5 d_model (1472 in Glyph-ByT5)
_VISION_DIM = 16  # SigLIP hidden size (1152 in so400m)
_LATENT_CHANNELS = 4  # 32 in the real VAE


def build_tiny_t2v(out_dir: Path | str, seed: int = 0) -> Path:
    """Write a complete ``HunyuanVideo15Pipeline`` (text-to-video) in diffusers layout to ``out_dir``."""
    from diffusers import HunyuanVideo15Pipeline

    out_dir = Path(out_dir)
    pipeline = HunyuanVideo15Pipeline(**_shared_components(seed, task_type="t2v"))
    pipeline.save_pretrained(out_dir)
    write_marker(out_dir, "hunyuanvideo-1.5-tiny", seed)
    return out_dir


def build_tiny_i2v(out_dir: Path | str, seed: int = 0) -> Path:
    """Write a complete ``HunyuanVideo15ImageToVideoPipeline`` in diffusers layout to ``out_dir``."""
    import torch
    from diffusers import HunyuanVideo15ImageToVideoPipeline
    from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    out_dir = Path(out_dir)
    components = _shared_components(seed, task_type="i2v")
    torch.manual_seed(seed)
    image_encoder = SiglipVisionModel(
        SiglipVisionConfig(
            hidden_size=_VISION_DIM,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=SIGLIP_IMAGE_SIZE,
            patch_size=SIGLIP_PATCH_SIZE,
        )
    )
    feature_extractor = SiglipImageProcessor(
        size={"height": SIGLIP_IMAGE_SIZE, "width": SIGLIP_IMAGE_SIZE},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    pipeline = HunyuanVideo15ImageToVideoPipeline(
        **components, image_encoder=image_encoder, feature_extractor=feature_extractor
    )
    pipeline.save_pretrained(out_dir)
    write_marker(out_dir, "hunyuanvideo-1.5-i2v-tiny", seed)
    return out_dir


def _shared_components(seed: int, task_type: str) -> dict[str, Any]:
    """What both 1.5 pipelines hold. Each weighted component is drawn right after
    ``torch.manual_seed(seed)``, in a fixed order, so one seed gives the same bytes."""
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        ClassifierFreeGuidance,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15Transformer3DModel,
    )
    from transformers import ByT5Tokenizer, Qwen2_5_VLTextConfig, Qwen2_5_VLTextModel, T5Config, T5EncoderModel

    tokenizer = build_qwen2_tokenizer()
    tokenizer_2 = ByT5Tokenizer()  # byte-level: nothing to train

    torch.manual_seed(seed)
    text_encoder = Qwen2_5_VLTextModel(
        Qwen2_5_VLTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=_TEXT_DIM,
            intermediate_size=64,
            num_hidden_layers=3,  # the pipeline takes the third hidden state from the end
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [1, 1, 2]},
            bos_token_id=None,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    torch.manual_seed(seed)
    text_encoder_2 = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer_2),
            d_model=_BYT5_DIM,
            d_kv=8,
            d_ff=32,
            num_layers=1,
            num_heads=2,
            feed_forward_proj="gated-gelu",
            is_encoder_decoder=False,
            use_cache=False,
            pad_token_id=tokenizer_2.pad_token_id,
            eos_token_id=tokenizer_2.eos_token_id,
        )
    )
    torch.manual_seed(seed)
    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=2 * _LATENT_CHANNELS + 1,  # noisy latents, the image's latents, the image mask
        out_channels=_LATENT_CHANNELS,
        num_attention_heads=2,
        attention_head_dim=16,
        num_layers=1,
        num_refiner_layers=1,
        mlp_ratio=2.0,
        patch_size=1,
        patch_size_t=1,
        qk_norm="rms_norm",
        text_embed_dim=_TEXT_DIM,
        text_embed_2_dim=_BYT5_DIM,
        image_embed_dim=_VISION_DIM,
        rope_axes_dim=(4, 6, 6),
        target_size=128,
        task_type=task_type,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLHunyuanVideo15(
        in_channels=3,
        out_channels=3,
        latent_channels=_LATENT_CHANNELS,
        block_out_channels=(4, 8, 8, 8, 8),
        layers_per_block=1,
        spatial_compression_ratio=16,
        temporal_compression_ratio=4,
    )
    return {
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "transformer": transformer,
        "vae": vae,
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=5.0),
        "text_encoder_2": text_encoder_2,
        "tokenizer_2": tokenizer_2,
        "guider": ClassifierFreeGuidance(guidance_scale=6.0),
    }
