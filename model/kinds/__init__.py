"""Pipeline kinds: how each diffusers pipeline of the HunyuanVideo family is called.

Kinds differ in what their pipeline takes (an image or not, a guider instead of a guidance scale),
how progress and cancellation reach it (a step callback, or a scheduler wrapper where the pipeline
has none) and how its output is shaped. Each kind is a small ``PipelineAdapter``; the rest of the
model layer (loading, ``VideoGenerator``) is the same for all of them. Adapters import torch and
diffusers lazily, so naming a kind costs nothing.
"""

from __future__ import annotations

import importlib

from model.kinds.base import GenerationCancelled, PipelineAdapter, Progress
from model.spec import Kind

_ADAPTERS: dict[Kind, str] = {
    Kind.HUNYUANVIDEO: "model.kinds.hunyuanvideo:HunyuanVideoAdapter",
    Kind.HUNYUANVIDEO_I2V: "model.kinds.hunyuanvideo_i2v:HunyuanVideoImageToVideoAdapter",
    Kind.HUNYUANVIDEO_15: "model.kinds.hunyuanvideo15:HunyuanVideo15Adapter",
    Kind.HUNYUANVIDEO_15_I2V: "model.kinds.hunyuanvideo15:HunyuanVideo15ImageToVideoAdapter",
}


def adapter_class(kind: Kind) -> type[PipelineAdapter]:
    """The adapter of ``kind`` (imported on first use)."""
    module_name, _, class_name = _ADAPTERS[kind].partition(":")
    adapter: type[PipelineAdapter] = getattr(importlib.import_module(module_name), class_name)
    return adapter


__all__ = ["GenerationCancelled", "PipelineAdapter", "Progress", "adapter_class"]
