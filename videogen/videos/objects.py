"""The video object as clients see it: OpenAI's Videos API fields plus our extensions.

It lives in the shared domain, not in the API, because the API is not its only author: the worker
freezes it into webhook events at the moment a job ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from videogen.videos.phases import Phase
from videogen.videos.tables import Video, VideoStatus


class VideoErrorObject(BaseModel):
    code: str
    message: str


class InputReferenceObject(BaseModel):
    """The image an image-to-video job animates (an extension): what the client sent, and how it
    was fitted to the video's size."""

    sha256: str = Field(description="SHA-256 of the image bytes as sent.")
    bytes: int
    size: str = Field(description="WIDTHxHEIGHT of the image as sent, after its EXIF orientation.")
    fit: str = Field(description="exact, crop or pad.")


class TimingsObject(BaseModel):
    """Where a job's time went (an extension), in seconds, as its worker measured it. A phase the
    run never reached is null; ``loading_seconds`` is null when the model was already warm."""

    queue_seconds: float | None = Field(None, description="From submission to the start of the run.")
    loading_seconds: float | None = Field(None, description="Loading the model, when this job had to wait for it.")
    encoding_prompt_seconds: float | None = Field(None, description="The text (and image) encoders.")
    denoising_seconds: float | None = Field(None, description="The denoising loop, all steps.")
    seconds_per_step: float | None = Field(None, description="denoising_seconds per step done.")
    decoding_seconds: float | None = Field(None, description="The VAE decode, frames post-processed.")
    encoding_seconds: float | None = Field(None, description="The MP4, thumbnail and spritesheet.")
    uploading_seconds: float | None = Field(None, description="Storing the files.")
    run_seconds: float | None = Field(None, description="The run on its worker, from the claim to its end.")
    gpu_seconds: float | None = Field(
        None, description="The GPU's busy time for this job, prompt encoding through the decode: what is billed."
    )


class VideoObject(BaseModel):
    id: str
    object: Literal["video"] = "video"
    model: str
    status: VideoStatus
    progress: int
    created_at: int
    completed_at: int | None
    expires_at: int | None
    seconds: str
    size: str
    prompt: str
    error: VideoErrorObject | None
    remixed_from_video_id: str | None = None
    # --- extensions ---
    started_at: int | None
    seed: int
    queue_position: int | None = Field(description="1 = next to run, while queued.")
    fps: int
    num_frames: int
    num_inference_steps: int
    guidance_scale: float
    negative_prompt: str | None
    metadata: dict[str, str]
    webhook_url: str | None = Field(None, description="Where this video's own completion events go.")
    input_reference: InputReferenceObject | None = Field(None, description="The image animated, if any.")
    phase: Phase | None = Field(
        None,
        description="What the job is doing: queued, loading, encoding_prompt, denoising, decoding, encoding, "
        "uploading; null once it has ended.",
    )
    denoising_step: int | None = Field(None, description="Denoising steps done of num_inference_steps, while running.")
    estimated_completion_at: int | None = Field(
        None, description="When the running job should end, from its worker's measured step and decode times."
    )
    timings: TimingsObject | None = Field(None, description="Seconds per phase, once the job has run.")


def unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def to_video_object(video: Video, *, queue_position: int | None = None) -> VideoObject:
    """The stored video in the wire format (``videogen.videos.service.describe`` adds the live
    queue position).

    Built with ``model_construct``: every value comes from a typed column of our own table, so
    validating it again would only cost time (a list page builds twenty of these per request).
    """
    return VideoObject.model_construct(
        id=video.id,
        model=video.model,
        status=video.status,
        progress=video.progress,
        created_at=unix(video.created_at) or 0,
        completed_at=unix(video.completed_at),
        expires_at=unix(video.expires_at),
        seconds=video.seconds,
        size=video.size,
        prompt=video.prompt,
        error=VideoErrorObject.model_construct(code=video.error_code, message=video.error_message or "")
        if video.error_code
        else None,
        remixed_from_video_id=video.remixed_from_video_id,
        started_at=unix(video.started_at),
        seed=video.seed,
        queue_position=queue_position,
        fps=video.fps,
        num_frames=video.num_frames,
        num_inference_steps=video.num_inference_steps,
        guidance_scale=video.guidance_scale,
        negative_prompt=video.negative_prompt,
        metadata=video.metadata_ or {},
        webhook_url=video.webhook_url,
        input_reference=_input_reference(video),
        phase=shown_phase(video.status, video.phase),
        denoising_step=video.denoising_step,
        estimated_completion_at=unix(video.estimated_completion_at),
        timings=TimingsObject.model_validate(video.timings) if video.timings else None,
    )


def shown_phase(status: VideoStatus, phase: str | None) -> Phase | None:
    """The ``phase`` the object shows for a row's status and phase column: ``queued`` while queued,
    ``loading`` until the worker says more, none once ended (``videogen.videos.watcher`` reads the two
    columns alone)."""
    if status == VideoStatus.QUEUED:
        return Phase.QUEUED
    if status == VideoStatus.IN_PROGRESS:
        return Phase(phase or Phase.LOADING)
    return None


def _input_reference(video: Video) -> InputReferenceObject | None:
    if video.input_image_sha256 is None:
        return None
    return InputReferenceObject.model_construct(
        sha256=video.input_image_sha256,
        bytes=video.input_image_bytes or 0,
        size=f"{video.input_image_width}x{video.input_image_height}",
        fit=video.input_fit or "exact",
    )
