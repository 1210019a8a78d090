"""Load a diffusers pipeline for a ``ModelSpec`` from a local directory.

This is the one code path for the tiny model and the 13B checkpoint alike: ``from_pretrained``
on a directory in diffusers layout, then the spec's options (``model.options``), all applied here,
in the order they need: quantization as the weights load, the attention backend and the cache on
the transformer's modules, then offloading or the move to the device, and compilation last, of
the modules as they will run.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from model.options import ModelOptions, check_options
from model.spec import ModelSpec


class ModelWeightsMissingError(FileNotFoundError):
    """The weights directory for a model is absent or not in diffusers layout."""


def resolve_device(device: str) -> str:
    """``auto`` means the first CUDA GPU when there is one, else the CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def weights_dir_for(spec: ModelSpec, models_dir: Path | str) -> Path:
    return Path(models_dir) / spec.weights_subdir


def _import_class(dotted: str) -> Any:
    module_name, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def pipeline_class_for(spec: ModelSpec) -> Any:
    """The diffusers pipeline class of ``spec``'s kind."""
    from model.kinds import adapter_class

    return _import_class(adapter_class(spec.kind).pipeline_class)


def _dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


def _quiet_loading() -> None:
    """Loading progress bars are noise in a worker's log (and garbled by Celery's logger)."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def load_pipeline(spec: ModelSpec, models_dir: Path | str, device: str = "auto") -> Any:
    """Load ``spec``'s pipeline from ``models_dir/spec.weights_subdir`` onto ``device``.

    On CUDA the transformer loads in ``spec.transformer_dtype`` (bf16 for HunyuanVideo, as Tencent
    recommends) and the rest in ``spec.dtype``; on the CPU everything runs in ``spec.cpu_dtype``
    because half-precision kernels there are slow or missing.
    """
    weights = weights_dir_for(spec, models_dir)
    if not (weights / "model_index.json").is_file():
        raise ModelWeightsMissingError(
            f"no diffusers pipeline for model {spec.name!r} at {weights} (model_index.json missing)"
        )
    device = resolve_device(device)
    options = spec.options
    check_options(spec.kind, options, device)  # before minutes of loading, not after
    on_gpu = device.startswith("cuda")
    transformer_dtype = _dtype(spec.transformer_dtype if on_gpu else spec.cpu_dtype)
    dtype = _dtype(spec.dtype if on_gpu else spec.cpu_dtype)

    _quiet_loading()
    pipeline_cls = pipeline_class_for(spec)
    quantization = (
        {} if options.quantization is None else {"quantization_config": options.quantization.pipeline_config()}
    )
    pipeline = pipeline_cls.from_pretrained(
        weights, dtype={"transformer": transformer_dtype, "default": dtype}, **quantization
    )
    _apply_options(pipeline, options, device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _apply_options(pipeline: Any, options: ModelOptions, device: str) -> None:
    """Everything but quantization (which happens in ``from_pretrained``), in order: hooks and
    kernels are set on the modules before offloading wraps them and compilation traces them."""
    if options.vae_tiling:
        pipeline.vae.enable_tiling()
    transformer = pipeline.transformer
    if options.attention_backend is not None:
        transformer.set_attention_backend(options.attention_backend)
    if options.cache is not None:
        transformer.enable_cache(options.cache.diffusers_config(lambda: pipeline.current_timestep))
    if options.cpu_offload:
        pipeline.enable_model_cpu_offload(device=device)
    elif options.group_offload is not None:
        pipeline.enable_group_offload(onload_device=device, **options.group_offload.kwargs())
    else:
        pipeline.to(device)
    if options.compile:
        compile_kwargs: dict[str, Any] = {"fullgraph": options.compile_fullgraph}
        if options.compile_mode is not None:
            compile_kwargs["mode"] = options.compile_mode
        if options.compile_backend is not None:
            compile_kwargs["backend"] = options.compile_backend
        transformer.compile_repeated_blocks(**compile_kwargs)
