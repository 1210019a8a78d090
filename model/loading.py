"""Load a diffusers pipeline for a ``ModelSpec`` from a local directory.

This is the one code path for the tiny model and the 13B checkpoint alike: ``from_pretrained``
on a directory in diffusers layout, then the memory options the spec asks for.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

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
    on_gpu = device.startswith("cuda")
    transformer_dtype = _dtype(spec.transformer_dtype if on_gpu else spec.cpu_dtype)
    dtype = _dtype(spec.dtype if on_gpu else spec.cpu_dtype)

    _quiet_loading()
    pipeline_cls = pipeline_class_for(spec)
    pipeline = pipeline_cls.from_pretrained(weights, dtype={"transformer": transformer_dtype, "default": dtype})

    if spec.vae_tiling:
        pipeline.vae.enable_tiling()
    if spec.cpu_offload and on_gpu:
        pipeline.enable_model_cpu_offload(device=device)
    else:
        pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
