"""Health checks and Prometheus metrics, for load balancers and operators (no API key)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC
from functools import lru_cache

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from api.deps import SettingsDep, UnitOfWorkRoute
from api.metrics import process_metrics
from api.schemas import ErrorResponse
from videogen.database import session_scope, utcnow
from videogen.errors import ServiceUnavailableError
from videogen.settings import Settings
from videogen.videos.stats import job_stats
from videogen.webhooks.stats import webhook_stats

router = APIRouter(route_class=UnitOfWorkRoute, tags=["system"])


# Readiness waits this long for the database at most: a load balancer's probe must get an answer.
READINESS_TIMEOUT_SECONDS = 3.0


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """On the event loop, touching nothing: it answers while every thread, connection and
    dependency is busy or down, so an orchestrator never restarts a process for a database outage."""
    return {"status": "ok"}


@lru_cache(maxsize=4)
def _probe_engine(database_url: str, connect_timeout: float) -> Engine:
    """A connection of its own for each probe (no pool), so readiness neither waits for the
    requests' pool nor holds one of its connections."""
    url = make_url(database_url)
    args: dict[str, object] = {"connect_timeout": max(1, round(connect_timeout))}
    if url.get_backend_name() == "sqlite":
        args = {"timeout": connect_timeout}
    return create_engine(url, poolclass=NullPool, connect_args=args)


def _database_answers(settings: Settings) -> None:
    with _probe_engine(settings.database_url, settings.database_connect_timeout_seconds).connect() as connection:
        connection.execute(text("SELECT 1"))


@router.get("/readyz", summary="Readiness: the database answers", responses={503: {"model": ErrorResponse}})
async def readyz(settings: SettingsDep) -> dict[str, str]:
    try:
        # A thread of the event loop's executor, not the requests' pool: busy requests don't delay it.
        await asyncio.wait_for(asyncio.to_thread(_database_answers, settings), READINESS_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - whatever the failure, the answer is "not ready"
        raise ServiceUnavailableError(
            f"The database is unavailable ({type(exc).__name__}).", code="database_unavailable"
        ) from None
    return {"status": "ok"}


class JobGaugeCollector(Collector):
    """Jobs by status and model, read from the database at scrape time: the database is the
    truth, and this stays right across API restarts and replicas."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with session_scope(self.settings.database_url) as session:
            stats = job_stats(session, self.settings.models, utcnow())
        gauge = GaugeMetricFamily(
            "videogen_jobs",
            "Jobs not yet finished, by status (queued, in_progress) and model; 0 for a served model without any.",
            labels=["status", "model"],
        )
        for (status, model), count in sorted(stats.active.items()):
            gauge.add_metric([status, model], count)
        yield gauge
        wait = GaugeMetricFamily(
            "videogen_oldest_queued_seconds",
            "Age of the oldest queued job per model (0 when none is queued): the signal to scale GPU workers on.",
            labels=["model"],
        )
        for model, seconds in sorted(stats.oldest_queued_seconds.items()):
            wait.add_metric([model], seconds)
        yield wait


class WebhookGaugeCollector(Collector):
    """The webhook backlog, from the database: pending deliveries, how overdue the oldest due one
    is (the signal that webhook workers are down or too few), and disabled endpoints."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        with session_scope(self.settings.database_url) as session:
            stats = webhook_stats(session, now)
        yield GaugeMetricFamily(
            "videogen_webhook_deliveries_pending", "Webhook deliveries not yet sent or retrying.", value=stats.pending
        )
        oldest_due = stats.oldest_due_at
        overdue = (now - oldest_due.replace(tzinfo=oldest_due.tzinfo or UTC)).total_seconds() if oldest_due else 0.0
        yield GaugeMetricFamily(
            "videogen_webhook_oldest_due_seconds",
            "How long the most overdue webhook delivery has been due: webhook workers are behind or down.",
            value=overdue,
        )
        yield GaugeMetricFamily(
            "videogen_webhook_endpoints_disabled",
            "Webhook endpoints disabled after failing.",
            value=stats.disabled_endpoints,
        )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(settings: SettingsDep) -> Response:
    registry = CollectorRegistry()
    registry.register(JobGaugeCollector(settings))
    registry.register(WebhookGaugeCollector(settings))
    # Gauges from the database, then the API processes' own counters (HTTP requests, rate-limit fallbacks).
    return Response(generate_latest(registry) + process_metrics(), media_type=CONTENT_TYPE_LATEST)
