"""Events: what happened to a video, frozen into the exact bytes receivers will get.

The job state machine (``videogen.videos.jobs.transition``) records an event in the same
transaction that changes the job: an event row, and one delivery row per destination (the outbox).
Sending is someone else's job (``videogen.webhooks.sender``): a crash between the job's commit and
the send loses nothing, because the rows are already there, and the nudge to the webhook workers
goes out only after the commit (``videogen.webhooks.outbox``).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from videogen.database import utcnow
from videogen.ids import new_id
from videogen.videos.objects import to_video_object, unix
from videogen.videos.tables import Video, VideoStatus
from videogen.webhooks import outbox
from videogen.webhooks.tables import WebhookDelivery, WebhookEndpoint, WebhookEvent

VIDEO_COMPLETED = "video.completed"
VIDEO_FAILED = "video.failed"
VIDEO_CANCELLED = "video.cancelled"
VIDEO_IN_PROGRESS = "video.in_progress"
EVENT_TYPES = (VIDEO_COMPLETED, VIDEO_FAILED, VIDEO_CANCELLED, VIDEO_IN_PROGRESS)
# What an endpoint gets when it names no event types, and all a video's own webhook_url ever gets:
# the end of the job. ``video.in_progress`` is sent only to endpoints that ask for it.
TERMINAL_EVENT_TYPES = (VIDEO_COMPLETED, VIDEO_FAILED, VIDEO_CANCELLED)
EVENT_FOR_STATUS: dict[VideoStatus, str] = {
    VideoStatus.IN_PROGRESS: VIDEO_IN_PROGRESS,
    VideoStatus.COMPLETED: VIDEO_COMPLETED,
    VideoStatus.FAILED: VIDEO_FAILED,
    VideoStatus.CANCELLED: VIDEO_CANCELLED,
}
STATUS_FOR_EVENT: dict[str, VideoStatus] = {event: status for status, event in EVENT_FOR_STATUS.items()}


def event_payload(event_id: str, event_type: str, created_at: datetime, data: dict[str, object]) -> str:
    """The body every receiver gets, shaped like OpenAI's webhook events."""
    body = {"id": event_id, "object": "event", "type": event_type, "created_at": unix(created_at), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def record_video_event(session: Session, video_id: str, event_type: str) -> list[str]:
    """Freeze the video as it is now into an event, and queue a delivery to each destination that
    wants it: the organization's enabled endpoints subscribed to the type and, for the end of a
    job, the video's own ``webhook_url``. Runs inside the caller's transaction (the outbox)."""
    video = session.execute(
        select(Video).where(Video.id == video_id).execution_options(populate_existing=True)
    ).scalar_one()
    endpoints = [
        e
        for e in session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.organization_id == video.organization_id,
                WebhookEndpoint.enabled.is_(True),
                WebhookEndpoint.deleted_at.is_(None),
            )
        )
        if event_type in e.event_types
    ]
    destinations: list[tuple[str | None, str]] = [(e.id, e.url) for e in endpoints]
    if video.webhook_url and event_type in TERMINAL_EVENT_TYPES:
        destinations.append((None, video.webhook_url))
    if not destinations:
        return []

    now = utcnow()
    event_id = new_id("evt")
    data = to_video_object(video).model_dump(mode="json")
    session.add(
        WebhookEvent(
            id=event_id,
            organization_id=video.organization_id,
            video_id=video.id,
            type=event_type,
            payload=event_payload(event_id, event_type, now, data),
            created_at=now,
        )
    )
    delivery_ids = []
    for endpoint_id, url in destinations:
        delivery_id = new_id("msg")
        session.add(
            WebhookDelivery(
                id=delivery_id,
                organization_id=video.organization_id,
                event_id=event_id,
                endpoint_id=endpoint_id,
                url=url,
                next_attempt_at=now,
                created_at=now,
            )
        )
        delivery_ids.append(delivery_id)
    session.flush()
    outbox.relay_after_commit(session, delivery_ids)
    return delivery_ids
