"""What a model is, as far as serving it is concerned: where its weights live, how to load them,
and which requests it can honour.

The service validates requests against a ``ModelSpec`` before queueing them, so a request that a
worker could never run is refused at the door instead of failing minutes later on a GPU.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

from model.options import ModelOptions


class Capability(enum.StrEnum):
    """What a model can be asked to do."""

    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"


class Kind(enum.StrEnum):
    """A pipeline kind: one diffusers pipeline class and the way it is called (``model.kinds``).

    Checkpoints of one kind share an adapter; a spec names its kind, and the kind fixes what the
    model can do.
    """

    HUNYUANVIDEO = "hunyuanvideo"
    HUNYUANVIDEO_I2V = "hunyuanvideo-i2v"
    HUNYUANVIDEO_15 = "hunyuanvideo-1.5"
    HUNYUANVIDEO_15_I2V = "hunyuanvideo-1.5-i2v"

    @property
    def capabilities(self) -> frozenset[Capability]:
        image = self in (Kind.HUNYUANVIDEO_I2V, Kind.HUNYUANVIDEO_15_I2V)
        return frozenset({Capability.IMAGE_TO_VIDEO if image else Capability.TEXT_TO_VIDEO})


@dataclass(frozen=True, order=True)
class Size:
    """A frame size in pixels, written ``WIDTHxHEIGHT`` on the wire (OpenAI's convention)."""

    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> Size:
        """Parse ``"1280x720"``; raises ``ValueError`` with a readable message otherwise."""
        parts = text.strip().lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"size must look like WIDTHxHEIGHT (e.g. 1280x720), got {text!r}")
        width, height = (int(p) for p in parts)
        if width <= 0 or height <= 0:
            raise ValueError(f"size must be positive, got {text!r}")
        return cls(width, height)

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def frames_for(seconds: float, fps: int) -> int:
    """Frame count for a clip of ``seconds`` at ``fps``, rounded to the 4k+1 the 3D VAE needs.

    HunyuanVideo's causal VAE compresses time by 4 and keeps the first frame on its own, so it
    decodes 4k+1 frames; we take the such count nearest to ``seconds * fps`` (never below one
    latent frame after the first).
    """
    k = max(1, round((seconds * fps - 1) / 4))
    return 4 * k + 1


@dataclass(frozen=True)
class ModelLimits:
    """The envelope of requests a model accepts."""

    sizes: tuple[Size, ...]
    max_frames: int
    min_fps: int = 8
    max_fps: int = 30
    min_steps: int = 1
    max_steps: int = 100
    max_prompt_chars: int = 4000
    min_guidance_scale: float = 0.0
    max_guidance_scale: float = 20.0

    def max_seconds(self, fps: int) -> float:
        """Longest clip at ``fps``, in seconds, given the frame limit."""
        return math.floor((self.max_frames - 1) / fps * 100) / 100


@dataclass(frozen=True)
class ModelDefaults:
    """What a request gets for each parameter it leaves out."""

    size: Size
    seconds: float
    fps: int
    num_inference_steps: int
    guidance_scale: float
    # Classifier-free guidance against a negative prompt: only used when one is given, since
    # HunyuanVideo is guidance-distilled and runs a single transformer pass per step otherwise.
    true_cfg_scale: float = 6.0


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to load and serve one model.

    ``weights_subdir`` is resolved against the models directory the caller configures, so the
    same registry serves a laptop (``./var/models``) and a GPU box (``/models``).
    """

    name: str
    description: str
    kind: Kind
    weights_subdir: str
    limits: ModelLimits
    defaults: ModelDefaults
    transformer_dtype: str = "bfloat16"
    dtype: str = "float16"
    cpu_dtype: str = "float32"
    # How the pipeline is prepared beyond its weights (caches, attention kernel, compilation,
    # quantization, offloading, VAE tiling): ``model.options``, applied by ``load_pipeline``.
    options: ModelOptions = field(default_factory=ModelOptions)
    # Tokens of the kind's system prompt to drop from the text embedding (95 for HunyuanVideo's
    # Llama, 103 for its I2V LLaVA, 108 for 1.5's Qwen2.5-VL). ``None`` means "count them with this
    # model's own tokenizer", which a tokenizer other than the original (a tiny twin's) needs.
    prompt_template_crop_start: int | None = 95
    max_sequence_length: int = 256
    # Where to download the weights in diffusers layout (for the operator; nothing downloads here).
    hub_repository: str | None = None
    # A tiny twin's builder, ``"module:function"`` taking ``(out_dir, seed=...)`` (``model.tiny``).
    tiny_builder: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.kind.capabilities

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def public_info(self) -> dict[str, Any]:
        """The facts a client may see about this model (``GET /v1/models``)."""
        return {
            "id": self.name,
            "object": "model",
            "description": self.description,
            "kind": self.kind.value,
            "capabilities": sorted(c.value for c in self.capabilities),
            "sizes": [str(s) for s in self.limits.sizes],
            "max_frames": self.limits.max_frames,
            "fps": {"min": self.limits.min_fps, "max": self.limits.max_fps},
            "num_inference_steps": {"min": self.limits.min_steps, "max": self.limits.max_steps},
            "defaults": {
                "size": str(self.defaults.size),
                "seconds": self.defaults.seconds,
                "fps": self.defaults.fps,
                "num_inference_steps": self.defaults.num_inference_steps,
                "guidance_scale": self.defaults.guidance_scale,
            },
        }
