"""A client's videos once submitted: read, list, cancel, delete, download.

Every function takes the caller's organization: another organization's video is reported as
absent, not forbidden, so ids cannot be probed across tenants. Submitting lives in
``videogen.videos.submission``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from videogen.database import utcnow
from videogen.errors import InvalidRequestError, NotFoundError
from videogen.pagination import Page, paginate
from videogen.storage import Storage
from videogen.videos import jobs
from videogen.videos.assets import Variant, video_prefix
from videogen.videos.objects import VideoObject, to_video_object
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.tables import Video, VideoStatus


def video_not_found(video_id: str) -> NotFoundError:
    """The one answer for a video that is not there for the caller: unknown, another
    organization's, deleted, or deleted while a client waited for it."""
    return NotFoundError(f"No video found with id '{video_id}'.", param="video_id")


def get_video(session: Session, organization_id: str, video_id: str) -> Video:
    video = session.get(Video, video_id)
    if video is None or video.organization_id != organization_id or video.deleted_at is not None:
        raise video_not_found(video_id)
    return video


def list_videos(
    session: Session,
    organization_id: str,
    *,
    after: str | None,
    limit: int,
    order: Literal["asc", "desc"],
    status: VideoStatus | None = None,
    model: str | None = None,
) -> Page[Video]:
    """A page of the organization's videos, only those in ``status`` and of ``model`` when given."""
    query = visible_videos(status=status, model=model).where(Video.organization_id == organization_id)
    return paginate(session, query, Video.id, after=after, limit=limit, order=order)


def visible_videos(*, status: VideoStatus | None, model: str | None) -> Select[Video]:
    """The videos not deleted, filtered: a query, to which the caller adds whose (the operator's
    lists, ``videogen.videos.operator_view``, add no organization or any one)."""
    query = select(Video).where(Video.deleted_at.is_(None))
    if status is not None:
        query = query.where(Video.status == status)
    if model is not None:
        query = query.where(Video.model == model)
    return query


def describe(session: Session, video: Video, positions: QueuePositions) -> VideoObject:
    """The video as its owner sees it now: the stored fields plus its live queue position."""
    return to_video_object(video, queue_position=positions.position(session, video))


def describe_all(session: Session, videos: Sequence[Video], positions: QueuePositions) -> list[VideoObject]:
    """A page of videos as ``describe`` shows each, their queue positions read together."""
    ranks = positions.of(session, videos)
    return [to_video_object(video, queue_position=ranks.get(video.id)) for video in videos]


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
    storage.delete_prefix(video_prefix(video.id))


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
    key = {"video": video.video_key, "thumbnail": video.thumbnail_key, "spritesheet": video.spritesheet_key}[variant]
    if key is None:
        raise NotFoundError(f"Video '{video.id}' has no {variant}.", param="variant")
    return key
