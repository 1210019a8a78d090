"""``/v1/admin``: the operator's surface, guarded by ``VIDEOGEN_ADMIN_TOKEN`` (never an API key).

Every operation here is also a ``videogen`` CLI command, which calls the same domain functions
on a local database or these routes on a remote deployment (``--base-url``). Lists are OpenAI's
list envelope with cursor pagination, as the public lists are.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import QueuePositionsDep, SessionDep, SettingsDep, TiersDep, UnitOfWorkRoute, require_admin
from api.parameters import storable_parameters
from api.schemas import (
    AccessApproval,
    AccessRequestList,
    AccessRequestObject,
    ApiKeyList,
    ApiKeyObject,
    ErrorResponse,
    OperatorVideoList,
    OperatorVideoObject,
    OperatorWebhookEndpointList,
    OrganizationList,
    OrganizationObject,
    QueueList,
    RequestBody,
    TierList,
    UsageObject,
    WebhookDeliveryList,
    WebhookDeliveryObject,
)
from api.serializers import (
    access_request_object,
    api_key_object,
    cursor_list,
    operator_video_objects,
    operator_webhook_endpoint_object,
    organization_object,
    queue_list,
    tier_object,
    usage_object,
    webhook_delivery_object,
)
from videogen.accounts import access_requests, api_keys, organizations
from videogen.accounts.api_keys import MAX_KEY_LIFETIME_SECONDS
from videogen.accounts.tables import AccessRequestStatus, OrganizationStatus
from videogen.accounts.usage import usage_report
from videogen.database import utcnow
from videogen.videos import operator_view
from videogen.videos.stats import queue_report
from videogen.videos.tables import VideoStatus
from videogen.webhooks import deliveries, endpoints

router = APIRouter(
    route_class=UnitOfWorkRoute,
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(storable_parameters)],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409)},
)

# The public lists' cursor parameters (``GET /v1/videos``).
After = Annotated[str | None, Query(description="Cursor: the id of the last item of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=100)]
Order = Annotated[Literal["asc", "desc"], Query(description="By creation: desc (newest first) or asc.")]
OrganizationFilter = Annotated[str | None, Query(description="Only this organization (id or name).")]


def _lifetime(description: str) -> Any:
    return Field(None, ge=1, le=MAX_KEY_LIFETIME_SECONDS, description=description)


class OrganizationCreate(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    tier: str | None = Field(None, description="Default: the deployment's VIDEOGEN_DEFAULT_TIER.")


class OrganizationUpdate(RequestBody):
    tier: str | None = None
    status: OrganizationStatus | None = None


class KeyCreate(RequestBody):
    name: str = Field("", max_length=200)
    expires_in_seconds: int | None = _lifetime("Key stops working after this long (up to 100 years).")


class KeyRotate(RequestBody):
    expires_in_seconds: int | None = _lifetime(
        "The new key stops working after this long. Default: when the old one does."
    )


class Approve(RequestBody):
    tier: str
    organization_name: str | None = Field(
        None, min_length=1, max_length=200, description="Default: the applicant's company name."
    )


class Reject(RequestBody):
    reason: str = Field("", max_length=2000)


@router.get("/tiers", response_model=TierList, summary="Tiers from the tiers file")
def list_tiers(tiers: TiersDep) -> TierList:
    return TierList(data=[tier_object(t) for t in tiers.all()])


@router.get("/organizations", response_model=OrganizationList)
def list_organizations(
    session: SessionDep, after: After = None, limit: Limit = 20, order: Order = "desc"
) -> OrganizationList:
    page = organizations.list_organizations(session, after=after, limit=limit, order=order)
    return cursor_list(OrganizationList, [organization_object(o) for o in page.items], page.has_more)


@router.post("/organizations", response_model=OrganizationObject)
def create_organization(
    body: OrganizationCreate, session: SessionDep, tiers: TiersDep, settings: SettingsDep
) -> OrganizationObject:
    tier = body.tier or settings.default_tier
    return organization_object(organizations.create_organization(session, tiers, body.name, tier))


@router.get("/organizations/{organization}", response_model=OrganizationObject)
def get_organization(organization: str, session: SessionDep) -> OrganizationObject:
    return organization_object(organizations.find_organization(session, organization))


@router.patch("/organizations/{organization}", response_model=OrganizationObject, summary="Change tier or status")
def update_organization(
    organization: str, body: OrganizationUpdate, session: SessionDep, tiers: TiersDep
) -> OrganizationObject:
    org = organizations.find_organization(session, organization)
    organizations.update_organization(session, tiers, org, tier=body.tier, status=body.status)
    return organization_object(org)


def _key_list(
    session: Session, organization_id: str | None, after: str | None, limit: int, order: Literal["asc", "desc"]
) -> ApiKeyList:
    page = api_keys.list_api_keys(session, organization_id, after=after, limit=limit, order=order)
    return cursor_list(ApiKeyList, [api_key_object(k) for k in page.items], page.has_more)


@router.get("/organizations/{organization}/keys", response_model=ApiKeyList, summary="An organization's keys")
def list_keys(
    organization: str, session: SessionDep, after: After = None, limit: Limit = 20, order: Order = "desc"
) -> ApiKeyList:
    org = organizations.find_organization(session, organization)
    return _key_list(session, org.id, after, limit, order)


@router.post("/organizations/{organization}/keys", response_model=ApiKeyObject, summary="Create a key (shown once)")
def create_key(organization: str, body: KeyCreate, session: SessionDep) -> ApiKeyObject:
    org = organizations.find_organization(session, organization)
    created = api_keys.create_api_key(session, org, body.name, api_keys.expiry_after(body.expires_in_seconds))
    return api_key_object(created.api_key, created.secret)


@router.get("/keys", response_model=ApiKeyList, summary="Every organization's keys (or one's)")
def list_all_keys(
    session: SessionDep,
    organization: OrganizationFilter = None,
    after: After = None,
    limit: Limit = 20,
    order: Order = "desc",
) -> ApiKeyList:
    org_id = organizations.find_organization(session, organization).id if organization else None
    return _key_list(session, org_id, after, limit, order)


@router.post(
    "/keys/{key_id}/rotate",
    response_model=ApiKeyObject,
    summary="New key, expiring when the old one does; the old one works until revoked",
)
def rotate_key(key_id: str, session: SessionDep, body: KeyRotate | None = None) -> ApiKeyObject:
    expires_at = api_keys.expiry_after(body.expires_in_seconds) if body else None
    created = api_keys.rotate_api_key(session, key_id, expires_at)
    return api_key_object(created.api_key, created.secret)


@router.post("/keys/{key_id}/revoke", response_model=ApiKeyObject)
def revoke_key(key_id: str, session: SessionDep) -> ApiKeyObject:
    return api_key_object(api_keys.revoke_api_key(session, key_id))


@router.get("/organizations/{organization}/usage", response_model=UsageObject)
def organization_usage(organization: str, session: SessionDep, tiers: TiersDep) -> UsageObject:
    org = organizations.find_organization(session, organization)
    return usage_object(usage_report(session, org, tiers.of(org), None, None))


@router.get("/access_requests", response_model=AccessRequestList)
def list_access_requests(
    session: SessionDep,
    status: Annotated[AccessRequestStatus | None, Query()] = None,
    after: After = None,
    limit: Limit = 20,
    order: Order = "desc",
) -> AccessRequestList:
    page = access_requests.list_requests(session, status, after=after, limit=limit, order=order)
    return cursor_list(AccessRequestList, [access_request_object(r) for r in page.items], page.has_more)


@router.post("/access_requests/{request_id}/approve", response_model=AccessApproval)
def approve_access_request(request_id: str, body: Approve, session: SessionDep, tiers: TiersDep) -> AccessApproval:
    approval = access_requests.approve(
        session, tiers, request_id, tier=body.tier, organization_name=body.organization_name
    )
    return AccessApproval(
        access_request=access_request_object(approval.request),
        organization=organization_object(approval.organization),
        api_key=api_key_object(approval.key.api_key, approval.key.secret),
    )


@router.post("/access_requests/{request_id}/reject", response_model=AccessRequestObject)
def reject_access_request(request_id: str, body: Reject, session: SessionDep) -> AccessRequestObject:
    return access_request_object(access_requests.reject(session, request_id, body.reason))


# --- webhooks, across organizations ----------------------------------------------------------------


@router.get(
    "/webhook_endpoints",
    response_model=OperatorWebhookEndpointList,
    summary="Every organization's webhook endpoints (or one's), newest first, with their health",
)
def list_webhook_endpoints(
    session: SessionDep, organization: OrganizationFilter = None, after: After = None, limit: Limit = 20
) -> OperatorWebhookEndpointList:
    org_id = organizations.find_organization(session, organization).id if organization else None
    page = endpoints.list_endpoints(session, org_id, after=after, limit=limit)
    return cursor_list(
        OperatorWebhookEndpointList, [operator_webhook_endpoint_object(e) for e in page.items], page.has_more
    )


@router.get(
    "/webhook_deliveries",
    response_model=WebhookDeliveryList,
    summary="The delivery log across organizations, newest first, with every attempt",
)
def list_webhook_deliveries(
    session: SessionDep,
    organization: OrganizationFilter = None,
    webhook_endpoint_id: Annotated[str | None, Query(description="Only deliveries to this endpoint.")] = None,
    video_id: Annotated[str | None, Query(description="Only deliveries about this video.")] = None,
    after: After = None,
    limit: Limit = 20,
) -> WebhookDeliveryList:
    org_id = organizations.find_organization(session, organization).id if organization else None
    page = deliveries.list_deliveries(
        session, org_id, endpoint_id=webhook_endpoint_id, video_id=video_id, after=after, limit=limit
    )
    return cursor_list(WebhookDeliveryList, [webhook_delivery_object(d) for d in page.items], page.has_more)


@router.post(
    "/webhook_deliveries/{delivery_id}/redeliver",
    response_model=WebhookDeliveryObject,
    summary="Send any organization's delivery again (same webhook-id, fresh retry schedule)",
)
def redeliver_webhook(delivery_id: str, session: SessionDep) -> WebhookDeliveryObject:
    delivery = deliveries.get_delivery(session, None, delivery_id)
    return webhook_delivery_object(deliveries.redeliver(session, delivery))


# --- jobs, across organizations ---------------------------------------------------------------

DEFAULT_QUEUE_WINDOW_SECONDS = 600
MAX_QUEUE_WINDOW_SECONDS = 86400


@router.get(
    "/queue",
    response_model=QueueList,
    summary="The queue per model: queued, running, the oldest wait, the workers seen",
    description=(
        "Every model this deployment serves, with zeros when idle, then any other model that still has active "
        "jobs. Read from the database only (no broker is asked): a worker is seen when, within `window_seconds`, "
        "it wrote the heartbeat of a job it runs or ended one (completed or failed it), so an idle worker that "
        "ran nothing in the window is not seen."
    ),
)
def get_queue(
    session: SessionDep,
    settings: SettingsDep,
    window_seconds: Annotated[
        int,
        Query(ge=1, le=MAX_QUEUE_WINDOW_SECONDS, description="How far back to look for workers, in seconds."),
    ] = DEFAULT_QUEUE_WINDOW_SECONDS,
) -> QueueList:
    now = utcnow()
    queues = queue_report(session, settings.models, now, timedelta(seconds=window_seconds))
    return queue_list(queues, window_seconds, now)


@router.get(
    "/videos",
    response_model=OperatorVideoList,
    summary="Every organization's videos (or one's), newest first, filtered by status and model",
    description=(
        "The public video object of each, plus its organization, attempts and worker. `status=failed` lists the "
        "recent failures with their error. Videos their owners deleted are not listed."
    ),
)
def list_all_videos(
    session: SessionDep,
    positions: QueuePositionsDep,
    organization: OrganizationFilter = None,
    status: Annotated[VideoStatus | None, Query(description="Only videos in this status.")] = None,
    model: Annotated[str | None, Query(description="Only videos of this model.")] = None,
    after: After = None,
    limit: Limit = 20,
    order: Order = "desc",
) -> OperatorVideoList:
    org_id = organizations.find_organization(session, organization).id if organization else None
    page = operator_view.list_all_videos(
        session, org_id, status=status, model=model, after=after, limit=limit, order=order
    )
    return cursor_list(OperatorVideoList, operator_video_objects(session, page.items, positions), page.has_more)


@router.get("/videos/{video_id}", response_model=OperatorVideoObject, summary="Any organization's video")
def get_any_video(video_id: str, session: SessionDep, positions: QueuePositionsDep) -> OperatorVideoObject:
    [found] = operator_video_objects(session, [operator_view.get_any_video(session, video_id)], positions)
    return found
