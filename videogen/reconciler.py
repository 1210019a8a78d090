"""Run ``jobs.reconcile`` with this deployment's settings, database and broker."""

from __future__ import annotations

from datetime import timedelta

from videogen import jobs
from videogen.db import session_scope
from videogen.queue import dispatch_generation
from videogen.settings import Settings


def reconcile_once(settings: Settings) -> jobs.ReconcileReport:
    with session_scope(settings.database_url) as session:
        return jobs.reconcile(
            session,
            dispatch=lambda video_id, model: dispatch_generation(settings, video_id, model),
            redispatch_after=timedelta(seconds=settings.redispatch_after_seconds),
            stale_after=timedelta(seconds=settings.stale_after_seconds),
            max_attempts=settings.max_attempts,
        )
