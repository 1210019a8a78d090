"""ORM rows to wire objects for the account-side resources."""

from __future__ import annotations

from api.schemas import AccessRequestObject, ApiKeyObject, OrganizationObject, TierObject, unix
from videogen.orm import AccessRequest, ApiKey, Organization
from videogen.tiers import Tier


def organization_object(org: Organization) -> OrganizationObject:
    return OrganizationObject(
        id=org.id,
        name=org.name,
        tier=org.tier,
        status=org.status,  # type: ignore[arg-type]
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
        status=request.status,  # type: ignore[arg-type]
        created_at=unix(request.created_at) or 0,
        decided_at=unix(request.decided_at),
        decision_reason=request.decision_reason,
        tier=request.tier,
        organization_id=request.organization_id,
    )


def tier_object(tier: Tier) -> TierObject:
    return TierObject(**tier.public_info())  # type: ignore[arg-type]
