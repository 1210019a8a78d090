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


def unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def to_video_object(video: Video, *, queue_position: int | None = None) -> VideoObject:
    """The stored video in the wire format (``videogen.videos.service.describe`` adds the live
    queue position)."""
    return VideoObject(
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
        error=VideoErrorObject(code=video.error_code, message=video.error_message or "") if video.error_code else None,
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
    )
