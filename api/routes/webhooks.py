"""Webhooks for API clients: endpoints (``client.webhooks.*`` in the ``openai`` SDK), the
organization's secret for per-video ``webhook_url``, and the delivery log with redelivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ApiKeyDep, RateLimiterDep, SecretBoxDep, SessionDep, SettingsDep, UnitOfWorkRoute, WebhookPolicyDep
from api.parameters import storable_parameters
from api.schemas import (
    ErrorResponse,
    SecretRotation,
    WebhookDeliveryList,
    WebhookDeliveryObject,
    WebhookEndpointCreate,
    WebhookEndpointDeleted,
    WebhookEndpointList,
    WebhookEndpointObject,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecretObject,
    WebhookEventTypeList,
    WebhookSecretObject,
    WebhookTestRequest,
    WebhookTestResult,
    unix,
)
from api.serializers import cursor_list, webhook_delivery_object, webhook_endpoint_object
from videogen.pagination import Page
from videogen.videos import service
from videogen.webhooks import deliveries, endpoints, signing, test_events
from videogen.webhooks.events import EVENT_TYPES
from videogen.webhooks.sender import WebhookSender
from videogen.webhooks.tables import WebhookDelivery

router = APIRouter(
    route_class=UnitOfWorkRoute,
    tags=["webhooks"],
    dependencies=[Depends(storable_parameters)],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 403, 404)},
)

PageLimit = Annotated[int, Query(ge=1, le=100)]
ROTATION_OVERLAP_24H = timedelta(hours=24)


def _overlap(body: SecretRotation | None) -> timedelta:
    if body is None:
        return timedelta(0)
    if body.overlap_seconds is not None:
        return timedelta(seconds=body.overlap_seconds)
    return ROTATION_OVERLAP_24H if body.keep_old_secret_active_for_24_hours else timedelta(0)


def _with_secret(endpoint_object: WebhookEndpointObject, secret: str) -> WebhookEndpointWithSecretObject:
    return WebhookEndpointWithSecretObject(**endpoint_object.model_dump(), signing_secret=secret)


def _delivery_list(page: Page[WebhookDelivery]) -> WebhookDeliveryList:
    return cursor_list(WebhookDeliveryList, [webhook_delivery_object(d) for d in page.items], page.has_more)


# --- endpoints -----------------------------------------------------------------------------------


@router.post(
    "/v1/webhook_endpoints",
    response_model=WebhookEndpointWithSecretObject,
    summary="Create a webhook endpoint (the response holds its signing secret, once)",
)
def create_endpoint(
    body: WebhookEndpointCreate, session: SessionDep, api_key: ApiKeyDep, box: SecretBoxDep, policy: WebhookPolicyDep
) -> WebhookEndpointWithSecretObject:
    created = endpoints.create_endpoint(
        session,
        box,
        policy,
        api_key.organization_id,
        url=body.url,
        event_types=body.event_types,
        name=body.name,
    )
    return _with_secret(webhook_endpoint_object(created.endpoint), created.secret)


@router.get("/v1/webhook_endpoints", response_model=WebhookEndpointList, summary="List webhook endpoints")
def list_endpoints(
    session: SessionDep, api_key: ApiKeyDep, after: str | None = None, limit: PageLimit = 20
) -> WebhookEndpointList:
    page = endpoints.list_endpoints(session, api_key.organization_id, after=after, limit=limit)
    return cursor_list(WebhookEndpointList, [webhook_endpoint_object(e) for e in page.items], page.has_more)


@router.get("/v1/webhook_endpoints/{webhook_endpoint_id}", response_model=WebhookEndpointObject)
def retrieve_endpoint(webhook_endpoint_id: str, session: SessionDep, api_key: ApiKeyDep) -> WebhookEndpointObject:
    return webhook_endpoint_object(endpoints.get_endpoint(session, api_key.organization_id, webhook_endpoint_id))


def _update(
    webhook_endpoint_id: str,
    body: WebhookEndpointUpdate,
    session: SessionDep,
    api_key: ApiKeyDep,
    policy: WebhookPolicyDep,
) -> WebhookEndpointObject:
    endpoint = endpoints.get_endpoint(session, api_key.organization_id, webhook_endpoint_id)
    endpoints.update_endpoint(
        session, policy, endpoint, url=body.url, name=body.name, event_types=body.event_types, enabled=body.enabled
    )
    return webhook_endpoint_object(endpoint)


# The openai SDK updates with POST; PATCH is there for everyone else. Two routes, so that each
# has an operation id of its own (the OpenAPI document requires them unique).
for _method in ("POST", "PATCH"):
    router.add_api_route(
        "/v1/webhook_endpoints/{webhook_endpoint_id}",
        _update,
        methods=[_method],
        operation_id=f"update_webhook_endpoint_{_method.lower()}",
        response_model=WebhookEndpointObject,
        summary="Update a webhook endpoint (url, name, event types; `enabled` to re-enable)",
    )


@router.delete("/v1/webhook_endpoints/{webhook_endpoint_id}", response_model=WebhookEndpointDeleted)
def delete_endpoint(webhook_endpoint_id: str, session: SessionDep, api_key: ApiKeyDep) -> WebhookEndpointDeleted:
    endpoints.delete_endpoint(session, endpoints.get_endpoint(session, api_key.organization_id, webhook_endpoint_id))
    return WebhookEndpointDeleted(id=webhook_endpoint_id)


@router.post(
    "/v1/webhook_endpoints/{webhook_endpoint_id}/rotate_secret",
    response_model=WebhookEndpointWithSecretObject,
    summary="Rotate the signing secret; the old one can keep signing during an overlap",
)
def rotate_endpoint_secret(
    webhook_endpoint_id: str,
    session: SessionDep,
    api_key: ApiKeyDep,
    box: SecretBoxDep,
    body: SecretRotation | None = None,
) -> WebhookEndpointWithSecretObject:
    endpoint = endpoints.get_endpoint(session, api_key.organization_id, webhook_endpoint_id)
    secret = endpoints.rotate_endpoint_secret(session, box, endpoint, _overlap(body))
    return _with_secret(webhook_endpoint_object(endpoint), secret)


@router.post(
    "/v1/webhook_endpoints/{webhook_endpoint_id}/test",
    response_model=WebhookTestResult,
    summary="Send a signed sample event now and report what the receiver answered",
    description="Bounded per organization: one at a time, and `WEBHOOK_TESTS_PER_MINUTE` a minute (429 past it).",
    responses={429: {"model": ErrorResponse}},
)
def test_endpoint(
    webhook_endpoint_id: str,
    body: WebhookTestRequest,
    api_key: ApiKeyDep,
    settings: SettingsDep,
    box: SecretBoxDep,
    policy: WebhookPolicyDep,
    limiter: RateLimiterDep,
) -> WebhookTestResult:
    sender = WebhookSender(settings, policy=policy, box=box)
    result = test_events.send_test_event(sender, limiter, api_key.organization_id, webhook_endpoint_id, body.event_type)
    return WebhookTestResult(
        webhook_endpoint_id=webhook_endpoint_id,
        event_type=body.event_type,
        status_code=result.status_code or 0,
        error=result.error,
        latency_ms=result.latency_ms,
    )


@router.get("/v1/webhook_event_types", response_model=WebhookEventTypeList, summary="Event types you can receive")
def list_event_types(api_key: ApiKeyDep) -> WebhookEventTypeList:
    return WebhookEventTypeList(data=list(EVENT_TYPES))


# --- the organization's secret (signs deliveries to a video's own webhook_url) ------------------


def _secret_object(secret: signing.OrganizationSecret) -> WebhookSecretObject:
    return WebhookSecretObject(
        signing_secret=secret.secret,
        signing_secret_hint=secret.hint,
        created_at=unix(secret.created_at) or 0,
        previous_secret_expires_at=unix(secret.previous_secret_expires_at),
    )


@router.get("/v1/webhook_secret", response_model=WebhookSecretObject, summary="Your per-video webhook secret's hint")
def get_webhook_secret(api_key: ApiKeyDep) -> WebhookSecretObject:
    return _secret_object(signing.organization_secret(api_key.organization))


@router.post(
    "/v1/webhook_secret",
    response_model=WebhookSecretObject,
    summary="Create or rotate the secret that signs deliveries to a video's own webhook_url (shown once)",
)
def rotate_webhook_secret(
    session: SessionDep, api_key: ApiKeyDep, box: SecretBoxDep, body: SecretRotation | None = None
) -> WebhookSecretObject:
    return _secret_object(signing.rotate_organization_secret(session, box, api_key.organization, _overlap(body)))


# --- the delivery log ----------------------------------------------------------------------------


@router.get(
    "/v1/webhook_endpoints/{webhook_endpoint_id}/deliveries",
    response_model=WebhookDeliveryList,
    summary="An endpoint's deliveries, newest first, with every attempt",
)
def list_endpoint_deliveries(
    webhook_endpoint_id: str, session: SessionDep, api_key: ApiKeyDep, after: str | None = None, limit: PageLimit = 20
) -> WebhookDeliveryList:
    endpoint = endpoints.get_endpoint(session, api_key.organization_id, webhook_endpoint_id)
    return _delivery_list(
        deliveries.list_deliveries(session, api_key.organization_id, endpoint_id=endpoint.id, after=after, limit=limit)
    )


@router.get(
    "/v1/videos/{video_id}/webhook_deliveries",
    response_model=WebhookDeliveryList,
    summary="A video's webhook deliveries, newest first, with every attempt",
)
def list_video_deliveries(
    video_id: str, session: SessionDep, api_key: ApiKeyDep, after: str | None = None, limit: PageLimit = 20
) -> WebhookDeliveryList:
    video = service.get_video(session, api_key.organization_id, video_id)
    return _delivery_list(
        deliveries.list_deliveries(session, api_key.organization_id, video_id=video.id, after=after, limit=limit)
    )


@router.get("/v1/webhook_deliveries/{delivery_id}", response_model=WebhookDeliveryObject)
def retrieve_delivery(delivery_id: str, session: SessionDep, api_key: ApiKeyDep) -> WebhookDeliveryObject:
    return webhook_delivery_object(deliveries.get_delivery(session, api_key.organization_id, delivery_id))


@router.post(
    "/v1/webhook_deliveries/{delivery_id}/redeliver",
    response_model=WebhookDeliveryObject,
    summary="Send a delivery again (same webhook-id, fresh retry schedule)",
)
def redeliver(delivery_id: str, session: SessionDep, api_key: ApiKeyDep) -> WebhookDeliveryObject:
    delivery = deliveries.get_delivery(session, api_key.organization_id, delivery_id)
    return webhook_delivery_object(deliveries.redeliver(session, delivery))
