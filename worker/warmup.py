"""A worker's start: load its models and run one small generation of each before it consumes.

Loading HunyuanVideo takes minutes; done when the first job arrives, that job would show
``in_progress`` all the while, and its first steps would pay the one-off costs of a first run
(kernel selection, allocator growth, compilation when ``compile`` is on). Done here, before the
Celery consumer starts (``worker_init``), no job waits for either, and the warm-up's measured step
and decode times give the first job's ETA something to go on (``worker.estimates``).

A model that fails to load is logged and left cold: its jobs then fail with the load's error,
which tells the client and the operator more than a worker that never starts.
"""

from __future__ import annotations

import logging
import time

from PIL import Image

from model import ModelSpec, frames_for
from model.generation import GenerationRequest, VideoGenerator
from model.spec import Capability
from videogen.videos.phases import Phase
from worker import metrics
from worker.estimates import JobShape
from worker.pipelines import PipelineCache

log = logging.getLogger(__name__)

WARMUP_STEPS = 2  # the first step pays the one-off costs; the second is a fair step time
WARMUP_PROMPT = "warm-up"


def warmup_request(spec: ModelSpec) -> GenerationRequest:
    """The smallest clip the model serves: its smallest size, the fewest frames, two steps."""
    size = min(spec.limits.sizes, key=lambda s: s.width * s.height)
    image = None
    if spec.can(Capability.IMAGE_TO_VIDEO):
        image = Image.new("RGB", (size.width, size.height), (128, 128, 128))
    return GenerationRequest(
        prompt=WARMUP_PROMPT,
        width=size.width,
        height=size.height,
        num_frames=min(frames_for(0, spec.limits.max_fps), spec.limits.max_frames),
        num_inference_steps=max(WARMUP_STEPS, spec.limits.min_steps),
        guidance_scale=spec.defaults.guidance_scale,
        seed=0,
        image=image,
    )


def warm_up(pipelines: PipelineCache, specs: list[ModelSpec]) -> list[str]:
    """Load and run once the first ``pipelines.max_loaded`` of ``specs``; the names of those that
    are ready. Readiness goes to the log and ``videogen_worker_ready``."""
    metrics.READY.set(0)
    ready: list[str] = []
    for spec in specs[: pipelines.max_loaded]:
        try:
            generator = pipelines.get(spec)
        except Exception:  # noqa: BLE001 - a model that cannot load fails its jobs, clearly, instead
            log.exception("could not load %s at start; its jobs will fail until it loads", spec.name)
            continue
        try:
            _generate_once(pipelines, spec, generator)
        except Exception:  # noqa: BLE001 - loaded all the same; its jobs say what is wrong
            log.exception("the warm-up generation of %s failed; it stays loaded", spec.name)
        ready.append(spec.name)
    metrics.READY.set(1)
    log.info("worker ready: %s warm", ", ".join(ready) or "no model")
    return ready


def _generate_once(pipelines: PipelineCache, spec: ModelSpec, generator: VideoGenerator) -> None:
    """The warm-up generation; its stage times seed the first jobs' estimates."""
    started = time.monotonic()
    request = warmup_request(spec)
    timings = generator.generate(request).timings
    pipelines.estimates.record(
        spec.name,
        JobShape(request.width, request.height, request.num_frames),
        timings.seconds_per_step,
        {Phase.of_stage(stage): seconds for stage, seconds in timings.seconds.items()},
    )
    log.info(
        "warmed up %s in %.1f s (%dx%d, %d frames: %.3f s a step)",
        spec.name,
        time.monotonic() - started,
        request.width,
        request.height,
        request.num_frames,
        timings.seconds_per_step or 0.0,
    )
