"""Every organization's videos, for the operator (the admin API's ``/v1/admin/videos`` and
``videogen videos``): the same rows a client sees of its own, across tenants, with whose they are.

Kept apart from ``videogen.videos.service``, whose every function takes the caller's organization:
nothing here may be reached with an API key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from videogen.accounts.tables import Organization
from videogen.pagination import Page, paginate
from videogen.videos.service import video_not_found, visible_videos
from videogen.videos.tables import Video, VideoStatus


def list_all_videos(
    session: Session,
    organization_id: str | None,
    *,
    status: VideoStatus | None,
    model: str | None,
    after: str | None,
    limit: int,
    order: Literal["asc", "desc"] = "desc",
) -> Page[Video]:
    """A page of the videos of every organization (or of ``organization_id``), not deleted, in id
    (creation) order, only those in ``status`` and of ``model`` when given.

    By status, a range of ``ix_videos_status_model``; for one organization, of ``ix_videos_org_id``.
    """
    query = visible_videos(status=status, model=model)
    if organization_id is not None:
        query = query.where(Video.organization_id == organization_id)
    return paginate(session, query, Video.id, after=after, limit=limit, order=order)


def get_any_video(session: Session, video_id: str) -> Video:
    """Any organization's video, unless deleted (its files are gone: only its owner's record of it is left)."""
    video = session.get(Video, video_id)
    if video is None or video.deleted_at is not None:
        raise video_not_found(video_id)
    return video


def organization_names(session: Session, videos: Iterable[Video]) -> dict[str, str]:
    """The names of the videos' organizations, by id: one query for a whole page."""
    ids = {video.organization_id for video in videos}
    if not ids:
        return {}
    found = session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids)))
    return {org_id: name for org_id, name in found}
