"""The transactional outbox's relay: once a transaction that queued webhook deliveries commits,
tell the webhook workers; and the sweep that re-sends what that missed.

Deliveries are rows written in the same transaction as the job change that caused them
(``videogen.webhooks.events``). Only once that transaction has committed may a sender hear of them
(before, it could find nothing, or send an event for a change that was then rolled back), so the
nudge is an ``after_commit`` action. The nudge is an optimisation, not the guarantee: if the process
dies right after the commit, or the broker is down, the reconciler's ``sweep`` finds the pending
rows and sends them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from videogen import broker
from videogen.database import after_commit, rows_affected, session_scope, utcnow
from videogen.settings import Settings
from videogen.webhooks.tables import WebhookDelivery, WebhookDeliveryStatus, WebhookEvent

log = logging.getLogger(__name__)

SWEEP_BATCH = 500


def dispatch_webhook(settings: Settings, delivery_id: str, countdown: float = 0.0) -> bool:
    """Nudge a webhook worker to send ``delivery_id`` (after ``countdown`` seconds); False if the
    broker could not take it (the sweep sends it later)."""
    return broker.send(settings, broker.DELIVER_WEBHOOK_TASK, delivery_id, broker.WEBHOOK_QUEUE, countdown)


def mark_dispatched(session: Session, delivery_ids: Sequence[str], expected_at: datetime) -> None:
    """Note when the broker should hand these to a webhook worker, so the sweep leaves them be
    until that looks lost."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(list(delivery_ids)), WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
        .values(dispatched_at=expected_at)
        .execution_options(synchronize_session=False)
    )


def relay(settings: Settings, delivery_ids: Sequence[str], countdown: float = 0.0) -> None:
    """Tell the webhook workers about ``delivery_ids`` now (to send after ``countdown`` seconds),
    and record it in a unit of work of its own."""
    sent = [d for d in delivery_ids if dispatch_webhook(settings, d, countdown=countdown)]
    if sent:
        with session_scope(settings.database_url) as session:
            mark_dispatched(session, sent, utcnow() + timedelta(seconds=countdown))


def relay_after_commit(session: Session, delivery_ids: Sequence[str]) -> None:
    """Relay ``delivery_ids`` once this transaction commits, if this process sends nudges
    (``videogen.broker.enable``); otherwise the sweep sends them."""
    settings = broker.enabled_settings()
    if settings is None or not delivery_ids:
        return
    pending = list(delivery_ids)
    after_commit(session, lambda: relay(settings, pending))


def sweep(
    session: Session, dispatch: Callable[[str], bool], redispatch_after: timedelta, now: datetime | None = None
) -> list[str]:
    """Nudge every due delivery whose nudge never went out or looks lost (the process died after
    its commit, the broker dropped the message), or whose sender died holding the lease: that one
    is nudged as soon as the lease has run out, not ``redispatch_after`` later.

    A batch job: it records the nudges it sent and commits, up to ``SWEEP_BATCH`` at a time.
    """
    now = now or utcnow()
    lease = WebhookDelivery.lease_expires_at
    nudged = WebhookDelivery.dispatched_at
    nudge_looks_lost = nudged.is_(None) | (nudged < now - redispatch_after)
    # A sender took it and died: its lease has run out, and nobody has been nudged since.
    sender_died = lease.is_not(None) & (lease < now) & (nudged.is_(None) | (nudged < lease))
    due = session.scalars(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            lease.is_(None) | (lease < now),
            nudge_looks_lost | sender_died,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(SWEEP_BATCH)
    ).all()
    sent = [d for d in due if dispatch(d)]
    if sent:
        mark_dispatched(session, sent, now)
        session.commit()
        log.info("webhook sweep re-sent %d deliveries", len(sent))
    return sent


def purge_delivery_log(session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete events (with their deliveries and attempts) older than ``older_than`` that have
    nothing left to send. Part of the reconciler's housekeeping; the caller commits."""
    cutoff = (now or utcnow()) - older_than
    still_pending = select(WebhookDelivery.event_id).where(WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
    result = session.execute(
        delete(WebhookEvent)
        .where(WebhookEvent.created_at < cutoff, WebhookEvent.id.not_in(still_pending))
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result)
