"""What a worker expects a job's phases to take, from what it measured of its own earlier runs.

Each worker keeps, per model and clip shape, the phase times of its latest run (the warm-up
generation included), and the time its last model load took. A job of a shape already seen is
expected to take what that one took; another shape is scaled from the nearest one measured:

- a denoising step by the transformer's token count to the power ``STEP_EXPONENT``: between linear
  (the MLPs and projections) and quadratic (full attention, 87% of HunyuanVideo's FLOPs at 720p);
- the VAE decode, the MP4 encode and the upload by the clip's pixels times frames (convolutions,
  the encoder and the file all grow with it);
- the prompt's encoding not at all (the text is padded to a fixed length).

These guesses only matter until the job's first denoising step: from then on its own measured
step rate replaces the expected one (``worker.job_clock``). In-process and per worker on purpose:
the numbers are this GPU's, with this model's options, and the warm-up makes them before any job.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from videogen.videos.phases import Phase

# See the module docstring: step time ~ tokens ** 1.5 between the tiny warm-up clip and a job's.
STEP_EXPONENT = 1.5

# Phases scaled by pixels x frames, and the one that does not scale.
_SCALED_BY_VOXELS = (Phase.DECODING, Phase.ENCODING, Phase.UPLOADING)
_UNSCALED = (Phase.ENCODING_PROMPT,)


@dataclass(frozen=True)
class JobShape:
    """What a job's cost depends on."""

    width: int
    height: int
    num_frames: int

    @property
    def tokens(self) -> int:
        """The transformer's sequence length, up to a constant: 16x16-pixel latent patches (8x VAE
        and 2x2 patches for HunyuanVideo, a 16x VAE for 1.5) times 4x-compressed frames."""
        return max(1, (self.width // 16) * (self.height // 16) * ((self.num_frames - 1) // 4 + 1))

    @property
    def voxels(self) -> int:
        return self.width * self.height * self.num_frames


@dataclass(frozen=True)
class Expectation:
    """Expected seconds of each phase of one job (``seconds_per_step`` for denoising)."""

    seconds_per_step: float | None
    phase_seconds: dict[Phase, float] = field(default_factory=dict)
    loading_seconds: float | None = None

    def of(self, phase: Phase) -> float:
        return self.phase_seconds.get(phase, 0.0)


@dataclass(frozen=True)
class _Run:
    shape: JobShape
    seconds_per_step: float | None
    phase_seconds: dict[Phase, float]


class StageEstimates:
    """The worker's memory of its runs (thread-safe: the heartbeat thread reads it)."""

    def __init__(self) -> None:
        self._runs: dict[str, dict[JobShape, _Run]] = {}
        self._loads: dict[str, float] = {}
        self._lock = threading.Lock()

    def record_load(self, model: str, seconds: float) -> None:
        with self._lock:
            self._loads[model] = seconds

    def record(
        self, model: str, shape: JobShape, seconds_per_step: float | None, phase_seconds: dict[Phase, float]
    ) -> None:
        """A run of ``model`` at ``shape`` took this (phases it did not reach are left out)."""
        with self._lock:
            self._runs.setdefault(model, {})[shape] = _Run(shape, seconds_per_step, dict(phase_seconds))

    def expect(self, model: str, shape: JobShape) -> Expectation:
        """What a run of ``model`` at ``shape`` should take; empty where nothing was measured."""
        with self._lock:
            runs = list(self._runs.get(model, {}).values())
            loading = self._loads.get(model)
        if not runs:
            return Expectation(seconds_per_step=None, loading_seconds=loading)
        nearest = min(runs, key=lambda run: abs(math.log(shape.tokens / run.shape.tokens)))
        tokens = shape.tokens / nearest.shape.tokens
        voxels = shape.voxels / nearest.shape.voxels
        phases = {p: s * voxels for p, s in nearest.phase_seconds.items() if p in _SCALED_BY_VOXELS}
        phases.update({p: s for p, s in nearest.phase_seconds.items() if p in _UNSCALED})
        step = None if nearest.seconds_per_step is None else nearest.seconds_per_step * tokens**STEP_EXPONENT
        return Expectation(seconds_per_step=step, phase_seconds=phases, loading_seconds=loading)
