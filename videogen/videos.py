"""What the API does with videos, independent of HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from videogen import jobs
from videogen.errors import InvalidRequestError, NotFoundError
from videogen.ids import new_id
from videogen.orm import ApiKey, Video, VideoStatus, utcnow
from videogen.pagination import Page, paginate
from videogen.storage import Storage
from videogen.video_requests import VideoParameters

Variant = Literal["video", "thumbnail"]
CONTENT_TYPES: dict[str, str] = {"video": "video/mp4", "thumbnail": "image/jpeg"}
FILENAMES: dict[str, str] = {"video": "video.mp4", "thumbnail": "thumbnail.jpg"}


def attempt_prefix(video_id: str, attempt: int) -> str:
    """Each run of a job writes under its own prefix, so a run that was given up on (its worker
    looked dead) can clean up after itself without touching the files of the run that won."""
    return f"{video_id}/attempt-{attempt}/"


def asset_key(video_id: str, attempt: int, variant: Variant) -> str:
    return attempt_prefix(video_id, attempt) + FILENAMES[variant]


def create_video(
    session: Session,
    api_key: ApiKey,
    params: VideoParameters,
    *,
    priority: int,
    retention_hours: float,
    webhook_url: str | None = None,
) -> Video:
    video = Video(
        id=new_id("video"),
        organization_id=api_key.organization_id,
        api_key_id=api_key.id,
        status=VideoStatus.QUEUED,
        model=params.model,
        prompt=params.prompt,
        negative_prompt=params.negative_prompt,
        seconds=params.seconds,
        duration_seconds=float(params.seconds),
        priority=priority,
        retention_hours=retention_hours,
        width=params.size.width,
        height=params.size.height,
        fps=params.fps,
        num_frames=params.num_frames,
        num_inference_steps=params.num_inference_steps,
        guidance_scale=params.guidance_scale,
        seed=params.seed,
        metadata_=params.metadata,
        webhook_url=webhook_url,
    )
    session.add(video)
    session.flush()
    return video


def get_video(session: Session, organization_id: str, video_id: str) -> Video:
    """The caller's video. Another organization's video is reported as absent, not forbidden,
    so ids cannot be probed across tenants."""
    video = session.get(Video, video_id)
    if video is None or video.organization_id != organization_id or video.deleted_at is not None:
        raise NotFoundError(f"No video found with id '{video_id}'.", param="video_id")
    return video


def list_videos(
    session: Session, organization_id: str, *, after: str | None, limit: int, order: Literal["asc", "desc"]
) -> Page[Video]:
    query = select(Video).where(Video.organization_id == organization_id, Video.deleted_at.is_(None))
    return paginate(session, query, Video.id, after=after, limit=limit, order=order)


def cancel_video(session: Session, video: Video) -> Video:
    """Cancel a queued or running job; finished ones are refused with a clear error."""
    if not jobs.cancel(session, video.id):
        session.refresh(video)
        raise InvalidRequestError(
            f"Video '{video.id}' is {video.status} and can no longer be cancelled.",
            param="video_id",
            code="video_not_cancellable",
        )
    session.refresh(video)
    return video


def delete_video(session: Session, storage: Storage, video: Video) -> None:
    """Stop the job if it is still running, then remove its assets and hide it from the API."""
    jobs.cancel(session, video.id)
    video.deleted_at = utcnow()
    session.flush()
    storage.delete_prefix(f"{video.id}/")


def purge_expired_assets(session: Session, storage: Storage, now: datetime | None = None) -> list[str]:
    """Delete the files of videos past ``expires_at``; their records stay (with status
    ``completed``) so clients still see what they made and when it expired."""
    now = now or utcnow()
    expired = list(
        session.scalars(
            select(Video.id).where(
                Video.status == VideoStatus.COMPLETED.value, Video.video_key.is_not(None), Video.expires_at <= now
            )
        )
    )
    for video_id in expired:
        storage.delete_prefix(f"{video_id}/")
        session.execute(
            update(Video)
            .where(Video.id == video_id)
            .values(video_key=None, thumbnail_key=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return expired


def content_key(video: Video, variant: Variant) -> str:
    """The storage key of a finished video's asset, or a clear error while there is none."""
    if video.status != VideoStatus.COMPLETED:
        raise InvalidRequestError(
            f"Video '{video.id}' is {video.status}; its content is available once it is completed.",
            param="video_id",
            code="video_not_ready",
        )
    if video.expires_at is not None and video.expires_at <= utcnow():
        raise NotFoundError(f"The content of video '{video.id}' has expired.", param="video_id", code="video_expired")
    key = video.video_key if variant == "video" else video.thumbnail_key
    if key is None:
        raise NotFoundError(f"Video '{video.id}' has no {variant}.", param="variant")
    return key
