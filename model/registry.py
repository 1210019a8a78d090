"""The models videogen knows how to serve, by name.

Built in: the HunyuanVideo family in diffusers layout (``hunyuanvideo`` text-to-video 13B,
``hunyuanvideo-i2v`` and ``hunyuanvideo-i2v-33ch`` image-to-video, ``hunyuanvideo-1.5-480p`` /
``-720p`` and their ``-i2v`` variants, 8.3B), each with its hub repository, and a ``-tiny`` twin of
every pipeline kind (the same classes at toy sizes, built locally by ``model.tiny``). Operators add
more (another checkout of the weights, other presets) in a TOML file, so a new deployment needs no
code change.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

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
    vae_tiling=True,
    prompt_template_crop_start=95,
)

HUNYUANVIDEO_TINY = ModelSpec(
    name="hunyuanvideo-tiny",
    description=(
        "HunyuanVideo's real diffusers classes at toy sizes with seeded random weights. "
        "Runs on a CPU in seconds; its videos are noise. For development and tests."
    ),
    kind=Kind.HUNYUANVIDEO,
    weights_subdir="hunyuanvideo-tiny",
    tiny_builder="model.tiny.hunyuanvideo:build_tiny_model",
    limits=ModelLimits(
        sizes=tuple(Size.parse(s) for s in ("128x128", "256x256", "256x144", "144x256")),
        max_frames=65,
        min_fps=4,
        max_fps=24,
        min_steps=1,
        max_steps=200,
    ),
    defaults=ModelDefaults(size=Size(128, 128), seconds=2, fps=8, num_inference_steps=4, guidance_scale=6.0),
    transformer_dtype="float32",
    dtype="float32",
    vae_tiling=False,
    prompt_template_crop_start=None,
    max_sequence_length=32,
)

BUILTIN_MODELS: dict[str, ModelSpec] = {m.name: m for m in (HUNYUANVIDEO, HUNYUANVIDEO_TINY)}

# HunyuanVideo image-to-video: Tencent's two checkpoints, told apart by the transformer's
# ``image_condition_type``, and their tiny twins. Tencent's reference settings: 720p, 129 frames
# at 24 fps, 50 steps, embedded guidance 6.0 (and flow shift 7.0: the scheduler's, not a spec field).
HUNYUANVIDEO_I2V = ModelSpec(
    name="hunyuanvideo-i2v",
    description=(
        "HunyuanVideo-I2V 13B image-to-video (Tencent), the 16-channel token_replace checkpoint "
        "(Tencent's fixed release, better first-frame consistency), bf16 transformer, 720p presets."
    ),
    kind=Kind.HUNYUANVIDEO_I2V,
    weights_subdir="hunyuanvideo-i2v",
    hub_repository="hunyuanvideo-community/HunyuanVideo-I2V",
    limits=ModelLimits(sizes=HUNYUANVIDEO_720P, max_frames=129, min_fps=8, max_fps=30, min_steps=1, max_steps=100),
    defaults=ModelDefaults(size=Size(1280, 720), seconds=5, fps=24, num_inference_steps=50, guidance_scale=6.0),
    transformer_dtype="bfloat16",
    dtype="float16",
    vae_tiling=True,
    prompt_template_crop_start=103,
)

HUNYUANVIDEO_I2V_33CH = ModelSpec(
    name="hunyuanvideo-i2v-33ch",
    description=(
        "HunyuanVideo-I2V 13B image-to-video (Tencent), the 33-channel latent_concat checkpoint "
        "(Tencent's first release; not guidance-distilled), bf16 transformer, 720p presets."
    ),
    kind=Kind.HUNYUANVIDEO_I2V,
    weights_subdir="hunyuanvideo-i2v-33ch",
    hub_repository="hunyuanvideo-community/HunyuanVideo-I2V-33ch",
    # Its pipeline drops 4 decoded frames, which the adapter asks for on top: 125 + 4 = 129 at most.
    limits=ModelLimits(sizes=HUNYUANVIDEO_720P, max_frames=125, min_fps=8, max_fps=30, min_steps=1, max_steps=100),
    defaults=ModelDefaults(size=Size(1280, 720), seconds=5, fps=24, num_inference_steps=50, guidance_scale=1.0),
    transformer_dtype="bfloat16",
    dtype="float16",
    vae_tiling=True,
    prompt_template_crop_start=103,
)

HUNYUANVIDEO_I2V_TINY = ModelSpec(
    name="hunyuanvideo-i2v-tiny",
    description=(
        "HunyuanVideo-I2V's real diffusers classes at toy sizes (token_replace, like hunyuanvideo-i2v) "
        "with seeded random weights. Runs on a CPU in seconds; its videos are noise. For development and tests."
    ),
    kind=Kind.HUNYUANVIDEO_I2V,
    weights_subdir="hunyuanvideo-i2v-tiny",
    tiny_builder="model.tiny.hunyuanvideo_i2v:build_token_replace",
    limits=ModelLimits(
        sizes=tuple(Size.parse(s) for s in ("128x128", "256x256", "256x144", "144x256")),
        max_frames=65,
        min_fps=4,
        max_fps=24,
        min_steps=1,
        max_steps=200,
    ),
    defaults=ModelDefaults(size=Size(128, 128), seconds=2, fps=8, num_inference_steps=4, guidance_scale=6.0),
    transformer_dtype="float32",
    dtype="float32",
    vae_tiling=False,
    prompt_template_crop_start=None,
    max_sequence_length=32,
    # The twin's vision tower yields (32 / 8) ** 2 image tokens (model.tiny.hunyuanvideo_i2v).
    extra={"image_emb_len": 16},
)

HUNYUANVIDEO_I2V_33CH_TINY = replace(
    HUNYUANVIDEO_I2V_TINY,
    name="hunyuanvideo-i2v-33ch-tiny",
    description=(
        "HunyuanVideo-I2V's real diffusers classes at toy sizes (latent_concat, like hunyuanvideo-i2v-33ch) "
        "with seeded random weights. Runs on a CPU in seconds; its videos are noise. For development and tests."
    ),
    weights_subdir="hunyuanvideo-i2v-33ch-tiny",
    tiny_builder="model.tiny.hunyuanvideo_i2v:build_latent_concat",
    limits=replace(HUNYUANVIDEO_I2V_TINY.limits, max_frames=61),  # + the 4 its pipeline drops
    defaults=replace(HUNYUANVIDEO_I2V_TINY.defaults, guidance_scale=1.0),
)

BUILTIN_MODELS.update(
    (m.name, m) for m in (HUNYUANVIDEO_I2V, HUNYUANVIDEO_I2V_33CH, HUNYUANVIDEO_I2V_TINY, HUNYUANVIDEO_I2V_33CH_TINY)
)


class UnknownModelError(KeyError):
    """Raised for a model name the registry does not hold."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown model {self.name!r}; known models: {', '.join(self.known)}"


class ModelRegistry:
    """Name -> ``ModelSpec``, the built-ins plus any the operator declares."""

    def __init__(self, specs: dict[str, ModelSpec] | None = None):
        self._specs = dict(BUILTIN_MODELS if specs is None else specs)

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownModelError(name, self.names()) from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    @classmethod
    def from_file(cls, path: Path | None) -> ModelRegistry:
        """Built-ins plus the models in a TOML file, each a ``[models.NAME]`` table.

        A table may name ``base`` (a built-in) and override any field, e.g.::

            [models.hunyuanvideo-540p]
            base = "hunyuanvideo"
            weights_subdir = "hunyuanvideo"
            sizes = ["960x544", "544x960"]
            default_size = "960x544"
        """
        registry = cls()
        if path is None:
            return registry
        data = tomllib.loads(Path(path).read_text())
        for name, table in data.get("models", {}).items():
            registry._specs[name] = _spec_from_table(name, dict(table), registry)
        return registry


_LIMIT_FIELDS = {"max_frames", "min_fps", "max_fps", "min_steps", "max_steps", "max_prompt_chars"}
_DEFAULT_FIELDS = {
    "default_seconds": "seconds",
    "default_fps": "fps",
    "default_num_inference_steps": "num_inference_steps",
    "default_guidance_scale": "guidance_scale",
}


def _spec_from_table(name: str, table: dict[str, Any], registry: ModelRegistry) -> ModelSpec:
    base = registry.get(table.pop("base", HUNYUANVIDEO.name))
    limits, defaults = base.limits, base.defaults
    if "sizes" in table:
        limits = replace(limits, sizes=tuple(Size.parse(s) for s in table.pop("sizes")))
    limits = replace(limits, **{k: table.pop(k) for k in list(table) if k in _LIMIT_FIELDS})
    if "default_size" in table:
        defaults = replace(defaults, size=Size.parse(table.pop("default_size")))
    defaults = replace(defaults, **{_DEFAULT_FIELDS[k]: table.pop(k) for k in list(table) if k in _DEFAULT_FIELDS})
    if "kind" in table:
        table["kind"] = Kind(table["kind"])
    return replace(base, name=name, limits=limits, defaults=defaults, **table)


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
        vae_tiling=True,
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


def _hunyuanvideo_15_tiny(name: str, kind: Kind, builder: str, what: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        description=(
            f"HunyuanVideo 1.5 {what}: its real diffusers classes at toy sizes with seeded random weights. "
            "Runs on a CPU in seconds; its videos are noise. For development and tests."
        ),
        kind=kind,
        weights_subdir=name,
        tiny_builder=builder,
        limits=ModelLimits(
            sizes=tuple(Size.parse(s) for s in ("128x128", "256x256", "256x144", "144x256")),
            max_frames=65,
            min_fps=4,
            max_fps=24,
            min_steps=1,
            max_steps=200,
        ),
        defaults=ModelDefaults(size=Size(128, 128), seconds=2, fps=8, num_inference_steps=4, guidance_scale=6.0),
        transformer_dtype="float32",
        dtype="float32",
        vae_tiling=False,
        prompt_template_crop_start=None,  # its tokenizer is not Qwen's: count the system prompt
        max_sequence_length=32,
        # ByT5 tokens, and the image tokens of its SigLIP (32 px in 8 px patches, model.tiny.hunyuanvideo15)
        extra={"byt5_max_length": 16, "vision_num_semantic_tokens": 16},
    )


HUNYUANVIDEO_15_TINY = _hunyuanvideo_15_tiny(
    "hunyuanvideo-1.5-tiny", Kind.HUNYUANVIDEO_15, "model.tiny.hunyuanvideo15:build_tiny_t2v", "text-to-video"
)
HUNYUANVIDEO_15_I2V_TINY = _hunyuanvideo_15_tiny(
    "hunyuanvideo-1.5-i2v-tiny", Kind.HUNYUANVIDEO_15_I2V, "model.tiny.hunyuanvideo15:build_tiny_i2v", "image-to-video"
)

BUILTIN_MODELS.update(
    {
        m.name: m
        for m in (
            HUNYUANVIDEO_15_480P_T2V,
            HUNYUANVIDEO_15_720P_T2V,
            HUNYUANVIDEO_15_480P_I2V,
            HUNYUANVIDEO_15_720P_I2V,
            HUNYUANVIDEO_15_TINY,
            HUNYUANVIDEO_15_I2V_TINY,
        )
    }
)
