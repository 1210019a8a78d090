"""Run one job from claim to completed/failed/cancelled.

The database decides: a job runs only after this worker wins the claim, and ends ``completed``
only after its files are in storage. Any exception ends it ``failed`` with a readable message, so
no failure leaves a job ``in_progress``.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from model import ModelRegistry
from model.encoding import encode_mp4, encode_spritesheet, encode_thumbnail
from model.generation import GenerationCancelled, GenerationRequest
from videogen.database import session_scope
from videogen.settings import Settings
from videogen.storage import Storage, read_bytes
from videogen.videos import jobs
from videogen.videos.assets import CONTENT_TYPES, asset_key, attempt_prefix
from videogen.videos.tables import Video, VideoStatus
from worker import metrics
from worker.pipelines import PipelineCache

log = logging.getLogger(__name__)

# Share of the progress bar the denoising loop fills; decode, encode and upload take the rest.
DENOISE_SHARE = 90


class JobCancelledError(GenerationCancelled):
    """Raised from the step callback to stop a pipeline that has been cancelled.

    Raising (rather than diffusers' ``_interrupt`` flag) also skips the VAE decode, so a cancelled
    job frees the GPU at the next step, whatever the pipeline kind (``model.kinds``).
    """


class ModelLoadError(RuntimeError):
    """The worker could not load a model. The cause (with server paths) goes to the worker log;
    the client sees which model and what kind of failure."""

    def __init__(self, model: str, cause: Exception):
        super().__init__(
            f"The model '{model}' could not be loaded by the worker ({type(cause).__name__}). "
            "The operator can find the details in the worker log."
        )


class Heartbeat:
    """A background thread that writes progress and notices cancellation.

    Decoupling it from the denoising loop keeps database I/O off the GPU's critical path and
    keeps the job visibly alive during long steps and the VAE decode, which have no callback.
    """

    def __init__(self, settings: Settings, video_id: str, attempt: int):
        self.settings = settings
        self.video_id = video_id
        self.attempt = attempt
        self.progress = 0
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{video_id}", daemon=True)

    def _beat(self) -> None:
        with session_scope(self.settings.database_url) as session:
            if not jobs.heartbeat(session, self.video_id, self.attempt, self.progress):
                self.cancelled.set()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_interval_seconds):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - a database blip must not kill the job
                log.warning("heartbeat for %s failed", self.video_id, exc_info=True)
            if self.cancelled.is_set():
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def on_step(self, done: int, total: int) -> None:
        self.progress = min(DENOISE_SHARE, done * DENOISE_SHARE // max(total, 1))
        if self.cancelled.is_set():
            raise JobCancelledError(self.video_id)


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

    def run(self, video_id: str) -> str:
        """Run the job a message about ``video_id`` stands for; returns the status it ended in.

        The message is a nudge for ``video_id``'s model: the worker claims the most urgent
        runnable job of that model (see ``jobs.claim_next``), which may be another one.
        """
        with session_scope(self.settings.database_url) as session:
            model = session.scalar(select(Video.model).where(Video.id == video_id))
            claimed = jobs.claim_next(session, model, worker_name()) if model else None
            if claimed is None:
                log.info("nothing to run for %s (model %s)", video_id, model)
                return "idle"
            video = session.get(Video, claimed)
            assert video is not None
            session.expunge(video)
        video_id = video.id

        started = time.monotonic()
        try:
            self._generate_and_store(video)
        except JobCancelledError:
            log.info("%s cancelled while running", video_id)
            self._cleanup_assets(video)
            metrics.JOBS_FINISHED.labels(model=video.model, status=VideoStatus.CANCELLED).inc()
            return VideoStatus.CANCELLED
        except Exception as exc:  # noqa: BLE001 - every failure must end the job
            log.exception("%s failed", video_id)
            with session_scope(self.settings.database_url) as session:
                jobs.fail(session, video_id, _error_code(exc), _error_message(exc), attempt=video.attempts)
            self._cleanup_assets(video)
            metrics.JOBS_FINISHED.labels(model=video.model, status=VideoStatus.FAILED).inc()
            return VideoStatus.FAILED
        finally:
            metrics.JOB_SECONDS.labels(model=video.model).observe(time.monotonic() - started)

        metrics.JOBS_FINISHED.labels(model=video.model, status=VideoStatus.COMPLETED).inc()
        return VideoStatus.COMPLETED

    def _generate_and_store(self, video: Video) -> None:
        # The heartbeat starts before the model loads: loading 13B weights takes minutes, and a
        # silent job would look like a dead worker to the reconciler.
        with Heartbeat(self.settings, video.id, video.attempts) as heartbeat, _scratch_dir() as scratch:
            try:
                generator = self.pipelines.get(self.registry.get(video.model))
            except Exception as exc:
                log.exception("loading %s failed", video.model)
                raise ModelLoadError(video.model, exc) from exc
            result = generator.generate(self._generation_request(video), on_step=heartbeat.on_step)
            if heartbeat.cancelled.is_set():
                raise JobCancelledError(video.id)
            heartbeat.progress = 95
            video_path = encode_mp4(result.frames, video.fps, scratch / "video.mp4")
            video_key = asset_key(video.id, video.attempts, "video")
            thumbnail_key = asset_key(video.id, video.attempts, "thumbnail")
            spritesheet_key = asset_key(video.id, video.attempts, "spritesheet")
            self.storage.put_file(video_key, video_path, CONTENT_TYPES["video"])
            self.storage.put_bytes(thumbnail_key, encode_thumbnail(result.frames), CONTENT_TYPES["thumbnail"])
            self.storage.put_bytes(spritesheet_key, encode_spritesheet(result.frames), CONTENT_TYPES["spritesheet"])
            with session_scope(self.settings.database_url) as session:
                done = jobs.complete(
                    session,
                    video.id,
                    attempt=video.attempts,
                    video_key=video_key,
                    thumbnail_key=thumbnail_key,
                    spritesheet_key=spritesheet_key,
                    video_bytes=video_path.stat().st_size,
                    retention=timedelta(hours=video.retention_hours),
                )
            if not done:  # cancelled or deleted during encode/upload
                raise JobCancelledError(video.id)

    def _cleanup_assets(self, video: Video) -> None:
        try:
            self.storage.delete_prefix(attempt_prefix(video.id, video.attempts))
        except Exception:  # noqa: BLE001 - leftover files are not worth failing over
            log.warning("could not remove assets of %s", video.id, exc_info=True)

    def _generation_request(self, video: Video) -> GenerationRequest:
        image = None
        if video.input_image_key is not None:
            image = Image.open(io.BytesIO(read_bytes(self.storage, video.input_image_key))).convert("RGB")
        return _generation_request(video, image)


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


def _error_code(exc: Exception) -> str:
    if isinstance(exc, ModelLoadError):
        return "model_unavailable"
    if type(exc).__name__ == "OutOfMemoryError":
        return "out_of_memory"
    return "generation_failed"


def _error_message(exc: Exception) -> str:
    if isinstance(exc, ModelLoadError):
        return str(exc)
    if type(exc).__name__ == "OutOfMemoryError":
        return "The GPU ran out of memory for this request; try a smaller size or a shorter clip."
    first_line = (str(exc).strip().splitlines() or [""])[0][:500]
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
