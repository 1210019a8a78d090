"""How a model is loaded beyond its weights: step caches, attention kernels, compilation,
quantization, offloading and VAE tiling, as the models TOML writes them.

A ``ModelSpec`` carries one ``ModelOptions``; ``model.loading.load_pipeline`` applies it, all of it,
in one place. This module is the data and its rules:

- ``ModelOptions.from_table`` reads the TOML form (``[models.NAME.options]``) and refuses unknown
  keys and values of the wrong type with a ``ModelOptionsError`` naming the option.
- ``check_options`` refuses, before any weight is read, the combinations that cannot work (First
  Block Cache on HunyuanVideo 1.5, a flash kernel that takes no attention mask, CUDA-only options
  on a CPU, both offloads at once...): one table of rules, each with the reason it exists.
- ``CacheOption.diffusers_config`` and ``QuantizationOption.pipeline_config`` turn the data into
  diffusers' own config objects, checking the parameters against those classes' signatures, so a
  misspelt parameter is refused at load time with the accepted names listed.
- ``cache_run`` is what an adapter wraps each generation in when a cache is on: a clean cache
  state for every job (even after a cancelled one), and cache contexts for a pipeline that opens
  none itself.

Pure data at import time: no torch, no diffusers (``model`` must import without them, for the API).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from typing import Any


class ModelOptionsError(ValueError):
    """A model option that is unknown, malformed, or cannot work with this model or device."""


# The five step caches of diffusers, by the name the models TOML gives them.
CACHE_CONFIG_CLASSES: dict[str, str] = {
    "taylorseer": "TaylorSeerCacheConfig",
    "first_block": "FirstBlockCacheConfig",
    "faster": "FasterCacheConfig",
    "pyramid_attention_broadcast": "PyramidAttentionBroadcastConfig",
    "mag": "MagCacheConfig",
}

# Caches whose hooks ask the pipeline which timestep it is at: the loader supplies the callback.
_TIMESTEP_CALLBACK_CACHES = frozenset({"faster", "pyramid_attention_broadcast"})

# The flow-matching schedulers of the family start at this timestep.
FIRST_TIMESTEP = 1000

QUANTIZATION_BACKENDS = ("torchao", "bitsandbytes_8bit", "bitsandbytes_4bit")
# What can be quantized: the transformer holds most of the weights, and is a diffusers model, so
# diffusers' own quantization configs apply to it.
QUANTIZABLE_COMPONENTS = ("transformer",)

GROUP_OFFLOAD_TYPES = ("block_level", "leaf_level")

# Attention backends (diffusers ``AttentionBackendName``) whose kernels raise on an attention mask.
# Every HunyuanVideo transformer passes one (the text tokens are padded), so these cannot run
# them; their ``_varlen`` variants (and ``native``, ``_native_*`` but flash, ``flex``, ``xformers``)
# take the mask.
MASKLESS_ATTENTION_BACKENDS = frozenset(
    {
        "flash",
        "flash_hub",
        "flash_4_hub",
        "_flash_3",
        "_flash_3_hub",
        "aiter_fa2_hub",
        "_native_flash",
        "_native_xla",
        "sage",
        "sage_hub",
        "sage_blackwell_hub",
        "_sage_qk_int8_pv_fp8_cuda",
        "_sage_qk_int8_pv_fp8_cuda_sm90",
        "_sage_qk_int8_pv_fp16_cuda",
        "_sage_qk_int8_pv_fp16_triton",
    }
)
# The backends that run on a CPU; every other one needs a GPU (CUDA, or an NPU/XLA device).
CPU_ATTENTION_BACKENDS = frozenset({"native", "_native_math", "flex"})


def _params_of(cls: Any) -> dict[str, inspect.Parameter]:
    """A config class's settable parameters: what its signature names, minus private ones and
    callbacks (a TOML file holds no functions)."""
    return {
        name: p
        for name, p in inspect.signature(cls).parameters.items()
        if not name.startswith("_") and not name.endswith("_callback") and p.kind is not p.VAR_KEYWORD
    }


def _check_names(what: str, given: Mapping[str, Any], accepted: Sequence[str]) -> None:
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ModelOptionsError(
            f"{what}: unknown parameter(s) {', '.join(unknown)}; accepted: {', '.join(sorted(accepted))}"
        )


def _torch_value(name: str, value: Any, annotation: Any) -> Any:
    """A TOML value as the config class wants it: arrays become tuples where a tuple is expected,
    and a ``*dtype`` parameter's name (``"float32"``) becomes the torch dtype."""
    if name.endswith("dtype") and isinstance(value, str):
        import torch

        dtype = getattr(torch, value, None)
        if not isinstance(dtype, torch.dtype):
            raise ModelOptionsError(f"{name}: {value!r} is not a torch dtype (e.g. 'float32', 'bfloat16')")
        return dtype
    if isinstance(value, list) and "tuple" in str(annotation):
        return tuple(value)
    return value


@dataclass(frozen=True)
class CacheOption:
    """One of diffusers' step caches (``kind``, a key of ``CACHE_CONFIG_CLASSES``) and its config
    class's parameters, as the TOML gives them."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in CACHE_CONFIG_CLASSES:
            raise ModelOptionsError(
                f"cache: unknown type {self.kind!r}; one of {', '.join(sorted(CACHE_CONFIG_CLASSES))}"
            )

    @property
    def config_class(self) -> Any:
        import diffusers

        return getattr(diffusers, CACHE_CONFIG_CLASSES[self.kind])

    def check(self) -> None:
        """Refuse parameters the config class does not take, and settings that cannot work here
        (needs diffusers; run at load time, before the weights are read)."""
        what = f"cache {self.kind!r} ({CACHE_CONFIG_CLASSES[self.kind]})"
        _check_names(what, self.params, list(_params_of(self.config_class)))
        if self.kind == "faster":
            if self.params.get("is_guidance_distilled", True) is not True:
                raise ModelOptionsError(
                    f"{what}: is_guidance_distilled must stay true: no HunyuanVideo pipeline batches the "
                    "unconditional branch with the conditional one, which FasterCache's other mode expects"
                )
            skip_range = self.params.get("spatial_attention_timestep_skip_range", (-1, 681))
            if skip_range[1] >= FIRST_TIMESTEP:
                raise ModelOptionsError(
                    f"{what}: spatial_attention_timestep_skip_range must end below the first timestep "
                    f"({FIRST_TIMESTEP}): at the first step FasterCache has nothing cached to reuse"
                )
        if self.kind == "pyramid_attention_broadcast" and not any(
            self.params.get(f"{part}_attention_block_skip_range") for part in ("spatial", "temporal", "cross")
        ):
            raise ModelOptionsError(
                f"{what}: set spatial_attention_block_skip_range (or temporal_/cross_): without one it skips nothing"
            )
        if self.kind == "mag" and "mag_ratios" not in self.params and not self.params.get("calibrate"):
            raise ModelOptionsError(
                f"{what}: mag_ratios are required (they are model-specific: run once with calibrate = true "
                "to print them)"
            )

    def diffusers_config(self, current_timestep: Callable[[], Any]) -> Any:
        """The diffusers config object, with what the loader supplies: the pipeline's current
        timestep for FasterCache and Pyramid Attention Broadcast, and FasterCache's
        ``is_guidance_distilled`` (our pipelines run the unconditional branch as its own call)."""
        self.check()
        cls = self.config_class
        accepted = _params_of(cls)
        kwargs = {name: _torch_value(name, value, accepted[name].annotation) for name, value in self.params.items()}
        if self.kind in _TIMESTEP_CALLBACK_CACHES:
            kwargs["current_timestep_callback"] = current_timestep
        if self.kind == "faster":
            kwargs.setdefault("is_guidance_distilled", True)
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as error:
            raise ModelOptionsError(f"cache {self.kind!r}: {error}") from error


@dataclass(frozen=True)
class QuantizationOption:
    """Weights quantized as they load (diffusers' ``PipelineQuantizationConfig``).

    ``backend`` is ``torchao`` (``quant_type`` names a ``torchao.quantization`` config class, e.g.
    ``Int8WeightOnlyConfig``, and ``params`` are its parameters) or ``bitsandbytes_8bit`` /
    ``bitsandbytes_4bit`` (``params`` are ``BitsAndBytesConfig``'s, e.g. ``bnb_4bit_quant_type``).
    """

    backend: str
    quant_type: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    components: tuple[str, ...] = ("transformer",)

    def __post_init__(self) -> None:
        if self.backend not in QUANTIZATION_BACKENDS:
            raise ModelOptionsError(
                f"quantization: unknown backend {self.backend!r}; one of {', '.join(QUANTIZATION_BACKENDS)}"
            )
        if (self.backend == "torchao") != (self.quant_type is not None):
            raise ModelOptionsError(
                "quantization: type (a torchao config class, e.g. 'Int8WeightOnlyConfig') is required "
                "with backend 'torchao' and taken by no other backend"
            )
        other = sorted(set(self.components) - set(QUANTIZABLE_COMPONENTS))
        if other or not self.components:
            raise ModelOptionsError(
                f"quantization: components may be {', '.join(QUANTIZABLE_COMPONENTS)}, not {other or 'none'}"
            )

    @property
    def needs_cuda(self) -> bool:
        """bitsandbytes' kernels are CUDA-only; torchao's weight-only configs also run on a CPU."""
        return self.backend.startswith("bitsandbytes")

    def pipeline_config(self) -> Any:
        """diffusers' ``PipelineQuantizationConfig`` for ``from_pretrained``."""
        from diffusers import PipelineQuantizationConfig

        component_config = self._torchao() if self.backend == "torchao" else self._bitsandbytes()
        return PipelineQuantizationConfig(quant_mapping={name: component_config for name in self.components})

    def _torchao(self) -> Any:
        try:
            quantization = importlib.import_module("torchao.quantization")
        except ImportError as error:
            raise ModelOptionsError("quantization 'torchao': the torchao package is not installed") from error
        from diffusers import TorchAoConfig

        cls = getattr(quantization, str(self.quant_type), None)
        if not inspect.isclass(cls) or not str(self.quant_type).endswith("Config"):
            raise ModelOptionsError(
                f"quantization 'torchao': {self.quant_type!r} is not a torchao.quantization config class "
                "(e.g. 'Int8WeightOnlyConfig', 'Float8WeightOnlyConfig', 'Int4WeightOnlyConfig')"
            )
        accepted = _params_of(cls)
        _check_names(f"quantization 'torchao' ({self.quant_type})", self.params, list(accepted))
        try:
            return TorchAoConfig(cls(**self.params))
        except (TypeError, ValueError) as error:
            raise ModelOptionsError(f"quantization 'torchao' ({self.quant_type}): {error}") from error

    def _bitsandbytes(self) -> Any:
        from diffusers import BitsAndBytesConfig

        accepted = {n: p for n, p in _params_of(BitsAndBytesConfig).items() if not n.startswith("load_in_")}
        _check_names(f"quantization {self.backend!r}", self.params, list(accepted))
        kwargs = {name: _torch_value(name, value, accepted[name].annotation) for name, value in self.params.items()}
        bits = "load_in_4bit" if self.backend.endswith("4bit") else "load_in_8bit"
        return BitsAndBytesConfig(**{bits: True}, **kwargs)


@dataclass(frozen=True)
class GroupOffloadOption:
    """diffusers' group offloading (``pipeline.enable_group_offload``): groups of blocks move to the
    GPU just before they run. Finer than ``cpu_offload`` (whole models), and slower."""

    offload_type: str = "block_level"
    num_blocks_per_group: int | None = 1
    use_stream: bool = False
    non_blocking: bool = False
    record_stream: bool = False
    low_cpu_mem_usage: bool = False

    def __post_init__(self) -> None:
        if self.offload_type not in GROUP_OFFLOAD_TYPES:
            raise ModelOptionsError(
                f"group_offload: offload_type must be one of {', '.join(GROUP_OFFLOAD_TYPES)}, "
                f"not {self.offload_type!r}"
            )
        if self.offload_type == "block_level" and not self.num_blocks_per_group:
            raise ModelOptionsError("group_offload: block_level needs num_blocks_per_group (1 or more)")

    def kwargs(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ModelOptions:
    """How ``load_pipeline`` prepares the pipeline. The defaults change nothing but VAE tiling (on,
    as the real checkpoints need it at 720p; the tiny twins turn it off)."""

    cache: CacheOption | None = None
    attention_backend: str | None = None
    # Regional compilation: ``transformer.compile_repeated_blocks``, each distinct block compiled
    # once, reused for all its repeats (much faster to compile than the whole model).
    compile: bool = False
    compile_fullgraph: bool = False
    compile_mode: str | None = None
    # torch.compile's backend: inductor (None, the default) generates kernels; "cudagraphs" only
    # replays CUDA graphs; "aot_eager" traces without generating code (what the CPU tests use: the
    # wiring is ours, the code generation torch's).
    compile_backend: str | None = None
    quantization: QuantizationOption | None = None
    cpu_offload: bool = False
    group_offload: GroupOffloadOption | None = None
    vae_tiling: bool = True

    @classmethod
    def from_table(cls, table: Mapping[str, Any], base: ModelOptions | None = None) -> ModelOptions:
        """The options of a ``[models.NAME.options]`` table, over ``base``'s (the base model's)."""
        table = dict(table)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ModelOptionsError(
                f"options: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        parsed: dict[str, Any] = {}
        for name in ("compile", "compile_fullgraph", "cpu_offload", "vae_tiling"):
            if name in table:
                parsed[name] = _typed(name, table.pop(name), bool)
        for name in ("attention_backend", "compile_mode", "compile_backend"):
            if name in table:
                parsed[name] = _typed(name, table.pop(name), str)
        if "cache" in table:
            parsed["cache"] = _cache_from(table.pop("cache"))
        if "quantization" in table:
            parsed["quantization"] = _quantization_from(table.pop("quantization"))
        if "group_offload" in table:
            parsed["group_offload"] = _group_offload_from(table.pop("group_offload"))
        return replace(base or cls(), **parsed)

    def summary(self) -> str:
        """One line naming what is set (for logs and ``python -m model``)."""
        parts = []
        if self.cache is not None:
            params = ", ".join(f"{k}={v}" for k, v in sorted(self.cache.params.items()))
            parts.append(f"cache={self.cache.kind}({params})")
        if self.attention_backend:
            parts.append(f"attention_backend={self.attention_backend}")
        if self.compile:
            backend = f" {self.compile_backend}" if self.compile_backend else ""
            parts.append("compile=regional" + (" fullgraph" if self.compile_fullgraph else "") + backend)
        if self.quantization is not None:
            quant_type = self.quantization.quant_type
            parts.append(f"quantization={self.quantization.backend}" + (f":{quant_type}" if quant_type else ""))
        if self.cpu_offload:
            parts.append("cpu_offload")
        if self.group_offload is not None:
            parts.append(f"group_offload={self.group_offload.offload_type}")
        parts.append(f"vae_tiling={'on' if self.vae_tiling else 'off'}")
        return ", ".join(parts)


def _typed(name: str, value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise ModelOptionsError(f"{name} must be a {kind.__name__}, got {value!r}")
    return value


def _table(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ModelOptionsError(f"{name} must be a table ([models.NAME.options.{name}]), got {value!r}")
    return dict(value)


def _cache_from(value: Any) -> CacheOption:
    """``cache = "taylorseer"``, or a table with ``type`` and the config's parameters."""
    if isinstance(value, str):
        return CacheOption(value)
    params = _table("cache", value)
    kind = params.pop("type", None)
    if not isinstance(kind, str):
        raise ModelOptionsError(f"cache needs type = one of {', '.join(sorted(CACHE_CONFIG_CLASSES))}")
    return CacheOption(kind, params)


def _quantization_from(value: Any) -> QuantizationOption:
    params = _table("quantization", value)
    backend = params.pop("backend", None)
    if not isinstance(backend, str):
        raise ModelOptionsError(f"quantization needs backend = one of {', '.join(QUANTIZATION_BACKENDS)}")
    quant_type = params.pop("type", None)
    if quant_type is not None and not isinstance(quant_type, str):
        raise ModelOptionsError(f"quantization: type must be a string, got {quant_type!r}")
    components = params.pop("components", ["transformer"])
    if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
        raise ModelOptionsError(f"quantization: components must be a list of names, got {components!r}")
    return QuantizationOption(backend, quant_type, params, tuple(components))


def _group_offload_from(value: Any) -> GroupOffloadOption | None:
    """``group_offload = true`` (block by block), or a table of ``enable_group_offload``'s settings."""
    if isinstance(value, bool):
        return GroupOffloadOption() if value else None
    params = _table("group_offload", value)
    accepted = [f.name for f in fields(GroupOffloadOption)]
    _check_names("group_offload", params, accepted)
    return GroupOffloadOption(**params)


# --- what cannot work, refused at load time ------------------------------------------------------

# ``model.spec.Kind`` values (a ``StrEnum``: spec imports this module, so not the other way round).
_HUNYUANVIDEO_15 = frozenset({"hunyuanvideo-1.5", "hunyuanvideo-1.5-i2v"})


@dataclass(frozen=True)
class _Rule:
    refuses: Callable[[str, ModelOptions, bool], bool]  # (kind, options, on_gpu) -> refused?
    message: Callable[[ModelOptions], str]


def _cache_is(kind: str) -> Callable[[ModelOptions], bool]:
    return lambda o: o.cache is not None and o.cache.kind == kind


_RULES: tuple[_Rule, ...] = (
    _Rule(
        lambda kind, o, gpu: kind in _HUNYUANVIDEO_15 and _cache_is("first_block")(o),
        lambda o: (
            "cache 'first_block': HunyuanVideo 1.5 does not support First Block Cache "
            "(diffusers has no block metadata for its transformer blocks); use taylorseer or "
            "pyramid_attention_broadcast"
        ),
    ),
    _Rule(
        lambda kind, o, gpu: kind in _HUNYUANVIDEO_15 and _cache_is("mag")(o),
        lambda o: (
            "cache 'mag': HunyuanVideo 1.5 does not support MagCache "
            "(diffusers has no block metadata for its transformer blocks); use taylorseer or "
            "pyramid_attention_broadcast"
        ),
    ),
    _Rule(
        lambda kind, o, gpu: o.attention_backend in MASKLESS_ATTENTION_BACKENDS,
        lambda o: (
            f"attention_backend {o.attention_backend!r} takes no attention mask and HunyuanVideo "
            "always passes one; use a varlen backend on GPUs (flash_varlen, _flash_varlen_3, sage_varlen) "
            "or native"
        ),
    ),
    _Rule(
        lambda kind, o, gpu: (
            not gpu and o.attention_backend is not None and o.attention_backend not in CPU_ATTENTION_BACKENDS
        ),
        lambda o: (
            f"attention_backend {o.attention_backend!r} needs a GPU; on a CPU use one of "
            f"{', '.join(sorted(CPU_ATTENTION_BACKENDS))}"
        ),
    ),
    _Rule(
        lambda kind, o, gpu: o.cpu_offload and o.group_offload is not None,
        lambda o: "cpu_offload and group_offload are two ways of offloading: choose one",
    ),
    _Rule(
        lambda kind, o, gpu: not gpu and (o.cpu_offload or o.group_offload is not None),
        lambda o: (
            f"{'cpu_offload' if o.cpu_offload else 'group_offload'} moves weights between the CPU "
            "and a CUDA GPU: it needs a CUDA device, and this one is the CPU"
        ),
    ),
    _Rule(
        lambda kind, o, gpu: not gpu and o.quantization is not None and o.quantization.needs_cuda,
        lambda o: (
            f"quantization {o.quantization.backend if o.quantization else ''!r}: bitsandbytes needs a "
            "CUDA GPU; on a CPU use backend 'torchao' (e.g. type 'Int8WeightOnlyConfig')"
        ),
    ),
)


def check_options(kind: str, options: ModelOptions, device: str) -> None:
    """Refuse ``options`` for a model of ``kind`` on ``device`` if they cannot work, with a
    ``ModelOptionsError`` naming the option; checks the cache's parameters (needs diffusers) and
    the attention backend's name."""
    on_gpu = device.startswith("cuda")
    if options.attention_backend is not None:
        from diffusers.models.attention_dispatch import AttentionBackendName

        names = {b.value for b in AttentionBackendName}
        if options.attention_backend not in names:
            raise ModelOptionsError(
                f"attention_backend {options.attention_backend!r} is not one of diffusers': {', '.join(sorted(names))}"
            )
    for rule in _RULES:
        if rule.refuses(kind, options, on_gpu):
            raise ModelOptionsError(rule.message(options))
    if options.cache is not None:
        options.cache.check()


# --- what an adapter does around each generation when a cache is on ------------------------------


@contextmanager
def cache_run(transformer: Any, contexts: Sequence[str] = ()) -> Iterator[None]:
    """One generation with the transformer's cache, starting from a clean cache state.

    The cache hooks keep state across the transformer calls of one run. Pipelines reset it when
    they finish, but a run stopped by an exception (a cancelled job) never gets there, and the
    next job would start from the stopped one's cache: so the state is reset before and after.

    ``contexts``: for a pipeline that opens no ``transformer.cache_context`` itself (HunyuanVideo
    image-to-video), the names its transformer calls take in turn within a step: ``("cond",)``, or
    ``("cond", "uncond")`` with true classifier-free guidance, whose two calls must not share a
    cache. Each call enters the next name's context (diffusers' own ``cache_context``) and leaves
    it when the call returns. Without a cache this does nothing.
    """
    if not getattr(transformer, "is_cache_enabled", False):
        yield
        return
    transformer._reset_stateful_cache()
    handles = []
    if contexts:
        calls = 0
        open_context: list[Any] = []

        def enter(module: Any, args: Any) -> None:
            nonlocal calls
            context = transformer.cache_context(contexts[calls % len(contexts)])
            calls += 1
            context.__enter__()
            open_context.append(context)

        def leave(module: Any, args: Any, output: Any) -> None:
            open_context.pop().__exit__(None, None, None)

        handles = [transformer.register_forward_pre_hook(enter), transformer.register_forward_hook(leave)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        transformer._reset_stateful_cache()  # also clears a context left open by a raising call
