"""``POST /v1/access_requests``: apply for access, no key needed (rate limited per client IP).

The per-address limit is counted before the body is read, so a client that floods the one route
anyone may call is refused before it costs any parsing (``api.limits`` bounds the body's size).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import RateLimiterDep, SessionDep, SettingsDep, UnitOfWorkRoute, client_ip
from api.parameters import storable_parameters
from api.schemas import AccessRequestCreate, AccessRequestObject, ErrorResponse
from api.serializers import access_request_object
from videogen.accounts import access_requests

router = APIRouter(
    route_class=UnitOfWorkRoute,
    prefix="/v1/access_requests",
    tags=["access"],
    dependencies=[Depends(storable_parameters)],
)


@router.post(
    "",
    response_model=AccessRequestObject,
    summary="Apply for API access",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccessRequestCreate"}}},
        }
    },
    responses={400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
async def apply_for_access(
    request: Request,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    session: SessionDep,
    ip: Annotated[str, Depends(client_ip)],
) -> AccessRequestObject:
    await run_in_threadpool(access_requests.admit_applicant, limiter, ip, settings.access_requests_per_hour)
    body = AccessRequestCreate.model_validate_json(await request.body())  # bounded by api.limits

    def submit() -> AccessRequestObject:
        application = access_requests.submit(
            session,
            company=body.company,
            contact_email=str(body.contact_email),
            use_case=body.use_case,
            client_ip=ip,
        )
        return access_request_object(application)

    return await run_in_threadpool(submit)
