"""Applications for API access: a company applies, an operator approves it onto a tier (which
creates its organization and first key) or rejects it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from videogen.accounts import api_keys, organizations
from videogen.accounts.ratelimit import RateLimiter
from videogen.accounts.tables import AccessRequest, AccessRequestStatus, Organization
from videogen.accounts.tiers import TierCatalog
from videogen.database import utcnow
from videogen.errors import InvalidRequestError, NotFoundError, RateLimitError
from videogen.ids import new_id
from videogen.pagination import Page, paginate


@dataclass(frozen=True)
class Approval:
    request: AccessRequest
    organization: Organization
    key: api_keys.CreatedKey


def submit(
    session: Session,
    *,
    company: str,
    contact_email: str,
    use_case: str,
    client_ip: str | None,
) -> AccessRequest:
    """Record an application. Anyone may apply without a key: the API counts the address with
    ``admit_applicant`` first (before it even reads the application)."""
    request = AccessRequest(
        id=new_id("areq"),
        company=company.strip(),
        contact_email=contact_email,
        use_case=use_case.strip(),
        client_ip=client_ip,
        status=AccessRequestStatus.PENDING,
    )
    session.add(request)
    session.flush()
    return request


def admit_applicant(limiter: RateLimiter, client_ip: str, per_hour: int) -> None:
    """Count an application from ``client_ip``, or refuse it (429) past ``per_hour``. The API calls
    this before it reads the body: an address that has used up its applications costs no parsing."""
    rate = limiter.hit_per_hour("access_requests.create", client_ip, per_hour)
    if not rate.allowed:
        raise RateLimitError(
            "Too many access requests from your address; try again later.",
            retry_after=rate.reset_seconds,
            headers=rate.headers(),
        )


def list_requests(
    session: Session,
    status: AccessRequestStatus | None = None,
    *,
    after: str | None = None,
    limit: int = 100,
    order: Literal["asc", "desc"] = "asc",
) -> Page[AccessRequest]:
    """A page of applications (with ``status``, or all) in the order they came in, after the cursor ``after``."""
    query = select(AccessRequest)
    if status:
        query = query.where(AccessRequest.status == status)
    return paginate(session, query, AccessRequest.id, after=after, limit=limit, order=order)


def get(session: Session, request_id: str) -> AccessRequest:
    request = session.get(AccessRequest, request_id)
    if request is None:
        raise NotFoundError(f"No access request '{request_id}'.", param="access_request_id")
    return request


def _pending(session: Session, request_id: str) -> AccessRequest:
    request = get(session, request_id)
    if request.status != AccessRequestStatus.PENDING:
        raise InvalidRequestError(
            f"Access request '{request_id}' is already {request.status}.",
            param="access_request_id",
            code="access_request_decided",
        )
    return request


def approve(
    session: Session, tiers: TierCatalog, request_id: str, *, tier: str, organization_name: str | None = None
) -> Approval:
    request = _pending(session, request_id)
    org = organizations.create_organization(session, tiers, organization_name or request.company, tier)
    key = api_keys.create_api_key(session, org, name="first key")
    request.status = AccessRequestStatus.APPROVED
    request.tier = tier
    request.organization_id = org.id
    request.decided_at = utcnow()
    session.flush()
    return Approval(request=request, organization=org, key=key)


def reject(session: Session, request_id: str, reason: str = "") -> AccessRequest:
    request = _pending(session, request_id)
    request.status = AccessRequestStatus.REJECTED
    request.decision_reason = reason or None
    request.decided_at = utcnow()
    session.flush()
    return request
