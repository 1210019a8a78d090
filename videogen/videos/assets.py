"""A video's files: where each attempt writes them, and when they are deleted.

Each run of a job writes under its own prefix, so a run that was given up on (its worker looked
dead) can clean up after itself without touching the files of the run that won.

An attempt's files are orphans once the attempt can no longer complete: it was requeued, failed or
cancelled, or a later attempt was claimed (the attempt guard refuses its completion). Three parties
delete them, each best effort, so that one of them failing (storage down, a process killed) leaves
nothing behind for long: the worker of a run that ends without completing deletes its own prefix;
the reconciler deletes the prefixes of the attempts it requeues or fails (their workers are dead);
and the worker that claims attempt N deletes the prefixes of attempts before N, a backstop for the
other two that is safe because attempt N's claim is committed (no earlier attempt can complete).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from videogen.database import utcnow
from videogen.storage import Storage
from videogen.videos.tables import Video, VideoStatus

log = logging.getLogger(__name__)

Variant = Literal["video", "thumbnail", "spritesheet"]
CONTENT_TYPES: dict[str, str] = {"video": "video/mp4", "thumbnail": "image/jpeg", "spritesheet": "image/jpeg"}
FILENAMES: dict[str, str] = {"video": "video.mp4", "thumbnail": "thumbnail.jpg", "spritesheet": "spritesheet.jpg"}
EXTENSIONS: dict[str, str] = {"video": "mp4", "thumbnail": "jpg", "spritesheet": "jpg"}


def video_prefix(video_id: str) -> str:
    """Everything stored for a video, every attempt's files included."""
    return f"{video_id}/"


def attempt_prefix(video_id: str, attempt: int) -> str:
    return f"{video_prefix(video_id)}attempt-{attempt}/"


def asset_key(video_id: str, attempt: int, variant: Variant) -> str:
    return attempt_prefix(video_id, attempt) + FILENAMES[variant]


def delete_attempts(storage: Storage, video_id: str, attempts: Iterable[int]) -> bool:
    """Delete the files of ``attempts`` of a video (never its input image or other attempts');
    False (logged) if storage refused: orphaned files are not worth failing anything over."""
    try:
        for attempt in attempts:
            storage.delete_prefix(attempt_prefix(video_id, attempt))
    except Exception:  # noqa: BLE001 - best effort; another party (see the module) deletes them too
        log.warning("could not delete the files of abandoned attempts of %s", video_id, exc_info=True)
        return False
    return True


def input_image_key(video_id: str) -> str:
    """The client's image (fitted to the video's size), kept with the job until it is deleted."""
    return f"{video_prefix(video_id)}input/reference.png"


def purge_expired_assets(session: Session, storage: Storage, now: datetime | None = None) -> list[str]:
    """Delete the files of videos past ``expires_at``; their records stay (with status
    ``completed``) so clients still see what they made and when it expired.

    A batch job: it commits after each video, once its files are gone, so an interrupted purge
    never forgets files it has not deleted yet.
    """
    now = now or utcnow()
    expired = list(
        session.scalars(
            select(Video.id).where(
                Video.status == VideoStatus.COMPLETED, Video.video_key.is_not(None), Video.expires_at <= now
            )
        )
    )
    for video_id in expired:
        storage.delete_prefix(video_prefix(video_id))
        session.execute(
            update(Video)
            .where(Video.id == video_id)
            .values(video_key=None, thumbnail_key=None, spritesheet_key=None, input_image_key=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return expired
