"""The delivery log: every delivery with every attempt, for its owner and the operator, and
redelivery (same ``webhook-id``, a fresh retry schedule)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from videogen.database import utcnow
from videogen.errors import InvalidRequestError, NotFoundError
from videogen.pagination import Page, paginate
from videogen.webhooks import outbox
from videogen.webhooks.tables import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEvent


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
            # A lease held by a sender stays: the delivery is never sent twice at once, and the
            # in-flight attempt's outcome is recorded as usual.
            dispatched_at=None,
            completed_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(delivery)
    outbox.relay_after_commit(session, [delivery.id])
    return delivery
