"""Numbers about webhook delivery for the metrics endpoint, read from the database at scrape time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from videogen.webhooks.tables import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint


@dataclass(frozen=True)
class WebhookStats:
    pending: int  # deliveries not yet sent, or retrying
    oldest_due_at: datetime | None  # when the most overdue pending delivery fell due
    disabled_endpoints: int


def webhook_stats(session: Session, now: datetime) -> WebhookStats:
    pending = session.scalar(select(func.count()).where(WebhookDelivery.status == WebhookDeliveryStatus.PENDING))
    oldest_due = session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now
        )
    )
    disabled = session.scalar(
        select(func.count()).where(WebhookEndpoint.enabled.is_(False), WebhookEndpoint.deleted_at.is_(None))
    )
    return WebhookStats(pending=pending or 0, oldest_due_at=oldest_due, disabled_endpoints=disabled or 0)
