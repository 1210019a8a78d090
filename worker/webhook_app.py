"""The webhook workers' Celery application: ``videogen webhook-worker``.

Separate from the GPU workers on purpose: a receiver that is slow or never answers holds one of
this process's threads for at most the delivery timeout, and never a GPU or a generation job. It
imports no torch, so it is cheap to run anywhere (next to the API, say) and to scale on its own.
"""

from __future__ import annotations

from functools import lru_cache

from celery.signals import setup_logging, worker_init, worker_shutdown
from prometheus_client import start_http_server

from videogen import broker, database, tracing
from videogen.broker import DELIVER_WEBHOOK_TASK, make_celery
from videogen.logs import configure_logging, log_context
from videogen.settings import get_settings
from videogen.webhooks.sender import WebhookSender, schedule_retry
from worker import webhook_metrics

settings = get_settings()
tracing.configure_tracing(settings, "videogen-webhooks")  # before any engine is made
app = make_celery(settings)
database.configure(settings)  # connect and pool timeouts: a database that does not answer costs bounded waits
broker.enable(settings)


@lru_cache(maxsize=1)
def get_sender() -> WebhookSender:
    return WebhookSender(settings)


@setup_logging.connect
def _configure_logging(**_: object) -> None:
    """Celery leaves the root logger to us (``worker.celery_app``): LOG_FORMAT, delivery ids."""
    configure_logging(settings)


@worker_shutdown.connect
def _flush_traces(**_: object) -> None:
    """The spans still buffered go out before the process ends (``videogen.tracing``)."""
    tracing.flush_tracing()


@worker_init.connect
def _start_metrics_server(**_: object) -> None:
    """Deliveries by outcome and their latency (``worker.webhook_metrics``), for Prometheus."""
    if settings.webhook_metrics_port:
        start_http_server(settings.webhook_metrics_port)


@app.task(name=DELIVER_WEBHOOK_TASK)
def deliver_webhook(delivery_id: str) -> str:
    with log_context(delivery_id=delivery_id):
        return _deliver(delivery_id)


def _deliver(delivery_id: str) -> str:
    outcome = get_sender().deliver(delivery_id)
    webhook_metrics.record(outcome)
    schedule_retry(settings, outcome)
    return outcome.status if outcome is not None else "not due"
