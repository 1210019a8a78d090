"""What every pipeline kind provides, and the progress reporting they share."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from model.spec import ModelSpec
from model.stages import Stage, StageCallback, StageTimings

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


def synchronize_device(pipeline: Any) -> None:
    """Wait for the pipeline's queued GPU work, so a clock read after it means what it says.

    CUDA kernels run asynchronously: without this, a stage would end when its last kernel was
    *queued* and the next stage would be charged for the rest. One wait per stage boundary costs
    nothing measurable; the denoising loop itself is never synchronised here.
    """
    device = getattr(pipeline, "device", None)
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        torch.cuda.synchronize(device)


class Progress:
    """Counts denoising steps for a caller's ``StepCallback``, whatever hook the pipeline offers,
    and times the generation's stages (``Stage``) for a caller's ``StageCallback``.

    Stages are found without the pipeline's help: for the duration of one run its
    ``encode_prompt``, its transformer's ``forward`` and its VAE's ``decode`` are wrapped
    (``stages``); every HunyuanVideo pipeline calls them in that order, once per stage's start.
    """

    def __init__(
        self,
        total: int,
        on_step: StepCallback | None,
        on_stage: StageCallback | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total = total
        self.done = 0
        self._on_step = on_step
        self._on_stage = on_stage
        self._clock = clock
        self._stage: Stage | None = None
        self._since = 0.0
        self._seconds: dict[Stage, float] = {}

    def enter(self, stage: Stage, pipeline: Any = None) -> None:
        """The generation moves to ``stage`` (again being in it changes nothing)."""
        if stage == self._stage:
            return
        self._close(pipeline)
        self._stage = stage
        if self._on_stage is not None:
            self._on_stage(stage)

    def finish(self, pipeline: Any = None) -> StageTimings:
        """The generation is over: the seconds of each stage it went through."""
        self._close(pipeline)
        self._stage = None
        return StageTimings(seconds=dict(self._seconds), steps=self.done)

    def _close(self, pipeline: Any) -> None:
        if pipeline is not None:
            synchronize_device(pipeline)
        now = self._clock()
        if self._stage is not None:
            self._seconds[self._stage] = self._seconds.get(self._stage, 0.0) + now - self._since
        self._since = now

    @contextmanager
    def stages(self, pipeline: Any) -> Iterator[None]:
        """Follow one run of ``pipeline`` through its stages: prompt encoding from the first
        ``encode_prompt`` call, denoising from the transformer's first call, decoding from the
        VAE's ``decode``. (What lies between the prompt and the first step, the latents and an
        image's VAE encode, counts as encoding the inputs; a negative prompt's encoding, which
        comes after the prompt's, changes nothing.)

        The wrappers are instance attributes for the run only; removing them shows the class's
        methods (or whatever instance attribute was there) again, so nothing outlives the run,
        even one that raises.
        """

        def wrap(owner: Any, name: str, stage: Stage) -> None:
            original = getattr(owner, name)
            own = vars(owner)
            shadowed, previous = name in own, own.get(name)  # someone else's wrapper, put back after

            def restore() -> None:
                if shadowed:
                    setattr(owner, name, previous)
                else:
                    delattr(owner, name)

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                self.enter(stage, pipeline)
                return original(*args, **kwargs)

            setattr(owner, name, wrapper)
            stack.callback(restore)

        with ExitStack() as stack:
            wrap(pipeline, "encode_prompt", Stage.ENCODING_PROMPT)
            wrap(pipeline.transformer, "forward", Stage.DENOISING)
            wrap(pipeline.vae, "decode", Stage.DECODING)
            yield

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
