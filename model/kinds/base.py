"""What every pipeline kind provides, and the progress reporting they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from model.spec import ModelSpec

if TYPE_CHECKING:
    from PIL import Image

# Called after each denoising step with (steps_done, total_steps). It may raise to stop the
# generation at once: diffusers' own ``_interrupt`` flag skips the remaining steps but still
# runs the VAE decode, which is the slowest single part on a GPU.
StepCallback = Callable[[int, int], None]


class GenerationCancelled(Exception):
    """Raise from a step callback to stop a generation before its next step and its VAE decode."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    width: int
    height: int
    num_frames: int
    num_inference_steps: int
    guidance_scale: float
    seed: int
    negative_prompt: str | None = None
    # The first frame to animate (image-to-video): RGB, already ``width`` x ``height``.
    image: Image.Image | None = None


class Progress:
    """Counts denoising steps for a caller's ``StepCallback``, whatever hook the pipeline offers."""

    def __init__(self, total: int, on_step: StepCallback | None) -> None:
        self.total = total
        self.done = 0
        self._on_step = on_step

    def step(self) -> None:
        """One denoising step finished. The callback may raise to stop the run here."""
        self.done += 1
        if self._on_step is not None:
            self._on_step(self.done, self.total)

    def callback_on_step_end(self) -> Callable[..., dict[str, Any]]:
        """For pipelines with diffusers' ``callback_on_step_end`` argument."""

        def step_end(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
            self.step()
            return callback_kwargs

        return step_end

    @contextmanager
    def scheduler_steps(self, pipeline: Any) -> Iterator[None]:
        """For pipelines without a step callback: count the scheduler's ``step`` calls, one per
        denoising step, by wrapping the pipeline's scheduler for the duration of one run. Raising
        from the callback there stops the loop before the VAE decode, as a step callback would."""
        scheduler = pipeline.scheduler
        original = scheduler.step

        def step(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            self.step()
            return result

        scheduler.step = step
        try:
            yield
        finally:
            del scheduler.step  # the instance attribute goes; the class's method shows again


def seeded_generator(seed: int) -> Any:
    """Seeding a CPU generator gives the same initial noise on any device, so a seed reproduces a
    video across CPU and GPU runs of the same weights."""
    import torch

    return torch.Generator(device="cpu").manual_seed(seed)


def to_uint8_frames(frames: Any) -> np.ndarray:
    """A pipeline's ``output_type="np"`` video (frames, height, width, 3) in [0, 1] as uint8 RGB."""
    array = np.asarray(frames, dtype=np.float32)
    scaled: np.ndarray = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    return scaled


class PipelineAdapter(ABC):
    """One loaded pipeline of a kind, ready to generate repeatedly.

    ``__init__`` runs once after loading (what the pipeline needs that its saved config does not
    hold); ``generate`` runs once per job and returns uint8 RGB frames.
    """

    pipeline_class: ClassVar[str]  # dotted path of the diffusers pipeline class

    def __init__(self, spec: ModelSpec, pipeline: Any) -> None:
        self.spec = spec
        self.pipeline = pipeline

    @abstractmethod
    def generate(self, request: GenerationRequest, progress: Progress) -> np.ndarray:
        """Frames (num_frames, height, width, 3), uint8 RGB."""
