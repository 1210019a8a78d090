"""The webhook workers' Celery application: ``videogen webhook-worker``.

Separate from the GPU workers on purpose: a receiver that is slow or never answers holds one of
this process's threads for at most the delivery timeout, and never a GPU or a generation job. It
imports no torch, so it is cheap to run anywhere (next to the API, say) and to scale on its own.
"""

from __future__ import annotations

from functools import lru_cache

from celery.signals import worker_init
from prometheus_client import start_http_server

from videogen.broker import DELIVER_WEBHOOK_TASK
from videogen.logs import log_context
from videogen.settings import get_settings
from videogen.webhooks.sender import WebhookSender, schedule_retry
from worker import webhook_metrics
from worker.process import celery_process

settings = get_settings()
app = celery_process(settings, "videogen-webhooks")


@lru_cache(maxsize=1)
def get_sender() -> WebhookSender:
    return WebhookSender(settings)


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
