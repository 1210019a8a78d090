"""The video object as clients see it: OpenAI's Videos API fields plus our extensions.

It lives in the shared domain, not in the API, because the API is not its only author: the worker
freezes it into webhook events at the moment a job ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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
    )


def _input_reference(video: Video) -> InputReferenceObject | None:
    if video.input_image_sha256 is None:
        return None
    return InputReferenceObject.model_construct(
        sha256=video.input_image_sha256,
        bytes=video.input_image_bytes or 0,
        size=f"{video.input_image_width}x{video.input_image_height}",
        fit=video.input_fit or "exact",
    )
