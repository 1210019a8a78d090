"""Run one job from claim to completed/failed/cancelled.

The database decides: a job runs only after this worker wins the claim, and ends ``completed``
only after its files are in storage. Any exception ends it ``failed`` with a message safe to show
(``worker.failures``), so no failure leaves a job ``in_progress``, unless the database itself stays
unreachable; then the reconciler requeues the job once its heartbeat is stale.

Faults the worker rides out rather than passes on (``worker.backoff``):

- The database is unreachable when a message arrives: the worker waits for it (with backoff, up
  to ``WORKER_DATABASE_WAIT_SECONDS``), then hands the message back to the broker
  (``DatabaseUnavailableError``, see ``run_message``) instead of acknowledging it unread.
- Storage or the database is unreachable when a render has finished: the upload and the
  completion are retried for up to ``WORKER_FINISH_RETRY_SECONDS`` while the heartbeat keeps the
  job alive, so GPU work already done is not thrown away by a blip.
- The job is taken away mid-run (the reconciler requeued it, maybe another worker claimed it):
  the worker stops and reports it as superseded, not as a cancellation.
"""

from __future__ import annotations

import contextvars
import io
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Literal, TypeVar

from celery.exceptions import Reject
from PIL import Image
from sqlalchemy import select

from model import ModelRegistry
from model.encoding import EncodedVideo, encode_all
from model.generation import GenerationCancelled, GenerationRequest
from model.stages import StageTimings
from videogen import tracing
from videogen.database import session_scope
from videogen.logs import log_context
from videogen.outages import Dependency, outage_of
from videogen.settings import Settings
from videogen.storage import Storage, StorageUnavailableError, read_bytes
from videogen.videos import jobs
from videogen.videos.assets import CONTENT_TYPES, asset_key, attempt_prefix, delete_attempts
from videogen.videos.phases import WORKER_PHASES, Phase
from videogen.videos.tables import Video, VideoStatus
from worker import metrics
from worker.backoff import retry_until
from worker.estimates import JobShape
from worker.failures import ModelLoadError, describe_failure, private_words
from worker.job_clock import JobClock
from worker.pipelines import PipelineCache

__all__ = ["DatabaseUnavailableError", "Heartbeat", "JobCancelledError", "JobRunner", "ModelLoadError", "run_message"]

log = logging.getLogger(__name__)

T = TypeVar("T")

LostReason = Literal["cancelled", "superseded"]


class JobCancelledError(GenerationCancelled):
    """Raised from the step callback to stop a pipeline that has been cancelled.

    Raising (rather than diffusers' ``_interrupt`` flag) also skips the VAE decode, so a cancelled
    job frees the GPU at the next step, whatever the pipeline kind (``model.kinds``).
    """


class JobSupersededError(JobCancelledError):
    """The job was taken from this attempt (requeued after it looked dead, maybe claimed again):
    it stops the same way as a cancelled one, but is logged and counted as what it is."""


class DatabaseUnavailableError(RuntimeError):
    """The database stayed unreachable for ``WORKER_DATABASE_WAIT_SECONDS`` before a claim: the
    message must go back to the broker, not be acknowledged (``run_message``)."""


def _lost_error(reason: LostReason, video_id: str) -> JobCancelledError:
    return JobSupersededError(video_id) if reason == "superseded" else JobCancelledError(video_id)


def _why_lost(database_url: str, video_id: str, attempt: int) -> LostReason:
    """Why ``attempt`` of the job may no longer run or complete, from the job as it is now."""
    with session_scope(database_url) as session:
        now = jobs.attempt_of(session, video_id)
    if now is None:
        return "cancelled"  # deleted
    status, attempts = now
    if attempts == attempt and status == VideoStatus.CANCELLED:
        return "cancelled"
    return "superseded"  # requeued, claimed again, or given up on (worker_lost)


def _transient(exc: BaseException) -> bool:
    """Worth waiting for: storage or the database unreachable, not a defect or a refusal."""
    if isinstance(exc, StorageUnavailableError):
        return exc.transient
    return outage_of(exc) in {Dependency.DATABASE, Dependency.STORAGE}


def _database_down(exc: BaseException) -> bool:
    return outage_of(exc) == Dependency.DATABASE


class Heartbeat:
    """A background thread that writes progress and notices cancellation.

    Decoupling it from the denoising loop keeps database I/O off the GPU's critical path and
    keeps the job visibly alive during long steps, the VAE decode (which has no callback) and
    while the finished video's upload or completion waits for storage or the database.
    A beat that fails (the database is away) is logged and the next one tries again.
    """

    def __init__(self, settings: Settings, video_id: str, attempt: int, clock: JobClock):
        self.settings = settings
        self.video_id = video_id
        self.attempt = attempt
        self.clock = clock
        self.lost: LostReason | None = None
        self.stopped = threading.Event()  # set once the job is no longer this attempt's
        self._stop = threading.Event()
        self._wake = threading.Event()
        # In the job's context (its lines carry the job's fields), but untraced (``_run``).
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name=f"heartbeat-{video_id}", daemon=True
        )

    def _beat(self) -> None:
        with session_scope(self.settings.database_url) as session:
            alive = jobs.heartbeat(session, self.video_id, self.attempt, self.clock.live())
        if not alive:
            self.lost = _why_lost(self.settings.database_url, self.video_id, self.attempt)
            self.stopped.set()

    def _run(self) -> None:
        with tracing.untraced():  # a beat a second would bury the job's trace under its statements
            self._beat_until_stopped()

    def _beat_until_stopped(self) -> None:
        while True:
            self._wake.wait(self.settings.heartbeat_interval_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - a database blip must not kill the job
                log.warning("heartbeat for %s failed", self.video_id, exc_info=True)
            if self.stopped.is_set():
                return

    def beat_now(self, *_: object) -> None:
        """Beat without waiting for the interval: a new phase is worth telling at once (a job
        has a handful of them, so this adds a few writes per job, off the GPU's path)."""
        self._wake.set()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def check(self) -> None:
        """Raise if the job is no longer this attempt's (cancelled, or superseded)."""
        if self.stopped.is_set():
            raise _lost_error(self.lost or "cancelled", self.video_id)

    def sleep(self, seconds: float) -> None:
        """Wait (between retries), but stop waiting as soon as the job is lost."""
        self.stopped.wait(seconds)
        self.check()

    def on_step(self, done: int, total: int) -> None:
        self.clock.step(done)
        self.check()


@contextmanager
def _job_context(video: Video) -> Iterator[None]:
    """While a job runs, every log line carries its video, organization and attempt, and its span
    continues the trace of the request that created it (stored on its row), whichever message,
    sent by whom, it was claimed for."""
    fields: dict[str, str | int] = {
        "video_id": video.id,
        "organization_id": video.organization_id,
        "attempt": video.attempts,
    }
    attributes = {f"videogen.{name}": value for name, value in fields.items()} | {"videogen.model": video.model}
    with log_context(**fields), tracing.continued_span("videogen.job", video.traceparent, attributes):
        yield


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def _scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="videogen-") as tmp:
        yield Path(tmp)


class JobRunner:
    def __init__(self, settings: Settings, storage: Storage, registry: ModelRegistry, pipelines: PipelineCache):
        self.settings = settings
        self.storage = storage
        self.registry = registry
        self.pipelines = pipelines
        self.estimates = pipelines.estimates
        self._private = private_words(settings)
        # A job's three files go to storage at once: three round trips to S3 cost about one.
        self._uploads = ThreadPoolExecutor(max_workers=3, thread_name_prefix="upload")

    def run(self, video_id: str) -> str:
        """Run the job a message about ``video_id`` stands for; returns how it ended here.

        The message is a nudge for ``video_id``'s model: the worker claims the most urgent
        runnable job of that model (see ``jobs.claim_next``), which may be another one. Raises
        ``DatabaseUnavailableError`` if the database could not be reached to claim anything.
        """
        video = self._claim(video_id)
        if video is None:
            log.info("nothing to run for %s", video_id)
            return "idle"
        started = time.monotonic()
        with _job_context(video):
            log.info("running %s on %s, attempt %d", video.id, video.model, video.attempts)
            try:
                outcome = self._run_claimed(video)
            finally:
                metrics.JOB_SECONDS.labels(model=video.model).observe(time.monotonic() - started)
                if video.attempts > 1:  # the backstop for earlier attempts' files (videogen.videos.assets)
                    delete_attempts(self.storage, video.id, range(1, video.attempts))
            metrics.JOBS_FINISHED.labels(model=video.model, status=outcome).inc()
            tracing.annotate({"videogen.outcome": outcome})
            log.info("%s ended %s", video.id, outcome)
        return outcome

    def _claim(self, video_id: str) -> Video | None:
        """Claim a job, waiting for the database while it is unreachable."""

        def claim() -> Video | None:
            with session_scope(self.settings.database_url) as session:
                model = session.scalar(select(Video.model).where(Video.id == video_id))
                claimed = jobs.claim_next(session, model, worker_name()) if model else None
                if claimed is None:
                    return None
                video = session.get(Video, claimed)
                assert video is not None
                session.expunge(video)
                return video

        deadline = time.monotonic() + self.settings.worker_database_wait_seconds
        try:
            return retry_until(deadline, "claim", claim, transient=_database_down)
        except Exception as exc:
            if _database_down(exc):
                raise DatabaseUnavailableError(
                    f"the database was unreachable for {self.settings.worker_database_wait_seconds:g} s"
                ) from exc
            raise

    def _run_claimed(self, video: Video) -> str:
        shape = job_shape(video)
        clock = JobClock(
            video.num_inference_steps,
            self.estimates.expect(video.model, shape),
            loading=not self.pipelines.is_loaded(video.model),
        )
        run = RunRecord(video, shape, clock)
        try:
            self._generate_and_store(run)
        except JobSupersededError:
            log.warning("%s lost to a requeue: attempt %d was superseded; stopping it", video.id, video.attempts)
            self._cleanup_assets(video)
            self._count_gpu_time(run)
            return metrics.SUPERSEDED
        except JobCancelledError:
            log.info("%s cancelled while running", video.id)
            self._cleanup_assets(video)
            self._record_cancelled_run(run)
            return VideoStatus.CANCELLED
        except Exception as exc:  # noqa: BLE001 - every failure must end the job
            log.exception("%s failed", video.id)
            recorded = self._record_failure(run, exc)
            self._cleanup_assets(video)
            return VideoStatus.FAILED if recorded else metrics.ABANDONED
        return VideoStatus.COMPLETED

    def _count_gpu_time(self, run: RunRecord) -> dict[str, float | None]:
        """The run's timings as of now, its GPU time counted in the worker's metrics (once per
        run, whatever its end)."""
        timings = run.timings()
        _count_gpu_seconds(run.video.model, timings)
        return timings

    def _record_cancelled_run(self, run: RunRecord) -> None:
        """A job cancelled mid-run still used the GPU until its next step: its timings are kept
        (best effort: the job has ended, nothing waits on this)."""
        timings = self._count_gpu_time(run)
        try:
            with session_scope(self.settings.database_url) as session:
                jobs.record_run(session, run.video.id, attempt=run.video.attempts, timings=timings)
        except Exception:  # noqa: BLE001 - a lost record of a cancelled run is not worth more
            log.warning("could not record the timings of cancelled %s", run.video.id, exc_info=True)

    def _record_failure(self, run: RunRecord, exc: Exception) -> bool:
        """Fail the job with a message safe for clients; False if the database would not take it
        (the job stays ``in_progress`` and the reconciler requeues it once its heartbeat is stale)."""
        video = run.video
        failure = describe_failure(exc, self._private)
        timings = self._count_gpu_time(run)

        def fail() -> None:
            with session_scope(self.settings.database_url) as session:
                jobs.fail(
                    session,
                    video.id,
                    failure.code,
                    failure.message,
                    attempt=video.attempts,
                    timings=timings,
                )

        # A failure that was the database staying away has already waited its time.
        budget = 0.0 if _database_down(exc) else self.settings.worker_finish_retry_seconds
        try:
            retry_until(time.monotonic() + budget, "fail", fail, transient=_database_down)
        except Exception:  # noqa: BLE001 - nothing else can be done here; the reconciler recovers it
            log.error("could not record the failure of %s; the reconciler will requeue it", video.id, exc_info=True)
            return False
        return True

    def _generate_and_store(self, run: RunRecord) -> None:
        video, clock = run.video, run.clock
        # The heartbeat starts before the model loads: loading 13B weights takes minutes, and a
        # silent job would look like a dead worker to the reconciler.
        with Heartbeat(self.settings, video.id, video.attempts, clock) as heartbeat, _scratch_dir() as scratch:
            clock.on_phase = heartbeat.beat_now
            try:
                generator = self.pipelines.get(self.registry.get(video.model))
            except Exception as exc:
                log.exception("loading %s failed", video.model)
                raise ModelLoadError(video.model, exc) from exc
            request = self._generation_request(video, heartbeat)
            result = generator.generate(request, on_step=heartbeat.on_step, on_stage=clock.enter_stage)
            run.model_stages = result.timings
            heartbeat.check()
            clock.enter(Phase.ENCODING)
            files = encode_all(result.frames, video.fps, scratch / "video.mp4")
            clock.enter(Phase.UPLOADING)
            self._finish(run, heartbeat, files)

    def _finish(self, run: RunRecord, heartbeat: Heartbeat, files: EncodedVideo) -> None:
        """Upload the files and complete the job, retrying both while storage or the database is
        unreachable, for up to ``WORKER_FINISH_RETRY_SECONDS`` in all."""
        video = run.video
        video_path = files.video_path
        deadline = time.monotonic() + self.settings.worker_finish_retry_seconds
        keys = {
            variant: asset_key(video.id, video.attempts, variant) for variant in ("video", "thumbnail", "spritesheet")
        }

        def upload() -> None:
            # Each attempt has its own keys, so uploading a file again overwrites only our own copy.
            # All three are waited for; the first to fail (in this order) is what the retry sees.
            puts = [
                self._upload(self.storage.put_file, keys["video"], video_path, CONTENT_TYPES["video"]),
                self._upload(self.storage.put_bytes, keys["thumbnail"], files.thumbnail, CONTENT_TYPES["thumbnail"]),
                self._upload(
                    self.storage.put_bytes, keys["spritesheet"], files.spritesheet, CONTENT_TYPES["spritesheet"]
                ),
            ]
            wait(puts)
            for put in puts:
                put.result()

        def complete() -> bool:
            with session_scope(self.settings.database_url) as session:
                if jobs.complete(
                    session,
                    video.id,
                    attempt=video.attempts,
                    video_key=keys["video"],
                    thumbnail_key=keys["thumbnail"],
                    spritesheet_key=keys["spritesheet"],
                    video_bytes=video_path.stat().st_size,
                    retention=timedelta(hours=video.retention_hours),
                    timings=timings,
                ):
                    return True
                # Refused: either an earlier try did commit and only its answer was lost (then the
                # job is completed, and by this attempt: no other can), or the job moved on.
                return jobs.attempt_of(session, video.id) == (VideoStatus.COMPLETED, video.attempts)

        self._retry(deadline, "upload", upload, heartbeat)
        timings = run.timings()  # the upload is over: every phase is measured, once, for all uses
        heartbeat.check()
        if not self._retry(deadline, "complete", complete, heartbeat):  # cancelled or deleted during upload
            raise _lost_error(_why_lost(self.settings.database_url, video.id, video.attempts), video.id)
        self._learn_from(run, timings)

    def _learn_from(self, run: RunRecord, timings: dict[str, float | None]) -> None:
        """A completed run: its phases (as recorded on the video) go to the metrics and to the
        estimates for later jobs."""
        model = run.video.model
        _count_gpu_seconds(model, timings)
        phases = {
            phase: seconds for phase in WORKER_PHASES if (seconds := timings[f"{phase.value}_seconds"]) is not None
        }
        for phase, seconds in phases.items():
            metrics.PHASE_SECONDS.labels(model=model, phase=phase.value).observe(seconds)
        if timings["seconds_per_step"] is not None:
            metrics.STEP_SECONDS.labels(model=model).observe(timings["seconds_per_step"])
        if timings["queue_seconds"] is not None:
            metrics.QUEUE_SECONDS.labels(model=model).observe(timings["queue_seconds"])
        phases.pop(Phase.LOADING, None)
        phases.pop(Phase.DENOISING, None)
        self.estimates.record(model, run.shape, timings["seconds_per_step"], phases)

    def _upload(self, put: Callable[..., None], *args: object) -> Future[None]:
        """``put(*args)`` on the upload threads, in this job's context (its lines carry the job)."""
        return self._uploads.submit(contextvars.copy_context().run, put, *args)

    @staticmethod
    def _retry(deadline: float, step: str, call: Callable[[], T], heartbeat: Heartbeat) -> T:
        return retry_until(deadline, step, call, transient=_transient, sleep=heartbeat.sleep)

    def _cleanup_assets(self, video: Video) -> None:
        try:
            self.storage.delete_prefix(attempt_prefix(video.id, video.attempts))
        except Exception:  # noqa: BLE001 - leftover files are not worth failing over
            log.warning("could not remove assets of %s", video.id, exc_info=True)

    def _generation_request(self, video: Video, heartbeat: Heartbeat) -> GenerationRequest:
        image = None
        if video.input_image_key is not None:
            key = video.input_image_key
            deadline = time.monotonic() + self.settings.worker_finish_retry_seconds
            data = self._retry(deadline, "input image", lambda: read_bytes(self.storage, key), heartbeat)
            image = Image.open(io.BytesIO(data)).convert("RGB")
        return _generation_request(video, image)


def job_shape(video: Video) -> JobShape:
    return JobShape(video.width, video.height, video.num_frames)


class RunRecord:
    """One attempt's run as the runner follows it: the job, its clock, and the model's own stage
    timings once the generation has finished."""

    def __init__(self, video: Video, shape: JobShape, clock: JobClock) -> None:
        self.video = video
        self.shape = shape
        self.clock = clock
        self.model_stages: StageTimings | None = None

    def timings(self) -> dict[str, float | None]:
        return self.clock.timings(self.queue_seconds(), self.model_stages)

    def queue_seconds(self) -> float | None:
        started, created = self.video.started_at, self.video.created_at
        return None if started is None else max((started - created).total_seconds(), 0.0)


def _count_gpu_seconds(model: str, timings: dict[str, float | None]) -> None:
    metrics.GPU_SECONDS.labels(model=model).inc(timings["gpu_seconds"] or 0.0)


def run_message(runner: JobRunner, video_id: str) -> str:
    """What the Celery task does with one message: run it, or, when the database could not be
    reached, hand the message back to the broker for redelivery rather than acknowledge it. The
    runner has already waited ``WORKER_DATABASE_WAIT_SECONDS`` by then, so a long outage costs one
    delivery per wait, never a tight loop of them."""
    try:
        return runner.run(video_id)
    except DatabaseUnavailableError as exc:
        log.warning("database unreachable; handing the message for %s back to the broker", video_id)
        metrics.MESSAGES_RETURNED.inc()
        raise Reject(str(exc), requeue=True) from exc


def _generation_request(video: Video, image: Image.Image | None) -> GenerationRequest:
    return GenerationRequest(
        prompt=video.prompt,
        negative_prompt=video.negative_prompt,
        width=video.width,
        height=video.height,
        num_frames=video.num_frames,
        num_inference_steps=video.num_inference_steps,
        guidance_scale=video.guidance_scale,
        seed=video.seed,
        image=image,
    )
