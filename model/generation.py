"""Turn a validated request into frames with a loaded diffusers pipeline, whatever its kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.kinds import adapter_class
from model.kinds.base import GenerationCancelled, GenerationRequest, Progress, StepCallback
from model.spec import Capability, ModelSpec
from model.stages import Stage, StageCallback, StageTimings

__all__ = [
    "GeneratedVideo",
    "GenerationCancelled",
    "GenerationRequest",
    "Stage",
    "StageCallback",
    "StageTimings",
    "StepCallback",
    "UnsupportedRequestError",
    "VideoGenerator",
]


class UnsupportedRequestError(ValueError):
    """The request asks the model for something it cannot do (an image to a text-to-video model)."""


@dataclass(frozen=True)
class GeneratedVideo:
    frames: np.ndarray  # (num_frames, height, width, 3), uint8 RGB
    seed: int
    timings: StageTimings = field(default_factory=StageTimings)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


class VideoGenerator:
    """A warm pipeline plus the spec it was loaded for; ``generate`` is safe to call repeatedly."""

    def __init__(self, spec: ModelSpec, pipeline: Any):
        self.spec = spec
        self.pipeline = pipeline
        self.adapter = adapter_class(spec.kind)(spec, pipeline)

    def generate(
        self,
        request: GenerationRequest,
        on_step: StepCallback | None = None,
        on_stage: StageCallback | None = None,
    ) -> GeneratedVideo:
        """Frames for ``request``; ``on_step`` hears of each denoising step (and may raise to stop
        the run), ``on_stage`` of each stage entered; the result carries the stages' timings."""
        image_to_video = self.spec.can(Capability.IMAGE_TO_VIDEO)
        if image_to_video and request.image is None:
            raise UnsupportedRequestError(f"{self.spec.name} animates an image: the request has none")
        if not image_to_video and request.image is not None:
            raise UnsupportedRequestError(f"{self.spec.name} is text-to-video: it takes no image")
        if request.image is not None and request.image.size != (request.width, request.height):
            raise UnsupportedRequestError(
                f"the image is {request.image.size[0]}x{request.image.size[1]}, "
                f"the video {request.width}x{request.height}"
            )
        progress = Progress(request.num_inference_steps, on_step, on_stage)
        with progress.stages(self.pipeline):
            frames = self.adapter.generate(request, progress)
        return GeneratedVideo(frames=frames, seed=request.seed, timings=progress.finish(self.pipeline))
