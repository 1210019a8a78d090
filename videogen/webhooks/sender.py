"""Sending webhook deliveries: claim, sign, POST, record, retry.

A delivery is sent by whoever wins its claim: an atomic ``UPDATE`` that takes a lease on a pending,
due delivery. Duplicate broker messages therefore send nothing twice at once, and a sender that
dies mid-request only holds the delivery until its lease passes; then the sweep sends it again.
Every attempt is signed afresh (a new ``webhook-timestamp``) under the same ``webhook-id``.

Retries follow ``VIDEOGEN_WEBHOOK_RETRY_SCHEDULE`` with ±10% jitter; a longer ``Retry-After`` from
the receiver wins. Only what may succeed later is retried: timeouts, connection errors, DNS
failures, 408/409/425/429 and 5xx. An endpoint that has failed without a single success for
``VIDEOGEN_WEBHOOK_DISABLE_AFTER_SECONDS`` is disabled, with the reason, for its owner to see.

Each delivery is two units of work of its own around the HTTP request (claim, then record), so no
transaction or pooled connection ever waits on a receiver.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from videogen.accounts.tables import Organization
from videogen.database import rows_affected, session_scope, utcnow
from videogen.outbound.transport import SendResult, send
from videogen.outbound.url_policy import WebhookURLError, WebhookURLPolicy, url_policy
from videogen.secret_box import SecretBox, secret_box
from videogen.settings import Settings
from videogen.videos.objects import VideoObject
from videogen.videos.tables import VideoStatus
from videogen.webhooks import outbox
from videogen.webhooks.endpoints import check_event_types
from videogen.webhooks.events import STATUS_FOR_EVENT, event_payload
from videogen.webhooks.signing import endpoint_secrets, organization_secrets, signature_headers
from videogen.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

log = logging.getLogger(__name__)

# A receiver's Retry-After is honoured up to this; beyond it the retry schedule decides.
MAX_RETRY_AFTER = timedelta(hours=24)
# Retries due this soon are nudged with a countdown; later ones are left to the sweep, so no broker
# holds hours-long ETA messages.
COUNTDOWN_NUDGE_LIMIT_SECONDS = 300.0
JITTER = 0.1


@dataclass(frozen=True)
class Claimed:
    """What a sender needs once it holds a delivery's lease."""

    delivery_id: str
    attempt: int
    series_attempt: int
    url: str
    payload: str
    endpoint_id: str | None
    signing_secrets: list[str]
    refusal: str | None  # why it must not be sent at all (endpoint disabled or deleted, no secret)
    event_created_at: datetime


@dataclass(frozen=True)
class Attempted:
    delivery_id: str
    status: WebhookDeliveryStatus
    retry_in: float | None  # seconds until the next attempt, while pending
    # For the webhook workers' metrics: how long the request took (None when nothing was sent, the
    # endpoint being disabled or deleted), and how long after its event this attempt ended.
    attempt_seconds: float | None = None
    since_event_seconds: float = 0.0


def lease_duration(settings: Settings) -> timedelta:
    """Longer than one attempt can take (connect, then the total timeout checked between reads,
    which a stalled read can overshoot by one read timeout), plus room for the database writes."""
    return timedelta(seconds=settings.webhook_connect_timeout_seconds + 2 * settings.webhook_timeout_seconds + 10)


def retry_delay(
    schedule: list[float], series_attempt: int, retry_after: float | None, rng: random.Random | None = None
) -> float | None:
    """Seconds before the next attempt after the ``series_attempt``-th failed, or None when the
    schedule is used up."""
    if series_attempt > len(schedule):
        return None
    delay = schedule[series_attempt - 1] * (1 + (rng or random).uniform(-JITTER, JITTER))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER.total_seconds()))
    return delay


class WebhookSender:
    def __init__(
        self,
        settings: Settings,
        *,
        policy: WebhookURLPolicy | None = None,
        box: SecretBox | None = None,
    ):
        self.settings = settings
        self.policy = policy or url_policy(settings)
        self.box = box or secret_box(settings)

    # -- one delivery ----------------------------------------------------------------------------

    def deliver(self, delivery_id: str) -> Attempted | None:
        """Send ``delivery_id`` if it is pending, due and not held by another sender."""
        claimed = self._claim(delivery_id)
        if claimed is None:
            return None
        if claimed.refusal is not None:
            return self._record(claimed, SendResult(None, claimed.refusal, 0), retryable=False)
        result, retryable = self._send(claimed.url, claimed.delivery_id, claimed.payload, claimed.signing_secrets)
        outcome = self._record(claimed, result, retryable)
        log.info(
            "webhook %s to %s: %s (%s) -> %s",
            delivery_id,
            claimed.url,
            result.status_code or "-",
            result.error or "ok",
            outcome.status,
        )
        return outcome

    def _send(self, url: str, message_id: str, payload: str, signing_secrets: list[str]) -> tuple[SendResult, bool]:
        try:
            destination = self.policy.resolve(url)  # vetted now, on the address we will connect to
        except WebhookURLError as exc:
            return SendResult(None, str(exc), 0), exc.retryable
        headers = signature_headers(message_id, utcnow(), payload, signing_secrets)
        result = send(
            destination,
            payload.encode(),
            headers,
            connect_timeout=self.settings.webhook_connect_timeout_seconds,
            total_timeout=self.settings.webhook_timeout_seconds,
            max_response_bytes=self.settings.webhook_max_response_bytes,
        )
        return result, result.retryable

    def _claim(self, delivery_id: str) -> Claimed | None:
        with session_scope(self.settings.database_url) as session:
            now = utcnow()
            won = rows_affected(
                session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery_id,
                        WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
                        WebhookDelivery.next_attempt_at <= now,
                        (WebhookDelivery.lease_expires_at.is_(None)) | (WebhookDelivery.lease_expires_at < now),
                    )
                    .values(
                        lease_expires_at=now + lease_duration(self.settings),
                        attempts=WebhookDelivery.attempts + 1,
                        series_attempts=WebhookDelivery.series_attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
            )
            if won != 1:
                return None
            delivery = session.execute(
                select(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .execution_options(populate_existing=True)
            ).scalar_one()
            refusal, signing_secrets = self._signing_secrets(session, delivery, now)
            return Claimed(
                delivery_id=delivery.id,
                attempt=delivery.attempts,
                series_attempt=delivery.series_attempts,
                url=delivery.url,
                payload=delivery.event.payload,
                endpoint_id=delivery.endpoint_id,
                signing_secrets=signing_secrets,
                refusal=refusal,
                event_created_at=delivery.event.created_at,
            )

    def _signing_secrets(
        self, session: Session, delivery: WebhookDelivery, now: datetime
    ) -> tuple[str | None, list[str]]:
        if delivery.endpoint_id is not None:
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is None or endpoint.deleted_at is not None:
                return "the webhook endpoint was deleted", []
            if not endpoint.enabled:
                return f"the webhook endpoint is disabled ({endpoint.disabled_reason})", []
            return None, endpoint_secrets(self.box, endpoint, now)
        org = session.get(Organization, delivery.organization_id)
        found = organization_secrets(self.box, org, now) if org is not None else []
        if not found:
            return "the organization has no webhook signing secret (POST /v1/webhook_secret)", []
        return None, found

    def _record(self, claimed: Claimed, result: SendResult, retryable: bool) -> Attempted:
        now = utcnow()
        retry_in = None
        if result.succeeded:
            status = WebhookDeliveryStatus.SUCCEEDED
        elif retryable:
            retry_in = retry_delay(
                self.settings.webhook_retry_schedule, claimed.series_attempt, result.retry_after_seconds
            )
            status = WebhookDeliveryStatus.PENDING if retry_in is not None else WebhookDeliveryStatus.FAILED
        else:
            status = WebhookDeliveryStatus.FAILED
        with session_scope(self.settings.database_url) as session:
            if claimed.endpoint_id is not None and self._update_endpoint_health(
                session, claimed.endpoint_id, result, now
            ):
                # just disabled: nothing more goes there until it is re-enabled
                status, retry_in = WebhookDeliveryStatus.FAILED, None
            next_attempt_at = now + timedelta(seconds=retry_in) if retry_in is not None else None
            session.add(
                WebhookAttempt(
                    delivery_id=claimed.delivery_id,
                    attempted_at=now - timedelta(milliseconds=result.latency_ms),
                    status_code=result.status_code,
                    latency_ms=result.latency_ms,
                    error=result.error,
                    response_excerpt=result.response_excerpt,
                    next_attempt_at=next_attempt_at,
                )
            )
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == claimed.delivery_id, WebhookDelivery.attempts == claimed.attempt)
                .values(
                    status=status,
                    next_attempt_at=next_attempt_at,
                    lease_expires_at=None,
                    dispatched_at=None,
                    last_status_code=result.status_code,
                    last_error=result.error,
                    completed_at=None if status == WebhookDeliveryStatus.PENDING else now,
                )
                .execution_options(synchronize_session=False)
            )
        return Attempted(
            claimed.delivery_id,
            status,
            retry_in,
            attempt_seconds=None if claimed.refusal is not None else result.latency_ms / 1000,
            since_event_seconds=max(0.0, (now - claimed.event_created_at).total_seconds()),
        )

    def _update_endpoint_health(self, session: Session, endpoint_id: str, result: SendResult, now: datetime) -> bool:
        """Track how long an endpoint has been failing; True if this failure disabled it."""
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None:
            return False
        if result.succeeded:
            endpoint.failing_since = None
            return False
        if endpoint.failing_since is None:
            endpoint.failing_since = now
        failing_for = now - endpoint.failing_since
        if endpoint.enabled and failing_for.total_seconds() >= self.settings.webhook_disable_after_seconds:
            endpoint.enabled = False
            endpoint.disabled_at = endpoint.updated_at = now
            endpoint.disabled_reason = (
                f"every delivery since {endpoint.failing_since.isoformat(timespec='seconds')} failed "
                f"(last: {result.error}); fix the receiver, then re-enable the endpoint and redeliver"
            )
            log.warning("disabled webhook endpoint %s: %s", endpoint.id, endpoint.disabled_reason)
            return True
        return False

    # -- a test event ----------------------------------------------------------------------------

    def send_test(self, endpoint: WebhookEndpoint, event_type: str) -> SendResult:
        """Send a sample event to ``endpoint`` now, signed like a real one; nothing is recorded."""
        check_event_types([event_type], "event_type")
        now = utcnow()
        status = STATUS_FOR_EVENT[event_type]
        sample = VideoObject(
            id="video_test",
            model=self.settings.default_model,
            status=status,
            progress=100 if status == VideoStatus.COMPLETED else 0,
            created_at=int(now.timestamp()),
            completed_at=int(now.timestamp()) if status.is_terminal else None,
            expires_at=None,
            seconds="2",
            size="256x256",
            prompt="a test event from videogen",
            error=None,
            started_at=int(now.timestamp()),
            seed=0,
            queue_position=None,
            fps=8,
            num_frames=17,
            num_inference_steps=4,
            guidance_scale=6.0,
            negative_prompt=None,
            metadata={"test": "true"},
        )
        message_id = f"msg_test_{int(now.timestamp() * 1000):x}"
        payload = event_payload(f"evt_test_{message_id[9:]}", event_type, now, sample.model_dump(mode="json"))
        result, _ = self._send(endpoint.url, message_id, payload, endpoint_secrets(self.box, endpoint, now))
        return result


def schedule_retry(settings: Settings, outcome: Attempted | None) -> None:
    """After an attempt: nudge a retry that is due soon; later ones are the sweep's, so no broker
    holds hours-long ETA messages."""
    if outcome is not None and outcome.retry_in is not None and outcome.retry_in <= COUNTDOWN_NUDGE_LIMIT_SECONDS:
        outbox.relay(settings, [outcome.delivery_id], countdown=outcome.retry_in)
