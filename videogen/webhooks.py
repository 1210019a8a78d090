"""Webhooks, the domain side: endpoints, signing secrets, events and their deliveries.

Events are written by the job state machine (``videogen.jobs.transition``) in the same transaction
that changes the job: an event row with the exact bytes receivers will get, and one delivery row per
destination (an outbox). Sending is someone else's job (``videogen.webhook_delivery``): a crash
between the job's commit and the send loses nothing, because the rows are already there.

Signing follows the Standard Webhooks spec (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``; secrets ``whsec_<base64>``), so receivers verify with the
``standardwebhooks`` library or the ``openai`` SDK's ``client.webhooks.unwrap``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from videogen import outbox
from videogen.errors import InvalidRequestError, NotFoundError
from videogen.ids import new_id
from videogen.orm import (
    Organization,
    Video,
    VideoStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from videogen.pagination import Page, paginate
from videogen.secret_box import SecretBox
from videogen.video_object import to_video_object, unix
from videogen.webhook_security import WebhookURLError, WebhookURLPolicy

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
MAX_ROTATION_OVERLAP = timedelta(days=7)
MAX_ENDPOINTS_PER_ORGANIZATION = 16


# --- secrets and signatures ----------------------------------------------------------------------


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_hint(secret: str) -> str:
    """Enough of a secret to tell which one a receiver has, not enough to sign with."""
    return f"{secret[:10]}…{secret[-4:]}"


def signature_headers(
    message_id: str, timestamp: datetime, body: str, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers. During a rotation's overlap there are several secrets
    and one signature per secret, space-separated: receivers with either secret verify."""
    signatures = " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in signing_secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }


def _active_secrets(
    box: SecretBox, current: str | None, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    found = [box.decrypt(current)] if current else []
    if previous and previous_expires_at is not None and previous_expires_at > now:
        found.append(box.decrypt(previous))
    return found


def endpoint_secrets(box: SecretBox, endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    return _active_secrets(
        box,
        endpoint.secret_ciphertext,
        endpoint.previous_secret_ciphertext,
        endpoint.previous_secret_expires_at,
        now or utcnow(),
    )


def organization_secrets(box: SecretBox, org: Organization, now: datetime | None = None) -> list[str]:
    return _active_secrets(
        box,
        org.webhook_secret_ciphertext,
        org.webhook_previous_secret_ciphertext,
        org.webhook_previous_secret_expires_at,
        now or utcnow(),
    )


def _overlap(overlap: timedelta) -> timedelta:
    if not timedelta(0) <= overlap <= MAX_ROTATION_OVERLAP:
        raise InvalidRequestError(
            f"The overlap of a secret rotation must be between 0 and {MAX_ROTATION_OVERLAP.days} days.",
            param="overlap_seconds",
        )
    return overlap


@dataclass(frozen=True)
class OrganizationSecret:
    secret: str | None  # only right after creation or rotation
    hint: str
    created_at: datetime
    previous_secret_expires_at: datetime | None


def rotate_organization_secret(
    session: Session, box: SecretBox, org: Organization, overlap: timedelta
) -> OrganizationSecret:
    """Create (or replace) the secret that signs deliveries to videos' own ``webhook_url``.

    With an overlap, the old secret keeps signing alongside the new one until it passes."""
    now = utcnow()
    overlap = _overlap(overlap)
    secret = new_signing_secret()
    if org.webhook_secret_ciphertext and overlap:
        org.webhook_previous_secret_ciphertext = org.webhook_secret_ciphertext
        org.webhook_previous_secret_expires_at = now + overlap
    else:
        org.webhook_previous_secret_ciphertext = None
        org.webhook_previous_secret_expires_at = None
    org.webhook_secret_ciphertext = box.encrypt(secret)
    org.webhook_secret_hint = secret_hint(secret)
    org.webhook_secret_created_at = now
    session.flush()
    return OrganizationSecret(secret, org.webhook_secret_hint, now, org.webhook_previous_secret_expires_at)


def organization_secret(org: Organization) -> OrganizationSecret:
    if not org.webhook_secret_ciphertext or org.webhook_secret_created_at is None:
        raise NotFoundError(
            "Your organization has no webhook signing secret yet; create one with POST /v1/webhook_secret.",
            code="webhook_secret_missing",
        )
    return OrganizationSecret(
        None, org.webhook_secret_hint or "", org.webhook_secret_created_at, org.webhook_previous_secret_expires_at
    )


# --- endpoints -----------------------------------------------------------------------------------


def check_url(policy: WebhookURLPolicy, url: str, param: str) -> str:
    """Refuse, with the reason, a URL that deliveries could never reach (or must never reach)."""
    try:
        policy.resolve(url)
    except WebhookURLError as exc:
        raise InvalidRequestError(f"{exc}.", param=param, code="invalid_webhook_url") from None
    return url.strip()


def check_event_types(event_types: Sequence[str], param: str) -> None:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise InvalidRequestError(
            f"Unknown event type(s): {', '.join(unknown)}. Available: {', '.join(EVENT_TYPES)}.",
            param=param,
            code="invalid_event_type",
        )


def check_video_webhook_url(policy: WebhookURLPolicy, org: Organization, url: str) -> str:
    """A video's own ``webhook_url``: reachable, and signable (the organization has a secret)."""
    if not org.webhook_secret_ciphertext:
        raise InvalidRequestError(
            "webhook_url deliveries are signed with your organization's webhook secret, and it has none yet: "
            "create it once with POST /v1/webhook_secret.",
            param="webhook_url",
            code="webhook_secret_missing",
        )
    return check_url(policy, url, "webhook_url")


def _event_types(event_types: Sequence[str] | None) -> list[str]:
    if event_types is None:
        return list(TERMINAL_EVENT_TYPES)
    check_event_types(event_types, "event_types")
    if not event_types:
        raise InvalidRequestError("event_types must name at least one event type.", param="event_types")
    return list(dict.fromkeys(event_types))


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str


def create_endpoint(
    session: Session,
    box: SecretBox,
    policy: WebhookURLPolicy,
    organization_id: str,
    *,
    url: str,
    event_types: Sequence[str] | None,
    name: str,
) -> CreatedEndpoint:
    live = session.scalars(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.organization_id == organization_id, WebhookEndpoint.deleted_at.is_(None)
        )
    ).all()
    if len(live) >= MAX_ENDPOINTS_PER_ORGANIZATION:
        raise InvalidRequestError(
            f"An organization can have at most {MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints.",
            code="too_many_webhook_endpoints",
        )
    secret = new_signing_secret()
    endpoint = WebhookEndpoint(
        id=new_id("whep"),
        organization_id=organization_id,
        name=name,
        url=check_url(policy, url, "url"),
        event_types=_event_types(event_types),
        secret_ciphertext=box.encrypt(secret),
        secret_hint=secret_hint(secret),
        enabled=True,
    )
    session.add(endpoint)
    session.flush()
    return CreatedEndpoint(endpoint, secret)


def get_endpoint(session: Session, organization_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.organization_id != organization_id or endpoint.deleted_at is not None:
        raise NotFoundError(f"No webhook endpoint found with id '{endpoint_id}'.", param="webhook_endpoint_id")
    return endpoint


def list_endpoints(
    session: Session, organization_id: str | None, *, after: str | None = None, limit: int = 100
) -> Page[WebhookEndpoint]:
    """An organization's live endpoints, newest first (every organization's, for the operator: None)."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    if organization_id is not None:
        query = query.where(WebhookEndpoint.organization_id == organization_id)
    return paginate(session, query, WebhookEndpoint.id, after=after, limit=limit)


def update_endpoint(
    session: Session,
    policy: WebhookURLPolicy,
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    name: str | None = None,
    event_types: Sequence[str] | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    changed = False
    if url is not None and url != endpoint.url:
        endpoint.url, changed = check_url(policy, url, "url"), True
    if name is not None and name != endpoint.name:
        endpoint.name, changed = name, True
    if event_types is not None and list(event_types) != endpoint.event_types:
        endpoint.event_types, changed = _event_types(event_types), True
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled, changed = enabled, True
        if enabled:  # the owner fixed the receiver: start counting failures afresh
            endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
        else:
            endpoint.disabled_reason, endpoint.disabled_at = "disabled by its owner", utcnow()
    if changed:
        endpoint.updated_at = utcnow()
    session.flush()
    return endpoint


def rotate_endpoint_secret(session: Session, box: SecretBox, endpoint: WebhookEndpoint, overlap: timedelta) -> str:
    """A new signing secret; with an overlap the old one also signs until then, so a receiver can
    switch without missing an event."""
    now = utcnow()
    overlap = _overlap(overlap)
    secret = new_signing_secret()
    if overlap:
        endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
        endpoint.previous_secret_expires_at = now + overlap
    else:
        endpoint.previous_secret_ciphertext = endpoint.previous_secret_expires_at = None
    endpoint.secret_ciphertext = box.encrypt(secret)
    endpoint.secret_hint = secret_hint(secret)
    endpoint.updated_at = now
    session.flush()
    return secret


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Stop sending to it at once: its pending deliveries end ``failed``; the log stays readable."""
    now = utcnow()
    endpoint.deleted_at = endpoint.updated_at = now
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
        .values(status=WebhookDeliveryStatus.FAILED, last_error="the webhook endpoint was deleted", completed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()


# --- events --------------------------------------------------------------------------------------


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
    outbox.publish_after_commit(session, delivery_ids)
    return delivery_ids


# --- the delivery log ----------------------------------------------------------------------------


def list_deliveries(
    session: Session,
    organization_id: str | None,
    *,
    endpoint_id: str | None = None,
    video_id: str | None = None,
    after: str | None = None,
    limit: int = 20,
) -> Page[WebhookDelivery]:
    """Deliveries, newest first, of one organization (every organization's, for the operator: None)."""
    query = select(WebhookDelivery)
    if organization_id is not None:
        query = query.where(WebhookDelivery.organization_id == organization_id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if video_id is not None:
        query = query.join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id).where(
            WebhookEvent.video_id == video_id
        )
    return paginate(session, query, WebhookDelivery.id, after=after, limit=limit)


def get_delivery(session: Session, organization_id: str | None, delivery_id: str) -> WebhookDelivery:
    """A delivery of ``organization_id`` (any organization's, for the operator: None)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or (organization_id is not None and delivery.organization_id != organization_id):
        raise NotFoundError(f"No webhook delivery found with id '{delivery_id}'.", param="delivery_id")
    return delivery


def redeliver(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again, whatever became of it, with the same ``webhook-id`` and a fresh
    retry schedule."""
    if delivery.endpoint_id is not None:
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or endpoint.deleted_at is not None:
            raise InvalidRequestError(
                "The endpoint of this delivery was deleted.", param="delivery_id", code="webhook_endpoint_deleted"
            )
        if not endpoint.enabled:
            raise InvalidRequestError(
                f"The endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}); enable it first.",
                param="delivery_id",
                code="webhook_endpoint_disabled",
            )
    now = utcnow()
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id)
        .values(
            status=WebhookDeliveryStatus.PENDING,
            series_attempts=0,
            next_attempt_at=now,
            lease_expires_at=None,
            dispatched_at=None,
            completed_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(delivery)
    outbox.publish_after_commit(session, [delivery.id])
    return delivery
