"""The FastAPI application: ``uvicorn --factory api.app:create_app`` (or ``videogen serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import make_url

from api.console import install_console
from api.docs import install_docs
from api.errors import install_error_handlers, unexpected_error
from api.events import end_streams_on_signals
from api.limits import BodyLimit, ConcurrencyLimit, LastResort, body_limit_for
from api.metrics import HttpMetrics
from api.openapi import install_openapi
from api.options import install_options
from api.request_ids import RequestIds
from api.routes import access_requests, admin, models, system, usage, videos, webhooks
from model import ModelRegistry
from videogen import broker, database
from videogen.accounts.ratelimit import rate_limiter_for
from videogen.accounts.tiers import load_tiers
from videogen.housekeeping import reconcile_once
from videogen.logs import configure_logging
from videogen.outbound.url_policy import url_policy
from videogen.secret_box import secret_box
from videogen.settings import Settings, get_settings
from videogen.storage import Storage, storage_from_settings
from videogen.tracing import configure_tracing, flush_tracing, instrument_app, span
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.submission import VideoSubmitter
from videogen.videos.watcher import VideoWatcher

log = logging.getLogger(__name__)


async def _reconcile_forever(settings: Settings, storage: Storage) -> None:
    """Re-send jobs the broker lost, requeue those of dead workers, re-send lost webhook nudges
    and delete expired files (``videogen.housekeeping``). Every replica runs it; each step is
    idempotent."""
    while True:
        await asyncio.sleep(settings.reconcile_interval_seconds)
        try:
            with span("videogen.reconcile"):  # one trace a round, not one per statement
                await run_in_threadpool(reconcile_once, settings, storage)
        except Exception:  # noqa: BLE001 - keep trying; the next round may succeed
            log.warning("reconcile failed", exc_info=True)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "serving %s with %s, %s broker and %s storage",
            ", ".join(settings.models),
            make_url(settings.database_url).get_backend_name(),
            "embedded" if settings.is_embedded_broker else make_url(settings.broker_url).get_backend_name(),
            settings.storage_backend,
        )
        task = None
        if settings.reconcile_interval_seconds > 0:
            task = asyncio.create_task(_reconcile_forever(settings, app.state.storage))
        # SIGTERM ends event streams and waits at once: the server's graceful shutdown waits for them.
        app.state.video_watcher.open()
        restore_signals = end_streams_on_signals(app.state.video_watcher)
        yield
        restore_signals()
        await app.state.video_watcher.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        flush_tracing()

    app = FastAPI(
        title="videogen",
        version="0.1.0",
        description=(
            "Self-hosted text-to-video generation with OpenAI's Videos API wire format. "
            "Authenticate with `Authorization: Bearer <key>`."
        ),
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load their files from CDNs; api.docs serves them from the package
        redoc_url=None,
    )
    app.state.settings = settings
    # Our loggers (the reconciler's rounds, outages, webhook sends) at LOG_LEVEL, in LOG_FORMAT, with
    # uvicorn's own and its access log (videogen.logs); then tracing, before any engine is made.
    configure_logging(settings)
    configure_tracing(settings, "videogen-api")
    database.configure(settings)  # the pool is sized for the requests admitted below (api.limits)
    broker.enable(settings)  # new jobs and webhook deliveries are announced as soon as they commit
    app.state.storage = storage_from_settings(settings)
    app.state.registry = ModelRegistry.from_file(settings.models_file)
    app.state.tiers = load_tiers(settings.tiers_file)
    app.state.rate_limiter = rate_limiter_for(settings)
    app.state.secret_box = secret_box(settings)
    app.state.webhook_policy = url_policy(settings)
    app.state.queue_positions = QueuePositions(
        exact_within=settings.queue_position_exact_within, max_age_seconds=settings.queue_snapshot_max_age_seconds
    )
    # One reader of the videos this process's clients follow (event streams, Prefer: wait).
    app.state.video_watcher = VideoWatcher(
        settings.database_url,
        app.state.queue_positions,
        poll_interval=settings.events_poll_interval_seconds,
        max_subscriptions=settings.events_max_streams,
    )
    app.state.submitter = VideoSubmitter(
        settings,
        app.state.registry,
        app.state.tiers,
        app.state.rate_limiter,
        app.state.webhook_policy,
        app.state.storage,
    )
    install_error_handlers(app)
    # Outermost last: a request waits for a slot, then its body is bounded as it is read, and any
    # exception that no handler mapped is answered without dropping the connection.
    app.add_middleware(LastResort, classify=unexpected_error)
    app.add_middleware(
        BodyLimit,
        limit_for=body_limit_for(
            settings.api_max_body_bytes,
            {("POST", "/v1/videos"): videos.create_body_limit(settings)},
        ),
    )
    app.add_middleware(
        ConcurrencyLimit,
        max_in_flight=settings.api_max_concurrent_requests,
        max_queued=settings.api_max_queued_requests,
        queue_timeout=settings.api_queue_timeout_seconds,
    )
    # Outside every answer of ours, LastResort's included: each carries the request's id.
    app.add_middleware(RequestIds)
    # Outside the request queue: a request is timed from its arrival, and a 503 "busy" is counted.
    app.add_middleware(HttpMetrics, routes=app.router.routes)
    app.include_router(videos.router)
    app.include_router(models.router)
    app.include_router(webhooks.router)
    app.include_router(usage.router)
    app.include_router(access_requests.router)
    app.include_router(admin.router)
    app.include_router(system.router)
    install_docs(app)  # /docs, /redoc and their assets
    install_console(app)  # /console: the web console, files from the package
    install_options(app)  # OPTIONS on every path, from the routes above
    install_openapi(app)
    instrument_app(app)
    return app
