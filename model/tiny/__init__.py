"""Tiny twins: each pipeline kind's real diffusers classes at toy sizes, built here.

A tiny twin's spec names its builder (``ModelSpec.tiny_builder``), which writes a complete
pipeline in diffusers layout with seeded random weights and locally trained tokenizers; the worker
then loads it with ``from_pretrained`` exactly as it loads the real checkpoint. Same seed, same
bytes. Their videos are noise, by construction. Builders import torch, diffusers and transformers
lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

from model.spec import ModelSpec
from model.tiny.marker import TINY_MARKER


def build_tiny(spec: ModelSpec, out_dir: Path | str, seed: int = 0) -> Path:
    """Write ``spec``'s tiny twin to ``out_dir``."""
    if spec.tiny_builder is None:
        raise ValueError(f"{spec.name} is not a tiny twin: its weights cannot be built here")
    module_name, _, function = spec.tiny_builder.partition(":")
    built: Path = getattr(importlib.import_module(module_name), function)(Path(out_dir), seed=seed)
    return built


def is_built(out_dir: Path | str) -> bool:
    return (Path(out_dir) / "model_index.json").is_file()


def build_missing(specs: Iterable[ModelSpec], models_dir: Path | str, seed: int = 0, force: bool = False) -> list[Path]:
    """Build the tiny twins among ``specs`` whose weights are not in ``models_dir`` yet (all of
    them with ``force``); twins that share a weights directory are built once."""
    built: list[Path] = []
    for spec in specs:
        target = Path(models_dir) / spec.weights_subdir
        if spec.tiny_builder is None or target in built or (is_built(target) and not force):
            continue
        built.append(build_tiny(spec, target, seed))
    return built


def build_tiny_model(out_dir: Path | str, seed: int = 0) -> Path:
    """``hunyuanvideo-tiny``, the text-to-video twin (what the embedded quickstart serves)."""
    from model.tiny.hunyuanvideo import build_tiny_model as build

    return build(Path(out_dir), seed=seed)


__all__ = ["TINY_MARKER", "build_missing", "build_tiny", "build_tiny_model", "is_built"]
