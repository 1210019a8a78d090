"""ORM rows to wire objects for the account-side, webhook and operator resources, and list envelopes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.schemas import (
    AccessRequestObject,
    ApiKeyObject,
    OperatorVideoObject,
    OperatorWebhookEndpointObject,
    OrganizationObject,
    QueueList,
    QueueObject,
    TierObject,
    UsageBucketObject,
    UsageObject,
    WebhookAttemptObject,
    WebhookDeliveryObject,
    WebhookEndpointObject,
    unix,
)
from videogen.accounts.tables import AccessRequest, ApiKey, Organization
from videogen.accounts.tiers import Tier
from videogen.accounts.usage import UsageReport
from videogen.videos import operator_view, service
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.stats import ModelQueue
from videogen.videos.tables import Video
from videogen.webhooks.tables import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

ListT = TypeVar("ListT", bound=BaseModel)


class ModelResponse(Response):
    """A pydantic model as JSON, encoded once by pydantic's own encoder.

    A route that returns one (its ``response_model`` still documents it) skips FastAPI's handling
    of a returned object: validating it again against the response model (for a plain ``def``
    endpoint, one more hand-off to a worker thread), converting it to plain data, then encoding
    that with ``json``. The hot paths (polling and listing videos) return these.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if not isinstance(content, BaseModel):
            raise TypeError(f"ModelResponse renders pydantic models, not {type(content).__name__}")
        return content.model_dump_json().encode()


def cursor_list(list_type: type[ListT], data: list[Any], has_more: bool) -> ListT:
    """OpenAI's list envelope: ``{object: "list", data, first_id, last_id, has_more}``."""
    return list_type(
        data=data, first_id=data[0].id if data else None, last_id=data[-1].id if data else None, has_more=has_more
    )


def organization_object(org: Organization) -> OrganizationObject:
    return OrganizationObject(
        id=org.id,
        name=org.name,
        tier=org.tier,
        status=org.status,
        created_at=unix(org.created_at) or 0,
        suspended_at=unix(org.suspended_at),
    )


def api_key_object(key: ApiKey, secret: str | None = None) -> ApiKeyObject:
    return ApiKeyObject(
        id=key.id,
        organization_id=key.organization_id,
        name=key.name,
        prefix=key.prefix,
        created_at=unix(key.created_at) or 0,
        last_used_at=unix(key.last_used_at),
        expires_at=unix(key.expires_at),
        revoked_at=unix(key.revoked_at),
        secret=secret,
    )


def access_request_object(request: AccessRequest) -> AccessRequestObject:
    return AccessRequestObject(
        id=request.id,
        company=request.company,
        contact_email=request.contact_email,
        use_case=request.use_case,
        status=request.status,
        created_at=unix(request.created_at) or 0,
        decided_at=unix(request.decided_at),
        decision_reason=request.decision_reason,
        tier=request.tier,
        organization_id=request.organization_id,
    )


def tier_object(tier: Tier) -> TierObject:
    return TierObject.model_validate(tier.public_info())


def webhook_endpoint_object(endpoint: WebhookEndpoint) -> WebhookEndpointObject:
    return WebhookEndpointObject(
        id=endpoint.id,
        name=endpoint.name,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        created_at=unix(endpoint.created_at) or 0,
        updated_at=unix(endpoint.updated_at),
        signing_secret_hint=endpoint.secret_hint,
        status="enabled" if endpoint.enabled else "disabled",
        disabled_reason=endpoint.disabled_reason,
        disabled_at=unix(endpoint.disabled_at),
        failing_since=unix(endpoint.failing_since),
        previous_secret_expires_at=unix(endpoint.previous_secret_expires_at),
    )


def operator_webhook_endpoint_object(endpoint: WebhookEndpoint) -> OperatorWebhookEndpointObject:
    return OperatorWebhookEndpointObject(
        **webhook_endpoint_object(endpoint).model_dump(), organization_id=endpoint.organization_id
    )


def usage_object(report: UsageReport) -> UsageObject:
    return UsageObject(
        organization_id=report.organization_id,
        tier=report.tier,
        start_date=report.start_date,
        end_date=report.end_date,
        data=[UsageBucketObject(**asdict(bucket)) for bucket in report.data],
        today={
            "video_seconds": report.today_video_seconds,
            "video_seconds_limit": report.daily_quota,
            "video_seconds_remaining": max(0.0, report.daily_quota - report.today_video_seconds),
        },
    )


def webhook_delivery_object(delivery: WebhookDelivery) -> WebhookDeliveryObject:
    return WebhookDeliveryObject(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event.type,
        video_id=delivery.event.video_id,
        webhook_endpoint_id=delivery.endpoint_id,
        url=delivery.url,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=unix(delivery.next_attempt_at) if delivery.status == WebhookDeliveryStatus.PENDING else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=unix(delivery.created_at) or 0,
        completed_at=unix(delivery.completed_at),
        attempt_log=[
            WebhookAttemptObject(
                attempted_at=unix(a.attempted_at) or 0,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=a.error,
                response_excerpt=a.response_excerpt,
                next_attempt_at=unix(a.next_attempt_at),
            )
            for a in delivery.attempt_log
        ],
    )


def operator_video_objects(
    session: Session, videos: Sequence[Video], positions: QueuePositions
) -> list[OperatorVideoObject]:
    """Videos as the operator sees them: each as its owner does (``service.describe_all``: their queue
    positions read together) plus whose it is and who ran it; the organizations' names in one query."""
    names = operator_view.organization_names(session, videos)
    return [
        OperatorVideoObject(
            **dict(public),
            organization_id=video.organization_id,
            organization_name=names.get(video.organization_id, ""),
            attempts=video.attempts,
            worker=video.worker,
        )
        for video, public in zip(videos, service.describe_all(session, videos, positions), strict=True)
    ]


def queue_object(queue: ModelQueue) -> QueueObject:
    return QueueObject.model_validate(asdict(queue))  # the same fields; the tuples become lists


def queue_list(queues: Sequence[ModelQueue], window_seconds: int, generated_at: datetime) -> QueueList:
    return QueueList(
        data=[queue_object(q) for q in queues], window_seconds=window_seconds, generated_at=unix(generated_at) or 0
    )
