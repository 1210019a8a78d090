"""Build ``hunyuanvideo-tiny``: HunyuanVideo's real diffusers classes at toy sizes.

Weights cannot be downloaded where this project is developed and tested, so we build a model
that exercises the exact code path the real 13B checkpoint takes -- ``save_pretrained`` here,
``DiffusionPipeline.from_pretrained`` in the worker -- with seeded random weights and tokenizers
trained locally with ``tokenizers``. Everything it generates is noise, by construction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

TINY_MARKER = "videogen_tiny.json"

# Special tokens of the two text encoders HunyuanVideo uses (Llama 3 chat format and CLIP).
LLAMA_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<pad>",
]
CLIP_SPECIALS = ["<|startoftext|>", "<|endoftext|>"]

_CORPUS = """
Describe the video by detailing the following aspects: 1. The main content and theme of the video.
2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects.
3. Actions, events, behaviors temporal relationships, physical movement changes of the objects.
4. background environment, light, style and atmosphere.
5. camera angles, movements, and transitions used in the video: system user assistant
a cat walks on the grass in the sun, a dog runs along the beach at sunset, waves crash on rocks,
a red car drives through a city street at night with neon lights, slow motion, cinematic, 4k,
a timelapse of clouds over mountains, a drone shot of a forest, an astronaut rides a horse on mars,
close up of a flower blooming, rain falls on a window, a person dances in a studio, high quality
""".strip()


def _train_bpe(specials: list[str], vocab_size: int) -> Tokenizer:
    """A byte-level BPE (GPT-2/Llama-3 style): any Unicode input encodes, nothing maps to UNK."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS.splitlines(), trainer=trainer)
    return tokenizer


def build_llama_tokenizer(vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Stands in for HunyuanVideo's Llama-3 tokenizer: adds ``<|begin_of_text|>`` like it does."""
    from transformers import PreTrainedTokenizerFast

    tok = _train_bpe(LLAMA_SPECIALS, vocab_size)
    bos = "<|begin_of_text|>"
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token="<|end_of_text|>",
        pad_token="<pad>",
        padding_side="right",
        model_max_length=512,
    )


def build_clip_tokenizer(vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Stands in for CLIP's tokenizer: wraps text in start/end tokens, pads with end tokens."""
    from transformers import PreTrainedTokenizerFast

    tok = _train_bpe(CLIP_SPECIALS, vocab_size)
    sot, eot = CLIP_SPECIALS
    tok.post_processor = processors.TemplateProcessing(
        single=f"{sot} $A {eot}",
        pair=f"{sot} $A {eot} $B {eot}",
        special_tokens=[(sot, tok.token_to_id(sot)), (eot, tok.token_to_id(eot))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=sot,
        eos_token=eot,
        pad_token=eot,
        unk_token=eot,
        padding_side="right",
        model_max_length=77,
    )


def build_tiny_model(out_dir: Path | str, seed: int = 0) -> Path:
    """Write a complete HunyuanVideo pipeline in diffusers layout to ``out_dir``.

    Same seed, same bytes: the weights are drawn after ``torch.manual_seed(seed)`` for each
    component, in a fixed order.
    """
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoPipeline,
        HunyuanVideoTransformer3DModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, LlamaConfig, LlamaModel

    out_dir = Path(out_dir)
    tokenizer = build_llama_tokenizer()
    tokenizer_2 = build_clip_tokenizer()

    torch.manual_seed(seed)
    text_encoder = LlamaModel(
        LlamaConfig(
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
    )
    torch.manual_seed(seed)
    text_encoder_2 = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer_2),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            projection_dim=16,
            max_position_embeddings=77,
            bos_token_id=tokenizer_2.bos_token_id,
            eos_token_id=tokenizer_2.eos_token_id,
            pad_token_id=tokenizer_2.pad_token_id,
        )
    )
    torch.manual_seed(seed)
    transformer = HunyuanVideoTransformer3DModel(
        in_channels=4,
        out_channels=4,
        num_attention_heads=2,
        attention_head_dim=16,
        num_layers=1,
        num_single_layers=1,
        num_refiner_layers=1,
        mlp_ratio=2.0,
        patch_size=2,
        patch_size_t=1,
        qk_norm="rms_norm",
        guidance_embeds=True,
        text_embed_dim=32,
        pooled_projection_dim=16,
        rope_axes_dim=(4, 6, 6),
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLHunyuanVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
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
    (out_dir / TINY_MARKER).write_text(
        json.dumps({"model": "hunyuanvideo-tiny", "seed": seed, "note": "random weights: output is noise"}, indent=2)
    )
    return out_dir
