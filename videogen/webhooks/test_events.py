"""Test events: a signed sample sent at once to an endpoint, so its owner can check a receiver.

The send happens while the client's request waits for the receiver's answer (that answer is the
point), so it is bounded on every side a tenant could use to stall others:

- per organization, ``WEBHOOK_TESTS_PER_MINUTE`` across replicas (the shared rate limiter) and one
  at a time in each API process, so one tenant holds at most one of a process's request slots;
- the endpoint is read in a unit of work of its own that has ended before the network call, so no
  database connection waits on a receiver;
- the call itself has the delivery timeouts (``WEBHOOK_CONNECT_TIMEOUT_SECONDS``,
  ``WEBHOOK_TIMEOUT_SECONDS``) and reads at most ``WEBHOOK_MAX_RESPONSE_BYTES``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from videogen.accounts.ratelimit import RateLimiter
from videogen.database import session_scope
from videogen.errors import RateLimitError
from videogen.outbound.transport import SendResult
from videogen.webhooks import endpoints
from videogen.webhooks.sender import WebhookSender

_sending: set[str] = set()
_sending_lock = threading.Lock()


@contextmanager
def _one_at_a_time(organization_id: str) -> Iterator[None]:
    with _sending_lock:
        if organization_id in _sending:
            raise RateLimitError(
                "A test event of your organization is being sent; wait for its answer before sending another.",
                retry_after=1,
                code="webhook_test_in_progress",
            )
        _sending.add(organization_id)
    try:
        yield
    finally:
        with _sending_lock:
            _sending.discard(organization_id)


def send_test_event(
    sender: WebhookSender, limiter: RateLimiter, organization_id: str, endpoint_id: str, event_type: str
) -> SendResult:
    """Send a sample ``event_type`` event to the organization's endpoint now; what the receiver
    answered. Nothing is recorded."""
    endpoints.check_event_types([event_type], "event_type")
    with _one_at_a_time(organization_id):
        rate = limiter.hit_per_minute("webhooks.test", organization_id, sender.settings.webhook_tests_per_minute)
        if not rate.allowed:
            raise RateLimitError(
                f"At most {rate.limit} test events a minute; try again later.",
                retry_after=rate.reset_seconds,
                headers=rate.headers(),
            )
        with session_scope(sender.settings.database_url) as session:
            endpoint = endpoints.get_endpoint(session, organization_id, endpoint_id)
            session.expunge(endpoint)
        return sender.send_test(endpoint, event_type)
