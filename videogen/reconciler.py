"""Housekeeping with this deployment's settings, database, broker and storage."""

from __future__ import annotations

from datetime import timedelta

from videogen import jobs
from videogen.admission import purge_idempotency_keys
from videogen.db import session_scope
from videogen.queue import dispatch_generation, dispatch_webhook
from videogen.settings import Settings
from videogen.storage import Storage, storage_from_settings
from videogen.videos import purge_expired_assets
from videogen.webhook_delivery import purge_delivery_log, sweep


def reconcile_once(settings: Settings, storage: Storage | None = None) -> jobs.ReconcileReport:
    """One round: recover lost jobs, re-send webhook deliveries whose nudge was lost, delete the files
    of expired videos, forget old idempotency keys and old webhook logs."""
    with session_scope(settings.database_url) as session:
        report = jobs.reconcile(
            session,
            dispatch=lambda video_id, model: dispatch_generation(settings, video_id, model),
            redispatch_after=timedelta(seconds=settings.redispatch_after_seconds),
            stale_after=timedelta(seconds=settings.stale_after_seconds),
            max_attempts=settings.max_attempts,
        )
        report.webhooks_resent = sweep(
            session,
            lambda delivery_id: dispatch_webhook(settings, delivery_id),
            redispatch_after=timedelta(seconds=settings.redispatch_after_seconds),
        )
        report.expired = purge_expired_assets(session, storage or storage_from_settings(settings))
        purge_idempotency_keys(session, timedelta(hours=settings.idempotency_ttl_hours))
        purge_delivery_log(session, timedelta(days=settings.webhook_log_retention_days))
    return report
