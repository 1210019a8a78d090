"""Prometheus metrics of a webhook worker (served when VIDEOGEN_WEBHOOK_METRICS_PORT is set).

Apart from ``worker.metrics`` on purpose: a webhook worker runs no job, and the GPU worker's
gauges (``videogen_worker_ready`` among them) would report a 0 from every webhook worker.
The backlog (pending deliveries, the most overdue one, disabled endpoints) is read from the
database by the API's ``/metrics``; these are what the senders saw, attempt by attempt.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from videogen.webhooks.sender import Attempted
from videogen.webhooks.tables import WebhookDeliveryStatus

# The ``outcome`` label of ATTEMPTS, by the delivery's status after the attempt.
OUTCOMES = {
    WebhookDeliveryStatus.SUCCEEDED: "delivered",
    WebhookDeliveryStatus.PENDING: "retrying",  # failed, to be tried again
    # Failed for good: not retryable (a 4xx, say), retries used up, or the endpoint is disabled or deleted.
    WebhookDeliveryStatus.FAILED: "gave_up",
}

ATTEMPTS = Counter(
    "videogen_webhook_worker_attempts",
    "Webhook delivery attempts by outcome: delivered, retrying (failed, tried again later), gave_up (failed for "
    "good: not retryable, retries used up, or the endpoint disabled).",
    ["outcome"],
)
ATTEMPT_SECONDS = Histogram(
    "videogen_webhook_worker_attempt_seconds",
    "Seconds one delivery attempt's request took, connect to the end of the answer (or the timeout).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60),
)
DELIVERY_SECONDS = Histogram(
    "videogen_webhook_worker_delivery_seconds",
    "Seconds from an event to its successful delivery, retries included: what a receiver waits.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400),
)


def record(outcome: Attempted | None) -> None:
    """Count an attempt (``None``: the delivery was not due, or another sender held it)."""
    if outcome is None:
        return
    ATTEMPTS.labels(outcome=OUTCOMES[outcome.status]).inc()
    if outcome.attempt_seconds is not None:
        ATTEMPT_SECONDS.observe(outcome.attempt_seconds)
    if outcome.status == WebhookDeliveryStatus.SUCCEEDED:
        DELIVERY_SECONDS.observe(outcome.since_event_seconds)
