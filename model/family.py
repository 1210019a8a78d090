"""The built-in models: the HunyuanVideo family, and a tiny twin of each pipeline kind.

Real checkpoints load from ``MODELS_DIR/<name>`` in diffusers layout; ``hub_repository`` says where
to download each (nothing downloads at run time). Tiny twins are the same classes at toy sizes with
seeded random weights (``model.tiny``): they run on a CPU in seconds and their videos are noise.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from model.options import ModelOptions
from model.spec import Kind, ModelDefaults, ModelLimits, ModelSpec, Size

# The 720p and 540p presets of Tencent's reference implementation (sizes are WIDTHxHEIGHT).
HUNYUANVIDEO_720P = tuple(Size.parse(s) for s in ("1280x720", "720x1280", "1104x832", "832x1104", "960x960"))
HUNYUANVIDEO_540P = tuple(Size.parse(s) for s in ("960x544", "544x960", "832x624", "624x832", "720x720"))

HUNYUANVIDEO = ModelSpec(
    name="hunyuanvideo",
    description="HunyuanVideo 13B text-to-video (Tencent), bf16 transformer, 720p and 540p presets.",
    kind=Kind.HUNYUANVIDEO,
    weights_subdir="hunyuanvideo",
    hub_repository="hunyuanvideo-community/HunyuanVideo",
    limits=ModelLimits(
        sizes=HUNYUANVIDEO_720P + HUNYUANVIDEO_540P,
        max_frames=129,
        min_fps=8,
        max_fps=30,
        min_steps=1,
        max_steps=100,
    ),
    defaults=ModelDefaults(size=Size(1280, 720), seconds=5, fps=24, num_inference_steps=50, guidance_scale=6.0),
    transformer_dtype="bfloat16",
    dtype="float16",
    options=ModelOptions(vae_tiling=True),
    prompt_template_crop_start=95,
)


# HunyuanVideo image-to-video: Tencent's two checkpoints, told apart by the transformer's
# ``image_condition_type``. Tencent's reference settings: 720p, 129 frames at 24 fps, 50 steps,
# embedded guidance 6.0 (and flow shift 7.0: the scheduler's, not a spec field).
HUNYUANVIDEO_I2V = replace(
    HUNYUANVIDEO,
    name="hunyuanvideo-i2v",
    description=(
        "HunyuanVideo-I2V 13B image-to-video (Tencent), the 16-channel token_replace checkpoint "
        "(Tencent's fixed release, better first-frame consistency), bf16 transformer, 720p presets."
    ),
    kind=Kind.HUNYUANVIDEO_I2V,
    weights_subdir="hunyuanvideo-i2v",
    hub_repository="hunyuanvideo-community/HunyuanVideo-I2V",
    limits=replace(HUNYUANVIDEO.limits, sizes=HUNYUANVIDEO_720P),
    prompt_template_crop_start=103,
)

HUNYUANVIDEO_I2V_33CH = replace(
    HUNYUANVIDEO_I2V,
    name="hunyuanvideo-i2v-33ch",
    description=(
        "HunyuanVideo-I2V 13B image-to-video (Tencent), the 33-channel latent_concat checkpoint "
        "(Tencent's first release; not guidance-distilled), bf16 transformer, 720p presets."
    ),
    weights_subdir="hunyuanvideo-i2v-33ch",
    hub_repository="hunyuanvideo-community/HunyuanVideo-I2V-33ch",
    # Its pipeline drops 4 decoded frames, which the adapter asks for on top: 125 + 4 = 129 at most.
    limits=replace(HUNYUANVIDEO_I2V.limits, max_frames=125),
    defaults=replace(HUNYUANVIDEO_I2V.defaults, guidance_scale=1.0),
)


# HunyuanVideo 1.5 (8.3B), text-to-video and image-to-video, 480p and 720p checkpoints. Sizes are
# the resolution buckets Tencent's code picks at each checkpoint's target size (640 and 960 px) for
# 16:9, 9:16, 4:3, 3:4 and 1:1; all are multiples of the VAE's 16 px. bf16 throughout: Qwen2.5-VL
# and ByT5 are bf16 models (T5s overflow in fp16).
HUNYUANVIDEO_15_480P = tuple(Size.parse(s) for s in ("848x480", "480x848", "720x544", "544x720", "640x640"))
HUNYUANVIDEO_15_720P = tuple(Size.parse(s) for s in ("1280x720", "720x1280", "1104x832", "832x1104", "960x960"))


def _hunyuanvideo_15(
    name: str, kind: Kind, sizes: tuple[Size, ...], hub_repository: str, description: str
) -> ModelSpec:
    return ModelSpec(
        name=name,
        description=description,
        kind=kind,
        weights_subdir=name,
        hub_repository=hub_repository,
        limits=ModelLimits(sizes=sizes, max_frames=121, min_fps=8, max_fps=30, min_steps=1, max_steps=100),
        defaults=ModelDefaults(size=sizes[0], seconds=5, fps=24, num_inference_steps=50, guidance_scale=6.0),
        transformer_dtype="bfloat16",
        dtype="bfloat16",
        options=ModelOptions(vae_tiling=True),
        prompt_template_crop_start=108,  # Qwen2.5-VL's tokens for the 1.5 system prompt
        max_sequence_length=1000,
    )


HUNYUANVIDEO_15_480P_T2V = _hunyuanvideo_15(
    "hunyuanvideo-1.5-480p",
    Kind.HUNYUANVIDEO_15,
    HUNYUANVIDEO_15_480P,
    "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_t2v",
    "HunyuanVideo 1.5 8.3B text-to-video (Tencent), 480p, bf16, classifier-free guidance.",
)
HUNYUANVIDEO_15_720P_T2V = _hunyuanvideo_15(
    "hunyuanvideo-1.5-720p",
    Kind.HUNYUANVIDEO_15,
    HUNYUANVIDEO_15_720P,
    "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-720p_t2v",
    "HunyuanVideo 1.5 8.3B text-to-video (Tencent), 720p, bf16, classifier-free guidance.",
)
HUNYUANVIDEO_15_480P_I2V = _hunyuanvideo_15(
    "hunyuanvideo-1.5-480p-i2v",
    Kind.HUNYUANVIDEO_15_I2V,
    HUNYUANVIDEO_15_480P,
    "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_i2v",
    "HunyuanVideo 1.5 8.3B image-to-video (Tencent), 480p, bf16: animates an image of the video's size.",
)
HUNYUANVIDEO_15_720P_I2V = _hunyuanvideo_15(
    "hunyuanvideo-1.5-720p-i2v",
    Kind.HUNYUANVIDEO_15_I2V,
    HUNYUANVIDEO_15_720P,
    "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-720p_i2v",
    "HunyuanVideo 1.5 8.3B image-to-video (Tencent), 720p, bf16: animates an image of the video's size.",
)


# --- the tiny twins ------------------------------------------------------------------------------

TINY_LIMITS = ModelLimits(
    sizes=tuple(Size.parse(s) for s in ("128x128", "256x256", "256x144", "144x256")),
    max_frames=65,
    min_fps=4,
    max_fps=24,
    min_steps=1,
    max_steps=200,
)
TINY_DEFAULTS = ModelDefaults(size=Size(128, 128), seconds=2, fps=8, num_inference_steps=4, guidance_scale=6.0)


def _tiny(name: str, kind: Kind, builder: str, twin_of: str, **overrides: Any) -> ModelSpec:
    """A tiny twin: float32 on the CPU, no VAE tiling (no options at all), its system-prompt tokens counted with its
    own tokenizer (``prompt_template_crop_start=None``)."""
    spec = ModelSpec(
        name=name,
        description=(
            f"{twin_of}'s real diffusers classes at toy sizes with seeded random weights. "
            "Runs on a CPU in seconds; its videos are noise. For development and tests."
        ),
        kind=kind,
        weights_subdir=name,
        tiny_builder=builder,
        limits=TINY_LIMITS,
        defaults=TINY_DEFAULTS,
        transformer_dtype="float32",
        dtype="float32",
        options=ModelOptions(vae_tiling=False),
        prompt_template_crop_start=None,
        max_sequence_length=32,
    )
    return replace(spec, **overrides)


HUNYUANVIDEO_TINY = _tiny(
    "hunyuanvideo-tiny", Kind.HUNYUANVIDEO, "model.tiny.hunyuanvideo:build_tiny_model", "HunyuanVideo"
)
HUNYUANVIDEO_I2V_TINY = _tiny(
    "hunyuanvideo-i2v-tiny",
    Kind.HUNYUANVIDEO_I2V,
    "model.tiny.hunyuanvideo_i2v:build_token_replace",
    "HunyuanVideo-I2V (token_replace, like hunyuanvideo-i2v)",
    # The twin's vision tower yields (32 / 8) ** 2 image tokens (model.tiny.hunyuanvideo_i2v).
    extra={"image_emb_len": 16},
)
HUNYUANVIDEO_I2V_33CH_TINY = _tiny(
    "hunyuanvideo-i2v-33ch-tiny",
    Kind.HUNYUANVIDEO_I2V,
    "model.tiny.hunyuanvideo_i2v:build_latent_concat",
    "HunyuanVideo-I2V (latent_concat, like hunyuanvideo-i2v-33ch)",
    limits=replace(TINY_LIMITS, max_frames=61),  # + the 4 its pipeline drops
    defaults=replace(TINY_DEFAULTS, guidance_scale=1.0),
    extra={"image_emb_len": 16},
)
# ByT5 tokens, and the image tokens of the twin's SigLIP (32 px in 8 px patches, model.tiny.hunyuanvideo15).
_TINY_15_EXTRA = {"byt5_max_length": 16, "vision_num_semantic_tokens": 16}
HUNYUANVIDEO_15_TINY = _tiny(
    "hunyuanvideo-1.5-tiny",
    Kind.HUNYUANVIDEO_15,
    "model.tiny.hunyuanvideo15:build_tiny_t2v",
    "HunyuanVideo 1.5 text-to-video",
    extra=_TINY_15_EXTRA,
)
HUNYUANVIDEO_15_I2V_TINY = _tiny(
    "hunyuanvideo-1.5-i2v-tiny",
    Kind.HUNYUANVIDEO_15_I2V,
    "model.tiny.hunyuanvideo15:build_tiny_i2v",
    "HunyuanVideo 1.5 image-to-video",
    extra=_TINY_15_EXTRA,
)

BUILTIN_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        HUNYUANVIDEO,
        HUNYUANVIDEO_I2V,
        HUNYUANVIDEO_I2V_33CH,
        HUNYUANVIDEO_15_480P_T2V,
        HUNYUANVIDEO_15_720P_T2V,
        HUNYUANVIDEO_15_480P_I2V,
        HUNYUANVIDEO_15_720P_I2V,
        HUNYUANVIDEO_TINY,
        HUNYUANVIDEO_I2V_TINY,
        HUNYUANVIDEO_I2V_33CH_TINY,
        HUNYUANVIDEO_15_TINY,
        HUNYUANVIDEO_15_I2V_TINY,
    )
}
