"""videogen's model layer: which models exist, how to load them, and how to generate with them.

Imports nothing of the service, so it can be used (and tested) on its own. This top level is pure
data (no torch, no numpy) so that the API can validate requests against model limits without
pulling in the inference stack; the heavy parts are their own modules:

- ``model.loading``: ``load_pipeline(spec, models_dir, device)``
- ``model.generation``: ``VideoGenerator``, ``GenerationRequest``
- ``model.encoding``: ``encode_mp4``, ``encode_thumbnail``
- ``model.family``: the built-in specs (the HunyuanVideo family and its tiny twins)
- ``model.kinds``: one adapter per pipeline kind (how each diffusers pipeline is called)
- ``model.tiny``: ``build_tiny(spec, out_dir)``, the tiny twins' builders
"""

from model.family import BUILTIN_MODELS
from model.registry import ModelRegistry, UnknownModelError
from model.spec import ModelDefaults, ModelLimits, ModelSpec, Size, frames_for

__all__ = [
    "BUILTIN_MODELS",
    "ModelDefaults",
    "ModelLimits",
    "ModelRegistry",
    "ModelSpec",
    "Size",
    "UnknownModelError",
    "frames_for",
]
