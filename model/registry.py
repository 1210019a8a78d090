"""The models videogen knows how to serve, by name.

Two are built in: ``hunyuanvideo`` (Tencent's 13B weights in diffusers layout) and
``hunyuanvideo-tiny`` (the same classes at toy sizes, built locally by ``build_tiny_model``).
Operators add more (another checkout of the weights, other presets) in a TOML file, so a new
deployment needs no code change.
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
