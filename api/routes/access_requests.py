"""``POST /v1/access_requests``: apply for access, no key needed (rate limited per client IP)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import RateLimiterDep, SessionDep, SettingsDep, client_ip
from api.schemas import AccessRequestCreate, AccessRequestObject
from api.serializers import access_request_object
from videogen.accounts import access_requests

router = APIRouter(prefix="/v1/access_requests", tags=["access"])


@router.post("", response_model=AccessRequestObject, summary="Apply for API access")
def apply_for_access(
    body: AccessRequestCreate,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    session: SessionDep,
    ip: Annotated[str, Depends(client_ip)],
) -> AccessRequestObject:
    request = access_requests.submit(
        session,
        company=body.company,
        contact_email=str(body.contact_email),
        use_case=body.use_case,
        client_ip=ip,
        limiter=limiter,
        per_hour=settings.access_requests_per_hour,
    )
    return access_request_object(request)
