"""One job's run on a worker, phase by phase: what it is doing now, how far it is, when it should
end, and in the end what each phase took.

The runner and the model's callbacks move it (``enter``, ``step``); the heartbeat thread reads it
(``live``) and writes that to the database. Live progress and the ETA come from the same sum:

    remaining = what is left of the current phase + the expected phases after it
    progress  = elapsed / (elapsed + remaining)            (0-100, never backwards, 99 at most)
    estimated_completion_at = now + remaining

with the expected phases from the worker's earlier runs (``worker.estimates``) and, once a step is
done, the job's own step rate for what is left of the denoising. Without any measurement yet (a
worker whose warm-up is off, before its first job) progress falls back to counting steps (0-90)
and the ETA is unknown until the first step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from model.stages import Stage, StageTimings
from videogen.database import utcnow
from videogen.videos.jobs import LiveState
from videogen.videos.phases import WORKER_PHASES, Phase
from worker.estimates import Expectation

# The model's own stages: what the GPU is busy with for the job (``gpu_seconds``).
_GPU_PHASES = (Phase.ENCODING_PROMPT, Phase.DENOISING, Phase.DECODING)
# Share of the progress bar the steps fill when nothing else is known yet.
STEP_ONLY_SHARE = 90
MAX_LIVE_PROGRESS = 99  # 100 is the job's completion, which only the database's move says


class JobClock:
    def __init__(
        self,
        steps: int,
        expected: Expectation,
        *,
        loading: bool,
        on_phase: Callable[[Phase], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        """``loading``: whether the job starts by loading its model (a cold or swapped pipeline)."""
        self.steps = steps
        self.expected = expected
        self.loading = loading
        self.on_phase = on_phase
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._started = clock()
        self._phase = Phase.LOADING
        self._phase_started = self._started
        self._seconds: dict[Phase, float] = {}
        self._steps_done = 0
        self._denoising_started: float | None = None
        self._last_step_at: float | None = None
        self._progress = 0

    # --- moved by the run ------------------------------------------------------------------

    def enter(self, phase: Phase) -> None:
        """The run moves on to ``phase``."""
        with self._lock:
            if phase == self._phase:
                return
            now = self._clock()
            self._seconds[self._phase] = self._seconds.get(self._phase, 0.0) + now - self._phase_started
            self._phase, self._phase_started = phase, now
            if phase == Phase.DENOISING:
                self._denoising_started = now
        if self.on_phase is not None:
            self.on_phase(phase)

    def enter_stage(self, stage: Stage) -> None:
        """For the model's ``on_stage`` callback."""
        self.enter(Phase.of_stage(stage))

    def step(self, done: int) -> None:
        with self._lock:
            self._steps_done = done
            self._last_step_at = self._clock()

    # --- read by the heartbeat -------------------------------------------------------------

    def live(self) -> LiveState:
        """What to tell the database now."""
        with self._lock:
            now = self._clock()
            remaining = self._remaining(now)
            elapsed = now - self._started
            if remaining is not None:
                progress = round(100 * elapsed / max(elapsed + remaining, 1e-9))
            else:
                progress = self._steps_done * STEP_ONLY_SHARE // max(self.steps, 1)
            self._progress = max(self._progress, min(MAX_LIVE_PROGRESS, progress))
            return LiveState(
                progress=self._progress,
                phase=self._phase,
                denoising_step=self._steps_done if self._phase == Phase.DENOISING else None,
                estimated_completion_at=None if remaining is None else self._wall() + timedelta(seconds=remaining),
            )

    def _remaining(self, now: float) -> float | None:
        """Seconds left in the run, or None while the denoising is ahead and nothing says how
        long a step takes."""
        position = WORKER_PHASES.index(self._phase)
        in_phase = now - self._phase_started
        left = 0.0
        for phase in WORKER_PHASES[position:]:
            if phase == Phase.DENOISING:
                denoising = self._denoising_left(now)
                if denoising is None:
                    return None
                left += denoising
            elif phase == Phase.LOADING:
                left += max((self.expected.loading_seconds or 0.0) - in_phase, 0.0) if self.loading else 0.0
            elif phase == self._phase:
                left += max(self.expected.of(phase) - in_phase, 0.0)
            else:
                left += self.expected.of(phase)
        return left

    def _denoising_left(self, now: float) -> float | None:
        """The steps still to run at this job's own step rate once it has done one (else the
        expected rate), less what has passed of the current step."""
        rate = self.expected.seconds_per_step
        if self._denoising_started is not None and self._last_step_at is not None and self._steps_done:
            rate = (self._last_step_at - self._denoising_started) / self._steps_done
        if rate is None:
            return None
        if self._phase != Phase.DENOISING:
            return rate * self.steps
        since_step = now - (self._last_step_at or self._phase_started)
        return max(rate * (self.steps - self._steps_done) - since_step, 0.0)

    # --- the record ------------------------------------------------------------------------

    def phase_seconds(self, model_stages: StageTimings | None = None) -> dict[Phase, float]:
        """Seconds of each phase the run went through (the current one up to now). The model's
        own stages are taken from ``model_stages`` when the generation finished: those are timed
        on the device, with its queued work waited for."""
        with self._lock:
            seconds = dict(self._seconds)
            seconds[self._phase] = seconds.get(self._phase, 0.0) + self._clock() - self._phase_started
        if not self.loading:
            seconds.pop(Phase.LOADING, None)  # a warm pipeline: getting it is no phase of its own
        if model_stages is not None:
            for stage in Stage:
                if stage in model_stages.seconds:
                    seconds[Phase.of_stage(stage)] = model_stages.of(stage)
        return seconds

    def timings(self, queue_seconds: float | None, model_stages: StageTimings | None = None) -> dict[str, float | None]:
        """The video's ``timings`` (``videogen.videos.objects.TimingsObject``'s fields)."""
        seconds = self.phase_seconds(model_stages)
        with self._lock:
            steps_done = self._steps_done
            run = self._clock() - self._started
        steps = model_stages.steps if model_stages is not None else steps_done
        record: dict[str, float | None] = {"queue_seconds": _rounded(queue_seconds)}
        for phase in WORKER_PHASES:
            record[f"{phase.value}_seconds"] = _rounded(seconds.get(phase))
        denoising = seconds.get(Phase.DENOISING)
        record["seconds_per_step"] = _rounded(denoising / steps) if denoising is not None and steps else None
        record["run_seconds"] = _rounded(run)
        record["gpu_seconds"] = _rounded(self.gpu_seconds(seconds))
        return record

    @staticmethod
    def gpu_seconds(phase_seconds: dict[Phase, float]) -> float:
        """The GPU's busy time for the job: its model stages, prompt encoding through the decode.
        A model load is the deployment's cost, not the job's, and is not counted."""
        return sum(phase_seconds.get(phase, 0.0) for phase in _GPU_PHASES)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
