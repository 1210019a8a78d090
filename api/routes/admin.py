"""``/v1/admin``: the operator's surface, guarded by ``VIDEOGEN_ADMIN_TOKEN`` (never an API key).

Every operation here is also a ``videogen`` CLI command; both call the same domain functions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from api.deps import SessionDep, TiersDep, UnitOfWorkRoute, require_admin
from api.parameters import storable_parameters
from api.routes.usage import usage_object
from api.schemas import (
    AccessApproval,
    AccessRequestObject,
    ApiKeyObject,
    ErrorResponse,
    OrganizationObject,
    RequestBody,
    TierObject,
    UsageObject,
)
from api.serializers import access_request_object, api_key_object, organization_object, tier_object
from videogen.accounts import access_requests, api_keys, organizations
from videogen.accounts.tables import AccessRequestStatus, OrganizationStatus
from videogen.accounts.usage import usage_report
from videogen.database import utcnow

router = APIRouter(
    route_class=UnitOfWorkRoute,
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(storable_parameters)],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409)},
)
# The longest key lifetime, a century: an unbounded one could pass the year 9999 (an OverflowError).
MAX_KEY_LIFETIME_SECONDS = 100 * 366 * 86400


class OrganizationCreate(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    tier: str


class OrganizationUpdate(RequestBody):
    tier: str | None = None
    status: OrganizationStatus | None = None


class KeyCreate(RequestBody):
    name: str = Field("", max_length=200)
    expires_in_seconds: int | None = Field(
        None, ge=1, le=MAX_KEY_LIFETIME_SECONDS, description="Key stops working after this long (up to 100 years)."
    )


class Approve(RequestBody):
    tier: str
    organization_name: str | None = Field(
        None, min_length=1, max_length=200, description="Default: the applicant's company name."
    )


class Reject(RequestBody):
    reason: str = Field("", max_length=2000)


@router.get("/tiers", response_model=list[TierObject], summary="Tiers from the tiers file")
def list_tiers(tiers: TiersDep) -> list[TierObject]:
    return [tier_object(t) for t in tiers.all()]


@router.get("/organizations", response_model=list[OrganizationObject])
def list_organizations(session: SessionDep) -> list[OrganizationObject]:
    return [organization_object(o) for o in organizations.list_organizations(session)]


@router.post("/organizations", response_model=OrganizationObject)
def create_organization(body: OrganizationCreate, session: SessionDep, tiers: TiersDep) -> OrganizationObject:
    return organization_object(organizations.create_organization(session, tiers, body.name, body.tier))


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


@router.get("/organizations/{organization}/keys", response_model=list[ApiKeyObject])
def list_keys(organization: str, session: SessionDep) -> list[ApiKeyObject]:
    org = organizations.find_organization(session, organization)
    return [api_key_object(k) for k in api_keys.list_api_keys(session, org.id)]


@router.post("/organizations/{organization}/keys", response_model=ApiKeyObject, summary="Create a key (shown once)")
def create_key(organization: str, body: KeyCreate, session: SessionDep) -> ApiKeyObject:
    org = organizations.find_organization(session, organization)
    expires_at = utcnow() + timedelta(seconds=body.expires_in_seconds) if body.expires_in_seconds else None
    created = api_keys.create_api_key(session, org, body.name, expires_at)
    return api_key_object(created.api_key, created.secret)


@router.post("/keys/{key_id}/rotate", response_model=ApiKeyObject, summary="New key; the old one works until revoked")
def rotate_key(key_id: str, session: SessionDep) -> ApiKeyObject:
    created = api_keys.rotate_api_key(session, key_id)
    return api_key_object(created.api_key, created.secret)


@router.post("/keys/{key_id}/revoke", response_model=ApiKeyObject)
def revoke_key(key_id: str, session: SessionDep) -> ApiKeyObject:
    return api_key_object(api_keys.revoke_api_key(session, key_id))


@router.get("/organizations/{organization}/usage", response_model=UsageObject)
def organization_usage(organization: str, session: SessionDep, tiers: TiersDep) -> UsageObject:
    org = organizations.find_organization(session, organization)
    return usage_object(usage_report(session, org, tiers.of(org), None, None))


@router.get("/access_requests", response_model=list[AccessRequestObject])
def list_access_requests(
    session: SessionDep, status: Annotated[AccessRequestStatus | None, Query()] = None
) -> list[AccessRequestObject]:
    return [access_request_object(r) for r in access_requests.list_requests(session, status)]


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
