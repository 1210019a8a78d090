"""The models videogen knows how to serve, by name.

Built in (``model.family``): the HunyuanVideo family in diffusers layout (``hunyuanvideo``
text-to-video 13B, ``hunyuanvideo-i2v`` and ``hunyuanvideo-i2v-33ch`` image-to-video,
``hunyuanvideo-1.5-480p`` / ``-720p`` and their ``-i2v`` variants, 8.3B), and a ``-tiny`` twin of
every pipeline kind. Operators add more (another checkout of the weights, other presets) in a TOML
file, so a new deployment needs no code change.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from model.family import BUILTIN_MODELS, HUNYUANVIDEO
from model.options import ModelOptions, ModelOptionsError
from model.spec import Kind, ModelSpec, Size


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

        Its ``options`` table (``model.options.ModelOptions``) says how the pipeline is prepared;
        what it leaves out is the base's. Every key is optional::

            [models.hunyuanvideo-fast.options]
            attention_backend = "flash_varlen"   # diffusers' AttentionBackendName; a varlen one on GPUs
            compile = true                       # regional: transformer.compile_repeated_blocks
            compile_fullgraph = false
            compile_mode = "max-autotune-no-cudagraphs"
            compile_backend = "inductor"         # torch.compile's default ("cudagraphs", "aot_eager")
            cpu_offload = false                  # enable_model_cpu_offload (CUDA only)
            vae_tiling = true
            group_offload = false                # or a table: offload_type, num_blocks_per_group, use_stream...

            [models.hunyuanvideo-fast.options.cache]  # one of diffusers' step caches
            type = "taylorseer"                  # first_block, faster, pyramid_attention_broadcast, mag
            cache_interval = 5                   # ...then that config class's own parameters
            taylor_factors_dtype = "bfloat16"

            [models.hunyuanvideo-fast.options.quantization]
            backend = "torchao"                  # or bitsandbytes_8bit / bitsandbytes_4bit (CUDA only)
            type = "Int8WeightOnlyConfig"        # torchao only: a torchao.quantization config class
            components = ["transformer"]         # ...then that config's own parameters

        ``vae_tiling`` and ``cpu_offload`` are also read at the top of a model's table, as before
        options existed. Unknown keys and values of the wrong type raise ``ModelOptionsError``;
        combinations that cannot work are refused when the model loads (``model.options.check_options``).
        """
        registry = cls()
        if path is None:
            return registry
        data = tomllib.loads(Path(path).read_text())
        for name, table in data.get("models", {}).items():
            registry._specs[name] = _spec_from_table(name, dict(table), registry)
        return registry


# Options that were spec fields before ``options`` existed, still read at the top of a model's table.
_TOP_LEVEL_OPTIONS = {"vae_tiling", "cpu_offload"}
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
    options = dict(table.pop("options", {}))
    for legacy in _TOP_LEVEL_OPTIONS & set(table):
        if legacy in options:
            raise ModelOptionsError(f"models.{name}: {legacy} is given twice, at the top and in options")
        options[legacy] = table.pop(legacy)
    try:
        parsed = ModelOptions.from_table(options, base=base.options)
    except ModelOptionsError as error:
        raise ModelOptionsError(f"models.{name}: {error}") from error
    return replace(base, name=name, limits=limits, defaults=defaults, options=parsed, **table)
