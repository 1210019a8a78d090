"""The stages of one generation, and what each took: pure data, importable without torch or
numpy, so the service's domain can name them (``videogen.videos.phases``)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field


class Stage(enum.StrEnum):
    """What a generation is busy with, as far as the model layer can tell: the prompt's text
    encoders, the denoising loop (the transformer, ``num_inference_steps`` times) or the VAE
    decode (with the frames' post-processing). The worker adds its own stages around these."""

    ENCODING_PROMPT = "encoding_prompt"
    DENOISING = "denoising"
    DECODING = "decoding"


# Called when a generation enters a stage (once per stage, in the order above).
StageCallback = Callable[[Stage], None]


@dataclass(frozen=True)
class StageTimings:
    """Seconds a generation spent in each stage, measured on the device (CUDA work is waited for
    at each stage's end, so a stage is charged for its own kernels, not for the next one's)."""

    seconds: dict[Stage, float] = field(default_factory=dict)
    steps: int = 0

    def of(self, stage: Stage) -> float:
        return self.seconds.get(stage, 0.0)

    @property
    def seconds_per_step(self) -> float | None:
        return self.of(Stage.DENOISING) / self.steps if self.steps else None
