"""Webhook endpoints: where an organization wants its events (``client.webhooks.*`` in the
``openai`` SDK), and the rules every destination URL must pass (``videogen.outbound.url_policy``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from videogen.accounts.tables import Organization
from videogen.database import utcnow
from videogen.errors import InvalidRequestError, NotFoundError
from videogen.ids import new_id
from videogen.outbound.url_policy import WebhookURLError, WebhookURLPolicy
from videogen.pagination import Page, paginate
from videogen.secret_box import SecretBox
from videogen.webhooks.events import EVENT_TYPES, TERMINAL_EVENT_TYPES
from videogen.webhooks.signing import check_overlap, new_signing_secret, secret_hint
from videogen.webhooks.tables import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

MAX_ENDPOINTS_PER_ORGANIZATION = 16


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
    overlap = check_overlap(overlap)
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
