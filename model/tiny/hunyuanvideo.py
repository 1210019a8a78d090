"""The tiny twin of HunyuanVideo text-to-video: its real diffusers classes at toy sizes.

Weights cannot be downloaded where this project is developed and tested, so we build a model
that exercises the exact code path the real 13B checkpoint takes -- ``save_pretrained`` here,
``DiffusionPipeline.from_pretrained`` in the worker -- with seeded random weights and tokenizers
trained locally. Everything it generates is noise, by construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.tiny.marker import write_marker
from model.tiny.tokenizers import build_clip_tokenizer, build_llama_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


def build_tiny_model(out_dir: Path | str, seed: int = 0) -> Path:
    """Write a complete HunyuanVideo pipeline in diffusers layout to ``out_dir``.

    Same seed, same bytes: the weights are drawn after ``torch.manual_seed(seed)`` for each
    component, in a fixed order.
    """
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, HunyuanVideoPipeline
    from transformers import LlamaModel

    out_dir = Path(out_dir)
    tokenizer = build_llama_tokenizer()
    tokenizer_2 = build_clip_tokenizer()

    torch.manual_seed(seed)
    text_encoder = LlamaModel(tiny_llama_config(tokenizer))
    text_encoder_2 = tiny_clip_text_encoder(tokenizer_2, seed)
    transformer = tiny_transformer(seed)
    vae = tiny_vae(seed)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)

    pipeline = HunyuanVideoPipeline(
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        vae=vae,
        scheduler=scheduler,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
    )
    pipeline.save_pretrained(out_dir)
    write_marker(out_dir, "hunyuanvideo-tiny", seed)
    return out_dir


# Parts the HunyuanVideo twins share: image-to-video has the same Llama text model (inside its
# LLaVA), CLIP text encoder, VAE and transformer, the latter with an image condition.
LATENT_CHANNELS = 4


def tiny_llama_config(tokenizer: PreTrainedTokenizerFast) -> Any:
    """The Llama text model's configuration at toy size (the weights are drawn by the caller)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=4,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        max_position_embeddings=512,
    )


def tiny_transformer(seed: int, in_channels: int = LATENT_CHANNELS, guidance_embeds: bool = True, **image: Any) -> Any:
    """HunyuanVideo's DiT at toy size, seeded. Image-to-video variants pass more input channels,
    their guidance embedding and ``image_condition_type``."""
    import torch
    from diffusers import HunyuanVideoTransformer3DModel

    torch.manual_seed(seed)
    return HunyuanVideoTransformer3DModel(
        in_channels=in_channels,
        out_channels=LATENT_CHANNELS,
        num_attention_heads=2,
        attention_head_dim=16,
        num_layers=1,
        num_single_layers=1,
        num_refiner_layers=1,
        mlp_ratio=2.0,
        patch_size=2,
        patch_size_t=1,
        qk_norm="rms_norm",
        guidance_embeds=guidance_embeds,
        text_embed_dim=32,
        pooled_projection_dim=16,
        rope_axes_dim=(4, 6, 6),
        **image,
    )


def tiny_clip_text_encoder(tokenizer: PreTrainedTokenizerFast, seed: int) -> Any:
    """CLIP's text encoder at toy size, seeded: the pooled text embedding of HunyuanVideo."""
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            projection_dim=16,
            max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )


def tiny_vae(seed: int) -> Any:
    """HunyuanVideo's 3D causal VAE at toy size, seeded: 8x spatial and 4x temporal compression."""
    import torch
    from diffusers import AutoencoderKLHunyuanVideo

    torch.manual_seed(seed)
    return AutoencoderKLHunyuanVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=LATENT_CHANNELS,
        down_block_types=("HunyuanVideoDownBlock3D",) * 4,
        up_block_types=("HunyuanVideoUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        act_fn="silu",
        norm_num_groups=4,
        scaling_factor=0.476986,
        spatial_compression_ratio=8,
        temporal_compression_ratio=4,
        mid_block_add_attention=True,
    )
