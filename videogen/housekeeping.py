"""Housekeeping, one round at a time: the reconciler that every API replica runs every
``RECONCILE_INTERVAL_SECONDS`` (and ``videogen reconcile`` runs once).

A named batch job across the three domains. Each step is idempotent, so replicas may run it at the
same time; steps that send nudges or delete files commit per batch (they say so), and the rest
commits with the round.
"""

from __future__ import annotations

from datetime import timedelta

from videogen import broker
from videogen.database import session_scope
from videogen.settings import Settings
from videogen.storage import Storage, storage_from_settings
from videogen.videos.admission import purge_idempotency_keys
from videogen.videos.assets import purge_expired_assets
from videogen.videos.dispatch import dispatch_generation, resend_lost_nudges
from videogen.videos.reconciler import ReconcileReport, reconcile
from videogen.webhooks.outbox import dispatch_webhook, purge_delivery_log, sweep


def reconcile_once(settings: Settings, storage: Storage | None = None) -> ReconcileReport:
    """Recover lost jobs, re-send the nudges a flushed or restarted broker lost, re-send webhook
    deliveries whose nudge was lost, delete the files of
    expired videos, forget old idempotency keys and old webhook logs."""
    storage = storage or storage_from_settings(settings)
    with session_scope(settings.database_url) as session:
        report = reconcile(
            session,
            dispatch=lambda video_id, model: dispatch_generation(settings, video_id, model),
            stale_after=timedelta(seconds=settings.stale_after_seconds),
            max_attempts=settings.max_attempts,
            storage=storage,
        )
        report.redispatched += resend_lost_nudges(
            session, settings, depth=lambda queue: broker.queue_depth(settings, queue)
        )
        report.webhooks_resent = sweep(
            session,
            lambda delivery_id: dispatch_webhook(settings, delivery_id),
            redispatch_after=timedelta(seconds=settings.redispatch_after_seconds),
        )
        report.expired = purge_expired_assets(session, storage)
        purge_idempotency_keys(session, timedelta(hours=settings.idempotency_ttl_hours))
        purge_delivery_log(session, timedelta(days=settings.webhook_log_retention_days))
    return report
